"""Risk: many sampled futures, each a rolling re-plan, run as tasks on Dask.

Sample ``i`` draws, with a generator seeded from ``(seed, i)`` only, whether each shock occurs
(its ``probability``, independently of the others) and the amount of each uncertain shock (a
distribution in the shock file; drawn for every shock in file order, so that a sample's draws
do not depend on which shocks occur). The shocks that occur are applied in date order as a
rolling re-plan: at each shock's date the orders placed in quarters that started before it are
committed and the rest re-planned under everything that has happened so far (as ``stress`` does
for one shock). When no re-plan exists the sample keeps its committed orders, its status is
``infeasible`` and the targets the diagnosis finds short count as missed.

A sample's outcome: the final plan's effective PFLOPS at the last quarter, its cost (capex,
lease commitments and electricity), the spend stranded on the way, its cost against the same
plan's cost when no shock comes (positive when re-plans spend money the plan held back, negative
when shocks cancel orders), the targets missed and the status. Samples are independent of each
other and of where they run, so the results are the same, byte for byte, whatever the number of
workers or the scheduler.

The engine is ``dask.distributed``: an in-process ``LocalCluster`` of worker processes by
default, or an existing cluster (``--scheduler tcp://HOST:PORT``). Workers receive the scenario,
catalog, shocks and the plans' orders once (scattered as data, not paths) and run chunks of
samples.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from planner.analyses.exposure import plain
from planner.analyses.parallel import check_scheduler, dask_client
from planner.analyses.risk_results import Distribution, PlanRisk, RiskResult, ShockRisk, wilson_interval
from planner.analyses.stressing import _committed_spend, replan_step, robust, total_cost
from planner.errors import InputError, NoPlan, Setting
from planner.inputs.catalog import Catalog
from planner.inputs.scenario import Scenario, check_plain_objective, check_references, load_scenario
from planner.inputs.shocks import (
    Committed,
    Shock,
    ShockFile,
    apply,
    check_shock_references,
    first_open_quarter,
    load_shocks,
)
from planner.model.choices import Objective
from planner.model.data import prepare
from planner.model.runs import SolverOptions
from planner.plans.plan import catalog_for, plan_from_servers, solve_data
from planner.plans.results import Plan

METRICS = ("effective_pflops", "cost_usd", "stranded_usd", "cost_vs_no_shock_usd")
PLANS = ("base", "robust")
MAX_SAMPLES = 100_000


# ---------------------------------------------------------------- sampling


def latent_uniforms(shocks: ShockFile, seed: int, index: int) -> dict[str, float]:
    """The copula's uniforms of sample ``index`` for the correlated shocks: ``Phi(L z)``, ``z`` standard normal.

    From a stream of their own (``(seed, index, 1)``): the independent shocks' draws stay those of a
    file without a correlation block.
    """
    block = shocks.correlation
    if block is None:
        return {}
    z = block.factor() @ np.random.default_rng([seed, index, 1]).standard_normal(len(block.shocks))
    phi = NormalDist().cdf
    return {name: phi(float(v)) for name, v in zip(block.shocks, z, strict=True)}


def draw(shocks: ShockFile, seed: int, index: int) -> tuple[list[Shock], dict[str, float]]:
    """The shocks that occur in sample ``index`` (amounts fixed) and the amounts drawn for them.

    A correlated shock occurs when its copula uniform ``u`` is below its probability ``p``; its
    amount is the inverse distribution at ``u / p`` (uniform given that it occurs, so the amount's
    distribution is the file's), so shocks that arrive together also come large or small together.
    """
    rng = np.random.default_rng([seed, index])
    latent = latent_uniforms(shocks, seed, index)
    occurred: list[Shock] = []
    draws: dict[str, float] = {}
    for shock in shocks.shocks:
        happens = bool(rng.random() < (shock.probability or 0.0))
        dist = shock.uncertain
        value = dist.draw(rng) if dist is not None else None  # drawn always: the stream stays aligned
        if shock.name in latent:
            u, p = latent[shock.name], shock.probability or 0.0
            happens = u < p
            if happens and dist is not None:
                value = dist.quantile(u / p)
        if not happens:
            continue
        if value is None:
            occurred.append(shock)
        else:
            fixed = shock.with_amount(value)
            occurred.append(fixed)
            used = fixed.uncertain_value()
            draws[shock.name] = round(used, 6)
    return occurred, draws


# ---------------------------------------------------------------- one sample


def roll(
    plan: Plan, occurred: list[Shock], scenario: Scenario, catalog: Catalog, options: SolverOptions
) -> dict[str, Any]:
    """The outcome of the shocks that occurred, applied in date order to ``plan`` as a rolling re-plan.

    The re-plans run from a kernel start (:meth:`SolverOptions.for_many_runs`) and without their
    binding limits: a sample keeps only its figures.
    """
    current, status, stranded, missed = plan, plan.status, 0.0, []
    options = options.for_many_runs()
    for shock in sorted(occurred, key=lambda s: s.starts):
        committed = Committed()
        if shock.budget_cut is not None:
            committed = _committed_spend(current, first_open_quarter(scenario, shock.starts))
        shocked = apply(shock, scenario, catalog, committed)
        step = replan_step(current, shocked, options, limits=False)
        stranded += step.stranded_usd
        if not step.after.ok:
            status = step.after.status
            missed = step.after.diagnosis.missed() if step.after.diagnosis is not None else []
            current = step.committed_only()
            break
        current, status = step.after, step.after.status
        scenario, catalog = shocked.scenario, shocked.catalog
    cost = total_cost(current.totals)
    return {
        "status": status,
        "effective_pflops": round(current.totals["effective_pflops"], 6),
        "cost_usd": round(cost, 2),
        "stranded_usd": round(stranded, 2),
        # the sample's cost less the same plan's cost when no shock comes: more when re-plans spend
        # money the plan held back, less when shocks cancel orders; not a loss by itself
        "cost_vs_no_shock_usd": round(cost - total_cost(plan.totals), 2),
        "targets_missed": len(missed),
        "missed": missed,
    }


# ---------------------------------------------------------------- work on the workers


@dataclass(frozen=True)
class Job:
    """Everything a worker needs, sent once: inputs as data and each plan's orders."""

    scenario: Scenario
    catalog: Catalog
    shocks: ShockFile
    options: SolverOptions
    seed: int
    plans: dict[str, tuple[str, list[int]]]  # plan kind -> (status, servers per option of prepare())
    key: str = field(default="")


_WORKER_PLANS: dict[str, dict[str, Plan]] = {}  # per worker process: job key -> plans, built once


def _plans(job: Job) -> dict[str, Plan]:
    plans = _WORKER_PLANS.get(job.key)
    if plans is None:
        data = prepare(job.scenario, job.catalog)
        plans = {
            kind: plan_from_servers(data, np.asarray(servers, dtype=np.int64), status)
            for kind, (status, servers) in job.plans.items()
        }
        _WORKER_PLANS.clear()  # one job at a time per worker
        _WORKER_PLANS[job.key] = plans
    return plans


def run_chunk(job: Job, start: int, stop: int) -> list[dict[str, Any]]:
    """Samples ``start .. stop - 1`` of the job (a task on a worker)."""
    plans = _plans(job)
    out = []
    for index in range(start, stop):
        occurred, draws = draw(job.shocks, job.seed, index)
        sample: dict[str, Any] = {"index": index, "occurred": [s.name for s in occurred], "draws": draws}
        for kind, plan in plans.items():
            sample[kind] = roll(plan, occurred, job.scenario, job.catalog, job.options)
        out.append(sample)
    return out


# ---------------------------------------------------------------- the engine


#: the largest seed: numpy's generators take any non-negative integer; the CLI's range
MAX_SEED = 2**63 - 1


def run_job(
    job: Job,
    samples: int,
    client: Any,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every sample of the job on the client's workers, in index order."""
    from dask.distributed import as_completed

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    size = max(1, min(25, math.ceil(samples / (workers * 4))))
    shared = client.scatter(job, broadcast=True)
    futures = [
        client.submit(run_chunk, shared, a, min(a + size, samples), pure=False)
        for a in range(0, samples, size)
    ]
    out: list[dict[str, Any]] = []
    try:
        for future in as_completed(futures):
            chunk = future.result()
            out.extend(chunk)
            if progress:
                progress(len(chunk))
    except BaseException:
        client.cancel(futures)
        raise
    return sorted(out, key=lambda s: s["index"])


# ---------------------------------------------------------------- summaries


def summarise(values: list[float]) -> dict[str, float | None]:
    """Mean, standard deviation (over the samples), P5, P50, P95 (linear interpolation), min, max."""
    if not values:
        return dict.fromkeys(("mean", "std", "p5", "p50", "p95", "min", "max"))
    a = np.asarray(values, dtype=np.float64)
    p5, p50, p95 = np.percentile(a, [5, 50, 95])
    return {
        k: round(float(v), 6)
        for k, v in (
            ("mean", a.mean()),
            ("std", a.std()),
            ("p5", p5),
            ("p50", p50),
            ("p95", p95),
            ("min", a.min()),
            ("max", a.max()),
        )
    }


def plan_summary(
    scenario: Scenario, shocks: ShockFile, samples: list[dict[str, Any]], kind: str, plan_status: str
) -> PlanRisk:
    """The distributions of one plan's outcomes over the samples."""
    outcomes = [s[kind] for s in samples]
    n = len(outcomes)
    targets = [
        f"{period} {measure}"
        for period, target in scenario.targets.items()
        for measure in ("pflops", "memory_tb")
        if getattr(target, measure) is not None
    ]
    objective = "effective_pflops" if scenario.objective == Objective.MAX_COMPUTE else "cost_usd"
    by_shock = []
    for shock in shocks.shocks:
        hit = [o[objective] for s, o in zip(samples, outcomes, strict=True) if shock.name in s["occurred"]]
        miss = [
            o[objective] for s, o in zip(samples, outcomes, strict=True) if shock.name not in s["occurred"]
        ]
        by_shock.append(
            ShockRisk(
                shock.name,
                len(hit),
                round(float(np.mean(hit)), 6) if hit else None,
                round(float(np.mean(miss)), 6) if miss else None,
            )
        )
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o["status"]] = statuses.get(o["status"], 0) + 1
    missed = {t: sum(t in o["missed"] for o in outcomes) for t in targets}
    return PlanRisk(
        summary={m: Distribution(**summarise([o[m] for o in outcomes])) for m in METRICS},
        p_target_missed={t: round(k / n, 6) if n else 0.0 for t, k in missed.items()},
        p_target_missed_ci95={t: wilson_interval(k, n) for t, k in missed.items()},
        by_shock=tuple(by_shock),
        statuses=dict(sorted(statuses.items())),
        plan_status=plan_status,
    )


# ---------------------------------------------------------------- the whole run


def risk(
    scenario: Scenario | str | Path,
    shocks: ShockFile | str | Path,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    samples: int = 1000,
    seed: int = 0,
    plans: tuple[str, ...] = ("base",),
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RiskResult:
    """Sample ``samples`` futures of the shock file and roll each plan of ``plans`` through them.

    Returns a :class:`RiskResult`; its ``to_dict()`` is the JSON object of ``gpuplan risk`` (see the
    module docstring and the README).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if not isinstance(shocks, ShockFile):
        shocks = load_shocks(shocks)
    options = SolverOptions.of(options)
    check_plain_objective(scenario, "risk")
    if scheduler is not None:
        check_scheduler(scheduler)  # before any solve
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise InputError(f"give between 1 and {MAX_SAMPLES:,} samples, got {samples!r}", key=Setting.SAMPLES)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InputError(f"give a whole number from 0 to {MAX_SEED}, got {seed!r}", key=Setting.SEED)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(
            f"give a whole number of worker processes >= 1, got {workers!r}", key=Setting.WORKERS
        )
    unknown = [p for p in plans if p not in PLANS]
    if unknown or not plans:
        raise InputError(f"plans are base and/or robust, got {', '.join(plans)}", key=Setting.PLANS)
    file = shocks.source or "shocks"
    shocks.require_probabilities("risk samples whether each shock occurs")
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    check_shock_references(shocks, cat, file, scenario)
    made = _plans_to_roll(scenario, shocks, cat, options, plans)
    if progress:
        progress(len(plans))  # the plans are solved
    return roll_plans(scenario, cat, shocks, options, made, samples, seed, workers, scheduler, progress)


def roll_plans(
    scenario: Scenario,
    cat: Catalog,
    shocks: ShockFile,
    options: SolverOptions,
    made: dict[str, tuple[str, list[int]]],
    samples: int,
    seed: int,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> RiskResult:
    """Roll plans (name -> status and servers per option of ``prepare(scenario, cat)``) through sampled futures."""
    plans = tuple(made)
    job = Job(scenario, cat, shocks, options, seed, made)
    job = Job(scenario, cat, shocks, options, seed, made, key=_job_key(job))
    with dask_client(workers, scheduler) as client:
        rows = run_job(job, samples, client, progress)
    return RiskResult(
        scenario=scenario.name,
        shocks=shocks.name,
        seed=seed,
        samples_n=samples,
        objective=scenario.objective,
        plans={kind: plan_summary(scenario, shocks, rows, kind, made[kind][0]) for kind in plans},
        samples=tuple(
            {k: v for k, v in s.items()}
            | {kind: {k: v for k, v in s[kind].items() if k != "missed"} for kind in plans}
            for s in rows
        ),
    )


def _plans_to_roll(
    scenario: Scenario, shocks: ShockFile, catalog: Catalog, options: SolverOptions, plans: tuple[str, ...]
) -> dict[str, tuple[str, list[int]]]:
    """Each plan's status and servers per option of ``prepare(scenario, catalog)``."""
    data = prepare(scenario, catalog)
    out: dict[str, tuple[str, list[int]]] = {}
    if "base" in plans:
        base = solve_data(data, options)
        if not base.ok or base.servers is None:
            raise NoPlan(f"the base plan is {base.status}: there is no plan to roll through the samples")
        out["base"] = (base.status, [int(v) for v in base.servers])
    if "robust" in plans:
        hedged = robust(scenario, shocks.typical().as_alternatives(), catalog, options)
        if not hedged.plan.ok or hedged.plan.servers is None:
            raise NoPlan(f"the robust plan is {hedged.status}: there is no plan to roll through the samples")
        out["robust"] = (hedged.plan.status, [int(v) for v in hedged.plan.servers])
    return out


def _job_key(job: Job) -> str:
    return hashlib.sha256(pickle.dumps((job.scenario, job.shocks, job.seed, job.plans))).hexdigest()[:16]


# ---------------------------------------------------------------- finished tables for the outputs


@dataclass
class RiskTables:
    """The tables reports, workbooks and charts show (computed here; output modules only format)."""

    summary: Any  # DataFrame: plan, metric, mean, std, p5, p50, p95, min, max
    targets: Any  # DataFrame: plan, target, probability_missed and its 95% interval (ci95_low, ci95_high)
    shocks: (
        Any  # DataFrame: plan, shock, probability, occurred_n, mean_when_occurs, mean_when_not, difference
    )
    samples: Any  # DataFrame: one row per sample and plan
    objective_metric: str  # effective_pflops (max-compute) or cost_usd (min-cost)


def risk_tables(result: RiskResult, shocks: ShockFile | None = None) -> RiskTables:
    """Summary, target, shock and sample tables of a risk result."""
    import pandas as pd

    metric = result.objective_metric()
    probabilities = {s.name: s.probability for s in shocks.shocks} if shocks is not None else {}
    summary, targets, by_shock, samples = [], [], [], []
    for kind, p in result.plans.items():
        for m, stats in p.summary.items():
            summary.append({"plan": kind, "metric": m, **plain(stats)})
        for t, prob in p.p_target_missed.items():
            low, high = p.p_target_missed_ci95[t]
            targets.append(
                {"plan": kind, "target": t, "probability_missed": prob, "ci95_low": low, "ci95_high": high}
            )
        for s in p.by_shock:
            occurs, not_ = s.mean_when_occurs, s.mean_when_not
            by_shock.append(
                {
                    "plan": kind,
                    "shock": s.shock,
                    "probability": probabilities.get(s.shock),
                    "occurred_n": s.occurred_n,
                    f"mean_{metric}_when_occurs": occurs,
                    f"mean_{metric}_when_not": not_,
                    "difference": None if occurs is None or not_ is None else round(occurs - not_, 6),
                }
            )
        for row in result.sample_rows(kind):
            samples.append({"plan": kind, **row})
    return RiskTables(
        pd.DataFrame(summary),
        pd.DataFrame(targets, columns=["plan", "target", "probability_missed", "ci95_low", "ci95_high"]),
        pd.DataFrame(by_shock),
        pd.DataFrame(samples),
        metric,
    )
