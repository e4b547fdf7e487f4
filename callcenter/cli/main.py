"""The ``callcenter`` command."""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from callcenter.cli.listing import Listing, json_option
from callcenter.config.settings import SettingsError, home_from_env, load_settings, parse_now
from callcenter.core import routes

if TYPE_CHECKING:
    from collections.abc import Callable

    from callcenter.config.settings import Settings
    from callcenter.ivr.loader import FlowSet


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _settings() -> Any:
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc))


class LazyGroup(click.Group):
    """A group whose command modules are imported only when their command runs.

    Most groups open the whole composition root (SQLAlchemy, Alembic, the
    models, Twilio): importing them all up front made every command, even
    ``practices list``, take seconds to start.  ``--help`` still lists them all.
    """

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, cmd_name)


# One module per command group; each opens the composition root it needs.
_LAZY = {
    "appointments": "callcenter.cli.appointments_cmd:appointments",
    "audit": "callcenter.cli.audit_cmd:audit_group",
    "db": "callcenter.cli.db_cmd:db_group",
    "digest": "callcenter.cli.digest_cmd:digest",
    "fhir": "callcenter.cli.fhir_cmd:fhir_group",
    "keys": "callcenter.cli.keys_cmd:keys",
    "patient": "callcenter.cli.patient_cmd:patient",
    "purge": "callcenter.cli.purge_cmd:purge",
    "twilio": "callcenter.cli.twilio_cmd:twilio_group",
    "understand": "callcenter.cli.understand_cmd:understand_cmd",
    "users": "callcenter.cli.users_cmd:users",
    "worker": "callcenter.cli.worker_cmd:worker",
}


@click.group(cls=LazyGroup, lazy=_LAZY)
def main() -> None:
    """Privacy-first call handling and IVR server for medical practices."""


@main.command()
@click.option("--demo", is_flag=True, help="Add the demo practice (every journey works).")
def init(demo: bool) -> None:
    """Create the instance folder ($CALLCENTER_HOME, default ./instance)."""
    from callcenter.instance import init_instance

    home = home_from_env()
    try:
        for note in init_instance(home, demo=demo):
            click.echo(note)
    except Exception as exc:  # one clear line, whatever went wrong
        _fail(str(exc))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    default=0,
    type=int,
    help="Serve with gunicorn and N worker processes (production).",
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the webhooks and the console (/console)."""
    settings = _settings()
    if workers > 0:
        import os
        import tempfile

        # Metrics are summed across the workers through files in this folder.
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="callcenter-metrics-")
        )
        os.execvp(
            sys.executable,
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--bind",
                f"{host}:{port}",
                # Its access log (when turned on) masked as ours: no feed token, no number.
                "--logger-class",
                "callcenter.web.access_log.RedactingLogger",
                "callcenter.web.app:wsgi()",
            ],
        )
    from callcenter.services import StartupError
    from callcenter.web.app import create_app

    try:
        app = create_app(settings)
    except StartupError as exc:
        _fail(str(exc))
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False)
    finally:  # the webhooks flush past a hundred encryptions: count the rest
        app.extensions["callcenter"].flush_usage()


@main.group()
def flows() -> None:
    """Check and draw the IVR flows."""


def _checked_flows(path: Path | None, language: str) -> tuple[Path, FlowSet]:
    """The flows in ``path`` (default: the shipped ones); every error printed, exit 1 on any."""
    from callcenter.config.prompts import Catalogue, CatalogueError
    from callcenter.config.settings import DEFAULT_FLOWS_DIR
    from callcenter.ivr.loader import check_flows

    folder = path or DEFAULT_FLOWS_DIR
    if folder.is_file():
        folder = folder.parent
    try:
        catalogue = Catalogue.load(folder, language)
    except CatalogueError as exc:
        _fail(str(exc))
    flowset, errors = check_flows(folder, catalogue)
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        sys.exit(1)
    return folder, flowset


@flows.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--language", default="fr-FR", show_default=True)
@click.option(
    "--practice",
    "practice_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A practice file: its name, prompts and prompt_budgets are used for the lengths.",
)
def flows_check(path: Path | None, language: str, practice_file: Path | None) -> None:
    """Validate flow files: every error names file, node and field; exit 1 on any.

    Then every spoken prompt's length in words and seconds, with a warning
    (exit 0) for each past its budget (the practice's ``prompt_budgets``).
    """
    from callcenter.config.policy import load_policy
    from callcenter.config.practice import PROMPT_BUDGETS, PracticeError, load_practice
    from callcenter.config.prompts import Catalogue
    from callcenter.ivr.lengths import WORDS_PER_SECOND, measure

    folder, flowset = _checked_flows(path, language)
    count = sum(len(f.nodes) for f in flowset.flows.values())
    click.echo(f"{folder}: {len(flowset.flows)} flows, {count} nodes, no errors")
    budgets, values, overrides = dict(PROMPT_BUDGETS), {}, {}
    start = "main"
    if practice_file is not None:
        try:
            practice = load_practice(practice_file)
        except PracticeError as exc:
            _fail(str(exc))
        budgets, overrides = practice.prompt_budgets, practice.prompts
        values["practice_name"], start = practice.name, practice.start_flow
    values["policy_notice"] = load_policy().notice(language)
    catalogue = Catalogue.load(folder, language, overrides)
    click.echo(f"prompt lengths (words, seconds at {WORDS_PER_SECOND} words a second):")
    for length in measure(flowset, catalogue, budgets, values, start):
        mark = "  OVER" if length.over else ""
        click.echo(f"  {length.key}: {length.words} words, {length.seconds:g} s"
                   f" (budget {length.budget:g} s){mark}")  # fmt: skip
        if length.over:
            click.echo(f"warning: {length.key}: {length.seconds:g} s of speech, past the "
                       f"{length.budget:g} s budget", err=True)  # fmt: skip


@flows.command("graph")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--language", default="fr-FR", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "mermaid"]),
    default="svg",
    show_default=True,
    help="A self-contained SVG, or Mermaid flowchart text.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (default: standard output).",
)
def flows_graph(path: Path | None, language: str, fmt: str, output: Path | None) -> None:
    """Draw the flows: one panel or subgraph per flow, every way on labelled; exit 1 on errors."""
    from callcenter.ivr.diagram.graph import build_graph, to_mermaid
    from callcenter.ivr.diagram.svg import to_svg

    _, flowset = _checked_flows(path, language)
    graph = build_graph(flowset)
    text = to_svg(graph) if fmt == "svg" else to_mermaid(graph)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"{output}: {exc.strerror or exc}")


@main.group()
def practices() -> None:
    """The practices this server answers for."""


@practices.command("list")
@json_option
def practices_list(as_json: bool) -> None:
    """Print each practice's id, name and number."""
    from callcenter.config.practice import PracticeDirectory, PracticeError
    from callcenter.core.french import phone

    settings = _settings()
    try:
        directory = PracticeDirectory.load(settings.practices_dir)
    except PracticeError as exc:
        _fail(str(exc))
    listing = Listing("id", "name", "number")
    for practice in directory:
        row = [practice.id, practice.name, practice.number]
        listing.add([practice.id, practice.name, phone(practice.number)], row)
    listing.echo(as_json)


@main.group()
def secretaries() -> None:
    """The secretaries' line: PINs for taking waiting callers."""


@secretaries.command("pin")
def secretaries_pin() -> None:
    """Ask for a PIN (6 to 12 digits) and print its hash for the practice file.

    Paste the line under the secretary in the practice file: ``pin_hash: …``.
    The PIN itself is never stored; the hash is peppered with the instance's
    key ring, so it only verifies on a server holding that ring.
    """
    from callcenter.security.keyring import KeyRingError, load_keyring
    from callcenter.security.pins import PinError, hash_pin

    try:
        keyring = load_keyring(home_from_env(), dict(os.environ))
    except KeyRingError as exc:
        _fail(str(exc))
    pin = click.prompt("PIN (6 to 12 digits)", hide_input=True, confirmation_prompt=True)
    try:
        click.echo(f"pin_hash: {hash_pin(pin, keyring)}")
    except PinError as exc:
        _fail(str(exc))


def _local_phone_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``call`` and ``sms`` share: which practice, which server, when."""
    for option in reversed([
        click.option("--to", "called", help="The practice number (default: the first practice)."),
        click.option("--url", default="http://127.0.0.1:5000", show_default=True,
                     help="The running server (as configured at Twilio)."),
        click.option("--at", "at", help="At this moment (ISO 8601 with offset): runs the "
                     "server in-process with its clock frozen."),
        click.option("--in-process", is_flag=True, help="Run the server inside this command."),
    ]):  # fmt: skip
        command = option(command)
    return command


def _settings_at(at: str | None) -> Settings:
    """The instance's settings, the clock frozen at ``at`` when given."""
    settings = _settings()
    if at:
        try:
            settings = dataclasses.replace(settings, now=parse_now(at))
        except SettingsError as exc:
            _fail(str(exc))
    return settings


@main.command()
@click.option("--from", "caller", required=True, help="The caller's number (or 'anonymous').")
@_local_phone_options
@click.option(
    "--secretaries-line",
    "line",
    is_flag=True,
    help="Call the secretaries' line (/twilio/queue/agent) instead of the practice.",
)
@click.option("--press", "-p", multiple=True, help="Scripted: press keys.")
@click.option("--say", "-s", multiple=True, help="Scripted: say this.")
@click.option("--silence", is_flag=True, multiple=True, help="Scripted: say nothing.")
@click.option("--record", type=int, multiple=True, help="Scripted: speak N seconds after the beep.")
@click.option("--answer", multiple=True, help="Scripted: the secretary picks up and presses KEY.")
@click.option("--no-answer", is_flag=True, multiple=True, help="Scripted: nobody picks up.")
@click.option("--busy", is_flag=True, multiple=True, help="Scripted: every line is busy.")
@click.option("--hold", is_flag=True, multiple=True, help="Scripted: wait 30 s in the queue.")
@click.option("--hangup", is_flag=True, help="Scripted: hang up at that point.")
def call(
    caller: str,
    called: str | None,
    url: str,
    at: str | None,
    in_process: bool,
    line: bool,
    **script_options: Any,
) -> None:
    """A local phone: call the practice as Twilio would, interactively or from a script.

    Scripted inputs are played in the order given, e.g.
    ``callcenter call --from +33612345678 --press 3 --answer 1``.
    """
    from callcenter.phone.terminal import run_call, script_from_argv, script_from_options

    settings = _settings_at(at)
    # Click gives each option's values apart; the order between them lives in argv.
    argv = sys.argv[sys.argv.index("call") + 1 :] if "call" in sys.argv else []
    script = script_from_argv(argv) or script_from_options(script_options)
    voice_path = routes.QUEUE_AGENT if line else None
    sys.exit(run_call(settings, caller, called, url, in_process or bool(at), script, voice_path))


@main.command()
@click.option("--from", "sender", required=True, help="The patient's number.")
@_local_phone_options
@click.argument("text", nargs=-1, required=True)
def sms(
    sender: str, called: str | None, url: str, at: str | None, in_process: bool, text: tuple[str]
) -> None:
    """A patient's SMS to the practice's number, as Twilio delivers it: prints the answer.

    E.g. ``callcenter sms --from +33612345678 ANNULER`` (also OUI, STOP, START).
    """
    from callcenter.phone.terminal import run_sms

    settings = _settings_at(at)
    sys.exit(run_sms(settings, sender, called, url, in_process or bool(at), " ".join(text)))


if __name__ == "__main__":
    main()
