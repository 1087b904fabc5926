"""Stress tests against shocks, and robust plans that hold up under every listed shock.

``stress``: solve the base plan; for each shock keep the orders placed before its date
(committed and paid), re-plan the rest under the shock, and report compute lost or extra
cost, targets missed, stranded spend (committed orders that can no longer be delivered)
and the recovery purchases.

``robust``: one model with a branch per shock plus the no-shock branch. Orders placed
before a shock's date are the same in that shock's branch and in the base branch
(non-anticipativity); later orders may differ. Every branch must meet every constraint.
The objective is the base branch's, or the expected one when shocks have probabilities.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.analyses.exposure import (
    Exposure,
    OrderChange,
    PlanFigures,
    QuarterCompute,
    RobustFigures,
    StrandedOrder,
    StressResult,
)
from planner.inputs.catalog import Catalog
from planner.inputs.scenario import Scenario, check_plain_objective, check_references, load_scenario
from planner.inputs.shocks import (
    Committed,
    Shock,
    Shocked,
    ShockFile,
    apply,
    check_shock_references,
    fixed,
    load_shocks,
)
from planner.inputs.tables import records
from planner.inputs.units import quarter_end, quarter_start
from planner.model.build import Coefficients, add_scenario, define_branch_budget_cut, define_nonanticipativity
from planner.model.choices import Objective
from planner.model.data import OPTION_ORDER, EfficiencyChange, ModelData, prepare
from planner.model.linear import FloatArray, Lin, Sense
from planner.model.rows import Model, Part
from planner.model.runs import SolverOptions
from planner.model.solve import Goal, optimize
from planner.plans.plan import catalog_for, empty_plan, plan_from_servers, solve_data
from planner.plans.results import Plan, purchase_json
from planner.plans.robust import PriceOfRobustness, RobustBranch, RobustInfo
from planner.rules import compliance

KEY = ["offer_id", "site_index"]


def _keys(data: ModelData) -> list[tuple[int, int]]:
    return list(data.offers[KEY].itertuples(index=False, name=None))


def branch_data(
    shocked: Shocked, committed: dict[tuple[int, int], int] | None = None
) -> tuple[ModelData, npt.NDArray[np.bool_]]:
    """Model data for a shock branch, and the mask of its stranded options.

    Options ordered (or leases signed) before the shock are those the old rules allowed; the
    rest are re-derived under the shock. Stranded: a purchase ordered before the shock,
    delivered in a quarter that starts on or after it, whose status over its window under the
    shocked rules is no longer allowed (paid for, never delivered: no compute, memory or
    power); a lease signed before the shock that a shocked rule covers (``applies_to: [lease]``)
    serves nothing from the shock on, but is paid to its end. With ``committed`` (servers by
    option key) the orders placed before the shock are fixed.
    """
    post = prepare(shocked.scenario, shocked.catalog)
    # only a rule shock changes the rules the committed orders were placed under
    pre = prepare(shocked.scenario, shocked.before) if shocked.shock.rule is not None else post
    data, stranded = reopen(pre, post, shocked.catalog, shocked.first, shocked.shock.starts, committed)
    return replace(data, efficiency=efficiency_change(shocked, data)), stranded


def efficiency_change(shocked: Shocked, data: ModelData) -> EfficiencyChange | None:
    """The shock's change of effective compute per chip (None when it has none)."""
    effect = shocked.shock.efficiency
    if effect is None:
        return None
    chips = shocked.catalog.chips

    def hit(skus: pd.Series) -> npt.NDArray[np.float64]:
        match = skus.map(chips[effect.by]) == effect.value if effect.by != "sku" else skus == effect.value
        return np.where(match.to_numpy(), fixed(effect.factor), 1.0)

    return EfficiencyChange(shocked.first, hit(data.offers["sku"]), hit(data.fleet["sku"]))


def reopen(
    pre: ModelData,
    post: ModelData,
    catalog: Catalog,
    first: int,
    day: dt.date,
    committed: dict[tuple[int, int], int] | None = None,
) -> tuple[ModelData, npt.NDArray[np.bool_]]:
    """Model data whose quarters before ``first`` keep the options of ``pre`` and the rest those of ``post``, and the mask of stranded options.

    ``catalog`` holds the rules from ``day`` on (the shock's, or a re-plan's new catalog); with
    ``committed`` (servers by option key) the options before ``first`` are fixed.
    """
    early = pre.offers[(pre.offers["t"] < first).to_numpy()]
    late = post.offers[(post.offers["t"] >= first).to_numpy()]
    o = pd.concat([early, late]).sort_values(OPTION_ORDER, kind="stable").reset_index(drop=True)
    start = post.scenario.period_index[0]
    excluded = pd.concat(
        [
            pre.excluded[(pre.excluded["period_index"] - start < first).to_numpy()],
            post.excluded[(post.excluded["period_index"] - start >= first).to_numpy()],
        ]
    )
    data = replace(post, offers=o, excluded=excluded.reset_index(drop=True))
    allowed = {"allowed", "license-required"} if post.scenario.policy.allow_license_required else {"allowed"}
    before = (o["t"] < first).to_numpy()
    stranded = np.zeros(len(o), dtype=bool)
    rules = catalog.compiled
    records = o.to_dict("records")
    for i in np.flatnonzero(before).tolist():
        rec = records[i]
        serves_from = quarter_start(start + int(rec["d"]))
        if serves_from >= day:
            verdict = catalog.judged.offer(
                rec["sku"],
                rec["country"],
                data.headquarters,
                rec["kind"],
                int(rec["period_index"]),
                int(rec["lead_time_quarters"]),
                int(rec["term"]) or None,
                data.sites[int(rec["site_index"])].tags if rec["kind"] == "buy" else frozenset(),
            ).verdict
            stranded[i] = verdict.status not in allowed
        elif rec["kind"] == "lease" and rec["end"] >= first:  # serving when the shock comes
            last = quarter_end(start + int(rec["end"]))
            status = compliance.window_status(
                catalog.chip(rec["sku"]),
                rec["country"],
                day,
                last,
                rules,
                data.headquarters,
                "lease",
                catalog.judged.matching(rec["sku"]),
            ).status
            if status not in allowed:
                o.loc[i, "stop"] = first - 1
    lease = (o["kind"] == "lease").to_numpy()
    o.loc[stranded & ~lease, "q"] = 0.0
    o.loc[stranded & ~lease, "power_mw"] = 0.0
    o.loc[stranded & lease, "stop"] = o.loc[stranded & lease, "d"] - 1
    pinned = None
    if committed is not None:
        pinned = np.where(before, [committed.get(k, 0) for k in _keys(data)], np.nan)
        o.loc[before, "max_servers"] = np.maximum(o.loc[before, "max_servers"], pinned[before]).astype(
            np.int64
        )
    return (
        replace(data, offers=o, fixed=pinned),
        stranded | (o["stop"] < o["end"]).to_numpy() & lease,
    )


def _committed(plan: Plan) -> dict[tuple[int, int], int]:
    assert plan.data is not None and plan.servers is not None
    return {k: int(s) for k, s in zip(_keys(plan.data), plan.servers) if s > 0}


def _committed_spend(plan: Plan, first: int) -> Committed:
    """Purchases ordered and lease commitments signed before quarter ``first``, in the budget currency: in all, and what falls due in each quarter."""
    assert plan.data is not None and plan.servers is not None
    c = Coefficients.of(plan.data)
    early = (plan.servers * (c.t < first)).astype(np.float64)
    fx = plan.data.finance.fx
    return Committed(
        float(early @ c.budget_paid()),
        tuple(float(early @ (fx[p] * c.pay_at(p))) for p in range(plan.data.horizon)),
    )


@dataclass
class Step:
    """One re-plan after a shock: the plan after it, and what the committed orders strand."""

    data: ModelData  # the branch's data (committed orders fixed)
    after: Plan  # the re-planned plan (no purchases when none exists)
    committed: npt.NDArray[np.int64]  # servers per option ordered before the shock
    stranded_cost: npt.NDArray[np.float64]  # per option: paid for, never delivered (or served)

    @property
    def stranded_usd(self) -> float:
        """Spend on committed orders the shock strands."""
        return float(self.stranded_cost.sum())

    def committed_only(self) -> Plan:
        """The plan when no recovery exists: the committed orders and nothing more."""
        return plan_from_servers(self.data, self.committed, self.after.status)


def held_servers(data: ModelData) -> npt.NDArray[np.int64]:
    """Servers per option already ordered and kept (``data.fixed``; 0 where nothing is fixed)."""
    return np.nan_to_num(data.fixed if data.fixed is not None else np.zeros(len(data.offers))).astype(
        np.int64
    )


def stranded_cost(
    data: ModelData, held: npt.NDArray[np.int64], stranded: npt.NDArray[np.bool_]
) -> FloatArray:
    """USD per option of held orders that can no longer serve: a purchase's price, a lease's payments for the quarters it is cut short."""
    c = Coefficients.of(data)
    cost: FloatArray = held * c.price * np.where(c.lease, c.unserved_quarters(), 1) * stranded
    return cost


def replan_step(plan: Plan, shocked: Shocked, options: SolverOptions, limits: bool = True) -> Step:
    """Keep the orders ``plan`` placed before the shock and re-plan the rest under it (``limits=False``: the re-plan without its binding limits)."""
    data, stranded = branch_data(shocked, _committed(plan))
    after = solve_data(data, options, limits=limits)
    committed = held_servers(data)
    return Step(data, after, committed, stranded_cost(data, committed, stranded))


def replan(plan: Plan, shocked: Shocked, options: SolverOptions) -> Exposure:
    """The plan after the shock: committed orders kept, the rest re-planned."""
    step = replan_step(plan, shocked, options)
    data, after, committed, stranded_cost = step.data, step.after, step.committed, step.stranded_cost
    o = data.offers
    base_t, new_t = plan.totals, after.totals
    shortfalls = after.diagnosis.shortfalls if after.diagnosis is not None else ()
    return Exposure(
        shock=shocked.shock.name,
        description=shocked.shock.describe(),
        first_open_quarter=data.periods[shocked.first] if shocked.first < data.horizon else None,
        probability=shocked.shock.probability,
        status=after.status,
        effective_pflops=new_t["effective_pflops"] if after.ok else None,
        compute_lost_pflops=base_t["effective_pflops"] - new_t["effective_pflops"] if after.ok else None,
        extra_cost_usd=total_cost(new_t) - total_cost(base_t) if after.ok else None,
        stranded_usd=float(stranded_cost.sum()),
        stranded=tuple(
            StrandedOrder(
                order_period=data.periods[int(rec["t"])],
                sku=rec["sku"],
                channel=rec["channel"],
                kind=rec["kind"],
                site=rec["site"],
                chips=int(committed[i] * rec["chips_per_server"]),
                cost_usd=float(stranded_cost[i]),
            )
            for i, rec in ((int(i), o.iloc[int(i)].to_dict()) for i in np.flatnonzero(stranded_cost > 0))
        ),
        targets_missed=len(shortfalls) if not after.ok else 0,
        changes=tuple(changed_orders(plan, after, shocked.first)) if after.ok else (),
        periods=quarters(after) if after.ok else (),
        diagnosis=after.diagnosis,
    )


def quarters(plan: Plan) -> tuple[QuarterCompute, ...]:
    """The plan's effective PFLOPS per quarter."""
    return tuple(
        QuarterCompute(str(p), float(x))
        for p, x in zip(plan.periods["period"], plan.periods["effective_pflops"], strict=True)
    )


LINE_KEY = ["order_period", "sku", "channel", "kind", "site", "country", "term_quarters"]


def changed_orders(before: Plan, after: Plan, first: int) -> list[OrderChange]:
    """What the re-plan changes in the orders it may change (those from quarter ``first`` on): lines ``added``, ``removed`` or ``changed`` (chips before and after)."""
    assert before.data is not None
    periods = before.data.periods[first:]

    def lines(plan: Plan) -> dict[tuple[Any, ...], int]:
        p = plan.purchases
        p = p[p["order_period"].isin(periods)]
        out: dict[tuple[Any, ...], int] = {}
        for r in p.to_dict("records"):
            key = tuple(None if isinstance(r[k], float) and np.isnan(r[k]) else r[k] for k in LINE_KEY)
            out[key] = out.get(key, 0) + int(r["chips"])
        return out

    old, new = lines(before), lines(after)
    changes = []
    for key in sorted(set(old) | set(new), key=lambda k: tuple("" if v is None else str(v) for v in k)):
        a, b = old.get(key, 0), new.get(key, 0)
        if a == b:
            continue
        rec = dict(zip(LINE_KEY, key, strict=True))
        where = rec["site"] if rec["kind"] == "buy" else rec["country"]
        changes.append(
            OrderChange(
                change="added" if a == 0 else "removed" if b == 0 else "changed",
                order_period=rec["order_period"],
                sku=rec["sku"],
                channel=rec["channel"],
                kind=rec["kind"],
                where=where,
                chips_before=a,
                chips_after=b,
            )
        )
    return changes


def total_cost(totals: dict[str, float]) -> float:
    """The contract's cost: capex, lease commitments and electricity (section 3), or the discounted cost of section 6 when the plan has one."""
    if "cost_usd" in totals:
        return totals["cost_usd"]
    return totals["capex_usd"] + totals.get("lease_usd", 0.0) + totals["opex_usd"]


@dataclass
class RobustPlan:
    """A plan hedged against shocks: the base branch and one branch per shock."""

    plan: Plan  # the base (no-shock) branch
    branches: dict[str, Plan] = field(default_factory=dict)  # shock name -> that branch's plan
    first: dict[str, int] = field(default_factory=dict)  # shock name -> first open quarter
    status: str = "optimal"


def robust(scenario: Scenario, shocks: ShockFile, catalog: Catalog, options: SolverOptions) -> RobustPlan:
    """One plan that stays feasible under every shock (see the module docstring)."""
    shocks.check_alternatives(shocks.source or "shocks")
    base_data = prepare(scenario, catalog)
    model = Model()
    base_part = add_scenario(model, base_data, branch="b0")
    parts: list[Part] = []
    shocked_list = []
    for k, shock in enumerate(shocks.shocks, start=1):
        shocked = apply(shock, scenario, catalog)
        if shock.budget_cut is not None:  # the unspent total is cut: a row of its own, below
            budget = shocked.scenario.budget.model_copy(update={"total_usd": scenario.budget.total_usd})
            shocked = replace(shocked, scenario=shocked.scenario.model_copy(update={"budget": budget}))
        data, _ = branch_data(shocked)
        part = add_scenario(model, data, branch=f"b{k}")
        define_nonanticipativity(model, base_part, part, shocked.first)
        if shock.budget_cut is not None and scenario.budget.total_usd is not None:
            define_branch_budget_cut(
                model, part, fixed(shock.budget_cut.fraction), shocked.first, scenario.budget.total_usd
            )
        parts.append(part)
        shocked_list.append(shocked)
    probs = [s.probability for s in shocks.shocks]
    expected = any(p is not None for p in probs)
    weights = (
        ([1 - sum(p or 0.0 for p in probs)] + [p or 0.0 for p in probs])
        if expected
        else [1.0] + [0.0] * len(shocks.shocks)
    )
    every = [base_part, *parts]
    # stage 1: the (expected) objective; stage 2: at that value, the least cost over all branches,
    # which also pins down the branches' recovery orders
    total_cost = Lin.total([p.cost for p in every])
    if scenario.objective == Objective.MAX_COMPUTE:
        goal = Goal(Sense.MAXIMIZE, Lin.total([p.compute[-1] for p in every], weights), total_cost)
    else:
        goal = Goal(Sense.MINIMIZE, Lin.total([p.cost for p in every], weights), total_cost)
    result = optimize(model, goal, options)
    if result.x is None:
        return RobustPlan(empty_plan(base_data, result.status.value), status=result.status.value)
    plans = [plan_from_servers(p.data, p.servers(result.x), result.status.value) for p in every]
    return RobustPlan(
        plans[0],
        {s.name: p for s, p in zip(shocks.shocks, plans[1:], strict=True)},
        {s.shock.name: s.first for s in shocked_list},
        result.status.value,
    )


def objective_value(plan: Plan) -> float:
    """The plan's objective: effective PFLOPS for max-compute, total cost otherwise."""
    t = plan.totals
    return t["effective_pflops"] if plan.objective == Objective.MAX_COMPUTE else total_cost(t)


def _inputs(
    scenario: Scenario | str | Path,
    shocks: ShockFile | str | Path,
    catalog: str | Path | Catalog | None,
    options: SolverOptions | None,
) -> tuple[Scenario, ShockFile, Catalog, SolverOptions, Plan]:
    """Load and check the scenario, shock file and catalog; solve the base plan."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(shocks, ShockFile):
        shocks = load_shocks(shocks)
    check_plain_objective(scenario, "stress")
    shocks = shocks.typical()  # a distribution's typical value: one "what if" per shock
    options = SolverOptions.of(options)
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    check_shock_references(shocks, cat, shocks.source or "shocks", scenario)
    return scenario, shocks, cat, options, solve_data(prepare(scenario, cat), options)


def stress(
    scenario: Scenario | str | Path,
    shocks: ShockFile | str | Path,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    with_robust: bool = True,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> StressResult:
    """Base plan and (optionally) robust plan, each re-planned under every shock.

    ``progress(n)`` is called as solves finish (1 + shocks, and 1 + shocks more for the robust plan).
    With ``workers`` above 1 the re-plans of the shocks run on that many local worker processes
    (at most the CPU count); the results are the same.
    """
    inputs = _inputs(scenario, shocks, catalog, options)
    return _stress(*inputs, with_robust, progress or (lambda n: None), workers)


def _stress(
    scenario: Scenario,
    shocks: ShockFile,
    cat: Catalog,
    options: SolverOptions,
    base: Plan,
    with_robust: bool,
    tick: Callable[[int], None],
    workers: int = 1,
) -> StressResult:
    tick(1)
    figures = PlanFigures(base.status, base.to_dict()["totals"], quarters(base), base.diagnosis)
    result = StressResult(scenario.name, shocks.name, scenario.objective, figures)
    if not base.ok:
        return result
    base_exposure = _replans(
        base, [_shocked(s, scenario, cat, base) for s in shocks.shocks], options, workers, tick
    )
    result = replace(result, base_exposure=base_exposure)
    if not with_robust:
        return result
    rob = robust(scenario, shocks, cat, options)
    tick(1)
    if not rob.plan.ok:
        return replace(result, robust=RobustFigures(rob.status))
    document = rob.plan.to_dict()
    hedged = RobustFigures(
        rob.status,
        document["totals"],
        quarters(rob.plan),
        price_of_robustness(base, rob.plan),
        tuple(document["purchases"]),
    )
    shocked = [_shocked(s, scenario, cat, rob.plan) for s in shocks.shocks]
    return replace(result, robust=hedged, robust_exposure=_replans(rob.plan, shocked, options, workers, tick))


def _shocked(shock: Shock, scenario: Scenario, cat: Catalog, plan: Plan) -> Shocked:
    """The scenario and catalog under ``shock``; a budget cut counts what ``plan`` committed before it."""
    committed = (
        Committed() if shock.effect != "budget_cut" else _committed_spend(plan, _first(shock, scenario))
    )
    return apply(shock, scenario, cat, committed)


def _replans(
    plan: Plan, shocked: list[Shocked], options: SolverOptions, workers: int, tick: Callable[[int], None]
) -> tuple[Exposure, ...]:
    """:func:`replan` under each shock, in order: here, or on ``workers`` local processes."""
    if workers <= 1 or len(shocked) < 2:
        out = []
        for s in shocked:
            out.append(replan(plan, s, options))
            tick(1)
        return tuple(out)
    from planner.analyses.parallel import dask_client, usable_jobs

    results = []
    with dask_client(workers=min(usable_jobs(workers), len(shocked))) as client:
        futures = [client.submit(replan, plan, s, options, pure=False) for s in shocked]
        for future in futures:
            results.append(future.result())
            tick(1)
    return tuple(results)


def _first(shock: Shock, scenario: Scenario) -> int:
    from planner.inputs.shocks import first_open_quarter

    return first_open_quarter(scenario, shock.starts)


def price_of_robustness(base: Plan, robust_plan: Plan) -> PriceOfRobustness:
    """What the robust plan gives up against the base plan when no shock comes."""
    b, r = objective_value(base), objective_value(robust_plan)
    if base.objective == Objective.MAX_COMPUTE:
        return PriceOfRobustness("effective PFLOPS", b, r, b - r, (b - r) / b if b else 0.0)
    return PriceOfRobustness("USD of cost", b, r, r - b, (r - b) / b if b else 0.0)


def robust_plan(
    scenario: Scenario | str | Path,
    shocks: ShockFile | str | Path,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
) -> Plan:
    """The robust plan's base branch as a :class:`Plan`, with the branches and the price of robustness under the ``robust`` key of its JSON."""
    return _robust_plan(*_inputs(scenario, shocks, catalog, options))


def _robust_plan(
    scenario: Scenario, shocks: ShockFile, cat: Catalog, options: SolverOptions, base: Plan
) -> Plan:
    from planner.plans.plan import input_hashes

    started = time.perf_counter()
    rob = robust(scenario, shocks, cat, options)
    plan = replace(
        rob.plan,
        solver=options.solver,
        mip_gap=options.mip_gap,
        inputs=input_hashes(scenario, cat),
        seconds=time.perf_counter() - started,
    )
    info = RobustInfo(
        shocks.name,
        rob.status,
        "expected" if any(s.probability is not None for s in shocks.shocks) else "base branch",
    )
    if plan.ok and base.ok and plan.data is not None:
        data = plan.data
        info = replace(
            info,
            price_of_robustness=price_of_robustness(base, plan),
            branches=tuple(
                RobustBranch(
                    name,
                    data.periods[rob.first[name]] if rob.first[name] < data.horizon else None,
                    p.status,
                    p.totals["effective_pflops"],
                    p.totals["capex_usd"],
                    tuple(purchase_json({str(k): v for k, v in rec.items()}) for rec in records(p.purchases)),
                )
                for name, p in rob.branches.items()
            ),
        )
    elif not plan.ok:
        plan = replace(
            plan,
            limits=[
                "no plan meets every constraint in every shock branch; `gpuplan stress` shows which "
                "shock leaves the base plan without a recovery"
            ],
        )
    return replace(plan, robust=info)
