"""Slots freed and re-filled through the waiting list: counted for the statistics and the
doctors' digests, from ids and times only."""

from __future__ import annotations

from datetime import timedelta

from callcenter.backoffice.stats import call_stats
from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.digests.compose import Period, build
from callcenter.jobs import tasks
from callcenter.waitlist import stats
from tests.conftest import CALLER, OPEN_HOURS, services
from tests.ivr.test_identify import seed
from tests.waitlist.conftest import FRIDAY, THURSDAY_TEN, fill, join
from tests.waitlist.test_offers import OTHER, cancel_in_console, oui


def refilled_once(app) -> None:
    """Two patients wait; one freed slot is offered to both; the first OUI takes it."""
    held = fill(app, seed(app, "1975-01-02", phone=OTHER), FRIDAY)
    join(app, seed(app, "1980-03-15"))
    join(app, seed(app, "1990-01-01", phone="+33611000001"), phone="+33611000001")
    later = OPEN_HOURS + timedelta(hours=1)
    cancel_in_console(app, held[THURSDAY_TEN], later)
    tasks.waiting_list(services(app), later)
    assert oui(app, CALLER, later + timedelta(minutes=3)) is not None


def test_the_statistics_count_entries_slots_offered_and_slots_refilled(app) -> None:
    refilled_once(app)
    svc = services(app)
    practice = svc.practices.by_id("demo")
    assert practice is not None
    start, end = OPEN_HOURS - timedelta(days=1), OPEN_HOURS + timedelta(days=1)
    with svc.db.session() as session:
        found = call_stats(session, "demo", start, end, practice.tz).waiting_list
        assert found == stats.WaitlistCounts(joined=2, offered=1, refilled=1)
        assert stats.counts(session, "demo", start, end, "dr-bernard") == stats.WaitlistCounts()


def test_the_doctors_digest_counts_them(app) -> None:
    refilled_once(app)
    svc = services(app)
    practice = svc.practices.by_id("demo")
    assert practice is not None
    martin = next(d for d in practice.doctors if d.id == "dr-martin")
    period = Period(OPEN_HOURS, OPEN_HOURS + timedelta(hours=3))
    with svc.db.session() as session:
        digest = build(session, practice, martin, Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR"),
                       period)  # fmt: skip
    assert (digest.counts["waitlist_offered"], digest.counts["waitlist_refilled"]) == (1, 1)
    assert "Liste d'attente : 1 créneau libéré proposé par SMS, 1 repris par OUI." in digest.text
