"""Why the plan is what it is: binding constraints, marginal values, and chips not bought.

Marginal values come three ways and all are reported. *Dual*: every decision is a whole number
of servers, so fixing the integers leaves no LP to price; the duals come from the LP relaxation
of the model (local: valid while the LP basis holds). *Re-solved*: the limit is moved and the
model solved again at a tight gap, as an LP (agrees with the dual while the basis does not
change) and as the MILP (what the plan would really gain). Relaxing a limit can never lose, and
the MILP can never gain more than the relaxed LP allows: figures past those bounds by solver
tolerance are clamped and flagged "within solver tolerance".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.analyses.training import cluster_asks, plan_solution, training_limits
from planner.inputs.catalog import Catalog
from planner.inputs.scenario import Scenario, check_references, load_scenario
from planner.inputs.tables import records
from planner.model.build import build
from planner.model.choices import Objective
from planner.model.data import Exclusion, ModelData
from planner.model.keys import BUDGET_FAMILIES, Family, RowKey
from planner.model.linear import FloatArray, Sense
from planner.model.resolve import Change, Resolved, Resolver, resolve_options, stage1_goal
from planner.model.rows import Model
from planner.model.runs import SolverOptions
from planner.model.solve import Outcome, optimize
from planner.plans.diagnose import Diagnosis
from planner.plans.limits import at_bound
from planner.plans.plan import catalog_for, solve
from planner.plans.results import Plan

NOTE = (
    "Dual figures come from the LP relaxation (all decisions are whole servers, so the LP with the "
    "integers fixed has nothing left to price); they are local, valid while the LP basis does not change. "
    "Re-solved figures move the limit and solve again at a MIP gap of 1e-6: as an LP (matches the dual while "
    "the basis holds) and as the MILP (what the plan really gains)."
)
SKIP_NOTE = (
    "{n} MILP re-solve(s) skipped (column skipped): relaxing a limit never makes the MILP worse and the "
    "MILP never beats the relaxed LP, so where the LP re-solve exceeds the plan's value by less than the "
    "MILP gap the MILP cannot move by more either; its figure is reported as no change."
)
TIGHT_GAP = 1e-6
#: each re-solve's time limit when the options give none: a MILP at gap 1e-6 can run for hours
#: and take gigabytes (seen on workloads-7b); a re-solve it stops is flagged :data:`UNPROVEN`
RESOLVE_SECONDS = 30.0
UNPROVEN = "the time limit stopped the MILP re-solve before it proved the gap: its best plan so far"
MARGINAL_COLUMNS = ["what", "unit", "dual", "lp_resolved", "milp_resolved", "note", "skipped"]
#: the stage-1 objective's unit, per objective
UNITS = {
    Objective.MAX_COMPUTE: "effective PFLOPS",
    Objective.MAX_TRAINING: "training PFLOPS",
    Objective.MIN_COST: "USD",
}
Progress = Callable[[int], None]


@dataclass
class Explanation:
    """The answer of ``gpuplan explain``, as tables (``to_dict()`` gives its JSON)."""

    scenario: str
    status: str
    objective: str
    unit: str
    limits: list[str]
    notes: list[str] = field(default_factory=lambda: [NOTE])
    binding: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["family", "constraint", "slack", "binding"])
    )
    marginal: pd.DataFrame | None = None
    not_bought: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sku", "reason"]))
    diagnosis: Diagnosis | None = None
    #: per quarter with a cluster size, place and family that can train there: the plan's clusters
    #: and what holds them (None: no training target, and no ``training`` key in the JSON)
    training: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        """The explanation in a notebook: headline, limits, then marginal values, binding rows and chips not bought."""
        from html import escape

        parts = [f"<h4>{escape(self.scenario)}: {escape(self.status)}, {escape(self.objective)}</h4>"]
        if (line := self.headline()) is not None:
            parts.append(f"<p>{escape(line)}</p>")
        if self.limits:
            parts.append("<ul>" + "".join(f"<li>{escape(limit)}</li>" for limit in self.limits) + "</ul>")
        binding = self.binding[self.binding["binding"].astype(bool)] if len(self.binding) else self.binding
        for title, frame in (
            ("Marginal values", self.marginal),
            ("What limits training", self.training),
            ("Constraints the plan sits on", binding),
            ("Chips not bought", self.not_bought),
        ):
            if frame is not None and len(frame):
                parts.append(f"<h5>{title}</h5>" + frame.to_html(index=False, escape=True, na_rep="-"))
        return "".join(parts)

    def headline(self) -> str | None:
        """The "next $1B buys ..." sentence from the re-solved MILP, when the budget was moved."""
        if self.marginal is None or not len(self.marginal):
            return None
        first = self.marginal.iloc[0]
        if (
            not str(first["what"]).startswith("extra $1B")
            or first["milp_resolved"] is None
            or pd.isna(first["milp_resolved"])
        ):
            return None
        unit = str(first["unit"]).split(" per")[0]
        if Objective(self.objective).maximizes:
            return (
                f"The next $1B buys {first['milp_resolved']:,.1f} {unit} "
                f"(dual estimate {first['dual']:,.1f})."
            )
        return f"The next $1B changes the cost by ${first['milp_resolved']:,.0f} (dual estimate ${first['dual']:,.0f})."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: scalars as they are, tables as lists of records."""

        def rows(df: pd.DataFrame | None) -> list[dict[str, Any]]:
            if df is None:
                return []
            out = []
            for r in records(df):
                out.append(
                    {
                        k: (
                            None
                            if isinstance(v, float) and math.isnan(v)
                            else round(v, 6) + 0.0
                            if isinstance(v, float)
                            else v
                        )
                        for k, v in r.items()
                    }
                )
            return out

        out: dict[str, Any] = {
            "scenario": self.scenario,
            "status": self.status,
            "objective": self.objective,
            "unit": self.unit,
            "notes": self.notes,
            "limits": self.limits,
        }
        if self.marginal is None:
            out["diagnosis"] = self.diagnosis.to_json() if self.diagnosis is not None else None
            return out
        out["binding"] = rows(self.binding)
        out["marginal"] = rows(self.marginal)
        out["not_bought"] = [{k: v for k, v in r.items() if v is not None} for r in rows(self.not_bought)]
        if self.training is not None:
            out["training"] = rows(self.training)
        return out

    def frames(self) -> dict[str, pd.DataFrame]:
        """The explanation as tables for a workbook's Explain sheets."""
        marginal = self.marginal if self.marginal is not None else pd.DataFrame(columns=MARGINAL_COLUMNS)
        out = {"Explain": marginal, "Explain binding": self.binding, "Explain not bought": self.not_bought}
        if self.training is not None:
            out["Explain training"] = self.training
        return out


def _stage1(data: ModelData, options: SolverOptions, mip: bool) -> tuple[float | None, Model, Outcome]:
    """Solve the first-stage objective as a MILP or as its LP relaxation."""
    model = build(data)
    result = optimize(model, stage1_goal(model), options, mip=mip)
    return result.value, model, result


def _duals(model: Model, result: Outcome) -> dict[RowKey, float]:
    """D objective / d rhs in the objective's own sense, by row."""
    if result.row_duals is None:
        return {}
    return {row.key: float(result.row_duals[row.index]) for row in model.rows}


def _reduced(model: Model, result: Outcome) -> FloatArray:
    """Reduced cost per usable option (in the objective's own sense)."""
    if result.col_duals is None:
        return np.zeros(len(model.main.cols))
    return np.asarray(result.col_duals[model.main.cols], dtype=np.float64)


#: makes a marginal row from the (LP, MILP) change, a note and why the MILP was skipped; None: no row
Make = Callable[[float | None, float | None, str, str], "dict[str, Any] | None"]
#: a :data:`Make` that always makes a row
Entry = Callable[[float | None, float | None, str, str], dict[str, Any]]


@dataclass
class _Context:
    """The plan's stage-1 values and the re-solves asked for, run together by :meth:`run`."""

    data: ModelData
    options: SolverOptions
    base: tuple[float | None, float | None]  # (LP, MILP) stage-1 values
    progress: Progress | None
    asks: list[tuple[Change, Make]] = field(default_factory=list)

    @property
    def sense(self) -> Sense:
        return Sense.MAXIMIZE if self.data.scenario.objective.maximizes else Sense.MINIMIZE

    def ask(self, make: Make, relaxes: bool = True, **changes: Any) -> None:
        """Re-solve with the data changed; ``make`` turns the change of the objective into a row."""
        self.asks.append((Change(changes, relaxes), make))

    def run(self, workers: int | None = None) -> list[dict[str, Any]]:
        """Every re-solve asked for (in parallel), and the rows they make, in the order asked."""
        from planner.analyses.parallel import cpus, usable_jobs

        threads = usable_jobs(workers or cpus())
        resolver = Resolver(self.data, self.options, self.base[1], self.sense, threads)
        progress = self.progress

        def step() -> None:
            if progress:
                progress(2)  # two readings (LP and MILP) per limit

        results = resolver.resolve_all([c for c, _ in self.asks], step)
        out = []
        for (change, make), result in zip(self.asks, results, strict=True):
            lp, mip, note = self.delta(result, change.relaxes)
            if result.unproven:
                note = "; ".join(n for n in (note, UNPROVEN) if n)
            row = make(lp, mip, note, result.skipped)
            if row is not None:
                out.append(row)
        return out

    def delta(self, result: Resolved, relaxes: bool) -> tuple[float | None, float | None, str]:
        """(LP, MILP) change of the stage-1 objective, clamped to what the change can do, with a note when clamped.

        A relaxation never makes either worse, and its MILP never beats the relaxed LP; a
        restriction (options removed) never makes either better.
        """
        (lp_old, mip_old), lp_new, mip_new = self.base, result.lp, result.mip
        if lp_old is None or mip_old is None or lp_new is None or mip_new is None:
            return None, None, "no plan after the change"
        sign = 1.0 if self.sense == Sense.MAXIMIZE else -1.0  # gains are positive in this sign
        tol = 10 * self.options.mip_gap * max(abs(mip_old), 1.0) + 1e-6
        if not relaxes:
            lp_loss, mip_loss, note = sign * (lp_old - lp_new), sign * (mip_old - mip_new), ""
            if lp_loss < 0:
                lp_loss, note = (
                    0.0,
                    "within solver tolerance"
                    if -lp_loss <= tol
                    else "restricted LP gained (check the model)",
                )
            if mip_loss < 0 and -mip_loss <= tol:
                mip_loss, note = 0.0, "within solver tolerance"
            return -sign * lp_loss, -sign * mip_loss, note
        lp, mip = sign * (lp_new - lp_old), sign * (mip_new - mip_old)
        bound = sign * (lp_new - mip_old)  # the MILP cannot beat the relaxed LP
        note = ""
        if lp < 0:
            lp, note = 0.0, "within solver tolerance" if -lp <= tol else "relaxed LP lost (check the model)"
        if mip < 0 and -mip <= tol:
            mip, note = 0.0, "within solver tolerance"
        if mip > bound and mip - bound <= tol:
            mip, note = bound, "within solver tolerance"
        return sign * lp, sign * mip, note


def binding(plan: Plan) -> pd.DataFrame:
    """Every constraint of the solved plan with its slack in the user's units; supply caps of offers bought out are listed too."""
    data = plan.data
    assert data is not None and plan.servers is not None
    model = build(data)
    x = plan_solution(plan, model)
    bounds = np.asarray(model.col_lower), np.asarray(model.col_upper)
    out = []
    for row in model.rows:
        out.append(
            {
                "family": row.key.family.value,
                "constraint": row.description,
                "slack": round(row.slack(x), 6) + 0.0,
                "binding": at_bound(row, x, *bounds),  # the one test the plan's limits use
            }
        )
    o = data.offers
    taken = pd.Series(plan.servers, index=o.index).groupby(o["offer_id"]).transform("sum").to_numpy()
    recs = records(o)
    for i in np.flatnonzero((taken >= o["max_servers"].to_numpy()) & ~o["offer_id"].duplicated().to_numpy()):
        r = recs[int(i)]
        out.append(
            {
                "family": "supply",
                "constraint": f"{r['sku']} {r['kind']} via {r['channel']} in {data.periods[int(r['t'])]}: "
                f"{int(r['max_units']):,} chips offered",
                "slack": 0.0,
                "binding": True,
            }
        )
    return pd.DataFrame(out, columns=["family", "constraint", "slack", "binding"])


def explain(
    scenario: Scenario | str | Path,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    progress: Progress | None = None,
) -> Explanation:
    """Solve the scenario and explain the plan (see the module docstring)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = SolverOptions.of(options)
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    return explain_plan(solve(scenario, cat, options), options, progress)


def explain_plan(
    plan: Plan,
    options: SolverOptions | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Explanation:
    """The explanation of a solved plan: binding constraints, marginal values, chips not bought.

    The re-solves run on ``workers`` threads (default: one per CPU; HiGHS only, CBC runs them one
    by one).
    """
    assert plan.data is not None
    options = SolverOptions.of(options)
    scenario = plan.data.scenario
    out = Explanation(scenario.name, plan.status, scenario.objective, UNITS[scenario.objective], plan.limits)
    if not plan.ok:
        out.diagnosis = plan.diagnosis
        return out
    data = plan.data
    tight = replace(options, mip_gap=min(options.mip_gap, TIGHT_GAP))
    lp_value, lp_model, lp_result = _stage1(data, tight, mip=False)
    mip_value, _, _ = _stage1(data, resolve_options(tight), mip=True)
    limit = options.time_limit if options.time_limit is not None else RESOLVE_SECONDS
    ctx = _Context(data, replace(tight, time_limit=limit), (lp_value, mip_value), progress)
    duals, reduced = _duals(lp_model, lp_result), _reduced(lp_model, lp_result)
    out.binding = binding(plan)
    if len(lp_model.main.workloads.clusters):
        out.training = training_limits(plan, lp_model)
    out.marginal = pd.DataFrame(
        _marginals(ctx, lp_model, lp_result, duals, reduced, plan, workers), columns=MARGINAL_COLUMNS
    )
    skipped = int((out.marginal["skipped"] != "").sum())
    if skipped:
        out.notes = [*out.notes, SKIP_NOTE.format(n=skipped)]
    out.not_bought = pd.DataFrame(
        _not_bought(data, lp_model, duals, plan), columns=["sku", "reason", "entry_price_usd", "price_usd"]
    )
    return out


def marginal_steps(data: ModelData, plan: Plan) -> int:
    """How many re-solves :func:`explain_plan` makes (for a progress bar)."""
    caps = sum(c is not None for s in data.sites for c in s.caps)
    o = data.offers
    out = 0
    if plan.servers is not None and len(o):
        taken = pd.Series(plan.servers, index=o.index).groupby(o["offer_id"]).sum()
        first = o.drop_duplicates("offer_id").set_index("offer_id")["max_servers"]
        out = int((taken.reindex(first.index).to_numpy() >= first.to_numpy()).sum())
    budget = data.total_budget is not None or data.budget_per_period is not None
    leases = bool(len(o)) and bool((o["kind"] == "lease").any())
    training = any(t.training is not None for t in data.scenario.targets.values())
    clusters = len(cluster_asks(plan, build(data))) if training and plan.servers is not None else 0
    return 2 * (int(budget) + caps + out + len(data.scenario.policy.shares) + int(leases) + clusters)


def _entry(
    what: str,
    unit: str,
    dual: float | None,
    scale: float = 1.0,
) -> Entry:
    """The row maker for one limit: its words, unit and dual; the re-solve fills the rest."""

    def r(x: float | None) -> float | None:
        return None if x is None else round(x * scale, 6) + 0.0  # + 0.0 turns -0.0 into 0.0

    def make(lp: float | None, mip: float | None, note: str, skipped: str) -> dict[str, Any]:
        return {
            "what": what,
            "unit": unit,
            "dual": r(dual),
            "lp_resolved": r(lp),
            "milp_resolved": r(mip),
            "note": note,
            "skipped": skipped,
        }

    return make


def _marginals(
    ctx: _Context,
    model: Model,
    result: Outcome,
    duals: dict[RowKey, float],
    reduced: FloatArray,
    plan: Plan,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """What one more unit of each limit buys: budget, site power, sold-out offers, shares, leases."""
    unit = {
        Objective.MAX_COMPUTE: "PFLOPS",
        Objective.MAX_TRAINING: "training PFLOPS",
        Objective.MIN_COST: "USD of cost",
    }[ctx.data.scenario.objective]
    _budget_marginal(ctx, model, duals, unit)
    _power_marginals(ctx, model, duals, plan, unit)
    _supply_marginals(ctx, model, duals, reduced, plan, unit)
    _share_marginals(ctx, model, result, duals, unit)
    _lease_marginal(ctx, unit)
    _cluster_marginals(ctx, model, plan, unit)
    return ctx.run(workers)


def _budget_marginal(ctx: _Context, model: Model, duals: dict[RowKey, float], unit: str) -> None:
    data = ctx.data
    step = 1e9
    if data.total_budget is None and data.budget_per_period is None:
        return
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
    what = "extra $1B of total budget (per-quarter budgets scaled in proportion)"
    ctx.ask(_entry(what, f"{unit} per $1B", dual), **changes)


def _power_marginals(ctx: _Context, model: Model, duals: dict[RowKey, float], plan: Plan, unit: str) -> None:
    data = ctx.data
    for k, site in enumerate(data.sites):
        for p, name in enumerate(data.periods):
            cap = site.caps[p]
            if cap is None:
                continue
            caps = list(site.caps)
            caps[p] = cap + 1.0
            sites = [replace(s, caps=caps) if j == k else s for j, s in enumerate(data.sites)]
            dual = duals.get(model.row(Family.POWER, period=name, site=site.name).key, 0.0)
            where = f"at {site.name} " if len(data.sites) > 1 else "of site power "
            entry = _entry(f"extra MW {where}in {name}", f"{unit} per MW", dual)

            def make(
                lp: float | None,
                mip: float | None,
                note: str,
                skipped: str,
                entry: Entry = entry,
                dual: float = dual,
            ) -> dict[str, Any] | None:
                if plan.servers is not None and (mip is None or abs(mip) < 1e-9) and abs(dual) < 1e-9:
                    return None  # a cap with room: no value, no row
                return entry(lp, mip, note, skipped)

            ctx.ask(make, sites=sites)


def _supply_marginals(
    ctx: _Context, model: Model, duals: dict[RowKey, float], reduced: FloatArray, plan: Plan, unit: str
) -> None:
    data = ctx.data
    o = data.offers
    assert plan.servers is not None
    taken = pd.Series(plan.servers, index=o.index).groupby(o["offer_id"]).transform("sum").to_numpy()
    seen: set[int] = set()
    recs = records(o)
    for i in np.flatnonzero(taken >= o["max_servers"].to_numpy()).tolist():
        r = recs[i]
        offer_id = int(r["offer_id"])
        if offer_id in seen:
            continue
        seen.add(offer_id)
        cps = int(r["chips_per_server"])
        extra_servers = math.ceil(1000 / cps)
        offers = o.copy()
        same = (offers["offer_id"] == offer_id).to_numpy()
        offers.loc[same, "max_servers"] += extra_servers
        scale = 1000 / (extra_servers * cps)
        shared = model.find(RowKey(Family.SUPPLY, item=offer_id))
        dual = duals.get(shared.key, 0.0) if shared is not None else float(reduced[i])
        what = (
            f"extra 1,000 chips of {r['sku']} {r['kind']} via {r['channel']} in {data.periods[int(r['t'])]}"
        )
        ctx.ask(_entry(what, f"{unit} per 1,000 chips", dual * extra_servers, scale), offers=offers)


def _share_marginals(
    ctx: _Context, model: Model, result: Outcome, duals: dict[RowKey, float], unit: str
) -> None:
    data = ctx.data
    last_compute = model.main.compute[-1].value(result.x) if result.x is not None else 0.0
    last_spend = model.main.commitment.value(result.x) if result.x is not None else 0.0
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
        bound = f">= {share.min:g}" if share.min is not None else f"<= {share.max:g}"
        scope = f" within {share.within.by} {share.within.value}" if share.within is not None else ""
        what = f"dropping the share rule {share.by} {share.value} {share.measure}{scope} {bound}"
        ctx.ask(_entry(what, f"{unit} gained", dual), scenario=moved)


def _lease_marginal(ctx: _Context, unit: str) -> None:
    o = ctx.data.offers
    leases = (o["kind"] == "lease").to_numpy() if len(o) else np.zeros(0, dtype=bool)
    if not leases.any():
        return
    entry = _entry("the lease channel (every lease offer)", f"{unit} it brings", None)

    def make(lp: float | None, mip: float | None, note: str, skipped: str) -> dict[str, Any]:
        # dropping the channel loses what it brings
        return entry(None if lp is None else -lp, None if mip is None else -mip, note, skipped)

    ctx.ask(make, relaxes=False, offers=o[~leases].reset_index(drop=True))


def _cluster_marginals(ctx: _Context, model: Model, plan: Plan, unit: str) -> None:
    """What one more whole cluster of a family at a place costs: re-solved with at least that many clusters.

    A restriction (the plan's objective can only lose), so no MILP is skipped and there is no dual.
    """
    data = ctx.data
    for p, place, family, size, n in cluster_asks(plan, model):
        what = f"one more {family} cluster ({size:,} chips) at {place} in {data.periods[p]}"
        floor = (*data.cluster_floor, (p, place, family, n + 1))
        ctx.ask(_entry(what, f"{unit} per cluster", None), relaxes=False, cluster_floor=floor)


def _not_bought(
    data: ModelData, model: Model, duals: dict[RowKey, float], plan: Plan
) -> list[dict[str, Any]]:
    """For each catalog chip the plan does not buy: why not (per site where it differs), and at what price it would enter."""
    bought = set(plan.purchases["sku"])
    ex, offers = data.excluded, data.offers
    catalog_skus = set(data.catalog.offers["sku"])
    spend_shares = {k for k, s in enumerate(data.scenario.policy.shares) if s.measure == "spend"}
    price_rows = {
        row.key
        for row in model.rows
        if row.key.family in BUDGET_FAMILIES
        or (row.key.family == Family.SHARE and row.key.share in spend_shares)
    }
    column: dict[int, dict[RowKey, float]] = {}
    for row in model.rows:
        for j, a in zip(row.lin.idx.tolist(), row.lin.coef.tolist(), strict=True):
            column.setdefault(j, {})[row.key] = a
    objective = stage1_goal(model).lin.dense(model.n_cols)
    out: list[dict[str, Any]] = []
    for sku in data.catalog.chips.index:
        if sku in bought:
            continue
        mine = ex[ex["sku"] == sku]
        usable = (
            np.flatnonzero((offers["sku"] == sku).to_numpy()) if len(offers) else np.zeros(0, dtype=np.int64)
        )
        if sku not in catalog_skus:
            out.append({"sku": sku, "reason": "no offer in the catalog"})
        elif len(usable) == 0:
            out.append({"sku": sku, "reason": _why_unusable(data, mine)})
        else:
            out.append(_worse_value(data, model, duals, sku, usable, price_rows, column, objective))
    return out


def _why_unusable(data: ModelData, mine: pd.DataFrame) -> str:
    """Why no offer of a chip is usable: compliance (status and rules, per country), ships_to, policy, lead time or the horizon."""
    reasons = []
    comp = mine[mine["cause"] == Exclusion.COMPLIANCE]
    for country, group in comp.groupby("country", sort=True):
        statuses = sorted(set(group["status"]))
        rules = sorted({r for ids in group["rule_ids"] for r in ids.split(",") if r})
        reasons.append(f"{' or '.join(statuses)} in {country} under {', '.join(rules)}")
    if reasons:
        return "excluded by compliance: " + "; ".join(reasons)
    for cause, text in (
        (Exclusion.POLICY, "excluded by the scenario's policy"),
        (Exclusion.SHIPS_TO, None),
        (
            Exclusion.LEAD_TIME,
            f"no usable offer in the horizon: delivered after {data.periods[-1]} (lead time)",
        ),
        (Exclusion.NO_LEASES, "lease offers only; a scenario in the destination form has no leases"),
    ):
        hit = mine[mine["cause"] == cause]
        if len(hit):
            return text or f"no site it can ship to ({hit['reason'].iloc[0]})"
    return "no offer in the horizon (or less than one server offered)"


def _worse_value(
    data: ModelData,
    model: Model,
    duals: dict[RowKey, float],
    sku: str,
    usable: Any,
    price_rows: set[RowKey],
    column: dict[int, dict[RowKey, float]],
    objective: FloatArray,
) -> dict[str, Any]:
    """The price at which the chip's best option would enter, from the LP duals."""
    recs = records(data.offers)
    best = None
    for i in usable:
        r = recs[int(i)]
        j = int(model.main.cols[i])
        col = column.get(j, {})
        server_price = float(r["server_price"])
        lease = r["kind"] == "lease"
        m = float(r["term"]) if lease else 1.0
        s = sum(duals.get(r, 0.0) * a / server_price for r, a in col.items() if r in price_rows)
        other = sum(duals.get(r, 0.0) * a for r, a in col.items() if r not in price_rows)
        if data.scenario.objective.maximizes:
            entry = (objective[j] - other) / s if s > 1e-15 else None
        else:
            opex = objective[j] - server_price * m
            entry = (other - opex) / (m - s) if m - s > 1e-12 else None
        if entry is not None:
            per_chip = entry / int(r["chips_per_server"])
            if best is None or per_chip > best[0]:
                best = (
                    per_chip,
                    float(r["price"]),
                    str(r["channel"]),
                    data.periods[int(r["t"])],
                    "/quarter" if lease else "",
                    str(r["country"] if lease else r["site"]),
                )
    if best is None or best[0] <= 0:
        return {
            "sku": sku,
            "reason": "worse value: no price makes it enter while the other limits "
            "(power, shares, supply) hold the plan back",
        }
    return {
        "sku": sku,
        "reason": f"worse value: would enter at about ${best[0]:,.0f}{best[4]} per chip "
        f"(now ${best[1]:,.0f}{best[4]} via {best[2]} in {best[3]} at {best[5]})",
        "entry_price_usd": round(best[0], 2),
        "price_usd": best[1],
    }
