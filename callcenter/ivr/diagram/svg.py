"""The flow graph drawn as one self-contained SVG, for the CLI and the console.

No graphviz, no JavaScript, no ``<style>``: the console embeds the SVG
inline, where a style sheet would leak into the page and a strict
Content-Security-Policy would block it, so colours are presentation
attributes.  Every text from the flow files is XML-escaped (a practice edits
them) and characters XML forbids are replaced.  Positions come from
:mod:`callcenter.ivr.diagram.layout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from callcenter.ivr.diagram.graph import FlowGraph
from callcenter.ivr.diagram.layout import (
    BOX_H,
    PAD,
    Item,
    Panel,
    Route,
    kind_text,
    layout,
    short,
    text_width,
)

FONT = "Helvetica, Arial, sans-serif"
INK, GREY, LINK = "#202124", "#5f6368", "#1a73e8"
FILLS = {
    "menu": "#e8f0fe",
    "hours": "#e8f0fe",
    "my_appointments": "#e8f0fe",
    "transfer": "#e6f4ea",
    "queue": "#e6f4ea",
    "callback_request": "#e6f4ea",
    "record": "#fef7e0",
    "speech_message": "#fef7e0",
    "offer_callback": "#fef7e0",
    "hangup": "#fce8e6",
}  # fmt: skip  (decisions blue, people green, messages yellow, ends red)
EDGE = f'fill="none" stroke="{GREY}" stroke-width="1.3" marker-end="url(#ccg-arrow)"'

Point = tuple[float, float]
Piece = tuple[Point, Point, bool]  # from, to, curved (across a gap) or straight (a slot)


def to_svg(graph: FlowGraph, title: str = "IVR flows") -> str:
    """The whole graph as an SVG document, titled for screen readers (``role="img"``).

    Each flow is a panel (``<g id="ccg-flow-N">``); a jump to another flow is
    a dashed stub linking to that flow's panel.  Boxes are
    ``<rect class="node">``, so a page may restyle them.
    """
    drawing = layout(graph)
    anchors = {name: f"ccg-flow-{n}" for n, name in enumerate(graph.flows)}
    w, h = f"{drawing.width:.0f}", f"{drawing.height:.0f}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{_esc(title)}" font-family="{FONT}">',
        f"<title>{_esc(title)}</title>",
        '<defs><marker id="ccg-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{GREY}"/></marker>'
        "</defs>",
    ]
    for panel in drawing.panels:
        out.extend(_panel(panel, anchors))
    out.append("</svg>")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float

    def meets(self, other: _Box) -> float:
        """The area both boxes cover (0 when apart)."""
        w = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        h = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return max(w, 0.0) * max(h, 0.0)


def _panel(panel: Panel, anchors: dict[str, str]) -> list[str]:
    dx, dy = panel.x, panel.y
    out = [
        f'<g id="{anchors[panel.name]}" class="flow">',
        f'<rect x="{dx:.1f}" y="{dy:.1f}" width="{panel.width:.1f}" height="{panel.height:.1f}" '
        'rx="10" fill="#f8f9fa" stroke="#dadce0"/>',
        f'<text x="{dx + PAD:.1f}" y="{dy + PAD + 12:.1f}" font-size="15" font-weight="bold" '
        f'fill="{INK}">{_esc(short(panel.name))}</text>',
    ]
    taken = [_Box(dx + i.left, dy + i.y, i.width, BOX_H) for i in panel.items]
    labels: list[str] = []
    ports = _ports(panel)
    for route in panel.routes:
        pieces = _pieces(route, ports, dx, dy)
        out.append(f'<path d="{_path(pieces)}" {EDGE}/>')
        if route.labels:
            first_gap = next(p for p in pieces if p[2])
            labels.extend(_label(route.labels, _spot(route.labels, first_gap, taken)))
    for item in panel.items:
        if item.loop:
            out.append(_loop(item, dx, dy))
        out.extend(_stub(item, anchors, dx, dy) if item.stub else _node(item, dx, dy))
    for item in panel.items:  # after the boxes, which they must not hide
        if item.loop:
            w, h = text_width(item.loop, 11) + 8, 13.0 * len(item.loop) + 4
            x, y = dx + item.left + item.width + 38, dy + item.y + (BOX_H - h) / 2
            labels.extend(_label(item.loop, _Box(x, y, w, h)))
    out.extend(labels)
    out.append("</g>")
    return out


def _ports(panel: Panel) -> dict[tuple[int, int], float]:
    """x where each route leaves or enters a box, keyed (id of the route, id of the box).

    Spread along the box's edge in the order of the other ends, so two routes
    between the same boxes (there and back) stay apart.
    """
    sides: dict[tuple[int, bool], list[tuple[float, int]]] = {}
    for route in panel.routes:
        top, bottom = route.chain[0], route.chain[-1]
        sides.setdefault((id(top), True), []).append((route.chain[1].x, id(route)))
        sides.setdefault((id(bottom), False), []).append((route.chain[-2].x, id(route)))
    by_id = {id(i): i for i in panel.items}
    ports: dict[tuple[int, int], float] = {}
    for (item_id, _), ends in sides.items():
        item, count = by_id[item_id], len(ends)
        step = min(16.0, item.width * 0.6 / max(count - 1, 1))
        for k, (_, route_id) in enumerate(sorted(ends)):
            ports[(route_id, item_id)] = item.centre + (k - (count - 1) / 2) * step
    return ports


def _pieces(route: Route, ports: dict[tuple[int, int], float], dx: float, dy: float) -> list[Piece]:
    """The route's line, from the edge's source to its target (up for a loop's way back)."""
    chain = route.chain
    xs = [i.centre for i in chain]
    xs[0], xs[-1] = ports[(id(route), id(chain[0]))], ports[(id(route), id(chain[-1]))]
    pieces: list[Piece] = []
    for k in range(len(chain) - 1):
        a, b = chain[k], chain[k + 1]
        pieces.append(((dx + xs[k], dy + a.y + BOX_H), (dx + xs[k + 1], dy + b.y), True))
        if k + 1 < len(chain) - 1:  # straight down through an empty slot
            pieces.append(((dx + xs[k + 1], dy + b.y), (dx + xs[k + 1], dy + b.y + BOX_H), False))
    if route.upward:
        pieces = [(end, start, curved) for start, end, curved in reversed(pieces)]
    return pieces


def _path(pieces: list[Piece]) -> str:
    """Curves leave and reach boxes vertically; slots are crossed straight."""
    (x, y), _, _ = pieces[0]
    d = [f"M{x:.1f},{y:.1f}"]
    for (x0, y0), (x1, y1), curved in pieces:
        mid = (y0 + y1) / 2
        d.append(f"C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}" if curved
                 else f"L{x1:.1f},{y1:.1f}")  # fmt: skip
    return " ".join(d)


def _spot(labels: tuple[str, ...], piece: Piece, taken: list[_Box]) -> _Box:
    """Where the labels go on the route's first gap: the first point along the curve
    where they cover no box and no other label, else the one covering least."""
    (x0, y0), (x1, y1), _ = piece
    w, h = text_width(labels, 11) + 8, 13.0 * len(labels) + 4
    spots = []
    for t in (0.5, 0.3, 0.7, 0.15, 0.85, 0.4, 0.6):
        along, down = 3 * t * t - 2 * t**3, 1.5 * t * (1 - t) + t**3  # the curve at t
        spots.append(_Box(x0 + (x1 - x0) * along - w / 2, y0 + (y1 - y0) * down - h / 2, w, h))
    best = min(spots, key=lambda spot: sum(spot.meets(other) for other in taken))
    taken.append(best)
    return best


def _label(labels: tuple[str, ...], spot: _Box) -> list[str]:
    lines = "".join(
        f'<tspan x="{spot.x + spot.w / 2:.1f}" y="{spot.y + 13 * (k + 1):.1f}">'
        f"{_esc(short(text))}</tspan>"
        for k, text in enumerate(labels)
    )
    return [
        f'<rect x="{spot.x:.1f}" y="{spot.y:.1f}" width="{spot.w:.1f}" height="{spot.h:.1f}" '
        'rx="3" fill="#ffffff" fill-opacity="0.9"/>',
        f'<text class="label" font-size="11" fill="#3c4043" text-anchor="middle">{lines}</text>',
    ]


def _loop(item: Item, dx: float, dy: float) -> str:
    """An edge back to the same node: a loop on the box's right."""
    x, y = dx + item.left + item.width, dy + item.y + BOX_H / 2
    return (f'<path d="M{x:.1f},{y - 8:.1f} C{x + 34:.1f},{y - 26:.1f} {x + 34:.1f},{y + 26:.1f} '
            f'{x + 1:.1f},{y + 8:.1f}" {EDGE}/>')  # fmt: skip


def _node(item: Item, dx: float, dy: float) -> list[str]:
    node = item.node
    assert node is not None  # the layout keeps only boxes and stubs in a panel's items
    x, y, cx = dx + item.left, dy + item.y, dx + item.centre
    return [
        f'<g class="node"><title>{_esc(f"{node.flow} / {node.id} ({node.kind})")}</title>',
        f'<rect class="node" x="{x:.1f}" y="{y:.1f}" width="{item.width:.1f}" height="{BOX_H:.1f}" '
        f'rx="8" fill="{FILLS.get(node.kind, "#ffffff")}" stroke="{GREY}" '
        f'stroke-width="{2.5 if node.start else 1}"/>',
        f'<text x="{cx:.1f}" y="{y + 17:.1f}" font-size="13" font-weight="bold" '
        f'text-anchor="middle" fill="{INK}">{_esc(short(node.id))}</text>',
        f'<text x="{cx:.1f}" y="{y + 32:.1f}" font-size="11" text-anchor="middle" '
        f'fill="{GREY}">{_esc(short(kind_text(node)))}</text>',
        "</g>",
    ]


def _stub(item: Item, anchors: dict[str, str], dx: float, dy: float) -> list[str]:
    """A jump to another flow: a dashed pill linking to that flow's panel."""
    flow = str(item.stub)
    x, y, cx = dx + item.left, dy + item.y + 6, dx + item.centre
    return [
        f'<a href="#{anchors[flow]}"><g class="jump">'
        f"<title>{_esc(f'continues in the flow {flow}')}</title>",
        f'<rect class="node" x="{x:.1f}" y="{y:.1f}" width="{item.width:.1f}" '
        f'height="{BOX_H - 12:.1f}" rx="14" fill="#ffffff" stroke="{LINK}" '
        'stroke-dasharray="4 3"/>',
        f'<text x="{cx:.1f}" y="{y + 18:.1f}" font-size="12" text-anchor="middle" '
        f'fill="{LINK}">{_esc(short(f"→ {flow}"))}</text>',
        "</g></a>",
    ]


def _esc(text: str) -> str:
    """``text`` safe in XML content and attribute values; characters XML forbids replaced."""
    return escape("".join(c if _xml_char(c) else "\ufffd" for c in text), quote=True)


def _xml_char(c: str) -> bool:
    n = ord(c)
    return c in "\t\n\r" or 0x20 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or n >= 0x10000
