"""Writing a run's files so that a file problem never leaves a half-written one.

Every file ``fracneuron train`` writes (``metrics.json``, the plots, the checkpoint) goes through
:func:`atomic_write`: the bytes go to a temporary file of its own beside the target (a unique name
from :func:`tempfile.mkstemp`, so two runs sharing a ``--save`` path never touch each other's
temporary file), are flushed to disk (``fsync``), and only then replace the target in one
``os.replace``. A reader sees the old file or the new one, never a mix; a failed write (a full
disk, a read-only or vanished folder) leaves the previous file as it was and removes its
temporary file. The failure is raised as :class:`WriteError`, whose message is one line naming
the file and the reason.

:func:`check_writable` makes the same temporary file and removes it, so ``fracneuron train`` can
refuse an unusable ``--out`` or ``--save`` before it trains rather than after.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["WriteError", "atomic_write", "check_writable"]


class WriteError(OSError):
    """A file of the run could not be written; the message is one line (file and reason)."""


def _current_umask() -> int:
    # The only portable way to read the umask is to set it; done once, at import.
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: mkstemp makes 0600 files; a finished file gets the permissions ``open()`` would have given it
_FILE_MODE = 0o666 & ~_current_umask()


def _failure(path: Path, exc: OSError) -> WriteError:
    """The one-line error for ``path``, keeping the errno (ENOSPC, EACCES, ...) of ``exc``."""
    error = WriteError(f"cannot write {str(path)!r}: {exc.strerror or exc or type(exc).__name__}")
    error.errno = exc.errno
    return error


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new, uniquely named file in ``path``'s folder: ``NAME.<random>.tmp``."""
    return tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """``with atomic_write(path) as f: f.write(...)`` — ``path`` holds all of it, or is untouched.

    Raises :class:`WriteError` (an ``OSError``) when the file cannot be written.
    """
    path = Path(path)
    try:
        fd, tmp = _temporary_beside(path)
    except OSError as exc:
        raise _failure(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise _failure(path, exc) from None
        raise


def check_writable(path: str | os.PathLike) -> None:
    """Raise :class:`WriteError` unless :func:`atomic_write` can make its temporary file for
    ``path`` (its folder exists and takes new files, and the names fit) and replace ``path``
    (not a directory). Writes nothing that stays."""
    path = Path(path)
    if path.is_dir():
        raise WriteError(f"cannot write {str(path)!r}: it is a directory")
    try:
        fd, tmp = _temporary_beside(path)
    except OSError as exc:
        raise _failure(path, exc) from None
    os.close(fd)
    os.unlink(tmp)
