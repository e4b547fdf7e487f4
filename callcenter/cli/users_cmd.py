"""``callcenter users``: the console's accounts, managed by the administrator.

Passwords are generated and printed once; the person enrols their second
factor (TOTP) at first login.  Every change is audited.
"""

from __future__ import annotations

import click

from callcenter.accounts import accounts
from callcenter.accounts.models import ROLES
from callcenter.cli.common import fail, open_root
from callcenter.cli.listing import Listing, json_option


@click.group("users")
def users() -> None:
    """Console accounts: add, disable, reset, list."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--practice", "practice_ids", multiple=True, help="A practice served (repeatable).")
@click.option("--doctor", "doctor_id", help="For a doctor: their id in the practice file.")
def users_add(
    username: str, role: str, practice_ids: tuple[str, ...], doctor_id: str | None
) -> None:
    """Add an account and print its first password (shown once)."""
    if doctor_id and role != "doctor":
        fail(f"--doctor: only for a doctor account, not a {role}")
    with open_root() as root:
        known = {p.id: p for p in root.practices}
        for practice_id in practice_ids:
            if practice_id not in known:
                fail(f"--practice: no practice {practice_id!r} (callcenter practices list)")
            if doctor_id and doctor_id not in {d.id for d in known[practice_id].doctors}:
                fail(f"--doctor: {doctor_id!r} is not a doctor of {practice_id}")
        try:
            with root.db.session() as session:
                _, password = accounts.create_user(
                    session, username, role, practice_ids, now=root.clock.now(),
                    doctor_id=doctor_id, actor="cli:admin",
                )  # fmt: skip
        except accounts.AccountError as exc:
            fail(str(exc))
        root.checkpoint()
    click.echo(f"account {username} ({role}) added; first password, shown once: {password}")
    click.echo("At first login they scan a QR code to set up their second factor.")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Refuse further logins and end the account's sessions now."""
    with open_root() as root:
        try:
            with root.db.session() as session:
                accounts.disable_user(session, username, now=root.clock.now(), actor="cli:admin")
        except accounts.AccountError as exc:
            fail(str(exc))
        root.checkpoint()
    click.echo(f"account {username} disabled; its sessions are ended")


@users.command("reset")
@click.argument("username")
def users_reset(username: str) -> None:
    """A new password and a new second factor to enrol (lost phone, forgotten password)."""
    with open_root() as root:
        try:
            with root.db.session() as session:
                password = accounts.reset_user(
                    session, username, now=root.clock.now(), actor="cli:admin"
                )
        except accounts.AccountError as exc:
            fail(str(exc))
        root.checkpoint()
    click.echo(f"account {username} reset; new password, shown once: {password}")
    click.echo("Their second factor must be enrolled again at next login.")


@users.command("list")
@json_option
def users_list(as_json: bool) -> None:
    """Each account: name, role, practices, second factor, state, and a doctor's id."""
    listing = Listing("username", "role", "practices", "second_factor", "state", "doctor")
    with open_root() as root, root.db.session() as session:
        for user in accounts.list_users(session):
            state = "disabled" if user.disabled_at else "active"
            factor = "totp" if user.totp_enrolled else "totp-not-enrolled"
            practices = ",".join(user.practices) or "*"
            listing.add(
                [user.username, user.role, practices, factor, state, user.doctor_id or "-"],
                [user.username, user.role, list(user.practices) or "*", factor, state,
                 user.doctor_id],
            )  # fmt: skip
    listing.echo(as_json)
