"""The domain tests of the console run beside a second practice (the cabinet du Port)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_practice


@pytest.fixture
def home(home: Path) -> Path:
    write_practice(home, id="port", name="cabinet du Port", number="+33491000000",
                   secretaries=[{"id": "s2", "name": "Marc", "phone": "+33612000002"}])  # fmt: skip
    return home
