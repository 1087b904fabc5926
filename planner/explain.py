"""Why the plan is what it is: binding constraints, marginal values, and chips not bought.

Marginal values come two ways and both are reported. *Dual-based*: every decision is a
whole number of servers, so fixing the integers leaves no LP to price; the duals are taken
from the LP relaxation of the model (they are local: valid while the LP basis holds).
*Re-solved*: the limit is moved and the model solved again, as an LP (agrees with the dual
while the basis does not change) and as the MILP (what the plan would really gain).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from planner.model.build import LE, Model, Part, build
from planner.model.data import ModelData
from planner.model.keys import BUDGET_FAMILIES, Family, RowKey
from planner.model.linear import FloatArray
from planner.model.solve import Goal, Outcome, SolverOptions, optimize, scenario_goal
from planner.plan import catalog_for, solve
from planner.results import Plan
from planner.scenario import Scenario, check_references, load_scenario

NOTE = ("Dual-based figures come from the LP relaxation (all decisions are whole servers, so the LP with "
        "the integers fixed has nothing left to price); they are local, valid while the LP basis does not "
        "change. Re-solved figures move the limit and solve again: as an LP (matches the dual while the basis "
        "holds) and as the MILP (what the plan really gains).")


def _goal(part: Part) -> Goal:
    """Stage 1 of the scenario's objective (E_T for max-compute, cost for min-cost)."""
    goal = scenario_goal(part)
    return Goal(goal.sense, goal.lin)


def _stage1(data: ModelData, options: SolverOptions, mip: bool) -> tuple[float | None, Model, Outcome]:
    """Solve the first-stage objective as a MILP or as its LP relaxation."""
    model = build(data)
    result = optimize(model, _goal(model.main), options, mip=mip)
    return result.value, model, result


def _duals(model: Model, result: Outcome) -> dict[RowKey, float]:
    """d objective / d rhs in the objective's own sense, by row."""
    if result.row_duals is None:
        return {}
    return {row.key: float(result.row_duals[row.index]) for row in model.rows}


def _reduced(model: Model, result: Outcome) -> FloatArray:
    """Reduced cost per usable offer (in the objective's own sense)."""
    if result.col_duals is None:
        return np.zeros(len(model.main.cols))
    return np.asarray(result.col_duals[model.main.cols], dtype=np.float64)


def _delta(data: ModelData, base: tuple[float | None, float | None], options: SolverOptions,
           **changes: Any) -> tuple[float | None, float | None]:
    """(LP, MILP) change of the first-stage objective when the data change."""
    moved = replace(data, **changes)
    out = []
    for mip, before in zip((False, True), base, strict=True):
        value, _, _ = _stage1(moved, options, mip)
        out.append(None if value is None or before is None else value - before)
    return out[0], out[1]


def binding(plan: Plan) -> list[dict[str, Any]]:
    """Every constraint of the solved plan with its slack in the user's units; supply caps of
    offers bought out are listed too."""
    data = plan.data
    assert data is not None and plan.servers is not None
    model = build(data)
    x = np.zeros(model.n_cols)
    x[model.main.cols] = plan.servers
    out = []
    for row in model.rows:
        slack = row.slack(x)
        smallest = float(np.min(np.abs(row.lin.coef))) if len(row.lin) else 0.0
        rhs = abs(row.rhs)
        out.append({"family": row.key.family.value, "constraint": row.description, "slack": round(slack, 6),
                    "binding": bool(slack <= max(1e-6, 1e-9 * rhs) or (row.sense == LE and slack < smallest))})
    o = data.offers
    taken = pd.Series(plan.servers, index=o.index).groupby(o["offer_id"]).transform("sum").to_numpy()
    for i in np.flatnonzero((taken >= o["max_servers"].to_numpy()) & ~o["offer_id"].duplicated().to_numpy()):
        out.append({"family": "supply", "constraint": f"{o['sku'].iat[i]} via {o['channel'].iat[i]} in "
                    f"{data.periods[o['t'].iat[i]]}: {int(o['max_units'].iat[i]):,} chips offered",
                    "slack": 0.0, "binding": True})
    return out


def explain(scenario: Scenario | str, catalog=None, options: SolverOptions | None = None) -> dict[str, Any]:
    """Solve the scenario and explain the plan (see the module docstring)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = options or SolverOptions()
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    return explain_plan(solve(scenario, cat, options), options)


def explain_plan(plan: Plan, options: SolverOptions | None = None) -> dict[str, Any]:
    """The explanation of a solved plan: binding constraints, marginal values, chips not bought."""
    assert plan.data is not None
    options = options or SolverOptions()
    scenario = plan.data.scenario
    out: dict[str, Any] = {"scenario": scenario.name, "status": plan.status, "objective": scenario.objective,
                           "unit": "effective PFLOPS" if scenario.objective == "max-compute" else "USD",
                           "notes": [NOTE], "limits": plan.limits}
    if not plan.ok:
        out["diagnosis"] = plan.diagnosis
        return out
    data = plan.data
    lp_value, lp_model, lp_result = _stage1(data, options, mip=False)
    mip_value, _, _ = _stage1(data, options, mip=True)
    duals, reduced = _duals(lp_model, lp_result), _reduced(lp_model, lp_result)
    base = (lp_value, mip_value)
    out["binding"] = binding(plan)
    out["marginal"] = _marginals(data, lp_model, lp_result, duals, reduced, base, plan, options)
    out["not_bought"] = _not_bought(data, lp_model, duals, plan)
    return out


def _entry(what: str, unit: str, dual: float | None, lp: float | None, mip: float | None,
           scale: float = 1.0) -> dict[str, Any]:
    def r(x):
        return None if x is None else round(x * scale, 6) + 0.0   # + 0.0 turns -0.0 into 0.0
    return {"what": what, "unit": unit, "dual": r(dual), "lp_resolved": r(lp), "milp_resolved": r(mip)}


def _marginals(data: ModelData, model: Model, result: Outcome, duals: dict[RowKey, float], reduced: FloatArray,
               base: tuple[float | None, float | None], plan: Plan,
               options: SolverOptions) -> list[dict[str, Any]]:
    unit = "PFLOPS" if data.scenario.objective == "max-compute" else "USD of cost"
    out = []
    step = 1e9
    if data.total_budget is not None or data.budget_per_period is not None:
        changes: dict[str, Any] = {}
        dual = 0.0
        if data.total_budget is not None:
            changes["total_budget"] = data.total_budget + step
            dual += duals.get(model.row(Family.BUDGET_TOTAL).key, 0.0) * step
        if data.budget_per_period is not None:
            total = data.total_budget or sum(data.budget_per_period)
            factor = 1 + step / total if total else 1.0
            changes["budget_per_period"] = [b * factor for b in data.budget_per_period]
            running = 0.0
            carry = data.scenario.budget.carry_over
            for p, name in enumerate(data.periods):
                running += data.budget_per_period[p]
                row = model.row(Family.BUDGET_CUMULATIVE if carry else Family.BUDGET_PERIOD, period=name)
                extra = (running if carry else data.budget_per_period[p]) * (factor - 1)
                dual += duals.get(row.key, 0.0) * extra
        lp, mip = _delta(data, base, options, **changes)
        out.append(_entry("extra $1B of total budget (per-quarter budgets scaled in proportion)",
                          f"{unit} per $1B", dual, lp, mip))
    for k, site in enumerate(data.sites):
        for p, name in enumerate(data.periods):
            cap = site.caps[p]
            if cap is None:
                continue
            caps = list(site.caps)
            caps[p] = cap + 1.0
            sites = [replace(s, caps=caps) if j == k else s for j, s in enumerate(data.sites)]
            lp, mip = _delta(data, base, options, sites=sites)
            where = f"at {site.name} " if len(data.sites) > 1 else "of site power "
            out.append(_entry(f"extra MW {where}in {name}", f"{unit} per MW",
                              duals.get(model.row(Family.POWER, period=name, site=site.name).key, 0.0), lp, mip))
    o = data.offers
    assert plan.servers is not None
    taken = pd.Series(plan.servers, index=o.index).groupby(o["offer_id"]).transform("sum").to_numpy()
    seen: set[int] = set()
    for i in np.flatnonzero(taken >= o["max_servers"].to_numpy()):
        offer_id = int(o["offer_id"].iat[i])
        if offer_id in seen:
            continue
        seen.add(offer_id)
        cps = int(o["chips_per_server"].iat[i])
        extra_servers = math.ceil(1000 / cps)
        offers = o.copy()
        same = (offers["offer_id"] == offer_id).to_numpy()
        offers.loc[same, "max_servers"] += extra_servers
        lp, mip = _delta(data, base, options, offers=offers)
        scale = 1000 / (extra_servers * cps)
        shared = model.find(RowKey(Family.SUPPLY, item=offer_id))
        dual = duals.get(shared.key, 0.0) if shared is not None else float(reduced[i])
        out.append(_entry(f"extra 1,000 chips of {o['sku'].iat[i]} via {o['channel'].iat[i]} in "
                          f"{data.periods[o['t'].iat[i]]}", f"{unit} per 1,000 chips",
                          dual * extra_servers, lp, mip, scale))
    x = result.x if result.x is not None else np.zeros(model.n_cols)
    last_compute = model.main.compute[-1].value(x)
    last_spend = model.main.commitment.value(x)
    for k, share in enumerate(data.scenario.policy.shares):
        measure_all = last_compute if share.measure == "compute" else last_spend
        dual = 0.0
        for row in model.rows_of(Family.SHARE, share=k):
            frac = share.min if row.key.bound == "min" else share.max
            # g - frac * all (sense) 0: removing the share moves the rhs by frac * all (local)
            sign = 1.0 if row.key.bound == "min" else -1.0
            dual += -sign * duals.get(row.key, 0.0) * (frac or 0.0) * measure_all
        shares = [s for j, s in enumerate(data.scenario.policy.shares) if j != k]
        policy = data.scenario.policy.model_copy(update={"shares": shares})
        moved = data.scenario.model_copy(update={"policy": policy})
        lp, mip = _delta(data, base, options, scenario=moved)
        bound = f">= {share.min:g}" if share.min is not None else f"<= {share.max:g}"
        out.append(_entry(f"dropping the share rule {share.by} {share.value} {share.measure} {bound}",
                          f"{unit} gained", dual, lp, mip))
    return out


def _not_bought(data: ModelData, model: Model, duals: dict[RowKey, float], plan: Plan) -> list[dict[str, Any]]:
    """For each catalog chip the plan does not buy: why not, and at what price it would enter."""
    bought = set(plan.purchases["sku"])
    ex, offers = data.excluded, data.offers
    catalog_offers = data.catalog.offers
    spend_shares = {k for k, s in enumerate(data.scenario.policy.shares) if s.measure == "spend"}
    price_rows = {row.key for row in model.rows
                  if row.key.family in BUDGET_FAMILIES or (row.key.family == Family.SHARE
                                                            and row.key.share in spend_shares)}
    column: dict[int, dict[RowKey, float]] = {}
    for row in model.rows:
        for j, a in zip(row.lin.idx.tolist(), row.lin.coef.tolist(), strict=True):
            column.setdefault(j, {})[row.key] = a
    objective = _goal(model.main).lin.dense(model.n_cols)
    out: list[dict[str, Any]] = []
    for sku in data.catalog.chips.index:
        if sku in bought:
            continue
        mine = ex[ex["sku"] == sku]
        usable = np.flatnonzero((offers["sku"] == sku).to_numpy())
        if sku not in set(catalog_offers["sku"]):
            out.append({"sku": sku, "reason": "no offer in the catalog"})
        elif len(usable) == 0:
            comp = mine[mine["reason"].str.startswith("compliance")]
            if len(comp):
                rules = sorted({r for ids in comp["rule_ids"] for r in ids.split(",") if r})
                status = comp["reason"].iloc[0].removeprefix("compliance: ")
                out.append({"sku": sku, "reason": f"excluded by compliance: {status} for "
                            f"{data.scenario.destination} under {', '.join(rules)}"})
            elif len(mine[mine["reason"].str.startswith("policy")]):
                out.append({"sku": sku, "reason": "excluded by the scenario's policy"})
            elif len(mine[mine["reason"].str.startswith("lead time")]):
                out.append({"sku": sku, "reason": "no usable offer in the horizon: delivered after "
                            f"{data.periods[-1]} (lead time)"})
            else:
                out.append({"sku": sku, "reason": "no offer in the horizon (or less than one server offered)"})
        else:
            best = None
            for i in usable:
                j = int(model.main.cols[i])
                col = column.get(j, {})
                server_price = float(offers["server_price"].iat[i])
                s = sum(duals.get(r, 0.0) * a / server_price for r, a in col.items() if r in price_rows)
                other = sum(duals.get(r, 0.0) * a for r, a in col.items() if r not in price_rows)
                if data.scenario.objective == "max-compute":
                    entry = (objective[j] - other) / s if s > 1e-15 else None
                else:
                    opex = objective[j] - server_price
                    entry = (other - opex) / (1 - s) if 1 - s > 1e-12 else None
                if entry is not None:
                    per_chip = entry / int(offers["chips_per_server"].iat[i])
                    if best is None or per_chip > best[0]:
                        best = (per_chip, float(offers["unit_price_usd"].iat[i]), offers["channel"].iat[i],
                                data.periods[offers["t"].iat[i]])
            if best is None or best[0] <= 0:
                out.append({"sku": sku, "reason": "worse value: no price makes it enter while the other limits "
                            "(power, shares, supply) hold the plan back"})
            else:
                out.append({"sku": sku, "reason": f"worse value: would enter at about ${best[0]:,.0f} per chip "
                            f"(now ${best[1]:,.0f} via {best[2]} in {best[3]})",
                            "entry_price_usd": round(best[0], 2), "price_usd": best[1]})
    return out


def explain_frames(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """The explanation as tables for a workbook's Explain sheets."""
    frames = {"Explain": pd.DataFrame(result.get("marginal", []),
                                      columns=["what", "unit", "dual", "lp_resolved", "milp_resolved"])}
    frames["Explain binding"] = pd.DataFrame(result.get("binding", []),
                                             columns=["family", "constraint", "slack", "binding"])
    frames["Explain not bought"] = pd.DataFrame(result.get("not_bought", []), columns=["sku", "reason"])
    return frames
