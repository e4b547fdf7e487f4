"""``callcenter understand``: what the line makes of a caller's sentence.

Loads only the settings and the practice files (no database), like
``practices list``, so a practice can check its catalogue on its own machine.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import click

from callcenter.config.practice import Practice, PracticeDirectory, PracticeError
from callcenter.config.settings import Settings, SettingsError, load_settings, parse_now


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _practice(settings: Settings, practice_id: str | None) -> Practice:
    try:
        directory = PracticeDirectory.load(settings.practices_dir)
    except PracticeError as exc:
        _fail(str(exc))
    if practice_id is not None:
        practice = directory.by_id(practice_id)
        if practice is None:
            known = ", ".join(p.id for p in directory) or "none"
            _fail(f"no practice {practice_id!r} (known: {known})")
        assert practice is not None
        return practice
    practices = list(directory)
    if not practices:
        _fail(f"no practice in {settings.practices_dir}")
    if len(practices) > 1:
        _fail(
            f"several practices: choose one with --practice ({', '.join(p.id for p in practices)})"
        )
    return practices[0]


def _texts(texts: tuple[str, ...]) -> Iterator[str]:
    """The texts given; ``-`` stands for standard input, one text a line."""
    for text in texts:
        if text == "-":
            yield from (line.rstrip("\n") for line in sys.stdin if line.strip())
        else:
            yield text


@click.command("understand")
@click.option("--practice", "practice_id", help="The practice's id (default: the only one).")
@click.option(
    "--at",
    "at",
    help="The call's moment, ISO 8601 with offset (default: CALLCENTER_NOW, else now).",
)
@click.argument("texts", nargs=-1, required=True)
def understand_cmd(practice_id: str | None, at: str | None, texts: tuple[str, ...]) -> None:
    """Print what each TEXT asks for, one JSON object a line (- reads standard input).

    Keys: intent, doctor, date, period, time, urgent.
    """
    # Here, not at the top: text2num and rapidfuzz load only for this command.
    from callcenter.understanding import Catalogue, CatalogueError, instance_files, understand

    try:
        settings = load_settings()
        moment = parse_now(at) if at else settings.now or datetime.now(UTC)
    except SettingsError as exc:
        _fail(str(exc).replace("CALLCENTER_NOW", "--at") if at else str(exc))
        raise
    practice = _practice(settings, practice_id)
    try:
        catalogue = Catalogue.load(
            practice.language,
            *instance_files(settings.home, practice.language, practice.id),
            folder=(practice.flows_dir or settings.flows_dir) / "understanding",
        )
    except CatalogueError as exc:
        _fail(str(exc))
        raise
    open_days = [day for day, sessions in practice.hours.items() if sessions]
    for text in _texts(texts):
        request = understand(
            text,
            catalogue,
            practice.doctors,
            moment,
            practice.tz,
            open_days=open_days,
            closed=practice.closed_on,
        )
        click.echo(json.dumps(request.as_json(), ensure_ascii=False))
