"""Queries the call server needs, in one place, so storage stays swappable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.models import Call, CallStep


def call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()


def step(session: Session, call_id: str, seq: int) -> CallStep | None:
    query = select(CallStep).where(CallStep.call_id == call_id, CallStep.seq == seq)
    return session.scalars(query).one_or_none()


def last_step(session: Session, call_id: str) -> CallStep | None:
    query = (
        select(CallStep).where(CallStep.call_id == call_id).order_by(CallStep.seq.desc()).limit(1)
    )
    return session.scalars(query).first()


def add_step(
    session: Session, call: Call, seq: int, node: str, twiml: str, now: datetime
) -> CallStep:
    row = CallStep(
        practice_id=call.practice_id, call=call, seq=seq, node=node, twiml=twiml, created_at=now
    )
    session.add(row)
    return row
