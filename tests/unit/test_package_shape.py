"""The package's shape, measured from its source: small functions and classes, no import
cycles (lazy and type-checking imports included), no private names borrowed across modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import utd_stream_engine
import utd_stream_rx

# The SDK and the engine: measured alike, though only the shared contract joins them.
PACKAGES = (Path(utd_stream_rx.__file__).parent, Path(utd_stream_engine.__file__).parent)
ROOT = PACKAGES[0].parent
# What the engine may take from the SDK: the contract both sides speak, nothing else.
SHARED_CONTRACT = frozenset({"utd_stream_rx.models", "utd_stream_rx.error_codes"})
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 300


def _modules() -> Iterator[tuple[str, Path, bool]]:
    """(dotted name, path, is a package) of every module of the package."""
    for path in sorted(p for package in PACKAGES for p in package.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        yield ".".join(parts), path, is_package


def _lengths() -> Iterator[tuple[str, str, int]]:
    """(kind, place, physical lines) of every function and class, docstrings included."""
    for _, path, _ in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                place = f"{path.relative_to(ROOT)}:{node.name}"
                assert node.end_lineno is not None
                yield kind, place, node.end_lineno - node.lineno + 1


def _imports(name: str, path: Path, is_package: bool, known: set[str]) -> Iterator[
    tuple[str, list[str]]
]:
    """(module imported, names taken from it) for every import of the package's own modules,
    wherever it stands (top level, inside a function, under ``TYPE_CHECKING``)."""
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                if submodule in known:
                    yield submodule, []
                elif module in known:
                    yield module, [alias.name]


def _graph() -> dict[str, set[str]]:
    modules = list(_modules())
    known = {name for name, _, _ in modules}
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path, is_package in modules:
        for target, _ in _imports(name, path, is_package, known):
            if target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = [
        f"{place} ({lines})"
        for kind, place, lines in _lengths()
        if kind == "function" and lines > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_no_class_is_longer_than_three_hundred_lines() -> None:
    long = [
        f"{place} ({lines})"
        for kind, place, lines in _lengths()
        if kind == "class" and lines > MAX_CLASS_LINES
    ]
    assert long == []


def test_the_package_has_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_borrows_a_private_name_from_another() -> None:
    modules = list(_modules())
    known = {name for name, _, _ in modules}
    borrowed = [
        f"{name} takes {taken} from {target}"
        for name, path, is_package in modules
        for target, names in _imports(name, path, is_package, known)
        for taken in names
        if taken.startswith("_") and not taken.startswith("__")
    ]
    assert borrowed == []


def test_the_engine_takes_only_the_shared_contract_from_the_sdk() -> None:
    graph = _graph()
    taken = {
        target
        for name, targets in graph.items()
        if name.startswith("utd_stream_engine")
        for target in targets
        if target.startswith("utd_stream_rx")
    }
    assert taken <= SHARED_CONTRACT, sorted(taken - SHARED_CONTRACT)


def test_the_sdk_reaches_the_engine_only_from_its_test_tooling() -> None:
    # ``utd-stream dev`` and the test fixtures start the engine; the SDK proper never needs it.
    graph = _graph()
    users = {
        name
        for name, targets in graph.items()
        if name.startswith("utd_stream_rx")
        and any(t.startswith("utd_stream_engine") for t in targets)
    }
    assert {u for u in users if not u.startswith("utd_stream_rx.testing")} == set()
