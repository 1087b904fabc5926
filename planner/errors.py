"""One error hierarchy for everything a user can get wrong or a solver can refuse."""

from __future__ import annotations


class PlannerError(ValueError):
    """Base class of every error gpuplan reports to a user (never a traceback)."""


def one_line(text: str) -> str:
    """Escape control characters (line breaks included) so that a message stays on one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class InputError(PlannerError):
    """A bad input file, with where it is and what to fix.

    The message reads ``<file>, row <n>, column <c>: <what> `` with the parts
    that are known; ``row`` is the spreadsheet row (the header is row 1).
    """

    def __init__(
        self,
        message: str,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        self.file, self.row, self.column, self.key, self.detail = file, row, column, key, message
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column}")
        if key:
            where.append(f"key {key}")
        super().__init__(one_line(f"{', '.join(where)}: {message}" if where else message))


class SolverError(PlannerError):
    """The solver could not be run or crashed; the message says what to try."""


class OutputError(PlannerError):
    """An output could not be written (read-only or full file system, no permission); exit 1."""


class RegistryError(PlannerError):
    """The plan registry cannot be used: unreachable, busy, or written by a newer gpuplan; exit 1."""


class NoPlan(PlannerError):
    """No plan answers the command (infeasible, or nothing to store); exit 1."""


class OutOfTime(SolverError):
    """The ``--max-time`` of a whole run (sweep, stress, robust plan) ran out; exit 1."""
