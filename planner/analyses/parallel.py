"""Where the work of many solves runs: local worker processes (at most one per CPU) or a Dask cluster.

Shared by compare, sweep, stress and risk; the Dask imports happen inside the functions.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from planner.errors import InputError, Setting


@contextlib.contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A ``dask.distributed`` client: to ``scheduler`` when given, else to a local cluster of processes."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        with _connect(check_scheduler(scheduler)) as client:
            yield client
        return
    import tempfile

    n = workers or cpus()
    with (
        # the workers' scratch space in a folder of our own, removed at the end (Dask's default is shared)
        tempfile.TemporaryDirectory(prefix="gpuplan-dask-") as scratch,
        dask.config.set({"temporary-directory": scratch}),
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # its HTTP server on a free port: never a clash with a running cluster
            local_directory=scratch,
            # a failed task is reported once, as gpuplan's own one line: no worker log or traceback
            silence_logs=logging.CRITICAL,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


#: seconds the whole connection to a scheduler (TCP and Dask's handshake) may take
CONNECT_SECONDS = 10.0


def check_scheduler(address: str) -> str:
    """A scheduler address as ``tcp://HOST:PORT`` (a bare ``HOST:PORT`` is taken as TCP).

    Raises:
        InputError: for any other form (TLS needs certificates gpuplan does not configure).
    """
    from urllib.parse import urlsplit

    text = address.strip()
    url = text if "://" in text else f"tcp://{text}"
    form = "expected tcp://HOST:PORT (for example tcp://127.0.0.1:8786)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InputError(f"{form}, got {address!r}", key=Setting.SCHEDULER) from None
    if parts.scheme != "tcp" or not parts.hostname or port is None or parts.path not in ("", "/") or port < 1:
        raise InputError(f"{form}, got {address!r}", key=Setting.SCHEDULER)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"tcp://{host}:{port}"


@contextlib.contextmanager
def _connect(address: str) -> Iterator[Any]:
    """A client of the scheduler at ``address``, connected within :data:`CONNECT_SECONDS` or refused in one line.

    The connection runs in a thread of its own: a server that accepts and never answers, or
    answers with anything but Dask's protocol, ends here instead of hanging or crashing.
    """
    import threading

    from dask.distributed import Client

    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = Client(address, timeout=f"{CONNECT_SECONDS:g}s")
        except BaseException as exc:  # any failure of the handshake is reported below
            box["error"] = exc

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS + 1)
    if "client" not in box:
        error = box.get("error")
        why = f"{type(error).__name__}: {error}" if error is not None else "no answer"
        raise InputError(
            f"cannot reach a Dask scheduler at {address} within {CONNECT_SECONDS:g} s ({why})",
            key=Setting.SCHEDULER,
        )
    with box["client"] as client:
        yield client


def cpus() -> int:
    """The CPUs this process may use."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def usable_jobs(jobs: int) -> int:
    """Worker processes to start: at most one per CPU this process may use."""
    return max(1, min(jobs, cpus()))
