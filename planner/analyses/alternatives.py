"""Near-optimal alternatives: plans within X% of the optimum that do best on another measure.

Modelling to generate alternatives (MGA), as energy planners use it (PyPSA's ``optimize_mga``,
Calliope's SPORES): every constraint of the scenario is kept, and one more row holds the
scenario's objective within ``within`` of its optimum (``E_T >= (1 - X) E*`` for max-compute and
max-training, ``cost <= (1 + X) cost*`` for min-cost). Each alternative then optimises a measure
of its own: the spend (commitments: purchases and whole lease terms) or the compute at the last
quarter of a group of options (``vendor=NVIDIA``, ``kind=lease``, ``country=CN``,
``channel=oem-distributor``, ``category``, ``sku`` or ``site``), or the commitments paid after the
horizon; among plans equal on that measure, the least cost.

``spread`` alternatives differ most from the optimum and from each other (the Hop-Skip-Jump
method): each minimises the chips it orders in the (SKU, quarter) cells the plans before it
used, weighted by how many of them used each. Their distance is the L1 distance of chips by SKU
and order quarter, over the chips of both plans (0: the same orders, 1: no order in common).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planner.errors import InputError, NoPlan, Setting, SolverError, words
from planner.model.choices import Objective
from planner.model.keys import Family, RowKey
from planner.model.linear import Lin, Sense
from planner.model.runs import SolverOptions
from planner.model.solve import Goal, scenario_goal

if TYPE_CHECKING:
    from planner.inputs.catalog import Catalog
    from planner.inputs.scenario import Scenario
    from planner.model.data import ModelData
    from planner.model.rows import Model, Part
    from planner.plans.results import Plan

#: the option columns a group may be chosen by
GROUPS = ("vendor", "kind", "country", "channel", "category", "sku", "site")
QUANTITIES = ("spend", "compute")
AFTER_HORIZON = "after-horizon"
#: how far inside the X% bound the near-optimal row is drawn (relative to the optimum)
MARGIN = 1e-5


@dataclass(frozen=True)
class Measure:
    """What an alternative optimises: ``quantity`` (spend, compute or after-horizon) of the options where ``by == value``."""

    sense: Sense
    quantity: str
    by: str | None = None
    value: str | None = None

    @staticmethod
    def parse(text: str, sense: Sense) -> Measure:
        """``[spend:|compute:]BY=VALUE`` (spend when no quantity is named) or ``after-horizon``."""
        option = Setting.MAXIMIZE if sense == Sense.MAXIMIZE else Setting.MINIMIZE
        raw = text.strip()
        if raw == AFTER_HORIZON:
            return Measure(sense, AFTER_HORIZON)
        quantity, _, group = raw.rpartition(":")
        quantity = quantity or "spend"
        if quantity not in QUANTITIES:
            raise InputError(
                f"{text!r}: the quantity is spend or compute (e.g. spend:vendor=NVIDIA), or give "
                f"{AFTER_HORIZON}",
                key=option,
            )
        by, eq, value = group.partition("=")
        if not eq or not value or by not in GROUPS:
            raise InputError(
                f"{text!r}: give GROUP=VALUE with GROUP one of {', '.join(GROUPS)} (e.g. vendor=NVIDIA), "
                f"optionally after spend: or compute:, or {AFTER_HORIZON}",
                key=option,
            )
        return Measure(sense, quantity, by, value)

    @property
    def label(self) -> str:
        """How the measure reads in reports: ``minimize spend vendor=NVIDIA``."""
        what = "commitments after the horizon" if self.quantity == AFTER_HORIZON else self.quantity
        group = f" {self.by}={self.value}" if self.by is not None else ""
        return f"{self.sense.value}imize {what}{group}"

    @property
    def unit(self) -> str:
        """The measure's unit."""
        return "effective PFLOPS" if self.quantity == "compute" else "USD"

    def check(self, data: ModelData) -> None:
        """The group must name options the scenario has."""
        if self.by is None:
            return
        present = sorted({str(v) for v in data.offers[self.by].dropna()})
        if self.value not in present:
            from planner.inputs.tables import suggest

            option = Setting.MAXIMIZE if self.sense == Sense.MAXIMIZE else Setting.MINIMIZE
            raise InputError(
                f"no usable option has {self.by} {self.value!r}{suggest(str(self.value), present)}; "
                f"the scenario's: {', '.join(present[:12])}{' ...' if len(present) > 12 else ''}",
                key=option,
            )

    def mask(self, data: ModelData) -> np.ndarray:
        """The options in the group."""
        if self.by is None:
            return np.ones(len(data.offers), dtype=bool)
        return (data.offers[self.by].astype(str) == self.value).to_numpy()

    def lin(self, part: Part) -> Lin:
        """The measure as a form over the part's option columns, from the model's own forms."""
        from planner.model.build import Coefficients

        n = int(part.cols.max()) + 1 if len(part.cols) else 0
        if self.quantity == AFTER_HORIZON:
            return Lin.of(part.cols, Coefficients.of(part.data).after_horizon())
        form = part.commitment if self.quantity == "spend" else part.compute[-1]
        per_option = form.dense(n)[part.cols] if n else np.zeros(0)
        return Lin.of(part.cols, per_option, self.mask(part.data))

    def value_of(self, plan: Plan) -> float:
        """The measure at a plan's servers: the model's form evaluated, the one definition of the figure."""
        from planner.model.build import build

        assert plan.data is not None and plan.servers is not None
        part = build(plan.data).main
        x = np.zeros(int(part.cols.max()) + 1 if len(part.cols) else 0)
        x[part.cols] = plan.servers
        return self.lin(part).value(x)


def cells(plan: Plan) -> pd.Series:
    """Chips ordered per (SKU, order quarter): what the distance between plans counts."""
    lines = plan.purchases
    if lines.empty:
        return pd.Series(dtype=float)
    return lines.groupby(["sku", "order_period"])["chips"].sum().astype(float)


def distance(a: Plan, b: Plan) -> float:
    """L1 distance of chips by SKU and order quarter over the chips of both (0 same orders, 1 none in common)."""
    x, y = cells(a), cells(b)
    both = x.add(y, fill_value=0.0).sum()
    if both == 0:
        return 0.0
    return float(x.sub(y, fill_value=0.0).abs().sum() / both)


@dataclass
class Alternative:
    """One near-optimal plan and what it was asked to do."""

    name: str
    plan: Plan
    measure: Measure | None  # None for a spread alternative
    value: float | None  # its measure
    optimum_value: float | None  # the optimum's measure
    distance: float  # to the optimum

    def objective_value(self) -> float:
        """The scenario's objective at this plan, from its own figures."""
        return objective_value(self.plan)


def objective_value(plan: Plan) -> float:
    """The scenario's objective read from a plan's figures: effective PFLOPS (or training PFLOPS) at the last quarter, or the cost."""
    from planner.analyses.stressing import total_cost

    if plan.objective == Objective.MAX_TRAINING:
        assert plan.workloads is not None
        return float(plan.workloads.periods["training_pflops"].iloc[-1])
    if plan.objective == Objective.MAX_COMPUTE:
        return float(plan.totals["effective_pflops"])
    return total_cost(plan.totals)


@dataclass
class Alternatives:
    """The optimum and its near-optimal alternatives."""

    optimum: Plan
    within: float
    alternatives: list[Alternative] = field(default_factory=list)

    @property
    def plans(self) -> list[Plan]:
        """The alternatives' plans, in order."""
        return [a.plan for a in self.alternatives]

    def summary(self) -> pd.DataFrame:
        """One row per alternative: the objective against the optimum's, the measure against the optimum's, the distance."""
        best = objective_value(self.optimum)
        rows = []
        for a in self.alternatives:
            value = a.objective_value()
            rows.append(
                {
                    "alternative": a.name,
                    "objective": value,
                    "optimum_objective": best,
                    "objective_change": (value - best) / abs(best) if best else 0.0,
                    "measure": a.value,
                    "optimum_measure": a.optimum_value,
                    "measure_unit": a.measure.unit if a.measure is not None else None,
                    "distance": a.distance,
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "alternative",
                "objective",
                "optimum_objective",
                "objective_change",
                "measure",
                "optimum_measure",
                "measure_unit",
                "distance",
            ],
        )

    def side_by_side(self) -> pd.DataFrame:
        """Figures (rows, by the glossary's names) for the optimum and each alternative (columns): totals, then spend by vendor and by kind."""
        plans = [("optimum", self.optimum)] + [(a.name, a.plan) for a in self.alternatives]
        totals = [
            ("effective_pflops", "Effective PFLOPS"),
            ("capex_usd", "Capex (USD)"),
            ("lease_usd", "Lease commitments (USD)"),
            ("opex_usd", "Electricity (USD)"),
            ("cost_usd", "Discounted cost (USD)"),
        ]
        columns: dict[str, dict[str, float]] = {}
        groups: set[tuple[str, str]] = set()
        for name, plan in plans:
            col = {label: float(plan.totals[k]) for k, label in totals if k in plan.totals}
            for by in ("vendor", "kind"):
                for key, value in plan.purchases.groupby(by)["cost_usd"].sum().items():
                    col[f"Spend, {by} {key} (USD)"] = float(value)
                    groups.add((by, str(key)))
            columns[name] = col
        order = [label for k, label in totals if k in self.optimum.totals]
        order += [f"Spend, {by} {key} (USD)" for by, key in sorted(groups)]
        return pd.DataFrame(columns).reindex(order).fillna(0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON: the optimum and each alternative with its figures and its plan in the contract's form."""
        return {
            "scenario": self.optimum.scenario,
            "objective": self.optimum.objective,
            "within": self.within,
            "optimum": {"objective_value": objective_value(self.optimum), "plan": self.optimum.to_dict()},
            "alternatives": [
                {
                    "name": a.name,
                    "measure": a.measure.label if a.measure is not None else "spread",
                    "unit": a.measure.unit if a.measure is not None else None,
                    "value": a.value,
                    "optimum_value": a.optimum_value,
                    "objective_value": a.objective_value(),
                    "distance_to_optimum": round(a.distance, 6),
                    "plan": a.plan.to_dict(),
                }
                for a in self.alternatives
            ],
        }


def _near_optimal(data: ModelData, within: float, best: float) -> Callable[[Model], Lin]:
    """A hook that adds the row holding the scenario's objective within ``within`` of ``best``; returns the objective's form."""

    def add(model: Model) -> Lin:
        from planner.model.rows import GE, LE

        goal = scenario_goal(model.main)
        # the row is drawn MARGIN inside the bound, so that a solution within the solver's
        # feasibility tolerance of the row is still within X% by the plan's own figures
        margin = min(MARGIN * max(abs(best), 1.0), within * abs(best) / 2)
        if goal.sense == Sense.MAXIMIZE:
            limit, sense, words = best - within * abs(best), GE, "at least"
            bound = limit + margin
        else:
            limit, sense, words = best + within * abs(best), LE, "at most"
            bound = limit - margin
        model.add(
            RowKey(Family.NEAR_OPTIMAL),
            goal.lin,
            sense,
            bound,
            f"the objective {words} {limit:,.2f} (within {within:.2%} of the optimum {best:,.2f})",
        )
        return goal.lin

    return add


def alternatives(
    scenario: Scenario | str | Path,
    within: float,
    measures: list[Measure],
    spread: int = 0,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
) -> Alternatives:
    """The optimum, one alternative per measure, then ``spread`` alternatives far from the rest.

    Raises:
        planner.errors.NoPlan: the scenario has no plan (nothing to be near).
    """
    from planner.inputs.scenario import check_references, load_scenario
    from planner.model.data import prepare
    from planner.plans.plan import catalog_for, solve_data

    if not 0 <= within < 1:
        raise InputError(f"must be at least 0% and below 100%, got {within:.4%}", key=Setting.WITHIN)
    if not measures and spread < 1:
        raise InputError(
            words(
                "give {}, {} or {} N (what the alternatives do)",
                Setting.MINIMIZE,
                Setting.MAXIMIZE,
                Setting.SPREAD,
            ),
            key=Setting.MINIMIZE,
        )
    loaded = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    options = SolverOptions.of(options)
    cat = catalog_for(loaded, catalog)
    check_references(loaded, cat)
    data = prepare(loaded, cat)
    for m in measures:
        m.check(data)
    optimum = solve_data(data, options)
    if not optimum.ok:
        raise NoPlan(f"the scenario has no plan ({optimum.status}); there is no optimum to be near")
    out = Alternatives(optimum, within)
    near = _near_optimal(data, within, objective_value(optimum))
    for m in measures:

        def goal(model: Model, m: Measure = m) -> Goal:
            near(model)
            return Goal(m.sense, m.lin(model.main), model.main.cost)

        plan = _solved(solve_data(data, options, goal=goal), m.label, optimum, within)
        out.alternatives.append(
            Alternative(m.label, plan, m, m.value_of(plan), m.value_of(optimum), distance(plan, optimum))
        )
    used = [cells(optimum)] + [cells(a.plan) for a in out.alternatives]
    for k in range(spread):
        weights = _cell_weights(used)

        def hop(model: Model, weights: pd.Series = weights) -> Goal:
            near(model)
            return Goal(Sense.MINIMIZE, _overlap(model.main, weights), model.main.cost)

        plan = _solved(solve_data(data, options, goal=hop), f"spread {k + 1}", optimum, within)
        out.alternatives.append(
            Alternative(f"spread {k + 1}", plan, None, None, None, distance(plan, optimum))
        )
        used.append(cells(plan))
    return out


def _solved(plan: Plan, name: str, optimum: Plan, within: float) -> Plan:
    """The alternative's plan, checked within X% of the optimum by its own figures."""
    if not plan.ok:
        raise NoPlan(
            words("alternative {!r} found no plan ({}); try a wider {}", name, plan.status, Setting.WITHIN)
        )
    best, value = objective_value(optimum), objective_value(plan)
    worse = (best - value) if plan.objective != Objective.MIN_COST else (value - best)
    if worse > within * abs(best):
        raise SolverError(
            words(
                "alternative {!r} is {:.4%} from the optimum, outside {} {:.2%}: the solver's tolerance; "
                "try a smaller {}",
                name,
                worse / abs(best),
                Setting.WITHIN,
                within,
                Setting.MIP_GAP,
            )
        )
    return plan


def _cell_weights(used: list[pd.Series]) -> pd.Series:
    """For each (SKU, quarter) cell: in how many of the plans so far it holds chips."""
    counts = pd.concat([(u > 0).astype(float) for u in used], axis=1).fillna(0.0).sum(axis=1)
    return counts[counts > 0]


def _overlap(part: Part, weights: pd.Series) -> Lin:
    """``sum_c w_c chips_c``: the chips ordered in (SKU, quarter) cells the plans so far used, each cell weighted by how many of them used it."""
    o = part.data.offers
    keys = list(zip(o["sku"], [part.data.periods[int(t)] for t in o["t"]], strict=True))
    w = np.array([weights.get(k, 0.0) for k in keys], dtype=np.float64)
    return Lin.of(part.cols, w * o["chips_per_server"].to_numpy(np.float64))
