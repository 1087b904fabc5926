"""Compare scenarios side by side and sweep a budget range."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.analyses.parallel import usable_jobs
from planner.errors import InputError, Setting, words
from planner.inputs.catalog import Catalog
from planner.inputs.scenario import Scenario, check_plain_objective, load_scenario
from planner.inputs.tables import records
from planner.inputs.units import parse_money, parse_number
from planner.model.choices import Objective, Solver
from planner.model.data import ModelData
from planner.model.runs import SolverOptions
from planner.plans.frames import ResultFrame, result_frame
from planner.plans.limits import share_values, share_words
from planner.plans.results import Plan, empty_totals, round_value, tabulate

# ---------------------------------------------------------------- compare


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list) and not value:
        return {}  # an empty list says what leaving the key out says (no tags, no exclusions)
    if isinstance(value, list) and isinstance(value[0], dict):
        out = {}
        for i, v in enumerate(value):
            out |= _flat(v, f"{prefix}[{i}]")
        return out
    return {prefix: value}


def _labels(names: list[str], paths: list[str]) -> list[str]:
    """Scenario names, told apart by their file when two share a name (or a file is given twice)."""
    out = []
    for i, (n, path) in enumerate(zip(names, paths, strict=True)):
        label = n if names.count(n) == 1 else f"{n} ({path})"
        if label in out:
            label = f"{label} #{i + 1}"
        out.append(label)
    return out


def plan_metrics(plan: Plan) -> dict[str, Any]:
    """One scenario's row of a comparison: totals, cost per bought PFLOPS, domestic share, spend by vendor and compute by category, site, country and kind at the last quarter."""
    from planner.outputs.report import figures

    t = plan.totals
    row: dict[str, Any] = {
        "status": plan.status,
        "capex_usd": t["capex_usd"],
        "lease_usd": t.get("lease_usd", 0.0),
        "opex_usd": t["opex_usd"],
        "effective_pflops": t["effective_pflops"],
        "memory_tb": t["memory_tb"],
        "chips": t["chips"],
        "leased_chips": t.get("leased_chips", 0),
    }
    if plan.data is not None and plan.data.finance.present and plan.ok:
        # contract section 6: the discounted cost beside the undiscounted commitments it differs from
        row.update(
            commitments_usd=t["capex_usd"] + t.get("lease_usd", 0.0),
            discounted_cost_usd=t["cost_usd"],
            residual_value_usd=t["residual_value_usd"],
            after_horizon_usd=t["after_horizon_usd"],
        )
    if plan.workloads is not None and len(plan.workloads.periods):
        # contract section 7: the last quarter with a workload target
        last = plan.workloads.periods.iloc[-1]
        row.update(
            training_pflops=float(last["training_pflops"]),
            inference_memory_bw_tbps=float(last["inference_memory_bw_tbps"]),
            inference_memory_tb=float(last["inference_memory_tb"]),
            training_clusters=int(plan.workloads.clusters["clusters"].sum())
            if len(plan.workloads.clusters)
            else 0,
        )
    if not plan.ok:
        return row
    f = figures(plan)
    row.update(
        fleet_pflops=f.fleet_pflops,
        bought_pflops=f.purchased_pflops,
        leased_pflops=f.leased_pflops,
        capex_per_bought_pflops_usd=f.capex_per_purchased_pflops,
        lease_per_leased_pflops_usd=f.lease_per_leased_pflops,
        licence_dependent_usd=f.licence_usd,
    )
    by_cat = plan.capacity_by("category").iloc[-1]
    total = float(by_cat.sum())
    row["domestic_compute_share"] = float(by_cat.get("domestic", 0.0)) / total if total else 0.0
    assert plan.data is not None and plan.servers is not None
    for v in share_values(plan.data, plan.servers):  # each policy share as the policy measures it
        row[f"policy_share:{share_words(plan.data, v)}"] = v.fraction
    spend = plan.purchases.groupby("vendor")["cost_usd"].sum()
    for vendor, usd in spend.items():
        row[f"spend_{vendor}_usd"] = float(usd)
    assert plan.data is not None
    every = {
        "site": [s.name for s in plan.data.sites],
        "country": [s.country for s in plan.data.sites],
        "kind": ["buy", "lease"],
    }
    for key in ("site", "country", "kind"):
        last = plan.capacity_by(key).iloc[-1]
        for value in every[key]:
            row[f"{key}_{value}_pflops"] = 0.0
        for name, pflops in last.items():
            row[f"{key}_{name}_pflops"] = float(pflops)
    lines = plan.purchases
    for kind, suffix in (("buy", "_chips"), ("lease", "_leased_chips")):  # bought and rented apart
        for cat, n in lines[lines["kind"] == kind].groupby("category")["chips"].sum().items():
            row[f"{cat}{suffix}"] = int(n)
    return row


def compare(
    paths: list[str | Path],
    catalog: str | Path | None = None,
    options: SolverOptions | None = None,
    progress: Callable[[int], None] | None = None,
    scheduler: str | None = None,
    workers: int = 1,
) -> ResultFrame:
    """Solve each scenario exactly as ``gpuplan plan`` does and line them up: one row per scenario (indexed by a label unique among them) with its metrics; ``.plans`` maps each label to its :class:`Plan`.

    With ``scheduler`` (a Dask scheduler's address) the scenarios are solved on its workers,
    sent as data (scenario and catalog), not paths; with ``workers`` above 1, on that many local
    worker processes (at most the CPU count). The plans are the same either way.
    """
    from planner.plans.plan import solve

    if isinstance(paths, (str, Path)):
        paths = [paths]  # one scenario, not the characters of its name
    paths = list(paths)
    if not paths:
        raise InputError("give at least one scenario to compare", key="paths")
    options = SolverOptions.of(options)
    plans: list[Plan] = []
    if scheduler is not None:
        from planner.analyses.parallel import check_scheduler

        check_scheduler(scheduler)  # before any solve
    workers = usable_jobs(workers)
    if scheduler is None and (workers <= 1 or len(paths) < 2):
        for p in paths:
            plans.append(solve(p, catalog, options))
            if progress:
                progress(1)
    else:
        from planner.analyses.parallel import dask_client
        from planner.plans.plan import catalog_for

        loaded = [load_scenario(p) for p in paths]
        inputs = [(s, catalog_for(s, catalog)) for s in loaded]
        local = min(workers, len(paths)) if scheduler is None else None
        with dask_client(workers=local, scheduler=scheduler) as client:
            futures = [client.submit(solve, s, cat, options, pure=False) for s, cat in inputs]
            for future in futures:
                plans.append(future.result())
                if progress:
                    progress(1)
    labels = _labels([p.scenario for p in plans], [str(p) for p in paths])
    rows = [
        {"file": str(path), "scenario": plan.scenario, **plan_metrics(plan)}
        for path, plan in zip(paths, plans, strict=True)
    ]
    frame = pd.DataFrame(rows, index=pd.Index(labels, name="label"))
    return result_frame(frame, dict(zip(labels, plans, strict=True)))


#: the fixed metrics of a comparison, in the order a reader takes them, with their labels
METRIC_LABELS = {
    "status": "Status",
    "capex_usd": "Capex",
    "lease_usd": "Lease commitments",
    "opex_usd": "Electricity",
    "commitments_usd": "Commitments (capex and leases)",
    "discounted_cost_usd": "Discounted cost",
    "residual_value_usd": "Residual book value",
    "after_horizon_usd": "Due after the horizon",
    "effective_pflops": "Effective PFLOPS (last quarter)",
    "fleet_pflops": "  from the fleet",
    "bought_pflops": "  bought",
    "leased_pflops": "  leased",
    "memory_tb": "Memory TB",
    "training_pflops": "Training PFLOPS",
    "training_clusters": "Training clusters",
    "inference_memory_bw_tbps": "Inference memory bandwidth TB/s",
    "inference_memory_tb": "Inference memory TB",
    "chips": "Chips bought",
    "leased_chips": "Chips leased",
    "capex_per_bought_pflops_usd": "Capex per bought PFLOPS",
    "lease_per_leased_pflops_usd": "Lease commitment per leased PFLOPS",
    "licence_dependent_usd": "Spend that needs a licence",
    "domestic_compute_share": "Domestic share of all PFLOPS",
}
#: the families of per-group metrics: (key prefix, key suffix, label pattern), in report order
METRIC_GROUPS = (
    ("spend_", "_usd", "Spend with {}"),
    ("kind_", "_pflops", "PFLOPS {}"),
    ("site_", "_pflops", "PFLOPS at site {}"),
    ("country_", "_pflops", "PFLOPS in {}"),
    ("policy_share:", "", "Policy: {}"),
    ("", "_leased_chips", "Chips leased, {}"),
    ("", "_chips", "Chips bought, {}"),
)
KIND_WORDS = {"buy": "bought", "lease": "leased"}


def metric_label(key: str) -> str:
    """A comparison metric's label for a reader (the key stays the JSON's)."""
    if key in METRIC_LABELS:
        return METRIC_LABELS[key]
    for prefix, suffix, pattern in METRIC_GROUPS:
        if key.startswith(prefix) and key.endswith(suffix):
            value = key[len(prefix) : len(key) - len(suffix)]
            if prefix == "site_" and value == "leased":
                return "PFLOPS leased (no site)"
            return pattern.format(KIND_WORDS.get(value, value) if prefix == "kind_" else value)
    return key


def _metric_rank(key: str) -> tuple[int, str]:
    fixed = list(METRIC_LABELS)
    if key in METRIC_LABELS:
        return fixed.index(key), ""
    for g, (prefix, suffix, _) in enumerate(METRIC_GROUPS):
        if key.startswith(prefix) and key.endswith(suffix):
            return len(fixed) + g, key.lower()
    return len(fixed) + len(METRIC_GROUPS), key


def comparison_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """The comparison as metric rows by scenario columns (for the terminal and the workbook), in a fixed order: totals, compute, then spend by vendor and compute by kind, site and country, each sorted."""
    table = pd.DataFrame(frame.drop(columns=["file", "scenario"])).T
    table = table.loc[sorted(table.index, key=lambda k: _metric_rank(str(k)))]
    table.index.name = "metric"
    return table


def input_differences(frame: ResultFrame) -> pd.DataFrame:
    """The scenario keys whose values differ, one column per scenario."""
    labels = [str(x) for x in frame.index]
    flats = [
        _flat(p.data.scenario.model_dump(mode="json", exclude_none=True)) if p.data else {}
        for p in (frame.plans[label] for label in frame.index)
    ]
    keys = sorted(set().union(*flats) - {"name"})
    diff = [
        {"key": k, **{label: _show(f.get(k), k) for label, f in zip(labels, flats, strict=True)}}
        for k in keys
        if len({repr(f.get(k)) for f in flats}) > 1
    ]
    return pd.DataFrame(diff, columns=["key", *labels])


def _show(value: Any, key: str = "") -> Any:
    """An input value as a reader writes it: money with separators and its currency, whole numbers without ``.0``."""
    if value is None:
        return "(not set)"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if any("usd" in part for part in key.split(".")[-2:]):
        if float(value).is_integer():
            return f"${value:,.0f}"
        return f"${value:.4g}" if abs(value) < 1 else f"${value:,.2f}"
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1000 else f"{value:g}"


# ---------------------------------------------------------------- sweep


MAX_POINTS = 10_000  # budgets in one sweep


def parse_range(text: str) -> list[float]:
    """``FROM:TO:N`` (money with K/M/B suffixes) -> N evenly spaced budgets."""
    parts = text.split(":")
    if len(parts) != 3:
        raise InputError(f"expected FROM:TO:N such as 3B:10B:8, got {text!r}", key=Setting.BUDGETS)
    try:
        low, high = parse_money(parts[0]), parse_money(parts[1])
        n = int(parse_number(parts[2]))
        if str(n) != parts[2].strip().replace(",", ""):
            raise ValueError(f"N must be a whole number, got {parts[2]!r}")
    except ValueError as exc:
        raise InputError(
            f"{exc} in {text!r} (expected FROM:TO:N such as 3B:10B:8)", key=Setting.BUDGETS
        ) from None
    if n < 1 or high < low:
        raise InputError(f"expected N >= 1 and FROM <= TO, got {text!r}", key=Setting.BUDGETS)
    if n > MAX_POINTS:
        raise InputError(
            f"{n} points is more than the {MAX_POINTS:,} a sweep may have; give a smaller N",
            key=Setting.BUDGETS,
        )
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
    return scenario.model_copy(update={"budget": budget})


def _point(data: ModelData, total: float, status: str, servers: np.ndarray | None) -> dict[str, Any]:
    """A sweep point as plain data (what worker processes send back)."""
    if servers is None:
        return {"total_usd": round(total, 2), "status": status, "totals": empty_totals(), "_servers": None}
    _, _, totals, _ = tabulate(data, servers)
    return {
        "total_usd": round(total, 2),
        "status": status,
        "totals": {k: round_value(v, k) for k, v in totals.items()},
        "_servers": servers,
    }


class _LiveSweep:
    """One scenario's model in a live HiGHS backend, re-solved at each budget.

    Every point sees the same model (the stage-2 row is registered, free, before the first
    solve) and the solver starts from scratch at each point, so a point's plan does not depend
    on which points were solved before it (nor on how the points are split over processes).
    """

    def __init__(self, scenario: Scenario, catalog: Catalog, options: SolverOptions) -> None:
        from planner.model.backends import HighsBackend
        from planner.model.build import build
        from planner.model.data import prepare
        from planner.model.solve import register_stage2, scenario_goal

        self.scenario, self.options = scenario, options
        # built with a total budget, so the total-budget row every point bounds exists even when the
        # scenario has none (or per-quarter budgets only)
        self.data = prepare(with_budget(scenario, scenario.budget.total_usd or 0.0), catalog)
        self.model = build(self.data)
        self.goal = scenario_goal(self.model.main)
        register_stage2(self.model, self.goal)
        self.backend = HighsBackend(self.model, options)

    def solve(self, total: float, start: np.ndarray | None = None) -> dict[str, Any]:
        from planner.model.build import budget_bounds
        from planner.model.data import budget_fields
        from planner.model.rows import INF
        from planner.model.solve import optimize

        scenario = with_budget(self.scenario, total)
        data = replace(self.data, scenario=scenario, **budget_fields(scenario))
        for key, value in budget_bounds(data).items():
            row = self.model.find(key)
            assert row is not None, key
            self.backend.set_row_bounds(row, -INF, value)
        x0 = None
        if start is not None:
            x0 = np.asarray(self.model.col_lower, dtype=np.float64)
            x0[self.model.main.cols] = start
        outcome = optimize(self.model, self.goal, self.options, backend=self.backend, start=x0)
        servers = self.model.main.servers(outcome.x) if outcome.x is not None else None
        return _point(data, total, outcome.status.value, servers)


def _sweep_chunk(
    scenario: Scenario,
    catalog: Catalog,
    options: SolverOptions,
    budgets: list[float],
    tick: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    live = _LiveSweep(scenario, catalog, options)
    out = []
    for total in budgets:
        out.append(live.solve(total))
        if tick:
            tick()
    return out


def _worker(args: tuple[dict[str, Any], str | None, str, SolverOptions, list[float]]) -> list[dict[str, Any]]:
    """Process-pool entry: rebuild from parameters (never PuLP or HiGHS objects), return plain data."""
    scenario_dict, source, catalog_folder, options, budgets = args
    from planner.inputs.catalog import load_catalog

    scenario = Scenario.from_dict(scenario_dict, source)
    return _sweep_chunk(scenario, load_catalog(catalog_folder), options, budgets)


def sweep(
    scenario: Scenario | str | Path,
    budgets: list[float] | list[str] | list[float | str],
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    scheduler: str | None = None,
) -> ResultFrame:
    """Solve the scenario at each total budget (numbers or amounts such as ``"7B"``), reusing one live HiGHS model per worker.

    Returns one row per budget, in the order given: ``total_usd``, ``status``, the totals and the
    effective PFLOPS at the last quarter by chip category with the old fleet in ``fleet_pflops``
    (``<category>_pflops``); ``.plans`` maps each row to its :class:`Plan` (None where no plan was
    found). The plans do not depend on ``jobs``.
    """
    from planner.inputs.scenario import check_references
    from planner.model.data import budget_fields, prepare
    from planner.outputs.report import figures
    from planner.plans.plan import catalog_for, plan_from_servers

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = SolverOptions.of(options)
    check_plain_objective(scenario, "sweep")
    if scheduler is not None:
        from planner.analyses.parallel import check_scheduler

        check_scheduler(scheduler)  # before any solve
    if options.solver != Solver.HIGHS:
        raise InputError(
            words("sweeps re-solve a live HiGHS model; use {} highs", Setting.SOLVER), key=Setting.SOLVER
        )
    if isinstance(budgets, (str, int, float)):
        raise InputError(
            f"give a list of amounts such as ['5B', '7B'] (parse_range('5B:7B:3') makes one), got {budgets!r}",
            key="budgets",
        )
    amounts = [_amount(b) for b in budgets]
    if not amounts:
        raise InputError("give at least one budget to sweep", key="budgets")
    if len(amounts) > MAX_POINTS:
        raise InputError(
            f"{len(amounts):,} budgets is more than the {MAX_POINTS:,} a sweep may have", key="budgets"
        )
    jobs = usable_jobs(jobs)
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    order = sorted(range(len(amounts)), key=lambda i: amounts[i])
    ascending = [amounts[i] for i in order]
    tick = (lambda: progress(1)) if progress else None
    if scheduler is not None:
        points = _on_dask(scenario, cat, options, ascending, scheduler, progress)
    elif jobs <= 1 or len(ascending) < 2:
        points = _sweep_chunk(scenario, cat, options, ascending, tick)
    else:
        points = _parallel(scenario, cat, options, ascending, jobs, progress)
    points = _keep_monotone(scenario, cat, options, points)
    base = prepare(scenario, cat)
    rows: list[dict[str, Any]] = [{}] * len(amounts)
    plans: dict[Hashable, Plan | None] = {}
    for i, p in zip(order, points, strict=True):
        moved = with_budget(scenario, p["total_usd"])
        data = replace(base, scenario=moved, **budget_fields(moved))
        plan = plan_from_servers(data, p["_servers"], p["status"]) if p["_servers"] is not None else None
        mix = (
            plan.capacity_by("category", fleet_apart=True).iloc[-1]
            if plan is not None
            else pd.Series(dtype=float)
        )
        per = figures(plan) if plan is not None else None
        rows[i] = {
            "total_usd": p["total_usd"],
            "status": p["status"],
            **p["totals"],
            # the same figures, by the same names, as plan and compare (one definition each)
            "capex_per_bought_pflops_usd": per.capex_per_purchased_pflops if per else None,
            "lease_per_leased_pflops_usd": per.lease_per_leased_pflops if per else None,
            **{f"{k}_pflops": round_value(v, "pflops") for k, v in mix.items()},
        }
        plans[i] = plan
    frame = pd.DataFrame(rows)
    mix_cols = sorted(c for c in frame.columns if c.endswith("_pflops") and c != "effective_pflops")
    frame[mix_cols] = frame[mix_cols].fillna(0.0)
    return result_frame(frame[[c for c in frame.columns if c not in mix_cols] + mix_cols], plans)


def sweep_points(frame: ResultFrame) -> list[dict[str, Any]]:
    """A sweep as JSON points: ``{"total_usd", "status", "totals", "mix_pflops", "per_pflops"}``."""
    from planner.plans.results import empty_totals

    keys = list(empty_totals())
    keys += [k for k in FINANCE_TOTALS if k in frame.columns]
    out = []
    for label, rec in zip(frame.index, records(frame), strict=True):
        mix = {
            k.removesuffix("_pflops"): v
            for k, v in rec.items()
            if k.endswith("_pflops") and k != "effective_pflops" and frame.plans[label] is not None
        }
        out.append(
            {
                "total_usd": rec["total_usd"],
                "status": rec["status"],
                "totals": {k: rec[k] for k in keys if not _missing(rec[k])},
                "mix_pflops": mix,
                "per_pflops": {
                    k: None if _missing(rec[k]) else round_value(rec[k], k)
                    for k in ("capex_per_bought_pflops_usd", "lease_per_leased_pflops_usd")
                },
            }
        )
    return out


#: totals a plan adds with a ``finance`` key (contract section 6)
FINANCE_TOTALS = ("cost_usd", "residual_value_usd", "currency", "after_horizon_usd")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _amount(value: float | str) -> float:
    try:
        return parse_money(value)
    except ValueError as exc:
        raise InputError(str(exc), key=Setting.BUDGETS) from None


def _parallel(
    scenario: Scenario,
    cat: Catalog,
    options: SolverOptions,
    ascending: list[float],
    jobs: int,
    progress: Callable[[int], None] | None,
) -> list[dict[str, Any]]:
    import multiprocessing as mp

    size = max(1, math.ceil(len(ascending) / (jobs * 3)))
    chunks = [ascending[i : i + size] for i in range(0, len(ascending), size)]
    params = scenario.model_dump(mode="json")
    args = [(params, scenario.source, str(cat.folder), options, chunk) for chunk in chunks]
    pool = mp.get_context("spawn").Pool(jobs)
    out: list[dict[str, Any]] = []
    try:
        for chunk in pool.imap(_worker, args):
            out.extend(chunk)
            if progress:
                progress(len(chunk))
        pool.close()
    except BaseException:
        pool.terminate()  # Ctrl-C, SIGTERM, --max-time or a failed point: stop every worker now
        raise
    finally:
        pool.join()
    return out


def _on_dask(
    scenario: Scenario,
    cat: Catalog,
    options: SolverOptions,
    ascending: list[float],
    scheduler: str,
    progress: Callable[[int], None] | None,
) -> list[dict[str, Any]]:
    """Contiguous chunks of points on a Dask cluster's workers (scenario and catalog sent as data)."""
    from planner.analyses.parallel import dask_client

    with dask_client(scheduler=scheduler) as client:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, math.ceil(len(ascending) / (workers * 3)))
        chunks = [ascending[i : i + size] for i in range(0, len(ascending), size)]
        futures = [client.submit(_sweep_chunk, scenario, cat, options, chunk, pure=False) for chunk in chunks]
        out: list[dict[str, Any]] = []
        for future, chunk in zip(futures, chunks, strict=True):
            out.extend(future.result())
            if progress:
                progress(len(chunk))
    return out


def _keep_monotone(
    scenario: Scenario, cat: Catalog, options: SolverOptions, points: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Max-compute: a plan feasible at a budget stays feasible at a larger one, so a point below its predecessor (possible within the MIP gap) is re-solved starting from the predecessor's plan.

    The pass runs in order over the finished points, so it gives the same result however the points were
    computed.
    """
    if scenario.objective != Objective.MAX_COMPUTE:
        return points
    live: _LiveSweep | None = None
    for i in range(1, len(points)):
        prev, cur = points[i - 1], points[i]
        if prev["_servers"] is None:
            continue
        if (
            cur["_servers"] is None
            or cur["totals"]["effective_pflops"] < prev["totals"]["effective_pflops"] - 1e-6
        ):
            live = live or _LiveSweep(scenario, cat, options)
            points[i] = live.solve(cur["total_usd"], start=prev["_servers"])
    return points
