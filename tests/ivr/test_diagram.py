"""`callcenter flows graph`: the flows as a graph, drawn in Mermaid and in SVG."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from itertools import combinations
from pathlib import Path

import pytest
from click.testing import CliRunner

from callcenter.cli.main import main
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.ivr.diagram.graph import FlowGraph, build_graph, mermaid_text, to_mermaid
from callcenter.ivr.diagram.svg import to_svg
from callcenter.ivr.loader import FlowSet, check_flows

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>&"x'
NODE_LINE = re.compile(r'^ {8}(n\d+)(?:\["([^"]*)"\]|\(\["([^"]*)"\]\))$')
EDGE_LINE = re.compile(r'^ {4}(n\d+) (-->|-\.->)(?:\|"([^"]*)"\|)? (n\d+)$')


@pytest.fixture(scope="module")
def shipped() -> FlowSet:
    flowset, errors = check_flows(DEFAULT_FLOWS_DIR)
    assert errors == []
    return flowset


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """A copy of the shipped flows to edit."""
    folder = tmp_path / "flows"
    shutil.copytree(DEFAULT_FLOWS_DIR, folder)
    return folder


def labels(graph: FlowGraph, source: tuple[str, str], target: tuple[str, str]) -> tuple[str, ...]:
    return next(e.labels for e in graph.edges if (e.source, e.target) == (source, target))


def boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """The boxes of nodes and jump stubs (``class="node"``), in drawing coordinates."""
    rects = [r for r in ET.fromstring(svg).iter(f"{SVG}rect") if r.get("class") == "node"]
    return [
        (float(r.get("x", "")), float(r.get("y", "")), float(r.get("width", "")),
         float(r.get("height", "")))
        for r in rects
    ]  # fmt: skip


def assert_apart(found: list[tuple[float, float, float, float]]) -> None:
    for (x1, y1, w1, h1), (x2, y2, w2, h2) in combinations(found, 2):
        overlap = x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1
        assert not overlap, ((x1, y1, w1, h1), (x2, y2, w2, h2))


def parse_mermaid(text: str) -> tuple[dict[str, str], list[tuple[str, str, str | None]]]:
    """Declared ids and their labels, and edges; fails on any line of another shape."""
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    declared: dict[str, str] = {}
    edges: list[tuple[str, str, str | None]] = []
    depth = 0
    for line in lines[1:]:
        if line.startswith("    subgraph "):
            assert re.fullmatch(r' {4}subgraph f\d+\["[^"]*"\]', line), line
            depth += 1
        elif line == "    end":
            depth -= 1
        elif node := NODE_LINE.match(line):
            assert depth == 1, line
            declared[node[1]] = node[2] or node[3]
        elif edge := EDGE_LINE.match(line):
            assert depth == 0, line
            edges.append((edge[1], edge[4], edge[3]))
        else:
            raise AssertionError(f"not a Mermaid line this renderer writes: {line!r}")
    assert depth == 0
    return declared, edges


# -- the graph -------------------------------------------------------------------
def test_every_node_of_the_shipped_flows_is_in_the_graph(shipped: FlowSet):
    graph = build_graph(shipped)
    assert {n.key for n in graph.nodes()} == {(n.flow, n.id) for n in shipped}
    assert next(iter(graph.flows)) == "main"
    assert {n.key for n in graph.nodes() if n.start} == {
        (f.name, f.start) for f in shipped.flows.values()
    }


def test_every_reference_of_every_node_is_an_edge(shipped: FlowSet):
    graph = build_graph(shipped)
    pairs = {(e.source, e.target) for e in graph.edges}
    for node in shipped:
        for ref in node.targets().values():
            target = shipped.resolve(node.flow, ref)
            assert ((node.flow, node.id), (target.flow, target.id)) in pairs


def test_menu_options_are_labelled_with_their_key_and_intent(shipped: FlowSet):
    graph = build_graph(shipped)
    assert labels(graph, ("appointment", "what"), ("appointment", "doctor")) == ("1 · appt_book",)
    assert labels(graph, ("main", "menu_open"), ("urgent", "flag")) == ("9 · urgent",)
    # Two ways to the same node are one edge carrying both.
    assert labels(graph, ("main", "menu_open"), ("secretary", "transfer")) == (
        "3 · secretary",
        "on_failure",
    )
    assert labels(graph, ("main", "hours"), ("main", "lunch_announce")) == ("lunch",)


def test_jumps_between_flows_reach_the_start_of_the_other_flow(shipped: FlowSet):
    graph = build_graph(shipped)
    goto = next(e for e in graph.edges if e.source == ("secretary", "message"))
    assert goto.target == ("message", "identify") and goto.jump
    assert not next(e for e in graph.edges if e.source == ("main", "greeting")).jump


def test_a_nodes_only_way_on_needs_no_label(shipped: FlowSet):
    graph = build_graph(shipped)
    greeting = next(e for e in graph.edges if e.source == ("main", "greeting"))
    assert greeting.labels == ("next",) and graph.shown_labels(greeting) == ()


# -- Mermaid ---------------------------------------------------------------------
def test_the_mermaid_chart_declares_every_id_its_edges_use(shipped: FlowSet):
    graph = build_graph(shipped)
    declared, edges = parse_mermaid(to_mermaid(graph))
    assert len(declared) == len(graph.nodes())
    assert len(edges) == len(graph.edges)
    assert all(a in declared and b in declared for a, b, _ in edges)
    assert "9 #183; urgent" in {label for _, _, label in edges}
    assert "menu_open (open_question)" in declared.values()


def test_mermaid_text_writes_anything_but_plain_characters_as_entities():
    assert mermaid_text('a<b>&"c#`x\ny') == "a#60;b#62;#38;#34;c#35;#96;x y"
    assert mermaid_text("répondeur_1 (say)") == "répondeur_1 (say)"


# -- SVG -------------------------------------------------------------------------
def test_the_svg_is_well_formed_titled_and_shows_every_node(shipped: FlowSet):
    graph = build_graph(shipped)
    root = ET.fromstring(to_svg(graph, title="Cabinet Dupont: flows"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Cabinet Dupont: flows"
    assert root.find(f"{SVG}title") is not None
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {n.id for n in graph.nodes()} <= texts
    assert {"→ message", "→ urgent"} <= texts  # jumps end at a stub naming the flow
    assert len(list(root.iter(f"{SVG}path"))) > len(graph.edges)  # every edge, plus the marker


def test_no_two_boxes_of_the_shipped_flows_overlap(shipped: FlowSet):
    found = boxes(to_svg(build_graph(shipped)))
    assert len(found) >= len(build_graph(shipped).nodes())
    assert_apart(found)


def test_no_two_boxes_overlap_in_a_large_tangled_flow(tmp_path: Path):
    """Menus jumping forwards and back over many layers, and a menu offering itself again."""
    nodes = []
    for i in range(60):
        options = [f'{{key: "1", next: n{i + 1}}}' if i < 59 else '{key: "1", next: n0}']
        options += [f'{{key: "2", next: n{(i * 7 + 3) % 60}}}', f'{{key: "3", next: n{i}}}']
        nodes.append(
            f"  n{i}:\n    type: menu\n    prompt: menu_open\n"
            f"    options: [{', '.join(options)}]\n    on_failure: n{(i + 30) % 60}\n"
        )
    (tmp_path / "main.yaml").write_text("start: n0\nnodes:\n" + "".join(nodes))
    shutil.copytree(DEFAULT_FLOWS_DIR / "prompts", tmp_path / "prompts")
    flowset, _ = check_flows(tmp_path)
    svg = to_svg(build_graph(flowset))
    found = boxes(svg)
    assert len(found) == 60
    assert_apart(found)


def test_flows_with_errors_still_draw_what_could_be_read(flows: Path):
    """The console may show a practice's broken flows: what loaded is drawn, the rest left out."""
    path = flows / "secretary.yaml"
    path.write_text(path.read_text().replace("type: say", "type: sya"))
    (flows / "empty.yaml").write_text("start: a\nnodes:\n  a: {type: nothing}\n")
    flowset, errors = check_flows(flows)
    assert errors
    graph = build_graph(flowset)
    assert graph.flows["empty"] == []
    assert ("secretary", "unavailable") not in {n.key for n in graph.nodes()}
    svg = to_svg(graph)
    assert_apart(boxes(svg))
    parse_mermaid(to_mermaid(graph))


def test_text_from_the_flow_files_is_escaped(flows: Path):
    """A practice edits the flow files: a node id must not become markup."""
    hostile = '"<script>&\\"x\\x01"'  # YAML: the id <script>&"x followed by a control character
    path = flows / "secretary.yaml"
    text = path.read_text().replace("  unavailable:", f"  {hostile}:")
    path.write_text(text.replace("on_no_answer: unavailable", f"on_no_answer: {hostile}"))
    flowset, errors = check_flows(flows)
    assert errors == []
    svg = to_svg(build_graph(flowset))
    assert "<script" not in svg
    root = ET.fromstring(svg)  # well-formed: the control character was replaced
    assert HOSTILE + "\ufffd" in {t.text for t in root.iter(f"{SVG}text")}
    declared, _ = parse_mermaid(to_mermaid(build_graph(flowset)))
    assert "#60;script#62;#38;#34;x#1; (say)" in declared.values()


# -- the command -----------------------------------------------------------------
def test_flows_graph_prints_the_svg_of_the_shipped_flows():
    result = CliRunner().invoke(main, ["flows", "graph"])
    assert result.exit_code == 0, result.output
    assert ET.fromstring(result.output).tag == f"{SVG}svg"


def test_flows_graph_writes_mermaid_to_a_file(flows: Path, tmp_path: Path):
    out = tmp_path / "flows.mmd"
    args = ["flows", "graph", str(flows), "--format", "mermaid", "--output", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output == ""
    declared, _ = parse_mermaid(out.read_text(encoding="utf-8"))
    assert "transfer (transfer)" in declared.values()


def test_flows_graph_refuses_broken_flows_and_names_the_error(flows: Path):
    path = flows / "secretary.yaml"
    path.write_text(path.read_text().replace("on_no_answer: unavailable", "on_no_answer: nowhere"))
    result = CliRunner().invoke(main, ["flows", "graph", str(flows)])
    assert result.exit_code == 1
    assert "error: secretary.yaml: node 'transfer': field 'on_no_answer'" in result.output
    assert "<svg" not in result.output
