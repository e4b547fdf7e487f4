"""``callcenter appointments``: the administrator's list (audited) and the calendar feeds."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from callcenter.audit.models import AuditEntry
from callcenter.cli.main import main
from tests.appointments.test_booking import take
from tests.appointments.test_sms import book_thursday
from tests.conftest import services
from tests.ivr.test_identify import NAME, seed


def run(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout, result.stderr


def audit_actions(app) -> list[str]:
    with services(app).db.session() as session:
        return list(session.scalars(select(AuditEntry.action)))


def test_the_list_shows_upcoming_appointments_without_names_and_is_audited(app, cli_env) -> None:
    patient = seed(app, "1980-03-15")
    book_thursday(app, patient)
    with services(app).db.session() as session:
        take(session, patient)
    out, err = run("appointments", "list")
    header, *lines = out.splitlines()
    assert header == "time\tday\tdoctor\tkind\tstatus\tpatient"
    assert [line.split("\t")[0] for line in lines] == ["2026-11-24 14:00", "2026-11-26 10:00"]
    assert "dr-martin\tConsultation\tbooked" in lines[0] and NAME not in out
    assert "2 appointments" in err
    assert audit_actions(app).count("appointments.list") == 1


def test_the_list_filters_by_day_and_doctor_and_shows_names_on_request(app, cli_env) -> None:
    patient = seed(app, "1980-03-15")
    book_thursday(app, patient)
    out, _ = run("appointments", "list", "--day", "2026-11-26", "--names")
    assert out.count("\n") == 2 and NAME in out  # the header and one row
    out, _ = run("appointments", "list", "--doctor", "dr-bernard")
    assert out == "time\tday\tdoctor\tkind\tstatus\tpatient\n"
    assert audit_actions(app).count("appointments.list") == 2


def test_an_unknown_doctor_is_a_clear_error(app, cli_env) -> None:
    result = CliRunner().invoke(main, ["appointments", "list", "--doctor", "dr-who"])
    assert result.exit_code == 1 and "--doctor: 'dr-who' is not a doctor of demo" in result.output


def test_a_feed_url_is_created_then_revoked(app, cli_env, monkeypatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cc.example.test")
    out, _ = run("appointments", "feed", "create", "--doctor", "dr-martin")
    url = out.strip()
    assert url.startswith("https://cc.example.test/calendar/") and url.endswith(".ics")
    path = url.removeprefix("https://cc.example.test")
    assert app.test_client().get(path).status_code == 200
    out, _ = run("appointments", "feed", "revoke", "--doctor", "dr-martin")
    assert "revoked 1 feed(s)" in out
    assert app.test_client().get(path).status_code == 404
    assert {"appointments.feed_created", "appointments.feed_revoked"} <= set(audit_actions(app))
