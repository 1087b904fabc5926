"""'What limits this plan': rows on their bound with a marginal value, named in words (hand-worked cases)."""

from __future__ import annotations

from conftest import chip, offer
from test_model import RULE

from planner import solve


def test_a_budget_that_binds_on_commitments_is_named(tiny):
    # $1000 a server, $2500 of budget: two servers, $500 left, less than one more server
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=100)], budget={"total_usd": 2500})
    plan = solve(path)
    assert plan.totals["chips"] == 2
    assert plan.limits == [
        "budget: total commitments (capex and leases) of 2,000 USD are at the total budget of 2,500 USD"
    ]


def test_a_budget_with_room_for_another_server_is_not_a_limit(tiny):
    # supply runs out first: 3 servers of 3 offered, $7000 of $10,000 spent
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=3)], budget={"total_usd": 10_000})
    plan = solve(path)
    assert plan.limits == ["supply: 1 offer(s) bought out: a via direct in 2025Q1"]


def test_a_site_without_capacity_that_nothing_would_use_is_not_a_limit(tiny):
    # 5 servers offered, site A holds all of them: site B's 0 MW costs the plan nothing
    sites = [
        {"name": "A", "country": "CN", "capacity_mw": {"2025Q1": 1}},
        {"name": "B", "country": "CN", "capacity_mw": {"2025Q1": 0}},
    ]
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=5)], sites=sites, budget={"total_usd": 1e6})
    plan = solve(path)
    assert plan.totals["chips"] == 5
    assert not any(line.startswith("power") for line in plan.limits)
    assert plan.limits == ["supply: 1 offer(s) bought out: a via direct in 2025Q1"]


def test_a_site_power_cap_that_binds_is_named_with_its_figures(tiny):
    # 1 kW a server, 1.5 MW at the only site: 1500 servers of 2000 offered
    sites = [{"name": "A", "country": "CN", "capacity_mw": {"2025Q1": 1.5}}]
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=2000)], sites=sites, budget={"total_usd": 1e7})
    plan = solve(path)
    assert plan.totals["chips"] == 1500
    assert plan.limits == ["power: 1.5 MW of the 1.5 MW site capacity used in 2025Q1"]


def test_a_small_site_shows_its_megawatts_to_three_figures(tiny):
    sites = [{"name": "A", "country": "CN", "capacity_mw": {"2025Q1": 0.003}}]
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=100)], sites=sites, budget={"total_usd": 1e6})
    plan = solve(path)
    assert plan.limits == ["power: 0.003 MW of the 0.003 MW site capacity used in 2025Q1"]


def test_a_chip_barred_for_some_order_quarters_says_which(tiny):
    # the rule prohibits u in CN for orders from 2025Q2: the plan still buys it in 2025Q1
    path = tiny(
        [chip("u", origin="US")],
        [offer("u", "2025Q1", max_units=1), offer("u", "2025Q2", max_units=1)],
        rules=[RULE],
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    assert plan.totals["chips"] == 1
    assert "compliance: 1 chip(s) not usable in CN (u for orders in 2025Q2) under r1" in plan.limits


def test_a_chip_barred_in_every_quarter_is_named_alone(tiny):
    rule = RULE | {"effective": "2024-01-01"}
    path = tiny(
        [chip("u", origin="US"), chip("d")],
        [offer("u", "2025Q1"), offer("u", "2025Q2"), offer("d", "2025Q1", max_units=1)],
        rules=[rule],
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    assert "compliance: 1 chip(s) not usable in CN (u) under r1" in plan.limits


def test_a_plan_asked_without_limits_has_the_same_figures_and_no_limits(tiny):
    # risk's sampled re-plans: the figures only (the budget's limit of the first test is left out)
    from planner.inputs.scenario import load_scenario
    from planner.model.data import prepare
    from planner.model.runs import SolverOptions
    from planner.plans.plan import catalog_for, solve_data

    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=100)], budget={"total_usd": 2500})
    scenario = load_scenario(path)
    data = prepare(scenario, catalog_for(scenario, None))
    full, brief = solve_data(data, SolverOptions()), solve_data(data, SolverOptions(), limits=False)
    assert full.limits and brief.limits == []
    assert brief.totals == full.totals and brief.servers.tolist() == full.servers.tolist()
