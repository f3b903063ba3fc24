"""No import cycles among convnp's modules, counting imports inside functions.

The graph is read from the source with `ast`: every ``import`` / ``from ... import`` anywhere
in a module (module level or in a function), relative or absolute; ``from convnp.x import y``
points at the submodule ``convnp.x.y`` when there is one, else at ``convnp.x``. A lower module
finds a higher one's classes through a registry instead of importing it.
"""

from __future__ import annotations

import ast
import pathlib

import convnp

SRC = pathlib.Path(convnp.__file__).parent

# Cycles still to break, each as the set of modules in it; a cycle found must lie inside one of
# these sets. Empty: the last one (models <-> io) went with models/file_hooks.py. Keep it so.
ALLOWED: list[frozenset[str]] = []


def module_files(root: pathlib.Path) -> dict[str, tuple[pathlib.Path, bool]]:
    """``{dotted name: (file, is_package)}`` for every module under ``root`` (a package)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path, package)
    return found


def import_graph(root: pathlib.Path) -> dict[str, set[str]]:
    """``{module: modules of the same package it imports}``, from the source text."""
    modules = module_files(root)
    top = root.name
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, package) in modules.items():
        here = name if package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[:len(here.split(".")) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                           else source for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets
                               if t in modules and t.split(".")[0] == top and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that import each other in a circle (the strongly connected
    components of more than one module; Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def closed_path(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    first = min(group)
    previous: dict[str, str] = {}
    frontier = [first]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & group):
                if child == first:
                    path = [node]
                    while path[-1] != first:
                        path.append(previous[path[-1]])
                    return path[::-1] + [first]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {first}")  # pragma: no cover


def test_no_import_cycles_outside_the_allowlist():
    graph = import_graph(SRC)
    new = [group for group in cycles(graph) if not any(group <= allowed for allowed in ALLOWED)]
    assert not new, "import cycles (a path through each, then all the modules in it):\n" + \
        "\n".join(f"{' -> '.join(closed_path(graph, group))}   {sorted(group)}"
                  for group in new)


def _write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_finds_a_cycle_through_an_import_inside_a_function(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def f():\n    from pkg.high import g\n    return g\n",
        "pkg/high.py": "from . import low\n",
        "pkg/sub/__init__.py": "from pkg import low\n",
    })
    graph = import_graph(root)
    assert graph["pkg.low"] == {"pkg.high"}
    assert graph["pkg.high"] == {"pkg.low"}
    assert graph["pkg.sub"] == {"pkg.low"}
    assert cycles(graph) == [{"pkg.high", "pkg.low"}]
    assert closed_path(graph, cycles(graph)[0]) == ["pkg.high", "pkg.low", "pkg.high"]


def test_from_package_import_name_points_at_the_package_when_not_a_module(tmp_path):
    root = _write(tmp_path, {
        "pkg/__init__.py": "from pkg.a.b import thing\n",
        "pkg/a/__init__.py": "thing = 1\n",
        "pkg/a/b.py": "from .. import a\nfrom ..a import thing\nimport pkg\n",
    })
    graph = import_graph(root)
    assert graph["pkg.a.b"] == {"pkg.a", "pkg"}
    assert cycles(graph) == [{"pkg", "pkg.a.b"}]
