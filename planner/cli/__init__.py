"""The ``gpuplan`` command: parse, call the library, render. Heavy imports happen inside commands.

``options`` holds what every command shares (the group, ``--format``, ``--out``, the solver
options, error reporting); the commands are in ``plans``, ``shocks``, ``catalogs`` and
:mod:`planner.registry.cli`, registered on import.
"""

from __future__ import annotations

from planner.cli import catalogs, plans, shocks  # noqa: F401  (registers the commands)
from planner.cli.options import (
    CATALOG,
    FILE,
    MAX_TIME_COVERS,
    REPORT_OUT,
    _write_out,
    format_option,
    main,
    reports_errors,
    solver_options,
)

__all__ = [
    "CATALOG",
    "FILE",
    "MAX_TIME_COVERS",
    "REPORT_OUT",
    "_write_out",
    "format_option",
    "main",
    "reports_errors",
    "solver_options",
]


def _registry_commands() -> None:
    from planner.registry.cli import registry

    main.add_command(registry)


_registry_commands()
