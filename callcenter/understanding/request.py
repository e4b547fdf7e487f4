"""What a caller asked for, as the call flows will read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any


@dataclass(frozen=True)
class Request:
    """One utterance understood; ``None`` where nothing was said of it."""

    intent: str  # book, cancel, move, message, secretary, urgent, prescription, results,
    # certificate, hours, address, late or other
    doctor: str | None = None  # the practice's doctor id
    date: date | None = None
    period: str | None = None  # morning, afternoon or evening
    time: time | None = None
    urgent: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "doctor": self.doctor,
            "date": self.date.isoformat() if self.date else None,
            "period": self.period,
            "time": self.time.strftime("%H:%M") if self.time else None,
            "urgent": self.urgent,
        }
