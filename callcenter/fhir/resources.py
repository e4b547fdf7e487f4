"""FHIR R4 resources as plain dicts: Schedule, Slot, Appointment, Bundle, OperationOutcome.

Plain dicts, not a model library: the server only writes a few resources, and
the tests validate every one of them against the R4 models of
``fhir.resources`` instead.  Times are instants in the practice's time zone
(``2026-12-01T09:00:00+01:00``), as FHIR requires (seconds and an offset).

FR Core (the French national profiles) defines Schedule and Slot profiles,
which the resources claim in ``meta.profile``; it has none for Appointment,
which is plain R4.  Patients appear as ``Patient/<pseudonymous id>``; their
name only as the reference's ``display``, and only for a client whose scope
allows identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.appointments.models import Appointment
from callcenter.config.practice import Practice

FR_CORE = "https://hl7.fr/ig/fhir/core/StructureDefinition/"
SCHEDULE_PROFILE = FR_CORE + "fr-core-schedule"
SLOT_PROFILE = FR_CORE + "fr-core-slot"
FHIR_JSON = "application/fhir+json"
# Our statuses as FHIR's: a move cancels the old appointment (its replacement is booked).
STATUS = {"booked": "booked", "cancelled": "cancelled", "moved": "cancelled"}

Resource = dict[str, Any]


def instant(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def slot_id(doctor_id: str, start: datetime) -> str:
    """``<doctor>.<UTC yyyymmddHHMM>``: stable, readable, and a valid FHIR id."""
    return f"{doctor_id}.{start.astimezone(ZoneInfo('UTC')).strftime('%Y%m%d%H%M')}"


def practitioner(practice: Practice, doctor_id: str) -> Resource:
    doctor = next((d for d in practice.doctors if d.id == doctor_id), None)
    reference: Resource = {"reference": f"Practitioner/{doctor_id}"}
    if doctor is not None:
        reference["display"] = doctor.called
    return reference


def schedule(
    practice: Practice, doctor_id: str, kinds: Sequence[str], horizon: tuple[datetime, datetime]
) -> Resource:
    """A doctor's consultation schedule at the practice: one Schedule per doctor."""
    return {
        "resourceType": "Schedule",
        "id": doctor_id,
        "meta": {"profile": [SCHEDULE_PROFILE]},
        "active": True,
        "serviceType": [{"text": kind} for kind in kinds],
        "actor": [practitioner(practice, doctor_id)],
        "planningHorizon": {
            "start": instant(horizon[0], practice.tz),
            "end": instant(horizon[1], practice.tz),
        },
        "comment": f"{practice.name}: créneaux réservables en ligne",
    }


def slot(practice: Practice, doctor_id: str, start: datetime, minutes: int, busy: bool) -> Resource:
    """One cell of the doctor's grid, free or held by an appointment."""
    return {
        "resourceType": "Slot",
        "id": slot_id(doctor_id, start),
        "meta": {"profile": [SLOT_PROFILE]},
        "schedule": {"reference": f"Schedule/{doctor_id}"},
        "status": "busy" if busy else "free",
        "start": instant(start, practice.tz),
        "end": instant(start + timedelta(minutes=minutes), practice.tz),
    }


def appointment(practice: Practice, row: Appointment, patient_name: str | None = None) -> Resource:
    """An appointment; the patient by opaque reference, named only with ``patient_name``."""
    participants: list[Resource] = [
        {"actor": practitioner(practice, row.doctor_id), "required": "required",
         "status": "accepted"},
    ]  # fmt: skip
    if row.patient_id is not None:
        patient: Resource = {"reference": f"Patient/{row.patient_id}"}
        if patient_name:
            patient["display"] = patient_name
        participants.append({"actor": patient, "required": "required", "status": "accepted"})
    resource: Resource = {
        "resourceType": "Appointment",
        "id": row.id,
        "status": STATUS.get(row.status, "cancelled"),
        "serviceType": [{"text": row.kind}],
        "start": instant(row.starts_at, practice.tz),
        "end": instant(row.ends_at, practice.tz),
        "minutesDuration": int((row.ends_at - row.starts_at).total_seconds() // 60),
        "created": instant(row.created_at, practice.tz),
        "participant": participants,
    }
    if row.status == "moved":
        resource["cancelationReason"] = {"text": "moved"}
    return resource


def bundle(base: str, self_url: str, resources: Sequence[Resource]) -> Resource:
    """A searchset Bundle of the matches."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
             "search": {"mode": "match"}}
            for r in resources
        ],
    }  # fmt: skip


def outcome(code: str, diagnostics: str, severity: str = "error") -> Resource:
    """An OperationOutcome: what a FHIR client reads when a request fails."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def capability(base: str, now: datetime) -> Resource:
    """What the door serves, for clients that read ``/metadata`` first."""
    search_date = {"type": "date"}
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now.replace(microsecond=0).isoformat(),
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "implementation": {"description": "callcenter: agendas des médecins", "url": base},
        "rest": [{
            "mode": "server",
            "security": {"description": "Authorization: Bearer <jeton du logiciel>"},
            "resource": [
                {"type": "Schedule", "profile": SCHEDULE_PROFILE,
                 "interaction": [{"code": "read"}, {"code": "search-type"}]},
                {"type": "Slot", "profile": SLOT_PROFILE,
                 "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "searchParam": [{"name": "schedule", "type": "reference"},
                                 {"name": "start", **search_date},
                                 {"name": "status", "type": "token"}]},
                {"type": "Appointment",
                 "interaction": [{"code": "read"}, {"code": "search-type"}, {"code": "create"},
                                 {"code": "update"}, {"code": "patch"}],
                 "searchParam": [{"name": "date", **search_date},
                                 {"name": "status", "type": "token"},
                                 {"name": "actor", "type": "reference"},
                                 {"name": "patient", "type": "reference"}]},
            ],
        }],
    }  # fmt: skip
