"""Created once, and told so truly, on both databases (psycopg's row count of -1 for
``INSERT … ON CONFLICT DO NOTHING`` once made every retry look new on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.appointments import sms as appointment_sms
from callcenter.appointments.models import Appointment
from callcenter.calls.models import Call
from callcenter.notify import notices
from callcenter.notify.models import Notice
from callcenter.storage.db import Database

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("cipher")


def a_call(session: Session) -> str:
    call = Call(practice_id="p1", call_sid="CA" + "0" * 32, started_at=NOW, flow="main",
                node="menu")  # fmt: skip
    session.add(call)
    session.flush()
    return call.id


def an_appointment(session: Session, hour: int) -> str:
    starts = NOW + timedelta(days=1, hours=hour)
    row = Appointment(practice_id="p1", doctor_id="dr", starts_at=starts, ends_at=starts,
                      created_at=NOW, updated_at=NOW, status="booked")  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def test_a_notice_queued_twice_is_new_once(db: Database) -> None:
    with db.session() as session:
        call_id = a_call(session)
        queued = [
            notices.queue_notice(
                session, practice_id="p1", call_id=call_id, doctor_id="dr", kind="urgent", now=NOW
            )
            for _ in range(3)
        ]
        assert queued == [True, False, False]
        assert session.scalar(select(func.count()).select_from(Notice)) == 1


def test_reminders_queued_again_count_only_the_new_ones(db: Database) -> None:
    with db.session() as session:
        one, two = an_appointment(session, 1), an_appointment(session, 2)
        first = appointment_sms.queue(session, "p1", one, appointment_sms.REMINDER, NOW)
        again = appointment_sms.queue(session, "p1", one, appointment_sms.REMINDER, NOW)
        other = appointment_sms.queue(session, "p1", two, appointment_sms.REMINDER, NOW)
        assert (first, again, other) == (True, False, True)
