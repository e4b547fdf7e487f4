"""`callcenter understand`: JSON lines from the practice files alone, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from callcenter.cli.main import main
from callcenter.instance import DEMO_PRACTICE

AT = "2026-12-01T10:00:00+01:00"


def _practice(home: Path, practice_id: str, number: str) -> None:
    raw = {key: DEMO_PRACTICE[key] for key in ("name", "language", "timezone", "hours")}
    raw.update(id=practice_id, number=number)
    raw["doctors"] = [
        {"id": "dr-martin", "name": "Claire Martin", "called": "docteure Martin"},
        {"id": "dr-bernard", "name": "Paul Bernard", "called": "docteur Bernard"},
    ]
    (home / "practices" / f"{practice_id}.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "instance"
    (home / "practices").mkdir(parents=True)
    settings = {"twilio_account_sid": "AC" + "0" * 32, "twilio_auth_token": "token"}
    (home / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    (home / "settings.yaml").chmod(0o600)
    monkeypatch.setenv("CALLCENTER_HOME", str(home))
    for name in ("DATABASE_URL", "CALLCENTER_NOW", "CALLCENTER_FLOWS", "TWILIO_ACCOUNT_SID",
                 "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    _practice(home, "demo", "+33184880000")
    return home


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_the_done_example(home: Path):
    text = "je voudrais un rendez-vous avec le docteur bernard jeudi après midi"
    result = CliRunner().invoke(main, ["understand", "--at", AT, text])
    assert result.exit_code == 0, result.output
    assert _lines(result.output) == [
        {
            "intent": "book",
            "doctor": "dr-bernard",
            "date": "2026-12-03",
            "period": "afternoon",
            "time": None,
            "urgent": False,
        }
    ]
    assert not (home / "callcenter.db").exists()  # no database touched


def test_several_texts_and_standard_input(home: Path):
    result = CliRunner().invoke(
        main,
        ["understand", "--practice", "demo", "--at", AT, "c'est urgent", "-", "horaires"],
        input="annuler mon rdv de demain\n\nle docteur martine vers 10 h\n",
    )
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert [line["intent"] for line in lines] == ["urgent", "cancel", "other", "hours"]
    assert lines[1]["date"] == "2026-12-02"
    assert (lines[2]["doctor"], lines[2]["time"]) == ("dr-martin", "10:00")


def test_callcenter_now_is_the_default_moment(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CALLCENTER_NOW", "2026-12-04T10:00:00+01:00")
    result = CliRunner().invoke(main, ["understand", "demain"])
    assert _lines(result.output)[0]["date"] == "2026-12-05"


def test_the_instance_catalogue_adds_words(home: Path):
    (home / "understanding").mkdir()
    (home / "understanding" / "demo.fr-FR.yaml").write_text(
        "urgent:\n  words: [jambe bleue]\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["understand", "--at", AT, "il a la jambe bleue"])
    assert _lines(result.output)[0]["urgent"] is True


def test_errors_are_one_clear_line(home: Path):
    _practice(home, "other", "+33184880001")
    several = CliRunner().invoke(main, ["understand", "--at", AT, "bonjour"])
    assert several.exit_code == 1
    assert "several practices" in several.output and "--practice" in several.output
    unknown = CliRunner().invoke(main, ["understand", "--practice", "nope", "bonjour"])
    assert unknown.exit_code == 1 and "no practice 'nope'" in unknown.output
    moment = CliRunner().invoke(main, ["understand", "--practice", "demo", "--at", "jeudi", "x"])
    assert moment.exit_code == 1 and "--at" in moment.output
    (home / "understanding").mkdir()
    (home / "understanding" / "fr-FR.yaml").write_text("intents: [", encoding="utf-8")
    broken = CliRunner().invoke(main, ["understand", "--practice", "demo", "x"])
    assert broken.exit_code == 1 and "not valid YAML" in broken.output
