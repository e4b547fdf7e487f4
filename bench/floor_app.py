"""The floor of this design: what any webhook of ours must do at the least, and no more.

One HMAC (the signature, over the public URL and the sorted form), one read of
the call's row by an indexed key, one write and its commit (the same engine
settings as the server: SQLite in WAL with ``synchronous=NORMAL``, PostgreSQL
without a ping per request), one AES-GCM encryption of the answer (it is
stored for Twilio's retries), and TwiML written as a string.  No flows, no
ORM, no logging.  ``bench/bench_webhooks.py`` runs it beside the real server
and the bare app: the distance between the floor and the bare app is what the
design costs on this machine, whatever the code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, Response, abort, request
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, insert, select, update

from callcenter.config.settings import load_settings
from callcenter.storage.db import make_engine

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/step?seq=1" '
    'input="dtmf speech" language="fr-FR" numDigits="1"><Say language="fr-FR" '
    'voice="Polly.Lea-Neural">Pour prendre rendez-vous, tapez 1.</Say></Gather></Response>'
)
METADATA = MetaData()
FLOOR = Table(
    "bench_floor_calls",
    METADATA,
    Column("call_sid", String(34), primary_key=True),
    Column("answer", LargeBinary),
)


def wsgi() -> Flask:
    settings = load_settings()
    engine = make_engine(settings.database_url)
    METADATA.create_all(engine)
    key = AESGCM(hashlib.sha256(b"bench-floor").digest())
    token = settings.twilio_auth_token.encode()
    base = settings.public_base_url or ""  # what the bench signs (PUBLIC_BASE_URL)
    app = Flask("floor")

    @app.post("/twilio/<path:_rest>")
    def answer(_rest: str) -> Response:
        form = request.form
        query = request.query_string.decode()
        url = f"{base}{request.path}" + (f"?{query}" if query else "")
        signed = url + "".join(f"{k}{v}" for k, v in sorted(form.items(multi=True)))
        digest = base64.b64encode(hmac.new(token, signed.encode(), hashlib.sha1).digest())
        if not hmac.compare_digest(digest.decode(), request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        sid = form.get("CallSid", "")
        stored = key.encrypt(os.urandom(12), TWIML.encode(), sid.encode())
        with engine.begin() as conn:
            found = conn.execute(select(FLOOR.c.answer).where(FLOOR.c.call_sid == sid)).first()
            if found is None:
                conn.execute(insert(FLOOR).values(call_sid=sid, answer=stored))
            else:
                conn.execute(update(FLOOR).where(FLOOR.c.call_sid == sid).values(answer=stored))
        return Response(TWIML, mimetype="text/xml")

    return app
