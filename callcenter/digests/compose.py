"""Doctors' digests: what happened on the line, as signed and encrypted plain text.

Per doctor and period: their messages and requests (or those for no doctor
in particular), their appointments, the practice's urgent calls and how they
were routed, missed and abandoned calls, and totals; urgent items first.
Plain text only (no HTML, no remote content: EFAIL), words from the prompt
catalogue.  A digest is sealed with S/MIME (signed by the practice, then
encrypted to the doctor's certificate) when it is built, and handed to the
outbox; a doctor without a usable certificate gets nothing in clear, ever:
the administrator is told instead (log, audit, ``callcenter digest status``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime, make_msgid, parseaddr

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callcenter.appointments import booking
from callcenter.appointments.models import Appointment
from callcenter.audit import trail as audit
from callcenter.calls.models import Call
from callcenter.config.practice import Practice
from callcenter.config.prompts import Catalogue
from callcenter.config.staff import Doctor
from callcenter.core.french import counted, phone
from callcenter.core.logs import get_logger
from callcenter.messages.models import Message
from callcenter.notify import models as outbox_status
from callcenter.notify import outbox
from callcenter.notify.models import Notice
from callcenter.patient_requests import desk as requests_desk
from callcenter.patient_requests.models import PatientRequest
from callcenter.patients.models import Patient
from callcenter.security import smime
from callcenter.waitlist import stats as waitlist_stats

log = get_logger("callcenter.digests")

MISSED = ("hung-up", "abandoned", "no-message")
URGENT_LOOKBACK = timedelta(days=1)
# The totals' nouns, agreed with their counts ("1 appel", "0 message", "2 urgences").
_NOUNS = {
    "calls": ("appel", "appels"),
    "messages": ("message", "messages"),
    "requests": ("demande", "demandes"),
    "urgent": ("urgence", "urgences"),
    "callbacks": ("demande de rappel", "demandes de rappel"),
    "appointments": ("rendez-vous", "rendez-vous"),
    "missed": ("appel manqué", "appels manqués"),
    "sms_cancellations": ("annulation par SMS", "annulations par SMS"),
    "waitlist_offered": ("créneau libéré proposé", "créneaux libérés proposés"),
    "waitlist_refilled": ("repris", "repris"),
}
EXPIRY_WARNING_DAYS = 30  # urgent notices older than this get no e-mail any more


@dataclass
class Digest:
    """A digest's text and what it counts (the counts hold no personal data)."""

    text: str
    items: int
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def build(
    session: Session,
    practice: Practice,
    doctor: Doctor,
    catalogue: Catalogue,
    period: Period,
) -> Digest:
    """The digest of ``period`` (start excluded, end included) for ``doctor``."""
    tz = practice.tz
    t = _Texts(catalogue, tz, practice.kind_label)
    messages = list(session.scalars(
        select(Message).where(
            Message.practice_id == practice.id,
            Message.created_at > period.start, Message.created_at <= period.end,
            or_(Message.doctor_id == doctor.id, Message.doctor_id.is_(None)),
        ).order_by(Message.created_at)
    ))  # fmt: skip
    calls = list(session.scalars(
        select(Call).where(
            Call.practice_id == practice.id,
            Call.started_at > period.start, Call.started_at <= period.end,
        ).order_by(Call.started_at)
    ))  # fmt: skip
    requests = requests_desk.for_digest(session, practice.id, doctor.id, period.start, period.end)
    changes = booking.changes_since(session, practice.id, doctor.id, period.start, period.end)
    appointments = [(change, a) for change, rows in changes.items() for a in rows]
    names = _patient_names(session, [m.patient_id for m in messages] +
                           [r.patient_id for r in requests] +
                           [a.patient_id for _, a in appointments])  # fmt: skip

    # Each section in time order: urgent calls and urgent messages interleaved.
    urgent: list[tuple[datetime, list[str]]] = [(c.started_at, [t.urgent_call(c)]) for c in calls
                                                if c.urgent]  # fmt: skip
    message_lines: list[str] = []
    for message in messages:  # already in time order
        lines = t.message(message, names.get(message.patient_id or ""))
        if message.urgent:
            urgent.append((message.created_at, lines))
        else:
            message_lines.extend(lines)
    urgent_lines = [line for _, lines in sorted(urgent, key=lambda u: u[0]) for line in lines]
    missed = [c for c in calls if c.outcome in MISSED and not c.urgent]
    appointments.sort(key=lambda ca: (ca[1].starts_at, ca[1].id))
    appointment_lines = [
        t.appointment(change, a, names.get(a.patient_id or "")) for change, a in appointments
    ]
    counts = {
        "calls": len(calls),
        "messages": len(messages),
        "requests": len(requests),
        "urgent": sum(1 for c in calls if c.urgent) + sum(1 for m in messages if m.urgent),
        "callbacks": sum(1 for m in messages if m.callback_requested),
        "appointments": len(appointments),
        "missed": len(missed),
        # Among the appointments: those the patient cancelled by replying to a reminder.
        "sms_cancellations": sum(1 for change, a in appointments
                                 if change == "cancelled" and a.cancelled_via == booking.VIA_SMS),
    }  # fmt: skip
    # Slots freed and offered to the waiting list, and those it re-filled (counts only).
    waiting = waitlist_stats.counts(session, practice.id, period.start, period.end, doctor.id)
    counts.update(waitlist_offered=waiting.offered, waitlist_refilled=waiting.refilled)
    variables = {
        "practice_name": practice.name,
        "doctor": doctor.called,
        "start": t.moment(period.start),
        "end": t.moment(period.end),
        **{key: counted(n, *_NOUNS[key]) for key, n in counts.items()},
    }
    out = [_capitalised(t.text("digest_title", variables)), t.text("digest_period", variables), ""]
    sections: list[tuple[str, list[str]]] = [
        ("digest_urgent", urgent_lines),
        ("digest_messages", message_lines),
        (
            "digest_requests",
            [line for r in requests for line in t.request(r, names.get(r.patient_id or ""))],
        ),
        ("digest_appointments", appointment_lines),
        ("digest_missed", [t.missed_call(c) for c in missed]),
    ]
    items = 0
    for key, lines in sections:
        if lines:
            out += [t.text(key).upper(), *lines, ""]
            items += sum(1 for line in lines if line.startswith("- "))
    if not items:
        # "No call" only when the totals below say none too; else nothing to report.
        quiet = "digest_nothing" if not calls else "digest_nothing_to_report"
        if t.catalogue.has(quiet):
            out += [t.text(quiet), ""]
    out.append(t.text("digest_totals", variables))
    if counts["sms_cancellations"]:
        out.append(t.text("digest_sms_cancellations", variables))
    if waiting.offered and t.catalogue.has("digest_waiting_list"):
        out.append(t.text("digest_waiting_list", variables))
    out += ["", t.text("digest_footer", variables)]
    return Digest(text="\n".join(out) + "\n", items=items, counts=counts)


def build_urgent(
    session: Session, practice: Practice, catalogue: Catalogue, notice: Notice
) -> Digest:
    """The e-mail that follows an urgent SMS notice: the call and any message it left."""
    t = _Texts(catalogue, practice.tz, practice.kind_label)
    call = session.get(Call, notice.call_id) if notice.call_id else None
    lines = [t.urgent_call(call)] if call else []
    if call is not None:
        messages = list(session.scalars(select(Message).where(Message.call_id == call.id)))
        names = _patient_names(session, [m.patient_id for m in messages])
        for message in messages:
            lines += t.message(message, names.get(message.patient_id or ""))
    variables = {"practice_name": practice.name, "reference": notice.reference}
    text = [_capitalised(t.text("digest_urgent_title", variables)), "", *lines, "",
            t.text("digest_footer", variables)]  # fmt: skip
    return Digest(text="\n".join(text) + "\n", items=len(lines))


# -- sealing and queueing ------------------------------------------------------
def certificate_problem(practice: Practice, doctor: Doctor, now: datetime) -> str | None:
    """Why no digest can be sealed for this doctor now (None: it can)."""
    if not doctor.email:
        return "no e-mail address"
    if doctor.certificate is None:
        return "no certificate"
    if practice.signing_certificate is None or practice.signing_key is None:
        return "the practice has no signing certificate"
    try:
        certificate = smime.load_certificate(doctor.certificate)
        # The doctor's own certificate only: one naming another address is refused.
        problem = smime.certificate_problem(certificate, now, address=doctor.email)
        smime.load_signer(practice.signing_certificate, practice.signing_key)
    except smime.SmimeError as exc:
        return str(exc)
    return problem


def seal(practice: Practice, doctor: Doctor, sender: str, subject: str, text: str,
         now: datetime) -> str:  # fmt: skip
    """The complete S/MIME e-mail, ready for SMTP; headers carry no personal data."""
    assert doctor.email and doctor.certificate and practice.signing_certificate
    assert practice.signing_key
    signer = smime.load_signer(practice.signing_certificate, practice.signing_key)
    recipient = smime.load_certificate(doctor.certificate)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    headers = {
        "From": sender,
        "To": doctor.email,
        "Subject": subject,
        "Date": format_datetime(now),
        "Message-ID": make_msgid(domain=domain),
    }
    sealed = smime.seal(text, signer=signer, recipient=recipient, headers=headers)
    return sealed.decode("ascii")


def queue(
    session: Session,
    practice: Practice,
    doctor: Doctor,
    *,
    kind: str,
    ref: str,
    subject: str,
    digest: Digest | None,
    sender: str,
    now: datetime,
    period: Period | None = None,
    skip: bool = False,
) -> str:
    """Seal and queue one e-mail once; returns its status (or ``exists``)."""
    if outbox.exists(session, practice.id, doctor.id, kind, ref):
        return "exists"
    mail = outbox.OutboxMail(
        practice_id=practice.id, doctor_id=doctor.id, kind=kind, ref=ref,
        period_start=period.start if period else None, period_end=period.end if period else None,
        items=digest.items if digest else 0, attempts=0, due_at=now, created_at=now,
    )  # fmt: skip
    problem = certificate_problem(practice, doctor, now)
    if problem is not None:
        mail.status, mail.last_error = outbox_status.REFUSED, problem[:120]
    elif skip or digest is None:
        mail.status = outbox_status.SKIPPED
    else:
        mail.body = seal(practice, doctor, sender, subject, digest.text, now)
        mail.status = outbox_status.PENDING
    if not outbox.add(session, mail):
        return "exists"
    if (
        problem is None
        and doctor.certificate
        and smime.expires_within(
            smime.load_certificate(doctor.certificate), now, EXPIRY_WARNING_DAYS
        )
    ):
        log.warning("certificate_expiring", practice=practice.id, doctor=doctor.id)
    if problem is not None:
        # Never a clear-text fallback: the administrator is told, once per mail.
        log.warning("digest_refused", practice=practice.id, doctor=doctor.id, reason=problem)
        audit.append(session, actor="system:digest", action="digest.refused",
                     practice_id=practice.id, object_ref=doctor.id, now=now)  # fmt: skip
    return mail.status


def due_digests(
    session: Session,
    practices: Iterable[Practice],
    catalogues: dict[str, Catalogue],
    sender: str,
    now: datetime,
    *,
    only_doctor: str | None = None,
    force: bool = False,
) -> dict[str, int]:
    """Build every digest whose scheduled moment has come (``force``: one up to now)."""
    done: dict[str, int] = {}
    for practice in practices:
        for doctor in practice.doctors:
            if only_doctor and doctor.id != only_doctor:
                continue
            if not doctor.email:
                continue
            schedule = doctor.digest
            slot = now if force else schedule.latest(now, practice.tz)
            if slot is None:
                continue
            start = _last_end(session, practice.id, doctor.id) or schedule.before(slot, practice.tz)
            if start >= slot:
                continue
            period = Period(start, slot)
            catalogue = catalogues[practice.id]
            digest = build(session, practice, doctor, catalogue, period)
            subject = catalogue.text("digest_subject", {"date": slot.astimezone(practice.tz)
                                                        .strftime("%d/%m %H:%M")})  # fmt: skip
            status = queue(session, practice, doctor, kind="digest", ref=_ref(slot),
                           subject=subject, digest=digest, sender=sender, now=now, period=period,
                           skip=not digest.items and schedule.when_empty == "skip")  # fmt: skip
            done[status] = done.get(status, 0) + 1
    return done


def urgent_mails(
    session: Session,
    practices: dict[str, Practice],
    catalogues: dict[str, Catalogue],
    sender: str,
    now: datetime,
) -> int:
    """An encrypted e-mail after each urgent SMS notice, to the same doctor."""
    notices = session.scalars(select(Notice).where(Notice.due_at > now - URGENT_LOOKBACK))
    queued = 0
    for notice in notices:
        practice = practices.get(notice.practice_id)
        doctor = _doctor(practice, notice.doctor_id)
        if practice is None or doctor is None or not doctor.email:
            continue
        if outbox.exists(session, practice.id, doctor.id, "urgent", notice.id):
            continue
        catalogue = catalogues[practice.id]
        digest = build_urgent(session, practice, catalogue, notice)
        subject = catalogue.text("digest_urgent_subject", {"reference": notice.reference})
        status = queue(session, practice, doctor, kind="urgent", ref=notice.id, subject=subject,
                       digest=digest, sender=sender, now=now)  # fmt: skip
        queued += status == outbox_status.PENDING
    return queued


def _doctor(practice: Practice | None, doctor_id: str) -> Doctor | None:
    if practice is None:
        return None
    return next((d for d in practice.doctors if d.id == doctor_id), None)


def _ref(slot: datetime) -> str:
    return slot.astimezone().isoformat(timespec="minutes")


def _last_end(session: Session, practice_id: str, doctor_id: str) -> datetime | None:
    """Where the next digest starts: the end of the last one built (refused ones do not
    count, so once a certificate is fixed the doctor gets everything since)."""
    return session.scalars(
        select(outbox.OutboxMail.period_end)
        .where(
            outbox.OutboxMail.practice_id == practice_id,
            outbox.OutboxMail.doctor_id == doctor_id,
            outbox.OutboxMail.kind == "digest",
            outbox.OutboxMail.period_end.is_not(None),
            outbox.OutboxMail.status != outbox_status.REFUSED,
        )
        .order_by(outbox.OutboxMail.period_end.desc())
        .limit(1)
    ).first()


def _capitalised(line: str) -> str:
    """A header starts with a capital, whatever the practice's name starts with."""
    return line[:1].upper() + line[1:]


def _patient_names(session: Session, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    patients = session.scalars(select(Patient).where(Patient.id.in_(wanted)))
    return {p.id: p.name for p in patients if p.name}


class _Texts:
    """The catalogue's digest words, with times in the practice's time zone."""

    def __init__(self, catalogue: Catalogue, tz: object, kind_label: Callable[[str], str]) -> None:
        self.catalogue, self.tz, self.kind_label = catalogue, tz, kind_label

    def text(self, key: str, variables: Mapping[str, object] | None = None) -> str:
        return self.catalogue.text(key, variables or {})

    def moment(self, at: datetime) -> str:
        return at.astimezone(self.tz).strftime("%d/%m %H:%M")  # type: ignore[arg-type]

    def message(self, message: Message, name: str | None) -> list[str]:
        flags = []
        if message.urgent:
            flags.append(self.text("digest_flag_urgent"))
        if message.callback_requested:
            flags.append(self.text("digest_flag_callback"))
        kind = f"digest_kind_{message.kind}" if message.kind else None
        if kind and self.catalogue.has(kind):  # "Renouvellement d'ordonnance"
            flags.insert(0, self.text(kind))
        head = self.text("digest_message_line", {
            "time": self.moment(message.created_at),
            "caller": name or self.text("digest_unidentified"),
            "number": phone(message.callback_number) or self.text("digest_no_number"),
            "flags": f" [{', '.join(flags)}]" if flags else "",
        })  # fmt: skip
        transcript = message.transcript
        if transcript:
            body = f"  « {transcript} »"
        elif message.callback_requested:
            body = ""
        else:
            key = f"digest_status_{message.status.replace('-', '_')}"
            body = "  " + self.text(key if self.catalogue.has(key) else "digest_status_other")
        return [f"- {head}", body] if body else [f"- {head}"]

    def request(self, request: PatientRequest, name: str | None) -> list[str]:
        """A request: its kind, who and the number, then the detail they gave."""
        kind = f"digest_kind_{request.kind}"
        head = self.text("digest_request_line", {
            "time": self.moment(request.created_at),
            "kind": self.text(kind) if self.catalogue.has(kind) else request.kind,
            "caller": name or self.text("digest_unidentified"),
            "number": phone(request.callback_number) or self.text("digest_no_number"),
        })  # fmt: skip
        return [f"- {head}", f"  « {request.detail} »"] if request.detail else [f"- {head}"]

    def urgent_call(self, call: Call) -> str:
        outcome = (call.outcome or "in-progress").replace("-", "_")
        key = f"digest_outcome_{outcome}"
        routed = self.text(key if self.catalogue.has(key) else "digest_outcome_other")
        return "- " + self.text("digest_urgent_call_line", {
            "time": self.moment(call.started_at), "routed": routed,
            "number": phone(call.caller) or self.text("digest_no_number"),
        })  # fmt: skip

    def missed_call(self, call: Call) -> str:
        return "- " + self.text("digest_missed_line", {
            "time": self.moment(call.started_at),
            "number": phone(call.caller) or self.text("digest_no_number"),
        })  # fmt: skip

    def appointment(self, change: str, appointment: Appointment, name: str | None) -> str:
        by_sms = change == "cancelled" and appointment.cancelled_via == booking.VIA_SMS
        key = f"digest_appointment_{change}" + ("_sms" if by_sms else "")
        return "- " + self.text(key if self.catalogue.has(key) else "digest_appointment_other", {
            "when": self.moment(appointment.starts_at),
            "patient": name or self.text("digest_unidentified"),
            "kind": self.kind_label(appointment.kind),
        })  # fmt: skip
