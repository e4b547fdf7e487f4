"""The only place that builds TwiML.

A :class:`Reply` wraps twilio's ``VoiceResponse`` so that every ``<Say>``
carries the practice's language and voice, and every ``<Gather>`` is followed
by the ``<Redirect>`` that catches "no input" (a Gather with no input falls
through to the next verb).

Barge-in: what is said just before a ``<Gather>`` is said inside it, so a
key or a word acts at once, even during the greeting.  ``say`` therefore
holds its texts until the next verb: a Gather takes them in, any other verb
(or the end of the document) writes them out first, in their order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse


@dataclass(frozen=True)
class Voice:
    language: str = "fr-FR"
    voice: str = "Polly.Lea-Neural"


class Reply:
    """A TwiML document under construction."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self._response = VoiceResponse()
        self.waits = False  # True once a verb hands control back to Twilio
        self.ends = False
        self._held: list[str] = []  # said before the next verb (inside it, if a Gather)

    def say(self, *texts: str) -> Reply:
        self._held.extend(text for text in texts if text)
        return self

    def _flush(self) -> VoiceResponse:
        """Write out the held texts: the next verb is not a Gather."""
        for text in self._held:
            self._response.say(text, language=self.voice.language, voice=self.voice.voice)
        self._held = []
        return self._response

    def pause(self, seconds: int = 1) -> Reply:
        self._flush().pause(length=seconds)
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
        kwargs: dict[str, object] = {
            "action": action,
            "method": "POST",
            "input": " ".join(inputs),
            "timeout": timeout,
            "action_on_empty_result": False,
        }
        if digits:
            kwargs["num_digits"] = digits
        if finish_on_key is not None:
            kwargs["finish_on_key"] = finish_on_key
        if speech:
            kwargs["language"] = self.voice.language
            kwargs["speech_timeout"] = "auto"
            hint_list = [h for h in hints if h]
            if hint_list:
                kwargs["hints"] = ",".join(hint_list)
        gather = self._response.gather(**kwargs)
        held, self._held = self._held, []
        for text in (*held, *prompts):
            if text:
                gather.say(text, language=self.voice.language, voice=self.voice.voice)
        self._response.redirect(action, method="POST")
        self.waits = True
        return self

    def gather_while(
        self, action: str, prompts: Iterable[str], *, music: str | None, pause: int
    ) -> Reply:
        """Offer one key while the caller waits in a queue.

        No Redirect follows: when the wait document ends, Twilio requests the
        wait URL again, which is the loop we want.
        """
        gather = self._flush().gather(action=action, method="POST", input="dtmf", num_digits=1,
                                       timeout=1, action_on_empty_result=False)  # fmt: skip
        for text in prompts:
            if text:
                gather.say(text, language=self.voice.language, voice=self.voice.voice)
        if music:
            gather.play(music)
        else:
            gather.pause(length=pause)
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
        kwargs: dict[str, object] = {
            "action": action,
            "method": "POST",
            "max_length": max_length,
            "timeout": timeout,
            "finish_on_key": "#",
            "play_beep": True,
            "trim": "trim-silence",
        }
        if status_callback:
            kwargs["recording_status_callback"] = status_callback
            kwargs["recording_status_callback_method"] = "POST"
        if transcribe_callback:
            kwargs["transcribe"] = True
            kwargs["transcribe_callback"] = transcribe_callback
        self._flush().record(**kwargs)
        self._response.redirect(action, method="POST")
        self.waits = True
        return self

    # -- real-time transcription (callcenter.messages.realtime) --
    def start_transcription(self, name: str, status_callback: str) -> Reply:
        """Stream the caller's side (only) to Twilio's real-time transcription, in the
        practice's language; events go to ``status_callback``.  No audio is recorded."""
        self._flush().start().transcription(
            name=name,
            track="inbound_track",
            language_code=self.voice.language,
            partial_results=False,
            status_callback_url=status_callback,
            status_callback_method="POST",
        )
        return self

    def stop_transcription(self, name: str) -> Reply:
        self._flush().stop().transcription(name=name)
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
        kwargs: dict[str, object] = {"action": action, "method": "POST", "timeout": timeout}
        if caller_id:
            kwargs["caller_id"] = caller_id
        if sequential:
            kwargs["sequential"] = True
        dial = self._flush().dial(**kwargs)
        for number, whisper in numbers:
            if whisper:
                dial.number(number, url=whisper, method="POST")
            else:
                dial.number(number)
        self.waits = True
        return self

    def enqueue(self, name: str, *, wait_url: str, action: str) -> Reply:
        """Put the caller in the named queue; ``wait_url`` speaks while they wait."""
        self._flush().enqueue(
            name, wait_url=wait_url, wait_url_method="POST", action=action, method="POST"
        )
        self.waits = True
        return self

    def dial_queue(self, name: str, *, url: str, action: str) -> Reply:
        """Take the caller at the front of the named queue; ``url`` speaks to them first."""
        dial = self._flush().dial(action=action, method="POST")
        dial.queue(name, url=url, method="POST")
        self.waits = True
        return self

    def play(self, url: str) -> Reply:
        self._flush().play(url)
        return self

    def leave(self) -> Reply:
        """Leave the queue: Twilio then requests the Enqueue action (``QueueResult=leave``)."""
        self._flush().leave()
        self.ends = True
        return self

    def redirect(self, url: str) -> Reply:
        self._flush().redirect(url, method="POST")
        self.waits = True
        return self

    def hangup(self) -> Reply:
        self._flush().hangup()
        self.ends = True
        return self

    def to_xml(self) -> str:
        return str(self._flush())


def empty() -> str:
    """``<Response/>``: the answer to callbacks, and to a whisper that accepts."""
    return str(VoiceResponse())


def sms_answer(text: str | None) -> str:
    """The answer to an SMS: ``<Response><Message>text</Message></Response>``, or
    ``<Response/>`` for none."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)
