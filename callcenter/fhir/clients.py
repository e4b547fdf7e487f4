"""Creating, listing, revoking and recognising FHIR clients by their bearer token.

The token is shown once at creation; only its SHA-256 is stored, as for the
calendar feeds, so a database dump opens no door.  Functions take the
caller's session and never commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from callcenter.fhir.models import FhirClient

PSEUDONYMOUS = "pseudonymous"
IDENTITY = "identity"
SCOPES = (PSEUDONYMOUS, IDENTITY)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")
NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # an id-like name: it goes into the audit trail


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_client(
    session: Session, name: str, practice_id: str, scope: str, now: datetime
) -> tuple[FhirClient, str]:
    """A new client and its token (to print once)."""
    if not NAME.fullmatch(name):
        raise ValueError("a client name is letters, digits, '.', '_' or '-' (at most 64)")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    token = "fhir_" + secrets.token_urlsafe(32)
    client = FhirClient(name=name, practice_id=practice_id, scope=scope,
                        token_hash=_hash(token), created_at=now)  # fmt: skip
    session.add(client)
    session.flush()
    return client, token


def list_clients(session: Session, practice_id: str | None = None) -> Sequence[FhirClient]:
    query = select(FhirClient).order_by(FhirClient.created_at, FhirClient.name)
    if practice_id is not None:
        query = query.where(FhirClient.practice_id == practice_id)
    return session.scalars(query).all()


def revoke_client(session: Session, name_or_id: str, now: datetime) -> int:
    """Revoke the live client(s) of that name or id; how many."""
    result = session.execute(
        update(FhirClient)
        .where((FhirClient.name == name_or_id) | (FhirClient.id == name_or_id),
               FhirClient.revoked_at.is_(None))
        .values(revoked_at=now)
    )  # fmt: skip
    return int(result.rowcount)  # type: ignore[attr-defined]


def find_client(session: Session, token: str) -> FhirClient | None:
    """The live client a bearer token names, or None (malformed, unknown or revoked)."""
    if not _TOKEN.fullmatch(token):
        return None
    return session.scalars(
        select(FhirClient).where(
            FhirClient.token_hash == _hash(token), FhirClient.revoked_at.is_(None)
        )
    ).first()
