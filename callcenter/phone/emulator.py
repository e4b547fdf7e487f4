"""A Twilio emulator: places calls against the server exactly as Twilio would.

It signs form-encoded requests with twilio's own ``RequestValidator``, follows
TwiML verb by verb (Say, Play, Pause, Gather, Record, Dial with whisper URLs,
Redirect, Hangup, queues: Enqueue with its wait URL, Leave, Dial/Queue; Start/Stop
of real-time transcription), resolves relative URLs against the current
document, and reports what the caller heard.  The requests Twilio sends on its
own (recording status, transcription, real-time transcription events) are
queued on the call and sent when a test says, in any order, and again as a
retry.  The tests, ``callcenter call`` and the
benchmark all drive the server through it (docs/development/architecture.md, phone).
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode, urljoin, urlsplit

from twilio.request_validator import RequestValidator

from callcenter.core import routes

APPLICATION_ERROR = "An application error has occurred. Goodbye."
VERBS = {"Say", "Play", "Pause", "Gather", "Record", "Dial", "Redirect", "Hangup", "Reject",
         "Enqueue", "Leave", "Start", "Stop"}  # fmt: skip
DIAL_CHILDREN = {"Number", "Queue"}
GATHER_CHILDREN = {"Say", "Play", "Pause"}
MAX_TWIML = 64 * 1024
MAX_SAY = 4096


class EmulatorError(AssertionError):
    """The server answered something Twilio would reject (invalid TwiML, a 5xx...)."""


class Transport(Protocol):
    def post(self, path: str, data: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST a form to ``path`` (with its query); return status and body."""
        ...


class FlaskTransport:
    """In-process: a Flask test client."""

    def __init__(self, client: object) -> None:
        self.client = client

    def post(self, path: str, data: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = self.client.post(path, data=data, headers=headers)  # type: ignore[attr-defined]
        body = response.get_data(as_text=True)
        response.close()  # as a WSGI server does: runs the app's call_on_close work
        return response.status_code, body


class HttpTransport:
    """A running server on loopback (``callcenter serve``)."""

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, path: str, data: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        body = urlencode(data).encode()
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class Waiting:
    """The verb the call is blocked on, and the rest of its document."""

    verb: ET.Element
    rest: list[ET.Element]
    url: str


@dataclass
class Callback:
    """A request Twilio sends on its own (recording status, transcription, real-time
    transcription events): queued on the call, sent when the test says, in any order."""

    kind: str  # recording | transcription | realtime
    url: str
    params: dict[str, str]
    status: int | None = None  # the server's answer, once delivered


@dataclass
class PhoneCall:
    """One emulated call; drive it with press/say/silence/hangup and the Dial outcomes."""

    emulator: TwilioEmulator
    sid: str
    caller: str
    called: str
    heard: list[str] = field(default_factory=list)
    whispers: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    waiting: Waiting | None = None
    ended: bool = False
    application_error: bool = False
    queue_time: int = 0  # seconds spent in the queue so far
    bridged_with: PhoneCall | None = None  # the other party of a Dial/Queue bridge
    _queue_gather: tuple[ET.Element, str] | None = None  # a Gather of the wait document
    _mark: int = 0
    # -- callbacks Twilio sends on its own (messages) --
    callbacks: list[Callback] = field(default_factory=list)  # not yet sent
    delivered: list[Callback] = field(default_factory=list)
    transcribing: tuple[str, str] | None = None  # real-time transcription: (url, name)
    _events: int = 0  # its events are numbered from 1 (SequenceId)

    # -- what the caller hears ------------------------------------------------
    @property
    def text(self) -> str:
        return " ".join(self.heard)

    def last_heard(self) -> str:
        """What was said since the caller's last action."""
        return " ".join(self.heard[self._mark :])

    @property
    def waiting_for(self) -> str | None:
        return self.waiting.verb.tag if self.waiting else None

    # -- caller actions ---------------------------------------------------------
    def press(self, digits: str) -> PhoneCall:
        if self.waiting is not None and self.waiting.verb.tag == "Enqueue":
            return self._press_in_queue(digits)
        return self._gather({"Digits": digits})

    def say(self, speech: str, confidence: float = 0.92) -> PhoneCall:
        return self._gather({"SpeechResult": speech, "Confidence": f"{confidence:.2f}"})

    def silence(self) -> PhoneCall:
        """No input: a Gather falls through, a Record records nothing."""
        waiting = self._need("Gather", "Record")
        self._continue(waiting.rest, waiting.url)
        return self

    def record(
        self,
        seconds: int = 8,
        finish: str = "#",
        words: str | None = None,
        transcription: str = "completed",
    ) -> PhoneCall:
        """Speak after the beep for ``seconds``, then press ``finish`` (or ``hangup``).

        When the ``<Record>`` asks for them, its recording-status and
        transcription callbacks are queued (``words`` is what Twilio's
        transcription heard; ``transcription="failed"`` makes it fail); send
        them with :meth:`deliver`.
        """
        waiting = self._need("Record")
        sid = new_sid("RE")
        params = {
            "RecordingSid": sid,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/"
            f"{self.emulator.account_sid}/Recordings/{sid}",
            "RecordingDuration": str(seconds),
            "Digits": finish,
        }
        self._queue_recording_callbacks(waiting, params, words, transcription)
        action = urljoin(waiting.url, waiting.verb.get("action") or waiting.url)
        if finish == "hangup":
            self._post(action, params)  # Twilio ignores the TwiML of a hung-up call
            self._end()
        else:
            self._fetch(action, params)
        return self

    def hangup(self) -> PhoneCall:
        if self.ended:
            return self
        other = self.bridged_with
        if other is not None:  # the end of a conversation through a queue
            self.bridged_with = other.bridged_with = None
            if self.waiting is not None:  # Twilio requests the action; the TwiML goes unheard
                self._post(self._action(self.waiting), self._bridge_result())
            self._end()
            if other.waiting is not None:
                other._fetch(other._action(other.waiting), other._bridge_result())
            return self
        if self.waiting is not None and self.waiting.verb.tag == "Dial":
            self._post(self._action(self.waiting), {"DialCallStatus": "canceled"})
        if self.waiting is not None and self.waiting.verb.tag == "Enqueue":
            self._leave_queue()
            self._post(self._action(self.waiting), self._queue_result("hangup"))
        self._end()
        return self

    # -- waiting in a queue ---------------------------------------------------------
    def hold(self, seconds: int = 30) -> PhoneCall:
        """Time passes in the queue: the wait document ends and Twilio requests it again."""
        self._need("Enqueue")
        self.queue_time += seconds
        self._poll_queue()
        return self

    @property
    def queue_position(self) -> int | None:
        if self.waiting is None or self.waiting.verb.tag != "Enqueue":
            return None
        return self.emulator.queues[self._queue_name()].index(self) + 1

    # -- callbacks Twilio sends on its own (messages) ------------------------------
    def speak(self, words: str) -> PhoneCall:
        """The caller says ``words`` while real-time transcription runs: one final result."""
        if self.transcribing is None:
            raise EmulatorError("no real-time transcription is running")
        data = json.dumps({"transcript": words, "confidence": 0.91}, ensure_ascii=False)
        self._queue_realtime("transcription-content", {
            "TranscriptionData": data, "Final": "true", "Track": "inbound_track",
            "LanguageCode": "fr-FR",
        })  # fmt: skip
        return self

    def transcription_error(self) -> PhoneCall:
        """Real-time transcription fails (Twilio then stops it)."""
        self._queue_realtime("transcription-error", {
            "TranscriptionError": "Provider unavailable", "TranscriptionErrorCode": "32655",
        })  # fmt: skip
        self.transcribing = None
        return self

    def deliver(self, *kinds: str) -> list[int]:
        """Send the queued callbacks of these kinds (all when none is named), in order."""
        due = [c for c in self.callbacks if not kinds or c.kind in kinds]
        for callback in due:
            self.callbacks.remove(callback)
            callback.status, _ = self.emulator.post(callback.url, callback.params)
            self.delivered.append(callback)
        return [c.status or 0 for c in due]

    def redeliver(self, kind: str) -> int:
        """Twilio retries the last ``kind`` callback sent (same parameters)."""
        last = [c for c in self.delivered if c.kind == kind][-1]
        status, _ = self.emulator.post(last.url, last.params)
        return status

    def _queue_recording_callbacks(
        self, waiting: Waiting, params: dict[str, str], words: str | None, transcription: str
    ) -> None:
        seconds = int(params["RecordingDuration"])
        status_url = waiting.verb.get("recordingStatusCallback")
        if status_url:
            self.callbacks.append(Callback("recording", urljoin(waiting.url, status_url),
                self.emulator.call_params(self, {
                    "RecordingSid": params["RecordingSid"], "RecordingUrl": params["RecordingUrl"],
                    "RecordingStatus": "completed", "RecordingDuration": str(seconds),
                    "RecordingChannels": "1", "RecordingSource": "RecordVerb",
                })))  # fmt: skip
        transcribe_url = waiting.verb.get("transcribeCallback")
        # Twilio transcribes recordings of 2 to 120 seconds only (warning 13617).
        if waiting.verb.get("transcribe") == "true" and transcribe_url and 2 <= seconds < 120:
            ok = transcription == "completed" and words is not None
            self.callbacks.append(Callback("transcription", urljoin(waiting.url, transcribe_url),
                self.emulator.call_params(self, {
                    "TranscriptionSid": new_sid("TR"),
                    "TranscriptionText": words or "" if ok else "",
                    "TranscriptionStatus": "completed" if ok else "failed",
                    "TranscriptionUrl": params["RecordingUrl"] + "/Transcriptions",
                    "RecordingSid": params["RecordingSid"], "RecordingUrl": params["RecordingUrl"],
                })))  # fmt: skip

    def _queue_realtime(self, event: str, extra: dict[str, str]) -> None:
        if self.transcribing is None:
            return
        url, name = self.transcribing
        self._events += 1
        params = self.emulator.call_params(self, {
            "TranscriptionEvent": event, "TranscriptionSid": "GT" + name[:32].ljust(32, "0"),
            "Timestamp": "2026-11-24T09:00:00Z", "SequenceId": str(self._events), **extra,
        })  # fmt: skip
        self.callbacks.append(Callback("realtime", url, params))

    def _start_stop(self, verb: ET.Element, url: str) -> None:
        for child in verb:
            if child.tag != "Transcription":
                raise EmulatorError(f"<{verb.tag}><{child.tag}> is not emulated")
            if verb.tag == "Start":
                callback = child.get("statusCallbackUrl")
                if not callback:
                    raise EmulatorError("<Transcription> without statusCallbackUrl")
                self.transcribing = (urljoin(url, callback), child.get("name", ""))
                self._events = 0
                self._queue_realtime("transcription-started", {})
            elif self.transcribing and child.get("name") == self.transcribing[1]:
                self._queue_realtime("transcription-stopped", {})
                self.transcribing = None

    # -- what happens to a Dial ---------------------------------------------------
    def answer(self, press: str | None = "1", index: int = 0, seconds: int = 60) -> PhoneCall:
        """The ``index``-th number picks up, hears its whisper and presses ``press``."""
        waiting = self._need("Dial")
        numbers = [n for n in waiting.verb if n.tag == "Number"]
        number = numbers[index]
        accepted = self._whisper(number, waiting, press)
        status = (
            {
                "DialCallStatus": "completed",
                "DialCallSid": new_sid("CA"),
                "DialCallDuration": str(seconds),
            }
            if accepted
            else {"DialCallStatus": "no-answer"}
        )
        self._fetch(self._action(waiting), status)
        return self

    def no_answer(self) -> PhoneCall:
        return self._dial_ends("no-answer")

    def busy(self) -> PhoneCall:
        return self._dial_ends("busy")

    def dial_numbers(self) -> list[str]:
        waiting = self._need("Dial")
        return [(n.text or "").strip() for n in waiting.verb if n.tag == "Number"]

    # -- internals -----------------------------------------------------------------
    def _queue_name(self) -> str:
        assert self.waiting is not None
        return (self.waiting.verb.text or "").strip()

    def _queue_result(self, result: str) -> dict[str, str]:
        return {"QueueResult": result, "QueueTime": str(self.queue_time)}

    def _bridge_result(self) -> dict[str, str]:
        if self.waiting is not None and self.waiting.verb.tag == "Enqueue":
            return self._queue_result("bridged")
        return {"DialCallStatus": "completed", "DialCallSid": new_sid("CA"),
                "DialCallDuration": "60"}  # fmt: skip

    def _enqueue(self, verb: ET.Element, rest: list[ET.Element], url: str) -> None:
        self.waiting = Waiting(verb, rest, url)
        self.queue_time = 0
        self.emulator.queues.setdefault(self._queue_name(), []).append(self)
        self._poll_queue()

    def _leave_queue(self) -> None:
        members = self.emulator.queues.get(self._queue_name(), [])
        if self in members:
            members.remove(self)

    def _poll_queue(self) -> None:
        """Request the wait URL (with Twilio's queue parameters) and run its document."""
        assert self.waiting is not None
        self._mark = len(self.heard)
        self._queue_gather = None
        wait_url = self.waiting.verb.get("waitUrl")
        if not wait_url:
            self.heard.append("[musique]")  # Twilio's default hold music
            return
        url = urljoin(self.waiting.url, wait_url)
        members = self.emulator.queues[self._queue_name()]
        params = {
            "QueueSid": self.emulator.queue_sid(self._queue_name()),
            "QueuePosition": str(members.index(self) + 1),
            "QueueTime": str(self.queue_time),
            "AvgQueueTime": "0",
            "CurrentQueueSize": str(len(members)),
            "MaxQueueSize": "100",
        }
        self._run_wait(self.emulator.parse(self.emulator.request(url, self.call_params(params))),
                       url)  # fmt: skip

    def call_params(self, extra: dict[str, str]) -> dict[str, str]:
        return self.emulator.call_params(self, extra)

    def _run_wait(self, root: ET.Element, url: str) -> None:
        """A wait-URL document: Say, Play, Pause, Gather, Redirect, Leave, Hangup only."""
        for verb in root:
            if verb.tag not in ("Say", "Play", "Pause", "Gather", "Redirect", "Leave", "Hangup"):
                raise EmulatorError(f"<{verb.tag}> is not allowed in a queue's wait URL")
            if verb.tag == "Say":
                self.heard.append(verb.text or "")
            elif verb.tag == "Play":
                self.heard.append("[musique]")
            elif verb.tag == "Gather":
                self.heard.extend(c.text or "" for c in verb if c.tag == "Say")
                self._queue_gather = (verb, url)
                return  # waits for a key; ``hold`` lets it time out
            elif verb.tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                root = self.emulator.parse(self.emulator.request(target, self.call_params({})))
                self._run_wait(root, target)
                return
            elif verb.tag == "Leave":
                self._leave_queue()
                assert self.waiting is not None
                self._fetch(self._action(self.waiting), self._queue_result("leave"))
                return
            elif verb.tag == "Hangup":
                self.hangup()
                return

    def _press_in_queue(self, digits: str) -> PhoneCall:
        self._need("Enqueue")
        if self._queue_gather is None:
            return self  # nothing listens to keys now: Twilio ignores them
        gather, url = self._queue_gather
        self._queue_gather = None
        action = urljoin(url, gather.get("action") or url)
        body = self.emulator.request(action, self.call_params({"Digits": digits}))
        self._run_wait(self.emulator.parse(body), action)
        return self

    def _dial_queue(self, queue: ET.Element, url: str) -> None:
        """``<Dial><Queue>``: bridge with the front of the queue (or wait for one)."""
        members = self.emulator.queues.get((queue.text or "").strip(), [])
        if not members:
            return  # Twilio waits until someone joins or the Dial times out
        caller = members.pop(0)
        if queue.get("url"):
            target = urljoin(url, queue.get("url") or "")
            extra = {"QueueSid": self.emulator.queue_sid((queue.text or "").strip()),
                     "QueueTime": str(caller.queue_time), "DequeingCallSid": self.sid}  # fmt: skip
            root = self.emulator.parse(self.emulator.request(target, caller.call_params(extra)))
            caller.heard.extend(v.text or "" for v in root if v.tag == "Say")
        self.bridged_with, caller.bridged_with = caller, self

    def _dial_ends(self, status: str) -> PhoneCall:
        waiting = self._need("Dial")
        self._fetch(self._action(waiting), {"DialCallStatus": status})
        return self

    def _whisper(self, number: ET.Element, waiting: Waiting, press: str | None) -> bool:
        """Run the whisper TwiML on the answering leg; True when the call is bridged.

        The end of the whisper document bridges the call; a Hangup refuses it.
        """
        url = number.get("url")
        if not url:
            return True
        leg = {
            "CallSid": new_sid("CA"),
            "ParentCallSid": self.sid,
            "To": (number.text or "").strip(),
            "From": waiting.verb.get("callerId", ""),
            "Direction": "outbound-dial",
        }
        extra: dict[str, str] = {}
        url = urljoin(waiting.url, url)
        for _ in range(10):
            root = self.emulator.parse(
                self.emulator.request(url, self.emulator.call_params(self, {**leg, **extra}))
            )
            target: tuple[str, dict[str, str]] | None = None
            for verb in root:
                if verb.tag == "Say":
                    self.whispers.append(verb.text or "")
                elif verb.tag == "Gather":
                    self.whispers.extend(c.text or "" for c in verb if c.tag == "Say")
                    if press is not None:
                        target = (urljoin(url, verb.get("action") or url), {"Digits": press})
                        break
                elif verb.tag == "Redirect":
                    target = (urljoin(url, (verb.text or "").strip()), {})
                    break
                elif verb.tag in ("Hangup", "Reject"):
                    return False
            if target is None:
                return True
            url, extra = target
        raise EmulatorError("the whisper keeps redirecting")

    def _gather(self, params: dict[str, str]) -> PhoneCall:
        waiting = self._need("Gather")
        self._fetch(self._action(waiting), params)
        return self

    def _action(self, waiting: Waiting) -> str:
        return urljoin(waiting.url, waiting.verb.get("action") or waiting.url)

    def _need(self, *verbs: str) -> Waiting:
        if self.ended or self.waiting is None or self.waiting.verb.tag not in verbs:
            state = "ended" if self.ended else self.waiting_for
            raise EmulatorError(f"the call is not waiting on {'/'.join(verbs)} (it is: {state})")
        self._mark = len(self.heard)
        return self.waiting

    def _post(self, url: str, extra: dict[str, str]) -> tuple[int, str]:
        params = self.emulator.call_params(self, extra)
        self.requests.append((url, params))
        return self.emulator.post(url, params)

    def _fetch(self, url: str, extra: dict[str, str]) -> None:
        """Request a TwiML document and run it; failures go to the fallback URL."""
        self.waiting = None
        status, body = self._post(url, extra)
        if status != 200:
            self.emulator.failures.append((url, status))
            fallback = urljoin(url, self.emulator.fallback_path)
            status, body = self._post(fallback, {**extra, "ErrorCode": "11200", "ErrorUrl": url})
            if status != 200:
                self.heard.append(APPLICATION_ERROR)
                self.application_error = True
                self._end()
                return
        self._continue(list(self.emulator.parse(body)), url)

    def _continue(self, verbs: list[ET.Element], url: str) -> None:
        self.waiting = None
        for i, verb in enumerate(verbs):
            rest = verbs[i + 1 :]
            if verb.tag == "Say":
                self.heard.append(verb.text or "")
            elif verb.tag == "Play":
                self.heard.append("[musique]")
            elif verb.tag in ("Gather", "Record", "Dial"):
                if verb.tag == "Gather":
                    self.heard.extend(c.text or "" for c in verb if c.tag == "Say")
                self.waiting = Waiting(verb, rest, url)
                queue = verb.find("Queue") if verb.tag == "Dial" else None
                if queue is not None:
                    self._dial_queue(queue, url)
                return
            elif verb.tag == "Enqueue":
                self._enqueue(verb, rest, url)
                return
            elif verb.tag == "Leave":
                continue  # outside a wait document, Twilio ignores it
            elif verb.tag == "Redirect":
                self._fetch(urljoin(url, (verb.text or "").strip()), {})
                return
            elif verb.tag in ("Start", "Stop"):
                self._start_stop(verb, url)
            elif verb.tag in ("Hangup", "Reject"):
                break
        self._end()  # the end of a document ends the call

    def _end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.waiting = None
        self._queue_realtime("transcription-stopped", {})  # the call's end stops it
        self.transcribing = None
        self.emulator.post(
            self.emulator.url(self.emulator.status_path),
            self.emulator.call_params(self, {"CallStatus": "completed", "CallDuration": "42"}),
        )


@dataclass(frozen=True)
class SmsAnswer:
    """What the server answered an SMS: the status and the texts Twilio would send back."""

    status: int
    messages: list[str]


class TwilioEmulator:
    """Signs and sends webhooks for a Twilio account whose number points at the server."""

    def __init__(
        self,
        transport: Transport,
        auth_token: str,
        public_base_url: str,
        account_sid: str = "AC" + "0" * 32,
        voice_path: str = routes.VOICE,
        status_path: str = routes.STATUS,
        fallback_path: str = routes.FALLBACK,
        on_request: Callable[[str, dict[str, str]], None] | None = None,
    ) -> None:
        self.transport = transport
        self.validator = RequestValidator(auth_token)
        self.base = public_base_url.rstrip("/")
        self.account_sid = account_sid
        self.voice_path, self.status_path, self.fallback_path = (
            voice_path,
            status_path,
            fallback_path,
        )
        self.failures: list[tuple[str, int]] = []
        self.queues: dict[str, list[PhoneCall]] = {}  # Twilio's queues: callers in order
        self.last: tuple[str, dict[str, str], dict[str, str]] | None = None
        self.on_request = on_request

    def url(self, path: str) -> str:
        return self.base + path

    def call_params(self, call: PhoneCall, extra: dict[str, str]) -> dict[str, str]:
        params = {
            "CallSid": call.sid,
            "AccountSid": self.account_sid,
            "From": call.caller,
            "To": call.called,
            "Caller": call.caller,
            "Called": call.called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            "FromCountry": "FR",
            "ToCountry": "FR",
        }
        params.update(extra)
        return params

    def sign(self, url: str, params: dict[str, str]) -> str:
        return self.validator.compute_signature(url, params)

    def post(
        self, url: str, params: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a signed form to an absolute public URL, as Twilio does."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.base:
            raise EmulatorError(f"TwiML sent Twilio to another host: {url}")
        sent = {
            "X-Twilio-Signature": self.sign(url, params),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
            **(headers or {}),
        }
        self.last = (url, params, sent)
        if self.on_request:
            self.on_request(url, params)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.transport.post(path, params, sent)

    def replay(self) -> tuple[int, str]:
        """Send the last request again, byte for byte, as a Twilio retry would."""
        if self.last is None:
            raise EmulatorError("nothing to replay")
        url, params, headers = self.last
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.transport.post(path, params, headers)

    def request(self, url: str, params: dict[str, str]) -> str:
        status, body = self.post(url, params)
        if status != 200:
            raise EmulatorError(f"{url} answered {status}")
        return body

    @staticmethod
    def parse(body: str) -> ET.Element:
        """Parse and check TwiML as strictly as Twilio does (unknown verbs, sizes, nesting)."""
        if len(body.encode()) > MAX_TWIML:
            raise EmulatorError("TwiML larger than 64 kB (Twilio error 11750)")
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise EmulatorError(f"invalid TwiML (Twilio error 12100): {exc}") from None
        if root.tag != "Response":
            raise EmulatorError(f"TwiML root is <{root.tag}>, not <Response>")
        for verb in root:
            if verb.tag not in VERBS:
                raise EmulatorError(f"unknown TwiML verb <{verb.tag}>")
            says = [verb] if verb.tag == "Say" else [c for c in verb if c.tag == "Say"]
            if verb.tag == "Gather" and any(c.tag not in GATHER_CHILDREN for c in verb):
                raise EmulatorError("<Gather> may only nest Say, Play and Pause")
            if verb.tag == "Dial" and any(c.tag not in DIAL_CHILDREN for c in verb):
                raise EmulatorError("<Dial> may only nest Number and Queue here")
            for say in says:
                if not say.get("language"):
                    raise EmulatorError("<Say> without a language would speak English")
                if len(say.text or "") > MAX_SAY:
                    raise EmulatorError("<Say> longer than 4096 characters (error 13521)")
        return root

    def send_sms(
        self, sender: str, to: str, body: str, sid: str | None = None, path: str = routes.SMS
    ) -> SmsAnswer:
        """A patient's SMS to the number: Twilio requests its SMS URL with the text.

        The parameters are Twilio's for an inbound SMS; the answer must be
        messaging TwiML (``<Response>`` holding ``<Message>`` verbs only).
        """
        sid = sid or new_sid("SM")
        params = {
            "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
            "AccountSid": self.account_sid, "From": sender, "To": to, "Body": body,
            "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
            "ApiVersion": "2010-04-01", "FromCountry": "FR", "ToCountry": "FR",
        }  # fmt: skip
        status, answer = self.post(self.url(path), params)
        if status != 200:
            return SmsAnswer(status, [])
        root = ET.fromstring(answer)
        if root.tag != "Response" or any(verb.tag != "Message" for verb in root):
            raise EmulatorError(f"not messaging TwiML: {answer[:200]}")
        return SmsAnswer(status, [verb.text or "" for verb in root])

    def queue_sid(self, name: str) -> str:
        return "QU" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex

    def place_call(
        self, caller: str, called: str, sid: str | None = None, voice_path: str | None = None
    ) -> PhoneCall:
        """Ring the number: Twilio requests its Voice URL and the call begins."""
        call = PhoneCall(self, sid or new_sid("CA"), caller, called)
        call._fetch(self.url(voice_path or self.voice_path), {"CallStatus": "ringing"})
        return call
