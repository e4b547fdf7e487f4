"""Bar charts as self-contained SVG, rendered on the server: the console needs no script.

A chart is a string of SVG to inline in a page (or serve as ``image/svg+xml``):
no JavaScript, no stylesheet, no external font or image, so it renders the
same under the console's strict Content-Security-Policy and prints well.
Each is accessible on its own: ``role="img"`` labelled by a ``<title>`` and a
``<desc>`` that lists every value in words, so a screen reader gets the data
and not a picture; text is dark on white, bars pass the 3:1 contrast asked of
graphics (WCAG 1.4.11).  Every text that comes in (title, labels, unit) is
stripped of characters XML cannot hold and escaped, so a label can never
break out of its element.

Pure Python and language-neutral except for the default ``empty_text`` and
decimal comma, which follow the console's French.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

__all__ = ["bar_chart_svg", "format_number", "horizontal_bar_chart_svg"]

INK = "#1a1a1a"  # text: 17:1 on white
AXIS = "#595959"  # axis lines and tick labels: 7:1
GRID = "#d9d9d9"  # decorative gridlines
BAR = "#1f4e8c"  # 8:1 on white
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
EMPTY_TEXT = "aucune donnée"

_PLOT_WIDTH = 640  # the vertical chart's plot area aims at this width…
_SLOT_MIN, _SLOT_MAX = 10.0, 48.0  # …within these bounds per bar
_PLOT_HEIGHT = 180
_CHAR_WIDTH = 7.0  # an estimate of a 12 px sans-serif character, to place labels
_VALUE_LABEL_MIN_SLOT = 22.0  # narrower bars get no value label (the <desc> has them all)
# Characters XML 1.0 cannot hold, even escaped: a NUL in a label would make the SVG unreadable.
# A unit is a word, or a function giving the word agreed with each value.
Unit = str | Callable[[float], str]
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def bar_chart_svg(
    title: str,
    labels: Sequence[str],
    values: Sequence[int | float],
    *,
    unit: Unit = "",
    decimal_mark: str = ",",
    empty_text: str = EMPTY_TEXT,
) -> str:
    """Vertical bars, one per label (hours of the day, days of a period…).

    The y axis has round ticks and is titled with ``unit``; each bar shows its
    value above it when there is room, and every value is in the ``<desc>``.
    Raises ``ValueError`` when labels and values differ in number or a value
    is negative or not finite.
    """
    _check(labels, values)
    ident = _ident("bar", title, labels, values, _word(unit, 2))
    slot = _slot(labels)
    left, right, top, bottom = 64.0, 16.0, 44.0, 40.0
    plot_w = slot * len(values) if values else _PLOT_WIDTH / 2
    width, height = left + plot_w + right, top + _PLOT_HEIGHT + bottom
    ticks = _ticks(max(values, default=0), integers=all(isinstance(v, int) for v in values))
    scale = _PLOT_HEIGHT / ticks[-1]
    base = top + _PLOT_HEIGHT
    fmt = _formatter(decimal_mark)
    out = _open(ident, title, _describe(labels, values, unit, fmt, empty_text), width, height)
    for tick in ticks:
        y = base - tick * scale
        out.append(_line(left, y, left + plot_w, y, GRID if tick else AXIS))
        out.append(_label(left - 6, y + 4, fmt(tick), anchor="end", fill=AXIS))
    if _word(unit, 2):  # the y axis title (the plural), turned to read upwards
        middle = _n(top + _PLOT_HEIGHT / 2)
        out.append(
            f'<text x="16" y="{middle}" text-anchor="middle" fill="{AXIS}" '
            f'transform="rotate(-90 16 {middle})">{_text(_word(unit, 2))}</text>'
        )
    if not values:
        out.append(_label(left + plot_w / 2, top + _PLOT_HEIGHT / 2, empty_text, fill=AXIS))
    every = max(1, math.ceil(max((len(s) for s in labels), default=1) * _CHAR_WIDTH / (slot or 1)))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar_h = value * scale
        x = left + i * slot
        out.append(f"<g><title>{_text(_entry(label, value, unit, fmt))}</title>")
        out.append(_rect(x + slot * 0.15, base - bar_h, slot * 0.7, bar_h))
        out.append("</g>")
        if slot >= _VALUE_LABEL_MIN_SLOT:
            out.append(_label(x + slot / 2, base - bar_h - 4, fmt(value), size=11))
        if i % every == 0:
            out.append(_label(x + slot / 2, base + 16, label, fill=AXIS))
    return _close(out)


def horizontal_bar_chart_svg(
    title: str,
    labels: Sequence[str],
    values: Sequence[int | float],
    *,
    unit: Unit = "",
    shares: bool = True,
    decimal_mark: str = ",",
    empty_text: str = EMPTY_TEXT,
) -> str:
    """Horizontal bars with their labels beside them: categories such as call outcomes.

    With ``shares`` each value is followed by its share of the total
    ("12 (40 %)"); an all-zero chart shows no share rather than dividing by
    zero.  Raises ``ValueError`` like :func:`bar_chart_svg`.
    """
    _check(labels, values)
    ident = _ident("hbar", title, labels, values, _word(unit, 2))
    label_w = min(240.0, max(64.0, max((len(s) for s in labels), default=0) * _CHAR_WIDTH + 12))
    plot_w, row, top = 360.0, 28.0, 44.0
    width = label_w + plot_w + 120
    height = top + max(1, len(values)) * row + 12
    total = sum(values)
    largest = max(values, default=0)
    fmt = _formatter(decimal_mark)

    def shown(value: float) -> str:
        word = _word(unit, value)
        text = fmt(value) + (f"\u00a0{word}" if word else "")
        if shares and total > 0:
            text += f" ({round(100 * value / total)}\u00a0%)"
        return text

    desc = "; ".join(f"{label}: {shown(v)}" for label, v in zip(labels, values, strict=True))
    out = _open(ident, title, desc or empty_text, width, height)
    if not values:
        out.append(_label(label_w + plot_w / 2, top + row / 2 + 4, empty_text, fill=AXIS))
    out.append(_line(label_w, top, label_w, top + max(1, len(values)) * row, AXIS))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        bar_w = plot_w * value / largest if largest > 0 else 0.0
        out.append(_label(label_w - 8, y + row / 2 + 4, label, anchor="end"))
        out.append(f"<g><title>{_text(f'{label}: {shown(value)}')}</title>")
        out.append(_rect(label_w, y + 5, bar_w, row - 10))
        out.append("</g>")
        out.append(_label(label_w + bar_w + 6, y + row / 2 + 4, shown(value), anchor="start"))
    return _close(out)


def format_number(value: float, decimal_mark: str = ",") -> str:
    """A value as a reader wants it: whole numbers plain, others to one decimal (two below 1)."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"
    return text.replace(".", decimal_mark)


# -- internals -------------------------------------------------------------------------


def _check(labels: Sequence[str], values: Sequence[float]) -> None:
    if len(labels) != len(values):
        raise ValueError(f"{len(labels)} labels for {len(values)} values")
    for value in values:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"a chart value must be finite and not negative, not {value!r}")


def _slot(labels: Sequence[str]) -> float:
    """Each bar's width: the plot's width shared out, widened for a few long labels."""
    if not labels:
        return 0.0
    slot = min(_SLOT_MAX, max(_SLOT_MIN, _PLOT_WIDTH / len(labels)))
    wanted = max(len(s) for s in labels) * _CHAR_WIDTH + 8
    return wanted if slot < wanted <= _PLOT_WIDTH / len(labels) else slot


def _ticks(maximum: float, integers: bool) -> list[float]:
    """Round gridline values from 0 up to at least ``maximum`` (1 when it is 0): about five."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if integers:
        step = max(1.0, float(math.ceil(step)))
    count = math.ceil(maximum / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _formatter(decimal_mark: str) -> Callable[[float], str]:
    return lambda value: format_number(value, decimal_mark)


def _word(unit: Unit, value: float) -> str:
    """The unit agreed with ``value`` ("1 appel", "2 appels") when it is given per value."""
    return unit if isinstance(unit, str) else unit(value)


def _entry(label: str, value: float, unit: Unit, fmt: Callable[[float], str]) -> str:
    word = _word(unit, value)
    return f"{label}: {fmt(value)}" + (f"\u00a0{word}" if word else "")


def _describe(
    labels: Sequence[str],
    values: Sequence[float],
    unit: Unit,
    fmt: Callable[[float], str],
    empty_text: str,
) -> str:
    entries = [_entry(label, v, unit, fmt) for label, v in zip(labels, values, strict=True)]
    return "; ".join(entries) or empty_text


def _ident(kind: str, *parts: object) -> str:
    """An id stable for the same chart and distinct between charts of one page."""
    return f"chart-{kind}-" + hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def _text(value: str) -> str:
    """Element content: characters XML cannot hold dropped, the rest escaped."""
    return escape(_NOT_XML.sub("", value))


def _n(value: float) -> str:
    """A coordinate, short: 12, 12.5."""
    return f"{value:.1f}".removesuffix(".0")


def _open(ident: str, title: str, desc: str, width: float, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'font-family="{FONT}" font-size="12">',
        f'<title id="{ident}-title">{_text(title)}</title>',
        f'<desc id="{ident}-desc">{_text(desc)}</desc>',
        f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>',
        _label(8, 24, title, anchor="start", size=14, bold=True),
    ]


def _close(parts: list[str]) -> str:
    parts.append("</svg>")
    return "".join(parts)


def _label(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "middle",
    fill: str = INK,
    size: int = 12,
    bold: bool = False,
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="{size}"{weight}>{_text(text)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str) -> str:
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{stroke}" stroke-width="1"/>'
    )


def _rect(x: float, y: float, width: float, height: float) -> str:
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}" fill="{BAR}"/>'
