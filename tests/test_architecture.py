"""The shape of the code, checked: layers, import cycles, sizes, names, state.

Read from the source (``ast``), not by importing it, so that what an import
hides (``TYPE_CHECKING`` blocks included) counts too. ``docs/architecture.md``
describes the shape these tests hold the code to.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[1]
PACKAGE_DIR: Final = ROOT / "custom_components" / "miner_hub"
PACKAGE: Final = "custom_components.miner_hub"
PROTOCOL: Final = f"{PACKAGE}.protocol"
MAX_MODULE_LINES: Final = 450
PLATFORMS: Final = frozenset(
    {"binary_sensor", "button", "number", "select", "sensor", "switch", "update"}
)
MUTABLE_CALLS: Final = frozenset(
    {"dict", "list", "set", "defaultdict", "deque", "WeakKeyDictionary",
     "WeakValueDictionary", "WeakSet", "OrderedDict", "Counter"}
)  # fmt: skip
MUTATING_METHODS: Final = frozenset(
    {"append", "add", "clear", "extend", "insert", "pop", "popitem", "remove",
     "setdefault", "update", "discard", "appendleft", "popleft"}
)  # fmt: skip


@dataclass(frozen=True)
class Module:
    """One source file of the integration."""

    name: str
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


@cache
def modules() -> dict[str, Module]:
    """Every module of the integration by its dotted name."""
    found: dict[str, Module] = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        found[name] = Module(name, path, ast.parse(path.read_text(), str(path)))
    return found


def _imports(module: Module) -> Iterator[str]:
    """The integration's modules ``module`` imports (TYPE_CHECKING ones too)."""
    known = modules()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            yield from _from_import(module, node, known)


def _from_import(
    module: Module, node: ast.ImportFrom, known: dict[str, Module]
) -> Iterator[str]:
    if node.level:
        base = module.name.split(".")
        if not module.is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
    for alias in node.names:
        if (submodule := f"{target}.{alias.name}") in known:
            yield submodule  # ``from . import parse``: the module itself
        elif target in known:
            yield target


def _graph() -> dict[str, set[str]]:
    return {name: set(_imports(module)) for name, module in modules().items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_protocol_layer_knows_nothing_of_home_assistant() -> None:
    offenders = [
        f"{module.name} imports {name}"
        for module in modules().values()
        if module.name.startswith(PROTOCOL)
        for node in ast.walk(module.tree)
        for name in _imported_names(node)
        if name.split(".")[0] == "homeassistant"
        or (name.startswith(PACKAGE) and not name.startswith(PROTOCOL))
    ]
    assert offenders == []


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and not node.level:
        return [node.module or ""]
    return []


def test_actions_and_intents_do_not_reach_into_platforms() -> None:
    """Commands go through the coordinator, never through an entity."""
    for caller in ("services", "intent"):
        imported = _graph()[f"{PACKAGE}.{caller}"]
        assert not {f"{PACKAGE}.{platform}" for platform in PLATFORMS} & imported


def test_no_module_is_too_long() -> None:
    lengths = {
        module.name: len(module.path.read_text().splitlines())
        for module in modules().values()
    }
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_class_names_are_unique() -> None:
    """One name, one thing: no two classes of the integration share a name."""
    names = Counter(
        node.name
        for module in modules().values()
        for node in ast.walk(module.tree)
        if isinstance(node, ast.ClassDef)
    )
    assert [name for name, count in names.items() if count > 1] == []


def _protocol_modules() -> list[Module]:
    return [m for m in modules().values() if m.name.startswith(PROTOCOL)]


def _is_mutable(value: ast.expr | None) -> bool:
    match value:
        case ast.Dict() | ast.List() | ast.Set() | ast.DictComp() | ast.ListComp():
            return True
        case ast.SetComp():
            return True
        case ast.Call(func=ast.Name(id=name)) | ast.Call(func=ast.Attribute(attr=name)):
            return name in MUTABLE_CALLS
    return False


def _is_final(annotation: ast.expr | None) -> bool:
    match annotation:
        case ast.Name(id="Final") | ast.Subscript(value=ast.Name(id="Final")):
            return True
    return False


def _module_containers(module: Module) -> dict[str, ast.stmt]:
    """Module-level names bound to a mutable container, with their statement."""
    found: dict[str, ast.stmt] = {}
    for statement in module.tree.body:
        match statement:
            case ast.Assign(targets=[ast.Name(id=name)], value=value):
                if _is_mutable(value):
                    found[name] = statement
            case ast.AnnAssign(target=ast.Name(id=name), value=value):
                if _is_mutable(value):
                    found[name] = statement
    return found


@pytest.mark.parametrize("module", _protocol_modules(), ids=lambda m: m.name)
def test_no_mutable_module_state_in_the_protocol_layer(module: Module) -> None:
    """Shared state has an owner (the gate); module-level tables are constants.

    A container at module level is annotated Final and never changed by the
    code; nothing rebinds a module global.
    """
    containers = _module_containers(module)
    not_final = [
        name
        for name, statement in containers.items()
        if not (
            isinstance(statement, ast.AnnAssign) and _is_final(statement.annotation)
        )
    ]
    assert not_final == []
    mutated = sorted(
        name
        for node in ast.walk(module.tree)
        for name in _mutated_names(node)
        if name in containers
    )
    assert mutated == []
    assert not any(isinstance(node, ast.Global) for node in ast.walk(module.tree))


def _mutated_names(node: ast.AST) -> list[str]:
    """Names changed in place by ``node``: ``x[k] = v``, ``x.append(v)``..."""
    match node:
        case ast.Assign(targets=targets) | ast.AugAssign(target=ast.expr() as targets):
            items = targets if isinstance(targets, list) else [targets]
            return [
                item.value.id
                for item in items
                if isinstance(item, ast.Subscript) and isinstance(item.value, ast.Name)
            ]
        case ast.Delete(targets=targets):
            return [
                item.value.id
                for item in targets
                if isinstance(item, ast.Subscript) and isinstance(item.value, ast.Name)
            ]
        case ast.Call(func=ast.Attribute(value=ast.Name(id=name), attr=method)):
            return [name] if method in MUTATING_METHODS else []
    return []


def test_the_state_check_finds_a_registry() -> None:
    source = (
        "import weakref\n"
        "_SESSIONS = weakref.WeakKeyDictionary()\n"
        "def session_for(loop):\n"
        "    return _SESSIONS.setdefault(loop, {})\n"
    )
    module = Module("example", Path("example.py"), ast.parse(source))
    containers = _module_containers(module)
    assert list(containers) == ["_SESSIONS"]
    mutated = [name for node in ast.walk(module.tree) for name in _mutated_names(node)]
    assert mutated == ["_SESSIONS"]
