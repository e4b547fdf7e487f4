"""Audit rows: the append-only, hash-chained log, its head, and the retention anchor.

Entries carry pseudonymous ids only, never a decrypted value; the chain and
its signed checkpoints live in :mod:`callcenter.audit.trail`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callcenter.storage.db import Base, UTCDateTime


class AuditEntry(Base):
    """One audited action.  ``details``: canonical JSON of ids and counts, no personal value."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    practice_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    object_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip.  Locking this single row serialises appends."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="audit_head_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """Seq and hash of the last entry a retention purge deleted."""

    __tablename__ = "audit_anchor"
    __table_args__ = (CheckConstraint("id = 1", name="audit_anchor_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
