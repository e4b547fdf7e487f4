"""Listings people can read and pipe: a header row then tab-separated rows, or JSON.

Every listing command takes ``--json``: a list of objects whose keys are the
header's names, values as stored (numbers in E.164, dates in ISO 8601), for
scripts; the table is for people (numbers by pairs, dates written out).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list of objects instead of a table."
)


class Listing:
    """Columns, then rows: each row's shown (table) values and its data (JSON) values."""

    def __init__(self, *columns: str) -> None:
        self.columns = columns
        self.shown: list[Sequence[object]] = []
        self.data: list[dict[str, object]] = []

    def add(self, shown: Sequence[object], data: Sequence[object] | None = None) -> None:
        """A row; ``data`` (default: the shown values) is what ``--json`` prints."""
        if len(shown) != len(self.columns) or (data is not None and len(data) != len(shown)):
            raise ValueError("a row must have one value per column")
        self.shown.append(shown)
        self.data.append(dict(zip(self.columns, data if data is not None else shown, strict=True)))

    def __len__(self) -> int:
        return len(self.shown)

    def echo(self, as_json: bool) -> None:
        if as_json:
            click.echo(json.dumps(self.data, ensure_ascii=False, indent=2, default=str))
            return
        click.echo("\t".join(self.columns))
        for row in self.shown:
            click.echo("\t".join("" if v is None else str(v) for v in row))
