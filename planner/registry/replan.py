"""Re-plan an approved version under new inputs, its firm orders fixed.

The quarters up to the lock keep the approved version's options (as its inputs made them), and
its firm orders are fixed there; every other option in those quarters stays at zero (the past
is not re-ordered). Later quarters take their options from the new inputs and are solved again.
A firm purchase delivered on or after the change (the new inputs' first open quarter, or a
shock's date) that the new rules no longer allow is stranded: paid for, never delivered; a firm
lease the new rules cover serves nothing from then on and is paid to its end. Stranded orders
are reported, never dropped.

When the approved plan's own later orders are still possible under the new inputs and the
result is as good as the free re-plan's within the MIP gap, the approved plan is kept: a re-plan
never changes orders for a difference the solver cannot tell apart from noise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.errors import InputError, NoPlan, Setting, words
from planner.inputs.tables import records
from planner.inputs.units import parse_quarter, quarter_start
from planner.model.choices import Objective
from planner.registry.inputs import catalog_files, load_inputs, read_inputs
from planner.registry.store import Inputs, Version, read_text

if TYPE_CHECKING:
    from planner.model.data import ModelData
    from planner.model.runs import SolverOptions
    from planner.plans.results import Plan
    from planner.registry.core import Registry

#: what identifies an order line in a plan JSON and an option in the model's data
LINE = ("order_period", "sku", "channel", "kind", "site", "country", "term_quarters")


def line_key(rec: dict[str, Any]) -> tuple[Any, ...]:
    """An order line's identity (a lease has no site; a purchase no term)."""
    lease = rec["kind"] == "lease"
    term = rec.get("term_quarters")
    return (
        rec["order_period"],
        rec["sku"],
        rec["channel"],
        rec["kind"],
        None if lease else rec["site"],
        rec["country"],
        int(term) if lease and term is not None and not pd.isna(term) else None,
    )


def option_keys(data: ModelData) -> list[tuple[Any, ...]]:
    """Each option's line identity, in ``data.offers`` order."""
    o = data.offers
    return [
        line_key(
            {
                "order_period": data.periods[int(t)],
                "sku": sku,
                "channel": channel,
                "kind": kind,
                "site": site,
                "country": country,
                "term_quarters": term,
            }
        )
        for t, sku, channel, kind, site, country, term in zip(
            o["t"], o["sku"], o["channel"], o["kind"], o["site"], o["country"], o["term"], strict=True
        )
    ]


def servers_of(data: ModelData, lines: list[dict[str, Any]], what: str) -> npt.NDArray[np.int64]:
    """Servers per option of ``data`` for the order lines of a plan JSON; a line with no option is an error."""
    index = {k: i for i, k in enumerate(option_keys(data))}
    servers = np.zeros(len(data.offers), dtype=np.int64)
    for rec in lines:
        i = index.get(line_key(rec))
        if i is None:
            raise NoPlan(
                f"{what} {rec['order_period']} {rec['sku']} via {rec['channel']} "
                f"({rec['kind']}, {rec['site'] or rec['country']}) is not an option of its inputs"
            )
        servers[i] += int(rec["servers"])
    return servers


@dataclass
class Replanned:
    """A re-plan: the new version, its plan, the firm orders kept and what the change strands."""

    version: Version
    plan: Plan
    parent: int
    through: str | None  # the parent's lock (None: no order was firm)
    firm: pd.DataFrame  # the firm orders, as locked
    stranded: list[dict[str, Any]]
    kept_approved: bool  # the approved plan was still as good within the gap and was kept

    @property
    def stranded_usd(self) -> float:
        """What the stranded firm orders cost."""
        return float(sum(s["cost_usd"] for s in self.stranded))

    def to_dict(self) -> dict[str, Any]:
        """The new version's fields and what the re-plan found."""
        return self.version.to_dict() | {
            "replanned_from": self.parent,
            "firm_through": self.through,
            "firm_orders": len(self.firm),
            "kept_approved_plan": self.kept_approved,
            "stranded_usd": self.stranded_usd,
            "stranded": self.stranded,
        }


def new_inputs(
    base: Inputs,
    scenario: Path | None,
    catalog: Path | None,
    shocks: Path | None,
    shock: str | None,
) -> Inputs:
    """The inputs of the re-plan: the approved version's, with what the options replace.

    A new scenario brings its own catalog unless ``catalog`` is given; a shock applies to the
    inputs chosen. With no option, the approved version's inputs (its shock included) are kept.
    """
    from planner.inputs.catalog import load_catalog
    from planner.inputs.scenario import load_scenario
    from planner.plans.plan import catalog_for

    if (shocks is None) != (shock is None):
        raise InputError(
            words("{} FILE and {} NAME go together", Setting.SHOCKS, Setting.SHOCK), key=Setting.SHOCK
        )
    if scenario is not None:
        fresh = read_inputs(scenario, catalog_for(load_scenario(scenario), catalog))
    elif catalog is not None:
        fresh = Inputs(base.scenario_file, base.scenario_text, catalog_files(load_catalog(catalog)))
    else:
        fresh = base
    if shocks is not None:
        return replace(fresh, shock_text=read_text(shocks, "shock file"), shock_name=shock)
    return fresh


def _primary(plan: Plan) -> float:
    """The objective's measure, larger is better."""
    from planner.analyses.stressing import total_cost

    if plan.objective == Objective.MAX_COMPUTE:
        return float(plan.totals["effective_pflops"])
    if plan.objective == Objective.MAX_TRAINING and "training_pflops" in plan.periods:
        return float(plan.periods["training_pflops"].iloc[-1])
    return -total_cost(plan.totals)


def as_good(kept: Plan, free: Plan, gap: float) -> bool:
    """``kept`` is as good as ``free`` within the relative gap (the objective, then cost for maximising objectives)."""
    from planner.analyses.stressing import total_cost

    def close(a: float, b: float) -> bool:
        return a >= b - gap * max(abs(b), 1.0)

    if not close(_primary(kept), _primary(free)):
        return False
    return free.objective == Objective.MIN_COST or close(-total_cost(kept.totals), -total_cost(free.totals))


def replan(
    registry: Registry,
    version_id: int,
    scenario: Path | None,
    catalog: Path | None,
    shocks: Path | None,
    shock: str | None,
    options: SolverOptions | None,
    by: str | None,
) -> Replanned:
    """See the module's docstring."""
    from planner.analyses.stressing import efficiency_change, held_servers, reopen, stranded_cost
    from planner.inputs.shocks import apply
    from planner.model.data import prepare
    from planner.model.runs import SolverOptions
    from planner.outputs.export import plan_json
    from planner.plans.plan import solve_data

    options = SolverOptions.of(options)
    base = registry.version(version_id)
    if not base.approved:
        raise InputError(
            f"version {version_id} is not approved; only an approved plan is re-planned", key="ID"
        )
    approved = base.plan
    old_scenario, old_catalog, old_shock = load_inputs(registry.inputs(version_id))
    if old_shock is not None:
        applied = apply(old_shock, old_scenario, old_catalog)
        old_scenario, old_catalog = applied.scenario, applied.catalog
    inputs = new_inputs(registry.inputs(version_id), scenario, catalog, shocks, shock)
    scen, cat, new_shock = load_inputs(inputs)
    if scen.periods[0] != old_scenario.periods[0]:
        raise InputError(
            f"the new scenario starts in {scen.periods[0]}, the approved version in "
            f"{old_scenario.periods[0]}; a re-plan keeps the approved horizon's start",
            key="periods",
        )
    through = base.locked_through
    first = 0 if through is None else scen.periods.index(through) + 1 if through in scen.periods else None
    if first is None:
        raise InputError(
            f"the new scenario's periods leave out {through}, the last firm quarter", key="periods"
        )
    day = quarter_start(parse_quarter(scen.periods[first])) if first < len(scen.periods) else None
    if new_shock is not None:
        shocked = apply(new_shock, scen, cat)
        scen, cat = shocked.scenario, shocked.catalog
        day = new_shock.starts if day is None else min(day, new_shock.starts)
    pre = prepare(old_scenario, old_catalog)
    post = prepare(scen, cat)
    firm = registry.firm_orders(version_id)
    firm_servers = servers_of(pre, records(firm), "firm order")
    keys = list(pre.offers[["offer_id", "site_index"]].itertuples(index=False, name=None))
    committed = {k: int(s) for k, s in zip(keys, firm_servers) if s > 0}
    if day is None:  # every quarter is firm: nothing to re-plan
        day = quarter_start(parse_quarter(scen.periods[-1]) + 1)
    data, stranded = reopen(pre, post, cat, first, day, committed)
    if new_shock is not None:
        data = replace(data, efficiency=efficiency_change(shocked, data))
    start = time.perf_counter()
    free = solve_data(data, options)
    plan, kept = free, False
    try:
        everything = servers_of(data, approved.get("purchases", []), "approved order")
    except NoPlan:
        everything = None  # an approved later order is no longer an option: the approved plan cannot stand
    if everything is not None:
        same = solve_data(replace(data, fixed=everything.astype(np.float64)), options)
        if same.ok and (not free.ok or as_good(same, free, options.mip_gap)):
            plan, kept = same, True
    if not plan.ok:
        raise NoPlan(
            f"no plan under the new inputs with the orders through {through} kept: the re-plan is "
            f"{plan.status}; nothing was stored"
        )
    held = held_servers(data)
    cost = stranded_cost(data, held, stranded)
    stranded_lines = [
        {
            "order_period": data.periods[int(rec["t"])],
            "delivery_period": data.periods[int(rec["d"])],
            "sku": rec["sku"],
            "channel": rec["channel"],
            "kind": rec["kind"],
            "site": rec["site"] if rec["kind"] == "buy" else None,
            "country": rec["country"],
            "chips": int(held[i] * rec["chips_per_server"]),
            "cost_usd": float(cost[i]),
        }
        for i, rec in ((int(i), data.offers.iloc[int(i)].to_dict()) for i in np.flatnonzero(cost > 0))
    ]
    version = registry.store(
        inputs,
        plan_json(plan),
        "replan",
        by,
        parent=version_id,
        solver=options.solver,
        mip_gap=options.mip_gap,
        seconds=time.perf_counter() - start,
    )
    return Replanned(version, plan, version_id, through, firm, stranded_lines, kept)
