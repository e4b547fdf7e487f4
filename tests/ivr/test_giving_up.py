"""Every question of the shipped flows, once it gives up, tells the caller where they go.

Silence twice (or answers not understood ``max_attempts`` times) leads to
``on_failure``: a person or a message, never a hang-up, and always with a
sentence first.  Walked on the flow files, so a new menu cannot forget it.
"""

from __future__ import annotations

import pytest

from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.ivr.loader import FlowSet, load_flows
from callcenter.ivr.nodes.appointment import AppointmentsOpen
from callcenter.ivr.nodes.asking import AskingNode
from callcenter.ivr.nodes.base import Node
from callcenter.ivr.nodes.basic import Flag, Goto, Hangup, Hours, Menu, Say, Transfer
from callcenter.ivr.nodes.waiting import Queue

FLOWS = load_flows(DEFAULT_FLOWS_DIR, Catalogue.load(DEFAULT_FLOWS_DIR, "fr-FR"))
QUESTIONS = [n for n in FLOWS if isinstance(n, (Menu, AskingNode))]


def speaks_first(flows: FlowSet, node: Node, ref: str, depth: int = 0) -> bool:
    """Whether going to ``ref`` from ``node`` says something before asking or hanging up."""
    target = flows.resolve(node.flow, ref)
    assert depth < 10, f"{node.key}: a loop of silent steps"
    if isinstance(target, (Say, Hangup)):
        return bool(target.texts)
    if isinstance(target, Queue):
        return True  # its introduction
    if isinstance(target, Transfer):  # says its prompt when someone is rung; nobody: on_nobody
        return bool(target.prompt) and speaks_first(flows, target, target.on_nobody, depth + 1)
    if isinstance(target, (Goto, Flag, Hours, AppointmentsOpen)):  # silent steps: every way on
        return all(speaks_first(flows, target, r, depth + 1) for r in target.targets().values())
    return False  # a question asked with no word of why (a date of birth, a message…)


def test_the_shipped_flows_have_questions() -> None:
    keys = {n.key for n in QUESTIONS}
    assert {"main.menu_open", "main.menu_closed", "main.menu_closed_booking",
            "appointment.slots", "appointment.confirm"} <= keys  # fmt: skip


@pytest.mark.parametrize("node", QUESTIONS, ids=[n.key for n in QUESTIONS])
def test_giving_up_says_where_the_caller_goes(node: Node) -> None:
    assert isinstance(node, (Menu, AskingNode))
    assert node.failure_prompt or speaks_first(FLOWS, node, node.on_failure), node.key
