"""Progress of a long command on the terminal: on stderr, and only when it is a terminal.

Piped or redirected (cron, a script, a log file), a command prints its result
and nothing else: progress lines would only be noise there.
"""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """``label: done/total`` (or ``label: done``) rewritten in place, then the line ended."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.shown = _is_terminal(self.stream)
        self.done = 0

    def advance(self, count: int = 1, note: str = "") -> None:
        self.done += count
        self.show(note)

    def show(self, note: str = "") -> None:
        if not self.shown:
            return
        of = f"/{self.total}" if self.total is not None else ""
        self.stream.write(f"\r\033[K{self.label}: {self.done}{of}{f' ({note})' if note else ''}")
        self.stream.flush()

    def step(self, note: str) -> None:
        """A stage of the command ("twilio"), in place of a count."""
        if self.shown:
            self.stream.write(f"\r\033[K{self.label}: {note}")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False
