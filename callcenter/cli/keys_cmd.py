"""``callcenter keys``: the key ring's status, rotation, re-encryption and retirement."""

from __future__ import annotations

import os

import click

from callcenter.cli.common import audited, fail, open_root
from callcenter.cli.listing import Listing, json_option
from callcenter.cli.progress import Progress
from callcenter.security.keyring import KeyRingError


@click.group()
def keys() -> None:
    """The key ring: status, rotation, re-encryption."""


@keys.command("status")
@json_option
def keys_status(as_json: bool) -> None:
    """Per key id: its state, the values it encrypted so far, and the stored values under it.

    ``encryptions`` counts encryptions made with the key (rotation is forced at
    the nonce limit); ``stored`` counts the values stored under it now, per table.
    A key that stored values name but the ring lacks is listed as unreadable.
    """
    from callcenter.security.rotation import rows_per_key

    listing = Listing("key", "state", "encryptions", "rotation_at", "stored", "stored_by_table")
    with open_root() as root, root.db.session() as session:
        stored: dict[int, dict[str, int]] = {}
        for table, counts in rows_per_key(session).items():
            for key_id, count in counts.items():
                if count:
                    stored.setdefault(key_id, {})[table] = count
        ring = list(root.keyring.key_ids())
        for key_id in [*ring, *sorted(k for k in stored if k not in root.keyring)]:
            if key_id not in root.keyring:
                state, used = "NOT IN THE RING: unreadable", None
            else:
                state = "active" if key_id == root.keyring.active_id else "in the ring"
                used = root.cipher.encryptions(key_id)
            tables = dict(sorted(stored.get(key_id, {}).items()))
            by_table = ",".join(f"{t}={n}" for t, n in tables.items()) or "-"
            limit = root.cipher.nonce_limit if used is not None else None
            total = sum(tables.values())
            listing.add(
                [f"{key_id:08x}", state, "-" if used is None else used, limit or "-", total,
                 by_table],
                [f"{key_id:08x}", state, used, limit, total, tables],
            )  # fmt: skip
    listing.echo(as_json)


@keys.command("rotate")
def keys_rotate() -> None:
    """Add a new active key; older keys stay for reading until re-encryption."""
    with open_root() as root:
        path = root.settings.home / "keyring.json"
        if os.environ.get("CALLCENTER_KEYRING") or os.environ.get("CALLCENTER_KEYRING_FILE"):
            fail("the key ring comes from the environment: rotate it where it is kept")
        new_id = root.keyring.rotate()
        root.keyring.save(path)
        with root.db.session() as session:
            audited(root, session, "keys.rotate", key_id=f"{new_id:08x}")
        root.checkpoint()
        click.echo(
            f"new active key {new_id:08x}; run 'callcenter keys reencrypt' next, "
            f"and back up {path} again"
        )


@keys.command("reencrypt")
@click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
def keys_reencrypt(batch: int) -> None:
    """Move every stored value to the active key, in short batches, while calls go on."""
    from callcenter.security.rotation import encrypted_models, reencrypt_batch

    with open_root() as root, Progress("re-encrypted") as progress:
        total = 0
        for model in encrypted_models():
            while True:
                with root.db.session() as session:
                    moved = reencrypt_batch(
                        session, root.cipher, model, root.blind_index_bits, batch
                    )
                total += moved
                progress.advance(moved, model.__tablename__)
                if moved < batch:
                    break
        with root.db.session() as session:
            audited(root, session, "keys.reencrypt", rows=total)
        root.checkpoint()
        click.echo(f"re-encrypted {total} rows under key {root.keyring.active_id:08x}")


@keys.command("retire")
@click.argument("key_id")
def keys_retire(key_id: str) -> None:
    """Remove an old key from the ring once no stored value uses it."""
    from callcenter.security.pins import pins_peppered_with
    from callcenter.security.rotation import rows_per_key

    with open_root() as root:
        try:
            number = int(key_id, 16)
        except ValueError:
            fail(f"{key_id!r} is not a key id (8 hex digits, see 'keys status')")
        with root.db.session() as session:
            in_use = sum(c[number] for c in rows_per_key(session).values())
            if in_use:
                fail(f"key {number:08x} still encrypts {in_use} values: run 'keys reencrypt'")
            peppered = pins_peppered_with(root.practices, number)
            if peppered:
                names = ", ".join(f"{p}/{s}" for p, s in peppered)
                fail(f"key {number:08x} peppers the PIN of {names}: re-set it with "
                     "'callcenter secretaries pin' first")  # fmt: skip
            try:
                root.keyring.retire(number)
            except KeyRingError as exc:
                fail(str(exc))
            root.keyring.save(root.settings.home / "keyring.json")
            audited(root, session, "keys.retire", key_id=f"{number:08x}")
        root.checkpoint()
        click.echo(f"retired key {number:08x}")
