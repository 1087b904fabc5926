"""Reductions keep the optimum: the same objective with and without them, within the gap."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, chip, offer

from planner.catalog import load_catalog
from planner.model.build import build, cheaper_first_pairs
from planner.model.data import prepare
from planner.model.solve import SolverOptions, optimize, scenario_goal
from planner.scenario import load_scenario

sys.path.insert(0, str(ROOT / "benchmarks"))
import synthetic  # noqa: E402

EXACT = SolverOptions(mip_gap=0.0)


def solved(data, reductions: bool):
    model = build(data, reductions=reductions)
    goal = scenario_goal(model.main)
    outcome = optimize(model, goal, EXACT)
    assert outcome.ok, outcome.status
    return outcome.value, goal.tie_break.value(outcome.x) if goal.tie_break is not None else None


@pytest.mark.parametrize(
    "skus, channels, quarters, objective, seed",
    [
        (12, 4, 4, "min-cost", 1),
        (12, 4, 4, "max-compute", 2),
        (20, 3, 5, "min-cost", 3),
        (16, 5, 4, "max-compute", 4),
    ],
)
def test_cheaper_first_keeps_the_optimum(tmp_path, skus, channels, quarters, objective, seed):
    scenario = load_scenario(
        synthetic.make(tmp_path, skus, channels, quarters, objective=objective, seed=seed)
    )
    data = prepare(scenario, load_catalog(scenario.catalog_path()))
    pairs = cheaper_first_pairs(data)
    assert len(pairs) >= skus  # twins of different channels exist
    prices = data.offers["max_servers"]
    assert all(prices.iloc[a] > 0 and prices.iloc[b] > 0 for a, b in pairs)
    without, cost_without = solved(data, False)
    with_, cost_with = solved(data, True)
    assert with_ == pytest.approx(without, rel=1e-9, abs=1e-6)
    if cost_without is not None:  # max-compute's second stage: the least cost at that compute
        assert cost_with == pytest.approx(cost_without, rel=1e-9, abs=1e-3)


def test_no_pairs_where_the_exchange_argument_fails(tiny):
    chips = [chip("a")]
    offers = [
        offer("a", "2025Q1", channel="x", unit_price_usd=1000),
        offer("a", "2025Q1", channel="y", unit_price_usd=900),
    ]
    plain = tiny(chips, offers)
    data = prepare(load_scenario(plain), load_catalog(load_scenario(plain).catalog_path()))
    assert cheaper_first_pairs(data) == [(1, 0)] or cheaper_first_pairs(data) == [(0, 1)]
    assert data.offers["unit_price_usd"].iloc[cheaper_first_pairs(data)[0][0]] == 900  # the cheaper first
    for shares in (
        [{"by": "channel", "value": "x", "measure": "compute", "max": 0.5}],
        [{"by": "vendor", "value": "V", "measure": "spend", "min": 0.5}],
    ):
        path = tiny(chips, offers, policy={"shares": shares})
        scenario = load_scenario(path)
        assert cheaper_first_pairs(prepare(scenario, load_catalog(scenario.catalog_path()))) == []


def test_a_cheaper_twin_fills_first_in_the_plan(tiny):
    # two channels sell a at $1000 and $900; $2,800 buys 3: the cheap channel's 2, then 1 dear
    offers = [
        offer("a", "2025Q1", channel="dear", unit_price_usd=1000, max_units=5),
        offer("a", "2025Q1", channel="cheap", unit_price_usd=900, max_units=2),
    ]
    from planner.plan import solve

    plan = solve(tiny([chip("a")], offers, budget={"total_usd": 2800}))
    got = dict(zip(plan.purchases["channel"], plan.purchases["chips"], strict=True))
    assert got == {"cheap": 2, "dear": 1} and plan.totals["capex_usd"] == 2800
