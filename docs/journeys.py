"""What every caller hears: each journey, called on the demo practice, into docs/journeys.md.

Run: ``make journeys`` (or ``.venv/bin/python docs/journeys.py [OUT_FILE]``).
A test regenerates the file and fails when it differs (tests/test_journeys_doc.py),
so the transcript stays true: after a change of wording or of flow, run it again.

1. A demo instance in a temporary folder, as ``callcenter init --demo`` makes it;
   Twilio's REST API points nowhere (no SMS leaves).
2. Each journey is one call through the Twilio emulator, in-process (the machinery
   of ``callcenter call --in-process``), its clock frozen at a fixed moment; the
   journeys run in order on the same instance, so the caller who registers in the
   first one is a known patient in the next ones.
3. The transcript of each call, in the form ``callcenter call`` prints it, with the
   command that replays it (on a fresh ``callcenter init --demo``, in the same order).
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask

from callcenter.config.settings import load_settings
from callcenter.instance import DEMO_PRACTICE, init_instance
from callcenter.phone.emulator import FlaskTransport, TwilioEmulator
from callcenter.phone.terminal import apply
from callcenter.services import Services
from callcenter.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "journeys.md"
NUMBER = str(DEMO_PRACTICE["number"])
CALLER = "+33612345678"
DOB = "15031980"  # the caller's date of birth, keyed DDMMYYYY
# Settings the environment could give that would take the demo elsewhere.
FOREIGN = ("DATABASE_URL", "DATABASE_URL_FILE", "CALLCENTER_KEYRING", "CALLCENTER_KEYRING_FILE",
           "PUBLIC_BASE_URL", "TWILIO_API_BASE", "CALLCENTER_NOW")  # fmt: skip

# Fixed moments (Paris), in the week of Tuesday 8 December 2026.
OPEN = "2026-12-08T10:00:00+01:00"  # Tuesday, open
OPEN_LATER = "2026-12-08T10:30:00+01:00"
SUNDAY_NIGHT = "2026-12-13T22:00:00+01:00"  # closed; on call: docteur Bernard
WEEKDAY_NIGHT = "2026-12-09T21:00:00+01:00"  # Wednesday, closed; on call: docteure Martin
CHRISTMAS = "2026-12-25T10:00:00+01:00"  # a public holiday


@dataclass(frozen=True)
class Journey:
    title: str
    at: str
    script: tuple[tuple[str, str], ...]  # (kind, value) as `callcenter call` takes them
    caller: str = CALLER
    note: str = ""


def steps(*items: str) -> tuple[tuple[str, str], ...]:
    """The caller's script, short: "1" presses 1, "say:mots" speaks, "no-answer" as in the CLI."""
    script = []
    for item in items:
        kind, sep, value = item.partition(":")
        if sep:
            script.append((kind, value))
        elif item in ("silence", "no-answer", "busy", "hangup"):
            script.append((item, ""))
        else:
            script.append(("press", item))
    return tuple(script)


JOURNEYS = (
    Journey("Nouvel appelant : il s'enregistre et prend un premier rendez-vous", OPEN,
            steps("1", DOB, "say:Jean Dupont", "1", "1", "1", "1"),
            note="Numéro inconnu : date de naissance et nom, puis une première consultation."),
    Journey("Patient connu : prendre rendez-vous, un autre choix", OPEN_LATER,
            steps("1", DOB, "1", "2", "4", "4", "1", "1"),
            note="Identifié par sa date de naissance ; « autre choix » (4), "
                 "puis l'après-midi (4)."),
    Journey("Aucun créneau ne convient : la liste d'attente", OPEN_LATER,
            steps("1", DOB, "1", "1", "4", "5", "say:jeudi", "1"),
            note="« Autre choix » (4), puis être prévenu par SMS (5) : avant jeudi, le matin. "
                 "Un créneau qui se libère sera proposé par SMS ; le premier OUI le prend."),
    Journey("Un jour où le médecin est absent", OPEN_LATER,
            steps("1", DOB, "1", "1", "say:le 22 décembre", "1", "1"),
            note="Docteure Martin est absente du 21 décembre au 3 janvier."),
    Journey("Dire ce que l'on souhaite : un médecin et un jour", OPEN,
            steps("say:je voudrais un rendez-vous avec le docteur bernard vendredi après-midi",
                  DOB, "1", "1"),
            note="La question ouverte : le médecin et le jour dits d'une traite mènent, après "
                 "l'identification, aux créneaux de ce médecin ce jour-là."),
    Journey("Déplacer un rendez-vous", OPEN_LATER, steps("1", DOB, "2", "1", "2", "1", "1")),
    Journey("Annuler un rendez-vous", OPEN_LATER, steps("1", DOB, "2", "1", "1", "1")),
    Journey("Laisser un message", OPEN,
            steps("2", DOB, "say:Je voudrais le résultat de ma prise de sang", "1")),
    Journey("Renouveler une ordonnance", OPEN,
            steps("say:je voudrais renouveler mon ordonnance de ventoline", DOB, "1",
                  "say:de la Ventoline"),
            note="Une demande, pas un message : le médecin la traite dans la console et le "
                 "patient reçoit un SMS qui dit seulement que sa demande a été traitée."),
    Journey("Secrétariat : une secrétaire répond", OPEN, steps("3", "answer:1")),
    Journey("Secrétariat : personne ne répond", OPEN,
            steps("3", "no-answer", DOB, "say:Merci de me rappeler", "1")),
    Journey("Urgence en journée : le secrétariat répond", OPEN, steps("9", "answer:1")),
    Journey("Urgence en journée : personne ne répond", OPEN,
            steps("9", "no-answer", "say:Mon fils a de la fièvre")),
    Journey("Urgence la nuit : le médecin de garde répond", WEEKDAY_NIGHT,
            steps("9", "answer:1")),
    Journey("Urgence la nuit : personne ne répond", WEEKDAY_NIGHT,
            steps("9", "no-answer", "say:Mon fils a de la fièvre")),
    Journey("Dimanche soir : prendre rendez-vous", SUNDAY_NIGHT,
            steps("1", DOB, "1", "1", "1", "1")),
    Journey("Dimanche soir : silence au menu", SUNDAY_NIGHT,
            steps("silence", "silence", DOB, "say:Rappelez-moi demain")),
    Journey("Numéro masqué", OPEN,
            steps("2", "0612345678", DOB, "#", "say:Je rappellerai", "1"),
            caller="anonymous",
            note="Le numéro n'est pas présenté : l'appelant le tape. Un numéro tapé ne prouve "
                 "rien : toujours une nouvelle fiche, jamais celle d'un patient existant."),
    Journey("Jour férié : prendre rendez-vous", CHRISTMAS, steps("1", DOB, "1", "2", "1", "1")),
)  # fmt: skip


@contextmanager
def own_environment() -> Iterator[None]:
    """The demo's settings only, whatever this shell exports (restored afterwards)."""
    saved = {name: os.environ.pop(name) for name in FOREIGN if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextmanager
def demo_app(folder: Path) -> Iterator[Flask]:
    with own_environment():
        home = folder / "instance"
        init_instance(home, demo=True)
        settings = load_settings({"CALLCENTER_HOME": str(home), "CALLCENTER_NOW": OPEN,
                                  "TWILIO_API_BASE": "http://127.0.0.1:9"})  # fmt: skip
    app = create_app(settings)
    logging.getLogger().setLevel(logging.WARNING)  # not every webhook of the demo's calls
    try:
        yield app
    finally:
        services(app).db.dispose()


def services(app: Flask) -> Services:
    svc: Services = app.extensions["callcenter"]
    return svc


def transcript(app: Flask, journey: Journey) -> list[str]:
    """The call, as ``callcenter call`` prints it: ``<`` heard, ``>`` done."""
    svc = services(app)
    svc.clock.frozen = datetime.fromisoformat(journey.at)
    settings = svc.settings
    phone = TwilioEmulator(FlaskTransport(app.test_client()), settings.twilio_auth_token,
                           settings.public_base_url or "http://localhost",
                           account_sid=settings.twilio_account_sid)  # fmt: skip
    call = phone.place_call(journey.caller, NUMBER)
    lines: list[str] = []
    shown = 0
    steps = list(journey.script)
    while not call.ended:
        lines += [f"< {line}" for line in call.heard[shown:]]
        shown = len(call.heard)
        kind, value = steps.pop(0) if steps else ("hangup", "")
        lines.append(f"> {kind} {value}".rstrip())
        apply(call, kind, value)
    lines += [f"< {line}" for line in call.heard[shown:]]
    lines += [f"  (chuchoté au secrétariat) {line}" for line in call.whispers]
    if steps:
        raise SystemExit(f"{journey.title}: the call ended with {steps} left")
    return lines


def command(journey: Journey) -> str:
    words = ["callcenter", "call", "--from", journey.caller, "--at", journey.at]
    for kind, value in journey.script:
        words += [f"--{kind}"] + ([value] if value else [])
    return shlex.join(words)


def render() -> str:
    parts = [
        "# What callers hear, journey by journey",
        "",
        "Generated by `make journeys` (`docs/journeys.py`): each journey is a call",
        "placed through the Twilio emulator on the demo practice, in order, each at a",
        "fixed moment; `<` is what the caller hears, `>` what they do. Do not edit by",
        "hand: a test fails when this file differs from what the calls say.",
        "",
    ]
    with tempfile.TemporaryDirectory() as folder, demo_app(Path(folder)) as app:
        for i, journey in enumerate(JOURNEYS, start=1):
            parts += [f"## {i}. {journey.title}", ""]
            if journey.note:
                parts += [journey.note, ""]
            parts += ["```sh", command(journey), "```", "", "```text"]
            parts += transcript(app, journey)
            parts += ["```", ""]
    return "\n".join(parts)


def main(argv: list[str]) -> None:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.write_text(render(), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
