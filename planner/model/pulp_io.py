"""The model as a PuLP problem: for the CBC backend (:class:`planner.model.backends.CbcBackend`) and ``--write-model``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pulp

from planner.model.linear import Lin, Sense
from planner.model.rows import EQ, GE, INF, LE, Model
from planner.model.runs import Status

pulp.set_v4_migration_warnings(False)


def pulp_outcome(prob: pulp.LpProblem, tol: float = 1e-6) -> Status:
    """Read PuLP's ``status`` and ``sol_status`` together (a time-limited run also says "Optimal")."""
    st, ss = prob.status, prob.sol_status
    if st == pulp.LpStatusOptimal and ss == pulp.LpSolutionOptimal:
        return Status.OPTIMAL
    if st == pulp.LpStatusOptimal and ss == pulp.LpSolutionIntegerFeasible:
        return Status.FEASIBLE if prob.valid(tol) else Status.ERROR
    if st == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if st == pulp.LpStatusUnbounded:
        return Status.UNBOUNDED
    return Status.ERROR


class _Problem(pulp.LpProblem):  # type: ignore[misc]
    """An LpProblem whose variables are registered once, when created.

    PuLP registers every variable of a row again on each ``addConstraint`` and walks every row
    on each ``variables()`` call: O(nonzeros) Python work each time.
    """

    def add_variable(
        self,
        name: str,
        lowBound: float | None = None,  # noqa: N803 (PuLP's names)
        upBound: float | None = None,
        cat: str = pulp.LpContinuous,
    ) -> pulp.LpVariable:
        v = super().add_variable(name, lowBound, upBound, cat)
        self._register_variable(v)
        self._sorted = False
        return v

    def addConstraint(self, constraint: pulp.LpConstraint, name: str | None = None) -> None:  # noqa: N802
        if constraint.name in self._constraints:
            raise pulp.PulpError(f"overlapping constraint names: {constraint.name}")
        self._constraints[constraint.name] = constraint
        self.modifiedConstraints.append(constraint)

    def variables(self) -> list[pulp.LpVariable]:
        if not getattr(self, "_sorted", False):
            self._variables.sort(key=lambda v: v.name)
            self._sorted = True
        result: list[pulp.LpVariable] = self._variables
        return result


def to_pulp(model: Model, sense: Sense, objective: Lin) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The model as a PuLP problem (variables in column order) with ``objective`` in ``sense``."""
    prob = _Problem("gpuplan", pulp.LpMaximize if sense == Sense.MAXIMIZE else pulp.LpMinimize)
    variables = [
        prob.add_variable(
            name,
            None if lo == -INF else lo,
            None if up == INF else up,
            pulp.LpInteger if integer else pulp.LpContinuous,
        )
        for name, lo, up, integer in zip(
            model.col_names, model.col_lower, model.col_upper, model.col_integer, strict=True
        )
    ]
    objects = np.array(variables, dtype=object)

    def expr(lin: Lin) -> pulp.LpAffineExpression:
        e = pulp.LpAffineExpression(zip(objects[lin.idx].tolist(), lin.coef.tolist(), strict=True))
        e.constant = lin.constant
        return e

    prob.setObjective(expr(objective))
    senses = {LE: pulp.LpConstraintLE, GE: pulp.LpConstraintGE, EQ: pulp.LpConstraintEQ}
    for row in model.rows:
        if row.lower == -INF and row.upper == INF:  # a free row (a stage-2 row not in use)
            continue
        prob.addConstraint(pulp.LpConstraint(expr(row.lin), senses[row.sense], row.name, row.rhs))
    return prob, variables


def write_model(model: Model, sense: Sense, objective: Lin, path: Path) -> None:
    """Write the model with ``objective`` as ``.lp`` or ``.mps`` (MPS keeps the sense), atomically."""
    from planner.inputs.fileio import atomic_path

    prob, _ = to_pulp(model, sense, objective)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".lp":
            prob.writeLP(str(tmp))
        else:
            prob.writeMPS(str(tmp), with_objsense=True)
