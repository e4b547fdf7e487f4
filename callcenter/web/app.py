"""The Flask application factory: it wires, it decides nothing."""

from __future__ import annotations

from flask import Flask
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from callcenter.config.file_modes import loose_secret_files
from callcenter.config.settings import Settings, load_settings
from callcenter.core import logs
from callcenter.security.pins import pins_to_reset
from callcenter.services import Services, build_services, start_up

MAX_BODY = 128 * 1024  # Twilio's webhooks are a few kB; anything larger is refused with 413


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or (services.settings if services else load_settings())
    logs.configure(settings.log_format)
    app = Flask(__name__)
    if settings.trusted_proxies:
        # X-Forwarded-* are believed from this many proxies only; with none,
        # a client could name any URL and have a signature for it checked.
        # X-Forwarded-Prefix never: webhooks live at the root, and a prefix a
        # client slipped through would land in redirects (Location: //evil…).
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0
        )
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        MAX_FORM_MEMORY_SIZE=MAX_BODY,
        PUBLIC_BASE_URL=settings.public_base_url,
        ALLOWED_HOSTS=frozenset(settings.allowed_hosts),
        TWILIO_AUTH_TOKEN=settings.twilio_auth_token,
        TWILIO_PREVIOUS_TOKEN=settings.twilio_previous_token,
    )
    services = services or build_services(settings)
    app.extensions["callcenter"] = services
    try:
        warnings = start_up(services)
    except Exception:
        services.db.dispose()
        raise
    for warning in warnings:
        logs.get_logger().warning(warning)
    for path, mode in loose_secret_files(settings, services.practices):
        # Secrets readable by other accounts on the machine: say so at every start.
        logs.get_logger().warning("secret_file_readable_by_others", file=str(path), mode=oct(mode))
    for practice_id, secretary, reason in pins_to_reset(services.practices, services.keyring):
        # Still accepted (nobody is locked out by an upgrade), but weak: say so at every start.
        logs.get_logger().warning(
            "secretary_pin_must_be_reset", practice=practice_id, secretary=secretary,
            reason=reason, hint="callcenter secretaries pin",
        )  # fmt: skip
    if settings.public_base_url is None and not settings.trusted_proxies:
        # Behind a TLS proxy every signature would then fail (403): say so at once.
        logs.get_logger().warning(
            "public_base_url_unset", hint="set PUBLIC_BASE_URL or TRUSTED_PROXIES behind a proxy"
        )
    if settings.public_base_url is None and not settings.allowed_hosts:
        # Only loopback names sign then (the demo): a public host is refused with 403.
        logs.get_logger().warning(
            "webhooks_signed_for_loopback_only", hint="set PUBLIC_BASE_URL or ALLOWED_HOSTS"
        )
    if settings.now is not None:
        logs.get_logger().warning("clock_frozen", now=settings.now.isoformat())

    from callcenter.web import calendar, console, fhir, health
    from callcenter.web.twilio import queue, recordings, sms, voice

    app.register_blueprint(health.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(recordings.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(calendar.bp)  # doctors' appointment feeds
    app.register_blueprint(fhir.bp)  # practice software: schedules, slots, appointments
    try:
        app.register_blueprint(console.bp)  # the practice console; checks its wording
    except Exception:
        services.db.dispose()
        raise

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        # Plain short text: no HTML page, no echo of the request.
        return (
            f"{exc.code} {exc.name}: {exc.description}\n",
            exc.code or 500,
            {"Content-Type": "text/plain; charset=utf-8"},
        )

    return app


def wsgi() -> Flask:
    """Entry point for gunicorn: ``gunicorn 'callcenter.web.app:wsgi()'``."""
    return create_app()
