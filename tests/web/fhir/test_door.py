"""The FHIR door through the Flask test client: every resource it returns validates
against the FHIR R4 models of ``fhir.resources`` (R4B: wire-identical to R4 for
Schedule, Slot, Appointment, Bundle and OperationOutcome), with a token only,
and every call lands in the audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from callcenter.appointments.models import Appointment, AppointmentSlot
from callcenter.audit.models import AuditEntry
from callcenter.fhir.clients import IDENTITY, PSEUDONYMOUS, add_client, revoke_client
from tests.appointments.test_booking import take
from tests.conftest import OPEN_HOURS, services
from tests.ivr.test_identify import NAME, seed

SLOTS = "/fhir/Slot?schedule=Schedule/dr-martin&start=ge2026-12-01&start=lt2026-12-02"


def token_for(app: Flask, scope: str = PSEUDONYMOUS, practice: str = "demo") -> str:
    with services(app).db.session() as session:
        _, token = add_client(session, "logiciel-cabinet", practice, scope, OPEN_HOURS)
    return token


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """Validate the resource (and each entry of a Bundle) as FHIR; give it back."""
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    for entry in body.get("entry", []):
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    return body


class Door:
    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client, self.token = client, token

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        answer = self.client.open(path, method=method, json=body, headers=headers)
        assert answer.status_code == status, answer.get_data(as_text=True)
        assert answer.mimetype == "application/fhir+json"
        return valid(answer.get_json())


@pytest.fixture
def door(app: Flask) -> Door:
    return Door(app.test_client(), token_for(app))


def actions(app: Flask) -> list[tuple[str, str]]:
    with services(app).db.session() as session:
        return [
            (e.actor, e.action)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def test_slots_of_a_day_are_a_valid_bundle_free_and_busy_and_audited(app, door) -> None:
    patient = seed(app, "1980-03-15")
    with services(app).db.session() as session:
        assert take(session, patient, datetime.fromisoformat("2026-12-01T09:20:00+01:00"))
    bundle = door.call("GET", SLOTS)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    slots = [e["resource"] for e in bundle["entry"]]
    assert len(slots) == 21  # Tuesday 9-12 and 14-18, 20-minute cells
    assert slots[0]["start"] == "2026-12-01T09:00:00+01:00" and slots[0]["status"] == "free"
    assert slots[1]["status"] == "busy" and slots[1]["id"] == "dr-martin.202612010820"
    assert slots[0]["meta"]["profile"] == [
        "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-slot"
    ]
    busy = door.call("GET", SLOTS + "&status=busy")
    assert [e["resource"]["start"] for e in busy["entry"]] == ["2026-12-01T09:20:00+01:00"]
    assert door.call("GET", "/fhir/Slot/dr-martin.202612010820")["status"] == "busy"
    searches = [a for a in actions(app) if a[1] == "fhir.search"]
    assert len(searches) == 2 and searches[0][0].startswith("fhir:")


def test_without_a_token_every_path_is_401_with_an_operation_outcome_and_audited(app) -> None:
    for token in (None, "not-a-token-at-all-but-long-enough"):
        body = Door(app.test_client(), token).call("GET", SLOTS, status=401)
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["code"] == "login"
    answer = app.test_client().get("/fhir/Appointment/x")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert actions(app) == [("fhir:anonymous", "fhir.denied")] * 3


def test_a_revoked_token_is_refused(app) -> None:
    token = token_for(app)
    Door(app.test_client(), token).call("GET", "/fhir/Schedule")
    with services(app).db.session() as session:
        assert revoke_client(session, "logiciel-cabinet", OPEN_HOURS) == 1
    Door(app.test_client(), token).call("GET", "/fhir/Schedule", status=401)


def test_schedules_and_capabilities_validate(door) -> None:
    bundle = door.call("GET", "/fhir/Schedule")
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["dr-martin", "dr-bernard"]
    one = door.call("GET", "/fhir/Schedule/dr-martin")
    assert one["actor"][0]["reference"] == "Practitioner/dr-martin"
    door.call("GET", "/fhir/Schedule/dr-who", status=404)
    assert door.call("GET", "/fhir/metadata")["fhirVersion"] == "4.0.1"


def test_appointments_show_patients_as_opaque_references_unless_the_scope_allows(app) -> None:
    patient = seed(app, "1980-03-15")
    with services(app).db.session() as session:
        take(session, patient)
    opaque = Door(app.test_client(), token_for(app)).call(
        "GET", "/fhir/Appointment?date=2026-11-24"
    )
    [entry] = opaque["entry"]
    actor = entry["resource"]["participant"][1]["actor"]
    assert actor == {"reference": f"Patient/{patient}"}
    named = Door(app.test_client(), token_for(app, IDENTITY)).call(
        "GET", f"/fhir/Appointment/{entry['resource']['id']}"
    )
    assert named["participant"][1]["actor"]["display"] == NAME
    with services(app).db.session() as session:
        details = session.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "fhir.read")
        ).one()
    assert '"names":1' in details and NAME not in details


def test_a_booking_through_fhir_takes_the_slot_once_and_a_cancel_frees_it(app, door) -> None:
    patient = seed(app, "1980-03-15")
    new = {
        "resourceType": "Appointment", "status": "booked",
        "start": "2026-12-01T10:00:00+01:00", "serviceType": [{"text": "consultation"}],
        "participant": [
            {"actor": {"reference": "Practitioner/dr-martin"}, "status": "accepted"},
            {"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
        ],
    }  # fmt: skip
    made = door.call("POST", "/fhir/Appointment", new, status=201)
    assert made["status"] == "booked" and made["end"] == "2026-12-01T10:20:00+01:00"
    again = door.call("POST", "/fhir/Appointment", new, status=409)
    assert again["issue"][0]["code"] == "conflict"  # no double booking
    off_grid = {**new, "start": "2026-12-01T10:05:00+01:00"}
    door.call("POST", "/fhir/Appointment", off_grid, status=409)
    door.call("POST", "/fhir/Appointment", {**new, "participant": []}, status=422)
    door.call("DELETE", f"/fhir/Appointment/{made['id']}", status=405)
    cancelled = door.call("PUT", f"/fhir/Appointment/{made['id']}", {**made, "status": "cancelled"})
    assert cancelled["status"] == "cancelled"
    with services(app).db.session() as session:
        assert session.get(Appointment, made["id"]).status == "cancelled"
        assert session.scalars(select(AppointmentSlot)).all() == []
    # The slot is free again; a JSON Patch cancels the second booking.
    second = door.call("POST", "/fhir/Appointment", new, status=201)
    patch = [{"op": "replace", "path": "/status", "value": "cancelled"}]
    assert door.call("PATCH", f"/fhir/Appointment/{second['id']}", patch)["status"] == "cancelled"
    door.call(
        "PUT", f"/fhir/Appointment/{second['id']}", {**second, "status": "booked"}, status=422
    )
    again = door.call("PUT", f"/fhir/Appointment/{second['id']}", {**second, "status": "cancelled"})
    assert again["status"] == "cancelled"  # a repeated cancel changes nothing
    kinds = [a for _, a in actions(app)]
    assert kinds.count("fhir.create") == 5 and kinds.count("fhir.cancel") == 4
    assert "fhir.delete" in kinds


def test_a_bad_date_is_a_400_with_an_operation_outcome(door) -> None:
    body = door.call("GET", "/fhir/Slot?start=tomorrow", status=400)
    assert body["issue"][0]["code"] == "invalid"


def test_another_practices_client_sees_none_of_the_demo_appointments(app) -> None:
    patient = seed(app, "1980-03-15")
    with services(app).db.session() as session:
        appointment = take(session, patient)
    door = Door(app.test_client(), token_for(app, practice="elsewhere"))
    door.call("GET", f"/fhir/Appointment/{appointment}", status=401)  # no such practice here


def test_a_json_patch_sent_as_such_cancels_and_a_slot_search_spans_every_doctor(app, door) -> None:
    patient = seed(app, "1980-03-15")
    with services(app).db.session() as session:
        appointment = take(session, patient)
    answer = app.test_client().patch(
        f"/fhir/Appointment/{appointment}",
        data=json.dumps([{"op": "replace", "path": "/status", "value": "cancelled"}]),
        headers={"Authorization": f"Bearer {door.token}",
                 "Content-Type": "application/json-patch+json"},
    )  # fmt: skip
    assert answer.status_code == 200 and valid(answer.get_json())["status"] == "cancelled"
    bundle = door.call("GET", "/fhir/Slot?start=2026-12-01&status=free")
    schedules = {e["resource"]["schedule"]["reference"] for e in bundle["entry"]}
    assert schedules == {"Schedule/dr-martin", "Schedule/dr-bernard"}
