"""FHIR clients: a practice software's token (only its hash), its practice and its scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.db import Base, UTCDateTime, new_id


class FhirClient(Base):
    """One practice software allowed through the FHIR door; revocable, never deleted.

    ``scope`` is ``pseudonymous`` (patients as opaque references) or
    ``identity`` (their names too).  Only the SHA-256 of the token is kept.
    """

    __tablename__ = "fhir_clients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    practice_id: Mapped[str] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
