"""The IVR flows as a graph, for ``callcenter flows graph`` and the console.

:func:`build_graph` turns a loaded :class:`~callcenter.ivr.loader.FlowSet`
into plain data — nodes (flow, id, type) and labelled edges, jumps between
flows included — so each renderer only draws: :func:`to_mermaid` here,
:func:`callcenter.ivr.diagram.svg.to_svg` for a self-contained SVG.  Edges
come from each node's ``transitions()`` (its ``targets()`` unless it can say
more), so a new node type appears in the diagrams without changes here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from callcenter.ivr.loader import FlowSet

NodeKey = tuple[str, str]  # (flow, node id): node ids may repeat across flows


@dataclass(frozen=True)
class GraphNode:
    flow: str
    id: str
    kind: str  # the node's ``type:`` in the flow file
    start: bool = False  # the flow's start node

    @property
    def key(self) -> NodeKey:
        return (self.flow, self.id)


@dataclass(frozen=True)
class GraphEdge:
    """One arrow: every way from ``source`` to ``target`` (menu key, outcome…) as a label."""

    source: NodeKey
    target: NodeKey
    labels: tuple[str, ...]

    @property
    def jump(self) -> bool:
        """Whether the edge leaves its flow (``@other`` or a ``goto``)."""
        return self.source[0] != self.target[0]


@dataclass
class FlowGraph:
    """Flows in reading order (the start flow first), their nodes in file order."""

    start_flow: str
    flows: dict[str, list[GraphNode]] = field(default_factory=dict)
    edges: list[GraphEdge] = field(default_factory=list)

    def nodes(self) -> list[GraphNode]:
        return [node for nodes in self.flows.values() for node in nodes]

    def shown_labels(self, edge: GraphEdge) -> tuple[str, ...]:
        """The labels a diagram prints: none on a node's only way on (nothing to tell apart)."""
        alone = sum(e.source == edge.source for e in self.edges) == 1
        return () if alone else edge.labels


def build_graph(flowset: FlowSet, start_flow: str = "main") -> FlowGraph:
    """The graph of ``flowset``; references that name nothing are left out.

    A set with errors (from :func:`~callcenter.ivr.loader.check_flows`) still
    draws what could be read; callers that must refuse it check the errors.
    """
    flows = flowset.flows
    edges: dict[tuple[NodeKey, NodeKey], list[str]] = {}
    for flow in flows.values():
        for node in flow.nodes.values():
            for label, ref in node.transitions():
                target = _resolve(flowset, flow.name, ref)
                if target is not None:
                    labels = edges.setdefault(((flow.name, node.id), target), [])
                    if label not in labels:
                        labels.append(label)
    graph = FlowGraph(start_flow=start_flow)
    for name in _reading_order(flowset, start_flow, list(edges)):
        flow = flows[name]
        graph.flows[name] = [
            GraphNode(name, node.id, node.type_name, start=node.id == flow.start)
            for node in flow.nodes.values()
        ]
    place = {node.key: n for n, node in enumerate(graph.nodes())}
    ordered = sorted(edges.items(), key=lambda item: place[item[0][0]])  # reading order
    graph.edges = [GraphEdge(s, t, tuple(labels)) for (s, t), labels in ordered]
    return graph


def _resolve(flowset: FlowSet, flow: str, ref: str) -> NodeKey | None:
    if ref.startswith("@"):
        target = flowset.flows.get(ref[1:])
        if target is None or target.start not in target.nodes:
            return None
        return (target.name, target.start)
    return (flow, ref) if ref in flowset.flows[flow].nodes else None


def _reading_order(
    flowset: FlowSet, start_flow: str, edges: list[tuple[NodeKey, NodeKey]]
) -> list[str]:
    """The start flow, then flows as its jumps reach them, then the rest by name."""
    order: list[str] = []
    todo = deque([start_flow] if start_flow in flowset.flows else [])
    while todo:
        name = todo.popleft()
        if name in order:
            continue
        order.append(name)
        todo.extend(t[0] for s, t in edges if s[0] == name and t[0] != name)
    return order + sorted(set(flowset.flows) - set(order))


# -- Mermaid ---------------------------------------------------------------------
def to_mermaid(graph: FlowGraph) -> str:
    """A ``flowchart TD`` with one subgraph per flow.

    Ids are generated (``f0``, ``n0``…), never taken from the flow files, and
    every label is quoted with anything but letters, digits and plain
    punctuation written as a Mermaid entity (``#60;``), so a label cannot end
    its quotes, open HTML or start Markdown.
    """
    ids: dict[NodeKey, str] = {}
    lines = ["flowchart TD"]
    for f, (name, nodes) in enumerate(graph.flows.items()):
        lines.append(f'    subgraph f{f}["{mermaid_text(name)}"]')
        for node in nodes:
            ids[node.key] = f"n{len(ids)}"
            text = f"{node.id} ({node.kind})"
            shape = '(["{}"])' if node.start else '["{}"]'
            lines.append(f"        {ids[node.key]}{shape.format(mermaid_text(text))}")
        lines.append("    end")
    for edge in graph.edges:
        arrow = "-.->" if edge.jump else "-->"
        labels = graph.shown_labels(edge)
        label = f'|"{mermaid_text(", ".join(labels))}"|' if labels else ""
        lines.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


_MERMAID_PLAIN = frozenset(" _-.,:/()")


def mermaid_text(text: str) -> str:
    """``text`` safe inside a quoted Mermaid label."""
    return "".join(
        c if c.isalnum() or c in _MERMAID_PLAIN else f"#{ord(c)};" for c in " ".join(text.split())
    )
