"""``/fhir/``: Schedule, Slot and Appointment for a practice software, by bearer token.

Every request, refused ones included, is one audit entry (actor
``fhir:<client id>``, or ``fhir:anonymous`` without a valid token) written in
the request's own transaction, so a read that is served is a read that is
recorded.  Errors are OperationOutcome resources, as FHIR clients expect;
without a valid token the answer is 401 whatever the path, so it tells
nothing about which resources exist.

Cancelling: a PUT of the Appointment with ``status: cancelled`` (what most
FHIR clients send), or a JSON Patch replacing ``/status``.  DELETE is refused
(405): an appointment is cancelled, never erased, so the practice keeps its
history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from callcenter.audit import trail as audit
from callcenter.config.practice import Practice
from callcenter.fhir import reads, resources, writes
from callcenter.fhir.clients import IDENTITY, find_client
from callcenter.fhir.models import FhirClient
from callcenter.fhir.params import SearchError, Window, date_window
from callcenter.services import Services

bp = Blueprint("fhir", __name__, url_prefix="/fhir")

Resource = resources.Resource
# What a handler gives back: HTTP status, body, audit object and audit details.
Answer = tuple[int, Resource, str | None, dict[str, Any]]
Handler = Callable[[Session, Practice, FhirClient, datetime], Answer]


def _json(status: int, body: Resource, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    mimetype=resources.FHIR_JSON,
                    headers={"Cache-Control": "no-store", **(headers or {})})  # fmt: skip


def _base() -> str:
    return request.url_root.rstrip("/") + "/fhir"


def _token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip()[:200] if scheme.lower() == "bearer" else ""


def _serve(action: str, handler: Handler) -> Response:
    """Authenticate, run ``handler`` in one transaction, audit the call either way."""
    svc: Services = current_app.extensions["callcenter"]
    now = svc.clock.now()
    with svc.unit_of_work() as work:
        session = work.session
        client = find_client(session, _token())
        practice = svc.practices.by_id(client.practice_id) if client else None
        if client is None or practice is None:
            audit.append(session, actor="fhir:anonymous", action="fhir.denied",
                         details={"status": 401}, now=now)  # fmt: skip
            return _json(401, resources.outcome("login", "a valid bearer token is required"),
                         {"WWW-Authenticate": 'Bearer realm="fhir"'})  # fmt: skip
        try:
            status, body, ref, details = handler(session, practice, client, now)
        except (SearchError, writes.Refused) as exc:
            code = exc.code if isinstance(exc, writes.Refused) else "invalid"
            status = exc.status if isinstance(exc, writes.Refused) else 400
            body, ref, details = resources.outcome(code, str(exc)), None, {}
        audit.append(session, actor=f"fhir:{client.id}", action=action,
                     practice_id=practice.id, object_ref=ref,
                     details={**details, "status": status}, now=now)  # fmt: skip
    headers = {}
    if status == 201:
        headers["Location"] = f"{_base()}/Appointment/{body['id']}"
    return _json(status, body, headers)


def _not_found(kind: str) -> Answer:
    return 404, resources.outcome("not-found", f"no such {kind}"), None, {"resource": kind}


def _listed(values: list[str]) -> set[str]:
    return {v.strip() for value in values for v in value.split(",") if v.strip()}


def _ref(value: str | None, kind: str) -> str | None:
    return value.removeprefix(f"{kind}/") if value else None


def _search(kind: str, found: list[Resource], extra: dict[str, Any] | None = None) -> Answer:
    body = resources.bundle(_base(), request.url, found)
    return 200, body, kind, {"resource": kind, "count": len(found), **(extra or {})}


# -- metadata and schedules ------------------------------------------------------------------
@bp.get("/metadata")
def metadata() -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        return 200, resources.capability(_base(), now), "CapabilityStatement", {}

    return _serve("fhir.metadata", handler)


@bp.get("/Schedule")
def schedule_search() -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        found = reads.schedules(practice, now)
        actor = _ref(request.args.get("actor"), "Practitioner")
        if actor is not None:
            found = [s for s in found if s["id"] == actor]
        return _search("Schedule", found)

    return _serve("fhir.search", handler)


@bp.get("/Schedule/<schedule_id>")
def schedule_read(schedule_id: str) -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        found = [s for s in reads.schedules(practice, now) if s["id"] == schedule_id]
        if not found:
            return _not_found("Schedule")
        return 200, found[0], found[0]["id"], {"resource": "Schedule"}

    return _serve("fhir.read", handler)


# -- slots -----------------------------------------------------------------------------------
@bp.get("/Slot")
def slot_search() -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        window = date_window(request.args.getlist("start"), practice.tz, "start")
        statuses = _listed(request.args.getlist("status")) or {"free", "busy"}
        if statuses - {"free", "busy"}:
            raise SearchError("status: free or busy (busy-unavailable and others are not used)")
        wanted = _listed(request.args.getlist("schedule"))
        doctors = reads.doctors(practice)
        if wanted:
            ids = {_ref(w, "Schedule") for w in wanted}
            doctors = [d for d in doctors if d.doctor_id in ids]
        found = [
            s for d in doctors for s in reads.slots(session, practice, d, window, statuses, now)
        ]
        return _search("Slot", found)

    return _serve("fhir.search", handler)


@bp.get("/Slot/<slot_id>")
def slot_read(slot_id: str) -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        found = reads.slot(session, practice, slot_id[:80], now)
        if found is None:
            return _not_found("Slot")
        return 200, found, found["id"], {"resource": "Slot"}

    return _serve("fhir.read", handler)


# -- appointments ----------------------------------------------------------------------------
def _appointments(session: Session, practice: Practice, client: FhirClient,
                  rows: list[Any]) -> tuple[list[Resource], int]:  # fmt: skip
    """The rows as resources; names only for a client whose scope allows identity."""
    names = reads.patient_names(session, rows) if client.scope == IDENTITY else {}
    return reads.as_resources(practice, rows, names), len(names)


@bp.get("/Appointment")
def appointment_search() -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        window = date_window(request.args.getlist("date"), practice.tz, "date")
        statuses = _listed(request.args.getlist("status")) or None
        actor = request.args.get("actor") or request.args.get("practitioner")
        rows = reads.appointments(
            session,
            practice,
            window if window != Window() else Window(after=now),
            statuses,
            _ref(_ref(actor, "Practitioner"), "Schedule"),
            _ref(request.args.get("patient"), "Patient"),
        )
        found, names = _appointments(session, practice, client, list(rows))
        return _search("Appointment", found, {"names": names})

    return _serve("fhir.search", handler)


@bp.get("/Appointment/<appointment_id>")
def appointment_read(appointment_id: str) -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        row = reads.find_appointment(session, practice, appointment_id[:64])
        if row is None:
            return _not_found("Appointment")
        [found], names = _appointments(session, practice, client, [row])
        return 200, found, row.id, {"resource": "Appointment", "names": names}

    return _serve("fhir.read", handler)


@bp.post("/Appointment")
def appointment_create() -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        row = writes.create(session, practice, request.get_json(force=True, silent=True), now)
        [found], names = _appointments(session, practice, client, [row])
        return 201, found, row.id, {"resource": "Appointment", "names": names}

    return _serve("fhir.create", handler)


@bp.route("/Appointment/<appointment_id>", methods=["PUT", "PATCH"])
def appointment_update(appointment_id: str) -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        row = reads.find_appointment(session, practice, appointment_id[:64])
        if row is None:
            return _not_found("Appointment")
        status = writes.wanted_status(request.get_json(force=True, silent=True), row)
        current = resources.STATUS.get(row.status, "cancelled")
        if status == "cancelled" and row.status == "booked":
            writes.cancel(session, row, now)
        elif status != current:
            raise writes.Refused(422, "business-rule", "only status: cancelled can change")
        [found], names = _appointments(session, practice, client, [row])
        return 200, found, row.id, {"resource": "Appointment", "names": names}

    return _serve("fhir.cancel", handler)


@bp.delete("/Appointment/<appointment_id>")
def appointment_delete(appointment_id: str) -> Response:
    def handler(session: Session, practice: Practice, client: FhirClient, now: datetime) -> Answer:
        message = "cancel with PUT or PATCH status 'cancelled': appointments are never deleted"
        return 405, resources.outcome("not-supported", message), None, {"resource": "Appointment"}

    return _serve("fhir.delete", handler)
