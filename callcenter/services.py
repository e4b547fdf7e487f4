"""Everything a process needs, built once from the settings.

Start-up fails here, with one line naming the problem, rather than mid-call:
practice files, prompt catalogues and flows are all loaded and checked now.
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.clock import Clock
from callcenter.db import Database
from callcenter.flow.engine import CallEngine, PracticeRuntime
from callcenter.flow.loader import load_flows
from callcenter.practice import Practice, PracticeDirectory
from callcenter.prompts import Catalogue
from callcenter.settings import Settings


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
    return PracticeRuntime(practice, catalogue, load_flows(flows_dir, catalogue,
                                                           practice.start_flow))


def build_services(settings: Settings, db: Database | None = None) -> Services:
    practices = PracticeDirectory.load(settings.practices_dir)
    runtimes = {p.id: runtime_for(p, settings) for p in practices}
    default_catalogue = Catalogue.load(settings.flows_dir, "fr-FR")
    return Services(
        settings=settings,
        db=db or Database(settings.database_url),
        practices=practices,
        engine=CallEngine(practices, runtimes, default_catalogue),
        clock=Clock(settings.now),
    )
