"""What a doctor's digest says, and when it is due."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.appointments.models import Appointment
from callcenter.calls.models import Call
from callcenter.config.practice import Practice, load_practice
from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.config.staff import DigestSchedule, StaffError, parse_digest
from callcenter.digests.compose import Period, build
from callcenter.instance import DEMO_PRACTICE
from callcenter.messages.models import Message
from callcenter.patients.models import Patient
from callcenter.storage.db import Database
from tests.conftest import write_practice

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 11, 24, 12, 30, tzinfo=PARIS)
END = datetime(2026, 11, 24, 18, 30, tzinfo=PARIS)
INSIDE = datetime(2026, 11, 24, 15, 0, tzinfo=PARIS)


# -- the schedule -------------------------------------------------------------------
def test_the_latest_slot_is_the_last_scheduled_time_at_or_before_now():
    schedule = DigestSchedule()  # 12:30 and 18:30, Monday to Friday
    tuesday = datetime(2026, 11, 24, 18, 29, tzinfo=PARIS)
    assert schedule.latest(tuesday, PARIS) == START
    assert schedule.latest(tuesday + timedelta(minutes=1), PARIS) == END
    saturday_noon = datetime(2026, 11, 28, 13, 0, tzinfo=PARIS)
    assert schedule.latest(saturday_noon, PARIS) == datetime(2026, 11, 27, 18, 30, tzinfo=PARIS)
    assert schedule.before(END, PARIS) == START
    monday = datetime(2026, 11, 30, 12, 30, tzinfo=PARIS)
    assert schedule.before(monday, PARIS) == datetime(2026, 11, 27, 18, 30, tzinfo=PARIS)


def test_an_hourly_schedule_and_the_time_zone():
    schedule = DigestSchedule(hourly=True, days=frozenset(range(7)))
    moment = datetime(2026, 11, 24, 9, 59, tzinfo=UTC)  # 10:59 in Paris
    assert schedule.latest(moment, PARIS) == datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)
    assert schedule.slots_on(date(2026, 11, 24), PARIS)[0].time() == time(0, 0)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ({"at": ["25:00"]}, "digest.at[0]"),
        ({"at": "daily"}, "digest.at"),
        ({"days": ["mon"]}, "digest.days"),
        ({"when_empty": "never"}, "digest.when_empty"),
        ({"every": "hour"}, "digest.every"),
    ],
)
def test_a_bad_digest_schedule_is_named(raw: dict[str, object], where: str):
    with pytest.raises(StaffError, match=where.replace(".", r"\.").replace("[", r"\[")):
        parse_digest("digest", raw)


def test_hourly_and_skip_are_read():
    schedule = parse_digest("digest", {"at": "hourly", "days": ["saturday"], "when_empty": "skip"})
    assert schedule.hourly and schedule.days == frozenset({5}) and schedule.when_empty == "skip"


# -- the content ----------------------------------------------------------------------
# Every test here encrypts or decrypts: a fresh cipher is bound for each (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("cipher")


@pytest.fixture
def practice(tmp_path: Path) -> Practice:
    write_practice(tmp_path)
    return load_practice(tmp_path / "practices" / f"{DEMO_PRACTICE['id']}.yaml")


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR")


def a_day(db: Database) -> None:
    """Calls and messages of an afternoon, some for each doctor, some for none."""
    with db.session() as s:
        zoe = Patient(practice_id="demo", name="Zoé Dupont", phone="+33612345678",
                      created_at=INSIDE, last_seen_at=INSIDE)  # fmt: skip
        s.add(zoe)
        s.flush()

        def call(sid: str, minutes: int, **values: object) -> Call:
            at = INSIDE + timedelta(minutes=minutes)
            row = Call(practice_id="demo", call_sid=sid, started_at=at, flow="main", node="x",
                       seq=1, state={}, caller="+33698765432", **values)  # fmt: skip
            s.add(row)
            return row

        call("CA" + "1" * 32, 0, urgent=True, outcome="on-call")
        call("CA" + "2" * 32, 5, outcome="abandoned")
        call("CA" + "3" * 32, 10, outcome="transferred")
        call("CA" + "4" * 32, -600, outcome="hung-up")  # before the period
        messages = [
            dict(transcript="Renouvellement d'ordonnance", patient_id=zoe.id, minutes=20),
            dict(transcript="Fièvre depuis trois jours", urgent=True, minutes=30),
            dict(callback_requested=True, status="callback", minutes=40),
            dict(transcript="Pour le docteur Bernard seulement", doctor_id="dr-bernard",
                 minutes=50),
            dict(status="transcription-failed", doctor_id="dr-martin", minutes=55),
        ]  # fmt: skip
        for values in messages:
            minutes = int(values.pop("minutes"))  # type: ignore[call-overload]
            s.add(Message(practice_id="demo", callback_number="+33612345678",
                          created_at=INSIDE + timedelta(minutes=minutes), **values))  # fmt: skip

        def appointment(doctor: str, day: int, **values: object) -> Appointment:
            starts = datetime(2026, 11, day, 9, 30, tzinfo=PARIS)
            row = Appointment(practice_id="demo", doctor_id=doctor, starts_at=starts,
                              ends_at=starts + timedelta(minutes=20), created_at=INSIDE,
                              updated_at=INSIDE, **values)  # fmt: skip
            s.add(row)
            s.flush()
            return row

        appointment("dr-martin", 26, patient_id=zoe.id)
        old = appointment("dr-martin", 27, status="cancelled")
        appointment("dr-martin", 30, replaces_id=old.id)
        appointment("dr-bernard", 26)


def martin(practice: Practice):
    return next(d for d in practice.doctors if d.id == "dr-martin")


def test_a_digest_lists_the_doctors_items_urgent_first_with_totals(db, practice, catalogue):
    a_day(db)
    with db.session() as s:
        digest = build(s, practice, martin(practice), catalogue, Period(START, END))
    text = digest.text
    # The practice's name starts the header, capitalised as a header is.
    assert text.startswith("Cabinet médical des Tilleuls — synthèse des appels pour docteure")
    assert "du 24/11 12:30 au 24/11 18:30" in text
    urgent, rest = text.split("MESSAGES")
    assert "Fièvre depuis trois jours" in urgent and "appel urgent du 06 98 76 54 32" in urgent
    assert "pris par le médecin de garde" in urgent
    assert "Zoé Dupont, à rappeler au 06 12 34 56 78" in rest and "Renouvellement" in rest
    assert "rappel demandé" in rest and "La transcription a échoué" in rest
    assert "Pour le docteur Bernard" not in text  # another doctor's message
    assert "26/11 09:30 — Zoé Dupont (Consultation) : pris" in rest
    assert rest.count(" : pris") == 1  # dr-bernard's appointment is not here
    assert "27/11 09:30 — appelant non identifié (Consultation) : annulé" in rest
    assert "30/11 09:30 — appelant non identifié (Consultation) : déplacé" in rest
    assert "APPELS MANQUÉS" in rest and "15:05 — 06 98 76 54 32" in rest
    assert "09:" not in rest.split("APPELS MANQUÉS")[1].split("Totaux")[0]  # earlier call out
    assert digest.counts == {"calls": 3, "messages": 4, "requests": 0, "urgent": 2,
                             "callbacks": 1, "appointments": 3, "missed": 1,
                             "sms_cancellations": 0, "waitlist_offered": 0,
                             "waitlist_refilled": 0}  # fmt: skip
    totals = "Totaux : 3 appels, 4 messages, 0 demande, 2 urgences, 1 demande de rappel,"
    assert totals in text and "1 appel manqué." in text
    assert "par SMS" not in text  # no cancellation by SMS, no line for none


def test_a_cancellation_by_sms_is_marked_and_counted(db, practice, catalogue):
    a_day(db)
    with db.session() as s:
        starts = datetime(2026, 11, 28, 8, 0, tzinfo=PARIS)
        s.add(Appointment(practice_id="demo", doctor_id="dr-martin", starts_at=starts,
                          ends_at=starts + timedelta(minutes=20), created_at=INSIDE,
                          updated_at=INSIDE, status="cancelled", cancelled_via="sms"))  # fmt: skip
    with db.session() as s:
        digest = build(s, practice, martin(practice), catalogue, Period(START, END))
    assert "28/11 08:00 — appelant non identifié (Consultation) : annulé par SMS" in digest.text
    assert "27/11 09:30 — appelant non identifié (Consultation) : annulé\n" in digest.text
    assert digest.counts["sms_cancellations"] == 1 and digest.counts["appointments"] == 4
    assert "Dont 1 annulation par SMS en réponse au rappel." in digest.text


def test_an_empty_period_says_so(db, practice, catalogue):
    with db.session() as s:
        digest = build(s, practice, martin(practice), catalogue, Period(START, END))
    assert digest.items == 0 and "Aucun appel sur cette période." in digest.text


def test_each_section_lists_its_items_in_time_order(db, practice, catalogue):
    """Urgent calls and urgent messages interleave by time; appointments by their time,
    whether booked, cancelled or moved."""
    a_day(db)
    with db.session() as s:
        s.add(
            Message(
                practice_id="demo",
                callback_number="+33677889900",
                urgent=True,
                transcript="Douleur thoracique",
                created_at=INSIDE - timedelta(minutes=5),
            )
        )
        starts = datetime(2026, 11, 28, 8, 0, tzinfo=PARIS)  # booked: after the cancelled one
        s.add(Appointment(practice_id="demo", doctor_id="dr-martin", starts_at=starts,
                          ends_at=starts + timedelta(minutes=20), created_at=INSIDE,
                          updated_at=INSIDE + timedelta(minutes=1)))  # fmt: skip
    with db.session() as s:
        text = build(s, practice, martin(practice), catalogue, Period(START, END)).text
    urgent, rest = text.split("MESSAGES")
    order = [urgent.index(s) for s in ("Douleur thoracique", "appel urgent du", "Fièvre depuis")]
    assert order == sorted(order)  # 14:55, 15:00, 15:30
    days = re.findall(r"^- (\d\d/11) 0\d:\d\d — ", rest.split("RENDEZ-VOUS")[1], re.M)
    assert days == ["26/11", "27/11", "28/11", "30/11"]


def test_calls_with_nothing_to_list_are_not_called_no_call(db, practice, catalogue):
    """Two calls put through to the secretaries: no item, but never "no call" above
    totals that count two."""
    with db.session() as s:
        for n, minutes in (("5", 0), ("6", 10)):
            s.add(Call(practice_id="demo", call_sid="CA" + n * 32, flow="main", node="x",
                       started_at=INSIDE + timedelta(minutes=minutes), seq=1, state={},
                       caller="+33698765432", outcome="transferred"))  # fmt: skip
    with db.session() as s:
        digest = build(s, practice, martin(practice), catalogue, Period(START, END))
    assert digest.items == 0 and digest.counts["calls"] == 2
    assert "Aucun appel" not in digest.text
    assert "Rien à signaler" in digest.text and "Totaux : 2 appels" in digest.text


def test_a_digest_dropped_by_an_erasure_is_built_again_without_the_erased_rows(
    db, practice, catalogue, monkeypatch
):
    """Erasure drops the unsent digest; the next run rebuilds it from what is left."""
    from sqlalchemy import delete, select

    from callcenter.digests import compose
    from callcenter.digests.compose import due_digests
    from callcenter.notify import outbox
    from callcenter.notify.models import PENDING, OutboxMail

    # S/MIME aside (tested on its own): the digest is kept as the text it seals.
    monkeypatch.setattr(compose, "certificate_problem", lambda *args: None)
    monkeypatch.setattr(compose, "seal", lambda *args: args[4])
    monkeypatch.setattr(compose.smime, "load_certificate", lambda path: None)
    monkeypatch.setattr(compose.smime, "expires_within", lambda *args: False)
    a_day(db)
    now = datetime(2026, 11, 24, 19, 0, tzinfo=PARIS)
    with db.session() as s:
        assert due_digests(s, [practice], {"demo": catalogue}, "cc@example.org", now,
                           only_doctor="dr-martin") == {PENDING: 1}  # fmt: skip
        [before] = s.scalars(select(OutboxMail)).all()
        first = (before.ref, before.period_start, before.period_end, before.items)
        assert "Zoé Dupont" in (before.body or "")
    with db.session() as s:  # what erasing Zoé Dupont does to the outbox and her rows
        assert outbox.drop_unsent(s, "demo") == 1
        zoe = s.scalars(select(Patient.id)).one()
        s.execute(delete(Message).where(Message.patient_id == zoe))
        s.execute(delete(Appointment).where(Appointment.patient_id == zoe))
    with db.session() as s:
        assert due_digests(s, [practice], {"demo": catalogue}, "cc@example.org", now,
                           only_doctor="dr-martin") == {PENDING: 1}  # fmt: skip
        [after] = s.scalars(select(OutboxMail)).all()
        assert (after.ref, after.period_start, after.period_end) == first[:3]
        assert after.items == first[3] - 2  # her message and her appointment are gone
        assert "Zoé Dupont" not in (after.body or "") and after.status == PENDING
