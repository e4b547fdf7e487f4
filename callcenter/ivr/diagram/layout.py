"""Where each box of the flow diagram goes: a small layered layout in pure Python.

One panel per flow, panels packed in rows.  Inside a panel (a simplified
Sugiyama): edges that close a loop are turned round (depth-first from the
start node), nodes get longest-path layers, an edge spanning several layers
gets an empty slot in each layer it crosses (so it never runs through a
box), barycentre sweeps order each layer and x positions are balanced
between neighbours.  Items of a layer keep at least ``GAP`` between them and
layers are ``LAYER_GAP`` apart, so no two boxes overlap.  A jump to another
flow ends at a stub (“→ message”) in the panel rather than a line across
the whole drawing.  :mod:`callcenter.ivr.diagram.svg` draws the result.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from callcenter.ivr.diagram.graph import FlowGraph, GraphNode

BOX_H, LAYER_GAP, GAP, SLOT_W = 40.0, 72.0, 28.0, 14.0
PAD, HEADER, PANEL_GAP, ROW_WIDTH = 16.0, 30.0, 24.0, 1400.0
MAX_CHARS = 30  # longer texts are shortened in the boxes; tooltips hold them whole


@dataclass(eq=False)
class Item:
    """A box, a jump stub or an empty slot (a long edge passing) in a panel.

    Compared and hashed by identity: two slots may look alike.
    """

    width: float
    node: GraphNode | None = None
    stub: str | None = None  # the flow a stub jumps to
    loop: tuple[str, ...] = ()  # labels of an edge back to the same node
    layer: int = 0
    x: float = 0.0  # centre of the item's room in its layer, within the panel
    y: float = 0.0  # top, within the panel

    @property
    def room(self) -> float:
        """The width the item takes in its layer: a loop is drawn right of the box."""
        return self.width + (text_width(self.loop, 11) + 44.0 if self.loop else 0.0)

    @property
    def left(self) -> float:
        return self.x - self.room / 2

    @property
    def centre(self) -> float:
        return self.left + self.width / 2


@dataclass(eq=False)
class Route:
    """One edge, as drawn: top to bottom through empty slots."""

    chain: list[Item]
    labels: tuple[str, ...]
    upward: bool  # an edge closing a loop, drawn against the layering


@dataclass(eq=False)
class Panel:
    name: str
    items: list[Item]  # boxes and stubs
    routes: list[Route]
    width: float = 0.0
    height: float = 0.0
    x: float = 0.0
    y: float = 0.0


@dataclass
class Layout:
    panels: list[Panel] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def layout(graph: FlowGraph) -> Layout:
    """Every flow of ``graph`` laid out in its panel, the panels packed in reading order."""
    result = Layout([_panel(graph, name) for name in graph.flows])
    placed: list[Panel] = []
    for panel in result.panels:
        panel.x, panel.y = _lowest_place(panel, placed)
        placed.append(panel)
        result.width = max(result.width, panel.x + panel.width + 1)
        result.height = max(result.height, panel.y + panel.height + 1)
    return result


def _lowest_place(panel: Panel, placed: list[Panel]) -> tuple[float, float]:
    """The highest spot, then the leftmost, where ``panel`` fits below the panels above it.

    Tried at the left margin and right of each placed panel, within
    ``ROW_WIDTH`` (a wider panel goes at the left); a panel is always put
    below every panel it shares columns with, so panels never overlap.
    """
    spots = []
    for x in [1.0, *(p.x + p.width + PANEL_GAP for p in placed)]:
        if x > 1.0 and x + panel.width > ROW_WIDTH:
            continue
        above = [p for p in placed if p.x < x + panel.width and x < p.x + p.width]
        spots.append((max((p.y + p.height + PANEL_GAP for p in above), default=1.0), x))
    y, x = min(spots)
    return x, y


def _panel(graph: FlowGraph, name: str) -> Panel:
    nodes = graph.flows[name]
    items: dict[Hashable, Item] = {n.id: Item(box_width(n), node=n) for n in nodes}
    arrows: list[tuple[Item, Item, tuple[str, ...]]] = []
    for edge in graph.edges:
        if edge.source[0] != name:
            continue
        source = items[edge.source[1]]
        labels = graph.shown_labels(edge)
        if edge.jump:
            stub = ("@", edge.target[0])
            target = items.setdefault(stub, Item(stub_width(edge.target[0])))
            target.stub = edge.target[0]
        else:
            target = items[edge.target[1]]
        if target is source:
            source.loop = labels
        else:
            arrows.append((source, target, labels))
    if not items:  # every node of the flow failed to load: its panel stays empty
        return Panel(name, [], [], text_width([name], 15) + 2 * PAD, HEADER + 2 * PAD)
    starts = [items[n.id] for n in nodes if n.start]
    back = _back_edges([*starts, *items.values()], arrows)
    routes = [
        Route([t, s], labels, True) if (s, t) in back else Route([s, t], labels, False)
        for s, t, labels in arrows
    ]
    _assign_layers(list(items.values()), routes)
    layers = _add_slots(list(items.values()), routes)
    _order(layers, routes)
    _place(layers, routes)
    panel = Panel(name, list(items.values()), routes)
    right = max(i.left + i.room for layer in layers for i in layer)
    panel.width = max(right + PAD, text_width([name], 15) + 2 * PAD)
    panel.height = HEADER + len(layers) * (BOX_H + LAYER_GAP) - LAYER_GAP + 2 * PAD
    return panel


def _back_edges(roots: list[Item], arrows: list[tuple[Item, Item, tuple[str, ...]]]) -> set:
    """Edges that close a loop, depth-first from the start node (iterative: no depth limit)."""
    after: dict[Item, list[Item]] = {}
    for s, t, _ in arrows:
        after.setdefault(s, []).append(t)
    state: dict[Item, int] = {}  # 1 on the current path, 2 done
    back: set[tuple[Item, Item]] = set()
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[Item, Iterator[Item]]] = [(root, iter(after.get(root, ())))]
        while stack:
            item, following = stack[-1]
            nxt = next(following, None)
            if nxt is None:
                state[item] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((item, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(after.get(nxt, ()))))
    return back


def _assign_layers(items: list[Item], routes: list[Route]) -> None:
    """Longest path: each item one layer below the lowest item leading to it."""
    before: dict[Item, list[Item]] = {i: [] for i in items}
    for route in routes:
        before[route.chain[-1]].append(route.chain[0])
    done: set[Item] = set()
    pending = list(items)
    while pending:
        # Turned round, the routes form no cycle: each round places at least one item.
        ready = [i for i in pending if all(p in done for p in before[i])] or pending[:1]
        for item in ready:
            item.layer = max((p.layer + 1 for p in before[item] if p in done), default=0)
            done.add(item)
        pending = [i for i in pending if i not in done]


def _add_slots(items: list[Item], routes: list[Route]) -> list[list[Item]]:
    """Layers of items, with an empty slot wherever a route crosses a layer."""
    layers: list[list[Item]] = [[] for _ in range(max(i.layer for i in items) + 1)]
    for item in items:
        layers[item.layer].append(item)
    for route in routes:
        top, bottom = route.chain
        slots = [Item(SLOT_W, layer=k) for k in range(top.layer + 1, bottom.layer)]
        for slot in slots:
            layers[slot.layer].append(slot)
        route.chain = [top, *slots, bottom]
    return layers


def _links(routes: list[Route]) -> list[tuple[Item, Item]]:
    return [pair for route in routes for pair in pairwise(route.chain)]


def _neighbours(routes: list[Route], down: bool) -> dict[Item, list[Item]]:
    """Each item's neighbours in the layer above (``down``) or below."""
    near: dict[Item, list[Item]] = {}
    for a, b in _links(routes):
        near.setdefault(b if down else a, []).append(a if down else b)
    return near


def _order(layers: list[list[Item]], routes: list[Route]) -> None:
    """Barycentre sweeps down and up; keep the order with the fewest crossings."""
    links = _links(routes)
    above, below = _neighbours(routes, True), _neighbours(routes, False)
    best, fewest = [list(layer) for layer in layers], _crossings(layers, links)
    for sweep in range(8):
        down = sweep % 2 == 0
        for k in range(1, len(layers)) if down else range(len(layers) - 2, -1, -1):
            index = {i: n for n, i in enumerate(layers[k - 1 if down else k + 1])}
            centre = {}
            for pos, item in enumerate(layers[k]):
                near = [index[i] for i in (above if down else below).get(item, ())]
                centre[item] = sum(near) / len(near) if near else float(pos)
            layers[k].sort(key=lambda i: centre[i])
        count = _crossings(layers, links)
        if count < fewest:
            best, fewest = [list(layer) for layer in layers], count
    layers[:] = best


def _crossings(layers: list[list[Item]], links: list[tuple[Item, Item]]) -> int:
    pos = {i: n for layer in layers for n, i in enumerate(layer)}
    gaps: dict[int, list[tuple[int, int]]] = {}
    for a, b in links:
        gaps.setdefault(a.layer, []).append((pos[a], pos[b]))
    return sum(
        1
        for ends in gaps.values()
        for n, (a1, b1) in enumerate(ends)
        for a2, b2 in ends[n + 1 :]
        if (a1 - a2) * (b1 - b2) < 0
    )


def _place(layers: list[list[Item]], routes: list[Route]) -> None:
    """x of each item: near the mean of its neighbours, never closer than GAP to the next."""
    above, below = _neighbours(routes, True), _neighbours(routes, False)
    for layer in layers:
        _fit(layer, [0.0] * len(layer))
    for sweep in range(6):
        down = sweep % 2 == 0
        for layer in layers[1:] if down else reversed(layers[:-1]):
            wanted = []
            for item in layer:
                near = [i.x for i in (above if down else below).get(item, ())]
                wanted.append(sum(near) / len(near) if near else item.x)
            _fit(layer, wanted)
    shift = PAD - min(i.left for layer in layers for i in layer)
    for k, layer in enumerate(layers):
        for item in layer:
            item.x += shift
            item.y = HEADER + PAD + k * (BOX_H + LAYER_GAP)


def _fit(layer: list[Item], wanted: list[float]) -> None:
    """Centres as near ``wanted`` as the order and gaps allow: the mean of a left and a right pass.

    Each pass keeps every pair of neighbours at least their half-widths plus
    GAP apart, so their mean does too: items of a layer never overlap.
    """
    if not layer:
        return
    apart = [(a.room + b.room) / 2 + GAP for a, b in pairwise(layer)]
    left, right = list(wanted), list(wanted)
    for n in range(1, len(layer)):
        left[n] = max(wanted[n], left[n - 1] + apart[n - 1])
    for n in range(len(layer) - 2, -1, -1):
        right[n] = min(wanted[n], right[n + 1] - apart[n])
    for n, item in enumerate(layer):
        item.x = (left[n] + right[n]) / 2


# -- text sizes ------------------------------------------------------------------
def short(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def text_width(lines: tuple[str, ...] | list[str], size: float) -> float:
    """A generous estimate: there are no font metrics without a renderer."""
    return max((len(short(t)) for t in lines), default=0) * size * 0.62


def kind_text(node: GraphNode) -> str:
    return f"{node.kind} · start" if node.start else node.kind


def box_width(node: GraphNode) -> float:
    return max(96.0, text_width([node.id], 13) + 24, text_width([kind_text(node)], 11) + 24)


def stub_width(flow: str) -> float:
    return max(80.0, text_width([f"→ {flow}"], 12) + 28)
