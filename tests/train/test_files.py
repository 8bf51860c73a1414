"""fracneuron.train.files: a file problem never leaves a half-written file, and written files get the usual permissions."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from fracneuron.cli import main


TINY_ARGV = [
    "train", "--dataset", "digits", "--framework", "native", "--alpha", "0.5", "--epochs", "1", "--hidden", "8",
    "--T", "8", "--limit-train", "32", "--limit-test", "16", "--batch-size", "16", "--no-progress", "--no-plots",
]


def _leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for folder in folders if folder.exists() for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("failing, error", [("fsync", errno.ENOSPC), ("replace", errno.EROFS)], ids=["ENOSPC", "EROFS"])
@pytest.mark.parametrize("with_checkpoint", [True, False], ids=["checkpoint", "metrics"])
def test_a_full_disk_is_one_line_and_keeps_the_previous_files(tmp_path, capsys, monkeypatch, failing, error, with_checkpoint):
    out, ckpt = tmp_path / "out", tmp_path / "ckpt" / "run.pt"
    argv = [*TINY_ARGV, "--out", str(out), *(["--save", str(ckpt)] if with_checkpoint else [])]
    assert main(argv) == 0
    before = {path: path.read_bytes() for path in (out / "metrics.json", ckpt) if path.exists()}
    capsys.readouterr()

    def fail(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, failing, fail)  # the disk fills up (or turns read-only) mid-run
    code = main(argv)
    err = capsys.readouterr().err
    first_write = ckpt if with_checkpoint else out / "metrics.json"
    assert code == 2
    assert err.splitlines() == [f"fracneuron train: error: cannot write {str(first_write)!r}: {os.strerror(error)}"]
    for path, content in before.items():
        assert path.read_bytes() == content, path  # the previous good file, whole
    assert _leftovers(out, ckpt.parent) == []


def test_an_out_folder_that_refuses_new_files_is_reported_before_training(tmp_path, capsys, monkeypatch):
    """EACCES/EROFS on an existing --out (simulated: as root no permission bit refuses a write)."""
    import tempfile

    out = tmp_path / "out"
    out.mkdir()
    real_mkstemp = tempfile.mkstemp

    def refuse_in_out(*args, dir=None, **kwargs):
        if Path(dir) == out:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refuse_in_out)
    assert main([*TINY_ARGV, "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""  # nothing trained: the run header comes after the data is loaded
    assert printed.err.splitlines() == [
        f"fracneuron train: error: --out: cannot write {str(out / 'metrics.json')!r}: {os.strerror(errno.EACCES)}"
    ]


def test_written_files_get_the_usual_permissions(tmp_path):
    from fracneuron.train.files import atomic_write

    with atomic_write(tmp_path / "a.json") as file:
        file.write(b"{}")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_a_plot_that_cannot_be_written_keeps_the_previous_plot(tmp_path, capsys, monkeypatch):
    """The plots go through the same atomic write: a full disk while writing a PNG is one line,
    the previous PNG stays whole and no temporary file is left."""
    out = tmp_path / "out"
    argv = [arg for arg in TINY_ARGV if arg != "--no-plots"] + ["--out", str(out)]
    assert main(argv) == 0
    plots = sorted(out.glob("*.png"))
    assert plots, "the run wrote no plot"
    before = {path: path.read_bytes() for path in plots}
    capsys.readouterr()
    real_replace = os.replace

    def replace_but_not_plots(src, dst, *args, **kwargs):
        if str(dst).endswith(".png"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace_but_not_plots)
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and ".png" in err[0] and os.strerror(errno.ENOSPC) in err[0], err
    for path, content in before.items():
        assert path.read_bytes() == content, path
    assert _leftovers(out) == []
