"""gunicorn settings for the bench: each worker says when it has built the app.

gunicorn binds its port before its workers have loaded the application; a
request sent then waits for the start-up.  ``bench_webhooks.py`` waits for one
file per worker in ``$BENCH_READY`` before it sends anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def post_worker_init(worker: Any) -> None:
    folder = os.environ.get("BENCH_READY")
    if folder:
        Path(folder, str(worker.pid)).touch()
