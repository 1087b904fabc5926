"""Many re-solves of one model under changed data: on live HiGHS models, in parallel threads.

``explain`` moves one limit at a time (a budget, a site's power in a quarter, an offer's supply,
a share rule, the lease channel) and solves the first-stage objective again, as an LP and as
the MILP. Each change is made to the data and the model rebuilt from it, as for any plan (one
recipe); when the rebuilt model has the base model's shape (the same columns, integrality, rows
and coefficients: only bounds moved), the bounds are loaded into a live HiGHS model that the
thread keeps, instead of handing a new model to a new solver. Every run starts from scratch
(:meth:`HighsBackend._solve` clears the solver), so the figures are those of a fresh solve of the
rebuilt model; a change that alters the shape (dropping the lease offers removes columns) is
solved fresh.

Threads, not processes: HiGHS runs outside the GIL (two threads gave 1.85x the throughput of
one on this 2-core machine), and a thread needs no copy of the data. Each thread holds its own
live model.

The MILP re-solve is skipped when an LP proves it cannot move: relaxing a limit never makes the
MILP worse, and the MILP never beats the relaxed LP, so when the relaxed LP exceeds the plan's MILP
value by less than the MILP gap (``gap * |value|``) a MILP re-solve could not tell its gain from
none. When the change moves one bound of one row or column (a site's power in a quarter, an
offer's supply), a sharper LP says the same more often: a relaxed plan better than the plan's
optimum cannot keep to the old bound (it would have been a plan before), so it lies in the *added
room* (the row or column between its old and new bound), and the LP over the relaxed model with
that row or column held in the added room bounds every such plan. A limit the plan does not use
(power with room to spare) is mostly settled by that LP in milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.model.backends import HighsBackend
from planner.model.build import build
from planner.model.choices import Solver
from planner.model.data import ModelData
from planner.model.linear import Sense
from planner.model.rows import Model, added_room
from planner.model.runs import SolverOptions, Status
from planner.model.solve import Goal, Outcome, optimize, scenario_goal


def resolve_options(options: SolverOptions) -> SolverOptions:
    """How HiGHS runs a MILP re-solve: at a tenth of the gap ``options`` state, from a kernel start unless ``options`` say otherwise.

    A run proven within a tenth of the gap is proven within the gap, and its figure no longer
    depends on which plan within the gap the search happens to meet first: on base-7b the
    re-solves then give the figures of the fresh re-solves before the kernel start to the last
    digit. The kernel start with its reduced-cost bounds (:meth:`HighsBackend._kernel_start`)
    makes each re-solve several times faster (README, Performance). CBC runs as the options say.
    """
    if options.solver != Solver.HIGHS:
        return options
    return replace(options.for_many_runs(), mip_gap=options.mip_gap / 10)


def stage1_goal(model: Model) -> Goal:
    """Stage 1 of the scenario's objective (``E_T`` for max-compute, cost for min-cost), no tie-break."""
    goal = scenario_goal(model.main)
    return Goal(goal.sense, goal.lin)


def same_shape(a: Model, b: Model) -> bool:
    """Whether ``b`` differs from ``a`` in column and row bounds only (so ``a``'s solver can take ``b``'s bounds)."""
    if a.n_cols != b.n_cols or a.col_integer != b.col_integer or len(a.rows) != len(b.rows):
        return False
    for ra, rb in zip(a.rows, b.rows, strict=True):
        if ra.key != rb.key or not np.array_equal(ra.lin.idx, rb.lin.idx):
            return False
        if not np.array_equal(ra.lin.coef, rb.lin.coef):
            return False
    ga, gb = stage1_goal(a).lin, stage1_goal(b).lin
    return bool(
        np.array_equal(ga.idx, gb.idx) and np.array_equal(ga.coef, gb.coef) and ga.constant == gb.constant
    )


@dataclass(frozen=True)
class Change:
    """One limit moved: the data fields replaced, and whether the change only relaxes the model.

    ``relaxes`` is False for a change that removes options (the lease channel dropped): then the
    plan's value bounds the new one the other way, and no MILP is skipped.
    """

    fields: dict[str, Any]
    relaxes: bool = True


@dataclass(frozen=True)
class Resolved:
    """Stage-1 values after a change: the LP's, the MILP's (None: no plan), and why the MILP was not run."""

    lp: float | None
    mip: float | None
    skipped: str = ""
    unproven: bool = False  # the time limit stopped the MILP re-solve before it proved its gap


class _Live:
    """One thread's live model of the base data, and the model whose bounds it holds now."""

    def __init__(self, data: ModelData, options: SolverOptions) -> None:
        self.base = build(data)
        self.backend = HighsBackend(self.base, options)


class Resolver:
    """Solves the base data and changes of it, at ``options``, on ``workers`` threads (HiGHS; CBC on one).

    ``base_mip`` is the plan's first-stage MILP value, solved as the re-solves are
    (:func:`resolve_options`): the bound that lets a relaxation's MILP re-solve be skipped.
    """

    def __init__(
        self,
        data: ModelData,
        options: SolverOptions,
        base_mip: float | None,
        sense: Sense,
        workers: int = 1,
    ) -> None:
        self.data, self.options, self.base_mip, self.sense = data, options, base_mip, sense
        self.solving = resolve_options(options)
        self.live = options.solver == Solver.HIGHS
        self.workers = max(1, workers) if self.live else 1
        self._local = threading.local()
        self._backends: list[HighsBackend] = []
        self._lock = threading.Lock()

    def tolerance(self) -> float:
        """The least gain a MILP re-solve at the options' gap can tell from none: ``gap * |plan value| + 1e-6``."""
        return self.options.mip_gap * max(abs(self.base_mip or 0.0), 1.0) + 1e-6

    def _thread_live(self) -> _Live:
        live: _Live | None = getattr(self._local, "live", None)
        if live is None:
            live = _Live(self.data, self.solving)
            self._local.live = live
            with self._lock:
                self._backends.append(live.backend)
        return live

    def resolve(self, change: Change) -> Resolved:
        """The LP and (unless proven unmoved) MILP values of the data after ``change``."""
        moved = replace(self.data, **change.fields)
        model = build(moved)
        backend: HighsBackend | None = None
        if self.live:
            live = self._thread_live()
            if same_shape(live.base, model):
                backend = live.backend
                backend.load_bounds(model)
        goal = stage1_goal(model)
        lp = self._run(model, goal, backend, mip=False).value
        bound = self._gain_bound(lp)
        if change.relaxes and bound is not None and bound <= self.tolerance():
            return Resolved(
                lp,
                self.base_mip,
                f"MILP not re-solved: the LP re-solve allows at most {bound:.3g} more than the plan, "
                "less than the MILP gap",
            )
        if change.relaxes and backend is not None and (skipped := self._room_proves(model, goal, backend)):
            return Resolved(lp, self.base_mip, skipped)
        mip = self._run(model, goal, backend, mip=True)
        return Resolved(lp, mip.value, unproven=mip.status == Status.FEASIBLE)

    def _room_proves(self, model: Model, goal: Goal, backend: HighsBackend) -> str:
        """Why the MILP re-solve cannot gain (see the module docstring), from the LP over the added room; "" when it may.

        ``backend`` holds ``model``'s bounds and holds them again on return.
        """
        room = added_room(self._thread_live().base, model)
        if room is None or self.base_mip is None:
            return ""
        backend.hold_room(room)
        try:
            lp = self._run(model, goal, backend, mip=False)
        finally:
            backend.load_bounds(model)
        if lp.status == Status.INFEASIBLE:
            return "MILP not re-solved: no plan can use the added room"
        bound = self._gain_bound(lp.value)
        if lp.status != Status.OPTIMAL or bound is None or bound > self.tolerance():
            return ""
        return (
            f"MILP not re-solved: a plan using the added room is at most {bound:.3g} better than the plan "
            "(its LP), less than the MILP gap"
        )

    def _gain_bound(self, lp: float | None) -> float | None:
        """How much the MILP could gain at most: the relaxed LP over the plan's MILP value, in the objective's sense."""
        if lp is None or self.base_mip is None:
            return None
        sign = 1.0 if self.sense == Sense.MAXIMIZE else -1.0
        return max(sign * (lp - self.base_mip), 0.0)

    def _run(self, model: Model, goal: Goal, backend: HighsBackend | None, mip: bool) -> Outcome:
        return optimize(model, goal, self.solving, backend=backend, mip=mip)

    def resolve_all(self, changes: list[Change], done: Callable[[], None] | None = None) -> list[Resolved]:
        """Every change's values, in the order given; ``done`` is called (in this thread) as each ends."""
        if self.workers == 1 or len(changes) <= 1:
            out = []
            for change in changes:
                out.append(self.resolve(change))
                if done:
                    done()
            return out
        with self._pool() as pool:
            futures = [pool.submit(self.resolve, c) for c in changes]
            pending: set[Future[Resolved]] = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=0.05, return_when="FIRST_COMPLETED")
                for future in finished:
                    future.result()  # raise the first error here
                    if done:
                        done()
            return [f.result() for f in futures]

    @contextmanager
    def _pool(self) -> Iterator[ThreadPoolExecutor]:
        """Worker threads; on an error or Ctrl-C the solves under way are cancelled before re-raising."""
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gpuplan-resolve")
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            with self._lock:
                for backend in self._backends:
                    backend.h.cancelSolve()
            raise
        finally:
            pool.shutdown(wait=True)
