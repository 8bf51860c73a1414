"""The README's set-up commands are exactly what CI runs, and its code examples run as written."""

import pathlib
import re

import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_readme_has_two_setup_commands_and_ci_runs_them_verbatim():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("fracneuron train")
    assert commands[1].endswith("pytest")
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in commands:
        assert command in ci_lines, command


def run_example(section_title):
    """Run the python blocks of a README section in order, in one namespace; return it."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {section_title}", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, section_title
    namespace = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def test_native_api_example_runs():
    namespace = run_example("The native API")
    assert namespace["spikes"].shape == (100, 32, 10)
    assert namespace["lif"].trace.shape == (32, 10) and namespace["lif"].refractory == 3


def test_wrapper_and_fdeint_example_runs():
    namespace = run_example("SNNWrapper and fdeint")
    assert namespace["out"].shape == (16, 32, 5)
    assert namespace["y"].shape == (1001, 3)
    assert namespace["error"] < 1e-3  # the comment in the README says ≈ 2e-4


def test_one_line_conversion_examples_run_in_spikingjelly_and_snntorch():
    namespace = run_example("Your model, fractional, in one line")
    model, net, lif = namespace["model"], namespace["net"], namespace["lif"]
    assert type(model[1]).__name__ == "FractionalLIFNode" and namespace["FracLIF"].__name__ == "FractionalLIFNode"
    assert float(model[1].memory.order.coefficients()[1]) == 0.5  # the last call's multi-term order
    assert [type(m).__name__ for m in (net[1], net[4])] == ["FractionalLIFNode", "FractionalLIFNode"]
    out = namespace["out"]
    assert out.shape == (20, 4, 10) and set(out.unique().tolist()) <= {0.0, 1.0}
    assert net[1].memory.steps == 0  # reset_net cleared the history
    out.sum().backward()  # learn_alpha: every node's α gets a gradient through the surrogate
    for node in (net[1], net[4]):
        grad = node.memory.order.alpha_param.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    spikes = torch.stack(namespace["spk_rec"])
    assert spikes.shape == (25, 4, 10) and spikes.sum() > 0
    assert type(lif).__name__ == "FractionalLeaky" and lif.memory.steps == 25
