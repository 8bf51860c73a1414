"""The release package: `python -m build` makes an sdist and a wheel (offline: --no-isolation, with
the build tools of the dev extra) without a setuptools deprecation warning, `twine check` passes,
the wheel holds the core and both adapters with their py.typed markers and nothing else, and the
version has one source."""

from __future__ import annotations

import email
import importlib.metadata
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import pytest

import fracneuron

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("fracneuron", "fracneuron_spikingjelly", "fracneuron_snntorch")
SOURCES = {"fracneuron": ROOT / "fracneuron", **{name: ROOT / "adapters" / name for name in PACKAGES[1:]}}

# What a working copy may hold besides the project's files (never part of a build).
UNTRACKED = ("*.egg-info", "__pycache__", ".git", ".venv", "venv", "build", "dist", "site", "runs",
             ".pytest_cache", "*.pt")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(sdist, wheel, build log) from a copy of the project, so the working tree stays untouched."""
    work = tmp_path_factory.mktemp("package")
    project = work / "project"
    shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(*UNTRACKED))
    out = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(project)],
        capture_output=True,
        text=True,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel, log


def test_build_shows_no_deprecation_warning(built):
    _, _, log = built
    assert "deprecat" not in log.lower(), log
    assert "SetuptoolsWarning" not in log, log


def test_twine_check_passes_for_the_sdist_and_the_wheel(built):
    sdist, wheel, _ = built
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_holds_the_core_and_both_adapters_and_nothing_else(built):
    _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    dist_info = f"fracneuron-{fracneuron.__version__}.dist-info"
    assert {name.split("/")[0] for name in names} == {*PACKAGES, dist_info}  # no tests/, benchmarks/, ...
    for package, source in SOURCES.items():
        assert f"{package}/py.typed" in names, package
        modules = {f"{package}/{path.relative_to(source).as_posix()}" for path in source.rglob("*.py")}
        assert modules <= names, sorted(modules - names)
    assert f"{dist_info}/licenses/LICENSE" in names


def test_wheel_metadata(built):
    _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        dist_info = f"fracneuron-{fracneuron.__version__}.dist-info"
        metadata = email.message_from_bytes(archive.read(f"{dist_info}/METADATA"))
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert metadata["Version"] == fracneuron.__version__
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert not any(c.startswith("License ::") for c in metadata.get_all("Classifier"))  # SPDX replaces these
    urls = dict(url.split(", ", 1) for url in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Repository", "Issues", "Changelog"} <= set(urls)
    assert "[fracneuron]" in entry_points
    assert "spikingjelly = fracneuron_spikingjelly.plugin" in entry_points
    assert "snntorch = fracneuron_snntorch.plugin" in entry_points


def test_sdist_holds_what_a_rebuild_needs(built):
    sdist, _, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "LICENSE", "fracneuron/py.typed"} <= names
    assert "adapters/fracneuron_spikingjelly/py.typed" in names and "adapters/fracneuron_snntorch/py.typed" in names


def test_the_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "fracneuron.__version__"}
    assert importlib.metadata.version("fracneuron") == fracneuron.__version__
