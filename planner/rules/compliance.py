"""Export-control metrics (TPP, PD) and effective-dated rule evaluation (contract, section 1).

Pure functions: a chip is any mapping with the catalog's columns, a rule a
:class:`planner.inputs.catalog.Rule` compiled against the catalog's country groups. A rule is in
force for a chip, a destination, a buyer and a kind of offer when the chip's origin is in
``origins``, the destination in ``destinations`` and not in ``exclude_destinations``, the
buyer's headquarters in ``headquarters`` (when the rule has the key), the kind in
``applies_to``, and the date in [``effective``, ``ends``). The channel an offer comes through
never enters these functions, so no channel can make a prohibited chip buyable.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planner.inputs.units import quarter_end, quarter_start

if TYPE_CHECKING:
    from planner.inputs.catalog import Clause, Rule

#: rate column -> bit length, as the contract lists them for TPP.
TPP_BITS = {
    "fp64_tflops": 64,
    "fp32_tflops": 32,
    "tf32_tflops": 32,
    "bf16_tflops": 16,
    "fp16_tflops": 16,
    "fp8_tflops": 8,
    "int8_tops": 8,
    "fp4_tflops": 4,
    "int4_tops": 4,
}
SEVERITY = {"allowed": 0, "license-required": 1, "prohibited": 2}
Chip = Mapping[str, Any]


def _num(chip: Chip, key: str) -> float | None:
    v = chip.get(key)
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def tpp(chip: Chip) -> float:
    """Total processing performance: the largest dense rate x bit length over the given rates."""
    rates = [r * bits for key, bits in TPP_BITS.items() if (r := _num(chip, key)) is not None]
    return max(rates, default=0.0)


def performance_density(chip: Chip) -> float | None:
    """PD = TPP / die area (mm^2); None when the die area is not given."""
    area = _num(chip, "die_area_mm2")
    return None if area is None or area <= 0 else tpp(chip) / area


def chip_tags(chip: Chip) -> frozenset[str]:
    """The chip's tags (the ``tags`` column: labels separated by spaces or ``;``)."""
    raw = chip.get("tags")
    if isinstance(raw, (frozenset, set, tuple, list)):
        return frozenset(str(t) for t in raw)
    if not isinstance(raw, str):
        return frozenset()
    return frozenset(t for t in raw.replace(";", " ").split() if t)


def clause_matches(clause: Clause, chip: Chip) -> bool:
    """True when every condition of the clause holds for the chip."""
    t, pd = tpp(chip), performance_density(chip)
    checks: list[tuple[float | None, float | None, bool]] = [
        (clause.tpp_min, t, True),
        (clause.tpp_below, t, False),
        (clause.pd_min, pd, True),
        (clause.pd_below, pd, False),
        (clause.interconnect_min_gbps, _num(chip, "interconnect_gbps"), True),
        (clause.memory_bw_min_tbps, _num(chip, "memory_bw_tbps"), True),
        (clause.memory_bw_below_tbps, _num(chip, "memory_bw_tbps"), False),
    ]
    for threshold, value, at_least in checks:
        if threshold is None:
            continue
        if value is None or not (value >= threshold if at_least else value < threshold):
            return False
    if clause.datacenter is not None and bool(chip.get("datacenter", True)) != clause.datacenter:
        return False
    tags = chip_tags(chip)
    if clause.tag is not None and clause.tag not in tags:
        return False
    return not (clause.not_tag is not None and clause.not_tag in tags)


def describe_clause(clause: Clause) -> str:
    """The clause in words, e.g. ``TPP >= 1600 and PD >= 5.92``."""
    parts = []
    for value, text in (
        (clause.tpp_min, "TPP >= {:g}"),
        (clause.tpp_below, "TPP < {:g}"),
        (clause.pd_min, "PD >= {:g}"),
        (clause.pd_below, "PD < {:g}"),
        (clause.interconnect_min_gbps, "interconnect >= {:g} GB/s"),
        (clause.memory_bw_min_tbps, "memory bandwidth >= {:g} TB/s"),
        (clause.memory_bw_below_tbps, "memory bandwidth < {:g} TB/s"),
    ):
        if value is not None:
            parts.append(text.format(value))
    if clause.datacenter is not None:
        parts.append("datacenter part" if clause.datacenter else "non-datacenter part")
    if clause.tag is not None:
        parts.append(f"tagged {clause.tag}")
    if clause.not_tag is not None:
        parts.append(f"not tagged {clause.not_tag}")
    return " and ".join(parts) or "any chip"


# ------------------------------------------------------------------ rules ready to evaluate


def expand(codes: Iterable[str], groups: Mapping[str, Sequence[str]]) -> frozenset[str] | None:
    """Country codes and group names as a set of codes; None when ``"*"`` (every country) is listed."""
    out: set[str] = set()
    for code in codes:
        key = code.upper()
        if key == "*":
            return None
        out.update(groups[key] if key in groups else (key,))
    return frozenset(out)


@dataclass(frozen=True)
class Compiled:
    """A rule with its country groups expanded (``destinations`` None: every country)."""

    rule: Rule
    destinations: frozenset[str] | None
    excluded: frozenset[str]
    headquarters: frozenset[str] | None
    kinds: frozenset[str]
    site_tags: frozenset[str] | None = None

    @property
    def id(self) -> str:
        """The rule's identifier from the rules file."""
        return self.rule.id

    @property
    def status(self) -> str:
        """The status the rule gives to what it matches."""
        return self.rule.status

    def governs(
        self, destination: str, headquarters: str, kind: str, site_tags: frozenset[str] = frozenset()
    ) -> bool:
        """The rule covers this destination, buyer, kind of offer and site (dates and chip aside).

        A rule with ``site_tags`` covers only a purchase for a site carrying one of them; a lease
        runs at no site of the buyer's, so such a rule never covers it.
        """
        return (
            (self.destinations is None or destination in self.destinations)
            and destination not in self.excluded
            and (self.headquarters is None or headquarters in self.headquarters)
            and kind in self.kinds
            and (self.site_tags is None or (kind == "buy" and bool(self.site_tags & site_tags)))
        )

    def in_force(self, on: dt.date) -> bool:
        """Whether the rule is in force on a day (``effective <= on < ends``)."""
        return self.rule.effective <= on and (self.rule.ends is None or on < self.rule.ends)


def compile_rules(rules: Iterable[Rule], groups: Mapping[str, Sequence[str]]) -> list[Compiled]:
    """Expand each rule's country lists through ``groups``."""
    out = []
    for r in rules:
        hq = None if r.headquarters is None else expand(r.headquarters, groups)
        out.append(
            Compiled(
                r,
                expand(r.destinations, groups),
                expand(r.exclude_destinations, groups) or frozenset(),
                hq if r.headquarters is not None else None,
                frozenset(r.applies_to),
                None if r.site_tags is None else frozenset(r.site_tags),
            )
        )
    return out


def compiled(rules: Sequence[Compiled | Rule]) -> list[Compiled]:
    """Rules ready to evaluate (plain rules are compiled without country groups)."""
    return [r if isinstance(r, Compiled) else compile_rules([r], {})[0] for r in rules]


def rule_match(rule: Compiled | Rule, chip: Chip) -> str | None:
    """Why the rule matches the chip (in words), or None; dates, countries and buyer not checked."""
    r = rule.rule if isinstance(rule, Compiled) else rule
    if str(chip.get("origin", "")).upper() not in {o.upper() for o in r.origins}:
        return None
    if chip.get("sku") in r.skus:
        return f"SKU {chip.get('sku')} is listed"
    for clause in r.when_any:
        if clause_matches(clause, chip):
            return describe_clause(clause)
    return None


# ------------------------------------------------------------------ verdicts


@dataclass(frozen=True)
class Match:
    """One rule in force that matched a chip, and why."""

    rule_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class Terms:
    """Licence terms (contract: the largest fee and lag, the smallest approval)."""

    fee_pct: float = 0.0
    lag_quarters: int = 0
    approval: float = 1.0


@dataclass(frozen=True)
class Verdict:
    """A status with the rules that decided it; licence terms and rules when license-required."""

    status: str
    matches: tuple[Match, ...] = field(default=())
    terms: Terms = field(default=Terms())
    license_rules: tuple[str, ...] = field(default=())

    @property
    def rule_ids(self) -> list[str]:
        """Identifiers of the rules that matched, in evaluation order."""
        return [m.rule_id for m in self.matches]

    @property
    def deciding(self) -> list[Match]:
        """The matched rules whose status is the verdict's (the most severe ones)."""
        return [m for m in self.matches if m.status == self.status]


def _verdict(found: dict[str, tuple[Compiled, str]]) -> Verdict:
    """The most severe status among the matched rules, with licence terms when license-required."""
    matches = tuple(Match(c.id, c.status, reason) for c, reason in found.values())
    status = max((m.status for m in matches), key=SEVERITY.__getitem__, default="allowed")
    if status != "license-required":
        return Verdict(status, matches)
    licensing = [c for c, _ in found.values() if c.status == "license-required"]
    terms = [c.rule.license for c in licensing if c.rule.license is not None]
    return Verdict(
        status,
        matches,
        Terms(
            max((t.fee_pct for t in terms), default=0.0),
            max((t.lag_quarters for t in terms), default=0),
            min((t.approval for t in terms), default=1.0),
        ),
        tuple(c.id for c in licensing),
    )


def matching_rules(chip: Chip, rules: Sequence[Compiled | Rule]) -> list[tuple[Compiled, str]]:
    """The rules that match the chip (whatever the country, buyer, kind or date), with why."""
    return [(c, why) for c in compiled(rules) if (why := rule_match(c, chip)) is not None]


def _found_on(
    chip: Chip,
    destination: str,
    headquarters: str,
    kind: str,
    days: Iterable[dt.date],
    rules: Sequence[Compiled | Rule],
    matched: Sequence[tuple[Compiled, str]] | None = None,
    site_tags: frozenset[str] = frozenset(),
) -> dict[str, tuple[Compiled, str]]:
    found: dict[str, tuple[Compiled, str]] = {}
    pairs = matching_rules(chip, compiled(rules)) if matched is None else matched
    matched = [(c, why) for c, why in pairs if c.governs(destination, headquarters, kind, site_tags)]
    for day in days:
        for c, why in matched:
            if c.id not in found and c.in_force(day):
                found[c.id] = (c, why)
    return found


def chip_status(
    chip: Chip,
    destination: str,
    on: dt.date,
    rules: Sequence[Compiled | Rule],
    headquarters: str | None = None,
    kind: str = "buy",
    site_tags: frozenset[str] = frozenset(),
) -> Verdict:
    """Most severe status among the rules in force on ``on`` that match the chip for ``destination``, a buyer headquartered in ``headquarters`` (default: the destination), ``kind`` of offer and a site with ``site_tags``."""
    hq = destination if headquarters is None else headquarters
    return _verdict(_found_on(chip, destination, hq, kind, [on], rules, site_tags=site_tags))


def window_days(start: dt.date, end: dt.date, rules: Sequence[Compiled | Rule]) -> list[dt.date]:
    """The window's first day and every ``effective`` or ``ends`` date inside it."""
    inside = {
        d
        for c in compiled(rules)
        for d in (c.rule.effective, c.rule.ends)
        if d is not None and start < d <= end
    }
    return [start, *sorted(inside)]


def window_status(
    chip: Chip,
    destination: str,
    start: dt.date,
    end: dt.date,
    rules: Sequence[Compiled | Rule],
    headquarters: str | None = None,
    kind: str = "buy",
    matched: Sequence[tuple[Compiled, str]] | None = None,
    site_tags: frozenset[str] = frozenset(),
) -> Verdict:
    """The most severe status on any day of [start, end] (contract: status over a window).

    ``matched`` may carry :func:`matching_rules` of the chip, computed once for many windows.
    """
    hq = destination if headquarters is None else headquarters
    days = window_days(start, end, rules)
    return _verdict(_found_on(chip, destination, hq, kind, days, rules, matched, site_tags))


@dataclass(frozen=True)
class OfferVerdict:
    """An offer's status over its order-to-delivery window and when it delivers."""

    verdict: Verdict
    delay: int  # lead + lag: quarters from order (or signing) to delivery (or service start)


def offer_status(
    chip: Chip,
    destination: str,
    headquarters: str,
    kind: str,
    order_quarter: int,
    lead: int,
    term: int | None,
    rules: Sequence[Compiled | Rule],
    matched: Sequence[tuple[Compiled, str]] | None = None,
    site_tags: frozenset[str] = frozenset(),
) -> OfferVerdict:
    """Status and licence terms of an offer (contract, section 1: status over a window).

    The window runs from the first day of the order quarter to the last day of the delivery
    quarter (a lease: of its last quarter of service). Evaluated once with the lead time alone;
    the lag found moves delivery and lengthens the window, and the status and terms on that
    window are the offer's.
    """
    span = (term - 1) if kind == "lease" and term else 0
    start = quarter_start(order_quarter)
    first = window_status(
        chip,
        destination,
        start,
        quarter_end(order_quarter + lead + span),
        rules,
        headquarters,
        kind,
        matched,
        site_tags,
    )
    lag = first.terms.lag_quarters if first.status == "license-required" else 0
    if lag == 0:
        return OfferVerdict(first, lead)
    second = window_status(
        chip,
        destination,
        start,
        quarter_end(order_quarter + lead + lag + span),
        rules,
        headquarters,
        kind,
        matched,
        site_tags,
    )
    return OfferVerdict(second, lead + lag)


def status_changes(
    chip: Chip,
    destination: str,
    rules: Sequence[Compiled | Rule],
    headquarters: str | None = None,
    kind: str = "buy",
    site_tags: frozenset[str] = frozenset(),
) -> list[tuple[dt.date | None, Verdict]]:
    """The chip's status over time: ``(date, verdict)`` at each date it changes (None: before any rule)."""
    hq = destination if headquarters is None else headquarters
    governing = [c for c in compiled(rules) if c.governs(destination, hq, kind, site_tags)]
    dates = sorted({d for c in governing for d in (c.rule.effective, c.rule.ends) if d is not None})
    out: list[tuple[dt.date | None, Verdict]] = [
        (None, chip_status(chip, destination, dt.date.min, rules, hq, kind, site_tags))
    ]
    for d in dates:
        v = chip_status(chip, destination, d, rules, hq, kind, site_tags)
        if v.status != out[-1][1].status:
            out.append((d, v))
    return out


class Judged:
    """What a catalog's rules say of its chips, each worked out once: the rules matching a chip, and offer verdicts.

    ``chip`` gives a chip's record by SKU, ``rules`` are the catalog's compiled rules.
    """

    def __init__(self, chip: Callable[[str], Chip], rules: list[Compiled]) -> None:
        self.chip, self.rules = chip, rules
        self._matching: dict[str, list[tuple[Compiled, str]]] = {}
        self._offers: dict[tuple[Any, ...], OfferVerdict] = {}

    def matching(self, sku: str) -> list[tuple[Compiled, str]]:
        """:func:`matching_rules` of the chip."""
        found = self._matching.get(sku)
        if found is None:
            found = self._matching[sku] = matching_rules(self.chip(sku), self.rules)
        return found

    def offer(
        self,
        sku: str,
        destination: str,
        headquarters: str,
        kind: str,
        order_quarter: int,
        lead: int,
        term: int | None,
        site_tags: frozenset[str] = frozenset(),
    ) -> OfferVerdict:
        """:func:`offer_status` of an offer of the chip."""
        key = (sku, destination, headquarters, kind, order_quarter, lead, term, site_tags)
        found = self._offers.get(key)
        if found is None:
            found = self._offers[key] = offer_status(
                self.chip(sku),
                destination,
                headquarters,
                kind,
                order_quarter,
                lead,
                term,
                self.rules,
                self.matching(sku),
                site_tags,
            )
        return found
