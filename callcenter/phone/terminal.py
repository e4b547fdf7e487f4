"""``callcenter call``: a phone in the terminal, driving the server through the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from callcenter.config.settings import Settings
from callcenter.phone.emulator import (
    EmulatorError,
    FlaskTransport,
    HttpTransport,
    PhoneCall,
    TwilioEmulator,
)

# Command-line options that script the caller (and the secretary), in argv order.
SCRIPT_OPTIONS = {
    "--press": "press",
    "-p": "press",
    "--say": "say",
    "-s": "say",
    "--record": "record",
    "--answer": "answer",
    "--silence": "silence",
    "--no-answer": "no-answer",
    "--busy": "busy",
    "--hold": "hold",
    "--hangup": "hangup",
}
FLAGS = {"silence", "no-answer", "busy", "hold", "hangup"}


def script_from_argv(argv: list[str]) -> list[tuple[str, str]]:
    """The scripted inputs in the order they were given on the command line."""
    script: list[tuple[str, str]] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, _, inline = arg.partition("=")
        kind = SCRIPT_OPTIONS.get(name)
        if kind in FLAGS:
            script.append((kind, ""))
        elif kind is not None:
            if inline:
                script.append((kind, inline))
            elif i + 1 < len(argv):
                script.append((kind, argv[i + 1]))
                i += 1
        i += 1
    return script


def script_from_options(options: dict[str, object]) -> list[tuple[str, str]]:
    """The scripted inputs when argv is not ours (called from Python): option by option."""
    script: list[tuple[str, str]] = []
    for name in ("press", "say", "silence", "record", "answer", "no_answer", "busy", "hold",
                 "hangup"):  # fmt: skip
        values = options.get(name) or ()
        kind = name.replace("_", "-")
        for value in values if isinstance(values, tuple) else (values,):
            script.append((kind, "" if kind in FLAGS else str(value)))
    return script


def apply(call: PhoneCall, kind: str, value: str) -> None:
    """One scripted or typed input, applied to what the call waits on."""
    actions: dict[str, Callable[[], object]] = {
        "press": lambda: call.press(value),
        "say": lambda: call.say(value),
        "silence": call.silence,
        "record": lambda: call.record(int(value or 8)),
        "answer": lambda: call.answer(press=value or "1"),
        "refuse": lambda: call.answer(press=None),
        "no-answer": call.no_answer,
        "busy": call.busy,
        "hold": call.hold,
        "hangup": call.hangup,
    }
    actions[kind]()


def _ask(call: PhoneCall) -> tuple[str, str]:
    waiting = call.waiting_for
    if waiting == "Dial":
        numbers = ", ".join(call.dial_numbers())
        choice = click.prompt(
            f"  [sonne chez {numbers}] 1 = décroche et accepte, "
            "r = refuse, n = pas de réponse, b = occupé",
            default="1",
        )
        return {"r": ("refuse", ""), "n": ("no-answer", ""), "b": ("busy", "")}.get(
            choice, ("answer", choice)
        )
    if waiting == "Enqueue":
        text = click.prompt(
            f"  [file d'attente, position {call.queue_position}] touche, "
            "vide = patienter 30 s, q = raccrocher",
            default="",
            show_default=False,
        )
        if text == "q":
            return ("hangup", "")
        return ("press", text) if text else ("hold", "")
    if waiting == "Record":
        text = click.prompt(
            "  [enregistrement] durée en secondes (0 = silence, q = raccrocher)", default="8"
        )
        if text == "q":
            return ("hangup", "")
        return ("silence", "") if text == "0" else ("record", text)
    text = click.prompt(
        "  touches ou parole (vide = silence, q = raccrocher)", default="", show_default=False
    )
    if text == "q":
        return ("hangup", "")
    if not text:
        return ("silence", "")
    if all(c in "0123456789*#" for c in text):
        return ("press", text)
    return ("say", text)


def run_call(
    settings: Settings,
    caller: str,
    called: str | None,
    url: str,
    in_process: bool,
    script: list[tuple[str, str]],
    voice_path: str | None = None,
) -> int:
    """Place the call; 0 when it ended normally, 1 on an application error."""
    with _server(settings, url, in_process) as server:
        if server is None:
            return 1
        transport, base, first_number = server
        return _place(
            transport, settings, base, caller, called or first_number, url, script, voice_path
        )


def run_sms(
    settings: Settings, sender: str, called: str | None, url: str, in_process: bool, text: str
) -> int:
    """Send one SMS to the practice's number as Twilio would; print what it answers.

    0 when the server answered (with a text or with nothing), 1 otherwise.
    """
    with _server(settings, url, in_process) as server:
        if server is None:
            return 1
        transport, base, first_number = server
        emulator = TwilioEmulator(
            transport, settings.twilio_auth_token, base, account_sid=settings.twilio_account_sid
        )
        click.echo(f"> {text}")
        try:
            answer = emulator.send_sms(sender, called or first_number, text)
        except EmulatorError as exc:
            click.echo(f"error: {exc}", err=True)
            return 1
        except OSError as exc:
            click.echo(f"error: cannot reach the server at {url} ({exc.strerror or exc})", err=True)
            return 1
        if answer.status != 200:
            click.echo(f"error: the server answered HTTP {answer.status}", err=True)
            return 1
        for line in answer.messages:
            click.echo(f"< {line}")
        if not answer.messages:
            click.echo("[pas de réponse]")
        return 0


@contextmanager
def _server(
    settings: Settings, url: str, in_process: bool
) -> Iterator[tuple[FlaskTransport | HttpTransport, str, str] | None]:
    """The server to talk to (in this process, or the running one at ``url``), its public
    base URL and the first practice's number; None, with the error said, when there is none."""
    if not in_process:
        from callcenter.config.practice import PracticeDirectory

        practices = list(PracticeDirectory.load(settings.practices_dir))
        if not practices:
            click.echo("error: no practice; run 'callcenter init --demo'", err=True)
            yield None
            return
        yield HttpTransport(url), settings.public_base_url or url, practices[0].number
        return
    from callcenter.services import StartupError
    from callcenter.web.app import create_app

    try:
        app = create_app(settings)
    except StartupError as exc:
        click.echo(f"error: {exc}", err=True)
        yield None
        return
    root = app.extensions["callcenter"]
    try:
        number = next(iter(root.practices)).number
        yield (
            FlaskTransport(app.test_client()),
            settings.public_base_url or "http://localhost",
            number,
        )
    finally:  # the webhooks flush past a hundred encryptions: count the rest
        root.flush_usage()
        root.db.dispose()


def _place(
    transport: FlaskTransport | HttpTransport,
    settings: Settings,
    base: str,
    caller: str,
    called: str,
    url: str,
    script: list[tuple[str, str]],
    voice_path: str | None,
) -> int:
    emulator = TwilioEmulator(
        transport, settings.twilio_auth_token, base, account_sid=settings.twilio_account_sid
    )
    try:
        call = emulator.place_call(caller, called, voice_path=voice_path)
        shown = 0
        steps = list(script)
        while not call.ended:
            for line in call.heard[shown:]:
                click.echo(f"< {line}")
            shown = len(call.heard)
            if script:
                kind, value = steps.pop(0) if steps else ("hangup", "")
                click.echo(f"> {kind} {value}".rstrip())
            else:
                kind, value = _ask(call)
            apply(call, kind, value)
        for line in call.heard[shown:]:
            click.echo(f"< {line}")
        for line in call.whispers:
            click.echo(f"  (chuchoté au secrétariat) {line}")
    except EmulatorError as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    except OSError as exc:
        click.echo(f"error: cannot reach the server at {url} ({exc.strerror or exc})", err=True)
        return 1
    click.echo("[appel terminé]")
    return 1 if call.application_error else 0
