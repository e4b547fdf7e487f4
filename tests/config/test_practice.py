"""Practice files: validation, opening hours, holidays, and finding a practice by its number."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml

from callcenter.config.practice import Practice, PracticeDirectory, PracticeError, load_practice
from callcenter.instance import DEMO_PRACTICE
from callcenter.patients import identification
from tests.conftest import write_practice

PARIS = ZoneInfo("Europe/Paris")
_DROP = object()


def practice_file(folder: Path, filename: str = "demo.yaml", /, **changes: Any) -> Path:
    """The demo practice written as ``filename``, with ``changes`` (``_DROP`` removes a key)."""
    data = {**DEMO_PRACTICE, **changes}
    data = {k: v for k, v in data.items() if v is not _DROP}
    path = folder / filename
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def demo(tmp_path: Path, **changes: Any) -> Practice:
    return load_practice(practice_file(tmp_path, **changes))


def refusal(tmp_path: Path, **changes: Any) -> str:
    """The PracticeError message for the demo practice with ``changes``; it names the file."""
    with pytest.raises(PracticeError) as excinfo:
        demo(tmp_path, **changes)
    message = str(excinfo.value)
    assert message.startswith("demo.yaml: ")
    return message


def paris(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


# --- loading ---------------------------------------------------------------------------------


def test_the_demo_practice_loads_with_its_number_in_e164(tmp_path: Path) -> None:
    """The shipped demo practice is valid; its number is kept in E.164."""
    practice = demo(tmp_path, number="01 84 88 00 00")
    assert practice.id == "demo"
    assert practice.number == "+33184880000"
    assert practice.holiday_country == "FR"
    assert [s.phone for s in practice.secretaries] == ["+33612000001"]
    assert practice.transfer_mode == "simultaneous"
    assert practice.ring_seconds == 20


@pytest.mark.parametrize("field", ["id", "name", "number"])
def test_a_missing_required_field_is_named(tmp_path: Path, field: str) -> None:
    """id, name and number are required."""
    assert f"demo.yaml: {field}: is required" in refusal(tmp_path, **{field: _DROP})


@pytest.mark.parametrize("number", ["12", "not a number", "+33 1 84"])
def test_an_invalid_number_is_named(tmp_path: Path, number: str) -> None:
    """The practice number must be a valid phone number."""
    assert "number:" in refusal(tmp_path, number=number)


def test_an_unknown_weekday_is_named(tmp_path: Path) -> None:
    """Weekdays are English, lower-case: 'lundi' is refused."""
    message = refusal(tmp_path, hours={"lundi": ["08:30-12:30"]})
    assert "hours.lundi" in message
    assert "weekday" in message


@pytest.mark.parametrize("session", ["25:00-26:00", "08:30-25:00", "8h30-12h"])
def test_an_impossible_time_is_named(tmp_path: Path, session: str) -> None:
    """'25:00' is not a time of day."""
    message = refusal(tmp_path, hours={"monday": [session]})
    assert "hours.monday[0]" in message
    assert "is not a time" in message


def test_a_session_that_is_not_a_range_is_named(tmp_path: Path) -> None:
    """A session is 'HH:MM-HH:MM'."""
    assert "hours.monday[0]" in refusal(tmp_path, hours={"monday": ["08:30"]})


@pytest.mark.parametrize(
    "sessions",
    [["08:30-12:30", "12:00-14:00"], ["14:00-19:00", "08:30-12:30"], ["12:00-08:00"]],
)
def test_overlapping_or_backward_sessions_are_named(tmp_path: Path, sessions: list[str]) -> None:
    """Sessions of a day must be non-empty, in order and must not overlap."""
    assert "hours.monday[" in refusal(tmp_path, hours={"monday": sessions})


@pytest.mark.parametrize("zone", ["Europe/Atlantis", "", "../etc/passwd"])
def test_a_bad_timezone_is_named(tmp_path: Path, zone: str) -> None:
    """The time zone must be an IANA name."""
    assert "timezone:" in refusal(tmp_path, timezone=zone)


def test_an_unsupported_holidays_country_is_named(tmp_path: Path) -> None:
    """holidays: must be a country the holidays package knows."""
    assert "holidays:" in refusal(tmp_path, holidays="XX")


def test_a_bad_transfer_mode_is_named(tmp_path: Path) -> None:
    """transfer.mode is 'simultaneous' or 'sequential'."""
    assert "transfer.mode" in refusal(tmp_path, transfer={"mode": "round-robin"})


def test_a_transfer_section_that_is_not_a_mapping_is_named(tmp_path: Path) -> None:
    """'transfer: sequential' (a text, not a mapping) is a PracticeError naming transfer."""
    assert "transfer" in refusal(tmp_path, transfer="sequential")


@pytest.mark.parametrize("ring", [4, 121, "20", 12.5])
def test_ring_seconds_out_of_range_is_named(tmp_path: Path, ring: object) -> None:
    """ring_seconds is a whole number from 5 to 120."""
    message = refusal(tmp_path, transfer={"mode": "sequential", "ring_seconds": ring})
    assert "transfer.ring_seconds" in message


@pytest.mark.parametrize("ring", [5, 120])
def test_ring_seconds_bounds_are_accepted(tmp_path: Path, ring: int) -> None:
    """5 and 120 seconds are both allowed."""
    assert demo(tmp_path, transfer={"ring_seconds": ring}).ring_seconds == ring


def test_a_secretary_without_a_phone_is_named(tmp_path: Path) -> None:
    """A secretary is rung, so needs a phone number."""
    message = refusal(tmp_path, secretaries=[{"id": "sec-lea", "name": "Léa"}])
    assert "secretaries[0].phone" in message


def test_a_doctor_without_an_on_call_phone_is_accepted(tmp_path: Path) -> None:
    """Only doctors on the on-call rota are rung: their phone is optional otherwise."""
    practice = demo(tmp_path, doctors=[{"id": "dr-x", "name": "X"}], on_call=[], appointments=None)
    assert practice.doctors[0].on_call_phone is None and practice.doctors[0].called == "X"


def test_duplicate_person_ids_are_named(tmp_path: Path) -> None:
    """Two secretaries may not share an id."""
    secretaries = [
        {"id": "sec", "name": "Léa", "phone": "+33612000001"},
        {"id": "sec", "name": "Marc", "phone": "+33612000002"},
    ]
    assert "secretaries: ids must be unique" in refusal(tmp_path, secretaries=secretaries)


def test_a_closure_that_is_not_a_date_is_named(tmp_path: Path) -> None:
    """closures lists dates (YYYY-MM-DD)."""
    assert "closures[0]" in refusal(tmp_path, closures=["next monday"])


# --- opening status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (paris(2026, 11, 24, 10, 0), "open"),
        (paris(2026, 11, 24, 8, 30), "open"),
        (paris(2026, 11, 24, 13, 0), "lunch"),
        (paris(2026, 11, 24, 12, 30), "lunch"),
        (paris(2026, 11, 24, 20, 0), "closed"),
        (paris(2026, 11, 24, 19, 0), "closed"),
        (paris(2026, 11, 24, 7, 0), "closed"),
        (paris(2026, 11, 25, 15, 0), "closed"),  # Wednesday afternoon: no second session
        (paris(2026, 11, 22, 10, 0), "closed"),  # Sunday
        (paris(2026, 12, 25, 10, 0), "holiday"),  # Christmas, a Friday
        (paris(2026, 11, 11, 10, 0), "holiday"),  # Armistice, a Wednesday
    ],
)
def test_the_opening_status_follows_hours_and_holidays(
    tmp_path: Path, moment: datetime, status: str
) -> None:
    """open, lunch (between two sessions), closed, or holiday, in the practice's week."""
    assert demo(tmp_path).opening_status(moment) == status


def test_a_closure_date_is_a_holiday(tmp_path: Path) -> None:
    """A date listed under closures counts as a holiday all day."""
    practice = demo(tmp_path, closures=[date(2026, 11, 26)])
    assert practice.opening_status(paris(2026, 11, 26, 10, 0)) == "holiday"
    assert practice.opening_status(paris(2026, 11, 27, 10, 0)) == "open"


def test_without_holidays_a_public_holiday_is_a_normal_day(tmp_path: Path) -> None:
    """holidays: false opens on public holidays like any other day."""
    practice = demo(tmp_path, holidays=False)
    assert practice.holiday_country is None
    assert practice.opening_status(paris(2026, 11, 11, 10, 0)) == "open"


@pytest.mark.parametrize(
    ("utc_moment", "status"),
    [
        (datetime(2026, 11, 24, 9, 30, tzinfo=UTC), "open"),  # 10:30 in Paris
        (datetime(2026, 11, 24, 7, 45, tzinfo=UTC), "open"),  # 08:45 in Paris
        (datetime(2026, 11, 24, 18, 30, tzinfo=UTC), "closed"),  # 19:30 in Paris
        (datetime(2026, 12, 24, 23, 30, tzinfo=UTC), "holiday"),  # already Christmas in Paris
    ],
)
def test_times_in_utc_are_read_in_the_practice_time_zone(
    tmp_path: Path, utc_moment: datetime, status: str
) -> None:
    """The status depends on the local time in Paris, not on the instant's offset."""
    assert demo(tmp_path).opening_status(utc_moment) == status


# --- next opening ----------------------------------------------------------------------------


def test_pentecost_monday_2026_is_a_french_public_holiday() -> None:
    """The next-opening example below relies on 2026-05-25 being a holiday in FR."""
    assert date(2026, 5, 25) in holidays.country_holidays("FR", years=2026)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (paris(2026, 11, 22, 21, 0), paris(2026, 11, 23, 8, 30)),  # Sunday night → Monday
        (paris(2026, 5, 24, 21, 0), paris(2026, 5, 26, 8, 30)),  # skips Pentecost Monday
        (paris(2026, 11, 24, 13, 0), paris(2026, 11, 24, 14, 0)),  # lunch → afternoon
        (paris(2026, 11, 24, 10, 0), paris(2026, 11, 24, 14, 0)),  # open → next session
        (paris(2026, 11, 27, 19, 0), paris(2026, 11, 28, 9, 0)),  # Friday evening → Saturday
        (paris(2026, 11, 24, 7, 0), paris(2026, 11, 24, 8, 30)),  # early morning → today
    ],
)
def test_the_next_opening_skips_closed_days_and_holidays(
    tmp_path: Path, moment: datetime, expected: datetime
) -> None:
    """The first session start after ``now``, in the practice's time zone."""
    result = demo(tmp_path).next_opening(moment)
    assert result == expected
    assert result is not None and result.utcoffset() == expected.utcoffset()


def test_the_next_opening_skips_closures(tmp_path: Path) -> None:
    """A closure day is skipped like a holiday."""
    practice = demo(tmp_path, closures=[date(2026, 11, 23)])
    assert practice.next_opening(paris(2026, 11, 22, 21, 0)) == paris(2026, 11, 24, 8, 30)


def test_the_next_opening_asked_again_on_one_practice_answers_each_moment(tmp_path: Path) -> None:
    """The day's openings are kept per practice: every moment of the day still gets its own."""
    practice = demo(tmp_path, closures=[date(2026, 11, 23)])
    assert practice.next_opening(paris(2026, 11, 24, 7, 0)) == paris(2026, 11, 24, 8, 30)
    later = practice.next_opening(paris(2026, 11, 24, 8, 30))
    assert later is not None and later > paris(2026, 11, 24, 8, 30)
    assert practice.next_opening(paris(2026, 11, 22, 21, 0)) == paris(2026, 11, 24, 8, 30)
    for day in range(1, 30):  # more days than are kept: older ones are dropped, not wrong
        assert practice.next_opening(paris(2026, 12, day, 23, 0)) is not None


def test_a_practice_without_hours_has_no_next_opening(tmp_path: Path) -> None:
    """With no sessions at all, there is no next opening (None, not a loop)."""
    assert demo(tmp_path, hours={}).next_opening(paris(2026, 11, 24, 10, 0)) is None


# --- directory -------------------------------------------------------------------------------


@pytest.fixture
def directory(tmp_path: Path) -> PracticeDirectory:
    write_practice(tmp_path)
    write_practice(tmp_path, id="other", number="+33145000000", name="cabinet du Parc")
    return PracticeDirectory.load(tmp_path / "practices")


@pytest.mark.parametrize("called", ["01 84 88 00 00", "+33184880000", "0033184880000"])
def test_a_practice_is_found_by_its_number_in_any_format(
    directory: PracticeDirectory, called: str
) -> None:
    """The called number is normalised before the lookup."""
    practice = directory.by_number(called)
    assert practice is not None and practice.id == "demo"


def test_each_practice_is_found_by_id(directory: PracticeDirectory) -> None:
    """by_id, len and iteration cover every file of the folder."""
    assert len(directory) == 2
    assert {p.id for p in directory} == {"demo", "other"}
    other = directory.by_id("other")
    assert other is not None and other.number == "+33145000000"
    assert directory.by_id("nope") is None


@pytest.mark.parametrize("called", ["+33612345678", "anonymous", "+266696687", "", None, "abc"])
def test_an_unknown_or_withheld_number_finds_no_practice(
    directory: PracticeDirectory, called: str | None
) -> None:
    """No practice for a number nobody owns, a withheld or an unparseable one."""
    assert directory.by_number(called) is None


def test_a_missing_practices_folder_is_an_empty_directory(tmp_path: Path) -> None:
    """No practices folder: no practices, no error."""
    assert len(PracticeDirectory.load(tmp_path / "practices")) == 0


def test_the_same_id_in_two_files_is_refused(tmp_path: Path) -> None:
    """Two files declaring the same id: PracticeError naming the id."""
    practice_file(tmp_path, "a.yaml")
    practice_file(tmp_path, "b.yaml", number="+33145000000")
    with pytest.raises(PracticeError, match="'demo'"):
        PracticeDirectory.load(tmp_path)


def test_the_same_number_in_two_files_is_refused(tmp_path: Path) -> None:
    """Two practices on one number (written differently): PracticeError."""
    practice_file(tmp_path, "a.yaml")
    practice_file(tmp_path, "b.yaml", id="other", number="01 84 88 00 00")
    with pytest.raises(PracticeError, match="number"):
        PracticeDirectory.load(tmp_path)


def test_an_invalid_file_in_the_folder_stops_loading(tmp_path: Path) -> None:
    """One bad file is enough to refuse the whole directory, naming that file."""
    practice_file(tmp_path, "a.yaml")
    (tmp_path / "b.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(PracticeError, match=r"b\.yaml"):
        PracticeDirectory.load(tmp_path)


# --- staff: on-call rota and secretaries on duty -----------------------------------------


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


@pytest.mark.parametrize(
    ("moment", "doctor"),
    [
        ("2026-11-24T10:00:00+01:00", None),  # Tuesday, office hours: the secretaries
        ("2026-11-24T19:00:00+01:00", "dr-martin"),  # Tuesday evening
        ("2026-11-25T03:00:00+01:00", "dr-martin"),  # the night after, past midnight
        ("2026-11-25T08:30:00+01:00", None),  # the shift ends at 08:30
        ("2026-11-27T22:00:00+01:00", "dr-bernard"),  # Friday night
        ("2026-11-29T23:30:00+01:00", "dr-bernard"),  # Sunday night
        ("2026-11-30T02:00:00+01:00", "dr-martin"),  # Monday early morning
        ("2026-11-24T18:30:00Z", "dr-martin"),  # given in UTC: 19:30 in Paris
    ],
)
def test_the_rota_names_the_doctor_on_call(tmp_path: Path, moment: str, doctor: str | None):
    found = demo(tmp_path).on_call_doctor(at(moment))
    assert (found.id if found else None) == doctor


def test_secretaries_work_their_own_hours_or_the_practices(tmp_path: Path) -> None:
    practice = demo(tmp_path, secretaries=[
        {"id": "lea", "name": "Léa", "phone": "+33612000001"},
        {"id": "remote", "name": "Télésecrétariat", "phone": "+33612000002",
         "hours": {"tuesday": ["12:00-20:00"]}},
    ])  # fmt: skip
    assert [s.id for s in practice.secretaries_on_duty(at("2026-11-24T10:00:00+01:00"))] == ["lea"]
    lunch = practice.secretaries_on_duty(at("2026-11-24T13:00:00+01:00"))
    assert [s.id for s in lunch] == ["remote"]  # the practice is at lunch, the remote desk is not
    assert practice.secretaries_on_duty(at("2026-11-24T21:00:00+01:00")) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"on_call": [{"doctor": "nobody"}]}, "on_call[0].doctor"),
        ({"on_call": [{"doctor": "dr-martin", "days": ["funday"]}]}, "on_call[0].days"),
        ({"on_call": [{"doctor": "dr-martin", "from": "25:00"}]}, "on_call[0].from"),
        (
            {"doctors": [{"id": "d", "name": "D", "email": "not an email"}], "on_call": []},
            "doctors[0].email",
        ),
        (
            {"doctors": [{"id": "d", "name": "D", "on_call_phone": "12"}], "on_call": []},
            "doctors[0].on_call_phone",
        ),
        (
            {"doctors": [{"id": "d", "name": "D"}], "on_call": [{"doctor": "d"}]},
            "on_call[0].doctor",
        ),
        (
            {
                "secretaries": [
                    {"id": "s", "name": "S", "phone": "+33612000001", "hours": {"monday": ["9-10"]}}
                ]
            },
            "secretaries[0].hours.monday[0]",
        ),
        ({"transfer": {"caller_id": "secretary"}}, "transfer.caller_id"),
        ({"instructions": "x" * 600}, "instructions"),
    ],
)
def test_staff_errors_name_the_field(tmp_path: Path, changes: dict[str, Any], field: str):
    assert f"demo.yaml: {field}:" in refusal(tmp_path, **changes)


@pytest.mark.parametrize(
    ("queue", "field"),
    [
        ({"size": 101}, "transfer.queue.size"),
        ({"size": True}, "transfer.queue.size"),
        ({"minutes_per_caller": 0}, "transfer.queue.minutes_per_caller"),
        ({"hold_music": "http://example.org/music.mp3"}, "transfer.queue.hold_music"),
        ({"music": "x"}, "transfer.queue.music"),
        ("big", "transfer.queue"),
    ],
)
def test_a_bad_queue_setting_is_named(tmp_path: Path, queue: object, field: str) -> None:
    assert f"{field}:" in refusal(tmp_path, transfer={"queue": queue})


def test_the_queue_settings_are_read(tmp_path: Path) -> None:
    queue = {"size": 0, "minutes_per_caller": 5, "hold_music": "https://example.org/a.mp3"}
    practice = demo(tmp_path, transfer={"queue": queue})
    assert (practice.queue_size, practice.minutes_per_caller) == (0, 5)
    assert practice.hold_music == "https://example.org/a.mp3"


def test_a_secretary_pin_hash_must_come_from_the_pin_command(tmp_path: Path) -> None:
    secretaries = [{"id": "s", "name": "Léa", "phone": "+33612000001", "pin_hash": "2468"}]
    message = refusal(tmp_path, secretaries=secretaries)
    assert "secretaries[0].pin_hash" in message and "2468" not in message.split(":")[-1]


# --- limits ----------------------------------------------------------------------------------


def test_the_identification_guard_defaults_to_the_domains(tmp_path: Path) -> None:
    """Without ``limits``, five wrong dates of birth lock a number for an hour."""
    practice = demo(tmp_path)
    assert practice.identification_failures == identification.MAX_FAILURES
    assert timedelta(minutes=practice.identification_lock_minutes) == identification.LOCK
    assert practice.calls_per_minute == 10
    assert practice.withheld_calls_per_hour == 30


def test_the_limits_are_read(tmp_path: Path) -> None:
    limits = {
        "calls_per_minute": 0,
        "identification_failures": 2,
        "identification_lock_minutes": 15,
        "withheld_calls_per_hour": 0,
    }
    practice = demo(tmp_path, limits=limits)
    assert practice.calls_per_minute == 0 and practice.withheld_calls_per_hour == 0
    assert (practice.identification_failures, practice.identification_lock_minutes) == (2, 15)


@pytest.mark.parametrize(
    ("limits", "field"),
    [
        ({"identification_failures": 0}, "limits.identification_failures"),
        ({"identification_failures": -1}, "limits.identification_failures"),
        ({"identification_failures": 21}, "limits.identification_failures"),
        ({"identification_failures": "5"}, "limits.identification_failures"),
        ({"identification_failures": True}, "limits.identification_failures"),
        ({"identification_failures": 2.5}, "limits.identification_failures"),
        ({"identification_lock_minutes": 0}, "limits.identification_lock_minutes"),
        ({"identification_lock_minutes": 1441}, "limits.identification_lock_minutes"),
        ({"identification_lock_minutes": None}, "limits.identification_lock_minutes"),
        ({"calls_per_minute": -1}, "limits.calls_per_minute"),
        ({"withheld_calls_per_hour": -1}, "limits.withheld_calls_per_hour"),
        ({"withheld_calls_per_hour": 10001}, "limits.withheld_calls_per_hour"),
        ({"identification_lockout": 30}, "limits.identification_lockout"),
        ([5], "limits"),
    ],
)
def test_a_bad_limit_is_named(tmp_path: Path, limits: object, field: str) -> None:
    message = refusal(tmp_path, limits=limits)
    assert message.startswith(f"demo.yaml: {field}: ")
    if field != "limits" and not field.endswith("lockout"):
        assert "whole number from" in message


def test_the_notice_link_urgent_words_and_prompt_budgets_are_read(tmp_path: Path) -> None:
    practice = demo(
        tmp_path,
        privacy_notice_url="https://tilleuls.example.test/donnees",
        urgent_words=["il fait un malaise"],
        prompt_budgets={"opening": 10},
    )
    assert practice.privacy_notice_url == "https://tilleuls.example.test/donnees"
    assert practice.urgent_words == ("il fait un malaise",)
    assert practice.prompt_budgets == {"opening": 10.0, "notice": 60.0, "other": 20.0}
    plain = demo(tmp_path)
    assert plain.privacy_notice_url is None and plain.urgent_words == ()
    assert plain.prompt_budgets == {"opening": 12.0, "notice": 60.0, "other": 20.0}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"privacy_notice_url": "http://tilleuls.example.test"}, "privacy_notice_url"),
        ({"urgent_words": "urgence"}, "urgent_words"),
        ({"urgent_words": [""]}, "urgent_words"),
        ({"prompt_budgets": {"opening": 1}}, "prompt_budgets.opening"),
        ({"prompt_budgets": {"greeting": 10}}, "prompt_budgets.greeting"),
    ],
)
def test_a_bad_notice_link_word_list_or_budget_is_named(
    tmp_path: Path, changes: dict[str, Any], field: str
) -> None:
    assert refusal(tmp_path, **changes).startswith(f"demo.yaml: {field}: ")
