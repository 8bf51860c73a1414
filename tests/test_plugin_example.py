"""The worked plugin of the docs (examples/plugin/, docs/guides/plugins.md): a separate package that
registers a surrogate through the `fracneuron` entry-point group. It is installed offline into a
temporary directory (pip, --no-deps --no-build-isolation) and used by name through fracneuron, in
fresh processes that see that directory on their path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from doc_blocks import DOCS, ROOT

PLUGIN = ROOT / "examples" / "plugin"


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    """A directory holding the installed plugin, as pip installs it for a user."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "source"
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def run(code_or_args, plugin_path, **env):
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    path = os.pathsep.join(filter(None, [str(plugin_path), os.environ.get("PYTHONPATH")]))
    variables = {**os.environ, "PYTHONPATH": path, **env}
    for name in ("FRACNEURON_DISABLE_PLUGIN_AUTOLOAD", "FRACNEURON_BLOCK_PLUGINS"):
        if name not in env:
            variables.pop(name, None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, env=variables)


def test_the_package_declares_its_entry_point(plugin_path):
    (dist_info,) = plugin_path.glob("fracneuron_slayer-*.dist-info")
    entry_points = (dist_info / "entry_points.txt").read_text()
    assert "[fracneuron]" in entry_points
    assert "slayer = fracneuron_slayer.plugin" in entry_points


def test_the_guide_runs_with_the_plugin_installed(plugin_path):
    """docs/guides/plugins.md's code, then the surrogate against its formula (k/2)·exp(−k|x|)."""
    code = (
        "import sys, torch\n"
        "sys.path.insert(0, 'tests')\n"
        "from doc_blocks import run_page\n"
        f"ns = run_page(__import__('pathlib').Path({str(DOCS / 'guides' / 'plugins.md')!r}))\n"
        "import fracneuron as fn\n"
        "x = torch.linspace(-2, 2, 41, dtype=torch.float64, requires_grad=True)\n"
        "fn.surrogate.get('slayer', 3.0)(x).sum().backward()\n"
        "assert torch.allclose(x.grad, 1.5 * torch.exp(-3.0 * x.detach().abs())), x.grad\n"
        "assert torch.equal(fn.surrogate.get('slayer', 3.0)(x), (x >= 0).double())\n"
        "assert ns['lif'].surrogate_f.name == 'slayer'\n"
        "assert ns['x'].grad is not None and ns['x'].grad.abs().sum() > 0\n"
        "print('checked')\n"
    )
    result = run(code, plugin_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["True", "entry point (fracneuron-slayer 0.1.0)"], lines
    assert "tensor([0.2707, 2.0000, 0.2707])" in result.stdout  # the values the guide states
    assert lines[-1] == "checked"


def test_fracneuron_plugins_lists_it_and_the_environment_can_turn_it_off(plugin_path):
    listed = run(["-m", "fracneuron", "plugins"], plugin_path)
    assert listed.returncode == 0, listed.stderr
    assert "entry point (fracneuron-slayer 0.1.0)" in listed.stdout
    assert "slayer                      [plugin: slayer] (aliases: laplace)" in listed.stdout

    for env in ({"FRACNEURON_DISABLE_PLUGIN_AUTOLOAD": "1"}, {"FRACNEURON_BLOCK_PLUGINS": "slayer"}):
        hidden = run(["-m", "fracneuron", "plugins"], plugin_path, **env)
        assert hidden.returncode == 0, hidden.stderr
        assert "slayer" not in hidden.stdout, env
        assert "arctan" in hidden.stdout  # the built-ins are still there
