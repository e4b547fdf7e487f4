"""The only place that builds TwiML.

A :class:`Reply` is a TwiML document under construction: every ``<Say>``
carries the practice's language and voice, and every ``<Gather>`` is followed
by the ``<Redirect>`` that catches "no input" (a Gather with no input falls
through to the next verb).

Barge-in: what is said just before a ``<Gather>`` is said inside it, so a
key or a word acts at once, even during the greeting.  ``say`` therefore
holds its texts until the next verb: a Gather takes them in, any other verb
(or the end of the document) writes them out first, in their order.

The XML is written from small string templates, not through twilio's
``VoiceResponse`` (an ElementTree per answer cost more than the rest of the
document's work).  It is byte for byte what that builder writes: attributes
in sorted order, booleans as ``true``/``false``, an empty element as
``<Name />``, text escaped as ElementTree escapes it (``& < >``; attributes
also ``"`` and newlines, tabs); tests/ivr/test_twiml.py compares the two for
every verb and attribute used here, with hostile text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@dataclass(frozen=True)
class Voice:
    language: str = "fr-FR"
    voice: str = "Polly.Lea-Neural"


def escape_text(text: str) -> str:
    """Element text as ElementTree escapes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attribute(value: object) -> str:
    """An attribute's value as twilio's builder writes it (``str``; a bool in lower case)."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    text = escape_text(text).replace('"', "&quot;")
    if "\r" in text or "\n" in text or "\t" in text:
        text = text.replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#09;")
    return text


def element(name: str, attributes: Mapping[str, object] | None = None, inner: str = "") -> str:
    """``<name a="…">inner</name>``, attributes sorted, ``<name />`` when there is no inner."""
    attrs = "".join(
        f' {key}="{escape_attribute(value)}"'
        for key, value in sorted((attributes or {}).items())
        if value is not None
    )
    return f"<{name}{attrs}>{inner}</{name}>" if inner else f"<{name}{attrs} />"


@functools.cache
def _say_open(voice: Voice) -> str:
    return element("Say", {"language": voice.language, "voice": voice.voice}, "x")[:-7]


class Reply:
    """A TwiML document under construction."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self._verbs: list[str] = []
        self.waits = False  # True once a verb hands control back to Twilio
        self.ends = False
        self._held: list[str] = []  # said before the next verb (inside it, if a Gather)

    def say(self, *texts: str) -> Reply:
        self._held.extend(text for text in texts if text)
        return self

    def _says(self, texts: Iterable[str]) -> str:
        opening = _say_open(self.voice)
        return "".join(f"{opening}{escape_text(text)}</Say>" for text in texts if text)

    def _flush(self) -> list[str]:
        """Write out the held texts: the next verb is not a Gather."""
        if self._held:
            self._verbs.append(self._says(self._held))
            self._held = []
        return self._verbs

    def pause(self, seconds: int = 1) -> Reply:
        self._flush().append(element("Pause", {"length": seconds}))
        return self

    def gather(
        self,
        action: str,
        prompts: Iterable[str],
        *,
        digits: int | None = 1,
        speech: bool = True,
        dtmf: bool = True,
        timeout: int = 5,
        hints: Iterable[str] = (),
        finish_on_key: str | None = None,
    ) -> Reply:
        """Ask for keys and/or speech, then come back to ``action`` even on silence."""
        inputs = [name for name, on in (("dtmf", dtmf), ("speech", speech)) if on]
        attributes: dict[str, object] = {
            "action": action,
            "method": "POST",
            "input": " ".join(inputs),
            "timeout": timeout,
            "actionOnEmptyResult": False,
            "numDigits": digits or None,
            "finishOnKey": finish_on_key,
        }
        if speech:
            attributes["language"] = self.voice.language
            attributes["speechTimeout"] = "auto"
            attributes["hints"] = ",".join(h for h in hints if h) or None
        held, self._held = self._held, []
        self._verbs.append(element("Gather", attributes, self._says((*held, *prompts))))
        self._verbs.append(element("Redirect", {"method": "POST"}, escape_text(action)))
        self.waits = True
        return self

    def gather_while(
        self, action: str, prompts: Iterable[str], *, music: str | None, pause: int
    ) -> Reply:
        """Offer one key while the caller waits in a queue.

        No Redirect follows: when the wait document ends, Twilio requests the
        wait URL again, which is the loop we want.
        """
        attributes = {
            "action": action,
            "method": "POST",
            "input": "dtmf",
            "numDigits": 1,
            "timeout": 1,
            "actionOnEmptyResult": False,
        }
        tail = (
            element("Play", inner=escape_text(music))
            if music
            else element("Pause", {"length": pause})
        )
        self._flush().append(element("Gather", attributes, self._says(prompts) + tail))
        return self

    def record(
        self,
        action: str,
        *,
        max_length: int,
        timeout: int = 5,
        status_callback: str | None = None,
        transcribe_callback: str | None = None,
    ) -> Reply:
        """Record; an empty recording makes Twilio skip the action, hence the redirect."""
        attributes: dict[str, object] = {
            "action": action,
            "method": "POST",
            "maxLength": max_length,
            "timeout": timeout,
            "finishOnKey": "#",
            "playBeep": True,
            "trim": "trim-silence",
        }
        if status_callback:
            attributes["recordingStatusCallback"] = status_callback
            attributes["recordingStatusCallbackMethod"] = "POST"
        if transcribe_callback:
            attributes["transcribe"] = True
            attributes["transcribeCallback"] = transcribe_callback
        self._flush().append(element("Record", attributes))
        self._verbs.append(element("Redirect", {"method": "POST"}, escape_text(action)))
        self.waits = True
        return self

    # -- real-time transcription (callcenter.messages.realtime) --
    def start_transcription(self, name: str, status_callback: str) -> Reply:
        """Stream the caller's side (only) to Twilio's real-time transcription, in the
        practice's language; events go to ``status_callback``.  No audio is recorded."""
        transcription = element(
            "Transcription",
            {
                "name": name,
                "track": "inbound_track",
                "languageCode": self.voice.language,
                "partialResults": False,
                "statusCallbackUrl": status_callback,
                "statusCallbackMethod": "POST",
            },
        )
        self._flush().append(element("Start", inner=transcription))
        return self

    def stop_transcription(self, name: str) -> Reply:
        transcription = element("Transcription", {"name": name})
        self._flush().append(element("Stop", inner=transcription))
        return self

    def dial(
        self,
        numbers: Iterable[tuple[str, str | None]],
        *,
        action: str,
        timeout: int,
        caller_id: str | None = None,
        sequential: bool = False,
    ) -> Reply:
        """Ring ``(number, whisper_url)`` pairs; the action hears how it ended."""
        attributes: dict[str, object] = {
            "action": action,
            "method": "POST",
            "timeout": timeout,
            "callerId": caller_id or None,
            "sequential": True if sequential else None,
        }
        inner = "".join(
            element(
                "Number",
                {"url": whisper, "method": "POST"} if whisper else None,
                escape_text(number),
            )
            for number, whisper in numbers
        )
        self._flush().append(element("Dial", attributes, inner))
        self.waits = True
        return self

    def enqueue(self, name: str, *, wait_url: str, action: str) -> Reply:
        """Put the caller in the named queue; ``wait_url`` speaks while they wait."""
        attributes = {
            "waitUrl": wait_url,
            "waitUrlMethod": "POST",
            "action": action,
            "method": "POST",
        }
        self._flush().append(element("Enqueue", attributes, escape_text(name)))
        self.waits = True
        return self

    def dial_queue(self, name: str, *, url: str, action: str) -> Reply:
        """Take the caller at the front of the named queue; ``url`` speaks to them first."""
        queue = element("Queue", {"url": url, "method": "POST"}, escape_text(name))
        self._flush().append(element("Dial", {"action": action, "method": "POST"}, queue))
        self.waits = True
        return self

    def play(self, url: str) -> Reply:
        self._flush().append(element("Play", inner=escape_text(url)))
        return self

    def leave(self) -> Reply:
        """Leave the queue: Twilio then requests the Enqueue action (``QueueResult=leave``)."""
        self._flush().append("<Leave />")
        self.ends = True
        return self

    def redirect(self, url: str) -> Reply:
        self._flush().append(element("Redirect", {"method": "POST"}, escape_text(url)))
        self.waits = True
        return self

    def hangup(self) -> Reply:
        self._flush().append("<Hangup />")
        self.ends = True
        return self

    def to_xml(self) -> str:
        return _document(element("Response", inner="".join(self._flush())))


def _document(xml: str) -> str:
    """The declaration, then the XML; a character UTF-8 cannot carry (a lone surrogate) as
    ``&#N;``, as ElementTree writes it."""
    try:
        xml.encode()
    except UnicodeEncodeError:
        xml = xml.encode("utf-8", "xmlcharrefreplace").decode()
    return DECLARATION + xml


def empty() -> str:
    """``<Response/>``: the answer to callbacks, and to a whisper that accepts."""
    return DECLARATION + "<Response />"


def sms_answer(text: str | None) -> str:
    """The answer to an SMS: ``<Response><Message>text</Message></Response>``, or
    ``<Response />`` for none (as twilio's ``MessagingResponse`` writes them)."""
    if not text:
        return empty()
    return _document(element("Response", inner=element("Message", inner=escape_text(text))))
