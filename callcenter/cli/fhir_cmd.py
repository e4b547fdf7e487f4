"""``callcenter fhir client add|list|revoke``: the practice software allowed through the FHIR door.

``add`` prints the token once (only its hash is kept); every change is audited.
"""

from __future__ import annotations

import click

from callcenter.cli.appointments_cmd import _practice
from callcenter.cli.common import audited, fail, open_root
from callcenter.cli.listing import Listing, json_option
from callcenter.fhir.clients import PSEUDONYMOUS, SCOPES, add_client, list_clients, revoke_client


@click.group("fhir")
def fhir_group() -> None:
    """The FHIR door for practice software: its clients and their tokens."""


@fhir_group.group("client")
def client() -> None:
    """Practice software clients: one token each, bound to one practice."""


@client.command("add")
@click.argument("name")
@click.option("--practice", "practice_id", help="The practice (default: the only one).")
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default=PSEUDONYMOUS,
    show_default=True,
    help="identity: patients' names too; pseudonymous: opaque references only.",
)
def client_add(name: str, practice_id: str | None, scope: str) -> None:
    """Create a client and print its bearer token (shown once)."""
    with open_root() as root:
        practice = _practice(root, practice_id)
        with root.db.session() as session:
            try:
                found, token = add_client(session, name, practice.id, scope, root.clock.now())
            except ValueError as exc:
                fail(str(exc))
            audited(root, session, "fhir.client_added", practice=practice.id, client=found.id,
                    identity=scope != PSEUDONYMOUS)  # fmt: skip
        click.echo(token)
        click.echo("Keep this token secret: it reads the practice's agendas over FHIR.", err=True)
        root.checkpoint()


@client.command("list")
@click.option("--practice", "practice_id", help="Only this practice's clients.")
@json_option
def client_list(practice_id: str | None, as_json: bool) -> None:
    """Every client: id, name, practice, scope, created, revoked."""
    listing = Listing("id", "name", "practice", "scope", "created", "revoked")
    with open_root() as root:
        with root.db.session() as session:
            rows = list_clients(session, practice_id)
            for row in rows:
                revoked = row.revoked_at.date().isoformat() if row.revoked_at else "live"
                listing.add([row.id, row.name, row.practice_id, row.scope,
                             row.created_at.date().isoformat(), revoked])  # fmt: skip
        listing.echo(as_json)
        click.echo(f"{len(rows)} client{'' if len(rows) == 1 else 's'}", err=True)


@client.command("revoke")
@click.argument("name_or_id")
def client_revoke(name_or_id: str) -> None:
    """Revoke a client (by name or id): its token stops working at once."""
    with open_root() as root:
        with root.db.session() as session:
            count = revoke_client(session, name_or_id, root.clock.now())
            audited(root, session, "fhir.client_revoked", count=count)
        click.echo(f"revoked {count} client(s)")
        root.checkpoint()
        if not count:
            fail(f"no live client named {name_or_id!r}")
