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


# ------------------------------------------------------------------------ tests mirror the package
TESTS = ROOT / "tests"
#: tests/<folder> -> the package folder it mirrors (top-level tests/test_*.py: fracneuron's own modules
#: and the cross-cutting checks — import, layout, docs, package, README, bad input tables).
MIRRORS = {
    **{folder: PACKAGES["fracneuron"] / folder for folder in ("functional", "memory", "neuron", "solvers", "wrapper", "plugins", "train")},
    "adapters/spikingjelly": PACKAGES["fracneuron_spikingjelly"],
    "adapters/snntorch": PACKAGES["fracneuron_snntorch"],
    "benchmarks": ROOT / "benchmarks",  # the scripts' own helpers (harness, spikeDE side by side)
}
#: Shared helpers of the suite, not tests: the one GL reference loop, the doc-page runner, ...
HELPERS = {"conftest.py", "reference.py", "doc_blocks.py", "distributions.py", "problems.py", "workers.py", "cycles.py"}
#: Modules without a test file of their own: the test file that covers each, and how.
COVERED_ELSEWHERE = {
    "fracneuron/__main__.py": ("tests/test_cli.py", "`python -m fracneuron` is how the CLI tests run it"),
    "fracneuron/_checks.py": ("tests/test_bad_input_neurons.py", "the argument checks: the bad-input tables"),
    "fracneuron/adapter.py": ("tests/test_cli.py", "the Adapter protocol: an adapter whose check raises"),
    "fracneuron/builtin_plugins.py": ("tests/plugins/test_manager.py", "built-ins registered through the hooks"),
    "fracneuron/options.py": ("tests/test_bad_input_neurons.py", "FractionalOptions' checks, through every constructor"),
    "fracneuron/functional/stored_history.py": ("tests/functional/test_kernels.py", "both kernels, one parametrised suite"),
    "fracneuron/functional/exponential_modes.py": ("tests/functional/test_kernels.py", "both kernels, one parametrised suite"),
    "fracneuron/functional/mode_steps.py": ("tests/functional/test_kernels.py", "both kernels' recorded steps, gradchecked"),
    "fracneuron/functional/step.py": ("tests/neuron/test_models.py", "the formula: every α = 1 bit-exact and GL reference test"),
    "fracneuron/functional/traced.py": ("tests/test_compile.py", "the compiled history path"),
    "fracneuron/memory/engine.py": ("tests/plugins/test_manager.py", "the engine interface, by a third-party engine"),
    "fracneuron/memory/state.py": ("tests/functional/test_kernels.py", "a sequence's state: forks and no_grad gaps"),
    "fracneuron/memory/window.py": ("tests/memory/test_fractional.py", "the window engine against the truncated reference"),
    "fracneuron/solvers/implicit.py": ("tests/solvers/test_l1.py", "the implicit step of l1 and trap"),
    "fracneuron/solvers/inputs.py": ("tests/test_bad_input_solvers.py", "what fdeint is given: the bad-input table"),
    "fracneuron/solvers/loop.py": ("tests/solvers/test_fdeint.py", "the loop every method runs in"),
    "fracneuron/solvers/steppers.py": ("tests/wrapper/test_snn_wrapper.py", "the schemes of the wrapped neurons"),
    "fracneuron/plugins/hookspecs.py": ("tests/plugins/test_manager.py", "the hooks a third-party plugin implements"),
    "fracneuron/plugins/kinds.py": ("tests/plugins/test_manager.py", "the four kinds, through the registries"),
    "fracneuron/train/loop.py": ("tests/train/test_distributed.py", "one process against two, same global batch"),
    "fracneuron/train/plots.py": ("tests/train/test_runner.py", "a small run's plots are read back"),
    "fracneuron/train/report.py": ("tests/train/test_runner.py", "a small run's metrics"),
    "fracneuron/wrapper/orders.py": ("tests/wrapper/test_snn_wrapper.py", "per-layer, multi-term and learnable orders"),
    "fracneuron/train/layers.py": ("tests/train/test_tasks_models.py", "recurrent and conv layers in the three frameworks"),
    "fracneuron/train/recall.py": ("tests/train/test_tasks_data.py", "the recall generator: shapes, determinism for a seed"),
    "fracneuron/train/delay_sweep.py": ("tests/train/test_tasks_results.py", "the delay sweep and its plot, by --smoke"),
    "adapters/fracneuron_spikingjelly/cells.py": ("tests/adapters/spikingjelly/test_fused.py", "the charges the fused path runs"),
    "adapters/fracneuron_spikingjelly/native_charges.py": ("tests/adapters/spikingjelly/test_nodes.py", "α = 1 bit-exact fused nodes"),
}


def _package_modules() -> dict[str, Path]:
    """Every module of the three packages (no __init__), by its path from the repository root."""
    return {
        str(path.relative_to(ROOT)): path
        for folder in PACKAGES.values() for path in folder.rglob("*.py") if path.name != "__init__.py"
    }


def _test_file(module: Path) -> Path:
    """Where the test file of a package module lives: the mirrored folder, test_<module>.py."""
    for tests, package in MIRRORS.items():
        if module.parent == package:
            return TESTS / tests / f"test_{module.stem}.py"
    assert module.parent == PACKAGES["fracneuron"], module
    return TESTS / f"test_{module.stem}.py"


def test_every_test_folder_mirrors_a_package_folder():
    folders = {str(p.parent.relative_to(TESTS)) for p in TESTS.rglob("*.py") if p.parent != TESTS}
    assert folders <= set(MIRRORS), folders - set(MIRRORS)
    assert all(package.is_dir() for package in MIRRORS.values())
    helpers = {p.name for p in TESTS.glob("*.py") if not p.name.startswith("test_")}
    assert helpers <= HELPERS, helpers - HELPERS


def test_every_module_has_a_test_file_or_says_which_covers_it():
    modules = _package_modules()
    untested = {name for name, path in modules.items() if not _test_file(path).exists()}
    assert untested == set(COVERED_ELSEWHERE), (untested - set(COVERED_ELSEWHERE), set(COVERED_ELSEWHERE) - untested)
    for name, (test_file, _why) in COVERED_ELSEWHERE.items():
        assert (ROOT / test_file).exists(), (name, test_file)


def test_the_mirror_check_finds_a_missing_test_file():
    assert _test_file(PACKAGES["fracneuron"] / "memory" / "window.py") == TESTS / "memory" / "test_window.py"
    assert _test_file(PACKAGES["fracneuron_snntorch"] / "neuron.py") == TESTS / "adapters" / "snntorch" / "test_neuron.py"
    assert not _test_file(PACKAGES["fracneuron"] / "memory" / "window.py").exists()
