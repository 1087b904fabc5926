"""What a solver run is given and gives back: the options, the statuses, a run's result, and the backend interface (HiGHS or CBC, :mod:`planner.model.backends`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import StrEnum

from planner.errors import OutOfTime, Setting, words
from planner.model.choices import Solver
from planner.model.linear import FloatArray, Lin, Sense
from planner.model.rows import Row

#: what a run says when its deadline (``--max-time``) passes
OUT_OF_TIME = words("the {} ran out before the run finished; nothing was written", Setting.DEADLINE)

SOLVERS = tuple(Solver)


class Status(StrEnum):
    """The outcome of a solve, read once from the solver's own fields."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a limit stopped the solver with a solution
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"

    @property
    def ok(self) -> bool:
        """Whether the solve produced a usable plan."""
        return self in PLAN_STATUSES


#: the statuses that come with a plan (a status string in the JSON compares equal to these)
PLAN_STATUSES = (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolverOptions:
    """Which solver, and how long and how precisely it may work."""

    solver: str = Solver.HIGHS
    time_limit: float | None = None  # seconds per solver run (per stage)
    mip_gap: float = 1e-4
    deadline: float | None = None  # wall-clock time (``time.time()``) by which a whole run must end
    #: HiGHS: start each MIP from a kernel search; ``None``: for models of at least
    #: ``KERNEL_MIN_COLUMNS`` columns (below, HiGHS alone is as fast); ``False``: never
    warm_start: bool | None = None
    #: HiGHS, on a model with clusters (contract v3, section 7): bound and fix the cluster counts
    #: first (:meth:`planner.model.backends.HighsBackend.run`); ``False``: HiGHS on the whole MIP
    clusters_first: bool = True

    def __post_init__(self) -> None:
        """The checks the CLI makes on --solver, --time-limit and --mip-gap, with the same words."""
        from planner.errors import InputError

        if self.solver not in SOLVERS:
            raise InputError(f"unknown solver {self.solver!r}; use one of {', '.join(SOLVERS)}", key="solver")
        if isinstance(self.mip_gap, bool) or not isinstance(self.mip_gap, (int, float)):
            raise InputError(f"expected a number, got {self.mip_gap!r}", key="mip_gap")
        if not 0 <= self.mip_gap <= 1:  # NaN fails both comparisons
            raise InputError(f"must be >= 0 and <= 1, got {self.mip_gap!r}", key="mip_gap")
        if self.time_limit is not None and (
            isinstance(self.time_limit, bool)
            or not isinstance(self.time_limit, (int, float))
            or not 0 < self.time_limit < float("inf")
        ):
            raise InputError(f"must be a number of seconds > 0, got {self.time_limit!r}", key="time_limit")

    def for_many_runs(self) -> SolverOptions:
        """These options for runs made by the dozen or thousand (explain's re-solves, risk's sampled re-plans): the kernel start on every model, unless these options turn it off.

        On base-7b it makes each run several times faster (README, Performance); ``gpuplan plan``
        keeps HiGHS alone below 2,000 columns, so that its plans stay as they were.
        """
        return self if self.warm_start is not None else replace(self, warm_start=True)

    @staticmethod
    def of(options: SolverOptions | dict[str, object] | None) -> SolverOptions:
        """Options from the Python API: None (the defaults), a SolverOptions, or a dict of its fields."""
        from planner.errors import InputError

        if options is None:
            return SolverOptions()
        if isinstance(options, SolverOptions):
            return options
        if isinstance(options, dict):
            unknown = sorted(set(options) - set(SolverOptions.__dataclass_fields__))
            if unknown:
                raise InputError(
                    f"unknown option {unknown[0]!r}; expected solver, time_limit, mip_gap, deadline, warm_start or clusters_first",
                    key="options",
                )
            return SolverOptions(**options)  # type: ignore[arg-type]
        raise InputError(
            f"expected SolverOptions or a dict of its fields, got {type(options).__name__}", key="options"
        )

    def run_limit(self, spent: float = 0.0) -> float | None:
        """Seconds the next solver run may take: the time limit less ``spent``, within the deadline.

        Raises:
            OutOfTime: the deadline has passed.
        """
        limit = None if self.time_limit is None else max(self.time_limit - spent, 1.0)
        if self.deadline is not None:
            left = self.deadline - time.time()
            if left <= 0:
                raise OutOfTime(OUT_OF_TIME)
            limit = left if limit is None else min(limit, left)
        return limit

    def check_deadline(self) -> None:
        """Raise :class:`OutOfTime` when the deadline has passed (a solve it cut short is not a result)."""
        if self.deadline is not None and time.time() >= self.deadline:
            raise OutOfTime(OUT_OF_TIME)


@dataclass
class RunResult:
    """One solver run: status, column values and (for LPs) duals in the objective's own sense."""

    status: Status
    x: FloatArray | None
    seconds: float
    message: str = ""
    row_duals: FloatArray | None = None
    col_duals: FloatArray | None = None


class Backend:
    """A solver holding the model: runs it for an objective and edits row bounds in place."""

    def run(
        self,
        sense: Sense,
        objective: Lin,
        mip: bool = True,
        time_limit: float | None = None,
        start: FloatArray | None = None,
    ) -> RunResult:
        """Solve the model for one objective and return the outcome."""
        raise NotImplementedError

    def set_row_bounds(self, row: Row, lower: float, upper: float) -> None:
        """Change a row's bounds between runs."""
        raise NotImplementedError
