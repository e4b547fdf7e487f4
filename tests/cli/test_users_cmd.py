"""``callcenter users add/disable/reset/list``: console accounts made by the administrator,
with one-line errors, audit entries, and sessions ended at once when an account
is disabled or reset."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from callcenter.accounts import accounts
from callcenter.audit import trail as audit
from callcenter.audit.models import AuditEntry
from callcenter.cli.main import main
from tests.conftest import services, write_practice
from tests.web.console.conftest import Console

PASSWORD = re.compile(r"shown once: (\S+)$", re.MULTILINE)


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["users", *args], catch_exceptions=False)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result.stdout


def refused(*args: str) -> str:
    """The command fails with exit code 1 and a single ``error:`` line."""
    result = run(*args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def password_of(output: str) -> str:
    found = PASSWORD.search(output)
    assert found, output
    return found.group(1)


def audit_entries(app) -> list[tuple[str, str, str | None]]:
    with services(app).db.session() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        return [(e.actor, e.action, e.object_ref) for e in rows]


def user_id(app, username: str) -> str:
    with services(app).db.session() as session:
        found = accounts.find_user(session, username)
        assert found is not None
        return found.id


def password_step(app, username: str, password: str) -> int:
    """The status of the first login step with this password (302: accepted)."""
    console = Console(app)
    console.get("/console/login")
    return console.post("/console/login", {"username": username, "password": password}).status_code


HEADER = ["username", "role", "practices", "second_factor", "state", "doctor"]


def listed(app) -> list[list[str]]:
    """The rows of ``users list``, under its header row."""
    header, *rows = [line.split("\t") for line in ok("list").splitlines()]
    assert header == HEADER
    return rows


def chain_ok(app) -> None:
    with services(app).db.session() as session:
        result = audit.verify(session)
    assert result.ok, result.reason


# -- add ----------------------------------------------------------------------------


def test_add_prints_a_first_password_that_signs_in_and_audits_the_addition(app, cli_env):
    out = ok("add", "lea", "--role", "secretary", "--practice", "demo")
    password = password_of(out)
    assert "account lea (secretary) added" in out and len(password) >= 20
    assert "second factor" in out
    assert listed(app) == [["lea", "secretary", "demo", "totp-not-enrolled", "active", "-"]]
    assert audit_entries(app) == [("cli:admin", "console.user_added", user_id(app, "lea"))]
    Console(app).login("lea", password)  # enrols its second factor, then opens the console
    assert listed(app)[0][3] == "totp"
    chain_ok(app)


def test_a_doctor_account_names_the_doctor_of_each_practice(app, cli_env):
    ok("add", "claire", "--role", "doctor", "--practice", "demo", "--doctor", "dr-martin")
    ok("add", "admin", "--role", "admin")
    assert listed(app) == [
        ["admin", "admin", "*", "totp-not-enrolled", "active", "-"],
        ["claire", "doctor", "demo", "totp-not-enrolled", "active", "dr-martin"],
    ]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["lea", "--role", "secretary", "--practice", "nowhere"],
         "error: --practice: no practice 'nowhere' (callcenter practices list)"),
        (["claire", "--role", "doctor", "--practice", "demo", "--doctor", "dr-nobody"],
         "error: --doctor: 'dr-nobody' is not a doctor of demo"),
        (["claire", "--role", "doctor", "--practice", "demo"],
         "error: a doctor account needs the doctor's id in the practice file (--doctor)"),
        (["lea", "--role", "secretary"], "error: a secretary needs at least one practice"),
        (["lea", "--role", "secretary", "--practice", "demo", "--doctor", "dr-martin"],
         "error: --doctor: only for a doctor account, not a secretary"),
        (["Léa", "--role", "secretary", "--practice", "demo"], "error: username: 2-64 characters"),
        (["Lea", "--role", "secretary", "--practice", "demo"], "error: username: 2-64 characters"),
        (["l", "--role", "secretary", "--practice", "demo"], "error: username: 2-64 characters"),
        (["lea@example.test", "--role", "secretary", "--practice", "demo"],
         "error: username: 2-64 characters"),
    ],
)  # fmt: skip
def test_add_refuses_what_cannot_work_in_one_line_and_adds_nothing(app, cli_env, args, error):
    assert refused("add", *args).startswith(error)
    assert listed(app) == [] and audit_entries(app) == []


def test_a_doctor_id_must_exist_in_every_practice_given(app, cli_env):
    write_practice(cli_env.home, id="port", name="cabinet du Port", number="+33491000000",
                   doctors=[{"id": "dr-port", "name": "Yves Port", "called": "docteur Port"}],
                   appointments=None, on_call=[])  # fmt: skip
    error = refused("add", "claire", "--role", "doctor", "--practice", "demo", "--practice",
                    "port", "--doctor", "dr-martin")  # fmt: skip
    assert error == "error: --doctor: 'dr-martin' is not a doctor of port"
    ok("add", "yves", "--role", "doctor", "--practice", "port", "--doctor", "dr-port")


def test_an_unknown_role_is_refused_by_the_option_itself(app, cli_env):
    result = run("add", "lea", "--role", "nurse", "--practice", "demo")
    assert result.exit_code == 2 and "'nurse' is not one of" in result.stderr


def test_a_username_is_taken_once(app, cli_env):
    ok("add", "lea", "--role", "secretary", "--practice", "demo")
    assert refused("add", "lea", "--role", "admin") == "error: username 'lea' is taken"
    assert [row[1] for row in listed(app)] == ["secretary"]
    assert [a for _, a, _ in audit_entries(app)] == ["console.user_added"]


# -- disable and reset ----------------------------------------------------------------


def test_disable_ends_the_sessions_at_once_and_refuses_the_password(app, cli_env):
    password = password_of(ok("add", "lea", "--role", "secretary", "--practice", "demo"))
    console = Console(app)
    console.login("lea", password)
    assert console.get("/console/messages").status_code == 200
    assert "account lea disabled" in ok("disable", "lea")
    answer = console.get("/console/messages")
    assert answer.status_code == 302 and answer.location.endswith("/console/login")
    assert password_step(app, "lea", password) == 401
    assert listed(app)[0][4] == "disabled"
    actions = [a for _, a, _ in audit_entries(app)]
    assert actions == ["console.user_added", "console.login", "console.user_disabled"]
    chain_ok(app)


def test_reset_gives_a_new_password_a_new_second_factor_and_re_enables(app, cli_env):
    old = password_of(ok("add", "lea", "--role", "secretary", "--practice", "demo"))
    console = Console(app)
    console.login("lea", old)
    ok("disable", "lea")
    out = ok("reset", "lea")
    new = password_of(out)
    assert new != old and "enrolled again" in out
    assert listed(app)[0][3:5] == ["totp-not-enrolled", "active"]
    assert console.get("/console/messages").location.endswith("/console/login")
    assert password_step(app, "lea", old) == 401
    fresh = Console(app)
    fresh.get("/console/login")
    step = fresh.post("/console/login", {"username": "lea", "password": new})
    assert step.status_code == 302
    assert "<svg" in fresh.get("/console/second-factor").get_data(as_text=True)  # a new QR code
    assert [a for _, a, _ in audit_entries(app)][-2:] == [
        "console.user_disabled", "console.user_reset"
    ]  # fmt: skip
    chain_ok(app)


@pytest.mark.parametrize("command", ["disable", "reset"])
def test_disable_and_reset_name_an_unknown_account(app, cli_env, command):
    assert refused(command, "nobody") == "error: no account named 'nobody'"
    assert audit_entries(app) == []


def test_the_list_is_empty_on_a_fresh_instance(app, cli_env):
    assert listed(app) == []
