"""The waiting list in the subject's rights (export, erase) and in the retention purge."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from callcenter.jobs import tasks
from callcenter.rights import gdpr
from callcenter.waitlist import entries
from callcenter.waitlist.models import WaitingEntry, WaitingOffer
from tests.conftest import CALLER, OPEN_HOURS, services
from tests.ivr.test_identify import seed
from tests.waitlist.conftest import FRIDAY, THURSDAY_TEN, fill, join
from tests.waitlist.test_offers import OTHER, cancel_in_console


def counts(app) -> tuple[int, int]:
    with services(app).db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(WaitingEntry)) or 0,
            session.scalar(select(func.count()).select_from(WaitingOffer)) or 0,
        )


def test_an_export_holds_the_entries_and_an_erasure_deletes_them_with_their_offers(app) -> None:
    a = seed(app, "1980-03-15")
    held = fill(app, seed(app, "1975-01-02", phone=OTHER), FRIDAY)
    join(app, a)
    join(app, seed(app, "1990-01-01", phone="+33611000001"), phone="+33611000001")
    later = OPEN_HOURS + timedelta(hours=1)
    cancel_in_console(app, held[THURSDAY_TEN], later)
    tasks.waiting_list(services(app), later)
    assert counts(app) == (2, 2)
    svc = services(app)
    with svc.db.session() as session:
        subject = gdpr.find_subject(session, svc.cipher, CALLER, practice_ids=["demo"], bits=12)
        exported = gdpr.export_subject(session, subject, actor="admin-1", now=later)
    [entry] = exported["practices"]["demo"]["waiting_list"]
    assert (entry["phone"], entry["doctor_id"], entry["before"], entry["period"]) == (
        CALLER, "dr-martin", "2026-11-27", "any",
    )  # fmt: skip
    with svc.db.session() as session:
        subject = gdpr.find_subject(session, svc.cipher, CALLER, practice_ids=["demo"], bits=12)
        report = gdpr.erase_subject(session, subject, actor="admin-1", now=later)
    assert report.waiting_list == 1
    assert counts(app) == (1, 1)  # the other patient's entry and offer stay


def test_ended_entries_are_purged_after_the_policy_period_open_ones_are_kept(app) -> None:
    a = seed(app, "1980-03-15")
    b = seed(app, "1975-01-02", phone=OTHER)
    ended = join(app, a)
    join(app, b, phone=OTHER, before=FRIDAY + timedelta(days=60))
    svc = services(app)
    with svc.db.session() as session:
        assert entries.end(session, ended, entries.SECRETARY, OPEN_HOURS)
    assert svc.policy.retention.waiting_list == 30
    assert tasks.purge(svc, OPEN_HOURS + timedelta(days=29)).waiting_list == 0
    assert tasks.purge(svc, OPEN_HOURS + timedelta(days=30)).waiting_list == 1
    with svc.db.session() as session:
        [left] = session.scalars(select(WaitingEntry)).all()
        assert left.patient_id == b and left.status == "open"
