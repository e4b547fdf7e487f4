"""The waiting list through patients' SMS, end to end: signed texts in, SMS out at the fake
Twilio REST API, the worker's jobs in between (the wiring of the composition root)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.jobs import tasks
from callcenter.waitlist.models import WaitingEntry, WaitingOffer
from tests.conftest import CALLER, OPEN_HOURS, services, set_clock
from tests.ivr.test_identify import seed
from tests.replies.test_cancel import reminded
from tests.waitlist.conftest import FRIDAY, THURSDAY_TEN, fill, join

OTHER = "+33698765432"


def sms_to(fake_twilio, number: str) -> list[str]:
    return [m["body"] for m in fake_twilio.messages if m["to"] == number]


def waiting_and_full(app) -> tuple[str, str, str]:
    """A waits for Dr Martin before Friday; B holds every slot before it, Thursday 10:00
    reminded. Returns A, B and B's Thursday appointment."""
    a = seed(app, "1980-03-15")
    b = seed(app, "1975-01-02", name="Bruno Bernier", phone=OTHER)
    held = fill(app, b, FRIDAY)
    with services(app).db.session() as session:
        booking.release(session, held[THURSDAY_TEN], b, "cancelled", OPEN_HOURS)
    thursday = reminded(app, b, THURSDAY_TEN, OPEN_HOURS)
    join(app, a)
    return a, b, thursday


def test_b_cancels_by_sms_and_a_takes_the_slot_by_answering_oui(
    app, twilio, practice_number, fake_twilio
) -> None:
    a, _, thursday = waiting_and_full(app)
    root = services(app)
    assert tasks.waiting_list(root, OPEN_HOURS).offered == 0  # nothing free yet

    cancelled = twilio.send_sms(OTHER, practice_number, "Annuler")
    assert cancelled.messages == [
        "cabinet médical des Tilleuls : votre rendez-vous du jeudi 26 novembre à 10 h est annulé."
    ]
    later = OPEN_HOURS + timedelta(minutes=1)
    assert tasks.waiting_list(root, later).offered == 1
    root.send_notices(later)
    [offer] = sms_to(fake_twilio, CALLER)
    assert "le jeudi 26 novembre à 10 h. Répondez OUI dans les 30 minutes" in offer

    set_clock(app, (later + timedelta(minutes=5)).isoformat())
    taken = twilio.send_sms(CALLER, practice_number, "oui !")
    assert taken.messages == [
        "cabinet médical des Tilleuls : c'est noté, votre rendez-vous est le jeudi 26 novembre "
        "à 10 h."
    ]
    with root.db.session() as session:
        [mine] = booking.upcoming(session, "demo", a, later)
        assert mine.starts_at == THURSDAY_TEN
        assert session.get_one(Appointment, thursday).cancelled_via == "sms"
    again = twilio.send_sms(CALLER, practice_number, "OUI")  # a second OUI, a new SMS
    assert again.messages and "rendez-vous est le jeudi 26 novembre" in again.messages[0]


def test_a_late_oui_is_told_the_slot_is_gone_and_stays_on_the_list(
    app, twilio, practice_number, fake_twilio
) -> None:
    a, _, _ = waiting_and_full(app)
    c = seed(app, "1990-01-01", phone="+33611000001")
    join(app, c, phone="+33611000001", at=OPEN_HOURS + timedelta(seconds=1))
    twilio.send_sms(OTHER, practice_number, "ANNULER")
    later = OPEN_HOURS + timedelta(minutes=1)
    assert tasks.waiting_list(services(app), later).offered == 2  # both offered, in order
    set_clock(app, (later + timedelta(minutes=2)).isoformat())
    assert "c'est noté" in twilio.send_sms("+33611000001", practice_number, "OUI").messages[0]
    assert twilio.send_sms(CALLER, practice_number, "OUI").messages == [
        "Ce créneau vient d'être pris, vous restez sur la liste."
    ]
    with services(app).db.session() as session:
        entry = session.scalars(select(WaitingEntry).where(WaitingEntry.patient_id == a)).one()
        assert entry.status == "open"


def test_stop_ends_the_waiting_and_no_offer_is_ever_sent_to_that_number(
    app, twilio, practice_number, fake_twilio
) -> None:
    a, _, _ = waiting_and_full(app)
    stopped = twilio.send_sms(CALLER, practice_number, "STOP")
    assert stopped.messages and "Vous ne recevrez plus de SMS" in stopped.messages[0]
    twilio.send_sms(OTHER, practice_number, "ANNULER")
    later = OPEN_HOURS + timedelta(minutes=1)
    assert tasks.waiting_list(services(app), later).offered == 0
    services(app).send_notices(later)
    assert sms_to(fake_twilio, CALLER) == []
    with services(app).db.session() as session:
        entry = session.scalars(select(WaitingEntry).where(WaitingEntry.patient_id == a)).one()
        assert (entry.status, entry.end_reason) == ("ended", "stop")


def test_an_offer_made_after_stop_is_held_at_the_send_point(
    app, twilio, practice_number, fake_twilio
) -> None:
    """STOP ends the entries; one made later (a request « à voir en consultation ») still
    gets its slot offered, but no SMS leaves for a number that said STOP."""
    a, _, _ = waiting_and_full(app)
    twilio.send_sms(CALLER, practice_number, "STOP")
    join(app, a, at=OPEN_HOURS + timedelta(seconds=30))
    twilio.send_sms(OTHER, practice_number, "ANNULER")
    later = OPEN_HOURS + timedelta(minutes=1)
    assert tasks.waiting_list(services(app), later).offered == 1  # and sent at once
    assert sms_to(fake_twilio, CALLER) == []
    with services(app).db.session() as session:
        [offer] = session.scalars(select(WaitingOffer)).all()
        assert offer.status == "opted-out"
