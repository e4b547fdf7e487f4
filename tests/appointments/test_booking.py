"""Taking slots in the database: one INSERT that cannot succeed twice, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment, AppointmentSlot
from callcenter.phone.emulator import FlaskTransport, PhoneCall, TwilioEmulator
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, OPEN_HOURS, PUBLIC_BASE, services
from tests.ivr.test_identify import seed

PARIS = ZoneInfo("Europe/Paris")
TWO_PM = datetime(2026, 11, 24, 14, 0, tzinfo=PARIS)


def take(session, patient: str, start: datetime = TWO_PM, minutes: int = 20) -> str | None:
    return booking.book(
        session, practice_id="demo", doctor_id="dr-martin", patient_id=patient,
        starts_at=start, minutes=minutes, slot_minutes=20, kind="consultation", now=OPEN_HOURS,
    )  # fmt: skip


def test_a_slot_can_be_taken_once_and_a_longer_one_cannot_overlap_it(app) -> None:
    one, two = seed(app, "1980-03-15"), seed(app, "1975-01-02", phone="+33698765432")
    with services(app).db.session() as session:
        assert take(session, one) is not None
        assert take(session, two) is None
        assert take(session, two, TWO_PM - timedelta(minutes=20), minutes=40) is None
        assert take(session, two, TWO_PM + timedelta(minutes=20), minutes=40) is not None
        assert session.scalar(select(func.count()).select_from(Appointment)) == 2  # undone
        assert session.scalar(select(func.count()).select_from(AppointmentSlot)) == 3


def test_a_cancellation_frees_the_slot_and_only_the_owner_can_cancel(app) -> None:
    one, two = seed(app, "1980-03-15"), seed(app, "1975-01-02", phone="+33698765432")
    with services(app).db.session() as session:
        first = take(session, one)
        assert first is not None
        assert not booking.release(session, first, two, booking.CANCELLED, OPEN_HOURS)
        assert booking.release(session, first, one, booking.CANCELLED, OPEN_HOURS)
        assert not booking.release(session, first, one, booking.CANCELLED, OPEN_HOURS)  # once
        assert booking.upcoming(session, "demo", one, OPEN_HOURS) == []
        assert take(session, two) is not None


def reach_confirmation(twilio: TwilioEmulator, number: str, caller: str, dob: str) -> PhoneCall:
    call = twilio.place_call(caller, number).press("1").press(dob)
    call.press("1").press("1").press("1")  # book, docteure Martin, the first slot
    assert "Pour confirmer ce rendez-vous, tapez 1" in call.last_heard()
    return call


def test_twenty_callers_confirming_the_same_slot_at_once_get_one_booking(
    app, settings, practice_number
) -> None:
    """Each caller's webhook runs in its own thread and session, all released together."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    calls = []
    for i in range(20):
        caller, dob = f"+336120000{i + 50:02d}", f"{i + 1:02d}011980"
        seed(app, f"1980-01-{i + 1:02d}", phone=caller)
        twilio = TwilioEmulator(FlaskTransport(app.test_client()), AUTH_TOKEN, PUBLIC_BASE,
                                account_sid=ACCOUNT_SID)  # fmt: skip
        calls.append(reach_confirmation(twilio, practice_number, caller, dob))
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def confirm(call: PhoneCall) -> None:
        try:
            start.wait()
            call.press("1")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with services(app).db.session() as session:
        rows = session.scalars(select(Appointment)).all()
        assert len(rows) == 1 and rows[0].status == "booked"
    winners = [c for c in calls if "rendez-vous est confirmé" in c.last_heard()]
    losers = [c for c in calls if "vient d'être pris" in c.last_heard()]
    assert len(winners) == 1 and len(losers) == 19
    for call in losers:  # other slots at once, the taken one not among them
        heard = call.last_heard()
        assert "Le mardi 24 novembre à 14 h 20 : tapez 1" in heard
        assert "Le mardi 24 novembre à 14 h :" not in heard and call.waiting_for == "Gather"


def test_the_digest_sees_bookings_cancellations_and_moves_of_a_period(app) -> None:
    one = seed(app, "1980-03-15")
    later = OPEN_HOURS + timedelta(hours=1)
    with services(app).db.session() as session:
        kept, cancelled, old = (take(session, one, TWO_PM + timedelta(minutes=20 * i))
                                for i in range(3))  # fmt: skip
        assert kept and cancelled and old
        booking.release(session, cancelled, one, booking.CANCELLED, later)
        booking.release(session, old, one, booking.MOVED, later)
        new = booking.book(
            session, practice_id="demo", doctor_id="dr-martin", patient_id=one,
            starts_at=TWO_PM + timedelta(hours=2), minutes=20, slot_minutes=20,
            kind="consultation", now=later, replaces_id=old,
        )  # fmt: skip
        changes = booking.changes_since(session, "demo", "dr-martin", OPEN_HOURS, later
                                        + timedelta(minutes=1))  # fmt: skip
        assert [a.id for a in changes["booked"]] == [kept]
        assert [a.id for a in changes["cancelled"]] == [cancelled]
        assert [a.id for a in changes["moved"]] == [new]
        assert booking.changes_since(session, "demo", "dr-bernard", OPEN_HOURS, later) == {
            "booked": [], "cancelled": [], "moved": []
        }  # fmt: skip
