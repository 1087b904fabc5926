"""Why a scenario has no plan: least relative target shortfalls, else the blocking constraints."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.model.build import build, workload_form, workload_targets
from planner.model.data import ModelData
from planner.model.keys import Family, Relax
from planner.model.linear import FloatArray, Lin, Sense
from planner.model.rows import Model, Part
from planner.model.runs import SolverOptions
from planner.model.solve import Goal, Outcome, optimize
from planner.plans.limits import binding_limits
from planner.plans.results import tabulate


def _ceil6(x: float) -> float:
    return math.ceil(x * 1e6 - 1e-9) / 1e6


def _least_slack_goal(model: Model, weighted: bool) -> Goal:
    cols = np.array([col for col, _ in model.slacks.values()], dtype=np.int64)
    weights = np.array([w if weighted else 1.0 for _, w in model.slacks.values()])
    return Goal(Sense.MINIMIZE, Lin.of(cols, weights))


def _least_slack(model: Model, options: SolverOptions, weighted: bool) -> Outcome:
    return optimize(model, _least_slack_goal(model, weighted), options)


def diagnose(data: ModelData, options: SolverOptions) -> dict[str, Any]:
    """The contract's ``diagnosis`` object (section 5).

    First the targets are made elastic and ``sum shortfall / target`` is minimised with every
    other constraint kept; the shortfalls are recomputed from the whole-server plan found and
    rounded up, so lowering each target by its shortfall is feasible. When even that has no
    solution, targets are dropped and power caps and shares made elastic: the ones that must
    be violated are the blocking constraints.
    """
    model = build(data, relax=frozenset({Relax.TARGETS}))
    result = _least_slack(model, options, weighted=True)
    if result.x is not None:
        servers = model.main.servers(result.x)
        order = {name: p for p, name in enumerate(data.periods)}
        shortfalls = sorted(
            _shortfalls(data, servers) + _workload_shortfalls(model.main, result.x),
            key=lambda s: order[s["period"]],
        )
        out: dict[str, Any] = {
            "shortfalls": shortfalls,
            "blocking": [],
            "limits": binding_limits(data, servers, solved=(model, _least_slack_goal(model, True), result.x)),
        }
        if len(shortfalls) > 1:
            out["spread"] = _spread(shortfalls)
        return out
    return _blocking(data, options)


def _shortfalls(data: ModelData, servers: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
    """Each target the whole-server plan misses, by how much (rounded up)."""
    _, periods, _, _ = tabulate(data, servers)
    shortfalls = []
    for p, name in enumerate(data.periods):
        target = data.scenario.targets.get(name)
        if target is None:
            continue
        for measure, value, column in (
            ("pflops", target.pflops, "effective_pflops"),
            ("memory_tb", target.memory_tb, "memory_tb"),
        ):
            if value is None:
                continue
            gap = value - float(periods[column].iloc[p])
            if gap > 1e-9:
                shortfalls.append(
                    {"period": name, "measure": measure, "target": value, "shortfall": _ceil6(gap)}
                )
    return shortfalls


def _workload_shortfalls(part: Part, x: FloatArray) -> list[dict[str, Any]]:
    """Each workload target entry (contract v3, section 7) the plan misses, read from the model's forms at ``x``."""
    out = []
    for p, name, measure, value in workload_targets(part.data):
        gap = value - workload_form(part, measure, p).value(x)
        if gap > 1e-9:
            out.append({"period": name, "measure": measure, "target": value, "shortfall": _ceil6(gap)})
    return out


def _spread(shortfalls: list[dict[str, Any]]) -> str:
    """Why the shortfall falls on these quarters (an extension of the contract's diagnosis)."""
    parts = [
        f"{s['period']} {s['measure']} {100 * s['shortfall'] / s['target']:.1f}% of its target"
        for s in shortfalls
    ]
    return (
        "the shortfalls are the split with the least total shortfall relative to each target "
        f"(sum of shortfall / target): {'; '.join(parts)}. Other splits of the same money may exist; "
        "lowering each target by its shortfall is feasible."
    )


def _blocking(data: ModelData, options: SolverOptions) -> dict[str, Any]:
    """Without targets: the power caps and shares that must be violated for any plan to exist."""
    model = build(data, relax=frozenset({Relax.DROP_TARGETS, Relax.POWER, Relax.SHARES}))
    result = _least_slack(model, options, weighted=False)
    blocking: list[dict[str, Any]] = []
    limits: list[str] = []
    if result.x is None:
        return {
            "shortfalls": [],
            "blocking": [],
            "limits": [f"the solver could not analyse the scenario ({result.status.value})"],
        }
    shares = data.scenario.policy.shares
    for key, (col, _) in model.slacks.items():
        if result.x[col] <= 1e-7:
            continue
        row = model.find(key)
        description = row.description if row is not None else ""
        if key.family == Family.POWER:
            blocking.append({"constraint": "power", "period": key.period, "site": key.site})
            limits.append(
                f"power: the fleet and the purchases need more than the capacity of site {key.site} in "
                f"{key.period} ({description})"
            )
        elif key.family == Family.SHARE and key.share is not None:
            entry = {"constraint": "share", "by": shares[key.share].by, "value": key.group}
            if entry not in blocking:
                blocking.append(entry)
            limits.append(f"policy share cannot be met: {description}")
    solved = (model, _least_slack_goal(model, False), result.x)
    limits.extend(binding_limits(data, model.main.servers(result.x), solved=solved))
    return {"shortfalls": [], "blocking": blocking, "limits": limits}
