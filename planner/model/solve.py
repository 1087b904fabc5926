"""Goals, outcomes and :func:`optimize`: the one place a model is solved (options and statuses: :mod:`planner.model.runs`).

``optimize`` runs both stages of a two-stage goal (max-compute: maximise ``E_T``, then the
least cost that keeps it; a robust plan: its objective, then the least total cost) with one
set of tolerances, on either backend (:mod:`planner.model.backends`): HiGHS in-process
(a live model that can be re-solved with new bounds) or CBC through PuLP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.model.backends import open_backend
from planner.model.choices import Objective
from planner.model.keys import Family, RowKey
from planner.model.linear import FloatArray, Lin, Sense
from planner.model.rows import GE, INF, LE, Model, Part, Row
from planner.model.runs import Backend, SolverOptions, Status

#: stage 2 keeps stage 1's value within this tolerance: ``abs + rel * |value|``
STAGE2_ABS, STAGE2_REL = 1e-6, 1e-9


@dataclass(frozen=True)
class Goal:
    """What to optimise: ``lin`` in ``sense``, then (when given) the least ``tie_break`` among the solutions that keep ``lin`` at the value reached."""

    sense: Sense
    lin: Lin
    tie_break: Lin | None = None


@dataclass
class Outcome:
    """The result of :func:`optimize`."""

    status: Status
    x: FloatArray | None
    value: float | None  # the goal's value (stage 1)
    seconds: float
    message: str = ""
    row_duals: FloatArray | None = None
    col_duals: FloatArray | None = None

    @property
    def ok(self) -> bool:
        """Whether the solve produced a usable plan."""
        return self.status.ok


def scenario_goal(part: Part) -> Goal:
    """The contract's objective for the part's scenario (section 3)."""
    objective = part.data.scenario.objective
    if objective == Objective.MAX_COMPUTE:
        return Goal(Sense.MAXIMIZE, part.compute[-1], part.cost)
    if objective == Objective.MAX_TRAINING:  # contract v3, section 7: the training compute of T
        return Goal(Sense.MAXIMIZE, part.workloads.training[part.data.horizon - 1], part.cost)
    return Goal(Sense.MINIMIZE, part.cost)


def stage2_bound(sense: Sense, reached: float) -> float:
    """The value stage 2 must keep: stage 1's, less (for max) or plus (for min) the tolerance."""
    tol = STAGE2_ABS + STAGE2_REL * abs(reached)
    return reached - tol if sense == Sense.MAXIMIZE else reached + tol


def optimize(
    model: Model,
    goal: Goal,
    options: SolverOptions,
    backend: Backend | None = None,
    mip: bool = True,
    start: FloatArray | None = None,
) -> Outcome:
    """Solve ``model`` for ``goal``; both stages when the goal has a tie-break.

    ``--time-limit`` applies to each stage; stage 2 gets what stage 1 left (at least 1 s). When
    stage 2 finds nothing in time, stage 1's solution is returned with status ``feasible``.

    The model's coefficients are checked against the range the solver handles first
    (:func:`check_ranges`), and the solution against every row and column bound after
    (:func:`broken_constraint`): a solution that breaks its own model is an ``error``, never a plan.

    Raises:
        planner.errors.InputError: a coefficient or bound the solver would take as infinite.
    """
    check_ranges(model, goal)
    out = _optimize(model, goal, options, backend, mip, start)
    if out.x is None:
        return out
    broken = broken_constraint(model, out.x, integral=mip)
    if broken is None:
        return out
    return Outcome(
        Status.ERROR,
        None,
        None,
        out.seconds,
        f"the solver returned a solution that breaks its own model ({broken}); it is not reported as a "
        "plan: look for very large or very small figures in the inputs, or try the CBC solver",
    )


#: HiGHS takes matrix entries from ``large_matrix_value`` (1e15) and costs or bounds from
#: ``infinite_cost``/``infinite_bound`` (1e20) as infinite
MAX_MATRIX, MAX_COST = 1e15, 1e20
#: a row or bound counts as broken beyond this share of its scale (HiGHS's feasibility tolerance is 1e-7 absolute, after scaling)
BREAK_TOLERANCE = 1e-6


def check_ranges(model: Model, goal: Goal) -> None:
    """Refuse a model the solver would misread: a matrix entry of 1e15 or more, a cost of 1e20 or more, naming the inputs behind it.

    Raises:
        planner.errors.InputError: saying which option and row, the figures whose product made it, and what to lower.
    """
    from planner.errors import InputError

    for row in model.rows:
        big = np.flatnonzero(np.abs(row.lin.coef) >= MAX_MATRIX)
        if len(big):
            col = int(row.lin.idx[big[0]])
            raise InputError(
                f"the coefficient of {model.describe_column(col)} in '{row.description}' is "
                f"{row.lin.coef[big[0]]:.3g}, beyond the {MAX_MATRIX:.0e} the solver handles"
                f"{model.explain_coefficient(col)}; lower them"
            )
    for form in (goal.lin, goal.tie_break):
        if form is None:
            continue
        big = np.flatnonzero(np.abs(form.coef) >= MAX_COST)
        if len(big):
            col = int(form.idx[big[0]])
            raise InputError(
                f"the cost of {model.describe_column(col)} is {form.coef[big[0]]:.3g}, beyond the "
                f"{MAX_COST:.0e} the solver handles{model.explain_coefficient(col)}; lower them"
            )


def broken_constraint(model: Model, x: FloatArray, integral: bool = True) -> str | None:
    """The first row or column bound that ``x`` breaks (with integer columns rounded to the whole servers a plan reports), in words; None when it keeps them all."""
    x = np.asarray(x, dtype=np.float64).copy()
    if integral:
        ints = np.asarray(model.col_integer, dtype=bool)
        x[ints] = np.rint(x[ints])
    lower, upper = np.asarray(model.col_lower), np.asarray(model.col_upper)
    scale = np.maximum(1.0, np.abs(x))
    bad = np.flatnonzero((x < lower - BREAK_TOLERANCE * scale) | (x > upper + BREAK_TOLERANCE * scale))
    if len(bad):
        j = int(bad[0])
        return f"{model.describe_column(j)} at {x[j]:.6g} outside [{lower[j]:.6g}, {upper[j]:.6g}]"
    for row in model.rows:
        if row.key.family == Family.STAGE2:
            continue  # stage 1's value, kept within its own tolerance
        value = row.activity(x)
        size = max(1.0, float(np.abs(row.lin.coef * x[row.lin.idx]).sum()))
        size = max(size, *(abs(b) for b in (row.lower, row.upper) if np.isfinite(b)))
        if value < row.lower - BREAK_TOLERANCE * size or value > row.upper + BREAK_TOLERANCE * size:
            bound = row.lower if value < row.lower else row.upper
            return f"'{row.description}': {value:.6g} against {bound:.6g}"
    return None


def _optimize(
    model: Model,
    goal: Goal,
    options: SolverOptions,
    backend: Backend | None,
    mip: bool,
    start: FloatArray | None,
) -> Outcome:
    backend = backend or open_backend(model, options)
    stage2 = model.find(RowKey(Family.STAGE2))
    if stage2 is not None:  # a live model re-solved: release the last floor
        backend.set_row_bounds(stage2, -INF, INF)
    first = backend.run(goal.sense, goal.lin, mip=mip, time_limit=options.run_limit(), start=start)
    options.check_deadline()
    if not first.status.ok or first.x is None:
        return Outcome(first.status, None, None, first.seconds, first.message)
    reached = goal.lin.value(first.x)
    if goal.tie_break is None:
        return Outcome(
            first.status, first.x, reached, first.seconds, first.message, first.row_duals, first.col_duals
        )
    bound = stage2_bound(goal.sense, reached) - goal.lin.constant
    stage2 = register_stage2(model, goal)
    backend.set_row_bounds(stage2, *((bound, INF) if goal.sense == Sense.MAXIMIZE else (-INF, bound)))
    second = backend.run(
        Sense.MINIMIZE, goal.tie_break, mip=mip, time_limit=options.run_limit(first.seconds), start=first.x
    )
    options.check_deadline()
    seconds = first.seconds + second.seconds
    if not second.status.ok or second.x is None:
        return Outcome(
            Status.FEASIBLE, first.x, reached, seconds, "cost tie-break not finished within the time limit"
        )
    status = Status.OPTIMAL if first.status == second.status == Status.OPTIMAL else Status.FEASIBLE
    return Outcome(status, second.x, reached, seconds, first.message or second.message)


def register_stage2(model: Model, goal: Goal) -> Row:
    """The row that keeps stage 1's value in stage 2 (free until :func:`optimize` bounds it).

    Registering it before the first solve of a live model makes every re-solve see the same rows.
    """
    row = model.find(RowKey(Family.STAGE2))
    if row is None:
        row = model.add(
            RowKey(Family.STAGE2),
            Lin(goal.lin.idx, goal.lin.coef),
            GE if goal.sense == Sense.MAXIMIZE else LE,
            INF if goal.sense == Sense.MINIMIZE else -INF,
            "objective of stage 1 kept in stage 2",
        )
    return row
