"""The data subject's rights by phone number: find, export (GDPR art. 15/20), erase (art. 17).

A caller is known to us only by their number, so every right starts there.
The number is never stored in clear, so finding a subject means computing
its blind index in each practice (under every key of the ring: during a
rotation rows may still carry an older key's index), fetching the candidate
rows, decrypting them, and keeping exact matches only.  The index is
deliberately truncated (docs/security/stored-data.md), so candidates include other
people's rows: those are dropped after decryption and never exported or
erased.

Rows found by number are then widened to what hangs off them: a matched
patient's calls, messages, requests and appointments, and the messages and
requests left during a matched call (their transcript is the subject's words even when the call-back
number is another).  Patients are never found through a call: a shared phone
must not erase a relative who has a number of their own.

Twilio keeps call logs and recordings of its own: erasure queues a
:class:`RemoteDeletion` for every CallSid and recording SID it removes here,
so the retention worker deletes them there too.  Unsent mail of the
practices searched (digests waiting for SMTP may name the subject) is dropped:
pending digests are built again at the next run from what is left.

A STOP the number sent (:class:`~callcenter.notify.models.SmsOptOut`) is
exported but survives an erasure: it is the subject's own choice, holds
nothing but the encrypted number, and erasing it would let the practice's
SMS start again.  START lifts it.

Every export and erasure is audited, one entry per practice searched (each
practice's data was read), with ids and counts only — never the number.
Nothing here commits: the caller's session does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.calls.models import Call, CallStep
from callcenter.core.phone_numbers import normalize
from callcenter.messages.models import Message
from callcenter.notify import outbox
from callcenter.notify.deletions import enqueue_deletion, sids_in
from callcenter.notify.models import SmsOptOut
from callcenter.patient_requests.models import PatientRequest
from callcenter.patients.models import Patient
from callcenter.security.crypto import FieldCipher
from callcenter.waitlist.models import WaitingEntry, WaitingOffer

EXPORT_ACTION = "patient.export"
ERASE_ACTION = "patient.erase"

ABOUT = {
    "fr": (
        "Données que le cabinet conserve en lien avec ce numéro de téléphone : votre "
        "identité (nom, numéro, date de naissance), vos appels (horaires, issue, urgence, "
        "nombre de réponses du serveur vocal conservées), les messages laissés "
        "(transcription, numéro de rappel), vos demandes (ordonnance, résultats, "
        "certificat : le détail donné et le numéro de rappel), vos rendez-vous, votre "
        "inscription sur la liste d'attente (médecin, jour, demi-journée, numéro prévenu) "
        "et votre éventuelle demande de ne plus recevoir de SMS (STOP). Les enregistrements audio "
        "éventuels sont détenus par Twilio et ne figurent pas ici. Les durées de "
        "conservation relèvent de la politique du cabinet et ne sont pas décrites ici."
    ),
    "en": (
        "Data the practice holds linked to this phone number: your identity (name, number, "
        "date of birth), your calls (times, outcome, urgency, number of stored voice-server "
        "answers), the messages you left (transcript, call-back number), your requests "
        "(prescription, results, certificate: the detail given and the call-back number), "
        "your appointments, your waiting-list entries (doctor, day, half-day, number texted) "
        "and any request to receive no more SMS (STOP). Any audio "
        "recordings are held by Twilio and are not included. "
        "Retention periods are set by the practice's policy and are not described here."
    ),
}

# Twilio SIDs the call engine may keep in Call.state: recordings, transcriptions, child legs.
_SID_KINDS = {"RE": "recording", "TR": "transcription", "CA": "call"}


@dataclass
class PracticeRows:
    """What one practice holds about the subject (ORM rows, still attached to the session)."""

    practice_id: str
    patients: list[Patient] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    requests: list[PatientRequest] = field(default_factory=list)
    waiting_list: list[WaitingEntry] = field(default_factory=list)
    sms_opt_outs: list[SmsOptOut] = field(default_factory=list)  # kept by an erasure

    def counts(self) -> dict[str, int]:
        return {table: len(getattr(self, table)) for table in _EXPORTED}


@dataclass
class Subject:
    """A data subject's rows, per practice searched (empty when nothing matched).

    Holds no copy of the number: it would only linger in memory and tracebacks.
    After :func:`erase_subject` the rows are gone; find the subject again to
    re-check.
    """

    practices: dict[str, PracticeRows]

    @property
    def found(self) -> bool:
        return any(any(rows.counts().values()) for rows in self.practices.values())


@dataclass(frozen=True)
class EraseReport:
    """Rows deleted per table (totals), and the same per practice."""

    patients: int = 0
    calls: int = 0
    call_steps: int = 0
    messages: int = 0
    appointments: int = 0
    requests: int = 0
    waiting_list: int = 0
    remote_deletions: int = 0
    mails: int = 0
    by_practice: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _ERASE_COUNTS}


_ERASE_COUNTS = (
    "patients", "calls", "call_steps", "messages", "appointments", "requests", "waiting_list",
    "remote_deletions", "mails",
)  # fmt: skip


# -- finding ------------------------------------------------------------------


def find_subject(
    session: Session, cipher: FieldCipher, phone: str, *, practice_ids: list[str], bits: int
) -> Subject:
    """Every row held about ``phone`` in ``practice_ids``, confirmed by decryption.

    ``cipher`` computes the blind indexes; rows decrypt through their encrypted
    attributes, i.e. the installed cipher (the same one in the app and CLI).
    Raises ``ValueError`` for a number that is not valid (never echoed), and
    lets a :class:`~callcenter.security.crypto.DecryptionError` through: a candidate we
    cannot read might be the subject's, and an erasure must not quietly skip it.
    """
    e164 = normalize(phone) if isinstance(phone, str) else None
    if e164 is None:
        raise ValueError("not a valid phone number")
    practices: dict[str, PracticeRows] = {}
    for practice_id in dict.fromkeys(practice_ids):
        indexes = cipher.phone_index_all(e164, practice=practice_id, bits=bits)
        practices[practice_id] = _find_in_practice(session, practice_id, e164, indexes)
    return Subject(practices)


def find_subject_everywhere(
    session: Session, cipher: FieldCipher, phone: str, bits_by_practice: Mapping[str, int]
) -> Subject:
    """:func:`find_subject` across practices, each with its own blind-index width."""
    practices: dict[str, PracticeRows] = {}
    for practice_id, bits in bits_by_practice.items():
        found = find_subject(session, cipher, phone, practice_ids=[practice_id], bits=bits)
        practices.update(found.practices)
    return Subject(practices)


def _find_in_practice(
    session: Session, practice_id: str, e164: str, indexes: list[int]
) -> PracticeRows:
    """Candidates by blind index, exact matches by decryption, then the rows linked to them."""

    def same(value: str | None) -> bool:
        return value is not None and normalize(value) == e164

    patients = [
        row
        for row in _all(session, Patient, practice_id, Patient.phone_index.in_(indexes))
        if same(row.phone)
    ]
    patient_ids = [row.id for row in patients]
    calls = [
        row
        for row in _all(
            session,
            Call,
            practice_id,
            or_(Call.caller_index.in_(indexes), Call.patient_id.in_(patient_ids)),
        )
        if row.patient_id in patient_ids or same(row.caller)
    ]
    call_ids = [row.id for row in calls]
    messages = [
        row
        for row in _all(
            session,
            Message,
            practice_id,
            or_(
                Message.callback_index.in_(indexes),
                Message.patient_id.in_(patient_ids),
                Message.call_id.in_(call_ids),
            ),
        )
        if row.patient_id in patient_ids or row.call_id in call_ids or same(row.callback_number)
    ]
    appointments = list(
        _all(session, Appointment, practice_id, Appointment.patient_id.in_(patient_ids))
    )
    opt_outs = [
        row
        for row in _all(session, SmsOptOut, practice_id, SmsOptOut.phone_index.in_(indexes))
        if same(row.phone)
    ]
    requests = [
        row
        for row in _all(
            session,
            PatientRequest,
            practice_id,
            or_(
                PatientRequest.callback_index.in_(indexes),
                PatientRequest.patient_id.in_(patient_ids),
                PatientRequest.call_id.in_(call_ids),
            ),
        )
        if row.patient_id in patient_ids or row.call_id in call_ids or same(row.callback_number)
    ]
    # The waiting list by its own number too: an entry may text another number than the file's.
    waiting = [
        row
        for row in _all(
            session, WaitingEntry, practice_id,
            or_(WaitingEntry.phone_index.in_(indexes), WaitingEntry.patient_id.in_(patient_ids)),
        )
        if row.patient_id in patient_ids or same(row.phone)
    ]  # fmt: skip
    return PracticeRows(
        practice_id, patients, calls, messages, appointments, requests=requests,
        waiting_list=waiting, sms_opt_outs=opt_outs,
    )  # fmt: skip


def _all(session: Session, model: Any, practice_id: str, criterion: Any) -> list[Any]:
    """Rows of ``model`` in one practice matching ``criterion``, oldest first (stable output)."""
    created = model.started_at if model is Call else model.created_at
    query = select(model).where(model.practice_id == practice_id, criterion)
    return list(session.scalars(query.order_by(created, model.id)))


# -- export -------------------------------------------------------------------


def export_subject(
    session: Session, subject: Subject, *, actor: str, now: datetime
) -> dict[str, Any]:
    """Everything held about the subject, decrypted and JSON-serialisable, by practice.

    Practices holding nothing are left out, so an export handed to the subject
    does not list the other practices a tele-secretariat serves.  Each practice
    searched gets one ``patient.export`` audit entry.
    """
    practices: dict[str, Any] = {}
    for practice_id, rows in subject.practices.items():
        if any(rows.counts().values()):
            practices[practice_id] = _export_practice(session, rows)
    for practice_id, rows in subject.practices.items():
        audit.append(
            session,
            actor=actor,
            action=EXPORT_ACTION,
            practice_id=practice_id,
            object_ref=_object_ref(rows),
            details=rows.counts(),
            now=now,
        )
    return {"generated_at": _iso(now), "about": dict(ABOUT), "practices": practices}


# What an export shows of each table: every column the subject's data lives in, decrypted.
_EXPORTED = {
    "patients": ("id", "name", "phone", "birth_date", "created_at", "last_seen_at"),
    "calls": (
        "id", "call_sid", "caller", "patient_id", "started_at", "ended_at", "duration",
        "status", "outcome", "urgent",
    ),
    "messages": (
        "id", "call_id", "patient_id", "doctor_id", "transcript", "callback_number",
        "callback_requested", "urgent", "status", "recording_sid", "recording_duration",
        "created_at",
    ),
    "appointments": (
        "id", "patient_id", "doctor_id", "starts_at", "ends_at", "kind", "status", "created_at",
    ),
    "requests": (
        "id", "call_id", "patient_id", "doctor_id", "kind", "detail", "callback_number",
        "status", "created_at", "handled_at",
    ),
    "waiting_list": (
        "id", "patient_id", "phone", "doctor_id", "before", "period", "source", "status",
        "created_at", "ended_at", "end_reason",
    ),
    "sms_opt_outs": ("phone", "created_at"),
}  # fmt: skip


def _export_practice(session: Session, rows: PracticeRows) -> dict[str, Any]:
    steps = _step_counts(session, [call.id for call in rows.calls])
    out = {
        table: [
            {name: _plain(getattr(row, name)) for name in names} for row in getattr(rows, table)
        ]
        for table, names in _EXPORTED.items()
    }
    for call in out["calls"]:
        call["answers_stored"] = steps.get(call["id"], 0)
    return out


def _step_counts(session: Session, call_ids: list[str]) -> dict[str, int]:
    """Stored answers per call: counted, not exported (TwiML is ours, not the subject's)."""
    counts: dict[str, int] = {}
    for call_id in session.scalars(select(CallStep.call_id).where(CallStep.call_id.in_(call_ids))):
        counts[call_id] = counts.get(call_id, 0) + 1
    return counts


# -- erasure ------------------------------------------------------------------


def erase_subject(session: Session, subject: Subject, *, actor: str, now: datetime) -> EraseReport:
    """Delete every row of the subject here and queue the deletion of their traces at Twilio.

    Rows are deleted by id with bulk statements (no version check: a call
    still in progress is erased too).  Linked rows are re-selected at this
    point, so a message or appointment added since :func:`find_subject` also
    goes.  Each practice searched gets one ``patient.erase`` audit entry.
    """
    by_practice: dict[str, dict[str, int]] = {}
    for practice_id, rows in subject.practices.items():
        object_ref = _object_ref(rows)
        counts = _erase_practice(session, rows, now)
        by_practice[practice_id] = counts
        audit.append(
            session,
            actor=actor,
            action=ERASE_ACTION,
            practice_id=practice_id,
            object_ref=object_ref,
            details=counts,
            now=now,
        )
    totals = {name: sum(c[name] for c in by_practice.values()) for name in _ERASE_COUNTS}
    return EraseReport(**totals, by_practice=by_practice)


def _erase_practice(session: Session, rows: PracticeRows, now: datetime) -> dict[str, int]:
    practice_id = rows.practice_id
    patient_ids = [p.id for p in rows.patients]
    calls = session.execute(
        select(Call.id, Call.call_sid, Call.state).where(
            Call.practice_id == practice_id,
            or_(Call.id.in_([c.id for c in rows.calls]), Call.patient_id.in_(patient_ids)),
        )
    ).all()
    call_ids = [c.id for c in calls]
    messages = session.execute(
        select(Message.id, Message.recording_sid).where(
            Message.practice_id == practice_id,
            or_(
                Message.id.in_([m.id for m in rows.messages]),
                Message.patient_id.in_(patient_ids),
                Message.call_id.in_(call_ids),
            ),
        )
    ).all()
    appointment_ids = session.scalars(
        select(Appointment.id).where(
            Appointment.practice_id == practice_id,
            or_(
                Appointment.id.in_([a.id for a in rows.appointments]),
                Appointment.patient_id.in_(patient_ids),
            ),
        )
    ).all()

    request_ids = session.scalars(
        select(PatientRequest.id).where(
            PatientRequest.practice_id == practice_id,
            or_(
                PatientRequest.id.in_([r.id for r in rows.requests]),
                PatientRequest.patient_id.in_(patient_ids),
                PatientRequest.call_id.in_(call_ids),
            ),
        )
    ).all()

    remote: dict[tuple[str, str], None] = {}
    for message in messages:
        if message.recording_sid:
            remote[("recording", message.recording_sid)] = None
    for call in calls:
        remote[("call", call.call_sid)] = None
        for sid in sids_in(call.state):
            remote[(_SID_KINDS[sid[:2]], sid)] = None

    counts = {
        # Steps first, explicitly: counted, and gone even where ON DELETE CASCADE is not enforced.
        "call_steps": _delete(session, CallStep, CallStep.call_id.in_(call_ids)),
        "messages": _delete(session, Message, Message.id.in_([m.id for m in messages])),
        # The entries (their offers with them) before the appointments they may point to.
        "waiting_list": _erase_waiting(session, practice_id, rows, patient_ids),
        "appointments": _delete(session, Appointment, Appointment.id.in_(appointment_ids)),
        # Their "handled" SMS rows go with them (ON DELETE CASCADE): they hold no number.
        "requests": _delete(session, PatientRequest, PatientRequest.id.in_(request_ids)),
        "calls": _delete(session, Call, Call.id.in_(call_ids)),
        "patients": _delete(session, Patient, Patient.id.in_(patient_ids)),
        "remote_deletions": _enqueue(session, practice_id, remote, now),
        # Unsent digests and urgent mails may name the subject: dropped, rebuilt without them.
        "mails": outbox.drop_unsent(session, practice_id),
    }
    return {name: counts[name] for name in _ERASE_COUNTS}


def _erase_waiting(
    session: Session, practice_id: str, rows: PracticeRows, patient_ids: list[str]
) -> int:
    """The subject's waiting-list entries and their offers (explicitly: SQLite may not cascade)."""
    entry_ids = session.scalars(
        select(WaitingEntry.id).where(
            WaitingEntry.practice_id == practice_id,
            or_(WaitingEntry.id.in_([e.id for e in rows.waiting_list]),
                WaitingEntry.patient_id.in_(patient_ids)),
        )
    ).all()  # fmt: skip
    _delete(session, WaitingOffer, WaitingOffer.entry_id.in_(entry_ids))
    return _delete(session, WaitingEntry, WaitingEntry.id.in_(entry_ids))


def _delete(session: Session, model: Any, criterion: Any) -> int:
    result = session.execute(delete(model).where(criterion))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _enqueue(
    session: Session, practice_id: str, wanted: dict[tuple[str, str], None], now: datetime
) -> int:
    """Queue a Twilio deletion per (kind, SID), due now since the subject asked.

    A deletion already queued for later is brought forward; returns how many
    queue rows changed.
    """
    return sum(enqueue_deletion(session, practice_id, kind, sid, now) for kind, sid in wanted)


# -- helpers ------------------------------------------------------------------


def _object_ref(rows: PracticeRows) -> str:
    """A pseudonymous reference for the audit: the first patient's id, else "subject"."""
    return rows.patients[0].id if rows.patients else "subject"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _plain(value: Any) -> Any:
    """A JSON value: datetimes as ISO 8601 in UTC, dates as ISO 8601, the rest as is."""
    if isinstance(value, datetime):
        return _iso(value)
    return value.isoformat() if isinstance(value, date) else value
