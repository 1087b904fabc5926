"""One error hierarchy for everything a user can get wrong or a solver can refuse."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Setting(Enum):
    """A setting of a run that an error may name: its Python parameter, and the CLI's flag for it.

    The library names settings only through these; ``str(error)`` words them as parameters
    (``time_limit``), and the CLI alone as flags (``--time-limit``), through :meth:`PlannerError.for_cli`.
    """

    BREAKS = ("breaks", "--breaks")
    BUDGETS = ("budgets", "--budget")
    BY = ("by", "--by")
    CHANCE = ("chance", "--chance")
    CHECK_SAMPLES = ("check_samples", "--check-samples")
    DB = ("db", "--db")
    DEADLINE = ("deadline", "--max-time")
    MAXIMIZE = ("measures (maximized)", "--maximize")
    MINIMIZE = ("measures (minimized)", "--minimize")
    MIP_GAP = ("mip_gap", "--mip-gap")
    PLANS = ("plans", "--plan")
    RISK_OBJECTIVE = ("objective", "--risk-objective")
    RISK_SHOCKS = ("shocks", "--risk")
    SAMPLES = ("samples", "--samples")
    SCHEDULER = ("scheduler", "--scheduler")
    SEED = ("seed", "--seed")
    SHOCK = ("shock", "--shock")
    SHOCKS = ("shocks", "--shocks")
    SOLVER = ("solver", "--solver")
    SPREAD = ("spread", "--spread")
    THROUGH = ("through", "--through")
    TIME_LIMIT = ("time_limit", "--time-limit")
    WITHIN = ("within", "--within")
    WORKERS = ("workers", "--workers")

    @property
    def parameter(self) -> str:
        """The Python API's name for the setting."""
        return self.value[0]

    @property
    def flag(self) -> str:
        """The command line's name for the setting."""
        return self.value[1]


@dataclass(frozen=True)
class Words:
    """A message that names settings: ``template`` with ``{}`` for each of ``parts`` in order.

    Only the template (written in the code) is parsed for braces; the parts, which may be user
    text, are put in as they are.
    """

    template: str
    parts: tuple[object, ...] = ()

    def render(self, flags: bool) -> str:
        """The sentence, with settings named as CLI flags (``flags``) or as Python parameters."""
        shown = [(p.flag if flags else p.parameter) if isinstance(p, Setting) else p for p in self.parts]
        return self.template.format(*shown)


def words(template: str, *parts: object) -> Words:
    """A message naming settings (see :class:`Words`): ``words("raise {}", Setting.TIME_LIMIT)``."""
    return Words(template, parts)


class PlannerError(ValueError):
    """Base class of every error gpuplan reports to a user (never a traceback)."""

    def __init__(self, message: str | Words = "") -> None:
        self.words = message if isinstance(message, Words) else Words("{}", (message,))
        super().__init__(self._text(flags=False))

    def _text(self, flags: bool) -> str:
        return one_line(self.words.render(flags))

    def for_cli(self) -> str:
        """The message with the settings it names worded as the command line's flags."""
        return self._text(flags=True)


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
        message: str | Words,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        key: str | Setting | None = None,
    ) -> None:
        self.file, self.row, self.column, self.key = file, row, column, key
        super().__init__(message)
        self.detail = self.words.render(flags=False)

    def _text(self, flags: bool) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        if self.key is not None:
            key = self.key if isinstance(self.key, str) else self.key.flag if flags else self.key.parameter
            where.append(f"key {key}")
        message = self.words.render(flags)
        return one_line(f"{', '.join(where)}: {message}" if where else message)


class SolverError(PlannerError):
    """The solver could not be run or crashed; the message says what to try."""


class OutputError(PlannerError):
    """An output could not be written (read-only or full file system, no permission); exit 1."""


class RegistryError(PlannerError):
    """The plan registry cannot be used: unreachable, busy, or written by a newer gpuplan; exit 1."""


class NoPlan(PlannerError):
    """No plan answers the command (infeasible, or nothing to store); exit 1."""


class OutOfTime(SolverError):
    """The deadline (``--max-time``) of a whole run (sweep, stress, robust plan) ran out; exit 1."""
