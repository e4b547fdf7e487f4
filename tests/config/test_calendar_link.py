"""A doctor's ``calendar:`` in the practice file: the password never in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.config.calendar_link import CalendarLink, parse_calendar
from callcenter.config.schedules import free_slots, parse_rules
from callcenter.config.staff import StaffError

WHERE = "appointments.doctors.dr-x.calendar"
URL = "https://cloud.example.test/remote.php/dav/calendars/martin/cabinet"


def test_absent_is_none():
    assert parse_calendar(WHERE, None, None) is None


def test_a_password_file_is_read_beside_the_practice_file(tmp_path: Path):
    (tmp_path / "martin.secret").write_text("s3cret\n")
    link = parse_calendar(WHERE, {"url": URL, "username": "martin",
                                  "password_file": "martin.secret"}, tmp_path)  # fmt: skip
    assert link == CalendarLink(URL + "/", "martin", tmp_path / "martin.secret")
    assert link.password() == "s3cret"


def test_a_password_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    link = parse_calendar(WHERE, {"url": URL, "username": "m", "password_env": "CAL_PW"}, None)
    assert link is not None
    with pytest.raises(LookupError, match="CAL_PW is not set"):
        link.password()
    monkeypatch.setenv("CAL_PW", "from-env")
    assert link.password() == "from-env"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"url": URL, "username": "m", "password": "x"}, "unknown field"),
        ({"url": URL, "username": "m"}, "exactly one of password_file and password_env"),
        ({"url": URL, "username": "m", "password_env": "A", "password_file": "b"}, "exactly one"),
        ({"url": "ftp://x", "username": "m", "password_env": "A"}, r"is not an http\(s\) URL"),
        ({"url": URL, "username": "m", "password_env": "A", "busy": "all"}, "must be one of"),
    ],
)
def test_mistakes_name_the_field(raw: dict[str, str], message: str):
    with pytest.raises(StaffError, match=message):
        parse_calendar(WHERE, raw, None)


def test_busy_intervals_off_the_grid_block_every_start_they_overlap():
    rules = parse_rules(
        {"min_notice_minutes": 0, "doctors": {"dr-x": {"week": {"monday": ["09:00-10:00"]}}}},
        ["dr-x"],
    )
    assert rules is not None
    paris = ZoneInfo("Europe/Paris")
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 8:00 in Paris
    busy = [(datetime(2026, 11, 23, 8, 25, tzinfo=UTC), datetime(2026, 11, 23, 8, 30, tzinfo=UTC))]
    found = free_slots(rules, rules.doctors["dr-x"], rules.kinds["consultation"], now=now, tz=paris,
                       closed=lambda day: False, taken=(), busy=busy, limit=10)  # fmt: skip
    assert [s.strftime("%H:%M") for s in found if s.day == 23] == ["09:00", "09:40"]
