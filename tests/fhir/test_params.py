"""Date search parameters: prefixes, whole days in the practice's time zone, intersections."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from callcenter.fhir.params import SearchError, Window, date_window

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_day_is_the_whole_local_day_and_prefixes_open_one_side() -> None:
    day = date_window(["2026-12-01"], PARIS, "date")
    assert day == Window(at("2026-12-01T00:00+01:00"), at("2026-12-02T00:00+01:00"))
    assert date_window(["ge2026-12-01"], PARIS, "start").before is None
    assert date_window(["gt2026-12-01"], PARIS, "start").after == at("2026-12-02T00:00+01:00")
    assert date_window(["le2026-12-01"], PARIS, "start").before == at("2026-12-02T00:00+01:00")
    assert date_window(["lt2026-12-01"], PARIS, "start").before == at("2026-12-01T00:00+01:00")


def test_repeated_values_intersect_and_instants_keep_their_offset() -> None:
    window = date_window(["ge2026-12-01T09:00:00Z", "lt2026-12-03"], PARIS, "start")
    assert window == Window(at("2026-12-01T09:00:00+00:00"), at("2026-12-03T00:00+01:00"))
    assert date_window(["ge2026-12-03", "lt2026-12-01"], PARIS, "start").empty()


@pytest.mark.parametrize("value", ["tomorrow", "ne2026-12-01", "2026-13-01", "2026-12-01T09:00"])
def test_anything_else_is_refused_by_name(value: str) -> None:
    with pytest.raises(SearchError, match=r"^start: "):
        date_window([value], PARIS, "start")
