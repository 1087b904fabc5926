"""One model handed to HiGHS once and re-solved in place as budgets change (sweeps).

Points of a budget sweep differ only in the budget rows' right-hand sides, so the
highspy model is edited and re-run instead of rebuilt. Each point starts from the
previous point's plan (``setSolution``): a larger budget keeps that plan feasible, so
a max-compute sweep's compute never falls as the budget grows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import pulp

from planner.model.build import build
from planner.model.data import ModelData
from planner.model.solve import SolverOptions, make_solver, stdout_fd_silenced
from planner.plan import stage2_floor

BUDGET_FAMILIES = ("budget", "cumulative budget", "period budget")


@dataclass
class PointResult:
    status: str
    servers: np.ndarray | None
    seconds: float


def _status(h: highspy.Highs) -> str:
    st = h.getModelStatus()
    has_solution = h.getInfo().primal_solution_status == 2
    if st == highspy.HighsModelStatus.kOptimal:
        return "optimal"
    if st == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    if st in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return "unbounded" if st == highspy.HighsModelStatus.kUnbounded else "infeasible"
    return "feasible" if has_solution else "error"


class LiveModel:
    """The scenario's MILP in a live HiGHS object; :meth:`solve` takes the budget right-hand sides."""

    def __init__(self, data: ModelData, options: SolverOptions) -> None:
        self.data, self.options = data, options
        model = build(data)
        prob = model.prob
        prob.sense = pulp.LpMinimize
        prob.setObjective(model.cost)
        solver = make_solver(options)
        with stdout_fd_silenced():
            solver.createAndConfigureSolver(prob)
        solver.buildSolverModel(prob)
        self.h: highspy.Highs = prob.solverModel
        self.cols = np.array([v.index for v in model.n], dtype=np.int32)
        n = self.h.getNumCol()
        self.cost = np.zeros(n)
        for v, c in model.cost.items():
            self.cost[v.index] = c
        self.compute = np.zeros(n)
        for v, c in model.compute[-1].items():
            self.compute[v.index] = c
        self.compute_constant = float(model.compute[-1].constant)
        self.budget_rows = {name: prob.get_constraint_by_name(name).index
                            for name, (family, _) in model.rows.items() if family in BUDGET_FAMILIES}
        self.stage2_row = None
        if data.scenario.objective == "max-compute":
            nz = np.flatnonzero(self.compute).astype(np.int32)
            self.stage2_row = self.h.getNumRow()
            self.h.addRow(-highspy.kHighsInf, highspy.kHighsInf, len(nz), nz, self.compute[nz])
        self.previous: np.ndarray | None = None

    def _run(self, sense: highspy.ObjSense, cost: np.ndarray, start: np.ndarray | None) -> str:
        h = self.h
        h.changeObjectiveSense(sense)
        h.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), cost)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(start)
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        return _status(h)

    def solve(self, budget_rhs: dict[str, float]) -> PointResult:
        """Solve with the given upper bounds on the budget rows (by constraint name)."""
        begin = time.perf_counter()
        h = self.h
        for name, value in budget_rhs.items():
            h.changeRowBounds(self.budget_rows[name], -highspy.kHighsInf, value)
        start = self.previous
        first = "optimal"
        if self.stage2_row is not None:
            h.changeRowBounds(self.stage2_row, -highspy.kHighsInf, highspy.kHighsInf)
            first = self._run(highspy.ObjSense.kMaximize, self.compute, start)
            if first not in ("optimal", "feasible"):
                return PointResult(first, None, time.perf_counter() - begin)
            x = np.asarray(h.getSolution().col_value)
            reached = float(self.compute @ x) + self.compute_constant
            h.changeRowBounds(self.stage2_row, stage2_floor(reached) - self.compute_constant, highspy.kHighsInf)
            start = x
        second = self._run(highspy.ObjSense.kMinimize, self.cost, start)
        if second not in ("optimal", "feasible"):
            if self.stage2_row is None or start is None:
                return PointResult(second, None, time.perf_counter() - begin)
            second, x = "feasible", start          # the tie-break ran out of time: keep stage 1's plan
        else:
            x = np.asarray(h.getSolution().col_value)
        self.previous = x
        servers = np.rint(x[self.cols]).astype(np.int64)
        status = "optimal" if first == second == "optimal" else "feasible"
        return PointResult(status, servers, time.perf_counter() - begin)
