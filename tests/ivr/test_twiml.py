"""TwiML from string templates is byte for byte what twilio's builder writes.

Every verb and attribute :mod:`callcenter.ivr.twiml` uses is built both ways,
with hostile text in every place text goes (``& < > " '``, newlines, tabs,
odd Unicode, a lone surrogate): the documents must be equal, and parse.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from callcenter.ivr.twiml import Reply, Voice, empty, sms_answer

HOSTILE = [
    "Pour prendre rendez-vous, tapez 1.",
    "& < > \" ' &amp; ]]> <Say>",
    "a\nb\r\nc\td",
    "é😷\u200f\u202e e\u0301 \ufeff ß ﬁ 東京",
    "\x00\x1f",
    '/twilio/step?seq=3&call=%7Eodd&x="y"',
    "\ud800",
]
NOT_XML = {"\x00\x1f", "\ud800"}  # characters XML 1.0 has no place for
VOICES = [Voice(), Voice("en-GB", "Polly.Amy"), Voice("fr-FR", 'a"b<&>\n')]


class Reference:
    """The same document through twilio's VoiceResponse, as twiml.py built it before."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self.response = VoiceResponse()
        self.held: list[str] = []

    def _say_in(self, parent, texts: Iterable[str]) -> None:
        for text in texts:
            if text:
                parent.say(text, language=self.voice.language, voice=self.voice.voice)

    def _flush(self) -> VoiceResponse:
        self._say_in(self.response, self.held)
        self.held = []
        return self.response

    def say(self, *texts: str) -> Reference:
        self.held.extend(t for t in texts if t)
        return self

    def pause(self, seconds: int = 1) -> Reference:
        self._flush().pause(length=seconds)
        return self

    def gather(
        self,
        action,
        prompts,
        *,
        digits=1,
        speech=True,
        dtmf=True,
        timeout=5,
        hints=(),
        finish_on_key=None,
    ) -> Reference:
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
            if [h for h in hints if h]:
                kwargs["hints"] = ",".join(h for h in hints if h)
        gather = self.response.gather(**kwargs)
        held, self.held = self.held, []
        self._say_in(gather, (*held, *prompts))
        self.response.redirect(action, method="POST")
        return self

    def gather_while(self, action, prompts, *, music, pause) -> Reference:
        gather = self._flush().gather(
            action=action,
            method="POST",
            input="dtmf",
            num_digits=1,
            timeout=1,
            action_on_empty_result=False,
        )
        self._say_in(gather, prompts)
        if music:
            gather.play(music)
        else:
            gather.pause(length=pause)
        return self

    def record(
        self, action, *, max_length, timeout=5, status_callback=None, transcribe_callback=None
    ) -> Reference:
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
        self.response.redirect(action, method="POST")
        return self

    def start_transcription(self, name, status_callback) -> Reference:
        self._flush().start().transcription(
            name=name,
            track="inbound_track",
            language_code=self.voice.language,
            partial_results=False,
            status_callback_url=status_callback,
            status_callback_method="POST",
        )
        return self

    def stop_transcription(self, name) -> Reference:
        self._flush().stop().transcription(name=name)
        return self

    def dial(self, numbers, *, action, timeout, caller_id=None, sequential=False) -> Reference:
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
        return self

    def enqueue(self, name, *, wait_url, action) -> Reference:
        self._flush().enqueue(
            name, wait_url=wait_url, wait_url_method="POST", action=action, method="POST"
        )
        return self

    def dial_queue(self, name, *, url, action) -> Reference:
        self._flush().dial(action=action, method="POST").queue(name, url=url, method="POST")
        return self

    def play(self, url) -> Reference:
        self._flush().play(url)
        return self

    def leave(self) -> Reference:
        self._flush().leave()
        return self

    def redirect(self, url) -> Reference:
        self._flush().redirect(url, method="POST")
        return self

    def hangup(self) -> Reference:
        self._flush().hangup()
        return self

    def to_xml(self) -> str:
        return str(self._flush())


Script = Callable[[Any, str], Any]


def _gathers() -> list[tuple[str, Script]]:
    scripts: list[tuple[str, Script]] = []
    combos = itertools.product(
        [None, 0, 1, 8],
        [True, False],
        [True, False],
        [(), ("",), ("docteur", "")],
        [None, "", "#"],
        [True, False],
    )
    for digits, speech, dtmf, hints, finish, said_before in combos:
        timeout = 0 if digits == 0 else 5

        def script(
            r,
            t,
            digits=digits,
            speech=speech,
            dtmf=dtmf,
            timeout=timeout,
            hints=hints,
            finish=finish,
            said_before=said_before,
        ):
            if said_before:
                r.say(t, "", "puis")
            hint_list = (*hints, t) if hints else ()
            return r.gather(
                t,
                [t, "", "ensuite"],
                digits=digits,
                speech=speech,
                dtmf=dtmf,
                timeout=timeout,
                hints=hint_list,
                finish_on_key=t if finish == "#" and said_before else finish,
            )

        scripts.append(
            (f"gather-{digits}-{speech}-{dtmf}-{len(hints)}-{finish}-{said_before}", script)
        )
    return scripts


SCRIPTS: list[tuple[str, Script]] = [
    ("nothing", lambda r, t: r),
    ("say", lambda r, t: r.say(t)),
    ("say-empty", lambda r, t: r.say("", t, "")),
    ("say-pause", lambda r, t: r.say(t).pause().say(t).pause(3)),
    *_gathers(),
    ("gather-no-prompts", lambda r, t: r.gather(t, [])),
    ("gather-while-music", lambda r, t: r.say(t).gather_while(t, [t, ""], music=t, pause=2)),
    ("gather-while-pause", lambda r, t: r.gather_while(t, [t], music=None, pause=2)),
    ("gather-while-empty-music", lambda r, t: r.gather_while(t, [], music="", pause=0)),
    ("record", lambda r, t: r.say(t).record(t, max_length=120)),
    (
        "record-callbacks",
        lambda r, t: r.record(
            t, max_length=60, timeout=3, status_callback=t, transcribe_callback=t
        ),
    ),
    ("record-status", lambda r, t: r.record(t, max_length=60, status_callback=t)),
    ("record-transcribe", lambda r, t: r.record(t, max_length=60, transcribe_callback=t)),
    ("transcription", lambda r, t: r.say(t).start_transcription(t, t).stop_transcription(t)),
    (
        "dial",
        lambda r, t: r.say(t).dial([(t, None), (t, t), ("+33100000000", "")], action=t, timeout=20),
    ),
    (
        "dial-options",
        lambda r, t: r.dial([(t, t)], action=t, timeout=0, caller_id=t, sequential=True),
    ),
    ("dial-empty-options", lambda r, t: r.dial([], action=t, timeout=5, caller_id="")),
    ("enqueue", lambda r, t: r.say(t).enqueue(t, wait_url=t, action=t)),
    ("dial-queue", lambda r, t: r.say(t).dial_queue(t, url=t, action=t)),
    ("play", lambda r, t: r.say(t).play(t)),
    ("leave", lambda r, t: r.say(t).leave()),
    ("redirect", lambda r, t: r.say(t).redirect(t)),
    ("hangup", lambda r, t: r.say(t).hangup()),
    (
        "all",
        lambda r, t: (
            r.say(t)
            .pause(2)
            .gather(t, [t], hints=[t])
            .say(t)
            .record(t, max_length=5, status_callback=t)
            .play(t)
            .dial([(t, t)], action=t, timeout=3)
            .say(t)
        ),
    ),
]


@pytest.mark.parametrize(("name", "script"), SCRIPTS, ids=[name for name, _ in SCRIPTS])
def test_each_verb_is_written_as_twilios_builder_writes_it(name, script):
    for text, voice in itertools.product(HOSTILE, VOICES):
        ours = script(Reply(voice), text).to_xml()
        assert ours == script(Reference(voice), text).to_xml(), (text, voice)
        if text not in NOT_XML:  # the builder writes these through as well
            ET.fromstring(ours.encode())


@pytest.mark.parametrize("text", [None, "", *HOSTILE])
def test_an_sms_answer_is_written_as_twilios_messaging_builder_writes_it(text):
    reference = MessagingResponse()
    if text:
        reference.message(text)
    assert sms_answer(text) == str(reference)


def test_the_empty_answer_is_twilios():
    assert empty() == str(VoiceResponse())


def test_a_document_can_be_written_twice_and_extended():
    reply, reference = Reply(Voice()), Reference(Voice())
    for built in (reply, reference):
        built.say("un")
    assert reply.to_xml() == reference.to_xml()
    for built in (reply, reference):
        built.say("deux").hangup()
    assert reply.to_xml() == reference.to_xml()
