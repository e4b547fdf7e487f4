"""Persisting the per-key encryption counters, so the nonce limit holds across processes.

Each process counts in memory (``FieldCipher``) and adds what it counted to
the ``key_usage`` totals now and then: at the end of a webhook once a hundred
encryptions have gathered, at the end of every command.  Each flush reads the
grand total back and counts on from it, so P processes overshoot the limit
by at most P × 100, far below the margin between 2^30 and 2^32.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.security.crypto import FieldCipher
from callcenter.security.models import KeyUsage


def stored_counts(session: Session) -> dict[int, int]:
    return {row.key_id: row.encryptions for row in session.scalars(select(KeyUsage))}


class UsageRecorder:
    """Adds the cipher's new encryptions to the stored totals."""

    def __init__(self, cipher: FieldCipher) -> None:
        self.cipher = cipher
        self._flushed = cipher.counts()

    def pending(self) -> dict[int, int]:
        now = self.cipher.counts()
        return {
            k: n - self._flushed.get(k, 0) for k, n in now.items() if n > self._flushed.get(k, 0)
        }

    def flush(self, session: Session, threshold: int = 0) -> int:
        """Upsert the deltas in ``session`` (the caller commits); returns how many were added."""
        deltas = self.pending()
        total = sum(deltas.values())
        if total == 0 or total < threshold:
            return 0
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for key_id, count in deltas.items():
            values = insert(KeyUsage).values(key_id=key_id, encryptions=count)
            upsert = values.on_conflict_do_update(
                index_elements=[KeyUsage.key_id],
                set_={"encryptions": KeyUsage.encryptions + values.excluded.encryptions},
            ).returning(KeyUsage.encryptions)
            stored = int(session.execute(upsert).scalar_one())
            # Other processes count too: from now on, count from the grand total.
            self.cipher.observe(key_id, stored)
            self._flushed[key_id] = max(stored, self._flushed.get(key_id, 0) + count)
        return total
