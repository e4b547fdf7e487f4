"""``callcenter audit``: a wiped trail behind a forged purge, a signed purge, keys counted."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import delete, select

from callcenter.audit import trail as audit
from callcenter.audit.models import AuditAnchor, AuditEntry, AuditHead
from callcenter.cli.main import main
from tests.cli.conftest import run
from tests.conftest import services


def some_entries(svc, count: int = 3) -> None:
    with svc.db.session() as session:
        for i in range(count):
            audit.append(session, actor="cli:admin", action="data.read",
                         object_ref=f"patient:{i}", now=svc.clock.now())  # fmt: skip


def test_a_log_wiped_behind_a_forged_purge_entry_does_not_verify(app, cli_env):
    """Database write access, no key: delete all, anchor at the signed head, forge a purge."""
    svc = services(app)
    some_entries(svc)
    run("audit", "checkpoint")
    with svc.db.session() as session:
        head = session.get(AuditHead, 1)
        assert head is not None and head.seq > 0
        seq, hash_ = head.seq, head.hash
        session.execute(delete(AuditEntry))
        session.add(AuditAnchor(id=1, seq=seq, hash=hash_))
        session.flush()
        details = {"before_seq": seq + 1, "deleted": seq, "anchor_seq": seq, "anchor_hash": hash_}
        audit.append(session, actor="system:purge", action=audit.PURGE_ACTION,
                     details=details, now=svc.clock.now())  # fmt: skip
    result = CliRunner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit chain broken at seq {seq + 1}" in result.output
    assert "retention anchor not signed" in result.output


def test_a_retention_purge_of_the_audit_signs_its_anchor_and_verifies(app, cli_env, monkeypatch):
    """Entries past the audit retention go; the purge's anchor is signed beside the checkpoints."""
    svc = services(app)
    some_entries(svc)
    run("audit", "checkpoint")
    later = svc.clock.now() + timedelta(days=svc.policy.retention.audit + 1)
    monkeypatch.setenv("CALLCENTER_NOW", later.isoformat())
    run("purge")
    with svc.db.session() as session:
        assert session.get(AuditAnchor, 1) is not None
    lines = [json.loads(line) for line in svc.checkpoint_path.read_text().splitlines()]
    assert [line["kind"] for line in lines if "kind" in line] == ["anchor"]
    assert "audit chain ok" in run("audit", "verify")


def test_a_purge_without_the_signing_key_leaves_the_audit_alone(app):
    """Only a signed anchor verifies, so a purge that cannot sign deletes no audit entry."""
    from callcenter.retention.purge import purge

    svc = services(app)
    some_entries(svc)
    later = svc.clock.now() + timedelta(days=svc.policy.retention.audit + 1)
    with svc.db.session() as session:
        before = session.scalars(select(AuditEntry.seq)).all()
        assert purge(session, svc.policy, later).audit == 0
    with svc.db.session() as session:
        assert before and set(before) <= set(session.scalars(select(AuditEntry.seq)).all())
        assert session.get(AuditAnchor, 1) is None
