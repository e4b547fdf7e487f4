"""callcenter.backoffice.diary without Flask: the secretaries' day lists, cancel and move,
through the same conditional writes as the phone.

The clock is Tuesday 24 November 2026, 10:00 in Paris; with two hours' notice,
docteure Martin's first free start is that day at 14 h (20-minute slots).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment, AppointmentSlot
from callcenter.backoffice import diary
from callcenter.config.practice import Practice
from tests.backoffice.test_inbox import patient, session_of
from tests.conftest import OPEN_HOURS, services

CALLER_2 = "+33698765432"


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def book(
    session: Session,
    patient_id: str | None,
    starts: str,
    doctor: str = "dr-martin",
    practice: str = "demo",
    kind: str = "consultation",
) -> Appointment:
    """An appointment as the phone books it; ``patient_id`` None for a bare one."""
    ident = booking.book(
        session, practice_id=practice, doctor_id=doctor, patient_id=patient_id,  # type: ignore[arg-type]
        starts_at=at(starts), minutes=20, slot_minutes=20, kind=kind, now=OPEN_HOURS,
    )  # fmt: skip
    assert ident is not None, f"{starts} is taken"
    return session.get_one(Appointment, ident)


def demo(app: Flask) -> Practice:
    found = services(app).practices.by_id("demo")
    assert found is not None
    return found


def move(session: Session, practice: Practice, row: Appointment, start: str) -> str | None:
    return diary.move(session, practice, row, at(start), OPEN_HOURS)


def booked_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Appointment.id).where(Appointment.status == "booked")))


def cells(session: Session, appointment_id: str) -> list[datetime]:
    query = select(AppointmentSlot.starts_at).where(
        AppointmentSlot.appointment_id == appointment_id
    )
    return list(session.scalars(query))


# -- listing ------------------------------------------------------------------------


def test_between_lists_the_booked_appointments_of_a_day_in_time_order(app):
    with session_of(app) as session:
        mine = patient(app, session, "+33612345678", name="Zéphyrine Quenouille")
        other = patient(app, session, CALLER_2, name="Bérénice Lavande")
        late = book(session, mine, "2026-11-24T15:00:00+01:00")
        early = book(session, other, "2026-11-24T09:00:00+01:00", doctor="dr-bernard")
        cancelled = book(session, other, "2026-11-24T16:00:00+01:00")
        booking.release(session, cancelled.id, None, booking.CANCELLED, OPEN_HOURS)
        book(session, other, "2026-11-25T09:00:00+01:00", doctor="dr-bernard")  # another day
        book(session, None, "2026-11-24T14:00:00+01:00", practice="port")  # another practice
        start, end = at("2026-11-24T00:00:00+01:00"), at("2026-11-25T00:00:00+01:00")
        day = diary.between(session, ["demo"], start, end)
        assert [(a.id, a.patient_name) for a in day] == [
            (early.id, "Bérénice Lavande"), (late.id, "Zéphyrine Quenouille")
        ]  # fmt: skip
        assert [a.id for a in diary.between(session, ["demo"], start, end, "dr-bernard")] == [
            early.id
        ]
        assert [a.id for a in diary.between(session, ["demo"], start, end, patient_ids=[mine])] == [
            late.id
        ]
        assert diary.between(session, ["demo"], start, end, patient_ids=[]) == []


def test_find_keeps_to_the_practices_and_to_booked_ones_unless_asked(app):
    with session_of(app) as session:
        mine = book(session, None, "2026-11-24T14:00:00+01:00")
        theirs = book(session, None, "2026-11-24T14:00:00+01:00", practice="port")
        assert diary.find(session, ["demo"], mine.id) is mine
        assert diary.find(session, ["demo"], theirs.id) is None
        assert diary.find(session, ["demo"], theirs.id, booked_only=False) is None
        assert diary.cancel(session, mine, OPEN_HOURS)
        session.expire_all()
        assert diary.find(session, ["demo"], mine.id) is None
        found = diary.find(session, ["demo"], mine.id, booked_only=False)
        assert found is not None and found.status == "cancelled"


def test_describe_names_the_appointments_own_patient(app):
    with session_of(app) as session:
        mine = patient(app, session, "+33612345678", name="Zéphyrine Quenouille")
        other = patient(app, session, CALLER_2, name="Bérénice Lavande")
        book(session, other, "2026-12-01T09:00:00+01:00", doctor="dr-bernard")
        row = book(session, mine, "2026-12-01T09:00:00+01:00")
        assert diary.describe(session, row).patient_name == "Zéphyrine Quenouille"
        bare = book(session, None, "2026-12-01T10:00:00+01:00")
        assert diary.describe(session, bare) == diary.AppointmentView(
            id=bare.id, practice_id="demo", doctor_id="dr-martin", kind="consultation",
            starts_at=at("2026-12-01T10:00:00+01:00"), ends_at=at("2026-12-01T10:20:00+01:00"),
            status="booked", patient_name=None,
        )  # fmt: skip


# -- cancel -------------------------------------------------------------------------


def test_cancel_frees_the_cells_once(app):
    with session_of(app) as session:
        row = book(session, None, "2026-11-24T14:00:00+01:00")
        assert cells(session, row.id) == [at("2026-11-24T14:00:00+01:00")]
        assert diary.cancel(session, row, OPEN_HOURS) is True
        assert diary.cancel(session, row, OPEN_HOURS) is False  # nothing changes twice
        assert cells(session, row.id) == []
        book(session, None, "2026-11-24T14:00:00+01:00")  # the slot is free again


# -- free starts and move -------------------------------------------------------------


def test_free_starts_skip_taken_cells_and_can_keep_to_one_day(app):
    practice = demo(app)
    with session_of(app) as session:
        row = book(session, None, "2026-11-24T14:00:00+01:00")
        book(session, None, "2026-11-24T14:40:00+01:00")
        starts = diary.free_starts(session, practice, row, OPEN_HOURS, limit=3)
        assert starts == [at("2026-11-24T14:20:00+01:00"), at("2026-11-24T15:00:00+01:00"),
                          at("2026-11-24T15:20:00+01:00")]  # fmt: skip
        thursday = diary.free_starts(session, practice, row, OPEN_HOURS, limit=40,
                                     day=date(2026, 11, 26))  # fmt: skip
        assert thursday[0] == at("2026-11-26T09:00:00+01:00") and len(thursday) == 21
        assert {s.date() for s in thursday} == {date(2026, 11, 26)}
        assert diary.free_starts(session, practice, row, OPEN_HOURS, day=date(2026, 11, 25)) == []


def test_free_starts_are_empty_for_a_doctor_or_kind_the_rules_do_not_know(app):
    practice = demo(app)
    with session_of(app) as session:
        unknown_doctor = book(session, None, "2026-11-24T14:00:00+01:00", doctor="dr-gone")
        unknown_kind = book(session, None, "2026-11-24T15:00:00+01:00", kind="acupuncture")
        assert diary.free_starts(session, practice, unknown_doctor, OPEN_HOURS) == []
        assert diary.free_starts(session, practice, unknown_kind, OPEN_HOURS) == []


def test_move_books_the_new_slot_then_frees_the_old_one(app):
    practice = demo(app)
    with session_of(app) as session:
        mine = patient(app, session, "+33612345678")
        row = book(session, mine, "2026-11-24T14:00:00+01:00")
        new_id = move(session, practice, row, "2026-11-24T15:00:00+01:00")
        assert new_id is not None
        new = session.get_one(Appointment, new_id)
        assert (new.patient_id, new.doctor_id, new.kind, new.replaces_id) == (
            mine, "dr-martin", "consultation", row.id
        )  # fmt: skip
        assert cells(session, new_id) == [at("2026-11-24T15:00:00+01:00")]
        assert cells(session, row.id) == []
        session.expire_all()
        assert row.status == "moved"
        # Moved already: a second move of the same appointment does nothing.
        assert move(session, practice, row, "2026-11-24T16:00:00+01:00") is None
        assert booked_ids(session) == [new_id]


@pytest.mark.parametrize(
    "start",
    [
        "2026-11-24T14:20:00+01:00",  # taken by another patient
        "2026-11-24T11:00:00+01:00",  # too soon (two hours' notice)
        "2026-11-25T09:00:00+01:00",  # docteure Martin does not work on Wednesdays
        "2026-11-24T15:10:00+01:00",  # not on the grid
        "2027-03-01T09:00:00+01:00",  # beyond the horizon
    ],
)
def test_move_refuses_a_start_that_is_not_free(app, start):
    practice = demo(app)
    with session_of(app) as session:
        mine = patient(app, session, "+33612345678")
        row = book(session, mine, "2026-11-24T14:00:00+01:00")
        book(session, None, "2026-11-24T14:20:00+01:00")
        assert move(session, practice, row, start) is None
        assert row.status == "booked" and cells(session, row.id) != []


def test_move_needs_a_patient(app):
    practice = demo(app)
    with session_of(app) as session:
        row = book(session, None, "2026-11-24T14:00:00+01:00")
        assert move(session, practice, row, "2026-11-24T15:00:00+01:00") is None


def test_a_move_racing_a_cancellation_books_nothing(app):
    """The patient cancels by phone between the page's read and the move: no new booking."""
    practice = demo(app)
    with session_of(app) as session:
        row = book(session, patient(app, session, "+33612345678"), "2026-11-24T14:00:00+01:00")
        # The phone's conditional write, unseen by the row already loaded.
        booking.release(session, row.id, None, booking.CANCELLED, OPEN_HOURS)
        assert row.status == "booked"  # stale, as in the page's request
        assert move(session, practice, row, "2026-11-24T15:00:00+01:00") is None
        assert booked_ids(session) == []
        assert session.scalars(select(AppointmentSlot)).all() == []
