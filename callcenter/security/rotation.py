"""Key rotation: counting rows per key and re-encrypting them in batches.

Re-encryption runs while calls go on: each batch is a short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two runners never take the same
rows), and rows are found by the key id inside the ciphertext
(``substr(column, 2, 4)``), never by loading every row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from callcenter.security.crypto import FieldCipher
from callcenter.security.encrypted import encrypted_fields, reencrypt_row
from callcenter.storage.db import Base


def encrypted_models() -> tuple[type[Any], ...]:
    """Every mapped class with an encrypted field, by table name.

    Found through the registry of ``Base``, so security names no feature's
    model: the classes are those the process has declared, which is all of
    them once :mod:`callcenter.schema` is imported (as it is by every process
    that opens the database).
    """
    models = {mapper.class_ for mapper in Base.registry.mappers if encrypted_fields(mapper.class_)}
    return tuple(sorted(models, key=lambda model: str(model.__tablename__)))


def _columns(model: type[Any]) -> Iterator[Any]:
    for field in encrypted_fields(model).values():
        yield getattr(model, field.column_attr)


def _key_prefix(key_id: int) -> bytes:
    return key_id.to_bytes(4, "big")


def rows_per_key(session: Session) -> dict[str, Counter[int]]:
    """For each table, how many stored values each key id encrypted."""
    result: dict[str, Counter[int]] = {}
    for model in encrypted_models():
        counts: Counter[int] = Counter()
        for column in _columns(model):
            prefix = func.substr(column, 2, 4)
            query = select(prefix, func.count()).where(column.is_not(None)).group_by(prefix)
            for raw, count in session.execute(query):
                counts[int.from_bytes(bytes(raw), "big")] += count
        result[model.__tablename__] = counts
    return result


def reencrypt_batch(
    session: Session,
    cipher: FieldCipher,
    model: type[Any],
    bits_for: Callable[[str], int],
    batch: int = 500,
) -> int:
    """Move up to ``batch`` rows of ``model`` to the active key; returns rows changed."""
    active = _key_prefix(cipher.keyring.active_id)
    stale = [
        (column.is_not(None)) & (func.substr(column, 2, 4) != active) for column in _columns(model)
    ]
    query = select(model).where(or_(*stale)).limit(batch)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    for row in rows:
        reencrypt_row(row)
        blind = model.blind_index  # declared by the model (security.encrypted.BlindIndex)
        if blind is not None:
            plain = getattr(row, blind.plain)
            bits = bits_for(row.practice_id)
            index = (
                cipher.phone_index(plain, practice=row.practice_id, bits=bits) if plain else None
            )
            setattr(row, blind.index, index)
    session.flush()
    return len(rows)
