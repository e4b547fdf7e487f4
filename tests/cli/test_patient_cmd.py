"""``callcenter patient export/erase``: the data subject's rights, audited."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from callcenter.calls.models import Call
from callcenter.cli.main import main
from callcenter.messages.models import Message
from tests.cli.conftest import OTHER, calls_with_messages, count, run
from tests.conftest import CALLER, services


def test_export_gives_everything_held_about_a_number_and_is_audited(
    app, twilio, practice_number, admin, tmp_path: Path
):
    calls_with_messages(twilio, practice_number)
    out = tmp_path / "export.json"
    run("patient", "export", "--phone", "06 12 34 56 78", "--out", str(out))
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    data = json.loads(out.read_text())
    demo = data["practices"]["demo"]
    assert len(demo["calls"]) == 2 and len(demo["messages"]) == 1
    assert demo["messages"][0]["callback_number"] == CALLER
    assert OTHER not in out.read_text()
    assert '"action": "patient.export"' in run("audit", "show", "--json")
    assert "\tcli:admin\tpatient.export\t" in run("audit", "show")


def test_erase_removes_a_number_everywhere_and_queues_twilio(
    app, twilio, practice_number, admin, fake_twilio
):
    calls_with_messages(twilio, practice_number)
    output = run("patient", "erase", "--phone", CALLER, "--yes")
    assert "calls 2" in output and "messages 1" in output
    assert "at Twilio: 3 deleted" in output  # one recording, two call logs
    assert count(app, Call) == 1 and count(app, Message) == 1  # the other caller's
    with services(app).db.session() as session:
        assert session.scalars(select(Message)).one().callback_number == OTHER
    assert "audit chain ok" in run("audit", "verify")


def test_erase_asks_for_confirmation(app, admin):
    result = CliRunner().invoke(main, ["patient", "erase", "--phone", CALLER], input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output


def test_an_invalid_number_is_a_clear_error(app, admin):
    result = CliRunner().invoke(main, ["patient", "export", "--phone", "12"])
    assert result.exit_code == 1 and "not a valid phone number" in result.output
