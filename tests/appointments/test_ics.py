"""Doctors' calendar feeds: a secret, revocable URL; no personal data unless opted in."""

from __future__ import annotations

from icalendar import Calendar
from sqlalchemy import select

from callcenter.appointments.ics import create_feed, revoke_feeds
from callcenter.appointments.models import CalendarFeed
from callcenter.audit.models import AuditEntry
from tests.appointments.test_booking import take
from tests.appointments.test_sms import THURSDAY_TEN, book_thursday
from tests.conftest import OPEN_HOURS, services, write_practice
from tests.ivr.test_identify import NAME, seed
from tests.web.twilio.test_appointments import restart


def feed_url(app, doctor: str = "dr-martin") -> str:
    with services(app).db.session() as session:
        return f"/calendar/{create_feed(session, 'demo', doctor, OPEN_HOURS)}.ics"


def test_the_feed_opens_in_a_standard_parser_and_names_no_patient(app) -> None:
    patient = seed(app, "1980-03-15")
    book_thursday(app, patient)
    with services(app).db.session() as session:
        take(session, patient)  # 14 h today
    response = app.test_client().get(feed_url(app))
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(response.data)
    events = calendar.walk("VEVENT")
    assert [e.decoded("dtstart").isoformat() for e in events] == [
        "2026-11-24T13:00:00+00:00", THURSDAY_TEN.astimezone(events[1].decoded("dtstart").tzinfo)
        .isoformat(),
    ]  # fmt: skip
    assert all(str(e["summary"]) == "Rendez-vous (consultation)" for e in events)
    for secret in ("Quenouille", "Zéphyrine", "612345678", "1980"):
        assert secret.encode() not in response.data
    # Another doctor's feed does not show them.
    other = app.test_client().get(feed_url(app, "dr-bernard"))
    assert Calendar.from_ical(other.data).walk("VEVENT") == []


def test_names_appear_only_when_the_practice_opts_in_and_each_read_is_audited(settings) -> None:
    demo = write_practice(settings.home)
    rules = {**demo["appointments"], "ics_patient_names": True}  # type: ignore[dict-item]
    write_practice(settings.home, appointments=rules)
    app = restart(settings)
    book_thursday(app, seed(app, "1980-03-15"))
    response = app.test_client().get(feed_url(app))
    [event] = Calendar.from_ical(response.data).walk("VEVENT")
    assert NAME in str(event["summary"])
    with services(app).db.session() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions.count("appointments.feed_names") == 1
    services(app).db.dispose()


def test_a_revoked_unknown_or_malformed_token_gets_404(app) -> None:
    url = feed_url(app)
    client = app.test_client()
    assert client.get(url).status_code == 200
    with services(app).db.session() as session:
        assert revoke_feeds(session, "demo", "dr-martin", OPEN_HOURS) == 1
        stored = session.scalars(select(CalendarFeed.token_hash)).one()
        assert stored not in url  # only the hash is kept
    assert client.get(url).status_code == 404
    assert client.get("/calendar/" + "A" * 32 + ".ics").status_code == 404
    assert client.get("/calendar/not a token.ics").status_code == 404
