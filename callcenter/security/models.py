"""Rows of the key ring's bookkeeping: the key check and the per-key encryption counts."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import EncryptedField, EncryptedRow
from callcenter.storage.db import Base


class KeyCheck(EncryptedRow, Base):
    """A known value encrypted at ``init``: start-up proves the key ring opens this database."""

    __tablename__ = "key_check"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64))
    value_ct: Mapped[bytes] = mapped_column("value", LargeBinary)

    value = EncryptedField("value_ct")

    KNOWN = "callcenter key check"


class KeyUsage(Base):
    """Values encrypted under each key, summed over every process.

    Random 96-bit nonces stay safe up to 2^32 encryptions per key; the cipher
    refuses to go past 2^30, counting from this total (docs/security/keyring.md).
    """

    __tablename__ = "key_usage"

    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    encryptions: Mapped[int] = mapped_column(BigInteger, default=0)
