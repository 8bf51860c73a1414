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


def test_a_per_neuron_sequence_does_not_load_sympy():
    # a shape check must not pull in torch's symbolic-shape machinery (sympy: ~30 MB and a second
    # on the first call, which the first training step, and every benchmark's warm-up, paid)
    result = run(
        "import sys, torch, fracneuron as fn\n"
        "for per_neuron in (False, True):\n"
        "    lif = fn.neuron.LIFNeuron(alpha=0.6, learn_alpha=True, per_neuron=per_neuron, step_mode='m')\n"
        "    lif(torch.rand(5, 2, 4, requires_grad=True)).sum().backward()\n"
        "fn.fdeint(lambda t, y: -y, torch.ones(2, 3), torch.linspace(0, 1, 5), alpha=torch.full((3,), 0.5))\n"
        "print('sympy' in sys.modules)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
