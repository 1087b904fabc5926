"""Sample-average plans: one plan chosen over N sampled futures, for their mean, their worst share, or odds.

Futures are drawn as ``gpuplan risk`` draws them (:func:`planner.analyses.sampling.draw`: seed ``S``,
indices ``0 .. N-1``). One model holds the no-shock future (the *base* part: the plan itself)
and one part per distinct sampled future with a shock (futures with the same shocks and amounts
are merged and weighted by their count). In a future whose first shock opens quarter ``f``, every
order placed before ``f`` is the base part's (non-anticipativity, the rows robust plans use);
later orders are that future's own re-plan, made under all its shocks (each acting from its own
date). Budget cuts act as in robust plans (the unspent budget cut from the cut's quarter).

With ``w_s`` the share of the N samples that are future ``s`` and ``X_s`` its outcome (effective
PFLOPS of the last quarter for max-compute, the contract's cost for min-cost):

- ``expected``: maximise (minimise) ``sum_s w_s X_s``;
- ``cvar:ALPHA`` (Rockafellar-Uryasev): for max-compute maximise
  ``eta - (1/ALPHA) sum_s w_s u_s`` with ``u_s >= eta - X_s``, ``u_s >= 0`` (at the optimum, the
  mean of the worst ALPHA share of futures); for min-cost minimise
  ``eta + (1/ALPHA) sum_s w_s u_s`` with ``u_s >= X_s - eta``, ``u_s >= 0``;
- ``--chance P``: every target row of every future is elastic, ``T + shortfall >= target``, with one
  binary ``z`` per future and target, ``shortfall <= target (1 - z)``, and
  ``sum_s w_s z_s >= P`` per target: each target met in at least a share P of the futures.

Then, among plans at that value, the least total cost over the futures. The plan's orders are
whole servers; each future's re-plan after its first shock is solved as a linear program (whole
servers there would make N coupled MILPs: 6 futures of base-7b already take minutes), so the
in-sample outcomes are those of continuous re-plans, a little better than whole-server ones;
the out-of-sample check re-plans in whole servers, as ``risk`` does. The plan is evaluated
out of sample by the risk engine on fresh futures (seed ``S + 1``: no future in common), beside
the base plan (the scenario's own optimum) on the same futures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from planner.errors import InputError, NoPlan, Setting, words
from planner.model.choices import Objective
from planner.model.keys import Family, Relax, RowKey
from planner.model.linear import Lin, Sense

if TYPE_CHECKING:
    from planner.inputs.catalog import Catalog
    from planner.inputs.scenario import Scenario
    from planner.inputs.shocks import Shock, ShockFile
    from planner.model.data import ModelData
    from planner.model.rows import Model, Part
    from planner.model.runs import SolverOptions
    from planner.model.solve import Goal
    from planner.plans.results import Plan


@dataclass(frozen=True)
class RiskObjective:
    """``expected`` or ``cvar`` with its share ``alpha`` of worst futures."""

    kind: str
    alpha: float = 1.0

    @staticmethod
    def parse(text: str) -> RiskObjective:
        """``expected`` or ``cvar:ALPHA`` with ALPHA in (0, 1]."""
        if text == "expected":
            return RiskObjective("expected")
        head, _, tail = text.partition(":")
        if head == "cvar":
            try:
                alpha = float(tail)
            except ValueError:
                alpha = -1.0
            if 0 < alpha <= 1:
                return RiskObjective("cvar", alpha)
        raise InputError(
            f"give expected or cvar:ALPHA with ALPHA in (0, 1] (e.g. cvar:0.05), got {text!r}",
            key=Setting.RISK_OBJECTIVE,
        )

    @property
    def label(self) -> str:
        """As written on the command line."""
        return "expected" if self.kind == "expected" else f"cvar:{self.alpha:g}"


@dataclass
class Future:
    """A distinct sampled future: its shocks (amounts fixed), how many samples drew it, and which."""

    shocks: list[Shock]
    count: int
    indices: list[int] = field(default_factory=list)


def futures(shocks: ShockFile, seed: int, samples: int) -> tuple[list[Future], list[int]]:
    """The distinct futures with a shock among samples ``0 .. samples-1``, and the indices of those without."""
    from planner.analyses.sampling import draw

    merged: dict[str, Future] = {}
    quiet: list[int] = []
    for index in range(samples):
        occurred, _ = draw(shocks, seed, index)
        if not occurred:
            quiet.append(index)
            continue
        key = repr(sorted(s.model_dump_json() for s in occurred))
        if key not in merged:
            merged[key] = Future(sorted(occurred, key=lambda s: s.starts), 0)
        merged[key].count += 1
        merged[key].indices.append(index)
    return list(merged.values()), quiet


def future_data(
    scenario: Scenario, catalog: Catalog, occurred: list[Shock], pre: ModelData | None = None
) -> tuple[ModelData, int, list[tuple[float, int]]]:
    """The model data of one future: its first open quarter and its budget cuts (fraction, quarter).

    ``pre``: ``prepare(scenario, catalog)`` when the caller has it (the same for every future).
    """
    from planner.analyses.stressing import efficiency_change, reopen
    from planner.inputs.shocks import apply, fixed
    from planner.model.data import prepare

    current_scenario, current_catalog = scenario, catalog
    cuts: list[tuple[float, int]] = []
    efficiency = None
    first = None
    for shock in occurred:
        shocked = apply(shock, current_scenario, current_catalog)
        if first is None:
            first = shocked.first
        if shock.budget_cut is not None:
            budget = shocked.scenario.budget.model_copy(update={"total_usd": scenario.budget.total_usd})
            shocked = replace(shocked, scenario=shocked.scenario.model_copy(update={"budget": budget}))
            cuts.append((fixed(shock.budget_cut.fraction), shocked.first))
        if shock.efficiency is not None:
            if efficiency is not None:
                raise InputError(
                    "a sampled future with two efficiency shocks: sample-average plans take one per future",
                    key=Setting.RISK_SHOCKS,
                )
            efficiency = shocked
        current_scenario, current_catalog = shocked.scenario, shocked.catalog
    assert first is not None
    pre = prepare(scenario, catalog) if pre is None else pre
    post = prepare(current_scenario, current_catalog)
    data, _ = reopen(pre, post, current_catalog, first, occurred[0].starts)
    if efficiency is not None:
        data = replace(data, efficiency=efficiency_change(efficiency, data))
    return data, first, cuts


@dataclass
class SampleAveragePlan:
    """The plan, how it was chosen, and its in-sample outcomes per sample (index order)."""

    plan: Plan
    objective: RiskObjective
    chance: float | None
    samples: int
    seed: int
    outcomes: list[dict[str, Any]]  # per sample: index, occurred, the outcome and the targets missed
    seconds: float
    branches: int  # distinct futures with a shock (parts of the model besides the base)


def _outcome(part: Part, x: np.ndarray) -> float:
    """A future's outcome at the solution: last-quarter effective PFLOPS, or its cost."""
    if part.data.scenario.objective == Objective.MAX_COMPUTE:
        return part.compute[-1].value(x)
    return part.cost.value(x)


def _missed(part: Part, x: np.ndarray) -> list[str]:
    """The target entries a future's part misses at the solution (beyond a tolerance of 1e-6 relative)."""
    out = []
    for p, name in enumerate(part.data.periods):
        target = part.data.scenario.targets.get(name)
        if target is None:
            continue
        for measure, value, forms in (
            ("pflops", target.pflops, part.compute),
            ("memory_tb", target.memory_tb, part.memory),
        ):
            if value is not None and forms[p].value(x) < value - 1e-6 * max(value, 1.0):
                out.append(f"{name} {measure}")
    return out


def sample_average_plan(
    scenario: Scenario,
    catalog: Catalog,
    shocks: ShockFile,
    samples: int,
    seed: int,
    objective: RiskObjective,
    chance: float | None,
    options: SolverOptions,
    progress: Callable[[int], None] | None = None,
) -> SampleAveragePlan:
    """One model over the sampled futures (see the module docstring)."""
    from planner.model.solve import optimize

    if scenario.objective not in (Objective.MAX_COMPUTE, Objective.MIN_COST):
        raise InputError("sample-average plans take max-compute or min-cost", key="objective")
    if chance is not None and not scenario.targets:
        raise InputError(
            words("{} sets the odds of meeting targets: the scenario has none", Setting.CHANCE),
            key=Setting.CHANCE,
        )
    started = time.perf_counter()
    distinct, quiet = futures(shocks, seed, samples)
    model, parts, firsts = _model(
        scenario, catalog, distinct, len(quiet) / samples, samples, chance is not None
    )
    if progress:
        progress(1)
    goal = _goal(model, parts, objective, scenario.objective == Objective.MAX_COMPUTE)
    if chance is not None:
        _chance_rows(model, parts, chance)
    result = optimize(model, goal, options)
    if result.x is None:
        raise NoPlan(
            words(
                "no sample-average plan: the model over {} futures is {}"
                + (" (try a lower {})" if chance else ""),
                samples,
                result.status.value,
                Setting.CHANCE,
            )
        )
    plan = _polished(parts[0][0], result.x, max(firsts, default=0), result.status.value, options)
    if progress:
        progress(1)
    outcomes = _per_sample(parts, distinct, quiet, result.x, samples)
    return SampleAveragePlan(
        replace(plan, seconds=time.perf_counter() - started),
        objective,
        chance,
        samples,
        seed,
        outcomes,
        time.perf_counter() - started,
        len(distinct),
    )


def _model(
    scenario: Scenario, catalog: Catalog, distinct: list[Future], quiet: float, samples: int, elastic: bool
) -> tuple[Model, list[tuple[Part, float]], list[int]]:
    """The base part (weight: the share of samples with no shock) and one part per distinct future."""
    from planner.model.build import add_scenario, define_branch_budget_cut, define_nonanticipativity
    from planner.model.data import prepare
    from planner.model.rows import Model

    relax = frozenset({Relax.TARGETS}) if elastic else frozenset[Relax]()
    model = Model()
    base_data = prepare(scenario, catalog)
    base = add_scenario(model, base_data, relax=relax, branch="b0")
    parts: list[tuple[Part, float]] = [(base, quiet)]
    firsts = []
    for k, future in enumerate(distinct, start=1):
        data, first, cuts = future_data(scenario, catalog, future.shocks, base_data)
        start = model.n_cols
        part = add_scenario(model, data, relax=relax, branch=f"s{k}")
        # the future's own re-plan is continuous (an LP recourse): its orders before the first
        # shock are the base part's whole servers through the non-anticipativity rows
        model.col_integer[start:] = [False] * (model.n_cols - start)
        define_nonanticipativity(model, base, part, first)
        for fraction, quarter in cuts:
            if scenario.budget.total_usd is not None:
                define_branch_budget_cut(model, part, fraction, quarter, scenario.budget.total_usd)
        parts.append((part, future.count / samples))
        firsts.append(first)
    return model, parts, firsts


def _goal(model: Model, parts: list[tuple[Part, float]], objective: RiskObjective, maximize: bool) -> Goal:
    """The expected outcome, or the CVaR of the worst share (then the expected outcome among equals)."""
    from planner.model.rows import GE
    from planner.model.solve import Goal

    outcome = [part.compute[-1] if maximize else part.cost for part, _ in parts]
    weights = [w for _, w in parts]
    expected = Lin.total(outcome, weights)
    sense = Sense.MAXIMIZE if maximize else Sense.MINIMIZE
    if objective.kind == "expected":
        return Goal(sense, expected, Lin.total([part.cost for part, _ in parts]))
    eta = int(model.add_columns(["cvar_eta"], [-float("inf")], [float("inf")], integer=False)[0])
    n = len(parts)
    us = model.add_columns([f"cvar_u_{k}" for k in range(n)], [0.0] * n, [float("inf")] * n, integer=False)
    sign = 1.0 if maximize else -1.0  # u >= eta - X (max) or u >= X - eta (min)
    for k, ((part, _), form) in enumerate(zip(parts, outcome, strict=True)):
        excess = Lin.of(np.array([int(us[k]), eta]), np.array([1.0, -sign]))
        model.add(
            RowKey(Family.CVAR, branch=part.branch),
            Lin.total([excess, form], [1.0, sign]),
            GE,
            0.0,
            f"excess of future {part.branch} past the worst-share threshold",
        )
    tail = Lin.of(us, np.asarray(weights) / objective.alpha)
    cvar = Lin.total([Lin.of(np.array([eta]), np.array([1.0])), tail], [1.0, -sign])
    # among plans with the same worst share, the best mean (the least-cost tie-break would let
    # every other future sink to the worst one's level)
    return Goal(sense, cvar, Lin.total([expected], [-sign]))


def _polished(base: Part, x: np.ndarray, last_first: int, status: str, options: SolverOptions) -> Plan:
    """The plan: the base part's orders in the quarters some future shares (before ``last_first``), fixed; the later quarters re-planned for the future with no shock."""
    from planner.plans.plan import solve_data

    data = base.data
    servers = base.servers(x)
    t = data.offers["t"].to_numpy(np.int64)
    pinned = np.where(t < last_first, servers.astype(np.float64), np.nan)
    plan = solve_data(replace(data, fixed=pinned), options)
    if not plan.ok:  # the no-shock future's own orders are a plan; keep them
        from planner.plans.plan import plan_from_servers

        return plan_from_servers(data, servers, status)
    return plan


def _per_sample(
    parts: list[tuple[Part, float]], distinct: list[Future], quiet: list[int], x: np.ndarray, samples: int
) -> list[dict[str, Any]]:
    """Each sample's in-sample outcome and targets missed, read from its future's part."""
    out: dict[int, dict[str, Any]] = {}
    base = parts[0][0]
    value, missed = _outcome(base, x), _missed(base, x)
    for index in quiet:
        out[index] = {"index": index, "occurred": [], "outcome": value, "missed": missed}
    for future, (part, _) in zip(distinct, parts[1:], strict=True):
        value, missed = _outcome(part, x), _missed(part, x)
        names = [s.name for s in future.shocks]
        for index in future.indices:
            out[index] = {"index": index, "occurred": names, "outcome": value, "missed": missed}
    return [out[i] for i in range(samples)]


def _chance_rows(model: Model, parts: list[tuple[Part, float]], chance: float) -> None:
    """``shortfall <= target (1 - z)`` per future and target; ``sum_s w_s z_s >= P`` per target."""
    from planner.model.rows import GE, LE

    met: dict[tuple[str | None, str | None], list[tuple[int, float]]] = {}
    for part, weight in parts:
        for key, (slack, _) in list(model.slacks.items()):
            if key.family != Family.TARGET or key.branch != part.branch:
                continue
            row = model.find(key)
            assert row is not None
            value = max(row.lower, 0.0)  # the target less what the fleet brings: the largest shortfall
            z = int(
                model.add_columns(
                    [f"z_{part.branch}_{key.period}_{key.measure}"], [0.0], [1.0], integer=True
                )[0]
            )
            cols = np.array(sorted([slack, z]), dtype=np.int64)
            coef = np.array([1.0 if c == slack else value for c in cols])
            model.add(
                RowKey(Family.CHANCE, period=key.period, measure=key.measure, branch=part.branch),
                Lin(cols, coef),
                LE,
                value,
                f"{key.measure} in {key.period} met in future {part.branch} unless z = 0",
            )
            met.setdefault((key.period, key.measure), []).append((z, weight))
    for (period, measure), zs in met.items():
        cols = np.array([z for z, _ in zs], dtype=np.int64)
        model.add(
            RowKey(Family.CHANCE, period=period, measure=measure),
            Lin.of(cols, np.array([w for _, w in zs])),
            GE,
            chance - 1e-9,
            f"{measure} in {period} met in at least {chance:.0%} of the futures",
        )


def _in_sample(scenario: Scenario, result: SampleAveragePlan) -> dict[str, Any]:
    """The in-sample summary, in the form ``risk`` writes: the objective's distribution and the odds of missing each target."""
    from planner.analyses.sampling import summarise

    metric = "effective_pflops" if scenario.objective == Objective.MAX_COMPUTE else "cost_usd"
    targets = [
        f"{period} {measure}"
        for period, target in scenario.targets.items()
        for measure in ("pflops", "memory_tb")
        if getattr(target, measure) is not None
    ]
    n = len(result.outcomes)
    return {
        "summary": {metric: summarise([o["outcome"] for o in result.outcomes])},
        "p_target_missed": {t: round(sum(t in o["missed"] for o in result.outcomes) / n, 6) for t in targets},
    }


def risk_plan(
    scenario: Scenario | str | Path,
    shocks: ShockFile | str | Path,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    samples: int = 200,
    seed: int = 0,
    objective: str = "expected",
    chance: float | None = None,
    check_samples: int = 1000,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """The sample-average plan, with its in-sample summary and its out-of-sample check beside the base plan's.

    The JSON adds ``in_sample``, ``out_of_sample`` and ``base_out_of_sample`` (as ``risk`` writes a
    plan's summary) and ``risk_plan`` (how it was made) to the contract's plan object.
    """
    from planner.analyses.sampling import MAX_SAMPLES, roll_plans
    from planner.inputs.scenario import check_plain_objective, check_references, load_scenario
    from planner.inputs.shocks import check_shock_references, load_shocks
    from planner.model.data import prepare
    from planner.model.runs import SolverOptions
    from planner.plans.plan import catalog_for, solve_data

    loaded = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    shock_file = load_shocks(shocks) if isinstance(shocks, str | Path) else shocks
    options = SolverOptions.of(options)
    check_plain_objective(loaded, "plan --risk")
    goal = RiskObjective.parse(objective)
    for value, key in ((samples, Setting.SAMPLES), (check_samples, Setting.CHECK_SAMPLES)):
        if not 1 <= value <= MAX_SAMPLES:
            raise InputError(f"give between 1 and {MAX_SAMPLES:,} samples, got {value}", key=key)
    if chance is not None and not 0 < chance <= 1:
        raise InputError(f"give a share in (0, 1], got {chance:g}", key=Setting.CHANCE)
    file = shock_file.source or "shocks"
    shock_file.require_probabilities("the futures are sampled")
    cat = catalog_for(loaded, catalog)
    check_references(loaded, cat)
    check_shock_references(shock_file, cat, file, loaded)
    result = sample_average_plan(loaded, cat, shock_file, samples, seed, goal, chance, options, progress)
    base = solve_data(prepare(loaded, cat), options)
    made = {"sample_average": (result.plan.status, _servers(result.plan))}
    if base.ok:
        made["base"] = (base.status, _servers(base))
    checked = roll_plans(
        loaded, cat, shock_file, options, made, check_samples, seed + 1, workers, None, progress
    )
    from planner.analyses.risk_results import SampleAverage

    report = SampleAverage(
        {
            "shocks": shock_file.name,
            "samples": samples,
            "seed": seed,
            "objective": goal.label,
            "chance": chance,
            "futures_with_shocks": result.branches,
            "out_of_sample_samples": check_samples,
            "out_of_sample_seed": seed + 1,
            "seconds": round(result.seconds, 3),
        },
        _in_sample(loaded, result),
        checked.plans["sample_average"].to_dict(by_shock=False),
        checked.plans["base"].to_dict(by_shock=False) if base.ok else None,
    )
    return replace(result.plan, sample_average=report)


def _servers(plan: Plan) -> list[int]:
    assert plan.servers is not None
    return [int(v) for v in plan.servers]
