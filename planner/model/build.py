"""The MILP, built as a recipe: variables, then one ``define_*`` per constraint family.

Notation (contract, section 3): ``n_o`` whole servers bought in offer ``o``,
``x_o = chips_per_server * n_o`` chips; ``d(o)`` the delivery period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pulp

from planner.model.data import ModelData

pulp.set_v4_migration_warnings(False)
LE, GE = pulp.LpConstraintLE, pulp.LpConstraintGE


class Problem(pulp.LpProblem):
    """An LpProblem whose variables are registered once, when created.

    PuLP registers every variable of a row again on each ``addConstraint`` and walks
    every row on each ``variables()`` call: O(nonzeros) Python work each time, which
    dominated the build at 25,000 offers. Every variable here comes from
    :meth:`add_variable`, so rows need no registering and the list is sorted once.
    """

    def add_variable(self, name, lowBound=None, upBound=None, cat=pulp.LpContinuous):  # noqa: N803
        v = super().add_variable(name, lowBound, upBound, cat)
        self._register_variable(v)
        self._sorted = False
        return v

    def addConstraint(self, constraint, name=None):  # noqa: N802 (PuLP's name)
        if name:
            constraint.name = name
        if constraint.name in self._constraints:
            raise pulp.PulpError(f"overlapping constraint names: {constraint.name}")
        self._constraints[constraint.name] = constraint
        self.modifiedConstraints.append(constraint)

    def variables(self):
        if not getattr(self, "_sorted", False):
            self._variables.sort(key=lambda v: v.name)
            self._sorted = True
        return self._variables


class PerPeriod:
    """Expressions per period, built on first use (a family no constraint needs costs nothing)."""

    def __init__(self, horizon: int, make) -> None:
        self._make, self._n, self._cache = make, horizon, {}

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, p: int) -> pulp.LpAffineExpression:
        p = p % self._n
        if p not in self._cache:
            self._cache[p] = self._make(p)
        return self._cache[p]

    def __iter__(self):
        return (self[p] for p in range(self._n))


@dataclass
class Model:
    """A built problem with the handles the solve and the reports need."""

    data: ModelData
    prob: pulp.LpProblem
    n: list[pulp.LpVariable]
    chips_per_var: np.ndarray
    compute: PerPeriod | None = None            # E_p
    memory: PerPeriod | None = None             # M_p
    power: PerPeriod | None = None              # P_p
    capex: PerPeriod | None = None              # C_t
    cost: pulp.LpAffineExpression | None = None                            # sum C + sum opex
    #: constraint name -> (family, description) for reports
    rows: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: relaxation variables added by a diagnosis: name -> (variable, family, description, weight)
    slacks: dict[str, tuple[pulp.LpVariable, str, str, float]] = field(default_factory=dict)
    prefix: str = ""

    def servers(self) -> np.ndarray:
        """Whole servers per usable offer in the last solution."""
        return np.array([round(v.value() or 0.0) for v in self.n], dtype=np.int64)

    @property
    def n_array(self) -> np.ndarray:
        if not hasattr(self, "_n_array"):
            self._n_array = np.array(self.n, dtype=object)
        return self._n_array

    def add(self, name: str, expr: pulp.LpAffineExpression, sense: int, rhs: float,
            family: str, description: str, elastic: bool = False, weight: float = 1.0) -> None:
        """Add ``expr (sense) rhs``; with ``elastic`` a penalised slack may relax it."""
        name = _safe(self.prefix + name)
        if name in self.rows:
            raise ValueError(f"constraint {name} added twice")
        if elastic:
            s = self.prob.add_variable(f"slack_{name}", lowBound=0)
            expr = expr.copy()
            expr.addterm(s, 1.0 if sense == GE else -1.0)
            self.slacks[name] = (s, family, description, weight)
        self.prob.addConstraint(pulp.LpConstraint(expr, sense, name, rhs))
        self.rows[name] = (family, description)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def _expr(model: Model, coef: np.ndarray, mask: np.ndarray | None = None,
          constant: float = 0.0) -> pulp.LpAffineExpression:
    """``sum coef_o n_o`` over the offers in ``mask``, plus a constant (one bulk construction)."""
    idx = np.flatnonzero(coef if mask is None else coef * mask)
    e = pulp.LpAffineExpression(zip(model.n_array[idx].tolist(), coef[idx].tolist()))
    e.constant = constant
    # the same terms as arrays, for the bulk hand-off to HiGHS (model.solve.QuietHiGHS)
    e.gp_terms = (model.n_array, idx, coef[idx])
    return e


def build(data: ModelData, relax: frozenset[str] = frozenset(), prob: Problem | None = None,
          prefix: str = "") -> Model:
    """Build the model; ``relax`` names families to make elastic (``targets``, ``power``, ``shares``)
    or to drop (``no-targets``), for the diagnosis of infeasible scenarios.

    With ``prob`` and ``prefix`` the model is added to an existing problem under prefixed
    names (one branch of a robust plan). An offer with a ``fixed`` server count (orders
    already committed) has its variable fixed there.
    """
    prob = prob if prob is not None else Problem("gpuplan", pulp.LpMinimize)
    o = data.offers
    fixed = o["fixed"].to_numpy(float) if "fixed" in o else np.full(len(o), np.nan)
    n = [prob.add_variable(f"{prefix}n_{i:06d}", lowBound=0 if np.isnan(f) else int(f),
                           upBound=int(ub) if np.isnan(f) else int(f), cat=pulp.LpInteger)
         for i, (ub, f) in enumerate(zip(o["max_servers"], fixed))]
    model = Model(data, prob, n, o["chips_per_server"].to_numpy(np.int64), prefix=prefix)
    define_capacity(model)
    define_budget(model)
    if "no-targets" not in relax:
        define_targets(model, elastic="targets" in relax)
    define_power(model, elastic="power" in relax)
    define_shares(model, elastic="shares" in relax)
    return model


def define_capacity(model: Model) -> None:
    """Installed quantities per period and the cost (no constraints).

    ``E_p = fleet + sum_{d(o)<=p} q_o eff x_o``; ``M_p`` alike with memory;
    ``P_p = fleet + sum_{d(o)<=p} power_w pue/1e6 x_o`` (every ordered chip);
    ``C_t = sum_{o in t} price_o x_o``; opex_p = ``P_p * 1000 * 2190 * $/kWh``.
    """
    data, o = model.data, model.data.offers
    cps = model.chips_per_var.astype(float)
    d, t = o["d"].to_numpy(), o["t"].to_numpy()
    eff = (o["q"] * o["eff_pflops"]).to_numpy() * cps
    mem = (o["q"] * o["mem_tb"]).to_numpy() * cps
    pwr = o["power_mw"].to_numpy() * cps
    price = o["server_price"].to_numpy(float)
    f_eff, f_mem, f_pwr = (data.fleet_sum(c) for c in ("eff_pflops", "mem_tb", "power_mw"))
    H = data.horizon
    model.compute = PerPeriod(H, lambda p: _expr(model, eff, d <= p, f_eff))
    model.memory = PerPeriod(H, lambda p: _expr(model, mem, d <= p, f_mem))
    model.power = PerPeriod(H, lambda p: _expr(model, pwr, d <= p, f_pwr))
    model.capex = PerPeriod(H, lambda p: _expr(model, price, t == p))
    periods_in_service = data.horizon - d
    opex = pwr * periods_in_service * data.opex_per_mw()
    model.cost = _expr(model, price + opex, None, f_pwr * data.horizon * data.opex_per_mw())


def define_budget(model: Model) -> None:
    """``sum_t C_t <= total``; with per-period budgets, cumulative caps under carry-over,
    else ``C_t <= budget_t``."""
    data = model.data
    price = data.offers["server_price"].to_numpy(float)
    t = data.offers["t"].to_numpy()
    if data.total_budget is not None:
        model.add("budget_total", _expr(model, price), LE, data.total_budget, "budget",
                  "total capex <= total budget")
    if data.budget_per_period is None:
        return
    for p, name in enumerate(data.periods):
        if data.scenario.budget.carry_over:
            model.add(f"budget_cum_{name}", _expr(model, price, t <= p), LE, sum(data.budget_per_period[:p + 1]),
                      "cumulative budget", f"cumulative capex through {name} <= cumulative budget")
        else:
            model.add(f"budget_{name}", model.capex[p], LE, data.budget_per_period[p], "period budget",
                      f"capex in {name} <= budget of {name}")


def define_targets(model: Model, elastic: bool = False) -> None:
    """``E_p >= pflops_p`` and ``M_p >= memory_tb_p``; elastic slacks weigh 1/target."""
    data = model.data
    for p, name in enumerate(data.periods):
        target = data.scenario.targets.get(name)
        if target is None:
            continue
        for measure, value, exprs in (("pflops", target.pflops, model.compute),
                                      ("memory_tb", target.memory_tb, model.memory)):
            if value is None:
                continue
            model.add(f"target_{measure}_{name}", exprs[p], GE, value, "target",
                      f"{measure} in {name} >= {value:g}", elastic=elastic and value > 0,
                      weight=1.0 / value if value > 0 else 0.0)


def define_power(model: Model, elastic: bool = False) -> None:
    """``P_p <= site_capacity_mw_p`` where a cap applies."""
    data = model.data
    for p, name in enumerate(data.periods):
        cap = data.site_cap[p]
        if cap is not None:
            model.add(f"power_{name}", model.power[p], LE, cap, "power", f"power in {name} <= {cap:g} MW",
                      elastic=elastic)


def share_groups(model: Model) -> list[tuple[int, str]]:
    """``(share index, value)`` for each group a share constrains; ``*`` expands to the values
    present among usable offers and the fleet."""
    data, out = model.data, []
    for k, share in enumerate(data.scenario.policy.shares):
        if share.value == "*":
            values = set(data.offers[share.by])
            if share.by != "channel":
                values |= set(data.fleet[share.by])
            out.extend((k, v) for v in sorted(values))
        else:
            out.append((k, share.value))
    return out


def define_shares(model: Model, elastic: bool = False) -> None:
    """At the last period T: ``measure_g >= min * measure_all`` and ``measure_g <= max * measure_all``;
    compute is ``E_T`` (fleet included, fleet has no channel), spend is total capex."""
    data, o = model.data, model.data.offers
    cps = model.chips_per_var.astype(float)
    last = data.horizon - 1
    eff = (o["q"] * o["eff_pflops"]).to_numpy() * cps * (o["d"].to_numpy() <= last)
    price = o["server_price"].to_numpy(float)
    for j, (k, value) in enumerate(share_groups(model)):
        share = data.scenario.policy.shares[k]
        member = (o[share.by] == value).to_numpy()
        if share.measure == "compute":
            coef, total_const = eff, data.fleet_sum("eff_pflops")
            fleet = data.fleet[data.fleet[share.by] == value] if share.by != "channel" else data.fleet.iloc[0:0]
            group_const = float((fleet["chips"] * fleet["eff_pflops"]).sum())
        else:
            coef, total_const, group_const = price, 0.0, 0.0
        for bound, sense, frac in (("min", GE, share.min), ("max", LE, share.max)):
            if frac is None:
                continue
            # measure_g - frac * measure_all (sense) 0
            expr = _expr(model, coef * member - frac * coef, None, group_const - frac * total_const)
            desc = f"{share.measure} share of {share.by} {value} {'>=' if sense == GE else '<='} {frac:g}"
            model.add(f"share_{k}_{j}_{bound}", expr, sense, 0.0, "share", desc, elastic=elastic)
