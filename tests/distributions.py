"""A generated distribution on sys.path: how the plugin tests install a third-party plugin offline."""

from pathlib import Path


def make_distribution(root: Path, dist_name: str, module_name: str, source: str, entry_name: str) -> None:
    """Write ``module_name.py`` and a dist-info declaring it under the ``fracneuron`` entry-point group."""
    (root / f"{module_name}.py").write_text(source)
    info = root / f"{dist_name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[fracneuron]\n{entry_name} = {module_name}\n")
