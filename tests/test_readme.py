"""The README's set-up commands are exactly what CI runs."""

import pathlib
import re

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
