"""The ceiling of the stack: Flask under gunicorn answering every webhook with static TwiML.

No signature check, no database, no flows: what the server would cost if it
did nothing.  ``bench/bench_webhooks.py`` runs it beside the real server.
"""

from __future__ import annotations

from flask import Flask, Response

TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/twilio/step?seq=1" '
    'input="dtmf speech" language="fr-FR" numDigits="1"><Say language="fr-FR" '
    'voice="Polly.Lea-Neural">Pour prendre rendez-vous, tapez 1.</Say></Gather></Response>'
)


def wsgi() -> Flask:
    app = Flask("bare")

    @app.post("/twilio/<path:_rest>")
    def answer(_rest: str) -> Response:
        return Response(TWIML, mimetype="text/xml")

    return app
