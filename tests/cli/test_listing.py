"""Listings (a header row, or JSON) and progress (on a terminal only)."""

from __future__ import annotations

import io
import json

import click
import pytest
from click.testing import CliRunner

from callcenter.cli.listing import Listing
from callcenter.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def echoed(listing: Listing, as_json: bool) -> str:
    runner = CliRunner()

    @click.command()
    def show() -> None:
        listing.echo(as_json)

    return runner.invoke(show).output


def test_a_listing_has_a_header_row_and_the_json_keeps_the_stored_values():
    listing = Listing("id", "number")
    listing.add(["demo", "01 84 88 00 00"], ["demo", "+33184880000"])
    assert echoed(listing, False) == "id\tnumber\ndemo\t01 84 88 00 00\n"
    assert json.loads(echoed(listing, True)) == [{"id": "demo", "number": "+33184880000"}]


def test_an_empty_listing_still_has_its_header_and_json_an_empty_list():
    assert echoed(Listing("id"), False) == "id\n"
    assert json.loads(echoed(Listing("id"), True)) == []


def test_a_row_must_fill_every_column():
    with pytest.raises(ValueError, match="one value per column"):
        Listing("a", "b").add(["only one"])


def test_progress_shows_on_a_terminal_and_is_wiped_at_the_end():
    terminal = Terminal()
    with Progress("re-encrypted", stream=terminal) as progress:
        progress.advance(500, "messages")
        progress.step("asking Twilio")
    shown = terminal.getvalue()
    assert "re-encrypted: 500 (messages)" in shown and "asking Twilio" in shown
    assert shown.endswith("\r\033[K")  # the line is cleared for the result


def test_progress_says_nothing_when_piped():
    piped = io.StringIO()
    with Progress("purge", stream=piped) as progress:
        progress.advance(3)
        progress.step("twilio")
    assert piped.getvalue() == ""
