"""Hand-checked numbers for each shock effect and for the limits a plan reports.

Each test is built so that a plausible slip changes the number: a supply cut of a quarter (so
that keeping ``fraction`` instead of ``1 - fraction`` shows), an efficiency factor of 0.8 (so
that dividing shows), an order delivered on the very day of a ban (so that ``>`` instead of
``>=`` shows), a power cap met exactly, a sweep point that comes back below its predecessor.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml
from conftest import chip, offer

from planner.analyses.stressing import stress
from planner.inputs.catalog import load_catalog
from planner.inputs.scenario import load_scenario
from planner.inputs.shocks import Shock, apply
from planner.plans.plan import solve


def shocks_file(tmp_path, *shocks):
    path = tmp_path / "shocks.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "shocks": list(shocks)}, sort_keys=False))
    return path


def test_a_supply_cut_keeps_one_minus_the_fraction_from_its_quarter_on(tiny):
    path = tiny([chip("a")], [offer("a", q, max_units=100) for q in ("2025Q1", "2025Q2", "2025Q3")])
    scenario = load_scenario(path)
    catalog = load_catalog(scenario.catalog_path())
    shock = Shock.model_validate(
        {"name": "cut", "quarter": "2025Q2", "supply_cut": {"by": "sku", "value": "a", "fraction": 0.25}}
    )
    after = apply(shock, scenario, catalog).catalog.offers
    assert after.set_index("period")["max_units"].to_dict() == {"2025Q1": 100, "2025Q2": 75, "2025Q3": 75}


@pytest.mark.parametrize("by, value", [("vendor", "V"), ("sku", "a")])
def test_an_efficiency_shock_multiplies_compute_from_its_quarter_on(tiny, tmp_path, by, value):
    chips = [chip("a"), chip("b", vendor="W", bf16_tflops=900)]
    offers = [offer("a", q, max_units=4) for q in ("2025Q1", "2025Q2")] + [offer("b", "2025Q2")]
    path = tiny(chips, offers, budget={"total_usd": 8000, "per_period_usd": {"2025Q1": 4000, "2025Q2": 4000}})
    shocks = shocks_file(
        tmp_path,
        {"name": "slow", "quarter": "2025Q2", "efficiency": {"by": by, "value": value, "factor": 0.8}},
    )
    result = stress(path, shocks, with_robust=False).to_dict()
    [e] = result["base_exposure"]
    # without the shock a (1 PFLOPS per $1000) beats b (0.9): 8 a. With it, Q1's 4 a are committed
    # and give 0.8 each from Q2; in Q2 b's 0.9 beats a's 0.8: $4000 buys 4 b.
    assert result["base"]["totals"]["effective_pflops"] == 8
    assert e["effective_pflops"] == pytest.approx(4 * 0.8 + 4 * 0.9)
    assert [p["effective_pflops"] for p in e["periods"]] == pytest.approx([4, 4 * 0.8 + 4 * 0.9])


@pytest.mark.parametrize("day, stranded", [("2025-07-01", 2000), ("2025-07-02", 0)])
def test_an_order_delivered_on_the_day_of_a_ban_is_stranded(tiny, tmp_path, day, stranded):
    # h ordered in 2025Q1 with a 2-quarter lead time starts serving on 1 July 2025
    chips = [chip("h", origin="US", vendor="N", category="export-compliant"), chip("d")]
    offers = [
        offer("h", "2025Q1", max_units=2, lead_time_quarters=2),
        offer("d", "2025Q3", unit_price_usd=2000),
    ]
    path = tiny(chips, offers, periods=["2025Q1", "2025Q2", "2025Q3"], budget={"total_usd": 2000})
    rule = {"id": "ban-h", "origins": ["US"], "destinations": ["CN"], "status": "prohibited", "skus": ["h"]}
    shocks = shocks_file(tmp_path, {"name": "ban", "date": day, "rule": rule})
    base = solve(path)
    assert base.purchases["sku"].tolist() == ["h"]
    [e] = stress(path, shocks, with_robust=False).to_dict()["base_exposure"]
    assert e["stranded_usd"] == stranded


def test_a_power_cap_met_is_named_among_the_limits(tiny):
    # a 100 kW chip at PUE 1.0: a 0.3 MW cap holds exactly 3 chips
    path = tiny(
        [chip("a", power_w=100_000)],
        [offer("a", "2025Q1", max_units=10)],
        periods=["2025Q1"],
        budget={"total_usd": "1M"},
        power={"pue": 1.0, "site_capacity_mw": {"2025Q1": 0.3}},
    )
    plan = solve(path)
    assert plan.totals["chips"] == 3
    assert "power: 0.3 MW of the 0.3 MW site capacity used in 2025Q1" in plan.limits


def test_a_sweep_point_below_its_predecessor_is_solved_again(tiny, monkeypatch):
    from planner.analyses import analysis

    path = tiny(
        [chip("a")], [offer("a", "2025Q1", max_units=10)], periods=["2025Q1"], budget={"total_usd": 5000}
    )
    solve_once = analysis._LiveSweep.solve
    calls: list[float] = []

    def worse_first_time(self, total, start=None):
        point = solve_once(self, total, start)
        calls.append(total)
        if total == 6000 and start is None:  # within a MIP gap a solver may return less at a larger budget
            point = solve_once(self, 3000)
            point["total_usd"] = 6000
        return point

    monkeypatch.setattr(analysis._LiveSweep, "solve", worse_first_time)
    frame = analysis.sweep(path, [4000, 6000])
    assert frame["effective_pflops"].tolist() == [4, 6]
    assert calls == [4000, 6000, 6000]  # the second point was re-solved from the first one's plan
    assert np.all(np.diff(frame["effective_pflops"]) >= 0)


def test_shock_quarters_start_on_the_first_day():
    shock = Shock.model_validate({"name": "q", "quarter": "2025Q3", "budget_cut": {"fraction": 0.5}})
    assert shock.starts == dt.date(2025, 7, 1)


def test_a_per_quarter_budget_cut_leaves_committed_payments_due_in_full(tiny, tmp_path):
    """A cut takes a share of what is not committed, for each quarter's budget as for the total.

    A lease signed in Q1 pays $100 in Q1, Q2 and Q3; chips cost $20 (5 a quarter); budgets $100, $200, $200 a
    quarter without carry-over. The base plan rents one chip and buys 5 in Q2 and 5 in Q3 (11
    PFLOPS). A 60% cut from Q2 leaves each later quarter its $100 of lease payment and 40% of the
    other $100: two more chips a quarter (5 PFLOPS). Cutting the lease payment too would leave $80
    for $100 due: no plan at all.
    """
    from conftest import lease

    from planner.analyses.stressing import stress

    path = tiny(
        [chip("a")],
        [lease("a", "2025Q1", ships_to="MY", term_quarters=3, unit_price_usd=100, max_units=1)]
        + [offer("a", q, unit_price_usd=20, max_units=5) for q in ("2025Q2", "2025Q3")],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        sites=[{"name": "home", "country": "CN"}],
        budget={"per_period_usd": {"2025Q1": 100, "2025Q2": 200, "2025Q3": 200}, "carry_over": False},
    )
    shocks = tmp_path / "cut.yaml"
    shocks.write_text("name: cut\nshocks:\n  - {name: cut, quarter: 2025Q2, budget_cut: {fraction: 0.6}}\n")
    result = stress(path, shocks, with_robust=False).to_dict()
    assert result["base"]["totals"]["effective_pflops"] == 11.0
    [cut] = result["base_exposure"]
    assert cut["status"] == "optimal" and cut["effective_pflops"] == 5.0
