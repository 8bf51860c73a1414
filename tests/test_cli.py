"""fracneuron.cli: ``fracneuron plugins`` lists every plugin, a broken one (exit 0), an adapter whose
check raises, and missing frameworks."""

import subprocess
import sys
import textwrap

from fracneuron import cli, plugins
from fracneuron.adapter import Adapter

from distributions import make_distribution


def test_plugins_command_lists_everything():
    out = subprocess.run([sys.executable, "-m", "fracneuron", "plugins"], capture_output=True, text=True, check=True).stdout
    for section in ("plugins:", "adapters:", "memories:", "methods:", "surrogates:"):
        assert section in out
    assert "spikingjelly" in out and "snntorch" in out
    assert "exact" in out and "[plugin: builtin]" in out
    assert "arctan_surrogate" in out


def test_plugins_command_lists_a_broken_plugin_and_exits_0(tmp_path):
    # issue 11 item 15: `fracneuron plugins` tracebacked on a plugin whose hook raises
    broken = textwrap.dedent(
        """
        from fracneuron.plugins import hookimpl

        @hookimpl
        def fracneuron_register_memories(register):
            raise RuntimeError('needs libfoo')
        """
    )
    make_distribution(tmp_path, "fracneuron_broken", "fracneuron_broken", broken, "broken")
    env = {"PYTHONPATH": f"{tmp_path}:{':'.join(sys.path)}", "PATH": ""}
    result = subprocess.run([sys.executable, "-m", "fracneuron", "plugins"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    reason = "fracneuron_register_memories raised RuntimeError: needs libfoo"
    assert f"  broken           NOT LOADED: {reason}" in result.stdout.splitlines()
    assert f"RuntimeWarning: fracneuron plugin 'broken' not loaded: {reason}" in result.stderr
    assert "exact" in result.stdout and "arctan_surrogate" in result.stdout


class CheckRaisesAdapter(Adapter):
    name = "fragile"

    def unavailable_reason(self):
        raise ImportError("libfoo is half installed")

    def supported_classes(self):
        return ["Never"]


def test_plugins_command_lists_an_adapter_whose_check_raises(fresh_plugins, capsys):
    plugins.adapters.add("fragile", CheckRaisesAdapter(), "someone")
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    told = "unavailable: its availability check raised ImportError: libfoo is half installed"
    assert f"  fragile          {told}  [plugin: someone]" in out
    assert "supports Never" not in out


def test_plugins_command_reports_missing_frameworks(tmp_path):
    # a Python whose spikingjelly import is blocked, as on a machine without it
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['spikingjelly'] = None\nsys.modules['snntorch'] = None\n")
    env = {"PYTHONPATH": f"{tmp_path}:{':'.join(sys.path)}", "PATH": ""}
    out = subprocess.run([sys.executable, "-m", "fracneuron", "plugins"], capture_output=True, text=True, check=True, env=env).stdout
    assert "spikingjelly     unavailable: spikingjelly is not installed" in out
    assert "snntorch         unavailable: snntorch is not installed" in out
