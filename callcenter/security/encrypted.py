"""Encrypted model attributes: domain code reads and writes plain text.

A model maps the ciphertext column under one name and exposes the plaintext
under another::

    class Patient(Base):
        __tablename__ = "patients"
        id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
        practice_id: Mapped[str] = mapped_column(String(64))
        name_ct: Mapped[bytes | None] = mapped_column("name", LargeBinary)
        name = EncryptedField("name_ct")

        def __init__(self, **kw):
            super().__init__(id=new_id(), **kw)

Each value is bound to (practice, table, column, row) by the cipher's
associated data, so the row id and practice must be set before the value:
the column ``default=new_id`` only runs at flush, too late.  The table and
column names are the database names (not the Python attribute names), so
renaming an attribute never makes stored values unreadable; changing a row's
id or practice does, by design.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import inspect as sa_inspect

from callcenter.security.crypto import FieldCipher, key_id_of
from callcenter.storage.db import new_id

# The cipher of the work under way, bound by its boundary (a request, a job, a
# command) for its duration; never a process-wide setting.  A context variable,
# because model attributes are read and written far below any signature that
# could carry it, and it stays bound to the thread or task that set it.
_cipher: ContextVar[FieldCipher | None] = ContextVar("field_cipher", default=None)


class EncryptedFieldError(ValueError):
    """An encrypted attribute was used on a row that cannot bind it (no id or practice)."""


def current_cipher() -> FieldCipher:
    """The bound cipher; refusing to run without one beats storing clear text."""
    cipher = _cipher.get()
    if cipher is None:
        raise RuntimeError("no field cipher bound; run the work inside using_cipher()")
    return cipher


@contextmanager
def using_cipher(cipher: FieldCipher | None) -> Iterator[FieldCipher | None]:
    """Bind ``cipher`` for a block of work, then put back whatever was bound before."""
    token = _cipher.set(cipher)
    try:
        yield cipher
    finally:
        _cipher.reset(token)


class EncryptedField:
    """A plaintext view of the ciphertext mapped at ``column_attr``.

    ``column`` overrides the column name bound into the ciphertext (default:
    the database name of ``column_attr``); ``row_attr`` and ``practice_attr``
    name the attributes holding the row id and the practice.  ``table`` (with
    ``column``) names the place for a class that is not mapped (a row read by a
    Core statement): its values are the same bytes a mapped model stores.
    """

    def __init__(
        self,
        column_attr: str,
        *,
        column: str | None = None,
        table: str | None = None,
        row_attr: str = "id",
        practice_attr: str = "practice_id",
    ) -> None:
        self.column_attr = column_attr
        self.row_attr = row_attr
        self.practice_attr = practice_attr
        self._column = column
        self.name = column_attr
        self._names_cache: dict[type, tuple[str, str]] = {}
        self._table = table

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        blob = getattr(obj, self.column_attr)
        if blob is None:
            return None
        practice, table, column, row = self._place(obj)
        return current_cipher().decrypt(
            bytes(blob), practice=practice, table=table, column=column, row=row
        )

    def __set__(self, obj: Any, value: str | None) -> None:
        if value is None:
            setattr(obj, self.column_attr, None)
            return
        if not isinstance(value, str):
            raise TypeError(
                f"{type(obj).__name__}.{self.name} takes text, got {type(value).__name__}"
            )
        practice, table, column, row = self._place(obj)
        blob = current_cipher().encrypt(
            value, practice=practice, table=table, column=column, row=row
        )
        setattr(obj, self.column_attr, blob)

    def key_id(self, obj: Any) -> int | None:
        """The key id of the stored value, or None when it is NULL."""
        blob = getattr(obj, self.column_attr)
        return None if blob is None else key_id_of(bytes(blob))

    def _place(self, obj: Any) -> tuple[str, str, str, str]:
        practice = self._required(obj, self.practice_attr)
        row = self._required(obj, self.row_attr)
        table, column = self._names(type(obj))
        return practice, table, column, row

    def _required(self, obj: Any, attr: str) -> str:
        value = getattr(obj, attr, None)
        if not isinstance(value, str) or not value:
            raise EncryptedFieldError(
                f"{type(obj).__name__}.{self.name}: set {attr} before an encrypted field "
                "(e.g. id=new_id() in the constructor)"
            )
        return value

    def _names(self, cls: type) -> tuple[str, str]:
        """Database table and column names, looked up once per class."""
        names = self._names_cache.get(cls)
        if names is None and self._table is not None:
            names = self._names_cache[cls] = (self._table, self._column or self.column_attr)
        if names is None:
            prop: Any = sa_inspect(cls).get_property(self.column_attr)
            column = prop.columns[0]
            names = (str(column.table.name), self._column or str(column.name))
            self._names_cache[cls] = names
        return names


_FIELDS: dict[type, dict[str, EncryptedField]] = {}


def encrypted_fields(cls: type) -> dict[str, EncryptedField]:
    """Every encrypted attribute of a model class, by attribute name (base classes too).

    Kept once per class: classes do not change, and every row built asks.
    """
    found = _FIELDS.get(cls)
    if found is None:
        found = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, EncryptedField):
                    found[name] = value
        _FIELDS[cls] = found
    return found


def reencrypt_row(obj: Any) -> int:
    """Re-encrypt every encrypted value of ``obj`` not yet under the active key.

    Returns how many values changed (``callcenter keys reencrypt`` sums them);
    values already under the active key are left alone so a re-run costs no
    nonces.  The caller commits.
    """
    active = current_cipher().keyring.active_id
    changed = 0
    for field in encrypted_fields(type(obj)).values():
        key_id = field.key_id(obj)
        if key_id is None or key_id == active:
            continue
        field.__set__(obj, field.__get__(obj, type(obj)))
        changed += 1
    return changed


@dataclass(frozen=True)
class BlindIndex:
    """A blind index kept beside an encrypted phone number, declared on its model.

    Re-encryption recomputes it with the active key (key rotation finds the
    models through this declaration, so security knows no feature's model).
    """

    plain: str  # the encrypted attribute holding the number
    index: str  # the integer column holding its index


class EncryptedRow:
    """Gives a row its id before any encrypted value is set (they are bound to it)."""

    #: The row's blind index, if it has one (``BlindIndex("phone", "phone_index")``).
    blind_index: ClassVar[BlindIndex | None] = None

    def __init__(self, **values: Any) -> None:
        values.setdefault("id", new_id())
        secret = {k: values.pop(k) for k in list(values) if k in encrypted_fields(type(self))}
        super().__init__(**values)
        for name, value in secret.items():
            setattr(self, name, value)
