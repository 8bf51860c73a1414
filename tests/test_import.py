"""`import fracneuron` is light and works without the optional frameworks."""

import subprocess
import sys


def run(code, tmp_path=None, block=()):
    prefix = "".join(f"import sys; sys.modules[{name!r}] = None\n" for name in block)
    return subprocess.run([sys.executable, "-c", prefix + code], capture_output=True, text=True)


def test_import_does_not_load_any_framework():
    result = run(
        "import sys, fracneuron\n"
        "fracneuron.plugins.adapters.names()\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('spikingjelly', 'snntorch')])"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_core_works_and_adapters_are_unavailable_without_frameworks():
    result = run(
        "import torch, fracneuron as fn\n"
        "lif = fn.neuron.LIFNeuron(alpha=0.5, step_mode='m')\n"
        "assert lif(torch.ones(3, 2, 4)).shape == (3, 2, 4)\n"
        "print(fn.convert.adapter_status())\n",
        block=("spikingjelly", "snntorch"),
    )
    assert result.returncode == 0, result.stderr
    assert "spikingjelly (unavailable: spikingjelly is not installed" in result.stdout
    assert "snntorch (unavailable: snntorch is not installed" in result.stdout


def test_spikede_names_import_from_the_top_level():
    # spikeDE users write `from spikeDE import SNNWrapper, LIFNeuron`; one word changes
    from fracneuron import ALIFNeuron, BaseNeuron, IFNeuron, LIFNeuron, SNNWrapper, fdeint, neuron

    assert LIFNeuron is neuron.LIFNeuron and IFNeuron is neuron.IFNeuron
    assert ALIFNeuron is neuron.ALIFNeuron and BaseNeuron is neuron.BaseNeuron
    assert callable(SNNWrapper) and callable(fdeint)
