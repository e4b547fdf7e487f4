"""gunicorn's access log, masked as our own logs are.

gunicorn writes its access log itself, not through our logging chain; when an
administrator turns it on (``--access-logfile``), every value of the line
(request line, path, query, referrer) goes through :func:`callcenter.core.logs.mask_text`
first: a calendar feed's token, a phone number in a query, never reach the file.
``callcenter serve --workers`` starts gunicorn with this logger class.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from callcenter.core.logs import mask_text


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        found: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {k: mask_text(v) if isinstance(v, str) else v for k, v in found.items()}
