"""fracneuron_snntorch.plugin: fracneuron works without snnTorch and importing it does not import snnTorch."""

from __future__ import annotations

import subprocess
import sys


def test_fracneuron_works_without_snntorch():
    code = (
        "import sys; sys.modules['snntorch'] = None\n"
        "import fracneuron, fracneuron_snntorch.plugin, fracneuron_snntorch.classes\n"
        "from fracneuron.cli import plugins_report\n"
        "print(plugins_report())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    adapter_line = [line for line in out.stdout.splitlines() if line.split()[:1] == ["snntorch"] and "available" in line]
    assert len(adapter_line) == 1 and "unavailable: snntorch is not installed" in adapter_line[0]


def test_importing_fracneuron_does_not_import_snntorch():
    code = "import sys, fracneuron; fracneuron.plugins.adapters.names(); print('snntorch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert out.stdout.strip() == "False"
