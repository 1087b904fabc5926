"""Solver choice and options, and one mapping from PuLP's two status fields to an outcome."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pulp

from planner.errors import SolverError

#: one HiGHS ``threads`` value per process (HiGHS refuses to change it; see guide/pulp.md 2.6)
THREADS = 1
SOLVERS = ("highs", "cbc")


@contextlib.contextmanager
def stdout_fd_silenced():
    """Silence C-level writes to fd 1 (highspy 1.16 prints a banner even with msg=False).

    The C library writes to fd 1 whatever ``sys.stdout`` is, so fd 1 is what gets silenced.
    """
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stdout.flush()
    fd = 1
    saved, devnull = os.dup(fd), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


class QuietHiGHS(pulp.HiGHS):
    """pulp.HiGHS whose ``msg=False`` really prints nothing, with the model handed over in bulk."""

    name = "HiGHS"

    def createAndConfigureSolver(self, lp):  # noqa: N802 (PuLP's name)
        with stdout_fd_silenced():
            super().createAndConfigureSolver(lp)

    def buildSolverModel(self, lp):  # noqa: N802
        import highspy

        h, inf = lp.solverModel, highspy.kHighsInf
        variables = lp.variables()
        n = len(variables)
        for i, v in enumerate(variables):
            v.index = i
        mult = -1.0 if lp.sense == pulp.LpMaximize else 1.0
        lb = np.fromiter((-inf if v.lowBound is None else v.lowBound for v in variables), float, n)
        ub = np.fromiter((inf if v.upBound is None else v.upBound for v in variables), float, n)
        cost = np.fromiter((lp.objective.get(v, 0.0) for v in variables), float, n) * mult
        h.addVars(n, lb, ub)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        if self.mip:
            ints = np.fromiter((v.index for v in variables if v.cat == pulp.LpInteger), np.int32)
            if ints.size:
                h.changeColsIntegrality(ints.size, ints,
                                        np.full(ints.size, int(highspy.HighsVarType.kInteger), np.uint8))
        cons = list(lp._constraints.values())
        m = len(cons)
        starts, rlb, rub = np.empty(m, np.int32), np.empty(m), np.empty(m)
        idx_parts: list[np.ndarray] = []
        val_parts: list[np.ndarray] = []
        columns: dict[int, np.ndarray] = {}
        count = 0
        for i, c in enumerate(cons):
            c.index = i
            starts[i] = count
            terms = getattr(c.expr, "gp_terms", None)
            if terms is not None and len(terms[1]) == len(c.expr):   # built from arrays, untouched since
                owners, pos, coef = terms
                if id(owners) not in columns:
                    columns[id(owners)] = np.fromiter((v.index for v in owners), np.int32, len(owners))
                cols, vals = columns[id(owners)][pos], coef
            else:
                items = [(v.index, a) for v, a in c.items() if a != 0]
                cols = np.fromiter((j for j, _ in items), np.int32, len(items))
                vals = np.fromiter((a for _, a in items), float, len(items))
            idx_parts.append(cols)
            val_parts.append(np.asarray(vals, float))
            count += len(cols)
            lo, up = c.getLb(), c.getUb()
            rlb[i] = -inf if lo is None else lo
            rub[i] = inf if up is None else up
        idx = np.concatenate(idx_parts) if idx_parts else np.empty(0, np.int32)
        val = np.concatenate(val_parts) if val_parts else np.empty(0)
        h.addRows(m, rlb, rub, len(idx), starts, np.asarray(idx, np.int32), np.asarray(val, float))


@dataclass(frozen=True)
class SolverOptions:
    solver: str = "highs"
    time_limit: float | None = None
    mip_gap: float = 1e-4


@dataclass
class SolveOutcome:
    status: str          # optimal | feasible | infeasible | unbounded | error
    seconds: float
    message: str = ""


def make_solver(options: SolverOptions, time_limit: float | None = None, mip: bool = True):
    limit = options.time_limit if time_limit is None else time_limit
    if options.solver == "highs":
        if not QuietHiGHS(msg=False).available():
            raise SolverError("the HiGHS solver (highspy) is not installed; run pip install highspy "
                              "or use --solver cbc")
        return QuietHiGHS(msg=False, mip=mip, gapRel=options.mip_gap, timeLimit=limit, threads=THREADS,
                          random_seed=0)
    if options.solver == "cbc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(msg=False, mip=mip, gapRel=options.mip_gap, timeLimit=limit,
                                       threads=1)
        if not solver.available():
            raise SolverError("the CBC solver is not available in this installation; "
                              "use --solver highs or install PuLP with its bundled CBC")
        return solver
    raise SolverError(f"unknown solver {options.solver!r}; use one of {', '.join(SOLVERS)}")


def outcome(prob: pulp.LpProblem, tol: float = 1e-6) -> str:
    """Read ``status`` and ``sol_status`` together (a time-limited run also says "Optimal")."""
    st, ss = prob.status, prob.sol_status
    if st == pulp.LpStatusOptimal and ss == pulp.LpSolutionOptimal:
        return "optimal"
    if st == pulp.LpStatusOptimal and ss == pulp.LpSolutionIntegerFeasible:
        return "feasible" if prob.valid(tol) else "error"
    if st == pulp.LpStatusInfeasible:
        return "infeasible"
    if st == pulp.LpStatusUnbounded:
        return "unbounded"
    return "error"


def run(prob: pulp.LpProblem, options: SolverOptions, time_limit: float | None = None,
        mip: bool = True) -> SolveOutcome:
    """Solve ``prob`` in place and map the result to an outcome (never prints)."""
    if not prob.variables():  # nothing to buy: the empty plan is the only one
        ok = all(c.valid(1e-9) for c in prob.constraints())
        return SolveOutcome("optimal" if ok else "infeasible", 0.0)
    solver = make_solver(options, time_limit, mip)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(solver)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"the {options.solver} solver failed ({exc}); try --solver "
                          f"{'cbc' if options.solver == 'highs' else 'highs'}") from None
    seconds = time.perf_counter() - start
    status = outcome(prob)
    if status == "error" and options.time_limit is not None:
        return SolveOutcome(status, seconds, f"no solution found within the time limit of "
                                             f"{options.time_limit:g} s; raise --time-limit")
    return SolveOutcome(status, seconds)
