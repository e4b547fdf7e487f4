"""``callcenter keys``: the key ring's status, rotation, re-encryption and retirement."""

from __future__ import annotations

import os

import click

from callcenter.cli.common import audited, fail, open_root
from callcenter.security.keyring import KeyRingError


@click.group()
def keys() -> None:
    """The key ring: status, rotation, re-encryption."""


@keys.command("status")
def keys_status() -> None:
    """Rows per key id in each table, and which key is active."""
    from callcenter.security.rotation import rows_per_key

    with open_root() as root, root.db.session() as session:
        click.echo(f"active key: {root.keyring.active_id:08x}")
        for key_id in root.keyring.key_ids():
            used = root.cipher.encryptions(key_id)
            click.echo(
                f"key {key_id:08x}: in the ring, {used} values encrypted so far "
                f"(rotation forced at {root.cipher.nonce_limit})"
            )
        for table, counts in rows_per_key(session).items():
            for key_id, count in sorted(counts.items()):
                known = "" if key_id in root.keyring else "  (NOT IN THE RING: unreadable)"
                click.echo(f"{table}\t{key_id:08x}\t{count}{known}")


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

    with open_root() as root:
        total = 0
        for model in encrypted_models():
            while True:
                with root.db.session() as session:
                    moved = reencrypt_batch(
                        session, root.cipher, model, root.blind_index_bits, batch
                    )
                total += moved
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
