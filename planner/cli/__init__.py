"""The ``gpuplan`` command: parse, call the library, render. Heavy imports happen inside commands.

``options`` holds what every command shares (the group, ``--format``, ``--out``, the solver
options, error reporting); the commands are in ``plans``, ``shocks``, ``catalogs`` and
``registry``, registered on import.
"""

from __future__ import annotations

from planner.cli import catalogs, plans, registry, shocks  # noqa: F401  (registers the commands)
from planner.cli.options import main

__all__ = ["main"]
