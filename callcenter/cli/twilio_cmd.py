"""``callcenter twilio configure``: a practice's Twilio number pointed at this server.

It needs the settings and the practice files only, not the database: it runs
before the first call, and from a machine that only holds the configuration.
"""

from __future__ import annotations

import sys

import click

from callcenter.cli.common import fail


@click.group("twilio")
def twilio_group() -> None:
    """Twilio's side of the set-up, through its REST API."""


@twilio_group.command("configure")
@click.option("--practice", "practice_id", required=True, help="The practice's id.")
@click.option("--check", is_flag=True, help="Only compare; exit 1 when Twilio's differ.")
def configure(practice_id: str, check: bool) -> None:
    """Set the number's Voice URL, fallback URL, status callback and SMS URL (all POST).

    The URLs are PUBLIC_BASE_URL followed by this server's paths.  Prints each
    field that changed (or, with --check, that differs) as ``field: old -> new``.
    """
    from callcenter.config.practice import PracticeDirectory, PracticeError
    from callcenter.config.settings import SettingsError, load_settings
    from callcenter.core import twilio_numbers as numbers
    from callcenter.core.twilio_rest import close_client, make_client
    from callcenter.core.twilio_stand_in import LOG_FILE

    try:
        settings = load_settings()
        practice = PracticeDirectory.load(settings.practices_dir).by_id(practice_id)
    except (SettingsError, PracticeError) as exc:
        fail(str(exc))
    if practice is None:
        fail(f"no practice {practice_id!r} (callcenter practices list)")
    if not settings.public_base_url:
        fail("PUBLIC_BASE_URL: not set; the number's webhooks need this server's public URL")
    stand_in = settings.home / LOG_FILE if settings.twilio_stand_in else None
    client = make_client(settings.twilio_account_sid, settings.twilio_auth_token,
                         api_base=settings.twilio_api_base, stand_in=stand_in)  # fmt: skip
    try:
        number = numbers.find_number(client, practice.number)
        changes = [c for c in numbers.compare(number, settings.public_base_url) if c.differs]
        for change in changes:
            click.echo(f"{change.field}: {change.current or '(none)'} -> {change.wanted}")
        if check:
            if changes:
                click.echo(f"{practice.number}: {len(changes)} setting(s) differ", err=True)
                sys.exit(1)
            click.echo(f"{practice.number}: configured for {settings.public_base_url}")
            return
        if not changes:
            click.echo(f"{practice.number}: already configured, nothing changed")
            return
        numbers.apply(client, number, changes)
        click.echo(f"{practice.number}: {len(changes)} setting(s) changed")
    except numbers.NumberNotFound as exc:
        fail(str(exc))
    except Exception as exc:  # the update refused (TwilioRestException): one line
        fail(f"Twilio refused the update ({type(exc).__name__}: {getattr(exc, 'msg', exc)})")
    finally:
        close_client(client)
