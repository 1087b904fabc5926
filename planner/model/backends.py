"""The two solver backends behind :func:`planner.model.solve.optimize`.

- :class:`HighsBackend`: a live in-process HiGHS model, handed the columns and rows in bulk
  from the model's arrays, solved in place and re-solved after bound or objective changes
  (sweeps, explain's re-solves, robust stages).
- :class:`CbcBackend`: PuLP's bundled CBC, through a PuLP problem built from the same arrays
  by :func:`planner.model.pulp_io.to_pulp`, the one conversion to PuLP.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pulp

from planner.errors import Setting, SolverError, words
from planner.model.choices import Solver
from planner.model.kernel import Relaxed, kernel_bounds, proves, proving_target, reduced_cost_bounds
from planner.model.linear import FloatArray, Lin, Sense
from planner.model.pulp_io import pulp_outcome, to_pulp
from planner.model.rows import INF, Model, Room, Row
from planner.model.runs import SOLVERS, Backend, RunResult, SolverOptions, Status

pulp.set_v4_migration_warnings(False)
#: one HiGHS ``threads`` value per process (HiGHS refuses to change it; guide/pulp.md 2.6)
THREADS = 1
SEED = 0
#: the kernel search's sub-MIP frees at least this many columns (and twice the rows), and stops after this many nodes
KERNEL_COLUMNS = 64
KERNEL_NODES = 1000
#: below ``KERNEL_MIN_COLUMNS`` columns it stops at this gap when the options ask a tighter one: it
#: looks for a start, and the full MIP proves the options' gap (explain's re-solves run at 1e-7)
KERNEL_GAP = 1e-5
#: below ``KERNEL_MIN_COLUMNS`` columns, a kernel column of the sub-MIP moves at most this many
#: units from its LP value (README, Performance: it helps explain's re-solves, and slows the large
#: instances, whose kernel start finds its plan over the columns' whole range)
KERNEL_WINDOW = 16
#: with the cluster counts fixed, the kernel search frees this many integer columns (and the continuous ones)
CLUSTER_KERNEL = 1024
#: models from this many columns get a kernel start by default (benchmarks/hard.py; README, Performance)
KERNEL_MIN_COLUMNS = 2000


@contextlib.contextmanager
def stdout_fd_silenced() -> Iterator[None]:
    """Silence C-level writes to fd 1 (highspy 1.16 prints a banner when a solver is created).

    The C library writes to fd 1 whatever ``sys.stdout`` is, so fd 1 is what gets silenced.
    """
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def open_backend(model: Model, options: SolverOptions) -> Backend:
    """The backend for ``options.solver``."""
    if options.solver == Solver.HIGHS:
        return HighsBackend(model, options)
    if options.solver == Solver.CBC:
        return CbcBackend(model, options)
    raise SolverError(f"unknown solver {options.solver!r}; use one of {', '.join(SOLVERS)}")


def _trivial(model: Model) -> RunResult:
    """A model without columns: the empty plan, feasible or not."""
    x = np.zeros(0)
    ok = all(r.lower - 1e-9 <= r.lin.value(x) <= r.upper + 1e-9 for r in model.rows)
    return RunResult(Status.OPTIMAL if ok else Status.INFEASIBLE, x if ok else None, 0.0)


def _not_proven(limit: float | None, gap: float) -> str:
    """What a plan the time limit stopped ``gap`` from the best bound says."""
    seconds = f" ({limit:g} s)" if limit is not None else ""
    distance = f"{gap:.2%}" if gap < 1 else "more than 100%"
    return (
        f"not proven optimal: the time limit{seconds} stopped the solver {distance} from the best bound; "
        "raise the time limit for a proven plan"
    )


def _time_message(limit: float | None) -> str:
    return (
        ""
        if limit is None
        else f"no solution found within the time limit of {limit:g} s; raise the time limit"
    )


class HighsBackend(Backend):
    """The model in a live ``highspy.Highs`` object (one thread, fixed seed: repeatable)."""

    def __init__(self, model: Model, options: SolverOptions) -> None:
        try:
            import highspy
        except ImportError:  # pragma: no cover - a broken install
            raise SolverError(
                words(
                    "the HiGHS solver (highspy) is not installed; run pip install highspy or use {} cbc",
                    Setting.SOLVER,
                )
            ) from None
        self._hs = highspy
        self.model, self.options = model, options
        with stdout_fd_silenced():
            self.h = highspy.Highs()
        for key, value in (
            ("output_flag", False),
            ("threads", THREADS),
            ("random_seed", SEED),
            ("mip_rel_gap", float(options.mip_gap)),
        ):
            self._set(key, value)
        self.h.HandleUserInterrupt = True  # interrupt callbacks: Ctrl-C stops a solve within ~2 s (README)
        self._cols = self._rows = 0
        self._mip = True
        self._seconds: float | None = None  # each run's time limit (None: none), see _limit_run
        self.sync()

    def sync(self) -> None:
        """Hand over the columns and rows added to the model since the last call, in bulk."""
        h, m = self.h, self.model
        n = m.n_cols
        if n > self._cols:
            new = np.arange(self._cols, n, dtype=np.int32)
            h.addVars(len(new), np.asarray(m.col_lower[self._cols :]), np.asarray(m.col_upper[self._cols :]))
            ints = new[np.asarray(m.col_integer[self._cols :], dtype=bool)]
            if ints.size and self._mip:
                h.changeColsIntegrality(ints.size, ints, np.full(ints.size, self._integer(), np.uint8))
            self._cols = n
        rows = m.rows[self._rows :]
        if rows:
            starts = np.cumsum([0] + [len(r.lin) for r in rows[:-1]]).astype(np.int32)
            idx = np.concatenate([r.lin.idx for r in rows]).astype(np.int32)
            val = np.concatenate([r.lin.coef for r in rows])
            h.addRows(
                len(rows),
                np.array([r.lower for r in rows]),
                np.array([r.upper for r in rows]),
                len(idx),
                starts,
                idx,
                val,
            )
            self._rows = len(m.rows)

    def _set(self, option: str, value: float | bool) -> None:
        """Set a HiGHS option; HiGHS only logs an option it refuses, so a refusal raises here."""
        if self.h.setOptionValue(option, value) != self._hs.HighsStatus.kOk:
            raise SolverError(
                words(
                    "HiGHS refused its option {} = {!r}; reinstall the pinned highspy (pip install -e .) "
                    "or use {} cbc",
                    option,
                    value,
                    Setting.SOLVER,
                )
            )

    def _integer(self) -> int:
        return int(self._hs.HighsVarType.kInteger)

    def _set_mip(self, mip: bool) -> None:
        if mip == self._mip:
            return
        ints = np.flatnonzero(np.asarray(self.model.col_integer, dtype=bool)).astype(np.int32)
        if ints.size:
            kind = self._integer() if mip else int(self._hs.HighsVarType.kContinuous)
            self.h.changeColsIntegrality(ints.size, ints, np.full(ints.size, kind, np.uint8))
        self._mip = mip

    def rerun_objective(self) -> float | None:
        """Solve again as last run (an LP after a bound change, warm from its basis) and return the objective, or None when not optimal.

        Runs in the caller's thread: meant for many small re-solves of milliseconds each.
        """
        self.sync()
        self._limit_run()
        with stdout_fd_silenced():
            self.h.run()
        if self.h.getModelStatus() != self._hs.HighsModelStatus.kOptimal:
            return None
        return float(self.h.getInfo().objective_function_value)

    def set_col_bounds(self, col: int, lower: float, upper: float) -> None:
        """Change a handed-over column's bounds in HiGHS only (the model keeps its own)."""
        self.h.changeColBounds(col, lower, upper)

    def load_bounds(self, model: Model) -> None:
        """Take every column and row bound of ``model``, a model of this one's shape (rebuilt from changed data), and hold it from now on."""
        self.sync()
        n, rows = model.n_cols, model.rows
        if n != self._cols or len(rows) != self._rows:
            raise ValueError("load_bounds needs a model of the same shape")
        self.h.changeColsBounds(
            n, np.arange(n, dtype=np.int32), np.asarray(model.col_lower), np.asarray(model.col_upper)
        )
        if rows:
            self.h.changeRowsBounds(  # type: ignore[attr-defined]  # in highspy, not in its stubs
                len(rows),
                np.arange(len(rows), dtype=np.int32),
                np.array([r.lower for r in rows]),
                np.array([r.upper for r in rows]),
            )
        self.model = model

    def hold_room(self, room: Room) -> None:
        """Hold one column or row within ``room`` in HiGHS only (``load_bounds`` puts the model's back)."""
        if room.row:
            self.h.changeRowBounds(room.index, room.lower, room.upper)
        else:
            self.h.changeColBounds(room.index, room.lower, room.upper)

    def set_row_bounds(self, row: Row, lower: float, upper: float) -> None:
        """Change a row's bounds in the model and, when already handed over, in HiGHS."""
        row.lower, row.upper = lower, upper
        if row.index < self._rows:
            self.h.changeRowBounds(row.index, lower, upper)

    def run(
        self,
        sense: Sense,
        objective: Lin,
        mip: bool = True,
        time_limit: float | None = None,
        start: FloatArray | None = None,
    ) -> RunResult:
        """Solve on the live HiGHS instance and read the result back (on a model with clusters, :meth:`_clusters_first`)."""
        if self.model.n_cols == 0:
            return _trivial(self.model)
        self.sync()
        clusters = self._cluster_columns() if mip and self.options.clusters_first else None
        if clusters is None or not clusters.size:
            return self._run(sense, objective, mip, time_limit, start)
        return self._clusters_first(clusters, sense, objective, time_limit, start)

    def _objective(self, sense: Sense, objective: Lin) -> FloatArray:
        """Hand HiGHS the run's sense and objective; the dense cost vector."""
        n = self.model.n_cols
        self.h.changeObjectiveSense(
            self._hs.ObjSense.kMaximize if sense == Sense.MAXIMIZE else self._hs.ObjSense.kMinimize
        )
        cost = objective.dense(n)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        return cost

    def _run(
        self,
        sense: Sense,
        objective: Lin,
        mip: bool,
        time_limit: float | None,
        start: FloatArray | None,
        kernel: bool = True,
    ) -> RunResult:
        """One run of the model as HiGHS holds it, from a kernel start when wanted (and ``kernel``)."""
        h = self.h
        self._set_mip(mip)
        n = self.model.n_cols
        cost = self._objective(sense, objective)
        self._seconds = time_limit  # each run's limit, applied by _limit_run
        begin = time.perf_counter()
        kernel = kernel and mip and self._kernel_wanted()
        # with a kernel start, feasibility jump finds nothing better, and interrupt requests
        # wait while it runs
        self._set("mip_heuristic_run_feasibility_jump", not kernel)
        held = None
        if kernel:
            start, held = self._kernel_start(start, sense, cost)
            self._set_mip(True)
            spent = time.perf_counter() - begin
            self._seconds = max(time_limit - spent, 1.0) if time_limit is not None else None
        # within reduced-cost bounds around the kernel's plan the run only proves the gap
        self._proving(held is not None)
        try:
            self._solve(start)
            if start is not None and self._start_returned(cost):
                self._solve(None)
            return self._result(mip, time_limit, time.perf_counter() - begin)
        finally:  # after the result is read: a bound change clears HiGHS's solution
            if held is not None:
                h.changeColsBounds(n, np.arange(n, dtype=np.int32), *held)
                self._proving(False)

    def _cluster_columns(self) -> npt.NDArray[np.int32]:
        """The cluster-count columns ``y`` of every part (contract v3, section 7)."""
        ys = [np.asarray(part.workloads.clusters["y"], dtype=np.int32) for part in self.model.parts]
        return np.concatenate(ys) if ys else np.zeros(0, dtype=np.int32)

    def _clusters_first(
        self,
        ys: npt.NDArray[np.int32],
        sense: Sense,
        objective: Lin,
        time_limit: float | None,
        start: FloatArray | None,
    ) -> RunResult:
        """A MIP with whole clusters, solved clusters first: a bound with only the cluster counts integer, then a plan.

        In the LP relaxation a cluster count is free to be fractional, so the cluster rows do not
        bind at all, and HiGHS's root bound lies far from the optimum (on workloads-7b 8%, closed
        after thousands of nodes). With the servers continuous and only the few cluster counts
        ``y`` integer, the relaxation solves quickly (0.16 s on workloads-7b) and its bound ``D`` is
        close to the optimum (whole servers are all it leaves out). With ``y`` fixed at that relaxation's counts,
        :meth:`_cluster_plan` looks for a plan in whole servers; when it is within the options'
        gap of ``D``, it is proven (``D`` bounds every plan). Otherwise the full MIP runs from it.
        (With the valid row "objective no better than ``D``" added, as at commit e0935b7, that
        run took 220 s on a 6-SKU generated instance where it now takes about 9 s: README,
        Performance.) A time limit applies to all the runs together.
        """
        h, hs = self.h, self._hs
        begin = time.perf_counter()

        def left() -> float | None:
            return None if time_limit is None else max(time_limit - (time.perf_counter() - begin), 1.0)

        self._set_mip(True)
        ints = np.flatnonzero(np.asarray(self.model.col_integer, dtype=bool)).astype(np.int32)
        servers = np.setdiff1d(ints, ys).astype(np.int32)
        kinds = (int(hs.HighsVarType.kContinuous), self._integer())
        lp = h.getLp()
        lower, upper = np.asarray(lp.col_lower_)[ys].copy(), np.asarray(lp.col_upper_)[ys].copy()
        cost = self._objective(sense, objective)
        self._seconds = time_limit
        self._set("mip_heuristic_run_feasibility_jump", True)
        self._proving(False)
        h.changeColsIntegrality(servers.size, servers, np.full(servers.size, kinds[0], np.uint8))
        try:  # read before integrality changes back, which clears HiGHS's solution
            self._solve(None)
            relaxed, bound = self._status(True), float(h.getInfo().mip_dual_bound)
            counts = np.round(np.asarray(h.getSolution().col_value, dtype=np.float64)[ys])
        finally:
            h.changeColsIntegrality(servers.size, servers, np.full(servers.size, kinds[1], np.uint8))
        if relaxed == Status.INFEASIBLE:  # no plan even with servers in fractions
            return RunResult(relaxed, None, time.perf_counter() - begin)
        if not relaxed.ok:
            return self._run(sense, objective, True, left(), start)
        h.changeColsBounds(ys.size, ys, counts, counts)
        try:
            fits = start is not None and np.array_equal(np.round(start[ys]), counts)
            self._seconds = left()
            plan = self._cluster_plan(
                start if fits else None, proving_target(sense, bound, float(self.options.mip_gap))
            )
        finally:
            h.changeColsBounds(ys.size, ys, lower, upper)
        if plan is not None and proves(float(cost @ plan), bound, float(self.options.mip_gap)):
            return RunResult(Status.OPTIMAL, plan, time.perf_counter() - begin)
        full = self._run(sense, objective, True, left(), plan if plan is not None else start, kernel=False)
        seconds = time.perf_counter() - begin
        best = full.x if full.x is not None else plan
        if full.status == Status.OPTIMAL or best is None:
            return RunResult(full.status, full.x, seconds, full.message)
        value = float(cost @ best)  # stopped by the time limit: D is a bound even before HiGHS's own
        return RunResult(
            Status.FEASIBLE,
            best,
            seconds,
            _not_proven(time_limit, abs(bound - value) / max(abs(value), 1e-9)),
        )

    def _cluster_plan(self, start: FloatArray | None, target: float) -> FloatArray | None:
        """A plan in whole servers with the cluster counts as HiGHS holds them (fixed), or ``start``: a kernel search.

        The LP relaxation, then a MIP in which the continuous columns and the ``CLUSTER_KERNEL``
        integer columns of least absolute reduced cost (and those the LP leaves fractional, or
        where ``start`` differs) keep their bounds (below ``KERNEL_MIN_COLUMNS`` columns, within
        ``KERNEL_WINDOW`` of their LP values) and every other integer column is fixed at its LP
        value. It stops at the first plan that reaches ``target`` (HiGHS's
        ``objective_target``: what proves the gap), else after ``KERNEL_NODES`` nodes or at the
        tighter of the options' gap and ``KERNEL_GAP``. On the large generated instance with
        clusters the kernel start over nearly every column took 53 s, this search 3 s, to a plan
        within the gap; on workloads-7b, windowed, 0.02 s (``benchmarks/clusters_first.py``).
        """
        m = self.model
        relaxed = self._lp()
        if relaxed is None:
            return start
        ints = np.asarray(m.col_integer, dtype=bool)
        held = (relaxed.lower, relaxed.upper)
        window = KERNEL_WINDOW if m.n_cols < KERNEL_MIN_COLUMNS else INF
        low, high = kernel_bounds(
            relaxed.x, np.where(ints, relaxed.reduced, INF), *held, CLUSTER_KERNEL, start, window
        )
        gap = min(float(self.options.mip_gap), KERNEL_GAP)
        found = self._kernel_mip(
            np.where(ints, low, held[0]), np.where(ints, high, held[1]), held, start, gap, target
        )
        return start if found is None else found

    def _proving(self, on: bool) -> None:
        """Set HiGHS for a run that only proves the gap of a plan it starts from, within reduced-cost bounds (or back).

        The heuristics that search around an incumbent by sub-MIPs (RINS, RENS, and the root's
        reduced-cost one) search where the kernel's MIP and :func:`reduced_cost_bounds` already
        have; and restarts, which presolve and solve the root again when the root fixes some
        columns, cost more than they save on these models that presolve to a few rows and a few
        dozen columns. With RINS and RENS already off, turning off the other two took explain's
        re-solves of base-7b from 3.7 s of one thread to 2.6 s, to the same answers
        (``benchmarks/explain.py --phases``).
        """
        self._set("mip_heuristic_run_rins", not on)
        self._set("mip_heuristic_run_rens", not on)
        self._set("mip_heuristic_run_root_reduced_cost", not on)
        self._set("mip_allow_restart", not on)

    def _result(self, mip: bool, time_limit: float | None, seconds: float) -> RunResult:
        """The last run's status, plan and (for an LP) duals, read from HiGHS."""
        h = self.h
        status = self._status(mip)
        if not status.ok:
            msg = _time_message(time_limit) if status == Status.ERROR else ""
            return RunResult(status, None, seconds, msg)
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=np.float64)
        if mip:
            message = ""
            if status == Status.FEASIBLE:
                message = _not_proven(time_limit, float(h.getInfo().mip_gap))
            return RunResult(status, x, seconds, message)
        return RunResult(
            status,
            x,
            seconds,
            row_duals=np.asarray(sol.row_dual, dtype=np.float64),
            col_duals=np.asarray(sol.col_dual, dtype=np.float64),
        )

    def _limit_run(self) -> None:
        """Set HiGHS's ``time_limit`` for the run about to start.

        HiGHS 1.16 measures the MIP solver's time from the start of its run, but an LP's against
        the instance's run time summed over every run so far (ERGO-Code/HiGHS#1477, to change in
        HiGHS 2.0): on a live model solved many times, an LP would soon stop at once. An LP's
        limit is therefore set past the time already spent; a MIP's is the seconds themselves.
        """
        seconds = self._seconds
        if seconds is None:
            self._set("time_limit", INF)
            return
        mip = self._mip and any(self.model.col_integer)
        self._set("time_limit", seconds if mip else float(self.h.getRunTime()) + seconds)

    def _kernel_wanted(self) -> bool:
        if self.options.warm_start is None:
            return self.model.n_cols >= KERNEL_MIN_COLUMNS
        return self.options.warm_start

    def _kernel_start(
        self, start: FloatArray | None, sense: Sense, cost: FloatArray
    ) -> tuple[FloatArray | None, tuple[FloatArray, FloatArray] | None]:
        """A MIP start by kernel search (objective and time limit already set), at least as good as ``start``, and the column bounds it proves.

        Solve the LP relaxation, then a MIP over the *kernel* (the columns the LP leaves
        fractional, those of the smallest reduced costs, and those where ``start`` differs from
        the LP; below ``KERNEL_MIN_COLUMNS`` columns, each within ``KERNEL_WINDOW`` of its LP
        value) with every other column fixed at its LP value, from ``start``. Proving a 1e-4 gap
        on these models is rarely about the bound (the root LP's is usually the final one) but
        about finding an integer plan that close to it: a few dozen chips whose servers add up to
        the target at the least cost. The kernel's MIP finds one in a fraction of a second; the
        full MIP then starts from it and proves the gap. Deterministic: the sub-MIP stops after a
        number of nodes, not seconds.

        Below ``KERNEL_MIN_COLUMNS`` columns (where a kernel start runs only when asked for, as
        explain's re-solves and risk's re-plans do), the sub-MIP stops at ``KERNEL_GAP`` at the
        tightest, and with its plan found the LP's reduced costs bound every integer column
        (:func:`reduced_cost_bounds`): no plan at least as good lies outside, so the full MIP
        runs within them. HiGHS 1.16's own reduced-cost fixing at the root walks a tree per
        column whose size grows with the column's range, and on these models of thousands of
        servers per offer that walk took most of the solve time (README, Performance). On the
        large instances the bounds made some plans slower, and they run as before. The bounds
        are set in HiGHS, and the bounds they replace are returned for the caller to put back
        after the run; ``None`` on a large model, or when the LP has no optimum or the kernel's
        MIP finds nothing (``start`` is returned and the full MIP runs as it would have).
        """
        h, m = self.h, self.model
        n = m.n_cols
        relaxed = self._lp()
        if relaxed is None:
            return start, None
        small = n < KERNEL_MIN_COLUMNS  # a kernel start asked for (explain, risk): windowed, then bounded
        window = KERNEL_WINDOW if small else INF
        size = max(KERNEL_COLUMNS, 2 * len(m.rows))
        held = (relaxed.lower, relaxed.upper)
        sub_lower, sub_upper = kernel_bounds(relaxed.x, relaxed.reduced, *held, size, start, window)
        gap = float(self.options.mip_gap)
        found = self._kernel_mip(sub_lower, sub_upper, held, start, max(gap, KERNEL_GAP) if small else gap)
        start = start if found is None else found
        if found is None or not small:
            return start, None
        ints = np.asarray(m.col_integer, dtype=bool)
        tight_lower, tight_upper = reduced_cost_bounds(
            relaxed.x, relaxed.reduced, *held, ints, sense, relaxed.value, float(cost @ found), found
        )
        h.changeColsBounds(n, np.arange(n, dtype=np.int32), tight_lower, tight_upper)
        return start, held

    def _lp(self) -> Relaxed | None:
        """The LP relaxation of the model as HiGHS holds it (integrality back on after), or None when it has no optimum."""
        h = self.h
        self._set_mip(False)
        h.clearSolver()
        self._limit_run()
        _run_interruptibly(h)
        optimal = h.getModelStatus() == self._hs.HighsModelStatus.kOptimal
        sol, value = h.getSolution(), float(h.getInfo().objective_function_value)
        x, reduced = np.asarray(sol.col_value, dtype=np.float64), np.asarray(sol.col_dual, dtype=np.float64)
        self._set_mip(True)  # after reading: integrality changes clear HiGHS's solution
        if not optimal:
            return None
        lp = h.getLp()  # the bounds held in HiGHS (a re-solve may hold some apart from the model's)
        lower = np.asarray(lp.col_lower_, dtype=np.float64)
        return Relaxed(value, x, reduced, lower, np.asarray(lp.col_upper_, dtype=np.float64))

    def _kernel_mip(
        self,
        lower: FloatArray,
        upper: FloatArray,
        held: tuple[FloatArray, FloatArray],
        start: FloatArray | None,
        gap: float,
        target: float = -INF,
    ) -> FloatArray | None:
        """A kernel search's MIP: within ``lower``/``upper``, at most ``KERNEL_NODES`` nodes, at ``gap``, stopped at ``target`` (HiGHS's ``objective_target``), from ``start``.

        Its plan, or None when it finds none; the column bounds ``held`` are put back after.
        """
        h, n = self.h, self.model.n_cols
        cols = np.arange(n, dtype=np.int32)
        h.changeColsBounds(n, cols, lower, upper)
        self._set("mip_max_nodes", KERNEL_NODES)
        self._set("mip_rel_gap", gap)
        self._set("objective_target", target)
        try:
            self._solve(start)
            found = h.getInfo().primal_solution_status == 2
            return np.asarray(h.getSolution().col_value, dtype=np.float64) if found else None
        finally:
            self._set("mip_max_nodes", self._hs.kHighsIInf)
            self._set("mip_rel_gap", float(self.options.mip_gap))
            self._set("objective_target", -INF)
            h.changeColsBounds(n, cols, *held)

    def _solve(self, start: FloatArray | None) -> None:
        """One run from scratch (results do not depend on earlier runs), from ``start`` when given."""
        hs, h = self._hs, self.h
        h.clearSolver()
        if start is not None:
            sol = hs.HighsSolution()
            sol.col_value = list(np.asarray(start, dtype=np.float64))
            sol.value_valid = True
            h.setSolution(sol)
        self._limit_run()
        _run_interruptibly(h)

    def _start_returned(self, cost: FloatArray) -> bool:
        """HiGHS 1.16 can report an optimum better than the start yet return the start's values (seen when presolve solves the MIP): the solution's objective then differs from HiGHS's."""
        if self.h.getInfo().primal_solution_status != 2:
            return False
        x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        reported = float(self.h.getInfo().objective_function_value)
        return not np.isclose(float(cost @ x), reported, rtol=1e-9, atol=1e-6 * max(1.0, abs(reported)))

    def _status(self, mip: bool) -> Status:
        ms, st = self._hs.HighsModelStatus, self.h.getModelStatus()
        feasible = self.h.getInfo().primal_solution_status == 2
        if st == ms.kOptimal:
            return Status.OPTIMAL
        if st in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
            return Status.INFEASIBLE
        if st == ms.kUnbounded:
            return Status.UNBOUNDED
        limits = (
            ms.kTimeLimit,
            ms.kInterrupt,
            ms.kIterationLimit,
            ms.kSolutionLimit,
            ms.kObjectiveBound,
            ms.kObjectiveTarget,
        )
        if st in limits and feasible and mip:
            return Status.FEASIBLE
        return Status.ERROR


def _run_interruptibly(h: Any) -> None:
    """Run HiGHS in its own thread so that Ctrl-C, SIGTERM or SIGHUP cancel the solve promptly.

    The main thread waits in short steps; on an interruption it asks HiGHS to stop (the interrupt
    callbacks see the request at the next node or iteration), waits for the solver thread to end
    and re-raises, so that callers clean up as for any KeyboardInterrupt.
    """
    if threading.current_thread() is not threading.main_thread():
        h.run()
        return
    h.startSolve()
    try:
        while not h.wait(0.05)[0]:
            pass
    except KeyboardInterrupt:
        h.cancelSolve()
        while not h.wait(0.05)[0]:
            pass
        raise


class CbcBackend(Backend):
    """PuLP's bundled CBC on a PuLP problem rebuilt from the model for each run."""

    def __init__(self, model: Model, options: SolverOptions) -> None:
        self.model, self.options = model, options

    def set_row_bounds(self, row: Row, lower: float, upper: float) -> None:
        """Change a row's bounds; the next run rebuilds the PuLP problem."""
        row.lower, row.upper = lower, upper

    def run(
        self,
        sense: Sense,
        objective: Lin,
        mip: bool = True,
        time_limit: float | None = None,
        start: FloatArray | None = None,
    ) -> RunResult:
        """Build the PuLP problem and solve it with CBC."""
        if self.model.n_cols == 0:
            return _trivial(self.model)
        prob, variables = to_pulp(self.model, sense, objective)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            solver = pulp.PULP_CBC_CMD(
                msg=False, mip=mip, gapRel=self.options.mip_gap, timeLimit=time_limit, threads=1
            )
            if not solver.available():
                raise SolverError(
                    words(
                        "the CBC solver is not available in this installation; "
                        "use {} highs or install PuLP with its bundled CBC",
                        Setting.SOLVER,
                    )
                )
            begin = time.perf_counter()
            try:
                prob.solve(solver)
            except pulp.PulpSolverError as exc:
                raise SolverError(
                    words("the cbc solver failed ({}); try {} highs", exc, Setting.SOLVER)
                ) from None
        seconds = time.perf_counter() - begin
        status = pulp_outcome(prob)
        if not status.ok:
            return RunResult(
                status, None, seconds, _time_message(time_limit) if status == Status.ERROR else ""
            )
        x = np.array([v.varValue or 0.0 for v in variables], dtype=np.float64)
        if mip:
            message = ""
            if status == Status.FEASIBLE:
                limit = f" ({time_limit:g} s)" if time_limit is not None else ""
                message = f"not proven optimal: the time limit{limit} stopped CBC first; raise the time limit"
            return RunResult(status, x, seconds, message)
        pi = {c.name: c.pi or 0.0 for c in prob.constraints()}
        return RunResult(
            status,
            x,
            seconds,
            row_duals=np.array([pi.get(r.name, 0.0) for r in self.model.rows], dtype=np.float64),
            col_duals=np.array([v.dj or 0.0 for v in variables], dtype=np.float64),
        )


def highs_lp(backend: HighsBackend) -> Any:
    """The HiGHS model as HiGHS holds it (for tests of the hand-off)."""
    backend.sync()
    return backend.h.getLp()
