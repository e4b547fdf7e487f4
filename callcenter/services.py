"""Everything a process needs, built once from the settings.

Start-up fails here, with one line naming the problem, rather than mid-call:
practice files, prompt catalogues and flows are all loaded and checked now.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.clock import Clock
from callcenter.db import Database
from callcenter.flow.base import FlowError
from callcenter.flow.engine import CallEngine, PracticeRuntime
from callcenter.flow.loader import load_flows
from callcenter.practice import Practice, PracticeDirectory, PracticeError
from callcenter.prompts import Catalogue, CatalogueError
from callcenter.settings import Settings


class StartupError(Exception):
    """The instance cannot serve: one line naming the file and the problem."""


@dataclass
class Services:
    settings: Settings
    db: Database
    practices: PracticeDirectory
    engine: CallEngine
    clock: Clock


def runtime_for(practice: Practice, settings: Settings) -> PracticeRuntime:
    flows_dir = practice.flows_dir or settings.flows_dir
    catalogue = Catalogue.load(flows_dir, practice.language, practice.prompts)
    return PracticeRuntime(
        practice, catalogue, load_flows(flows_dir, catalogue, practice.start_flow)
    )


def build_services(settings: Settings, db: Database | None = None) -> Services:
    try:
        practices = PracticeDirectory.load(settings.practices_dir)
        runtimes = {p.id: runtime_for(p, settings) for p in practices}
        default_catalogue = Catalogue.load(settings.flows_dir, "fr-FR")
    except (PracticeError, CatalogueError, FlowError) as exc:
        raise StartupError(str(exc)) from None
    return Services(
        settings=settings,
        db=db or Database(settings.database_url),
        practices=practices,
        engine=CallEngine(practices, runtimes, default_catalogue),
        clock=Clock(settings.now),
    )
