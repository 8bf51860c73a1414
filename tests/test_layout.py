"""The package's shape (issue 12): layers import downward only — no import circles, counting the
imports inside functions and the benchmarks —, no module over 400 lines, no private torch API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "fracneuron": ROOT / "fracneuron",
    "fracneuron_spikingjelly": ROOT / "adapters" / "fracneuron_spikingjelly",
    "fracneuron_snntorch": ROOT / "adapters" / "fracneuron_snntorch",
}


def _modules() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    for path in (ROOT / "benchmarks").glob("*.py"):  # run as scripts, each other's modules by name
        modules[path.stem] = path
    return modules


def _imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``module`` imports at run time (in functions too; not for typing)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner) for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            names = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix for alias in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def test_no_import_circles():
    modules = _modules()
    graph = {module: _imported(module, path, modules) for module, path in modules.items()}
    assert _cycles(graph) == []


def test_the_checker_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _layer(module: str) -> str:
    """The layer a module belongs to: a subpackage or top-level module of fracneuron
    (``fracneuron.memory``, ``fracneuron.order``), an adapter package, a benchmark script."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "fracneuron" else parts[0]


def test_layers_import_each_other_without_circles():
    # Stricter than modules: memory may not reach up into solvers even from inside a function.
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        graph.setdefault(_layer(module), set()).update(
            _layer(name) for name in _imported(module, path, modules) if _layer(name) != _layer(module)
        )
    assert _cycles(graph) == []
    assert graph["fracneuron.plugins"] == set()  # the registries sit at the bottom


def test_no_module_over_400_lines():
    long = {str(path.relative_to(ROOT)): n for path in _modules().values() if (n := len(path.read_text().splitlines())) > 400}
    assert long == {}


def test_no_private_torch_api():
    pattern = re.compile(r"torch\._C\._")
    users = [str(path.relative_to(ROOT)) for path in _modules().values() if pattern.search(path.read_text())]
    assert users == []
