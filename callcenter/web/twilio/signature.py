"""Twilio request signatures (``X-Twilio-Signature``), checked on every webhook.

The URL Twilio signed is the public one: ``PUBLIC_BASE_URL`` when it is set,
else the scheme, host and port the request arrived with, plus the path and the
*raw* query string.  Behind ``TRUSTED_PROXIES`` reverse proxies, werkzeug's
``ProxyFix`` (wired in :func:`callcenter.web.app.create_app`) has already put the
client's ``X-Forwarded-Proto/Host/Port`` in place; with none trusted those
headers are never read, so a forged ``X-Forwarded-Host`` cannot make a
signature made for another URL pass.  Without ``PUBLIC_BASE_URL`` the host
must be one of ``ALLOWED_HOSTS`` (or a loopback name): otherwise a request
Twilio signed for another application of the same account, replayed here with
that application's Host header, would pass.  ``X-Forwarded-Prefix`` is never
believed: webhooks are served at the root.  ``request.url`` is not used: Werkzeug
re-encodes it and valid signatures would fail (docs/operations/twilio.md, The signature).

The check is twilio's ``RequestValidator.validate`` with one HMAC instead of two:
the validator computes the signature over the URL without its port and again
with the scheme's default port, then accepts either.  Here the same two forms
are tried, the URL as built first (the one Twilio was given: ``PUBLIC_BASE_URL``
and the path), the other only when it fails: the same signatures pass, and a
genuine webhook costs one HMAC.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from functools import wraps
from hashlib import sha1
from typing import Any
from urllib.parse import urlparse

from flask import abort, current_app, request
from twilio.request_validator import add_port, remove_port
from werkzeug.datastructures import MultiDict

from callcenter.core.logs import get_logger

log = get_logger("callcenter.twilio")


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def host_allowed(host: str) -> bool:
    """The request's host (port aside) is ours: a loopback name or one of ALLOWED_HOSTS."""
    name = host.lower().rsplit(":", 1)[0] if not host.endswith("]") else host.lower()
    return name in LOOPBACK_HOSTS or name in current_app.config.get("ALLOWED_HOSTS", ())


def public_url() -> str | None:
    """The URL Twilio signed; None when the request names a host that is not ours."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        if not host_allowed(request.host):
            log.warning("webhook_host_not_allowed", hint="set PUBLIC_BASE_URL or ALLOWED_HOSTS")
            return None
        base = request.host_url.rstrip("/")
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def signed_text(params: MultiDict[str, str]) -> str:
    """What Twilio appends to the URL before signing: each name then its values, sorted."""
    return "".join(
        name + value for name in sorted(params) for value in sorted(set(params.getlist(name)))
    )


def _forms(url: str) -> tuple[str, ...]:
    """The validator's two forms of ``url``, the one Twilio was given (``url`` itself) first."""
    parsed = urlparse(url)
    try:
        has_port = parsed.port is not None
    except ValueError:  # "host:abc": no URL Twilio would sign
        return ()
    if has_port:
        return add_port(parsed), remove_port(parsed)
    return remove_port(parsed), add_port(parsed)


def signature_matches(token: str, url: str, params: MultiDict[str, str], signature: str) -> bool:
    """``RequestValidator(token).validate(url, params, signature)``, one HMAC when it matches."""
    key = token.encode()
    given = signature.encode()
    text = signed_text(params)
    for candidate in _forms(url):
        digest = hmac.new(key, (candidate + text).encode(), sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest), given):
            return True
    return False


def is_valid_signature(auth_token: str) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or len(signature) > 200:
        return False
    url = public_url()
    if url is None:
        return False
    params = request.form if request.method == "POST" else MultiDict()
    return signature_matches(auth_token, url, params, signature)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse with 403 any request Twilio did not sign for this exact URL.

    During a rotation of the auth token, the previous token signs too.
    """

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        tokens = [current_app.config["TWILIO_AUTH_TOKEN"]]
        if current_app.config.get("TWILIO_PREVIOUS_TOKEN"):
            tokens.append(current_app.config["TWILIO_PREVIOUS_TOKEN"])
        if not any(is_valid_signature(token) for token in tokens):
            abort(403)
        return view(*args, **kwargs)

    return checked
