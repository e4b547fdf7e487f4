"""Understanding one caller's sentence: intent, doctor, day, period, time, urgency.

Every word comes from a per-language catalogue (flows/understanding/<language>.yaml),
so another language is a catalogue, not code. Imports only config and core.
"""

from callcenter.understanding.catalogue import Catalogue, CatalogueError, instance_files
from callcenter.understanding.request import Request
from callcenter.understanding.understand import understand

__all__ = ["Catalogue", "CatalogueError", "Request", "instance_files", "understand"]
