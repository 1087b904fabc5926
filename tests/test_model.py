"""One tiny case per constraint family, solved by hand; every plan is re-derived."""

from __future__ import annotations

import pytest
from conftest import chip, model_of, offer
from rederive import check_plan

from planner.plans.plan import solve


def bought(plan) -> dict[tuple[str, str, str], int]:
    return {
        (r["sku"], r["channel"], r["order_period"]): r["chips"] for r in plan.purchases.to_dict("records")
    }


def test_total_budget_limits_max_compute(tiny):
    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 5500})
    plan = solve(path)
    check_plan(plan)
    assert plan.status == "optimal"
    assert bought(plan) == {("a", "direct", "2025Q1"): 5}
    assert plan.totals["capex_usd"] == 5000
    assert plan.totals["effective_pflops"] == pytest.approx(5.0)


def test_supply_cap_then_next_best_offer(tiny):
    path = tiny(
        [chip("a"), chip("b")],
        [offer("a", "2025Q1", max_units=3), offer("b", "2025Q1", unit_price_usd=1500)],
        budget={"total_usd": 6000},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "direct", "2025Q1"): 3, ("b", "direct", "2025Q1"): 2}


def test_whole_servers_only(tiny):
    # 4 chips per server at $1000 a chip: a server is $4000; 7 units in stock = 1 server
    path = tiny(
        [chip("a", chips_per_server=4)], [offer("a", "2025Q1", max_units=7)], budget={"total_usd": 100000}
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.purchases["servers"].tolist() == [1]
    assert plan.totals["chips"] == 4


def test_lead_time_delays_capacity_and_drops_late_offers(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", lead_time_quarters=1, max_units=2), offer("a", "2025Q2", lead_time_quarters=1)],
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "direct", "2025Q1"): 2}
    assert plan.periods["effective_pflops"].tolist() == pytest.approx([0.0, 2.0])
    assert plan.purchases["delivery_period"].tolist() == ["2025Q2"]
    late = plan.excluded[plan.excluded["reason"].str.startswith("lead time")]
    assert late[["sku", "period"]].values.tolist() == [["a", "2025Q2"]]


def test_delivery_risk_discounts_compute_not_cost(tiny):
    path = tiny(
        [chip("a", memory_gb=100)], [offer("a", "2025Q1", delivery_risk=0.25)], budget={"total_usd": 4000}
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.totals["capex_usd"] == 4000
    assert plan.totals["effective_pflops"] == pytest.approx(3.0)
    assert plan.totals["memory_tb"] == pytest.approx(0.3)


def test_fleet_counts_from_the_first_period(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q2", max_units=1)],
        budget={"total_usd": 1e6},
        fleet=[{"sku": "a", "chips": 10}],
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.periods["effective_pflops"].tolist() == pytest.approx([10.0, 11.0])
    assert plan.totals["chips"] == 1


@pytest.mark.parametrize("carry, expected", [(False, 3), (True, 5)])
def test_per_period_budget_with_and_without_carry_over(tiny, carry, expected):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q2")],
        budget={"per_period_usd": {"2025Q1": 2000, "2025Q2": 3000}, "carry_over": carry},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "direct", "2025Q2"): expected}


def test_missing_period_budget_is_zero(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1"), offer("a", "2025Q2")],
        budget={"per_period_usd": {"2025Q2": 3000}, "carry_over": False},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "direct", "2025Q2"): 3}


def test_min_cost_meets_compute_target_cheapest(tiny):
    # a: $1000 for 1 PFLOPS; b: $1800 for 2 PFLOPS. 5 PFLOPS: 2 b + 1 a = $4600 beats 3 b or 5 a
    path = tiny(
        [chip("a"), chip("b", bf16_tflops=2000)],
        [offer("a", "2025Q1"), offer("b", "2025Q1", unit_price_usd=1800)],
        objective="min-cost",
        targets={"2025Q2": {"pflops": 5}},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "direct", "2025Q1"): 1, ("b", "direct", "2025Q1"): 2}
    assert plan.totals["capex_usd"] == 4600


def test_memory_target_buys_memory(tiny):
    # a: 1 PFLOPS, 0.1 TB for $1000; m: 0.5 PFLOPS, 1 TB for $1500. Need 2 TB and 1 PFLOPS: 2 m = $3000
    path = tiny(
        [chip("a"), chip("m", bf16_tflops=500, memory_gb=1000)],
        [offer("a", "2025Q1"), offer("m", "2025Q1", unit_price_usd=1500)],
        objective="min-cost",
        targets={"2025Q1": {"pflops": 1, "memory_tb": 2}},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("m", "direct", "2025Q1"): 2}


@pytest.mark.parametrize("pue, chips", [(1.0, 3), (1.5, 2)])
def test_power_cap_with_pue(tiny, pue, chips):
    # 1000 W a chip; 3.5 kW of site capacity
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        budget={"total_usd": 1e6},
        power={"pue": pue, "site_capacity_mw": {"2025Q1": 0.0035}},
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.totals["chips"] == chips


def test_site_cap_carries_forward_and_counts_undelivered_orders(tiny):
    # cap 2.5 kW from 2025Q1 applies to 2025Q2 too; a 50% delivery risk still takes power
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q2", delivery_risk=0.5)],
        budget={"total_usd": 1e6},
        power={"site_capacity_mw": {"2025Q1": 0.0025}},
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.totals["chips"] == 2
    assert plan.totals["effective_pflops"] == pytest.approx(1.0)


def test_opex_from_installed_power(tiny):
    # 2 chips x 1000 W x PUE 1.2 = 2.4 kW for 2190 h at $0.10 = $525.60 a quarter, from 2025Q1
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=2)],
        budget={"total_usd": 1e6},
        power={"pue": 1.2, "electricity_usd_per_kwh": 0.10},
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.totals["opex_usd"] == pytest.approx(2 * 525.6)


def test_min_share_of_domestic_compute(tiny):
    # foreign: $1000 / PFLOPS, domestic: $2000 / PFLOPS; at least half domestic with $6000: 2 + 2
    chips = [chip("f", category="full-spec", origin="US", vendor="W"), chip("d")]
    offers = [offer("f", "2025Q1"), offer("d", "2025Q1", unit_price_usd=2000)]
    path = tiny(
        chips,
        offers,
        budget={"total_usd": 6000},
        policy={"shares": [{"by": "category", "value": "domestic", "measure": "compute", "min": 0.5}]},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("f", "direct", "2025Q1"): 2, ("d", "direct", "2025Q1"): 2}
    assert "policy: category domestic compute share is at its floor of 50% (50.0%)" in plan.limits


def test_max_share_of_spend_per_vendor(tiny):
    # every vendor at most 60% of spend: 3 of W ($3000) and 2 of V ($2000 at $1000 each, 0.5 PFLOPS)
    chips = [chip("w", vendor="W"), chip("v", vendor="V", bf16_tflops=500)]
    offers = [offer("w", "2025Q1", max_units=100), offer("v", "2025Q1")]
    path = tiny(
        chips,
        offers,
        budget={"total_usd": 5000},
        policy={"shares": [{"by": "vendor", "value": "*", "measure": "spend", "max": 0.6}]},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("w", "direct", "2025Q1"): 3, ("v", "direct", "2025Q1"): 2}


def test_max_compute_breaks_ties_on_cost(tiny):
    # power allows 3 chips; the same chip via a cheap channel (2 left) and a dear one
    path = tiny(
        [chip("a")],
        [
            offer("a", "2025Q1", channel="cheap", max_units=2),
            offer("a", "2025Q1", channel="dear", unit_price_usd=2000),
        ],
        budget={"total_usd": 1e6},
        power={"site_capacity_mw": {"2025Q1": 0.003}},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "cheap", "2025Q1"): 2, ("a", "dear", "2025Q1"): 1}
    assert plan.totals["capex_usd"] == 4000


RULE = {
    "id": "r1",
    "origins": ["US"],
    "destinations": ["CN"],
    "effective": "2025-04-01",
    "status": "prohibited",
    "when_any": [{"tpp_min": 16000}],
}


@pytest.mark.parametrize(
    "destination, expected",
    [
        ("CN", {("u", "direct", "2025Q1"): 1}),
        ("US", {("u", "direct", "2025Q1"): 1, ("u", "direct", "2025Q2"): 1}),
    ],
)
def test_compliance_by_destination_and_order_date(tiny, destination, expected):
    # TPP 1000 x 16 = 16000 -> prohibited in CN for orders placed from 2025Q2 (rule from 2025-04-01)
    path = tiny(
        [chip("u", origin="US")],
        [offer("u", "2025Q1", max_units=1), offer("u", "2025Q2", max_units=1)],
        rules=[RULE],
        destination=destination,
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == expected


def test_no_channel_makes_a_prohibited_chip_buyable(tiny):
    offers = [offer("u", "2025Q2", channel=ch) for ch in ("direct", "grey-market", "cloud", "oem")]
    path = tiny(
        [chip("u", origin="US"), chip("d")],
        offers + [offer("d", "2025Q2", max_units=1)],
        rules=[RULE],
        budget={"total_usd": 1e6},
        policy={"allow_license_required": True},
    )
    plan = solve(path)
    check_plan(plan)
    assert set(plan.purchases["sku"]) == {"d"}
    assert sorted(plan.excluded["channel"]) == ["cloud", "direct", "grey-market", "oem"]


def test_license_required_needs_the_policy(tiny):
    rule = RULE | {"status": "license-required", "effective": "2024-01-01"}
    for allow, n in ((False, 0), (True, 2)):
        path = tiny(
            [chip("u", origin="US")],
            [offer("u", "2025Q1", max_units=2)],
            rules=[rule],
            budget={"total_usd": 1e6},
            policy={"allow_license_required": allow},
        )
        plan = solve(path)
        check_plan(plan)
        assert plan.totals["chips"] == n


def test_a_licence_fee_is_added_to_the_price(tiny):
    # a 10% fee on a $1000 chip: $1100 each; $11,000 buys exactly 10
    rule = RULE | {"status": "license-required", "effective": "2024-01-01", "license": {"fee_pct": 10}}
    path = tiny(
        [chip("u", origin="US")],
        [offer("u", "2025Q1", max_units=50)],
        rules=[rule],
        budget={"total_usd": 11000},
        policy={"allow_license_required": True},
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.totals["chips"] == 10 and plan.totals["capex_usd"] == 11000
    assert plan.purchases["cost_usd"].tolist() == [11000]


def test_policy_excludes_skus_and_channels(tiny):
    offers = [
        offer("a", "2025Q1", channel="x"),
        offer("a", "2025Q1", channel="y", max_units=1),
        offer("b", "2025Q1", max_units=1),
    ]
    path = tiny(
        [chip("a"), chip("b")],
        offers,
        budget={"total_usd": 1e6},
        policy={"exclude_skus": ["b"], "exclude_channels": ["x"]},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == {("a", "y", "2025Q1"): 1}


def test_infeasible_target_reports_least_shortfall(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=6)],
        objective="min-cost",
        targets={"2025Q1": {"pflops": 10}, "2025Q2": {"pflops": 4}},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.purchases.empty
    assert plan.diagnosis.to_json()["shortfalls"] == [
        {"period": "2025Q1", "measure": "pflops", "target": 10, "shortfall": 4.0}
    ]
    assert plan.diagnosis.to_json()["blocking"] == []
    assert any(line.startswith("supply:") for line in plan.diagnosis.to_json()["limits"])


def test_lowering_targets_by_shortfalls_is_feasible(tiny):
    offers = [offer("a", "2025Q1", max_units=6, delivery_risk=0.3)]
    targets = {"2025Q1": {"pflops": 10, "memory_tb": 1.0}}
    path = tiny([chip("a")], offers, objective="min-cost", targets=targets)
    plan = solve(path)
    assert plan.status == "infeasible"
    lowered = {p: dict(t) for p, t in targets.items()}
    for s in plan.diagnosis.to_json()["shortfalls"]:
        lowered[s["period"]][s["measure"]] -= s["shortfall"]
    again = solve(tiny([chip("a")], offers, objective="min-cost", targets=lowered))
    check_plan(again)


def test_blocking_power_when_the_fleet_exceeds_the_cap(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        fleet=[{"sku": "a", "chips": 5}],
        power={"site_capacity_mw": {"2025Q2": 0.004}},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["shortfalls"] == []
    assert plan.diagnosis.to_json()["blocking"] == [{"constraint": "power", "period": "2025Q2", "site": "CN"}]


def test_blocking_share_that_no_offer_can_meet(tiny):
    chips = [chip("f", category="full-spec", origin="US"), chip("d")]
    path = tiny(
        chips,
        [offer("f", "2025Q1")],
        fleet=[{"sku": "f", "chips": 5}],
        policy={"shares": [{"by": "category", "value": "domestic", "measure": "compute", "min": 0.3}]},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["blocking"] == [
        {"constraint": "share", "by": "category", "value": "domestic"}
    ]


def test_cbc_gives_the_same_plan(tiny):
    from planner.model.runs import SolverOptions

    path = tiny(
        [chip("a"), chip("b", bf16_tflops=2000)],
        [offer("a", "2025Q1"), offer("b", "2025Q1", unit_price_usd=1800)],
        objective="min-cost",
        targets={"2025Q2": {"pflops": 5}},
    )
    plan = solve(path, options=SolverOptions(solver="cbc"))
    check_plan(plan)
    assert plan.totals["capex_usd"] == 4600


def test_every_row_has_a_solver_name_and_a_description_in_the_users_words(tiny):
    # what `gpuplan explain` lists as constraints and `--write-model` writes as row names
    from planner.model.keys import Family

    chips = [chip("a"), chip("b", vendor="W", origin="US", category="export-compliant")]
    offers = [offer("a", "2025Q1", max_units=4), offer("b", "2025Q2", channel="dist")]
    path = tiny(
        chips,
        offers,
        objective="min-cost",
        budget={"total_usd": 10000, "per_period_usd": {"2025Q1": 6000}},
        targets={"2025Q2": {"pflops": 3, "memory_tb": 0.2}},
        power={"site_capacity_mw": {"2025Q1": 0.0035}},
        fleet=[{"sku": "a", "chips": 1}],
        policy={
            "shares": [
                {"by": "vendor", "value": "W", "measure": "spend", "max": 0.5},
                {"by": "category", "value": "domestic", "measure": "compute", "min": 0.3},
            ]
        },
    )
    model = model_of(path)
    # a row is found by its family and coordinates, never by its name
    assert model.row(Family.POWER, period="2025Q2", site="CN").name == "power_2025Q2_CN"
    with pytest.raises(LookupError) as err:
        model.row(Family.POWER, period="2026Q1")
    assert str(err.value) == "0 rows of family 'power' with {'period': '2026Q1'}; expected one"
    with pytest.raises(LookupError, match="^2 rows of family 'power' with {}; expected one$"):
        model.row(Family.POWER)
    assert [(r.key.family.value, r.name, r.description) for r in model.rows] == [
        ("budget", "budget_total", "total capex and lease commitments <= total budget"),
        (
            "cumulative budget",
            "budget_cumulative_2025Q1",
            "capex and lease payments through 2025Q1 <= cumulative budget",
        ),
        (
            "cumulative budget",
            "budget_cumulative_2025Q2",
            "capex and lease payments through 2025Q2 <= cumulative budget",
        ),
        ("target", "target_2025Q2_pflops", "pflops in 2025Q2 >= 3"),
        ("target", "target_2025Q2_memory_tb", "memory_tb in 2025Q2 >= 0.2"),
        ("power", "power_2025Q1_CN", "power at CN in 2025Q1 <= 0.0035 MW"),
        ("power", "power_2025Q2_CN", "power at CN in 2025Q2 <= 0.0035 MW"),  # the latest cap holds
        ("share", "share_0_W_max", "spend share of vendor W <= 0.5"),
        ("share", "share_1_domestic_min", "compute share of category domestic >= 0.3"),
    ]


def test_each_offer_left_out_says_why_and_only_compliance_names_rules(tiny):
    offers = [
        offer("u", "2025Q2"),  # prohibited by r1 from 2025-04-01
        offer("d", "2025Q1", channel="grey"),  # a channel the policy excludes
        offer("x", "2025Q1"),  # a chip the policy excludes
        offer("d", "2025Q2", lead_time_quarters=1),  # delivered in 2025Q3
        offer("d", "2026Q1"),  # after the horizon
        offer("d", "2025Q1", kind="lease", ships_to="MY", term_quarters=4),  # no sites: no leases
        offer("d", "2025Q1"),  # usable
    ]
    path = tiny(
        [chip("u", origin="US", bf16_tflops=5000), chip("d"), chip("x")],
        offers,
        rules=[RULE],
        budget={"total_usd": 1e6},
        policy={"exclude_skus": ["x"], "exclude_channels": ["grey"]},
    )
    plan = solve(path)
    got = sorted(
        plan.excluded[["sku", "channel", "period", "reason", "rule_ids"]].itertuples(index=False, name=None)
    )
    assert got == [
        ("d", "direct", "2025Q1", "lease: a scenario in the destination form has no leases (give sites)", ""),
        ("d", "direct", "2025Q2", "lead time: delivered after the horizon", ""),
        ("d", "direct", "2026Q1", "outside the horizon", ""),
        ("d", "grey", "2025Q1", "policy: channel excluded", ""),
        ("u", "direct", "2025Q2", "compliance: prohibited", "r1"),
        ("x", "direct", "2025Q1", "policy: sku excluded", ""),
    ]
