"""Reading and checking flow files.

A flow file (``flows/<name>.yaml``) has a ``start`` node and a ``nodes``
mapping.  A reference is a node of the same flow (``menu``) or the start of
another flow (``@urgent``).  :func:`check_flows` gathers every error, each
naming file, node and field, so ``callcenter flows check`` reports them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.config.prompts import Catalogue, CatalogueError
from callcenter.core.yaml_fields import Fields, NotYaml, load_yaml
from callcenter.ivr.fallback import REQUIRED_PROMPTS
from callcenter.ivr.nodes import appointment as _booking  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import basic as _nodes  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import callback as _callback  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import identify as _identify  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import my_appointments as _mine  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import notice as _notice  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import open_question as _open  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import requests as _requests  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import urgent as _urgent  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import waiting as _queue  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes import waitlist as _waitlist  # noqa: F401  (registers the node types)
from callcenter.ivr.nodes.base import NODE_TYPES, FlowError, Node

MAX_CHAIN = 40  # nodes one answer may pass through: a loop with no wait is a flow bug


@dataclass
class Flow:
    name: str
    file: str
    start: str
    nodes: dict[str, Node] = field(default_factory=dict)


@dataclass
class FlowSet:
    flows: dict[str, Flow]

    def resolve(self, flow: str, ref: str) -> Node:
        """The node a reference from ``flow`` names."""
        if ref.startswith("@"):
            target = self.flows[ref[1:]]
            return target.nodes[target.start]
        return self.flows[flow].nodes[ref]

    def node(self, flow: str, node_id: str) -> Node:
        return self.flows[flow].nodes[node_id]

    def __iter__(self) -> Iterator[Node]:
        for flow in self.flows.values():
            yield from flow.nodes.values()


def _parse_file(path: Path, errors: list[FlowError]) -> Flow | None:
    name = path.stem
    try:
        raw = load_yaml(path)
    except NotYaml as exc:
        errors.append(FlowError(path.name, None, None, str(exc)))
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), dict) or not raw["nodes"]:
        errors.append(FlowError(path.name, None, "nodes", "needs a mapping of node ids to nodes"))
        return None
    unknown = set(raw) - {"start", "nodes", "description"}
    for key in sorted(unknown):
        errors.append(FlowError(path.name, None, key, "unknown field"))
    flow = Flow(name=name, file=path.name, start=str(raw.get("start", "")))
    if flow.start not in raw["nodes"]:
        errors.append(FlowError(path.name, None, "start", f"names no node ({flow.start!r})"))
    for node_id, spec in raw["nodes"].items():
        node_id = str(node_id)
        if not isinstance(spec, dict):
            errors.append(FlowError(path.name, node_id, None, "must be a mapping"))
            continue
        kind = spec.get("type")
        cls = NODE_TYPES.get(str(kind))
        if cls is None:
            known = ", ".join(sorted(NODE_TYPES))
            errors.append(FlowError(path.name, node_id, "type", f"{kind!r} is not one of {known}"))
            continue
        node = cls(file=path.name, flow=name, id=node_id, raw=spec)
        try:
            Fields(spec, error=node.error).refuse_unknown(cls.FIELDS | {"type"})
            node.parse()
        except FlowError as exc:
            errors.append(exc)
            continue
        flow.nodes[node_id] = node
    return flow


def _check_references(flows: dict[str, Flow], errors: list[FlowError]) -> None:
    for flow in flows.values():
        for node in flow.nodes.values():
            for field_name, ref in node.targets().items():
                if field_name == "on_failure" and ref == node.id:
                    message = "leads back to this node: a caller who fails could never leave"
                    errors.append(node.error(field_name, message))
                if ref.startswith("@"):
                    if ref[1:] not in flows:
                        errors.append(node.error(field_name, f"no flow named {ref[1:]!r}"))
                elif ref not in flow.nodes:
                    errors.append(node.error(field_name, f"no node named {ref!r} in this flow"))


def _check_reachable(flows: dict[str, Flow], errors: list[FlowError]) -> None:
    for flow in flows.values():
        seen: set[str] = set()
        todo = [flow.start] if flow.start in flow.nodes else []
        while todo:
            current = todo.pop()
            if current in seen or current not in flow.nodes:
                continue
            seen.add(current)
            todo.extend(r for r in flow.nodes[current].targets().values() if not r.startswith("@"))
        for node_id, node in flow.nodes.items():
            if node_id not in seen:
                errors.append(node.error(None, f"unreachable from the start node {flow.start!r}"))


def _check_catalogue(flows: dict[str, Flow], catalogue: Catalogue, errors: list[FlowError]) -> None:
    for key in REQUIRED_PROMPTS:
        if not catalogue.has(key):
            message = "is missing: the server speaks it on the error and transfer paths"
            errors.append(FlowError(catalogue.source, None, key, message))
    for flow in flows.values():
        for node in flow.nodes.values():
            for field_name, key in node.prompts().items():
                if not catalogue.has(key):
                    message = f"prompt {key!r} is not in the {catalogue.language} catalogue"
                    errors.append(node.error(field_name, message))
            for intent in node.intents():
                if intent not in catalogue.intents:
                    message = f"intent {intent!r} is not in the {catalogue.language} catalogue"
                    errors.append(node.error("options", message))


def check_flows(
    folder: Path, catalogue: Catalogue | None = None, start_flow: str = "main"
) -> tuple[FlowSet, list[FlowError]]:
    """Load every flow in ``folder``; return them with every error found."""
    errors: list[FlowError] = []
    files = sorted(folder.glob("*.yaml"))
    if not files:
        errors.append(FlowError(str(folder), None, None, "no flow files (*.yaml)"))
    flows = {flow.name: flow for path in files if (flow := _parse_file(path, errors))}
    if files and start_flow not in flows:
        errors.append(FlowError(f"{start_flow}.yaml", None, None, "the start flow is missing"))
    _check_references(flows, errors)
    _check_reachable(flows, errors)
    if catalogue is None:
        try:
            catalogue = Catalogue.load(folder, "fr-FR")
        except CatalogueError as exc:
            errors.append(FlowError(str(folder), None, "prompts", str(exc)))
    if catalogue is not None:
        _check_catalogue(flows, catalogue, errors)
    return FlowSet(flows), errors


def load_flows(folder: Path, catalogue: Catalogue, start_flow: str = "main") -> FlowSet:
    """Load flows for serving: any error stops start-up."""
    flows, errors = check_flows(folder, catalogue, start_flow)
    if errors:
        raise errors[0]
    return flows
