"""The few CalDAV requests the sync and the writes make, through the ``caldav`` client.

The ``caldav`` package does the HTTP, the authentication and the XML; the
requests are kept to what makes a sync cheap: a sync-collection REPORT
(RFC 6578) that lists only what changed since the last token, an ETag
listing when the server has no sync tokens, and a GET per changed event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlparse
from xml.sax.saxutils import escape

from caldav.davclient import DAVClient
from icalendar import Calendar

from callcenter.config.calendar_link import CalendarLink

TIMEOUT_SECONDS = 10  # a webhook's after-commit write must not hang on a dead server
_DAV = "{DAV:}"
_SYNC_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>
<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"""
_ETAGS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:sync-token/></d:prop></d:propfind>"""
_FREEBUSY = """<?xml version="1.0" encoding="utf-8"?>
<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav">
<c:time-range start="{start}" end="{end}"/></c:free-busy-query>"""


class DavError(Exception):
    """The server did not answer as asked: ``code`` is short and holds no personal data."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TokenRefused(DavError):
    """The server forgot our sync token (or has none): a full ETag listing is needed."""


@dataclass
class Delta:
    """What changed in a collection: hrefs with their new ETag, hrefs gone, the new token."""

    changed: dict[str, str | None] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    token: str | None = None


def _path_of(href: str | None) -> str:
    """An href as a path: some servers answer with absolute URLs, most with paths."""
    text = unquote((href or "").strip())
    return urlparse(text).path if "://" in text else text


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class Dav:
    """One calendar collection on one server, logged in with its account."""

    def __init__(self, link: CalendarLink, timeout: int = TIMEOUT_SECONDS) -> None:
        self.url = link.url
        self._path = urlparse(link.url).path
        # No discovery (the URL is the collection's) and no sleeping on a 429 or 503:
        # the sync runs again in a minute and the writes queue backs off on its own.
        self._client = DAVClient(url=link.url, username=link.username, password=link.password(),
                                 timeout=timeout, enable_rfc6764=False,
                                 rate_limit_handle=False)  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Dav:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------
    def _request(self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None,
                 ) -> Any:  # fmt: skip
        try:
            return self._client.request(url, method, body, headers or {})
        except Exception as exc:  # connection refused, timeout, TLS: retried later
            raise DavError(type(exc).__name__) from None

    def href(self, name: str) -> str:
        """The path of a resource of this collection (hrefs are kept as paths)."""
        return self._path + name

    def _absolute(self, href: str) -> str:
        return urljoin(self.url, href)

    def _responses(self, answer: Any) -> list[tuple[str, str | None, str]]:
        """(href, ETag, status) of each ``response`` of a multistatus."""
        found = []
        for response in answer.tree.iter(f"{_DAV}response"):
            href = _path_of(response.findtext(f"{_DAV}href"))
            etag = response.findtext(f".//{_DAV}getetag")
            status = response.findtext(f"{_DAV}status") or response.findtext(f".//{_DAV}status")
            found.append((href, etag.strip() if etag else None, status or ""))
        return found

    def changes(self, token: str) -> Delta:
        """What changed since ``token``; :class:`TokenRefused` when it is no longer valid."""
        try:
            answer = self._request(
                self.url,
                "REPORT",
                _SYNC_QUERY.format(token=escape(token)),
                {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
            )
        except DavError as exc:  # the client raises on a 403 (valid-sync-token refused)
            if exc.code == "AuthorizationError":
                raise TokenRefused(exc.code) from None
            raise
        if answer.status in (403, 409, 412, 400):
            raise TokenRefused(str(answer.status))
        if answer.status != 207:
            raise DavError(str(answer.status))
        delta = Delta(token=answer.tree.findtext(f"{_DAV}sync-token"))
        for href, etag, status in self._responses(answer):
            if href.rstrip("/") == self._path.rstrip("/"):
                continue
            if " 404" in status:
                delta.deleted.add(href)
            else:
                delta.changed[href] = etag
        return delta

    def listing(self) -> Delta:
        """Every event's href and ETag, and the collection's sync token when it has one."""
        answer = self._request(
            self.url,
            "PROPFIND",
            _ETAGS,
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        if answer.status != 207:
            raise DavError(str(answer.status))
        delta = Delta()
        for response in answer.tree.iter(f"{_DAV}response"):
            href = _path_of(response.findtext(f"{_DAV}href"))
            if href.rstrip("/") == self._path.rstrip("/"):
                delta.token = response.findtext(f".//{_DAV}sync-token") or None
                continue
            etag = response.findtext(f".//{_DAV}getetag")
            delta.changed[href] = etag.strip() if etag else None
        return delta

    def fetch(self, href: str) -> tuple[Calendar | None, str | None]:
        """The event resource and its ETag; (None, None) when it is gone meanwhile."""
        answer = self._request(self._absolute(href), "GET")
        if answer.status == 404:
            return None, None
        if answer.status != 200:
            raise DavError(str(answer.status))
        try:
            calendar = Calendar.from_ical(answer.raw)
        except ValueError:
            return None, answer.headers.get("ETag")  # not iCalendar: nothing busy in it
        return calendar, answer.headers.get("ETag")

    def put(self, href: str, body: bytes) -> None:
        answer = self._request(self._absolute(href), "PUT", body.decode(),
                               {"Content-Type": "text/calendar; charset=utf-8"})  # fmt: skip
        if answer.status not in (200, 201, 204):
            raise DavError(str(answer.status))

    def delete(self, href: str) -> None:
        answer = self._request(self._absolute(href), "DELETE")
        if answer.status not in (200, 204, 404):  # already gone is as good
            raise DavError(str(answer.status))

    def freebusy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The busy periods the server reports for the collection (a free-busy-query)."""
        answer = self._request(
            self.url,
            "REPORT",
            _FREEBUSY.format(start=_stamp(start), end=_stamp(end)),
            {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
        )
        if answer.status != 200:
            raise DavError(str(answer.status))
        periods = []
        for component in Calendar.from_ical(answer.raw).walk("VFREEBUSY"):
            values = component.get("FREEBUSY", [])
            for period in values if isinstance(values, list) else [values]:
                if str(period.params.get("FBTYPE", "BUSY")).upper() == "FREE":
                    continue
                first, second = period.dt
                last = second if isinstance(second, datetime) else first + second
                periods.append((first.astimezone(UTC), last.astimezone(UTC)))
        return periods
