"""Why a scenario has no plan: least relative target shortfalls, else the blocking constraints."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from planner.model.build import build, share_groups, workload_form, workload_targets
from planner.model.data import ModelData
from planner.model.keys import Family, Relax
from planner.model.linear import FloatArray, Lin, Sense
from planner.model.rows import Model, Part
from planner.model.runs import SolverOptions
from planner.model.solve import Goal, Outcome, optimize
from planner.plans.limits import binding_limits
from planner.plans.results import tabulate


@dataclass(frozen=True)
class Shortfall:
    """A target entry no plan can meet, and by how much it falls short (rounded up)."""

    period: str
    measure: str  # pflops, memory_tb, or a workload measure (section 7)
    target: float
    shortfall: float

    def to_json(self) -> dict[str, Any]:
        """The contract's shortfall object."""
        return {
            "period": self.period,
            "measure": self.measure,
            "target": self.target,
            "shortfall": self.shortfall,
        }


@dataclass(frozen=True)
class Blocking:
    """A power cap (``period``, ``site``) or a policy share (``by``, ``value``) that must be violated for any plan to exist."""

    constraint: str  # power or share
    period: str | None = None
    site: str | None = None
    by: str | None = None
    value: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The contract's blocking object: a power cap's quarter and site, or a share's grouping and group."""
        if self.constraint == "power":
            return {"constraint": "power", "period": self.period, "site": self.site}
        return {"constraint": self.constraint, "by": self.by, "value": self.value}


@dataclass(frozen=True)
class Diagnosis:
    """Why a scenario has no plan (the contract's ``diagnosis``, section 5): least shortfalls, else the blocking constraints, and the limits in words."""

    shortfalls: tuple[Shortfall, ...] = ()
    blocking: tuple[Blocking, ...] = ()
    limits: tuple[str, ...] = ()
    spread: str | None = None  # why the shortfalls fall where they do (an extension), with two or more

    def missed(self) -> list[str]:
        """The target entries missed, as ``"PERIOD MEASURE"``."""
        return [f"{s.period} {s.measure}" for s in self.shortfalls]

    def to_json(self) -> dict[str, Any]:
        """The JSON object."""
        out: dict[str, Any] = {
            "shortfalls": [s.to_json() for s in self.shortfalls],
            "blocking": [b.to_json() for b in self.blocking],
            "limits": list(self.limits),
        }
        if self.spread is not None:
            out["spread"] = self.spread
        return out


def _ceil6(x: float) -> float:
    return math.ceil(x * 1e6 - 1e-9) / 1e6


def _least_slack_goal(model: Model, weighted: bool) -> Goal:
    cols = np.array([col for col, _ in model.slacks.values()], dtype=np.int64)
    weights = np.array([w if weighted else 1.0 for _, w in model.slacks.values()])
    return Goal(Sense.MINIMIZE, Lin.of(cols, weights))


def _least_slack(model: Model, options: SolverOptions, weighted: bool) -> Outcome:
    return optimize(model, _least_slack_goal(model, weighted), options)


def diagnose(data: ModelData, options: SolverOptions) -> Diagnosis:
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
            key=lambda s: order[s.period],
        )
        return Diagnosis(
            tuple(shortfalls),
            limits=tuple(
                binding_limits(data, servers, solved=(model, _least_slack_goal(model, True), result.x))
            ),
            spread=_spread(shortfalls) if len(shortfalls) > 1 else None,
        )
    return _blocking(data, options)


def _shortfalls(data: ModelData, servers: npt.NDArray[np.int64]) -> list[Shortfall]:
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
                shortfalls.append(Shortfall(name, measure, value, _ceil6(gap)))
    return shortfalls


def _workload_shortfalls(part: Part, x: FloatArray) -> list[Shortfall]:
    """Each workload target entry (contract v3, section 7) the plan misses, read from the model's forms at ``x``."""
    out = []
    for p, name, measure, value in workload_targets(part.data):
        gap = value - workload_form(part, measure, p).value(x)
        if gap > 1e-9:
            out.append(Shortfall(name, measure, value, _ceil6(gap)))
    return out


def _spread(shortfalls: list[Shortfall]) -> str:
    """Why the shortfall falls on these quarters (an extension of the contract's diagnosis)."""
    parts = [f"{s.period} {s.measure} {100 * s.shortfall / s.target:.1f}% of its target" for s in shortfalls]
    return (
        "the shortfalls are the split with the least total shortfall relative to each target "
        f"(sum of shortfall / target): {'; '.join(parts)}. Other splits of the same money may exist; "
        "lowering each target by its shortfall is feasible."
    )


def _blocking(data: ModelData, options: SolverOptions) -> Diagnosis:
    """Without targets: the power caps and shares that must be violated for any plan to exist."""
    model = build(data, relax=frozenset({Relax.DROP_TARGETS, Relax.POWER, Relax.SHARES}))
    result = _least_slack(model, options, weighted=False)
    blocking: list[Blocking] = []
    limits: list[str] = []
    if result.x is None:
        return Diagnosis(limits=(f"the solver could not analyse the scenario ({result.status.value})",))
    shares = data.scenario.policy.shares
    for key, (col, _) in model.slacks.items():
        if result.x[col] <= 1e-7:
            continue
        row = model.find(key)
        description = row.description if row is not None else ""
        if key.family == Family.POWER:
            blocking.append(Blocking("power", period=key.period, site=key.site))
            limits.append(
                f"power: the fleet and the purchases need more than the capacity of site {key.site} in "
                f"{key.period} ({description})"
            )
        elif key.family == Family.SHARE and key.share is not None:
            entry = Blocking("share", by=shares[key.share].by, value=key.group)
            if entry not in blocking:
                blocking.append(entry)
            limits.append(f"policy share cannot be met: {description}")
    solved = (model, _least_slack_goal(model, False), result.x)
    limits.extend(binding_limits(data, model.main.servers(result.x), solved=solved))
    return Diagnosis(blocking=tuple(blocking), limits=tuple(limits))


def contradictory_shares(data: ModelData) -> list[str]:
    """Minimum shares that together ask for more than the whole of one measure, in words.

    Shares on the same measure, grouping and scope whose floors for different groups add up to
    more than 100% can only all hold when the measure is zero: the plan is then empty (or, with a
    fleet counted in it, infeasible).
    """
    shares = data.scenario.policy.shares
    floors: dict[tuple[str, str, str], list[tuple[int, str, float]]] = {}
    for k, value in share_groups(data):
        share = shares[k]
        if share.min is None or share.min <= 0:
            continue
        scope = f"{share.within.by}={share.within.value}" if share.within is not None else ""
        floors.setdefault((share.measure, share.by, scope), []).append((k, value, share.min))
    out = []
    for (measure, by, _), entries in sorted(floors.items()):
        best: dict[str, tuple[int, float]] = {}
        for k, value, low in entries:
            if value not in best or low > best[value][1]:
                best[value] = (k, low)
        total = sum(low for _, low in best.values())
        if len(best) > 1 and total > 1 + 1e-9:
            named = "; ".join(
                f"policy.shares[{k}] ({by} {value} {measure} >= {low:.0%})"
                for value, (k, low) in sorted(best.items())
            )
            out.append(
                f"policy: these shares together ask for {total:.0%} of the {measure}, so only an empty plan "
                f"meets them all: {named}"
            )
    return out
