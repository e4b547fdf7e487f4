"""Patient rows: name, number and date of birth, all encrypted; and the identification guard.

Lookups by number go through a keyed blind index; the guard counts wrong
dates of birth per blind index and holds no number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.security.encrypted import BlindIndex, EncryptedField, EncryptedRow
from callcenter.storage.db import Base, UTCDateTime


class Patient(EncryptedRow, Base):
    """A caller the practice knows: name, number and date of birth, all encrypted.

    The date of birth tells family members sharing a number apart; it is
    compared after decryption, never indexed.
    """

    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    phone_index: Mapped[int | None] = mapped_column(Integer, index=True)
    phone_ct: Mapped[bytes | None] = mapped_column("phone", LargeBinary)
    name_ct: Mapped[bytes | None] = mapped_column("name", LargeBinary)
    birth_date_ct: Mapped[bytes | None] = mapped_column("birth_date", LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    phone = EncryptedField("phone_ct")
    blind_index = BlindIndex("phone", "phone_index")  # recomputed on re-encryption
    name = EncryptedField("name_ct")
    birth_date = EncryptedField("birth_date_ct")


class IdentificationGuard(Base):
    """Wrong dates of birth counted per number: the brute-force guard of identification.

    Keyed by the number's blind index, so it holds no number, only counts and
    times; the whole table is short-lived (a window and a lock of an hour).
    One row per (practice, index): counting is an atomic upsert on that key.
    """

    __tablename__ = "identification_guards"

    practice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
