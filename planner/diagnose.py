"""Why a scenario has no plan: least relative target shortfalls, else the blocking constraints."""

from __future__ import annotations

import math
from typing import Any

import pulp

from planner.model.build import build, share_groups
from planner.model.data import ModelData
from planner.model.solve import SolverOptions, run
from planner.results import binding_limits, tabulate


def _ceil6(x: float) -> float:
    return math.ceil(x * 1e6 - 1e-9) / 1e6


def diagnose(data: ModelData, options: SolverOptions) -> dict[str, Any]:
    """The contract's ``diagnosis`` object (section 5).

    First the targets are made elastic and ``sum shortfall / target`` is minimised with
    every other constraint kept; the shortfalls are recomputed from the whole-server plan
    found and rounded up, so lowering each target by its shortfall is feasible. When even
    that has no solution, targets are dropped and power caps and shares made elastic: the
    ones that must be violated are the blocking constraints.
    """
    model = build(data, relax=frozenset({"targets"}))
    model.prob.setObjective(pulp.LpAffineExpression([(s, w) for s, _, _, w in model.slacks.values()]))
    result = run(model.prob, options)
    if result.status in ("optimal", "feasible"):
        servers = model.servers()
        _, periods, _ = tabulate(data, servers)
        shortfalls = []
        for p, name in enumerate(data.periods):
            target = data.scenario.targets.get(name)
            if target is None:
                continue
            for measure, value, column in (("pflops", target.pflops, "effective_pflops"),
                                           ("memory_tb", target.memory_tb, "memory_tb")):
                if value is None:
                    continue
                gap = value - float(periods[column].iloc[p])
                if gap > 1e-9:
                    shortfalls.append({"period": name, "measure": measure, "target": value,
                                       "shortfall": _ceil6(gap)})
        return {"shortfalls": shortfalls, "blocking": [], "limits": binding_limits(data, servers)}

    model = build(data, relax=frozenset({"no-targets", "power", "shares"}))
    model.prob.setObjective(pulp.LpAffineExpression([(s, 1.0) for s, _, _, _ in model.slacks.values()]))
    result = run(model.prob, options)
    blocking: list[dict[str, Any]] = []
    limits: list[str] = []
    if result.status in ("optimal", "feasible"):
        shares = data.scenario.policy.shares
        groups = share_groups(model)
        for name, (var, family, description, _) in model.slacks.items():
            if (var.value() or 0.0) <= 1e-7:
                continue
            if family == "power":
                period = name.removeprefix("power_")
                blocking.append({"constraint": "power", "period": period})
                limits.append(f"power: the fleet and the purchases need more than the site capacity in {period} "
                              f"({description})")
            else:
                k, value = groups[int(name.split("_")[2])]      # share_{k}_{group}_{bound}
                entry = {"constraint": "share", "by": shares[k].by, "value": value}
                if entry not in blocking:
                    blocking.append(entry)
                limits.append(f"policy share cannot be met: {description}")
        limits.extend(binding_limits(data, model.servers()))
    else:
        limits.append(f"the solver could not analyse the scenario ({result.status})")
    return {"shortfalls": [], "blocking": blocking, "limits": limits}
