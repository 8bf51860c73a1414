"""The documentation site: `mkdocs build --strict` passes, the API reference names public objects
only, equations and plots are there, and the code of every guide runs (in order, one namespace per
page) and does what the page says."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest
import torch

import fracneuron
from doc_blocks import DOCS, ROOT, python_blocks, run_page

#: Runs with the example plugin installed, in tests/test_plugin_example.py.
PLUGIN_PAGE = DOCS / "guides" / "plugins.md"

CODE_PAGES = sorted(page for page in DOCS.rglob("*.md") if python_blocks(page) and page != PLUGIN_PAGE)

PAGES = [
    "index.html",
    "getting-started.html",
    "guides/spikingjelly.html",
    "guides/snntorch.html",
    "guides/spikede.html",
    "guides/native.html",
    "guides/plugins.html",
    "architecture.html",
    "memory.html",
    "results/index.html",
    "changelog.html",
    "api/index.html",
    "api/memory.html",
    "api/solvers.html",
    "api/surrogate.html",
    "api/weights.html",
    "api/plugins.html",
]

#: Public names the API reference must document, and the kind of object each is.
TOP_LEVEL = {
    "fractionalize": "function",
    "fractional": "function",
    "LIFNeuron": "class",
    "IFNeuron": "class",
    "ALIFNeuron": "class",
    "BaseNeuron": "class",
    "SNNWrapper": "class",
    "fdeint": "function",
    "fdeint_adjoint": "function",
    "odeint": "function",
    "mittag_leffler": "function",
    "FractionalMemory": "class",
    "FractionalOrder": "class",
    "FractionalOptions": "class",
}
SUBPACKAGES = ["memory", "solvers", "surrogate", "weights", "plugins"]

HEADING = re.compile(r'<h\d id="(fracneuron[\w.]*)" class="doc doc-heading">\s*<code class="[^"]*doc-symbol-(\w+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout + result.stderr


def headings(html: str) -> dict[str, str]:
    """API heading id -> kind ('function', 'class', 'module', 'method', 'attribute')."""
    return dict(HEADING.findall(html))


def test_site_builds_strict_with_every_page_in_the_nav(site):
    out, log = site
    assert "WARNING" not in log, log
    assert "not included in the \"nav\"" not in log, log  # every page is reachable
    for page in PAGES:
        assert (out / page).is_file(), page


def test_api_reference_documents_the_public_names_under_their_public_paths(site):
    out, _ = site
    top = headings((out / "api" / "index.html").read_text())
    for name, kind in TOP_LEVEL.items():
        assert top.get(f"fracneuron.{name}") == kind, (name, top.get(f"fracneuron.{name}"))
    public = set(fracneuron.__all__)
    for path in top:  # members appear under their public owner, never an internal module
        assert path.split(".")[1] in public, path
    for package in SUBPACKAGES:
        found = headings((out / "api" / f"{package}.html").read_text())
        assert found.get(f"fracneuron.{package}") == "module", package
        exported = set(getattr(fracneuron, package).__all__)
        members = {path.split(".")[2] for path in found if path.count(".") >= 2}
        assert members, package
        assert members <= exported, (package, members - exported)


def test_api_reference_reads_as_markdown(site):
    """reStructuredText in docstrings (roles, ruled tables, doctest lines) is rewritten by the
    site's griffe extension, and the shadowed names are functions, not modules."""
    out, _ = site
    for page in SUBPACKAGES + ["index"]:
        text = re.sub(r"<[^>]+>", "", (out / "api" / f"{page}.html").read_text())
        assert ":mod:" not in text and ":class:" not in text and ":func:" not in text, page
    for page, cell in (("weights", "gl_weights_at"), ("surrogate", "inverse_square"), ("memory", "every past state")):
        html = (out / "api" / f"{page}.html").read_text()  # the modules' tables render as tables
        assert "<table>" in html and re.search(rf"<td>(<code>)?{cell}", html) and "=====" not in html, page
    top = (out / "api" / "index.html").read_text()
    assert inside_pre(top, "&gt;&gt;&gt; </span>") and "<blockquote>" not in top  # doctest lines are code


def inside_pre(html: str, needle: str) -> bool:
    """Does ``needle`` occur, and only inside <pre> blocks?"""
    positions = [match.start() for match in re.finditer(re.escape(needle), html)]
    return bool(positions) and all(html.rfind("<pre", 0, at) > html.rfind("</pre>", 0, at) for at in positions)


def test_equations_render_offline(site):
    out, _ = site
    mathjax = out / "javascripts" / "mathjax" / "tex-svg-full.js"
    assert mathjax.stat().st_size > 1_000_000  # MathJax itself, served by the site
    for page in ["index.html", "guides/native.html", "memory.html"]:
        html = (out / page).read_text()
        assert 'class="arithmatex"' in html, page
        assert "javascripts/mathjax/tex-svg-full.js" in html, page
        remote = r'<(script|img)[^>]+src="(https?:)?//|<link[^>]+rel="(stylesheet|preconnect)"[^>]+href="(https?:)?//'
        assert not re.search(remote, html), page  # nothing loaded from a CDN, no web font


def test_getting_started_shows_the_training_plots_and_results_holds_the_tables(site):
    out, _ = site
    html = (out / "getting-started.html").read_text()
    for plot in ["curves.png", "membrane.png", "alpha.png"]:
        assert f"assets/train/{plot}" in html, plot
        assert (out / "assets" / "train" / plot).stat().st_size > 10_000, plot
    results = (out / "results" / "index.html").read_text()
    assert "learned α (per neuron, from 0.8)" in results  # docs/results.md, included as generated
    assert "../assets/train/alpha.png" in results


def test_every_guide_has_code_that_runs_in_the_tests():
    tested = {page.relative_to(DOCS).as_posix() for page in CODE_PAGES}
    for guide in ["guides/spikingjelly.md", "guides/snntorch.md", "guides/spikede.md", "guides/native.md", "memory.md"]:
        assert guide in tested, guide
    assert python_blocks(PLUGIN_PAGE)


def _spikingjelly(ns):
    assert ns["spikes"].shape == (8, 5, 4)
    assert ns["modes_agree"] and ns["is_native"]  # 's' = 'm'; α = 1 is SpikingJelly's own node
    assert ns["alpha"].shape == (32,) and 0 < ns["alpha"].min() and ns["alpha"].max() <= 1
    assert issubclass(ns["FracIF"], ns["neuron"].IFNode)


def _snntorch(ns):
    assert ns["spikes"].shape == (20, 4, 8)
    assert ns["out"].shape == (20, 4, 3)
    assert torch.equal(ns["mem_a"], ns["mem_b"])  # α = 1 is snnTorch's own neuron


def _native(ns):
    assert ns["spikes"].shape == (100, 32, 10)
    assert ns["out"].shape == (16, 32, 5)
    assert ns["error"] < 1e-3
    orders = {m: math.log2(ns["error_at_1"](200, m) / ns["error_at_1"](400, m)) for m in ["gl", "abm"]}
    assert abs(orders["gl"] - 1) < 0.05 and abs(orders["abm"] - 1.6) < 0.05, orders
    assert torch.allclose(ns["grad_adjoint"], ns["alpha"].grad)
    assert ns["stiff"].abs().max() <= 1  # implicit linear part: stable at λh^α ≈ 32


def _spikede(ns):
    assert ns["out"].shape == (8, 32, 5)
    assert len(ns["net"].neurons) == 2
    assert any("is ignored" in str(w.message) for w in ns["caught"])  # spikeDE's step_size rule
    assert torch.allclose(ns["out"], ns["out_one_point"])
    assert ns["stepped"].path.startswith("stepped: forward does call_method 'size'")  # layer by layer: not a chain
    assert ns["always_stepped"].path == "stepped: layer_by_layer=False" and ns["net"].path == "layer by layer"


def _memory(ns):
    soe = (ns["potentials"]("soe", tol=1e-6) - ns["exact"]).abs().max()
    window = (ns["potentials"]("window", window=16) - ns["exact"]).abs().max()
    assert soe < 1e-6 < 1e-3 < window  # soe follows exact; a window does not
    assert (ns["v"] - torch.stack(ns["stepped"])).abs().max() < 1e-12


CHECKS = {
    "guides/spikingjelly.md": _spikingjelly,
    "guides/snntorch.md": _snntorch,
    "guides/native.md": _native,
    "guides/spikede.md": _spikede,
    "memory.md": _memory,
}


@pytest.mark.parametrize("page", CODE_PAGES, ids=lambda page: page.relative_to(DOCS).as_posix())
def test_guide_code_runs(page, single_thread):
    namespace = run_page(page)
    check = CHECKS.get(page.relative_to(DOCS).as_posix())
    if check is not None:
        check(namespace)


def test_getting_started_gives_the_readme_commands():
    from test_readme import readme_commands

    page = (DOCS / "getting-started.md").read_text()
    commands = [block.strip() for block in re.findall(r"```bash\n(.*?)```", page, re.S)][:2]
    assert commands == readme_commands()
    assert 'pip install -e ".[spikingjelly,snntorch,train,dev,docs]"' in commands[0]  # the site is tested
