"""Money over the asset's life (contract v3, section 6): tiny cases worked by hand.

Every plan is also re-derived by the independent contract implementation (``contract.py``),
which recomputes cash, the discounted cost, book value, retirements and the budgets in the
budget currency from the input files; where the instance is small enough the optimum is
found by brute force too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import contract
import pytest
import yaml
from click.testing import CliRunner
from conftest import chip, lease, offer
from rederive import check_catches, check_plan

from planner.cli import main
from planner.plans.plan import solve

HOME = {"name": "home", "country": "CN"}


def bought(plan) -> list[tuple[str, str, str, int]]:
    return sorted(
        (r["sku"], r["kind"], r["order_period"], int(r["chips"])) for r in plan.purchases.to_dict("records")
    )


def periods(plan, key: str) -> list[float]:
    return [p[key] for p in plan.to_dict()["periods"]]


def best_by_brute_force(path: Path, minimize: bool) -> float:
    """The optimum (E_T for max-compute, the cost for min-cost) over every assignment of whole servers."""
    inst = contract.load(path)
    every = contract.brute_force(inst)
    assert every is not None
    feasible = [f for _, f in every if f.feasible]
    return min(f.cost for f in feasible) if minimize else max(f.E[-1] for f in feasible)


def test_a_deposit_is_paid_when_ordered_and_the_balance_on_delivery(tiny):
    # one $1000 chip ordered in Q1, delivered in Q2: 30% ($300) in Q1, $700 in Q2
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1, lead_time_quarters=1)],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        budget={"per_period_usd": {"2025Q1": 300, "2025Q2": 700, "2025Q3": 0}, "carry_over": False},
        finance={"deposit": 0.3},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == [("a", "buy", "2025Q1", 1)]
    assert periods(plan, "cash_usd") == [300.0, 700.0, 0.0]
    assert periods(plan, "capex_usd") == [1000.0, 0.0, 0.0]  # commitments stay in the order quarter
    assert "cash" not in plan.to_dict()["periods"][0]  # a USD budget has no second currency
    # paid whole on order, the same chip breaks the first quarter's budget: nothing is bought
    whole = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1, lead_time_quarters=1)],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        budget={"per_period_usd": {"2025Q1": 300, "2025Q2": 700, "2025Q3": 0}, "carry_over": False},
        finance={"deposit": 1},
        name="whole",
    )
    assert bought(solve(whole)) == []


@pytest.mark.parametrize(
    "fx, expected",
    [
        # 500 USD at 7.0 in Q1 and 500 USD at 7.0 in Q2: CNY 7000, the whole budget
        ({"2025Q1": 7.0}, [("a", "buy", "2025Q1", 1)]),
        # the yuan weakens to 8.0 before delivery: 500 * 7 + 500 * 8 = CNY 7500 > 7000
        ({"2025Q1": 7.0, "2025Q2": 8.0}, []),
    ],
)
def test_a_yuan_budget_binds_only_because_the_rate_moves(tiny, fx, expected):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1, lead_time_quarters=1)],
        periods=["2025Q1", "2025Q2"],
        budget={"total": "7000"},
        finance={"currency": "CNY", "fx": fx, "deposit": 0.5},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == expected
    if expected:
        assert periods(plan, "cash") == [3500.0, 3500.0]
        assert plan.to_dict()["totals"]["currency"] == "CNY"


def test_a_discount_moves_a_purchase_later(tiny):
    # a chip needed in Q3: $1000 in Q1 or $1010 in Q3. Undiscounted, Q1 is cheaper; at 10% a year
    # the Q3 price is worth 1010 * 1.1 ** (-2 / 4) = 963.00 today, so the order moves to Q3
    offers = [offer("a", "2025Q1", max_units=1), offer("a", "2025Q3", max_units=1, unit_price_usd=1010)]
    common = {"periods": ["2025Q1", "2025Q2", "2025Q3"], "objective": "min-cost"}
    common["targets"] = {"2025Q3": {"pflops": 1}}
    flat = tiny([chip("a")], offers, finance={"discount_rate": 0}, name="flat", **common)
    plan = solve(flat)
    check_plan(plan)
    assert bought(plan) == [("a", "buy", "2025Q1", 1)]
    assert plan.to_dict()["totals"]["cost_usd"] == 1000.0
    discounted = tiny([chip("a")], offers, finance={"discount_rate": 0.1}, name="disc", **common)
    plan = solve(discounted)
    check_plan(plan)
    assert bought(plan) == [("a", "buy", "2025Q3", 1)]
    assert plan.to_dict()["totals"]["cost_usd"] == round(1010 * 1.1 ** (-0.5), 2) == 963.0
    assert math.isclose(best_by_brute_force(discounted, minimize=True), 1010 * 1.1 ** (-0.5))


def test_residual_value_makes_buying_beat_renting(tiny):
    # one PFLOPS in Q1 and Q2: buy for $1000 or rent for $300 a quarter (two quarters: $600). With a
    # one-year book life the chip is worth 1000 * (1 - 2/4) = $500 after Q2; credited, buying costs $500
    offers = [offer("a", "2025Q1", max_units=1), lease("a", "2025Q1", term_quarters=2, unit_price_usd=300)]
    common = {"periods": ["2025Q1", "2025Q2"], "objective": "min-cost", "sites": [HOME]}
    common["targets"] = {"2025Q1": {"pflops": 1}, "2025Q2": {"pflops": 1}}
    rent = tiny([chip("a")], offers, finance={"book_life_years": 1}, name="rent", **common)
    plan = solve(rent)
    check_plan(plan)
    assert bought(plan) == [("a", "lease", "2025Q1", 1)]
    assert plan.to_dict()["totals"]["residual_value_usd"] == 0.0
    buy = tiny([chip("a")], offers, finance={"book_life_years": 1, "residual": "book"}, name="buy", **common)
    plan = solve(buy)
    check_plan(plan)
    assert bought(plan) == [("a", "buy", "2025Q1", 1)]
    totals = plan.to_dict()["totals"]
    assert totals["residual_value_usd"] == 500.0 and totals["cost_usd"] == 500.0
    assert periods(plan, "depreciation_usd") == [250.0, 250.0]
    assert best_by_brute_force(buy, minimize=True) == 500.0


def test_a_fleet_that_retires_inside_the_horizon_frees_site_power(tiny):
    # 1000 chips of 1 kW fill the 1 MW site; installed in 2020Q2 with a five-year service life they
    # serve through 2025Q1, so 1000 new chips delivered in 2025Q2 fit under the same cap
    offers = [offer("b", "2025Q1", max_units=1000, lead_time_quarters=1)]
    site = HOME | {"capacity_mw": {"2025Q1": 1}}
    fleet = [{"sku": "a", "chips": 1000, "installed": "2020Q2"}]
    common = {"periods": ["2025Q1", "2025Q2"], "sites": [site], "fleet": fleet}
    keeps = tiny([chip("a"), chip("b")], offers, finance={}, name="keeps", **common)
    plan = solve(keeps)
    check_plan(plan)
    assert bought(plan) == []  # the fleet never retires without a service life
    retires = tiny([chip("a"), chip("b")], offers, finance={"service_life_years": 5}, name="ret", **common)
    plan = solve(retires)
    check_plan(plan)
    assert bought(plan) == [("b", "buy", "2025Q1", 1000)]
    assert periods(plan, "retired_chips") == [0, 1000]
    assert periods(plan, "effective_pflops") == [1000.0, 1000.0]
    assert periods(plan, "power_mw") == [1.0, 1.0]
    assert best_by_brute_force(retires, minimize=False) == 1000.0


def test_a_purchase_retires_after_its_service_life_and_leaves_compute_and_power(tiny):
    # a chip delivered in Q1 with a service life of 0.5 years serves Q1 and Q2 only
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1)],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        budget={"total_usd": 1000},
        finance={"service_life_years": 0.5},
        objective="min-cost",
        targets={"2025Q2": {"pflops": 1}},
    )
    plan = solve(path)
    check_plan(plan)
    assert periods(plan, "effective_pflops") == [1.0, 1.0, 0.0]
    assert periods(plan, "power_mw") == [0.001, 0.001, 0.0]
    assert periods(plan, "retired_chips") == [0, 0, 1]


def test_lease_payments_after_the_horizon_are_discounted_commitments(tiny):
    # a $100 a quarter lease for 4 quarters signed in the last of 2 periods: 3 payments after it
    path = tiny(
        [chip("a")],
        [lease("a", "2025Q2", term_quarters=4, unit_price_usd=100, max_units=1)],
        periods=["2025Q1", "2025Q2"],
        sites=[HOME],
        budget={"total_usd": 400},
        finance={"discount_rate": 0.2},
    )
    plan = solve(path)
    check_plan(plan)
    totals = plan.to_dict()["totals"]
    assert totals["after_horizon_usd"] == 300.0
    assert totals["lease_usd"] == 400.0  # the undiscounted commitment
    want = sum(100 * 1.2 ** (-i / 4) for i in range(1, 5))
    assert totals["cost_usd"] == round(want, 2)


def test_without_finance_the_json_has_no_section_6_keys(tiny):
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=1)], budget={"total_usd": 1000})
    doc = solve(path).to_dict()
    assert not {"cost_usd", "residual_value_usd", "currency", "after_horizon_usd"} & set(doc["totals"])
    assert "cash_usd" not in doc["periods"][0]


# ---------------------------------------------------------------- input checks


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(
    "finance, budget, message",
    [
        (
            {"currency": "CNY", "fx": {"2025Q1": 7.2}},
            {"total_usd": "1M"},
            "budget.total_usd: the budget is in CNY (finance.currency); write budget.total instead",
        ),
        (
            {"currency": "cny", "fx": {"2025Q1": 7.2}},
            {"per_period_usd": {"2025Q1": "1M"}},
            "budget.per_period_usd: the budget is in CNY (finance.currency); write budget.per_period instead",
        ),
        (
            {"currency": "CNY"},
            {"total": "1M"},
            "key finance: fx: a budget in CNY needs an exchange-rate path (CNY per USD by quarter, e.g. {2025Q1: 7.2})",
        ),
        (
            {"currency": "CNY", "fx": {"2025Q2": 7.2}},
            {"total": "1M"},
            "finance.fx: the exchange-rate path starts after the first period 2025Q1; give a rate for 2025Q1 or earlier",
        ),
        ({"fx": {"2025Q1": 7.2}}, {"total": "1M"}, "key finance: fx: the budget currency is USD"),
        ({"deposit": 1.5}, {"total": "1M"}, "key finance.deposit: Input should be less than or equal to 1"),
        (
            {"book_life_years": 4.1},
            {"total": "1M"},
            "book_life_years must be a whole number of quarters (a multiple of 0.25), got 4.1",
        ),
        ({"service_life_years": 1000}, {"total": "1M"}, "key finance.service_life_years: Input should be"),
        ({"residual": "market"}, {"total": "1M"}, "key finance.residual: Input should be 'none' or 'book'"),
        ({"currency": "yuan", "fx": {"2025Q1": 7.2}}, {"total": "1M"}, "three-letter currency code"),
        ({}, {"total": "1M", "total_usd": "1M"}, "give total or total_usd, not both"),
    ],
)
def test_finance_input_errors_name_the_key(tiny, finance, budget, message):
    path = tiny([chip("a")], [offer("a", "2025Q1")], finance=finance, budget=budget)
    result = run("plan", path)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_a_fleet_installed_after_the_horizon_is_refused(tiny):
    path = tiny([chip("a")], [offer("a", "2025Q1")], fleet=[{"sku": "a", "chips": 1, "installed": "2026Q1"}])
    result = run("plan", path)
    assert result.exit_code == 2
    assert "fleet[0].installed: 2026Q1 is after the last period 2025Q2" in result.output


def test_a_cny_scenario_survives_its_own_dump(tiny):
    """Sweeps and Dask workers send the scenario as its dump: the budget spelling must read back."""
    from planner.inputs.scenario import Scenario, load_scenario

    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        budget={"total": "70K"},
        finance={"currency": "CNY", "fx": {"2025Q1": 7}},
    )
    scenario = load_scenario(path)
    again = Scenario.from_dict(scenario.model_dump(mode="json"), scenario.source)
    assert again.budget.total_usd == 70000 and again.finance is not None


def test_the_json_of_a_finance_plan_round_trips_through_the_cli(tiny, tmp_path):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=2, lead_time_quarters=1)],
        budget={"total": "20K"},
        finance={"currency": "CNY", "fx": {"2025Q1": 7, "2025Q2": 7.5}, "deposit": 0.2},
    )
    result = run("plan", path, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    # 2 chips: 400 USD at 7 in Q1 + 1600 USD at 7.5 in Q2 = CNY 14,800 <= 20,000
    assert [p["cash"] for p in doc["periods"]] == [2800.0, 12000.0]
    assert yaml.safe_load(Path(path).read_text())["finance"]["deposit"] == 0.2


# ---------------------------------------------------------------- fx shocks


def _fx_case(tiny, tmp_path, factor):
    # $1000 chips, half paid on order and half on delivery a quarter later; CNY 7,500 in all at 7.0:
    # the base plan orders one chip in Q1 (CNY 3,500 + 3,500) and cannot afford a second
    path = tiny(
        [chip("a")],
        [offer("a", q, max_units=1, lead_time_quarters=1) for q in ("2025Q1", "2025Q2")],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        budget={"total": "7500"},
        finance={"currency": "CNY", "fx": {"2025Q1": 7.0}, "deposit": 0.5},
    )
    shocks = tmp_path / "fx.yaml"
    shocks.write_text(
        yaml.safe_dump(
            {"name": "fx", "shocks": [{"name": "weak", "quarter": "2025Q2", "fx": {"factor": factor}}]}
        )
    )
    return path, shocks


def test_an_fx_shock_converts_the_unpaid_balance_at_the_shocked_rate(tiny, tmp_path):
    from planner.analyses.stressing import stress

    # from Q2 the yuan is at 7 x 8/7 = 8.0: the Q1 order keeps its $1000 price, its $500 balance now
    # costs CNY 4,000, so it uses CNY 7,500, the whole budget
    path, shocks = _fx_case(tiny, tmp_path, 8 / 7)
    result = stress(path, shocks, with_robust=False).to_dict()
    assert result["base"]["totals"]["effective_pflops"] == 1
    [weak] = result["base_exposure"]
    assert weak["status"] == "optimal" and weak["effective_pflops"] == 1
    assert weak["stranded_usd"] == 0
    # at 1.2 (8.4 per USD) the committed balance alone costs CNY 4,200: the re-plan has no feasible plan
    path, shocks = _fx_case(tiny, tmp_path, 1.2)
    [weak] = stress(path, shocks, with_robust=False).to_dict()["base_exposure"]
    assert weak["status"] == "infeasible"


def test_the_fx_shock_moves_the_rate_from_the_first_open_quarter(tiny):
    from planner.inputs.scenario import load_scenario
    from planner.inputs.shocks import Shock, apply

    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        budget={"total": "1M"},
        finance={"currency": "CNY", "fx": {"2024Q4": 7.3, "2025Q1": 7.2, "2025Q3": 7.0}},
    )
    scenario = load_scenario(path)
    shock = Shock.model_validate({"name": "w", "date": "2025-05-10", "fx": {"factor": 1.1}})
    from planner.plans.plan import catalog_for

    moved = apply(shock, scenario, catalog_for(scenario)).scenario
    assert moved.finance is not None
    # the first quarter starting on or after 2025-05-10 is 2025Q3
    assert moved.finance.fx == {"2024Q4": 7.3, "2025Q1": 7.2, "2025Q2": 7.2, "2025Q3": 7.0 * 1.1}


def test_an_fx_shock_on_a_usd_budget_is_refused(tiny, tmp_path):
    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": "1M"})
    shocks = tmp_path / "fx.yaml"
    shocks.write_text(
        yaml.safe_dump({"name": "fx", "shocks": [{"name": "w", "quarter": "2025Q2", "fx": {"factor": 1.1}}]})
    )
    result = run("stress", path, "--shocks", shocks)
    assert result.exit_code == 2, result.output
    assert "key shocks[0].fx: an fx shock moves the budget currency's rate" in result.output


@pytest.mark.parametrize(
    "break_it",
    [
        lambda doc: doc["periods"][0].update(cash_usd=doc["periods"][0]["cash_usd"] + 1),
        lambda doc: doc["totals"].update(cost_usd=doc["totals"]["cost_usd"] - 1),
        lambda doc: doc["periods"][1].update(depreciation_usd=0.0),
        lambda doc: doc["totals"].update(residual_value_usd=0.0),
    ],
)
def test_the_independent_check_catches_a_broken_money_figure(tiny, break_it):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1, lead_time_quarters=1)],
        periods=["2025Q1", "2025Q2"],
        budget={"total_usd": 1000},
        finance={"deposit": 0.3, "discount_rate": 0.1, "book_life_years": 1, "residual": "book"},
    )
    check_catches(solve(path), break_it)
