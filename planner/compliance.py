"""Export-control metrics (TPP, PD) and effective-dated rule evaluation.

Pure functions: a chip is any mapping with the catalog's columns, a rule is a
:class:`planner.catalog.Rule`. The channel an offer comes through never enters
these functions, so no channel can make a prohibited chip buyable.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.catalog import Clause, Rule

#: rate column -> bit length, as the contract lists them for TPP.
TPP_BITS = {
    "fp64_tflops": 64, "fp32_tflops": 32, "tf32_tflops": 32, "bf16_tflops": 16,
    "fp16_tflops": 16, "fp8_tflops": 8, "int8_tops": 8, "fp4_tflops": 4, "int4_tops": 4,
}
SEVERITY = {"allowed": 0, "license-required": 1, "prohibited": 2}


def _num(chip: Mapping, key: str) -> float | None:
    v = chip.get(key)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def tpp(chip: Mapping) -> float:
    """Total processing performance: the largest dense rate x bit length over the given rates."""
    rates = [r * bits for key, bits in TPP_BITS.items() if (r := _num(chip, key)) is not None]
    return max(rates, default=0.0)


def performance_density(chip: Mapping) -> float | None:
    """PD = TPP / die area (mm^2); None when the die area is not given."""
    area = _num(chip, "die_area_mm2")
    return None if area is None or area <= 0 else tpp(chip) / area


def clause_matches(clause: Clause, chip: Mapping) -> bool:
    """True when every condition of the clause holds for the chip."""
    t, pd = tpp(chip), performance_density(chip)
    if clause.tpp_min is not None and not t >= clause.tpp_min:
        return False
    if clause.tpp_below is not None and not t < clause.tpp_below:
        return False
    if clause.pd_min is not None and (pd is None or not pd >= clause.pd_min):
        return False
    if clause.pd_below is not None and (pd is None or not pd < clause.pd_below):
        return False
    if clause.interconnect_min_gbps is not None:
        link = _num(chip, "interconnect_gbps")
        if link is None or not link >= clause.interconnect_min_gbps:
            return False
    if clause.datacenter is not None and bool(chip.get("datacenter", True)) != clause.datacenter:
        return False
    return True


def describe_clause(clause: Clause) -> str:
    """The clause in words, e.g. ``TPP >= 1600 and PD >= 5.92``."""
    parts = []
    if clause.tpp_min is not None:
        parts.append(f"TPP >= {clause.tpp_min:g}")
    if clause.tpp_below is not None:
        parts.append(f"TPP < {clause.tpp_below:g}")
    if clause.pd_min is not None:
        parts.append(f"PD >= {clause.pd_min:g}")
    if clause.pd_below is not None:
        parts.append(f"PD < {clause.pd_below:g}")
    if clause.interconnect_min_gbps is not None:
        parts.append(f"interconnect >= {clause.interconnect_min_gbps:g} GB/s")
    if clause.datacenter is not None:
        parts.append("datacenter part" if clause.datacenter else "non-datacenter part")
    return " and ".join(parts) or "any chip"


@dataclass(frozen=True)
class Match:
    """One rule in force that matched a chip, and why."""

    rule_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class Verdict:
    """The status of a chip for a destination on a date, with the rules that decided it."""

    status: str
    matches: tuple[Match, ...] = field(default=())

    @property
    def rule_ids(self) -> list[str]:
        return [m.rule_id for m in self.matches]

    @property
    def deciding(self) -> list[Match]:
        """The matched rules whose status is the verdict's (the most severe ones)."""
        return [m for m in self.matches if m.status == self.status]


def in_force(rule: Rule, on: dt.date) -> bool:
    return rule.effective <= on and (rule.ends is None or on < rule.ends)


def rule_match(rule: Rule, chip: Mapping) -> str | None:
    """Why the rule matches the chip (in words), or None; dates and destination not checked."""
    if chip.get("origin") not in rule.origins:
        return None
    if chip.get("sku") in rule.skus:
        return f"SKU {chip.get('sku')} is listed"
    for clause in rule.when_any:
        if clause_matches(clause, chip):
            return describe_clause(clause)
    return None


def chip_status(chip: Mapping, destination: str, on: dt.date, rules: Iterable[Rule]) -> Verdict:
    """Most severe status among the rules in force on ``on`` that match the chip at ``destination``."""
    matches = []
    for rule in rules:
        if destination in rule.destinations and in_force(rule, on):
            reason = rule_match(rule, chip)
            if reason is not None:
                matches.append(Match(rule.id, rule.status, reason))
    status = max((m.status for m in matches), key=SEVERITY.__getitem__, default="allowed")
    return Verdict(status, tuple(matches))


def status_changes(chip: Mapping, destination: str, rules: list[Rule]) -> list[tuple[dt.date | None, Verdict]]:
    """The chip's status over time: ``(date, verdict)`` at each date it changes (None: before any rule)."""
    dates = sorted({d for r in rules if destination in r.destinations
                    for d in (r.effective, r.ends) if d is not None})
    first = chip_status(chip, destination, dt.date.min, rules)
    out: list[tuple[dt.date | None, Verdict]] = [(None, first)]
    for d in dates:
        v = chip_status(chip, destination, d, rules)
        if v.status != out[-1][1].status:
            out.append((d, v))
    return out
