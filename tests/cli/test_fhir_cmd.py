"""``callcenter fhir client add|list|revoke``: a token printed once, hashed at rest, audited."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from callcenter.cli.main import main
from callcenter.fhir.models import FhirClient
from tests.cli.test_appointments_cmd import audit_actions, run
from tests.conftest import services


def test_a_client_is_added_listed_and_revoked_and_its_token_works_until_then(app, cli_env) -> None:
    out, err = run("fhir", "client", "add", "logiciel-cabinet", "--practice", "demo",
                   "--scope", "identity")  # fmt: skip
    token = out.strip()
    assert token.startswith("fhir_") and "secret" in err
    with services(app).db.session() as session:
        [row] = session.scalars(select(FhirClient)).all()
        assert token not in row.token_hash and row.scope == "identity"
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/fhir/Schedule", headers=headers).status_code == 200
    out, _ = run("fhir", "client", "list")
    assert out.startswith("id\tname\tpractice\tscope\tcreated\trevoked\n")
    assert "\tlogiciel-cabinet\tdemo\tidentity\t" in out and out.rstrip().endswith("live")
    out, _ = run("fhir", "client", "revoke", "logiciel-cabinet")
    assert "revoked 1 client(s)" in out
    assert app.test_client().get("/fhir/Schedule", headers=headers).status_code == 401
    assert {"fhir.client_added", "fhir.client_revoked"} <= set(audit_actions(app))


def test_a_free_text_name_and_an_unknown_practice_are_refused(app, cli_env) -> None:
    result = CliRunner().invoke(main, ["fhir", "client", "add", "Dr Martin's PC"])
    assert result.exit_code == 1 and "client name" in result.output
    result = CliRunner().invoke(main, ["fhir", "client", "add", "x", "--practice", "nowhere"])
    assert result.exit_code == 1 and "--practice" in result.output
    result = CliRunner().invoke(main, ["fhir", "client", "revoke", "nobody"])
    assert result.exit_code == 1 and "no live client" in result.output
