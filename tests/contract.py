"""The contract (shared/spec/model.md, version 3 section 6 included) re-implemented from scratch for the tests.

Imports nothing from ``planner``: it reads the scenario and catalog files itself, derives the
usable options, and evaluates any assignment of whole servers. Tests use it to re-derive a
plan's JSON (every constraint, every reported figure) and to find the optimum by brute force
on small instances. Plain Python, written for reading rather than speed.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TOL = 1e-6
SEVERITY = {"allowed": 0, "license-required": 1, "prohibited": 2}
BITS = {
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


# ------------------------------------------------------------------ reading


def money(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", "")
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(text[-1:].upper(), 1.0)
    return float(text[:-1] if scale != 1.0 else text) * scale


def quarter(text: str) -> int:
    year, q = str(text).split("Q")
    return int(year) * 4 + int(q) - 1


def quarter_text(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def first_day(index: int) -> dt.date:
    return dt.date(index // 4, index % 4 * 3 + 1, 1)


def last_day(index: int) -> dt.date:
    return first_day(index + 1) - dt.timedelta(days=1)


def _float(text: str | None) -> float | None:
    return None if text is None or str(text).strip() == "" else float(text)


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _codes(text: str | None) -> list[str]:
    return [c.upper() for c in (text or "").replace(";", " ").split()]


@dataclass
class Site:
    name: str
    country: str
    pue: float
    kwh: float
    capacity: dict[int, float]
    tags: frozenset[str] = frozenset()  # an extension: a rule with site_tags covers tagged sites only

    def cap(self, p: int) -> float | None:
        earlier = [v for q, v in self.capacity.items() if q <= p]
        return earlier[-1] if earlier else None


@dataclass
class Option:
    """A purchase option (buy offer at a site) or a lease option."""

    sku: str
    channel: str
    period: int
    kind: str
    site: str | None
    country: str
    max_servers: int
    cps: int
    price: float  # per chip (per chip-quarter for a lease), fee included
    q: float
    delivery: int  # delivery quarter / first quarter of service (absolute index)
    term: int
    status: str
    license_rules: list[str]
    offer: int  # row of offers.csv (shared supply)


@dataclass
class Instance:
    scenario: dict[str, Any]
    chips: dict[str, dict[str, Any]]
    periods: list[int]
    sites: list[Site]
    hq: str
    options: list[Option] = field(default_factory=list)
    fleet: list[tuple[str, int, str]] = field(default_factory=list)  # sku, chips, site
    fleet_installed: list[int] = field(default_factory=list)  # absolute quarter each entry entered service


@dataclass
class Finance:
    """Section 6 read from the scenario's ``finance`` key (defaults: version 2)."""

    present: bool
    currency: str
    fx: dict[int, float]
    rate: float
    deposit: float
    book_years: float
    residual: bool
    service_years: float | None

    @staticmethod
    def of(sc: dict[str, Any]) -> Finance:
        f = sc.get("finance")
        if f is None:
            return Finance(False, "USD", {}, 0.0, 1.0, 4.0, False, None)
        return Finance(
            True,
            str(f.get("currency", "USD")).upper(),
            {quarter(k): float(v) for k, v in (f.get("fx") or {}).items()},
            float(f.get("discount_rate", 0.0)),
            float(f.get("deposit", 1.0)),
            float(f.get("book_life_years", 4)),
            f.get("residual", "none") == "book",
            None if f.get("service_life_years") is None else float(f["service_life_years"]),
        )

    def rate_in(self, q: int, last: int) -> float:
        """fx of absolute quarter q: the latest entry at or before it (quarters past the last period take the last period's)."""
        if not self.fx:
            return 1.0
        q = min(q, last)
        return [v for k, v in sorted(self.fx.items()) if k <= q][-1]


def load(scenario_path: Path, catalog: Path | None = None) -> Instance:
    """Read the scenario and its catalog and derive the usable options (contract sections 1-3)."""
    sc = yaml.safe_load(Path(scenario_path).read_text())
    folder = catalog or (Path(scenario_path).parent / sc["catalog"]).resolve()
    with (folder / "chips.csv").open(newline="", encoding="utf-8-sig") as f:
        chips = {r["sku"]: r for r in csv.DictReader(f)}
    with (folder / "offers.csv").open(newline="", encoding="utf-8-sig") as f:
        offers = list(csv.DictReader(f))
    rule_file = yaml.safe_load((folder / "export_rules.yaml").read_text()) or {}
    groups = {str(k).upper(): [c.upper() for c in v] for k, v in (rule_file.get("groups") or {}).items()}
    rules = rule_file.get("rules") or []
    periods = [quarter(p) for p in sc["periods"]]
    if "sites" in sc:
        sites = [
            Site(
                s["name"],
                s["country"].upper(),
                float(s.get("pue", 1.0)),
                float(s.get("electricity_usd_per_kwh", 0.0)),
                {quarter(k): float(v) for k, v in sorted((s.get("capacity_mw") or {}).items())},
                frozenset(s.get("tags") or []),
            )
            for s in sc["sites"]
        ]
    else:
        power = sc.get("power") or {}
        dest = sc["destination"].upper()
        sites = [
            Site(
                dest,
                dest,
                float(power.get("pue", 1.0)),
                float(power.get("electricity_usd_per_kwh", 0.0)),
                {quarter(k): float(v) for k, v in sorted((power.get("site_capacity_mw") or {}).items())},
            )
        ]
    hq = ((sc.get("buyer") or {}).get("headquarters") or sites[0].country).upper()
    inst = Instance(sc, chips, periods, sites, hq)
    inst.fleet = [(f["sku"], int(f["chips"]), f.get("site") or sites[0].name) for f in sc.get("fleet") or []]
    inst.fleet_installed = [
        quarter(f["installed"]) if f.get("installed") else periods[0] for f in sc.get("fleet") or []
    ]
    policy = sc.get("policy") or {}
    ok = {"allowed", "license-required"} if policy.get("allow_license_required") else {"allowed"}
    for row_number, o in enumerate(offers):
        t = quarter(o["period"])
        if t not in periods:
            continue
        kind = (o.get("kind") or "buy").strip() or "buy"
        if kind == "lease" and "sites" not in sc:
            continue  # version 1: one site, no leases
        ships = _codes(o.get("ships_to"))
        term = int(o["term_quarters"]) if kind == "lease" else 0
        lead = int(o["lead_time_quarters"])
        chip = chips[o["sku"]]
        targets = (
            [(s.name, s.country, s.tags) for s in sites if not ships or s.country in ships]
            if kind == "buy"
            else [(None, ships[0], frozenset())]
        )
        for site, country, tags in targets:
            status, fee, lag, approval, ids = offer_status(
                chip, country, hq, kind, t, lead, term, rules, groups, tags
            )
            delivery = t + lead + lag
            if status not in ok or delivery > periods[-1]:
                continue
            if o["sku"] in (policy.get("exclude_skus") or []) or o["channel"] in (
                policy.get("exclude_channels") or []
            ):
                continue
            cps = int(chip["chips_per_server"])
            servers = int(o["max_units"]) // cps
            if servers < 1:
                continue
            risk = _float(o.get("delivery_risk")) or 0.0
            inst.options.append(
                Option(
                    o["sku"],
                    o["channel"],
                    t,
                    kind,
                    site,
                    country,
                    servers,
                    cps,
                    float(o["unit_price_usd"]) * (1 + fee / 100),
                    (1 - risk) * approval,
                    delivery,
                    term,
                    status,
                    ids,
                    row_number,
                )
            )
    return inst


# ------------------------------------------------------------------ compliance


def tpp(chip: dict[str, Any]) -> float:
    return max([float(chip[k]) * b for k, b in BITS.items() if _float(chip.get(k)) is not None], default=0.0)


def clause_holds(clause: dict[str, Any], chip: dict[str, Any]) -> bool:
    t = tpp(chip)
    area = _float(chip.get("die_area_mm2"))
    pd = t / area if area else None
    bw, link = float(chip["memory_bw_tbps"]), float(chip["interconnect_gbps"])
    tags = set(_codes_raw(chip.get("tags")))
    dc = str(chip.get("datacenter") or "true").lower() in ("true", "yes", "1")
    tests = {
        "tpp_min": lambda v: t >= v,
        "tpp_below": lambda v: t < v,
        "pd_min": lambda v: pd is not None and pd >= v,
        "pd_below": lambda v: pd is not None and pd < v,
        "interconnect_min_gbps": lambda v: link >= v,
        "memory_bw_min_tbps": lambda v: bw >= v,
        "memory_bw_below_tbps": lambda v: bw < v,
        "datacenter": lambda v: dc == bool(v),
        "tag": lambda v: v in tags,
        "not_tag": lambda v: v not in tags,
    }
    return all(tests[k](v) for k, v in clause.items() if v is not None)


def _codes_raw(text: str | None) -> list[str]:
    return (text or "").replace(";", " ").split()


def _places(names: list[str] | None, groups: dict[str, list[str]]) -> set[str] | None:
    out: set[str] = set()
    for n in names or []:
        n = str(n).upper()
        if n == "*":
            return None
        out |= set(groups.get(n, [n]))
    return out


def applies(
    rule: dict[str, Any],
    chip: dict[str, Any],
    country: str,
    hq: str,
    kind: str,
    day: dt.date,
    groups: dict[str, list[str]],
    tags: frozenset[str] = frozenset(),
) -> bool:
    """In force for this chip, destination, buyer, kind, site tags and day, and matching the chip."""
    if "site_tags" in rule and (kind != "buy" or not tags & set(rule["site_tags"])):
        return False
    if chip["origin"].upper() not in [o.upper() for o in rule["origins"]]:
        return False
    dest = _places(rule["destinations"], groups)
    if dest is not None and country not in dest:
        return False
    if country in (_places(rule.get("exclude_destinations"), groups) or set()):
        return False
    if "headquarters" in rule:
        buyers = _places(rule["headquarters"], groups)
        if buyers is not None and hq not in buyers:
            return False
    if kind not in (rule.get("applies_to") or ["buy"]):
        return False
    if not (_date(rule["effective"]) <= day and (rule.get("ends") is None or day < _date(rule["ends"]))):
        return False
    return chip["sku"] in (rule.get("skus") or []) or any(
        clause_holds(c, chip) for c in rule.get("when_any") or []
    )


def status_over(
    chip: dict[str, Any],
    country: str,
    hq: str,
    kind: str,
    start: dt.date,
    end: dt.date,
    rules: list[dict[str, Any]],
    groups: dict[str, list[str]],
    tags: frozenset[str] = frozenset(),
) -> tuple[str, float, int, float, list[str]]:
    """Status over [start, end] and the licence terms (fee, lag, approval, rule ids)."""
    days = {start} | {
        d
        for r in rules
        for d in (_date(r["effective"]), _date(r.get("ends")))
        if d is not None and start < d <= end
    }
    hits = {r["id"]: r for d in days for r in rules if applies(r, chip, country, hq, kind, d, groups, tags)}
    status = max((r["status"] for r in hits.values()), key=SEVERITY.__getitem__, default="allowed")
    if status != "license-required":
        return status, 0.0, 0, 1.0, []
    lic = [r for r in hits.values() if r["status"] == "license-required"]
    terms = [r.get("license") or {} for r in lic]
    return (
        status,
        max([float(t.get("fee_pct", 0)) for t in terms], default=0.0),
        max([int(t.get("lag_quarters", 0)) for t in terms], default=0),
        min([float(t.get("approval", 1)) for t in terms], default=1.0),
        [r["id"] for r in lic],
    )


def offer_status(
    chip: dict[str, Any],
    country: str,
    hq: str,
    kind: str,
    t: int,
    lead: int,
    term: int,
    rules: list[dict[str, Any]],
    groups: dict[str, list[str]],
    tags: frozenset[str] = frozenset(),
) -> tuple[str, float, int, float, list[str]]:
    """The contract's two evaluations: with the lead alone, then with the lag found."""
    span = term - 1 if kind == "lease" else 0
    status, fee, lag, approval, ids = status_over(
        chip, country, hq, kind, first_day(t), last_day(t + lead + span), rules, groups, tags
    )
    if status != "license-required" or lag == 0:
        return status, fee, 0, approval, ids
    status, fee, _, approval, ids = status_over(
        chip, country, hq, kind, first_day(t), last_day(t + lead + lag + span), rules, groups, tags
    )
    return status, fee, lag, approval, ids


# ------------------------------------------------------------------ evaluating a plan


def eff(chip: dict[str, Any]) -> float:
    return float(chip["bf16_tflops"]) * float(chip["software_efficiency"]) / 1000


@dataclass
class Figures:
    feasible: bool
    violations: list[str]
    E: list[float]
    M: list[float]
    P: dict[str, list[float]]
    C: list[float]
    L: list[float]
    lease_commitment: float
    opex: float
    cost: float
    chips: int
    leased_chips: int
    site_compute: dict[str, list[float]]
    # section 6 (every figure in USD unless named otherwise)
    cash: dict[int, float] = field(default_factory=dict)  # quarter index from the first period -> paid
    depreciation: list[float] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)
    residual: float = 0.0
    after_horizon: float = 0.0


def evaluate(inst: Instance, servers: list[int]) -> Figures:
    """Every figure of the contract for whole servers per option, and the constraints it breaks."""
    sc, H = inst.scenario, len(inst.periods)
    start = inst.periods[0]
    fin = Finance.of(sc)
    life = None if fin.service_years is None else round(fin.service_years * 4)
    book = round(fin.book_years * 4)
    E, M, C, L = [0.0] * H, [0.0] * H, [0.0] * H, [0.0] * H
    P = {s.name: [0.0] * H for s in inst.sites}
    site_compute = {s.name: [0.0] * H for s in inst.sites}
    pue = {s.name: s.pue for s in inst.sites}
    cash: dict[int, float] = {}
    depreciation, retired = [0.0] * H, [0] * H
    residual = 0.0
    for (sku, n, site), installed in zip(inst.fleet, inst.fleet_installed, strict=True):
        chip = inst.chips[sku]
        first = installed - start
        last = first + life - 1 if life is not None else 10**9
        if 0 <= last + 1 < H:
            retired[last + 1] += n
        for p in range(H):
            if not first <= p <= last:
                continue
            E[p] += eff(chip) * n
            M[p] += float(chip["memory_gb"]) / 1000 * n
            P[site][p] += float(chip["power_w"]) * pue[site] / 1e6 * n
            site_compute[site][p] += eff(chip) * n
    commitment = 0.0
    chips = leased = 0
    supply: dict[int, int] = {}
    violations = []
    items: list[tuple[dict[str, Any], float, float]] = []  # (attributes, compute at T, spend)
    for sku, n, site in inst.fleet:
        chip = inst.chips[sku]
        country = next(s.country for s in inst.sites if s.name == site)
        items.append(
            (
                {
                    "category": chip["category"],
                    "vendor": chip["vendor"],
                    "origin": chip["origin"],
                    "channel": None,
                    "site": site,
                    "country": country,
                    "kind": "buy",
                },
                eff(chip) * n,
                0.0,
            )
        )
    for o, n in zip(inst.options, servers, strict=True):
        if n < 0 or n > o.max_servers:
            violations.append(f"servers of {o.sku} out of bounds")
        chip = inst.chips[o.sku]
        x = o.cps * n
        supply[o.offer] = supply.get(o.offer, 0) + n
        d = o.delivery - start
        t = o.period - start
        if o.kind == "lease":
            last = d + o.term - 1
        else:
            last = d + life - 1 if life is not None else 10**9
        for p in range(max(d, 0), min(last, H - 1) + 1):
            E[p] += o.q * eff(chip) * x
            M[p] += o.q * float(chip["memory_gb"]) / 1000 * x
            if o.kind == "buy":
                site_compute[o.site][p] += o.q * eff(chip) * x
        if o.kind == "buy":
            for p in range(d, min(last, H - 1) + 1):
                P[o.site][p] += float(chip["power_w"]) * pue[o.site] / 1e6 * x
            if last + 1 < H:
                retired[last + 1] += x
            C[t] += o.price * x
            commitment += o.price * x
            chips += x
            cash[t] = cash.get(t, 0.0) + fin.deposit * o.price * x
            cash[d] = cash.get(d, 0.0) + (1 - fin.deposit) * o.price * x
            for p in range(d, min(d + book, H)):
                depreciation[p] += o.price * x / book
            residual += o.price * x * max(0.0, 1 - (H - 1 - d + 1) / book)
        else:
            for p in range(d, min(last, H - 1) + 1):
                L[p] += o.price * x
            for p in range(d, last + 1):
                cash[p] = cash.get(p, 0.0) + o.price * x
            commitment += o.price * o.term * x
            leased += x
        spend = o.price * x * (o.term if o.kind == "lease" else 1)
        at_t = o.q * eff(chip) * x if d <= H - 1 <= last else 0.0
        items.append(
            (
                {
                    "category": chip["category"],
                    "vendor": chip["vendor"],
                    "origin": chip["origin"],
                    "channel": o.channel,
                    "site": o.site,
                    "country": o.country,
                    "kind": o.kind,
                },
                at_t,
                spend,
            )
        )
    for offer, n in supply.items():
        o = next(opt for opt in inst.options if opt.offer == offer)
        if n > o.max_servers:
            violations.append(f"supply of offer {offer}")
    opex_p = [sum(P[s.name][p] * 1000 * 2190 * s.kwh for s in inst.sites) for p in range(H)]
    opex = sum(opex_p)
    budget = sc.get("budget") or {}
    total = budget.get("total", budget.get("total_usd"))
    per_period = budget.get("per_period", budget.get("per_period_usd"))
    fx = {p: fin.rate_in(start + p, inst.periods[-1]) for p in cash}
    in_currency = sum(fx[p] * v for p, v in cash.items())
    if total is not None and in_currency > money(total) * (1 + 1e-9) + TOL:
        violations.append("total budget")
    if per_period is not None:
        per = {quarter(k): money(v) for k, v in per_period.items()}
        b = [per.get(q, 0.0) for q in inst.periods]
        paid = [fin.rate_in(inst.periods[p], inst.periods[-1]) * cash.get(p, 0.0) for p in range(H)]
        for p in range(H):
            if budget.get("carry_over", True):
                if sum(paid[: p + 1]) > sum(b[: p + 1]) * (1 + 1e-9) + TOL:
                    violations.append(f"cumulative budget {p}")
            elif paid[p] > b[p] * (1 + 1e-9) + TOL:
                violations.append(f"period budget {p}")
    for name, target in (sc.get("targets") or {}).items():
        p = inst.periods.index(quarter(name))
        if target.get("pflops") is not None and E[p] < float(target["pflops"]) - TOL * max(
            1, target["pflops"]
        ):
            violations.append(f"pflops target {name}")
        if target.get("memory_tb") is not None and M[p] < float(target["memory_tb"]) - TOL * max(
            1, target["memory_tb"]
        ):
            violations.append(f"memory target {name}")
    for s in inst.sites:
        for p in range(H):
            cap = s.cap(inst.periods[p])
            if cap is not None and P[s.name][p] > cap + TOL * max(1.0, cap):
                violations.append(f"power {s.name} {p}")
    for share in (sc.get("policy") or {}).get("shares") or []:
        k = 1 if share["measure"] == "compute" else 2
        within = share.get("within")
        scope = [it for it in items if within is None or it[0][within["by"]] == within["value"]]
        total = sum(it[k] for it in scope)
        values = (
            {it[0][share["by"]] for it in scope if it[0][share["by"]] is not None}
            if share["value"] == "*"
            else {share["value"]}
        )
        for v in values:
            g = sum(it[k] for it in scope if it[0][share["by"]] == v)
            if share.get("min") is not None and g < share["min"] * total - TOL * max(1.0, total):
                violations.append(f"share min {share['by']} {v}")
            if share.get("max") is not None and g > share["max"] * total + TOL * max(1.0, total):
                violations.append(f"share max {share['by']} {v}")
    delta = lambda i: (1 + fin.rate) ** (-i / 4)  # noqa: E731
    credit = residual if fin.residual else 0.0
    cost = (
        sum(delta(p) * v for p, v in cash.items())
        + sum(delta(p) * opex_p[p] for p in range(H))
        - delta(H) * credit
    )
    return Figures(
        not violations,
        violations,
        E,
        M,
        P,
        C,
        L,
        commitment - sum(C),
        opex,
        cost,
        chips,
        leased,
        site_compute,
        cash,
        depreciation,
        retired,
        credit,
        sum(v for p, v in cash.items() if p >= H),
    )


# ------------------------------------------------------------------ plans as JSON


def servers_of(inst: Instance, plan: dict[str, Any]) -> list[int]:
    """Whole servers per option from a plan's JSON ``purchases`` (each line must name a usable option)."""
    out = [0] * len(inst.options)
    for line in plan["purchases"]:
        kind = line.get("kind", "buy")
        matches = [
            i
            for i, o in enumerate(inst.options)
            if o.sku == line["sku"]
            and o.channel == line["channel"]
            and quarter_text(o.period) == line["order_period"]
            and o.kind == kind
            and (
                o.site == line.get("site")
                if kind == "buy"
                else o.country == line["country"] and o.term == line["term_quarters"]
            )
        ]
        assert len(matches) == 1, f"purchase line names no single usable option: {line}"
        i = matches[0]
        o = inst.options[i]
        assert out[i] == 0, f"two lines for one option: {line}"
        assert line["servers"] * o.cps == line["chips"], line
        assert quarter_text(o.delivery) == line["delivery_period"], (line, quarter_text(o.delivery))
        assert math.isclose(line["unit_price_usd"], round(o.price, 2), abs_tol=0.011), (line, o.price)
        want_cost = o.price * line["chips"] * (o.term if kind == "lease" else 1)
        assert math.isclose(line["cost_usd"], round(want_cost, 2), abs_tol=0.011), (line, want_cost)
        assert line.get("compliance", o.status) == o.status, (line, o.status)
        assert sorted(line.get("license_rules", o.license_rules)) == sorted(o.license_rules), line
        if kind == "lease":
            assert line["end_period"] == quarter_text(o.delivery + o.term - 1), line
        out[i] = line["servers"]
    return out


def check_plan(inst: Instance, plan: dict[str, Any]) -> Figures:
    """Assert that a plan's JSON meets every constraint and that its figures add up."""
    assert plan["status"] in ("optimal", "feasible"), plan["status"]
    servers = servers_of(inst, plan)
    f = evaluate(inst, servers)
    assert f.feasible, f.violations
    t = plan["totals"]
    close = lambda a, b, tol=1e-6: math.isclose(a, b, rel_tol=1e-9, abs_tol=tol)  # noqa: E731
    assert close(t["capex_usd"], round(sum(f.C), 2), 0.011), (t["capex_usd"], sum(f.C))
    assert close(t.get("lease_usd", 0.0), round(f.lease_commitment, 2), 0.011)
    assert close(t["opex_usd"], round(f.opex, 2), 0.011), (t["opex_usd"], f.opex)
    assert close(t["effective_pflops"], f.E[-1]) and close(t["memory_tb"], f.M[-1])
    assert t["chips"] == f.chips
    for p, rec in enumerate(plan["periods"]):
        assert rec["period"] == quarter_text(inst.periods[p])
        assert close(rec["effective_pflops"], f.E[p]) and close(rec["memory_tb"], f.M[p])
        assert close(rec["capex_usd"], round(f.C[p], 2), 0.011)
        assert close(rec.get("lease_usd", 0.0), round(f.L[p], 2), 0.011)
        assert close(rec["power_mw"], sum(f.P[s.name][p] for s in inst.sites))
    check_finance(inst, plan, f)
    check_workloads(inst, plan, servers)
    for s, rec in zip(inst.sites, plan.get("sites", []), strict=False):
        assert rec["name"] == s.name and rec["country"] == s.country
        for p, row in enumerate(rec["periods"]):
            assert close(row["power_mw"], f.P[s.name][p])
            assert close(row["effective_pflops"], f.site_compute[s.name][p])
            cap = s.cap(inst.periods[p])
            assert (row["capacity_mw"] is None) == (cap is None)
    return f


def check_finance(inst: Instance, plan: dict[str, Any], f: Figures) -> None:
    """Section 6's JSON keys: present exactly when the scenario has ``finance``, each figure recomputed."""
    fin = Finance.of(inst.scenario)
    t = plan["totals"]
    keys = {"cost_usd", "residual_value_usd", "currency", "after_horizon_usd"}
    if not fin.present:
        assert not keys & set(t), sorted(keys & set(t))
        assert all("cash_usd" not in rec for rec in plan["periods"])
        return
    close = lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=0.011)  # noqa: E731
    assert t["currency"] == fin.currency
    assert close(t["cost_usd"], f.cost), (t["cost_usd"], f.cost)
    assert close(t["residual_value_usd"], f.residual), (t["residual_value_usd"], f.residual)
    assert close(t["after_horizon_usd"], f.after_horizon), (t["after_horizon_usd"], f.after_horizon)
    for p, rec in enumerate(plan["periods"]):
        paid = f.cash.get(p, 0.0)
        assert close(rec["cash_usd"], paid), (p, rec["cash_usd"], paid)
        if fin.currency != "USD":
            assert close(rec["cash"], fin.rate_in(inst.periods[p], inst.periods[-1]) * paid)
        else:
            assert "cash" not in rec
        assert close(rec["depreciation_usd"], f.depreciation[p]), (p, rec["depreciation_usd"])
        assert rec["retired_chips"] == f.retired[p], (p, rec["retired_chips"], f.retired[p])


def in_service(inst: Instance, servers: list[int], p: int) -> dict[tuple[str, str], float]:
    """Section 7's A_lsp: effective chips of each SKU at each place in service in quarter ``p`` (index from the first period)."""
    fin = Finance.of(inst.scenario)
    life = None if fin.service_years is None else round(fin.service_years * 4)
    start = inst.periods[0]
    out: dict[tuple[str, str], float] = {}
    for (sku, n, site), installed in zip(inst.fleet, inst.fleet_installed, strict=True):
        first = installed - start
        if first <= p and (life is None or p <= first + life - 1):
            out[(site, sku)] = out.get((site, sku), 0.0) + n
    for o, n in zip(inst.options, servers, strict=True):
        if not n:
            continue
        d = o.delivery - start
        last = d + o.term - 1 if o.kind == "lease" else (d + life - 1 if life is not None else 10**9)
        if d <= p <= last:
            place = o.site if o.kind == "buy" else f"{o.channel}@{o.country}"
            out[(place, o.sku)] = out.get((place, o.sku), 0.0) + o.q * o.cps * n
    return out


def check_workloads(inst: Instance, plan: dict[str, Any], servers: list[int]) -> None:
    """Section 7 from the JSON's split (an addition): within the chips in service, workloads respected, clusters whole, targets met, figures recomputed."""
    targets = {quarter(k): v for k, v in (inst.scenario.get("targets") or {}).items()}
    with_workloads = {q for q, t in targets.items() if "training" in t or "inference" in t}
    if not with_workloads:
        assert "clusters" not in plan
        return
    chips = inst.chips
    tol = 1e-6
    for p, rec in enumerate(plan["periods"]):
        q = inst.periods[p]
        if q not in with_workloads:
            assert "training_pflops" not in rec
            continue
        t = targets[q]
        split = [s for s in plan["workload_split"] if s["period"] == rec["period"]]
        available = in_service(inst, servers, p)
        for s in split:
            serves = (chips[s["sku"]].get("workloads") or "training inference").split()
            assert s["training_chips"] <= tol or "training" in serves, s
            assert s["inference_chips"] <= tol or "inference" in serves, s
            a = available.get((s["place"], s["sku"]), 0.0)
            assert s["training_chips"] + s["inference_chips"] <= a + tol * max(1.0, a), (s, a)
        training = sum(s["training_chips"] * eff(chips[s["sku"]]) for s in split)
        bw = sum(s["inference_chips"] * float(chips[s["sku"]]["memory_bw_tbps"]) for s in split)
        mem = sum(s["inference_chips"] * float(chips[s["sku"]]["memory_gb"]) / 1000 for s in split)
        for key, value in (
            ("training_pflops", training),
            ("inference_memory_bw_tbps", bw),
            ("inference_memory_tb", mem),
        ):
            assert math.isclose(rec[key], value, rel_tol=1e-6, abs_tol=1e-5), (
                rec["period"],
                key,
                rec[key],
                value,
            )
        tr, inf = t.get("training") or {}, t.get("inference") or {}
        for want, got in (
            (tr.get("pflops"), training),
            (inf.get("memory_bw_tbps"), bw),
            (inf.get("memory_tb"), mem),
        ):
            if want is not None:
                assert got >= float(want) - tol * max(1.0, float(want)), (rec["period"], want, got)
        size = tr.get("cluster_chips")
        listed = [c for c in plan["clusters"] if c["period"] == rec["period"]]
        if size is None:
            assert not listed
            continue
        families: dict[tuple[str, str], float] = {}
        for s in split:
            family = chips[s["sku"]].get("cluster_family") or s["sku"]
            families[(s["place"], family)] = families.get((s["place"], family), 0.0) + s["training_chips"]
        for c in listed:
            assert c["clusters"] >= 1 and c["chips"] == c["clusters"] * int(size), c
        whole = {(c["place"], c["family"]): c["chips"] for c in listed}
        for key, n in families.items():
            assert math.isclose(n, whole.get(key, 0), abs_tol=1e-5), (rec["period"], key, n, whole.get(key))


def brute_force(inst: Instance, limit: int = 40000) -> list[tuple[list[int], Figures]] | None:
    """Every whole-server assignment of the options (None when there are more than ``limit``)."""
    ranges = [range(o.max_servers + 1) for o in inst.options]
    if math.prod(len(r) for r in ranges) > limit:
        return None
    return [(list(s), evaluate(inst, list(s))) for s in itertools.product(*ranges)]


def objective(inst: Instance, f: Figures) -> tuple[float, float]:
    """(E_T, cost): what max-compute maximises first, and the cost both objectives minimise."""
    return f.E[-1], f.cost
