"""Generated catalogs and scenarios: plans re-derive and match brute force; corrupted files never crash."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from conftest import chip, make_catalog, make_scenario, offer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rederive import check_plan

from planner.cli import main
from planner.plan import solve
from planner.results import Plan, tabulate

PERIODS = ["2025Q1", "2025Q2", "2025Q3"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw):
    n_chips = draw(st.integers(1, 3))
    chips = [chip(f"c{i}", vendor=draw(st.sampled_from(["V", "W"])),
                  category=draw(st.sampled_from(["domestic", "export-compliant"])),
                  bf16_tflops=draw(st.sampled_from([500, 1000, 1500])),
                  memory_gb=draw(st.sampled_from([50, 100, 200])),
                  power_w=draw(st.sampled_from([500, 1000])),
                  chips_per_server=draw(st.sampled_from([1, 2])),
                  software_efficiency=draw(st.sampled_from([0.5, 1.0])))
             for i in range(n_chips)]
    horizon = draw(st.integers(1, 3))
    offers, seen = [], set()
    for _ in range(draw(st.integers(1, 4))):
        sku = f"c{draw(st.integers(0, n_chips - 1))}"
        period = draw(st.sampled_from(PERIODS[:horizon]))
        channel = draw(st.sampled_from(["x", "y"]))
        if (sku, channel, period) in seen:
            continue
        seen.add((sku, channel, period))
        offers.append(offer(sku, period, channel=channel, max_units=draw(st.integers(0, 5)),
                            unit_price_usd=draw(st.sampled_from([800, 1000, 1700])),
                            lead_time_quarters=draw(st.integers(0, 1)),
                            delivery_risk=draw(st.sampled_from(["", 0.1, 0.5]))))
    periods = PERIODS[:horizon]
    scenario = {"periods": periods, "objective": draw(st.sampled_from(["max-compute", "min-cost"]))}
    budget = {"total_usd": draw(st.sampled_from([2000, 5000, 20000]))}
    if draw(st.booleans()):
        budget["per_period_usd"] = {p: draw(st.sampled_from([0, 1500, 4000])) for p in periods}
        budget["carry_over"] = draw(st.booleans())
    scenario["budget"] = budget
    if draw(st.booleans()):
        scenario["targets"] = {periods[-1]: {"pflops": draw(st.sampled_from([1, 2, 4])),
                                             "memory_tb": draw(st.sampled_from([0.1, 0.3]))}}
    if draw(st.booleans()):
        scenario["power"] = {"pue": draw(st.sampled_from([1.0, 1.5])), "electricity_usd_per_kwh": 0.1,
                             "site_capacity_mw": {periods[0]: draw(st.sampled_from([0.002, 0.005]))}}
    if draw(st.booleans()):
        scenario["fleet"] = [{"sku": "c0", "chips": draw(st.integers(0, 2))}]
    if draw(st.booleans()):
        by = draw(st.sampled_from(["category", "vendor", "channel"]))
        value = "*" if draw(st.booleans()) else {"category": "domestic", "vendor": "V", "channel": "x"}[by]
        chips[0]["category"], chips[0]["vendor"] = "domestic", "V"
        if value == "x" and not any(o["channel"] == "x" for o in offers):
            value = "*"
        scenario["policy"] = {"shares": [{"by": by, "value": value,
                                          "measure": draw(st.sampled_from(["compute", "spend"])),
                                          **draw(st.sampled_from([{"min": 0.3}, {"max": 0.7}]))}]}
    return chips, offers, scenario


def brute_force(plan: Plan):
    """Every whole-server assignment of the usable offers: the feasible ones with their objective."""
    data = plan.data
    ranges = [range(int(m) + 1) for m in data.offers["max_servers"]]
    if np.prod([len(r) for r in ranges], dtype=float) > 20000:
        return None
    feasible = []
    for servers in itertools.product(*ranges):
        purchases, periods, totals, _ = tabulate(data, np.array(servers, dtype=np.int64))
        candidate = Plan("b", data.scenario.objective, "optimal", purchases, periods, totals, data=data)
        try:
            check_plan(candidate)
        except AssertionError:
            continue
        feasible.append((totals["effective_pflops"], totals["capex_usd"] + totals["opex_usd"]))
    return feasible


@FAST
@given(instances())
def test_generated_plans_rederive_and_are_optimal(instance):
    chips, offers, scenario = instance
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not offers:
            return
        cat = make_catalog(tmp / "cat", chips, offers)
        plan = solve(make_scenario(tmp, cat, **scenario))
        feasible = brute_force(plan)
        if plan.status == "infeasible":
            assert feasible == [] if feasible is not None else True
            assert plan.diagnosis is not None
            return
        assert plan.status == "optimal"
        check_plan(plan)
        if feasible is None:
            return
        compute = plan.totals["effective_pflops"]
        cost = plan.totals["capex_usd"] + plan.totals["opex_usd"]
        if scenario["objective"] == "max-compute":
            best = max(e for e, _ in feasible)
            assert compute >= best * (1 - 1e-4) - 1e-9
            cheapest = min(c for e, c in feasible if e >= compute - 1e-9)
            assert cost <= cheapest * (1 + 1e-4) + 1e-6
        else:
            assert cost <= min(c for _, c in feasible) * (1 + 1e-4) + 1e-6


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


@FAST
@given(target=st.sampled_from(["chips.csv", "offers.csv", "export_rules.yaml", "s.yaml"]),
       position=st.floats(0, 1), junk=st.text(alphabet=st.characters(codec="utf-8"), max_size=5),
       cut=st.integers(0, 3))
def test_corrupted_files_never_crash(target, position, junk, cut):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_catalog(tmp / "cat", [chip("a"), chip("b", origin="US", vendor="W")],
                     [offer("a", "2025Q1"), offer("b", "2025Q2", lead_time_quarters=0)],
                     [{"id": "r", "origins": ["US"], "destinations": ["CN"], "effective": "2025-01-01",
                       "status": "license-required", "when_any": [{"tpp_min": 100, "pd_below": 5}]}])
        (tmp / "s.yaml").write_text(VALID_SCENARIO)
        path = tmp / ("cat/" + target if target != "s.yaml" else target)
        text = path.read_text()
        at = int(position * len(text))
        path.write_text(text[:at] + junk + text[at + cut:], encoding="utf-8")
        result = CliRunner().invoke(main, ["plan", str(tmp / "s.yaml"), "--format", "json"])
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "internal error" not in result.output and "Traceback" not in result.output
        if result.exit_code == 2:
            assert len(result.output.strip().splitlines()) == 1
