"""The server's clock, which ``CALLCENTER_NOW`` can freeze for demos and tests."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self, frozen: datetime | None = None) -> None:
        self.frozen = frozen

    def now(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC)
