"""The administrator's call statistics and flows diagram: numbers that
match the calls placed, charts a strict CSP lets through, nothing decrypted."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from callcenter.audit.models import AuditEntry
from tests.conftest import CALLER, services


@pytest.fixture
def admin(app, make_user, console):
    console.login(*make_user("root", "admin", []))
    return console


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", page, re.DOTALL)


def test_statistics_count_the_calls_placed_and_draw_three_charts(
    app, twilio, practice_number, admin
):
    twilio.place_call(CALLER, practice_number).press("3").answer(press="1")  # answered
    twilio.place_call("+33698765432", practice_number).hangup()  # abandoned
    page = admin.get("/console/admin/stats?practice=demo&days=7")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<strong id="stats-total">2</strong>' in body
    charts = svgs(body)
    assert len(charts) == 3
    for chart in charts:
        ET.fromstring(chart)  # well-formed
        assert "style=" not in chart and "<script" not in chart  # passes the console's CSP
    outcome_chart = charts[2]
    assert "Pris par une secrétaire" in outcome_chart and "Raccrochés" in outcome_chart


def test_statistics_and_diagram_write_no_audit_entry(app, admin):
    with services(app).db.session() as session:
        before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    admin.get("/console/admin/stats")
    admin.get("/console/admin/flows")
    with services(app).db.session() as session:
        after = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
    assert after == before  # no personal data read


def test_the_flows_page_draws_every_node_of_the_practice_flows(app, admin):
    body = admin.get("/console/admin/flows").get_data(as_text=True)
    (svg,) = svgs(body)
    assert "style=" not in svg and "<script" not in svg
    ET.fromstring(svg)
    runtime = services(app).engine.runtimes["demo"]
    for flow in runtime.flows.flows.values():
        for node_id in flow.nodes:
            assert node_id[:20] in svg


def test_an_unknown_practice_falls_back_to_one_the_admin_sees(admin):
    body = admin.get("/console/admin/stats?practice=../../etc&days=999").get_data(as_text=True)
    assert 'value="demo" selected' in body and 'value="7" selected' in body


def test_only_administrators_see_the_statistics(secretary):
    assert secretary.get("/console/admin/stats").status_code == 403
