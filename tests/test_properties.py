"""Generated instances against the independent contract (``contract.py``): every plan re-derives,
is optimal within the MIP gap against brute force, and says ``infeasible`` with a sufficient
and least diagnosis exactly when brute force finds no plan. Corrupted files never crash.

The instances are version 2: one or two sites in two countries, buy and lease offers, a
buyer's headquarters, rules with mid-quarter dates, licence terms (fee, lag, approval),
headquarters and lease rules, several periods and lead times, targets and shares that bind.
A run draws 70 instances (derandomized); 64 are small enough for brute force and are checked,
and ``test_generated_plans`` asserts that at least 80% of those have a non-empty plan
(measured: 56 of 64 non-empty, 8 infeasible with a diagnosis checked against brute force).
"""

from __future__ import annotations

import copy
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import contract
from click.testing import CliRunner
from conftest import chip, make_catalog, make_scenario, offer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.plans.plan import solve

QUARTERS = ["2025Q1", "2025Q2", "2025Q3"]
GAP = 1e-4
SETTINGS = settings(
    max_examples=70,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
MID_QUARTER = ["2025-02-15", "2025-05-10", "2025-08-20"]


@st.composite
def instances(
    draw: st.DrawFn,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Chips, offers, rules and scenario keys of one small version-2 instance."""
    horizon = draw(st.integers(2, 3))
    periods = QUARTERS[:horizon]
    chips = [
        chip(
            "us",
            origin="US",
            vendor="N",
            category="full-spec",
            bf16_tflops=draw(st.sampled_from([1000, 2000])),
            power_w=draw(st.sampled_from([500, 1000])),
        ),
        chip(
            "cn",
            origin="CN",
            vendor="H",
            category="domestic",
            bf16_tflops=draw(st.sampled_from([500, 1000])),
            software_efficiency=draw(st.sampled_from([0.5, 1])),
            chips_per_server=draw(st.sampled_from([1, 2])),
        ),
        chip("lc", origin="US", vendor="N", category="export-compliant", bf16_tflops=500, memory_gb=200),
    ]
    two_sites = draw(st.booleans())
    sites = [
        {
            "name": "home",
            "country": "CN",
            "pue": draw(st.sampled_from([1.0, 1.5])),
            "electricity_usd_per_kwh": draw(st.sampled_from([0.0, 0.1])),
        }
    ]
    if two_sites:
        sites.append({"name": "away", "country": "MY", "pue": 1.2, "electricity_usd_per_kwh": 0.05})
    if draw(st.booleans()):
        sites[0]["capacity_mw"] = {periods[0]: draw(st.sampled_from([0.0025, 0.004, 0.008]))}
    # one plain domestic offer in every instance, so that most instances have a plan
    offers = [
        offer(
            "cn",
            periods[0],
            channel="z",
            max_units=3,
            unit_price_usd=draw(st.sampled_from([600, 900])),
            kind="buy",
            ships_to="",
            term_quarters="",
        )
    ]
    seen = {("cn", "z", periods[0], "buy")}
    for _ in range(draw(st.integers(2, 4))):
        sku = draw(st.sampled_from(["us", "cn", "lc"]))
        period = draw(st.sampled_from(periods))
        kind = draw(st.sampled_from(["buy", "buy", "lease"]))
        channel = draw(st.sampled_from(["x", "y"]))
        key = (sku, channel, period, kind)
        if key in seen:
            continue
        seen.add(key)
        row = offer(
            sku,
            period,
            channel=channel,
            max_units=draw(st.integers(1, 3)),
            unit_price_usd=draw(st.sampled_from([500, 800, 1200])),
            lead_time_quarters=draw(st.integers(0, 1)),
            delivery_risk=draw(st.sampled_from(["", 0.2])),
            kind=kind,
            ships_to="",
            term_quarters="",
        )
        if kind == "lease":
            row.update(ships_to="MY", term_quarters=draw(st.integers(1, 3)), unit_price_usd=200)
        elif two_sites and draw(st.booleans()):
            row["ships_to"] = draw(st.sampled_from(["CN", "MY"]))
        offers.append(row)
    rules = []
    if draw(st.booleans()):
        rules.append(
            {
                "id": "window",
                "origins": ["US"],
                "destinations": ["CN"],
                "effective": draw(st.sampled_from(MID_QUARTER)),
                "status": draw(st.sampled_from(["prohibited", "license-required"])),
                "skus": [draw(st.sampled_from(["us", "lc"]))],
            }
        )
        if rules[-1]["status"] == "license-required":
            rules[-1]["license"] = {
                "fee_pct": draw(st.sampled_from([0, 25])),
                "lag_quarters": draw(st.integers(0, 1)),
                "approval": draw(st.sampled_from([0.5, 1.0])),
            }
    if draw(st.booleans()):
        rules.append(
            {
                "id": "hq",
                "origins": ["US"],
                "destinations": ["*"],
                "headquarters": ["CN"],
                "effective": "2024-01-01",
                "status": "license-required",
                "when_any": [{"tpp_min": 20000}],
                "applies_to": draw(st.sampled_from([["buy"], ["buy", "lease"]])),
                "license": {"fee_pct": 10},
            }
        )
    scenario: dict[str, Any] = {
        "periods": periods,
        "sites": sites,
        "buyer": {"headquarters": draw(st.sampled_from(["CN", "US"]))},
        "objective": draw(st.sampled_from(["max-compute", "min-cost"])),
        "policy": {"allow_license_required": draw(st.booleans())},
    }
    budget: dict[str, Any] = {"total_usd": draw(st.sampled_from([2500, 4000, 8000]))}
    if draw(st.booleans()):
        budget["per_period_usd"] = {p: draw(st.sampled_from([1500, 3000])) for p in periods}
        budget["carry_over"] = draw(st.booleans())
    scenario["budget"] = budget
    if scenario["objective"] == "min-cost":
        scenario["targets"] = {
            periods[-1]: {
                "pflops": draw(st.sampled_from([1, 2, 2.5])),
                **draw(st.sampled_from([{}, {}, {"memory_tb": 0.2}])),
            }
        }
    elif draw(st.sampled_from([False, False, True])):
        scenario["targets"] = {periods[-1]: {"pflops": 1}}
    if draw(st.sampled_from([False, False, True])):
        scenario["fleet"] = [{"sku": "cn", "chips": 1, "site": "home"}]
    if draw(st.booleans()):
        share = draw(
            st.sampled_from(
                [
                    {"by": "category", "value": "domestic", "measure": "compute", "min": 0.3},
                    {"by": "vendor", "value": "*", "measure": "spend", "max": 0.8},
                    {"by": "kind", "value": "lease", "measure": "spend", "max": 0.5},
                    {"by": "site", "value": "home", "measure": "compute", "min": 0.4},
                    {"by": "country", "value": "CN", "measure": "compute", "min": 0.5},
                ]
            )
        )
        scenario["policy"]["shares"] = [share]
    return chips, offers, rules, scenario


def _with_targets(inst: contract.Instance, lowered: dict[str, dict[str, float]]) -> contract.Instance:
    other = copy.copy(inst)
    other.scenario = {**inst.scenario, "targets": lowered}
    return other


def _relative_shortfall(inst: contract.Instance, f: contract.Figures) -> float:
    total = 0.0
    for name, target in (inst.scenario.get("targets") or {}).items():
        p = inst.periods.index(contract.quarter(name))
        for key, have in (("pflops", f.E[p]), ("memory_tb", f.M[p])):
            if target.get(key):
                total += max(0.0, target[key] - have) / target[key]
    return total


def check_instance(instance: tuple[Any, ...], stats: Counter[str]) -> None:
    chips, offers, rules, scenario = instance
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = make_scenario(folder, make_catalog(folder / "cat", chips, offers, rules), **scenario)
        inst = contract.load(path)
        everything = contract.brute_force(inst, limit=3000)
        if everything is None:
            stats["too big for brute force"] += 1
            return
        plan = solve(path).to_dict()
    stats["checked"] += 1
    feasible = [(s, f) for s, f in everything if f.feasible]
    if plan["status"] == "infeasible":
        assert not feasible, "brute force found a plan"
        stats["infeasible"] += 1
        diagnosis = plan["diagnosis"]
        targets = inst.scenario.get("targets") or {}
        no_targets = _with_targets(inst, {})
        relaxable = [(s, f) for s, f in everything if contract.evaluate(no_targets, s).feasible]
        if not relaxable:
            assert diagnosis["shortfalls"] == [] and diagnosis["blocking"], diagnosis
            return
        lowered = copy.deepcopy(targets)
        for s in diagnosis["shortfalls"]:
            lowered[s["period"]][s["measure"]] -= s["shortfall"]
        relaxed = _with_targets(inst, lowered)
        assert any(contract.evaluate(relaxed, s).feasible for s, _ in everything), "diagnosis not sufficient"
        least = min(_relative_shortfall(inst, contract.evaluate(no_targets, s)) for s, _ in relaxable)
        given_ = sum(s["shortfall"] / targets[s["period"]][s["measure"]] for s in diagnosis["shortfalls"])
        assert given_ <= least + 1e-5, (given_, least)
        return
    assert plan["status"] == "optimal"
    f = contract.check_plan(inst, plan)
    if plan["purchases"]:
        stats["non-empty"] += 1
    compute, cost = contract.objective(inst, f)
    if scenario["objective"] == "max-compute":
        best = max(g.E[-1] for _, g in feasible)
        assert compute >= best * (1 - GAP) - 1e-9, (compute, best)
        cheapest = min(g.cost for _, g in feasible if g.E[-1] >= compute - 1e-9)
        assert cost <= cheapest * (1 + GAP) + 1e-6, (cost, cheapest)
    else:
        assert cost <= min(g.cost for _, g in feasible) * (1 + GAP) + 1e-6


def test_generated_plans() -> None:
    stats: Counter[str] = Counter()

    @SETTINGS
    @given(instances())
    def run(instance: tuple[Any, ...]) -> None:
        check_instance(instance, stats)

    run()
    assert stats["checked"] >= 60, stats
    assert stats["non-empty"] >= 0.8 * stats["checked"], stats
    assert stats["infeasible"] >= 1, stats


VALID_SCENARIO = """name: fuzz
catalog: cat
destination: CN
periods: [2025Q1, 2025Q2]
objective: max-compute
budget: {total_usd: 5K, per_period_usd: {2025Q1: 2K, 2025Q2: 3K}}
targets: {2025Q2: {pflops: 1}}
power: {pue: 1.2, site_capacity_mw: {2025Q1: 0.01}}
fleet: [{sku: a, chips: 1}]
policy: {shares: [{by: vendor, value: "*", measure: spend, max: 0.9}]}
"""
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    target=st.sampled_from(["chips.csv", "offers.csv", "export_rules.yaml", "s.yaml"]),
    position=st.floats(0, 1),
    junk=st.text(alphabet=st.characters(codec="utf-8"), max_size=5),
    cut=st.integers(0, 3),
)
def test_corrupted_files_never_crash(target: str, position: float, junk: str, cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_catalog(
            folder / "cat",
            [chip("a"), chip("b", origin="US", vendor="W")],
            [offer("a", "2025Q1"), offer("b", "2025Q2", lead_time_quarters=0)],
            [
                {
                    "id": "r",
                    "origins": ["US"],
                    "destinations": ["CN"],
                    "effective": "2025-01-01",
                    "status": "license-required",
                    "when_any": [{"tpp_min": 100, "pd_below": 5}],
                }
            ],
        )
        (folder / "s.yaml").write_text(VALID_SCENARIO)
        path = folder / ("cat/" + target if target != "s.yaml" else target)
        text = path.read_text()
        at = int(position * len(text))
        path.write_text(text[:at] + junk + text[at + cut :], encoding="utf-8")
        result = CliRunner().invoke(main, ["plan", str(folder / "s.yaml"), "--format", "json"])
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "internal error" not in result.output and "Traceback" not in result.output
        if result.exit_code == 2:
            assert len(result.output.strip().splitlines()) == 1
