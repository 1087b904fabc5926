"""Atomic writes: a temporary file in the same folder, renamed into place only when complete."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from planner.errors import InputError


def check_input(path: Path, kind: str) -> None:
    """An input must be a readable regular file; say precisely what it is otherwise.

    Args:
        path: the file a command reads.
        kind: what the file should be, for the message ("a CSV file", "a YAML file").
    """
    label = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("file not found", file=label) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"is a symbolic link loop; point it at {kind}", file=label) from None
        raise InputError(f"cannot be read ({exc.strerror})", file=label) from None
    if stat.S_ISDIR(mode):
        raise InputError(f"is a folder; expected {kind}", file=label)
    if not stat.S_ISREG(mode):
        raise InputError(f"is not a regular file (a pipe, socket or device); expected {kind}", file=label)
    if not os.access(path, os.R_OK):
        raise InputError("cannot be read (permission denied)", file=label)


def check_output(path: Path) -> None:
    """The folder of an output file must exist: say so before any work is done."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist; create it first", file=str(path))
    if path.is_dir():
        raise InputError("is a folder; give a file name", file=str(path))


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds."""
    check_output(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically: a reader sees the old file or the whole new one."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
