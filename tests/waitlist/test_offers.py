"""Freed slots offered to the waiting list by SMS, in the order entries were made; the first OUI
books it, once, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.backoffice import diary
from callcenter.jobs import tasks
from callcenter.waitlist import entries, offers
from callcenter.waitlist.models import WaitingOffer
from tests.conftest import CALLER, OPEN_HOURS, services
from tests.ivr.test_identify import seed
from tests.waitlist.conftest import FRIDAY, THURSDAY_TEN, entry_of, fill, join
from tests.web.twilio.test_appointments import identified, sms_bodies

OTHER = "+33698765432"


def oui(app: Flask, sender: str, at: datetime) -> offers.Answer | None:
    svc = services(app)
    practice = svc.practices.by_id("demo")
    assert practice is not None
    with svc.bound(), svc.db.session() as session:
        return offers.accept_reply(session, svc.cipher, practice, sender, at)


def offers_of(app: Flask) -> list[WaitingOffer]:
    with services(app).db.session() as session:
        return list(session.scalars(select(WaitingOffer).order_by(WaitingOffer.created_at)))


def cancel_in_console(app: Flask, appointment_id: str, at: datetime) -> None:
    with services(app).db.session() as session:
        assert diary.cancel(session, session.get_one(Appointment, appointment_id), at)


def full_week(app: Flask) -> tuple[str, str, dict[datetime, str]]:
    """Patient A (CALLER) and B (OTHER); B holds every slot of Dr Martin's before Friday."""
    a = seed(app, "1980-03-15")
    b = seed(app, "1975-01-02", phone=OTHER)
    return a, b, fill(app, b, FRIDAY)


def test_a_slot_freed_by_a_cancellation_is_offered_and_the_first_oui_books_it(
    app, fake_twilio
) -> None:
    """A waits for Dr Martin before Friday; B cancels Thursday 10:00; A answers OUI and holds it."""
    a, _, held = full_week(app)
    entry = join(app, a)
    root = services(app)
    assert tasks.waiting_list(root, OPEN_HOURS).offered == 0  # nothing free: nothing offered
    later = OPEN_HOURS + timedelta(hours=1)
    cancel_in_console(app, held[THURSDAY_TEN], later)
    assert tasks.waiting_list(root, later).offered == 1
    assert tasks.waiting_list(root, later + timedelta(minutes=1)).offered == 0  # held by the offer
    [body] = sms_bodies(fake_twilio)
    assert body == (
        "cabinet médical des Tilleuls : un créneau s'est libéré le jeudi 26 novembre à 10 h. "
        "Répondez OUI dans les 30 minutes pour le prendre."
    )
    assert fake_twilio.messages[0]["to"] == CALLER
    answer = oui(app, CALLER, later + timedelta(minutes=5))
    assert answer == offers.Answer(
        "waitlist_offer_taken",
        {"practice_name": "cabinet médical des Tilleuls", "when": "jeudi 26 novembre à 10 h"},
    )
    assert oui(app, CALLER, later + timedelta(minutes=6)) == answer  # a retried OUI: the same
    with root.db.session() as session:
        [mine] = booking.upcoming(session, "demo", a, later)
        assert mine.starts_at == THURSDAY_TEN and mine.doctor_id == "dr-martin"
    done = entry_of(app, entry)
    assert (done.status, done.end_reason, done.appointment_id) == ("ended", "booked", mine.id)
    assert oui(app, OTHER, later) is None  # B was offered nothing


def test_entries_are_offered_a_slot_in_the_order_they_were_made_three_at_a_time(app) -> None:
    _, _, held = full_week(app)
    waiting = []
    for i in range(5):
        patient = seed(app, f"1990-01-0{i + 1}", phone=f"+3361100000{i}")
        waiting.append(join(app, patient, phone=f"+3361100000{i}",
                            at=OPEN_HOURS + timedelta(minutes=i)))  # fmt: skip
    later = OPEN_HOURS + timedelta(hours=1)
    cancel_in_console(app, held[THURSDAY_TEN], later)
    root = services(app)
    tasks.waiting_list(root, later)
    assert {o.entry_id for o in offers_of(app)} == set(waiting[:3])
    # Nobody answers: the offers expire and the slot goes to the next entries.
    expiry = later + timedelta(minutes=31)
    report = tasks.waiting_list(root, expiry)
    assert (report.expired, report.offered) == (3, 2)
    states = {o.entry_id: o.state for o in offers_of(app)}
    assert [states[e] for e in waiting] == ["expired"] * 3 + ["open"] * 2
    assert oui(app, "+33611000000", expiry + timedelta(minutes=1)) == offers.Answer(
        "waitlist_offer_expired",
        {"practice_name": "cabinet médical des Tilleuls", "when": "jeudi 26 novembre à 10 h"},
    )
    assert entry_of(app, waiting[0]).status == "open"  # still on the list


def test_an_entry_gets_only_what_it_asked_for(app) -> None:
    """Doctor, a day before ``before``, the half-day: a Thursday morning slot suits none here."""
    a, b, held = full_week(app)
    fill(app, b, FRIDAY, doctor="dr-bernard")
    join(app, a, period="afternoon")
    join(app, seed(app, "1990-01-01", phone="+33611000001"), phone="+33611000001",
         before=THURSDAY_TEN.date())  # fmt: skip
    join(app, seed(app, "1990-01-02", phone="+33611000002"), phone="+33611000002",
         doctor="dr-bernard")  # fmt: skip
    later = OPEN_HOURS + timedelta(hours=1)
    cancel_in_console(app, held[THURSDAY_TEN], later)
    assert tasks.waiting_list(services(app), later).offered == 0


def test_a_slot_too_close_to_answer_and_book_is_not_offered(app) -> None:
    a, _, held = full_week(app)
    join(app, a)
    # Thursday 10:00 seen from Thursday 7:45: the 2 h notice plus 30 min to answer are not left.
    at = THURSDAY_TEN - timedelta(hours=2, minutes=15)
    cancel_in_console(app, held[THURSDAY_TEN], at)
    assert tasks.waiting_list(services(app), at).offered == 0


def test_entries_end_when_their_day_comes_when_the_patient_books_and_on_stop(app) -> None:
    a, b, _ = full_week(app)
    c = seed(app, "1990-01-01", phone="+33611000001")
    passed = join(app, a, before=OPEN_HOURS.date() + timedelta(days=1))
    elsewhere = join(app, b, phone=OTHER)
    stopped = join(app, c, phone="+33611000001")
    root = services(app)
    with root.db.session() as session:
        ended = entries.end_for_number(session, root.cipher, "demo", "06 11 00 00 01",
                                       OPEN_HOURS, entries.STOP)  # fmt: skip
        assert ended == 1
    with root.db.session() as session:  # B books by phone after joining
        assert booking.book(
            session, practice_id="demo", doctor_id="dr-bernard", patient_id=b,
            starts_at=datetime.fromisoformat("2026-12-01T09:00:00+01:00"), minutes=20,
            slot_minutes=20, kind="consultation", now=OPEN_HOURS + timedelta(minutes=5),
        )  # fmt: skip
    assert tasks.waiting_list(root, OPEN_HOURS + timedelta(days=1)).ended == 2
    reasons = {e: entry_of(app, e).end_reason for e in (passed, elsewhere, stopped)}
    assert reasons == {passed: "date_passed", elsewhere: "booked_elsewhere", stopped: "stop"}


@pytest.mark.parametrize(("patients", "times"), [(3, 7), (1, 20)])
def test_twenty_concurrent_ouis_book_the_slot_once(app, fake_twilio, patients, times) -> None:
    """Patients offered one slot answer OUI many times at once (Twilio's retries included),
    each in its own thread and session: one booking, the winner told it is theirs every
    time, the others that it is gone."""
    _, _, held = full_week(app)
    numbers = [f"+3361100000{i}" for i in range(patients)]
    for i, number in enumerate(numbers):
        join(app, seed(app, f"1990-01-0{i + 1}", phone=number), phone=number,
             at=OPEN_HOURS + timedelta(minutes=i))  # fmt: skip
    later = OPEN_HOURS + timedelta(hours=1)
    cancel_in_console(app, held[THURSDAY_TEN], later)
    assert tasks.waiting_list(services(app), later).offered == patients
    senders = numbers * times
    start = threading.Barrier(len(senders))
    answers: list[tuple[str, str | None]] = []
    errors: list[BaseException] = []

    def reply(sender: str) -> None:
        try:
            start.wait()
            answer = oui(app, sender, later + timedelta(minutes=2))
            answers.append((sender, answer.key if answer else None))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reply, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with services(app).db.session() as session:
        rows = session.scalars(
            select(Appointment).where(Appointment.starts_at == THURSDAY_TEN,
                                      Appointment.status == "booked")
        ).all()  # fmt: skip
    assert len(rows) == 1
    winners = {s for s, key in answers if key == "waitlist_offer_taken"}
    assert len(winners) == 1
    [winner] = winners
    assert sorted(key for s, key in answers if s == winner) == ["waitlist_offer_taken"] * times
    assert {key for s, key in answers if s != winner} <= {"waitlist_offer_gone"}
    assert [o.state for o in offers_of(app)].count("accepted") == 1


def test_a_slot_cancelled_by_phone_goes_to_the_patient_waiting_who_answers_oui(
    app, twilio, practice_number, fake_twilio
) -> None:
    """End to end: A waits for Dr Martin before Friday; B cancels by phone; A's OUI books it."""
    a = seed(app, "1980-03-15")
    b = seed(app, "1980-03-15", name="Bruno Bernier", phone=OTHER)
    held = fill(app, b, FRIDAY)
    join(app, a)
    call = identified(twilio, practice_number, "keypad", caller=OTHER).press("2")
    call.press("1").press("1")  # the first of B's appointments, cancel it
    assert "Vous allez annuler votre rendez-vous du mardi 24 novembre à 14 h" in call.last_heard()
    call.press("1")
    assert "rendez-vous est annulé" in call.last_heard()
    first = min(held)
    assert tasks.waiting_list(services(app), OPEN_HOURS).offered == 1
    [body] = [m["body"] for m in fake_twilio.messages if m["to"] == CALLER]
    assert "le mardi 24 novembre à 14 h. Répondez OUI" in body
    assert "Bernier" not in body and "Dupont" not in body and "1980" not in body
    answer = oui(app, CALLER, OPEN_HOURS + timedelta(minutes=10))
    assert answer is not None and answer.key == "waitlist_offer_taken"
    with services(app).db.session() as session:
        [mine] = booking.upcoming(session, "demo", a, OPEN_HOURS)
    assert mine.starts_at == first
