"""``callcenter keys status`` counts what every command encrypted, even one that failed."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from callcenter.cli.common import fail, open_root
from callcenter.cli.main import main
from callcenter.security.key_usage import stored_counts
from tests.conftest import services


def stdout_of(*args: str) -> str:
    """What the command prints on stdout (the warnings go to stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def encrypted_so_far() -> int:
    """The encryptions made so far with the keys in the ring (``keys status --json``)."""
    keys = json.loads(stdout_of("keys", "status", "--json"))
    return sum(k["encryptions"] for k in keys if k["state"] != "NOT IN THE RING: unreadable")


def test_keys_status_has_a_header_and_counts_stored_values_per_key(app, cli_env):
    header, *rows = stdout_of("keys", "status").splitlines()
    assert header == "key\tstate\tencryptions\trotation_at\tstored\tstored_by_table"
    (key, state, encryptions, _, stored, by_table) = rows[0].split("\t")
    assert re.fullmatch("[0-9a-f]{8}", key) and state == "active" and encryptions.isdigit()
    assert stored.isdigit() and (by_table == "-") == (stored == "0")


def test_a_call_placed_in_process_is_counted_by_keys_status(app, cli_env, monkeypatch):
    """The in-process server's webhooks encrypt a few values each, under the flush threshold."""
    assert encrypted_so_far() == 0
    monkeypatch.setattr("sys.argv", ["callcenter", "call"])
    result = CliRunner().invoke(main, ["call", "--from", "+33612345678", "--in-process",
                                       "--press", "3", "--no-answer"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert encrypted_so_far() > 0


def test_a_command_that_fails_after_encrypting_still_counts_it(app, cli_env):
    """The nonces were used whether or not the command went on to succeed."""
    with pytest.raises(SystemExit), open_root() as root:
        root.cipher.encrypt("x", practice="demo", table="t", column="c", row="r")
        fail("something later went wrong")
    with services(app).db.session() as session:
        assert sum(stored_counts(session).values()) == 1
