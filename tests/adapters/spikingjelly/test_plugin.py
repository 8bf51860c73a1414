"""fracneuron_spikingjelly.plugin: the adapter is listed unavailable without SpikingJelly, refuses an
old one, and fracneuron works without it and never imports it unasked."""

import pytest

import fracneuron as fn

pytest.importorskip("spikingjelly")

from spikingjelly.activation_based import neuron  # noqa: E402


def test_adapter_is_listed_unavailable_when_spikingjelly_is_missing(monkeypatch):
    import importlib.util

    from fracneuron.cli import plugins_report

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "spikingjelly" else real_find_spec(name, *args)
    )
    report = plugins_report()
    assert "spikingjelly     unavailable: spikingjelly is not installed (pip install --no-deps spikingjelly==2.0.0" in report
    with pytest.raises(TypeError, match=r"spikingjelly \(unavailable: spikingjelly is not installed"):
        fn.fractional(neuron.LIFNode)


def test_adapter_refuses_an_old_spikingjelly(monkeypatch):
    from fracneuron_spikingjelly import plugin

    monkeypatch.setattr(plugin.metadata, "version", lambda name: "0.0.0.0.14")
    assert "spikingjelly 0.0.0.0.14 is installed; the adapter needs SpikingJelly 2.x" in plugin.SpikingJellyAdapter().unavailable_reason()


def test_fracneuron_works_without_spikingjelly_and_never_imports_it_unasked():
    import subprocess
    import sys

    code = (
        "import sys, torch, fracneuron as fn\n"
        "from fracneuron.cli import main\n"
        "main(['plugins'])\n"
        "net = torch.nn.Sequential(torch.nn.Linear(2, 2), fn.neuron.LIFNeuron(step_mode='m'))\n"
        "fn.fractionalize(net, alpha=0.5)\n"
        "print('imported:', [m for m, mod in sys.modules.items() if m.startswith('spikingjelly') and mod])\n"
    )
    for prefix, state in (("import sys; sys.modules['spikingjelly'] = None\n", "unavailable"), ("", "available")):
        result = subprocess.run([sys.executable, "-c", prefix + code], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert f"spikingjelly     {state}" in result.stdout
        assert "imported: []" in result.stdout
