"""ORM queries of calls for the rarer paths (voice webhooks use :mod:`callcenter.calls.live`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import Call, CallStep


def call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()


def last_step(session: Session, call_id: str) -> CallStep | None:
    query = (
        select(CallStep).where(CallStep.call_id == call_id).order_by(CallStep.seq.desc()).limit(1)
    )
    return session.scalars(query).first()
