"""SIGTERM and SIGHUP end gpuplan like Ctrl-C: as an exception, so that ``finally`` blocks clean up.

A running HiGHS solve is cancelled through its user-interrupt callback (see
:meth:`planner.model.backends.HighsBackend.run`), temporary files are removed
(:func:`planner.inputs.fileio.remove_pending`) and the command exits ``128 + signal``
(130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """A termination signal, raised in the main thread where the program is."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def install() -> None:
    """Turn SIGTERM and SIGHUP into :class:`Interrupted` (only from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, _raise)


def describe(exc: BaseException) -> tuple[str, int]:
    """The signal's name and the exit code (``128 + signal number``) of an interruption."""
    signum = getattr(exc, "signum", signal.SIGINT)
    return signal.Signals(signum).name, 128 + int(signum)
