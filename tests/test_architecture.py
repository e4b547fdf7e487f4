"""The package's shape: no import cycle anywhere, and a short top level.

import-linter (``make lint``) checks the layers between packages; this test
checks what a layers contract cannot see: a cycle between modules of one
package, function-level imports included. Imports under ``TYPE_CHECKING``
never run, so they are left out.
"""

from __future__ import annotations

from pathlib import Path

import grimp

import callcenter

# The top level holds the package's entry points only (schema, services, instance);
# anything else belongs in a feature package.
MAX_TOP_LEVEL_MODULES = 8


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        # Each frame: a module and the iterator over what it imports.
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for target in imported:
                if target not in index:
                    index[target] = low[target] = counter
                    counter += 1
                    stack.append(target)
                    on_stack.add(target)
                    work.append(
                        (target, iter(sorted(graph.find_modules_directly_imported_by(target))))
                    )
                    break
                if target in on_stack:
                    low[module] = min(low[module], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


def one_cycle(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """A concrete cycle through the component's first module, to name in the failure."""
    start = component[0]
    members = set(component)
    for imported in sorted(graph.find_modules_directly_imported_by(start) & members):
        path = graph.find_shortest_chain(importer=imported, imported=start)
        if path:
            return [start, *path]
    return component


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("callcenter", exclude_type_checking_imports=True)
    cycles = import_cycles(graph)
    named = [" -> ".join(one_cycle(graph, component)) for component in cycles]
    assert not named, "import cycles:\n" + "\n".join(named)


def test_cycle_finder_sees_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.d")
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert one_cycle(graph, ["pkg.a", "pkg.b", "pkg.c"]) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]


def test_top_level_stays_small() -> None:
    root = Path(callcenter.__file__).parent
    modules = sorted(path.name for path in root.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules
