"""``callcenter keys status`` counts what every command encrypted, even one that failed."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from callcenter.cli.common import fail, open_root
from callcenter.cli.main import main
from callcenter.security.key_usage import stored_counts
from tests.cli.conftest import run
from tests.conftest import services

ENCRYPTED = re.compile(r"key [0-9a-f]{8}: in the ring, (\d+) values encrypted so far")


def encrypted_so_far() -> int:
    return sum(int(n) for n in ENCRYPTED.findall(run("keys", "status")))


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
