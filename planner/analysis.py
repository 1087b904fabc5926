"""Compare scenarios side by side and sweep a budget range."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.catalog import Catalog
from planner.errors import InputError
from planner.model.solve import SolverOptions
from planner.results import Plan, tabulate
from planner.scenario import Scenario, load_scenario
from planner.units import parse_money

# ---------------------------------------------------------------- compare

@dataclass
class Comparison:
    plans: list[Plan]
    table: pd.DataFrame          # metric rows x scenario columns
    differences: pd.DataFrame    # key, then one column per scenario


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = {}
        for i, v in enumerate(value):
            out |= _flat(v, f"{prefix}[{i}]")
        return out
    return {prefix: value}


def _labels(plans: list[Plan], paths: list[str]) -> list[str]:
    names = [p.scenario for p in plans]
    return [n if names.count(n) == 1 else f"{n} ({path})" for n, path in zip(names, paths)]


def compare(paths: list[str | Path], catalog: str | Path | None = None,
            options: SolverOptions | None = None) -> Comparison:
    """Solve each scenario exactly as ``gpuplan plan`` does and line up the results."""
    from planner.plan import solve

    plans = [solve(p, catalog, options) for p in paths]
    labels = _labels(plans, [str(p) for p in paths])
    rows: dict[str, dict[str, Any]] = {}
    for label, plan in zip(labels, plans):
        t = plan.totals
        col: dict[str, Any] = {
            "status": plan.status, "capex_usd": t["capex_usd"], "opex_usd": t["opex_usd"],
            "effective_pflops": t["effective_pflops"], "memory_tb": t["memory_tb"], "chips": t["chips"],
            "capex_per_pflops_usd": t["capex_usd"] / t["effective_pflops"] if t["effective_pflops"] else None,
        }
        if plan.ok:
            by_cat = plan.capacity_by("category").iloc[-1]
            total = float(by_cat.sum())
            col["domestic_compute_share"] = float(by_cat.get("domestic", 0.0)) / total if total else 0.0
            for vendor, usd in plan.purchases.groupby("vendor")["cost_usd"].sum().items():
                col[f"spend_{vendor}_usd"] = float(usd)
            for cat, n in plan.purchases.groupby("category")["chips"].sum().items():
                col[f"{cat}_chips"] = int(n)
        rows[label] = col
    table = pd.DataFrame(rows)
    table.index.name = "metric"
    flats = [_flat(p.data.scenario.model_dump(mode="json", exclude_none=True)) if p.data else {} for p in plans]
    keys = sorted(set().union(*flats) - {"name"})
    diff = [{"key": k, **{label: _show(f.get(k)) for label, f in zip(labels, flats)}}
            for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
    return Comparison(plans, table, pd.DataFrame(diff, columns=["key", *labels]))


def _show(value: Any) -> Any:
    if value is None:
        return "(not set)"
    return ", ".join(map(str, value)) if isinstance(value, list) else value


# ---------------------------------------------------------------- sweep

def parse_range(text: str) -> list[float]:
    """``FROM:TO:N`` (money with K/M/B suffixes) -> N evenly spaced budgets."""
    parts = text.split(":")
    if len(parts) != 3:
        raise InputError(f"expected FROM:TO:N such as 3B:10B:8, got {text!r}", key="--budget")
    try:
        low, high = parse_money(parts[0]), parse_money(parts[1])
        n = int(parts[2])
    except ValueError as exc:
        raise InputError(f"{exc} in {text!r} (expected FROM:TO:N such as 3B:10B:8)", key="--budget") from None
    if n < 1 or high < low:
        raise InputError(f"expected N >= 1 and FROM <= TO, got {text!r}", key="--budget")
    return [low] if n == 1 else [float(v) for v in np.linspace(low, high, n)]


def with_budget(scenario: Scenario, total: float) -> Scenario:
    """The scenario at a total budget; per-quarter budgets scale in proportion."""
    budget = scenario.budget.model_copy()
    per = budget.per_period_usd
    if per:
        base = budget.total_usd if budget.total_usd else sum(per.values())
        factor = total / base if base else 0.0
        budget.per_period_usd = {k: v * factor for k, v in per.items()}
    budget.total_usd = total
    out = scenario.model_copy(update={"budget": budget})
    out._source = scenario.source
    return out


def budget_rhs(scenario: Scenario) -> dict[str, float]:
    """Right-hand sides of the budget rows by constraint name (see model.build.define_budget)."""
    b = scenario.budget
    rhs = {"budget_total": float(b.total_usd)} if b.total_usd is not None else {}
    if b.per_period_usd is not None:
        running = 0.0
        for p in scenario.periods:
            value = float(b.per_period_usd.get(p, 0.0))
            running += value
            rhs[f"budget_cum_{p}" if b.carry_over else f"budget_{p}"] = running if b.carry_over else value
    return rhs


def _point(plan_data, total: float, status: str, servers: np.ndarray | None) -> dict[str, Any]:
    from planner.results import _num, empty_totals

    if servers is None:
        return {"total_usd": round(total, 2), "status": status, "totals": empty_totals(), "mix_pflops": {},
                "_servers": None}
    _, _, totals = tabulate(plan_data, servers)
    plan = Plan("", plan_data.scenario.objective, status, pd.DataFrame(), pd.DataFrame(), totals, data=plan_data,
                servers=servers)
    mix = plan.capacity_by("category").iloc[-1]
    return {"total_usd": round(total, 2), "status": status,
            "totals": {k: _num(v, k) for k, v in totals.items()},
            "mix_pflops": {k: _num(v, "pflops") for k, v in mix.items()}, "_servers": servers}


def _sweep_chunk(scenario: Scenario, catalog: Catalog, options: SolverOptions, budgets: list[float],
                 tick: Callable[[], None] | None = None, start: np.ndarray | None = None) -> list[dict]:
    from planner.model.data import prepare
    from planner.model.live import LiveModel

    data = prepare(with_budget(scenario, budgets[0]), catalog)
    live = LiveModel(data, options)
    live.previous = start
    out = []
    for total in budgets:
        result = live.solve(budget_rhs(with_budget(scenario, total)))
        out.append(_point(data, total, result.status, result.servers))
        if tick:
            tick()
    return out


def _worker(args: tuple) -> list[dict]:
    """Process-pool entry: rebuild from parameters (never PuLP objects), return plain data."""
    scenario_dict, source, catalog_folder, options, budgets = args
    from planner.catalog import load_catalog

    scenario = Scenario.model_validate(scenario_dict)
    scenario._source = source
    return _sweep_chunk(scenario, load_catalog(catalog_folder), options, budgets)


def sweep(scenario: Scenario | str | Path, budgets: list[float], catalog: str | Path | Catalog | None = None,
          options: SolverOptions | None = None, jobs: int = 1,
          progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Solve the scenario at each total budget (ascending), reusing one live HiGHS model per worker.

    Returns ``{"total_usd", "status", "totals", "mix_pflops"}`` per budget, in the order given.
    """
    from planner.plan import catalog_for
    from planner.scenario import check_references

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = options or SolverOptions()
    if options.solver != "highs":
        raise InputError("sweeps re-solve a live HiGHS model; use --solver highs", key="--solver")
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    order = sorted(range(len(budgets)), key=lambda i: budgets[i])
    ascending = [budgets[i] for i in order]
    tick = (lambda: progress(1)) if progress else None
    if jobs <= 1 or len(ascending) < 2:
        points = _sweep_chunk(scenario, cat, options, ascending, tick)
    else:
        points = _parallel(scenario, cat, options, ascending, jobs, progress)
    points = _keep_monotone(scenario, cat, options, points)
    result = [None] * len(budgets)
    for i, p in zip(order, points):
        result[i] = {k: v for k, v in p.items() if k != "_servers"}
    return result  # type: ignore[return-value]


def _parallel(scenario, cat, options, ascending, jobs, progress) -> list[dict]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, math.ceil(len(ascending) / (jobs * 3)))
    chunks = [ascending[i:i + size] for i in range(0, len(ascending), size)]
    params = scenario.model_dump(mode="json")
    args = [(params, scenario.source, str(cat.folder), options, chunk) for chunk in chunks]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_worker, a) for a in args]
        out: list[dict] = []
        for future, chunk in zip(futures, chunks):
            out.extend(future.result())
            if progress:
                progress(len(chunk))
    return out


def _keep_monotone(scenario, cat, options, points: list[dict]) -> list[dict]:
    """Max-compute: a plan feasible at a budget stays feasible at a larger one, so a point below its
    predecessor (possible within the MIP gap, across chunks) is re-solved from the predecessor's plan."""
    if scenario.objective != "max-compute":
        return points
    for i in range(1, len(points)):
        prev, cur = points[i - 1], points[i]
        if prev["_servers"] is None:
            continue
        if cur["_servers"] is None or cur["totals"]["effective_pflops"] < prev["totals"]["effective_pflops"] - 1e-6:
            from planner.model.data import prepare
            from planner.model.live import LiveModel

            data = prepare(with_budget(scenario, cur["total_usd"]), cat)
            live = LiveModel(data, options)
            base = np.zeros(live.h.getNumCol())
            base[live.cols] = prev["_servers"]
            live.previous = base
            result = live.solve(budget_rhs(with_budget(scenario, cur["total_usd"])))
            points[i] = _point(data, cur["total_usd"], result.status, result.servers)
    return points
