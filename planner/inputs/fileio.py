"""Files in and out: inputs checked before reading, outputs written atomically and never over an input.

An output is written to a temporary file next to it and renamed into place only when complete, so
a reader sees the old file or the whole new one. Temporary files are removed when the write fails,
on SIGTERM, SIGHUP and Ctrl-C (see :mod:`planner.interrupts`) and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from planner.errors import InputError, OutputError

_PENDING: set[str] = set()  # temporary files being written
#: the longest file name (in bytes) the usual file systems hold
NAME_MAX = 255


@atexit.register
def remove_pending() -> None:
    """Remove temporary files of writes that did not finish (also called by the signal handlers)."""
    for tmp in list(_PENDING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _PENDING.discard(tmp)


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


def refuse_overwrite(outputs: dict[str, Path | None], inputs: Iterable[Path]) -> None:
    """No output may be a file the command reads (symbolic links and ``..`` followed).

    Args:
        outputs: option name (``--out``) to the path given, or None when not given.
        inputs: every file the command reads.

    Raises:
        InputError: naming the option, the output path and the input it would replace.
    """
    real = {os.path.realpath(p): p for p in inputs}
    for option, out in outputs.items():
        if out is None:
            continue
        hit = real.get(os.path.realpath(out))
        if hit is not None:
            raise InputError(
                f"{option} {out} is the input file {hit}; the command reads it, so write the output elsewhere"
            )


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    Raises:
        OutputError: the file system refused the write (read-only, full, no permission); nothing
            is left behind and an existing ``path`` is unchanged.
    """
    check_output(path)
    # the temporary name must fit the file system's limit even when the output's name just does
    stem = (
        os.fsdecode(os.fsencode(path.name)[: NAME_MAX - 32])
        if len(os.fsencode(path.name)) > NAME_MAX - 32
        else path.name
    )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write here ({exc.strerror}); nothing was written") from None
    _PENDING.add(tmp)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror}); nothing was written") from None
    finally:
        with contextlib.suppress(OSError):
            if os.path.exists(tmp):
                os.unlink(tmp)
        _PENDING.discard(tmp)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically: a reader sees the old file or the whole new one."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
