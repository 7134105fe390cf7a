"""The package's layout: no import cycles, no private names taken from another module,
every module importable on its own, small modules that say what they hold."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "turing": ROOT / "turing",
    "turing.envs": ROOT / "envs",
    "turing.agents": ROOT / "agents",
}
MAX_LINES = 450
MAX_ROOT_FILES = 8


def modules() -> dict[str, Path]:
    """Every module of the distribution by its dotted name (packages by their __init__)."""
    found = {}
    for prefix, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([prefix, *parts])
            if prefix == "turing" and parts and parts[0] in ("envs", "agents"):
                continue  # not in turing/ itself (the mapping puts them there)
            found[name] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> list[tuple[str, ast.stmt]]:
    """The internal modules ``name`` imports anywhere (at module level or inside functions:
    a late import is an import), with the statement."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found += [(t, node) for t in _targets(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found += [(t, node) for t in _targets(candidate if candidate in MODULES else base)]
    return [(t, n) for t, n in found if t != name]


def _targets(dotted: str) -> list[str]:
    return [dotted] if dotted in MODULES else []


GRAPH = {name: {t for t, _ in imports(name, path)} for name, path in MODULES.items()}


def test_no_module_imports_the_package_root():
    # The root (turing/__init__.py) is the public face: it imports the package, so a module
    # that imports it closes a cycle through it.
    offenders = sorted(n for n, targets in GRAPH.items() if "turing" in targets and n != "turing")
    assert not offenders, offenders


def test_there_are_no_import_cycles():
    cycles = [c for c in _strongly_connected(GRAPH) if len(c) > 1]
    assert not cycles, cycles


def test_a_cycle_would_be_found():
    # The detector itself: a graph with a cycle through a late import.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in _strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]


def test_nothing_imports_a_private_name_of_another_module():
    offenders = []
    for name, path in MODULES.items():
        for target, node in imports(name, path):
            if isinstance(node, ast.ImportFrom):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    offenders.append(f"{name}: from {target} import {', '.join(private)}")
    assert not offenders, offenders


def test_every_module_imports_in_a_fresh_interpreter_in_dependency_order():
    order = [m for m in _dependency_order(GRAPH) if not m.endswith("__main__")]
    code = f"import importlib\nfor name in {order!r}:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_modules_are_small_and_say_what_they_hold():
    too_long = {
        n: lines
        for n, p in MODULES.items()
        if (lines := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long, too_long
    silent = [n for n, p in MODULES.items() if not ast.get_docstring(ast.parse(p.read_text()))]
    assert not silent, silent
    root_files = sorted(p.name for p in PACKAGES["turing"].glob("*.py"))
    assert len(root_files) <= MAX_ROOT_FILES, root_files


def test_the_distribution_lists_every_package_and_its_kernels():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {n for n, p in MODULES.items() if p.name == "__init__.py"}
    assert packages == set(config["packages"])
    for package in packages:
        if any(MODULES[package].parent.glob("*.c")):
            assert "*.c" in config["package-data"].get(package, []), package


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
def test_no_source_file_is_hidden_by_gitignore():
    """A pattern meant for the run folders at the top (``runs/``) also matches a subpackage
    of that name; a clean clone would then lack its modules."""
    files = [str(p.relative_to(ROOT)) for p in MODULES.values()]
    files += [str(p.relative_to(ROOT)) for f in PACKAGES.values() for p in f.rglob("*.[ch]")]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *files], cwd=ROOT, capture_output=True, text=True
    )
    assert done.stdout == "", done.stdout


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_graph_knows_every_module(module):
    assert module in GRAPH


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm (iterative)."""
    index, low, on_stack, stack, result = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _dependency_order(graph: dict[str, set[str]]) -> list[str]:
    """Modules after everything they import (the root last)."""
    order, seen = [], set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for target in sorted(graph.get(name, ())):
            visit(target)
        order.append(name)

    for name in sorted(graph):
        visit(name)
    return order
