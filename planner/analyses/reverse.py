"""Reverse stress tests: for each shock, the mildest amount that breaks a target or the budget.

A shock is re-planned as ``stress`` does (orders placed before it kept, the rest re-planned) with
its amount set; the amount is bisected over its range until the interval between an amount that
holds and one that breaks is at most the tolerance. What breaks:

- a target entry ``PERIOD.MEASURE`` (``2025Q4.pflops``): the re-plan has no solution and its
  diagnosis counts that entry among the targets missed (what ``stress`` reports), or finds no
  plan even with every target relaxed (a policy share or a power cap blocks: nothing is met);
- ``budget``: the re-plan has no solution within the budget, and has one with the budget lifted
  (money no longer suffices; a shock that no money can answer does not count).

Ranges, mildest amount first: supply cuts and budget cuts 0 to 1 (a budget cut below 1), price
and fx factors 1 to 10, efficiency factors and a rule's licence approval 1 down to 0, extra lead
time 1 to the quarters of the horizon. A shock whose amount is a distribution is searched over
the distribution's range instead (within the same bounds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.errors import InputError, Setting

if TYPE_CHECKING:
    from planner.inputs.catalog import Catalog
    from planner.inputs.scenario import Scenario
    from planner.inputs.shocks import Shock, ShockFile
    from planner.model.runs import SolverOptions
    from planner.plans.results import Plan

BUDGET = "budget"
#: per effect: (mildest, most severe) amount, and the default tolerance
RANGES: dict[str, tuple[float, float, float]] = {
    "supply_cut": (0.0, 1.0, 1e-3),
    "budget_cut": (0.0, 0.999, 1e-3),
    "price": (1.0, 10.0, 1e-2),
    "fx": (1.0, 10.0, 1e-2),
    "efficiency": (1.0, 0.001, 1e-3),
    "rule": (1.0, 0.0, 1e-3),
}


@dataclass(frozen=True)
class Threshold:
    """One shock's answer: the amount that breaks (None: never within the range) and the last that holds."""

    shock: str
    amount: str  # the field varied: fraction, factor, add_quarters or approval
    mildest: float
    severest: float
    tolerance: float
    breaks_at: float | None
    holds_at: float | None
    evaluations: int

    @property
    def verdict(self) -> str:
        """The answer in words."""
        if self.breaks_at is None:
            return "never within the range"
        if self.holds_at is None:
            return f"breaks already at the mildest amount, {self.breaks_at:g}"
        return f"breaks at {self.breaks_at:g} (holds at {self.holds_at:g})"

    def to_dict(self) -> dict[str, Any]:
        """JSON values."""
        return {
            "shock": self.shock,
            "amount": self.amount,
            "range": [self.mildest, self.severest],
            "tolerance": self.tolerance,
            "breaks_at": self.breaks_at,
            "holds_at": self.holds_at,
            "verdict": self.verdict,
            "evaluations": self.evaluations,
        }


def parse_breaks(text: str, scenario: Scenario) -> tuple[str, str] | None:
    """``PERIOD.MEASURE`` as (period, measure), checked against the scenario's targets; None for ``budget``."""
    if text == BUDGET:
        if scenario.budget.total_usd is None and scenario.budget.per_period_usd is None:
            raise InputError("the scenario has no budget to break", key=Setting.BREAKS)
        return None
    period, dot, measure = text.partition(".")
    target = scenario.targets.get(period) if dot else None
    entries = set()
    for p, t in scenario.targets.items():
        entries |= {f"{p}.{m}" for m in ("pflops", "memory_tb") if getattr(t, m) is not None}
        if t.training is not None:
            entries.add(f"{p}.training_pflops")
        if t.inference is not None:
            entries |= {
                f"{p}.inference_{m}"
                for m in ("memory_bw_tbps", "memory_tb")
                if getattr(t.inference, m) is not None
            }
    if target is None or f"{period}.{measure}" not in entries:
        shown = ", ".join(sorted(entries)) or "none"
        raise InputError(
            f"{text!r} is not a target entry of the scenario (its entries: {shown}); give PERIOD.MEASURE "
            f"such as 2025Q4.pflops, or {BUDGET}",
            key=Setting.BREAKS,
        )
    return period, measure


def _range(shock: Shock, horizon: int) -> tuple[str, float, float, float] | None:
    """The field varied and its (mildest, severest, tolerance); None when the shock has no amount."""
    from planner.inputs.shocks import AMOUNTS

    if shock.effect == "rule":
        if shock.rule is None or shock.rule.license is None:
            return None
        field = "approval"
    else:
        field = AMOUNTS[shock.effect]
    if shock.effect == "lead_time":
        mild, severe, tol = 1.0, float(max(horizon, 1)), 1.0
    else:
        mild, severe, tol = RANGES[shock.effect]
    dist = shock.uncertain
    if dist is not None:
        low, high = dist.support()
        lo, hi = (mild, severe) if mild <= severe else (severe, mild)
        low, high = max(low, lo), min(high, hi)
        mild, severe = (low, high) if mild <= severe else (high, low)
    return field, mild, severe, tol


def reverse_stress(
    scenario: Scenario | str | Path,
    shocks: ShockFile | str | Path,
    breaks: str,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """For every shock with an amount, the mildest amount that breaks ``breaks`` (see the module docstring)."""
    from planner.analyses.stressing import _inputs
    from planner.inputs.shocks import load_shocks

    loaded = load_shocks(shocks) if isinstance(shocks, str | Path) else shocks
    scen, _, cat, opts, base = _inputs(scenario, loaded, catalog, options)
    entry = parse_breaks(breaks, scen)
    if not base.ok:
        raise InputError(f"the scenario has no plan ({base.status}) to stress", key="SCENARIO")
    out: dict[str, Any] = {
        "scenario": scen.name,
        "shocks": loaded.name,
        "breaks": breaks,
        "base_status": base.status,
        "thresholds": [],
        "skipped": [],
    }
    for shock in loaded.shocks:
        found = _range(shock, len(scen.periods))
        if found is None:
            out["skipped"].append(
                {"shock": shock.name, "reason": "no amount to vary (a rule without licence terms)"}
            )
            continue
        field, mild, severe, tol = found
        step = tolerance if tolerance is not None else tol
        threshold = _bisect(
            shock, field, mild, severe, step, lambda s: _broken(base, s, scen, cat, opts, entry)
        )
        out["thresholds"].append(threshold.to_dict())
    return out


def _bisect(shock: Shock, field: str, mild: float, severe: float, tol: float, broken: Any) -> Threshold:
    """Bisection between the mildest and the severest amount (whole quarters for lead time)."""
    whole = field == "add_quarters"
    evaluations = 0

    def test(amount: float) -> bool:
        nonlocal evaluations
        evaluations += 1
        return bool(broken(shock.with_amount(amount)))

    if not test(severe):
        return Threshold(shock.name, field, mild, severe, tol, None, severe, evaluations)
    if test(mild):
        return Threshold(shock.name, field, mild, severe, tol, mild, None, evaluations)
    holds, breaks = mild, severe
    while abs(breaks - holds) > tol:
        middle = (holds + breaks) / 2
        if whole:
            middle = float(math.floor(middle + 0.5))
            if middle in (holds, breaks):
                break
        if test(middle):
            breaks = middle
        else:
            holds = middle
    return Threshold(shock.name, field, mild, severe, tol, _clean(breaks), _clean(holds), evaluations)


def _clean(x: float) -> float:
    return float(f"{x:.6g}")


def _broken(
    base: Plan,
    shock: Shock,
    scenario: Scenario,
    cat: Catalog,
    options: SolverOptions,
    entry: tuple[str, str] | None,
) -> bool:
    """Whether the re-plan under ``shock`` misses the target entry (or, for ``None``, runs out of money)."""
    from planner.analyses.stressing import _shocked, replan_step
    from planner.plans.plan import solve_data

    step = replan_step(base, _shocked(shock, scenario, cat, base), options)
    if step.after.ok:
        return False
    if entry is None:
        lifted = replace(step.data, total_budget=None, budget_per_period=None)
        return solve_data(lifted, options).ok
    period, measure = entry
    diagnosis = step.after.diagnosis
    if diagnosis is None:
        return False
    if diagnosis.blocking:  # no re-plan even with every target relaxed: nothing is met
        return True
    return f"{period} {measure}" in diagnosis.missed()
