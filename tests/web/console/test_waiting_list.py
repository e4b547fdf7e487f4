"""The secretaries' waiting list page: entries in order with the offer under way, names
audited, an entry ended by a click (once), other practices' entries out of reach."""

from __future__ import annotations

from datetime import timedelta

from callcenter.jobs import tasks
from tests.conftest import OPEN_HOURS, services
from tests.ivr.test_identify import seed
from tests.waitlist.conftest import FRIDAY, THURSDAY_TEN, entry_of, fill, join
from tests.waitlist.test_offers import OTHER, cancel_in_console
from tests.web.console.test_secretary_pages import audited


def test_the_list_shows_entries_in_order_and_the_offer_under_way(app, secretary) -> None:
    held = fill(app, seed(app, "1975-01-02", name="Bruno Bernier", phone=OTHER), FRIDAY)
    first = join(app, seed(app, "1980-03-15", name="Alice Dupont"), period="morning")
    zoe = seed(app, "1990-01-01", name="Zoé Martin", phone="+33611000001")
    later = OPEN_HOURS + timedelta(minutes=1)
    second = join(app, zoe, phone="+33611000001", doctor=None, at=later)
    cancel_in_console(app, held[THURSDAY_TEN], OPEN_HOURS)
    tasks.waiting_list(services(app), OPEN_HOURS)
    page = secretary.get("/console/waiting-list")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Liste d’attente" in html
    assert html.index(f"entry-{first}") < html.index(f"entry-{second}")
    assert "Alice Dupont" in html and "Zoé Martin" in html and "Peu importe" in html
    assert "vendredi 27/11/2026" in html and "Matin" in html
    assert "26/11" in html and "10:00" in html  # Thursday 10:00 offered to the first entry
    assert "+336" not in html and "06 1" not in html  # the texted number is never shown
    [entry] = audited(app, "console.view.waiting_list")
    assert entry.practice_id == "demo" and entry.details == '{"rows":2}'


def test_a_secretary_ends_an_entry_once_and_an_unknown_one_is_not_found(app, secretary) -> None:
    entry = join(app, seed(app, "1980-03-15"))
    secretary.get("/console/waiting-list")
    done = secretary.post(f"/console/waiting-list/{entry}/end")
    assert done.status_code == 302
    ended = entry_of(app, entry)
    assert (ended.status, ended.end_reason) == ("ended", "secretary")
    assert secretary.post(f"/console/waiting-list/{entry}/end").status_code == 404  # once
    assert [e.object_ref for e in audited(app, "console.waitlist_ended")] == [entry]
    assert secretary.post("/console/waiting-list/nosuchentry/end").status_code == 404
    assert "Personne sur la liste d’attente." in secretary.get("/console/waiting-list").get_data(
        as_text=True
    )
