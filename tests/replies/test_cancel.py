"""ANNULER: the sender's most recently reminded appointment is cancelled, and no other."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment, AppointmentSlot, AppointmentSms
from callcenter.appointments.sms import REMINDER
from callcenter.patients.models import Patient
from callcenter.phone.emulator import new_sid
from callcenter.replies.dispatch import Answer, Inbound
from tests.appointments.test_booking import take
from tests.conftest import CALLER, OPEN_HOURS, services
from tests.ivr.test_identify import seed

PRACTICE_NUMBER = "+33184880000"
THURSDAY = datetime.fromisoformat("2026-11-26T10:00:00+01:00")
FRIDAY = datetime.fromisoformat("2026-11-27T11:00:00+01:00")


def receive(app, body: str, sender: str = CALLER, sid: str | None = None,
            to: str = PRACTICE_NUMBER) -> Answer:  # fmt: skip
    """One SMS read by the practice's registry, in a transaction of its own."""
    svc = services(app)
    with svc.db.session() as session:
        inbound = Inbound(sid or new_sid("SM"), sender, to, body)
        return svc.replies.receive(session, svc.cipher, inbound, svc.clock.now())


def reminded(app, patient: str, starts_at: datetime, sent_at: datetime | None,
             status: str = "sent") -> str:  # fmt: skip
    """An appointment of ``patient`` whose reminder went at ``sent_at``."""
    with services(app).db.session() as session:
        appointment = take(session, patient, starts_at)
        assert appointment is not None
        session.add(AppointmentSms(practice_id="demo", appointment_id=appointment, kind=REMINDER,
                                   status=status, attempts=1, due_at=OPEN_HOURS,
                                   sent_at=sent_at))  # fmt: skip
        return appointment


def status_of(app, appointment: str) -> tuple[str, str | None]:
    with services(app).db.session() as session:
        row = session.get_one(Appointment, appointment)
        return row.status, row.cancelled_via


def test_the_appointment_reminded_last_is_cancelled_and_named_by_its_date(app) -> None:
    patient = seed(app, "1980-03-15")
    thursday = reminded(app, patient, THURSDAY, OPEN_HOURS - timedelta(hours=2))
    friday = reminded(app, patient, FRIDAY, OPEN_HOURS - timedelta(hours=1))
    answer = receive(app, "Annulé")
    assert answer.text == (
        "cabinet médical des Tilleuls : votre rendez-vous du vendredi 27 novembre à 11 h "
        "est annulé."
    )
    assert (answer.keyword, answer.outcome) == ("ANNULER", "done")
    assert status_of(app, friday) == (booking.CANCELLED, booking.VIA_SMS)
    assert status_of(app, thursday) == (booking.BOOKED, None)
    with services(app).db.session() as session:  # the slot is free at once
        held = select(func.count()).select_from(AppointmentSlot)
        assert session.scalar(held.where(AppointmentSlot.appointment_id == friday)) == 0
    # A second ANNULER (a new text) takes the other one.
    assert "jeudi 26 novembre à 10 h" in (receive(app, "annuler").text or "")
    assert status_of(app, thursday) == (booking.CANCELLED, booking.VIA_SMS)


def test_an_appointment_never_reminded_or_past_is_not_cancelled_by_sms(app) -> None:
    patient = seed(app, "1980-03-15")
    pending = reminded(app, patient, THURSDAY, None, status="pending")
    past = reminded(app, patient, OPEN_HOURS - timedelta(hours=3), OPEN_HOURS - timedelta(days=1))
    answer = receive(app, "ANNULER")
    assert answer.outcome == "none" and "01 84 88 00 00" in (answer.text or "")
    assert status_of(app, pending) == (booking.BOOKED, None)
    assert status_of(app, past) == (booking.BOOKED, None)


def test_annuler_from_a_number_with_no_appointment_gets_the_practice_number(app) -> None:
    seed(app, "1980-03-15")
    for sender in (CALLER, "+33611223344"):
        answer = receive(app, "annuler", sender=sender)
        assert answer.text == (
            "cabinet médical des Tilleuls : ce numéro ne lit pas les messages. "
            "Pour joindre le cabinet, appelez le 01 84 88 00 00."
        )


def test_a_number_sharing_the_blind_index_bucket_cancels_only_its_own(app) -> None:
    """Two numbers in one bucket: the sender's patients are told apart by decryption."""
    ours, theirs = seed(app, "1980-03-15"), seed(app, "1975-01-02", phone="+33611223344")
    with services(app).db.session() as session:  # force the neighbour into our bucket
        ours_index = session.get_one(Patient, ours).phone_index
        session.get_one(Patient, theirs).phone_index = ours_index
    theirs_appointment = reminded(app, theirs, FRIDAY, OPEN_HOURS - timedelta(minutes=5))
    ours_appointment = reminded(app, ours, THURSDAY, OPEN_HOURS - timedelta(hours=5))
    assert "jeudi 26 novembre" in (receive(app, "annuler").text or "")
    assert status_of(app, ours_appointment)[0] == booking.CANCELLED
    assert status_of(app, theirs_appointment) == (booking.BOOKED, None)


def test_a_family_sharing_a_number_cancels_the_appointment_reminded_last(app) -> None:
    parent, child = seed(app, "1980-03-15"), seed(app, "2015-06-01", name="Enfant")
    first = reminded(app, parent, THURSDAY, OPEN_HOURS - timedelta(hours=3))
    last = reminded(app, child, FRIDAY, OPEN_HOURS - timedelta(hours=1))
    receive(app, "annuler")
    assert status_of(app, last)[0] == booking.CANCELLED
    assert status_of(app, first)[0] == booking.BOOKED
