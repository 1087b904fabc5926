"""Edges of the model the mutation run found untested, each with numbers worked out by hand.

Budget bounds re-set by sweeps, the branch budget of a robust plan under a budget cut, the spend
committed before a cut, a model with no usable offer (no columns at all), the buyer's
headquarters defaulting to the destination, blocking constraints while targets exist, and how a
diagnosis explains the spread of its shortfalls.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import yaml
from conftest import chip, model_of, offer

from planner.analyses.stressing import robust_plan, stress
from planner.inputs.catalog import Rule
from planner.inputs.scenario import load_scenario
from planner.model.build import budget_bounds
from planner.model.data import prepare
from planner.model.keys import Family, RowKey
from planner.plans.plan import catalog_for, solve
from planner.rules.compliance import chip_status

QUARTERS = ["2025Q1", "2025Q2", "2025Q3"]


@pytest.mark.parametrize("carry", [True, False])
def test_budget_bounds_are_the_budget_rows_right_hand_sides(tiny, carry):
    budget = {"total_usd": 9000, "per_period_usd": {"2025Q1": 1000, "2025Q2": 3000, "2025Q3": 2000}}
    path = tiny([chip("a")], [offer("a", "2025Q1")], periods=QUARTERS, budget=budget | {"carry_over": carry})
    scenario = load_scenario(path)
    bounds = budget_bounds(prepare(scenario, catalog_for(scenario)))
    family = Family.BUDGET_CUMULATIVE if carry else Family.BUDGET_PERIOD
    per = [1000, 4000, 6000] if carry else [1000, 3000, 2000]
    assert bounds == {RowKey(Family.BUDGET_TOTAL): 9000} | {
        RowKey(family, period=q): v for q, v in zip(QUARTERS, per, strict=True)
    }


def shocks(tmp_path, shock):
    path = tmp_path / "shocks.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "shocks": [shock]}, sort_keys=False))
    return path


def test_a_budget_cut_leaves_one_minus_the_fraction_of_the_unspent_money(tiny, tmp_path):
    # a: 1 PFLOPS for $1000, 4 a quarter; $8000 in all. Base: 4 + 4. A 50% cut from Q2 leaves
    # $4000 committed in Q1 plus half of the $4000 unspent: 2 more a.
    offers = [offer("a", q, max_units=4) for q in ("2025Q1", "2025Q2")]
    path = tiny([chip("a")], offers, budget={"total_usd": 8000})
    cut = shocks(tmp_path, {"name": "cut", "quarter": "2025Q2", "budget_cut": {"fraction": 0.5}})
    result = stress(path, cut, with_robust=False).to_dict()
    assert result["base"]["totals"]["effective_pflops"] == 8
    assert result["base_exposure"][0]["effective_pflops"] == 6


def test_a_robust_plan_keeps_each_branch_within_its_cut_budget(tiny, tmp_path):
    # Q1: at most 4 a; Q2: at most 8. Base branch: x1 + x2 <= 8; cut branch (50% from Q2):
    # y2 <= 0.5 (8 - x1). Expected compute 0.5 (x1 + x2) + 0.5 (x1 + y2) = 6 + 0.25 x1: x1 = 4,
    # the base branch 8 PFLOPS, the cut branch 4 + 2 = 6.
    offers = [offer("a", "2025Q1", max_units=4), offer("a", "2025Q2", max_units=8)]
    path = tiny([chip("a")], offers, budget={"total_usd": 8000})
    cut = shocks(
        tmp_path, {"name": "cut", "quarter": "2025Q2", "probability": 0.5, "budget_cut": {"fraction": 0.5}}
    )
    plan = robust_plan(path, cut)
    assert plan.status == "optimal"
    assert plan.totals["effective_pflops"] == 8
    [branch] = plan.robust.branches
    assert branch.effective_pflops == 6 and branch.capex_usd == 6000


def test_no_usable_offer_leaves_the_fleet_exactly_at_its_limits(tiny):
    # the only offer is delivered after the horizon: no columns. The fleet's 2 PFLOPS meet the
    # target exactly and draw exactly the site's 2 kW.
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q2", lead_time_quarters=3)],
        objective="min-cost",
        fleet=[{"sku": "a", "chips": 2}],
        targets={"2025Q2": {"pflops": 2}},
        power={"pue": 1.0, "site_capacity_mw": {"2025Q1": 0.002}},
    )
    plan = solve(path)
    assert plan.status == "optimal" and plan.purchases.empty
    assert plan.totals["effective_pflops"] == 2
    assert [p["effective_pflops"] for p in plan.to_dict()["periods"]] == [2, 2]


def test_no_usable_offer_and_a_target_the_fleet_misses(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q2", lead_time_quarters=3)],
        objective="min-cost",
        fleet=[{"sku": "a", "chips": 2}],
        targets={"2025Q2": {"pflops": 3}},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["shortfalls"] == [
        {"period": "2025Q2", "measure": "pflops", "target": 3, "shortfall": 1.0}
    ]


def test_headquarters_default_to_the_destination():
    rule = Rule.model_validate(
        {
            "id": "hq-cn",
            "origins": ["US"],
            "destinations": ["*"],
            "headquarters": ["CN"],
            "effective": "2025-01-01",
            "status": "prohibited",
            "skus": ["x"],
        }
    )
    x = {"sku": "x", "origin": "US", "bf16_tflops": 100, "datacenter": True, "tags": ""}
    on = dt.date(2025, 6, 1)
    assert chip_status(x, "CN", on, [rule]).status == "prohibited"  # a buyer headquartered in CN
    assert chip_status(x, "CN", on, [rule], headquarters="US").status == "allowed"
    assert chip_status(x, "MY", on, [rule]).status == "allowed"
    assert chip_status(x, "MY", on, [rule], headquarters="CN").status == "prohibited"


@pytest.mark.parametrize("target", [6, 1000])  # 1000: more than the 100 chips on offer could give
def test_blocking_power_in_two_quarters_while_targets_exist(tiny, target):
    # the fleet draws 5 kW against 4 kW caps in both quarters: no plan meets the caps, whatever
    # the target (the blocking analysis drops targets, even one out of reach); both quarters are named
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        objective="min-cost",
        fleet=[{"sku": "a", "chips": 5}],
        targets={"2025Q2": {"pflops": target}},
        power={"site_capacity_mw": {"2025Q1": 0.004, "2025Q2": 0.004}},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["shortfalls"] == []
    assert plan.diagnosis.to_json()["blocking"] == [
        {"constraint": "power", "period": "2025Q1", "site": "CN"},
        {"constraint": "power", "period": "2025Q2", "site": "CN"},
    ]
    assert sum(line.startswith("power: the fleet") for line in plan.diagnosis.to_json()["limits"]) == 2


def test_the_diagnosis_says_how_shortfalls_are_spread(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=6)],
        objective="min-cost",
        targets={"2025Q1": {"pflops": 10}, "2025Q2": {"pflops": 8, "memory_tb": 1}},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["shortfalls"] == [
        {"period": "2025Q1", "measure": "pflops", "target": 10, "shortfall": 4.0},
        {"period": "2025Q2", "measure": "pflops", "target": 8, "shortfall": 2.0},
        {"period": "2025Q2", "measure": "memory_tb", "target": 1, "shortfall": 0.4},
    ]
    assert plan.diagnosis.to_json()["spread"] == (
        "the shortfalls are the split with the least total shortfall relative to each target (sum of "
        "shortfall / target): 2025Q1 pflops 40.0% of its target; 2025Q2 pflops 25.0% of its target; 2025Q2 "
        "memory_tb 40.0% of its target. Other splits of the same money may exist; lowering each target by "
        "its shortfall is feasible."
    )


def test_cbc_plans_carry_no_message_and_their_run_time(tiny):
    from planner.model.runs import SolverOptions

    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=3)], budget={"total_usd": 2000})
    plan = solve(path, options=SolverOptions(solver="cbc"))
    assert plan.status == "optimal" and plan.totals["effective_pflops"] == 2
    assert plan.message == "" and isinstance(plan.seconds, float) and plan.seconds > 0
    highs = solve(path)
    assert highs.message == "" and isinstance(highs.seconds, float) and highs.seconds > 0


def test_solver_logs_never_reach_standard_output(tiny):
    # HiGHS writes to the C stdout when its output flag is on: the JSON would not parse
    import json
    import subprocess
    import sys

    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=3)], budget={"total_usd": 2000})
    for solver in ("highs", "cbc"):
        out = subprocess.run(
            [sys.executable, "-m", "planner.cli", "plan", str(path), "--format", "json", "--solver", solver],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["totals"]["effective_pflops"] == 2


def two_sites(tiny, fleet_site: str, shares: list[dict] | None = None, **kw):
    chips = [chip("d", category="domestic"), chip("f", origin="US", category="full-spec", vendor="N")]
    offers = [
        offer("d", "2025Q1", unit_price_usd=1000),
        offer("f", "2025Q1", channel="oem", unit_price_usd=500),
    ]
    sites = [{"name": "cn", "country": "CN"}, {"name": "my", "country": "MY"}]
    return tiny(
        chips,
        offers,
        destination=None,
        buyer={"headquarters": "CN"},
        sites=sites,
        periods=["2025Q1"],
        budget={"total_usd": 4000},
        fleet=[{"sku": "f", "chips": 10, "site": fleet_site}],
        policy={"shares": shares or []},
        **kw,
    )


def test_the_fleet_takes_its_site_country(tiny):
    scenario = load_scenario(two_sites(tiny, "my"))
    data = prepare(scenario, catalog_for(scenario))
    assert data.fleet["country"].tolist() == ["MY"]


def test_a_share_within_a_country_ignores_the_fleet_elsewhere(tiny):
    # at least half of the compute in China domestic: China has neither fleet nor purchases once the
    # cheap f goes to Malaysia, so $4000 buys 8 f there (18 PFLOPS with Malaysia's fleet of 10). Were
    # the fleet in Malaysia counted in China's scope, no plan could meet the share.
    within_cn = [
        {
            "by": "category",
            "value": "domestic",
            "measure": "compute",
            "min": 0.5,
            "within": {"by": "country", "value": "CN"},
        }
    ]
    plan = solve(two_sites(tiny, "my", within_cn))
    assert plan.status == "optimal"
    assert plan.totals["effective_pflops"] == 18
    assert set(zip(plan.purchases["sku"], plan.purchases["site"], plan.purchases["chips"], strict=True)) == {
        ("f", "my", 8)
    }


def test_a_channel_share_with_a_fleet(tiny):
    # the fleet came through no channel: it counts in the total of a channel share, in no group.
    # Each channel at most half of the compute: x f (oem) <= 0.5 (10 + x + y) and y d (direct) likewise;
    # $4000 buys 8 f (8 <= 9): 18 PFLOPS. Were the fleet a group of its own, 10 <= 0.5 (10 + x + y)
    # would need 10 chips that $4000 cannot buy.
    share = [{"by": "channel", "value": "*", "measure": "compute", "max": 0.5}]
    path = two_sites(tiny, "cn", share)
    plan = solve(path)
    assert plan.status == "optimal"
    assert plan.purchases["cost_usd"].sum() == 4000 and plan.totals["effective_pflops"] == 10 + 8
    model = model_of(path)
    assert [r.description for r in model.rows if r.key.family == Family.SHARE] == [
        "compute share of channel direct <= 0.5",
        "compute share of channel oem <= 0.5",
    ]


def test_explain_duals_on_a_tiny_case_with_either_solver(tiny):
    from planner.analyses.explaining import explain_plan
    from planner.model.runs import SolverOptions

    # a: 1 PFLOPS per $1000, supply 10; $3000: the budget binds and $1B more would buy the rest (7 more)
    path = tiny(
        [chip("a")], [offer("a", "2025Q1", max_units=10)], budget={"total_usd": 3000}, periods=["2025Q1"]
    )
    for solver in ("highs", "cbc"):
        options = SolverOptions(solver=solver)
        why = explain_plan(solve(path, options=options), options)
        budget = why.marginal.iloc[0]
        assert budget["what"].startswith("extra $1B of total budget")
        assert budget["dual"] == pytest.approx(1e9 / 1000)  # 1 PFLOPS per $1000, the LP's price of money
        assert budget["milp_resolved"] == pytest.approx(7)  # only 7 more a exist


def test_run_limit_is_the_time_limit_within_the_deadline(monkeypatch):
    import time as clock

    from planner.errors import OutOfTime
    from planner.model.runs import SolverOptions

    monkeypatch.setattr(clock, "time", lambda: 1000.0)
    assert SolverOptions().run_limit() is None
    assert SolverOptions(time_limit=30).run_limit(spent=12) == 18
    assert SolverOptions(time_limit=30).run_limit(spent=29.5) == 1.0  # at least a second per run
    assert SolverOptions(deadline=1007.5).run_limit() == 7.5
    assert SolverOptions(time_limit=30, deadline=1007.5).run_limit() == 7.5
    assert SolverOptions(time_limit=5, deadline=1007.5).run_limit() == 5
    for options in (SolverOptions(deadline=1000.0), SolverOptions(time_limit=30, deadline=999.0)):
        with pytest.raises(
            OutOfTime, match=r"^the deadline ran out before the run finished; nothing was written$"
        ) as err:
            options.run_limit()
        assert err.value.for_cli() == "the --max-time ran out before the run finished; nothing was written"


def test_an_unknown_solver_is_named_with_the_choices():
    from planner.errors import InputError
    from planner.model.runs import SolverOptions

    with pytest.raises(InputError, match=r"^key solver: unknown solver 'gurobi'; use one of highs, cbc$"):
        SolverOptions(solver="gurobi")


def test_a_diagnosis_the_solver_cannot_finish_says_so(tiny, monkeypatch):
    import planner.plans.diagnose as diagnose_module
    from planner.model.runs import Status
    from planner.model.solve import Outcome

    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        objective="min-cost",
        fleet=[{"sku": "a", "chips": 5}],
        power={"site_capacity_mw": {"2025Q1": 0.004}},
    )
    monkeypatch.setattr(
        diagnose_module,
        "_least_slack",
        lambda model, options, weighted: Outcome(Status.ERROR, None, None, 0.0),
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json() == {
        "shortfalls": [],
        "blocking": [],
        "limits": ["the solver could not analyse the scenario (error)"],
    }


def test_the_lp_relaxation_of_both_stages(tiny):
    from planner.model.runs import SolverOptions, Status
    from planner.model.solve import optimize, scenario_goal

    # $2500 at $1000 a server: the LP buys 2.5 servers (2.5 PFLOPS) in both stages, the MILP 2
    path = tiny(
        [chip("a")], [offer("a", "2025Q1", max_units=10)], budget={"total_usd": 2500}, periods=["2025Q1"]
    )
    model = model_of(path)
    goal = scenario_goal(model.main)
    assert goal.tie_break is not None  # max-compute: then the least cost
    lp = optimize(model, goal, SolverOptions(), mip=False)
    assert lp.status == Status.OPTIMAL and lp.value == pytest.approx(2.5)
    assert goal.tie_break.value(lp.x) == pytest.approx(2500)
    milp = optimize(model, goal, SolverOptions())
    assert milp.status == Status.OPTIMAL and milp.value == pytest.approx(2)


def test_every_row_is_checked_against_the_solution():
    from planner.model.keys import Family, RowKey
    from planner.model.linear import Lin
    from planner.model.rows import Model
    from planner.model.solve import broken_constraint

    m = Model()
    m.add_columns(["x", "y"], [0.0, 0.0], [10.0, 10.0], integer=True)
    m.add(RowKey(Family.BUDGET_TOTAL), Lin(np.array([0, 1]), np.array([2.0, 3.0])), "<=", 12.0, "budget row")
    assert broken_constraint(m, np.array([3.0, 2.0])) is None  # exactly at the bound
    assert broken_constraint(m, np.array([3.0, 2.4])) is None  # 2.4 rounds to 2 servers: 12
    assert broken_constraint(m, np.array([3.0, 2.6])) == "'budget row': 15 against 12"  # 2.6 rounds to 3
    assert broken_constraint(m, np.array([3.0, 2.6]), integral=False) == "'budget row': 13.8 against 12"
    # a column outside its bounds is named; tolerances grow with the size of the figures
    m.add_columns(["big"], [0.0], [1e6], integer=False)
    m.add(RowKey(Family.BUDGET_TOTAL, period=1), Lin(np.array([2]), np.array([2.0])), "<=", 1e6, "upper row")
    m.add(RowKey(Family.BUDGET_TOTAL, period=2), Lin(np.array([2]), np.array([2.0])), ">=", 1e6, "lower row")
    assert broken_constraint(m, np.array([3.0, 2.0, 5e5])) is None
    assert broken_constraint(m, np.array([3.0, 2.0, 5e5 + 0.2])) is None  # 0.4 over 1e6: within 1e-6 of it
    assert broken_constraint(m, np.array([3.0, 2.0, 5e5 - 0.2])) is None  # 0.4 under: the same
    assert broken_constraint(m, np.array([3.0, 2.0, 5e5 + 2])) == "'upper row': 1e+06 against 1e+06"
    assert broken_constraint(m, np.array([3.0, 2.0, 5e5 - 2])) == "'lower row': 999996 against 1e+06"
    m.add_columns(["far"], [0.0], [1e6], integer=False)  # in no row: only its bounds
    x = np.array([3.0, 2.0, 5e5, 1e6 + 0.5])
    assert broken_constraint(m, x) is None  # 0.5 past a bound of 1e6: within the scaled tolerance
    x[3] = 1e6 + 5
    assert broken_constraint(m, x) == "column far at 1e+06 outside [0, 1e+06]"
    x[3], x[0] = 1e6, 12.0
    assert broken_constraint(m, x) == "column x at 12 outside [0, 10]"


def test_only_bounds_moved_is_the_same_shape(tiny):
    # explain hands a live model new bounds only when the rebuilt model differs in bounds alone
    from dataclasses import replace

    from planner.model.build import build
    from planner.model.linear import Sense
    from planner.model.resolve import Resolver, same_shape
    from planner.model.runs import SolverOptions

    path = tiny(
        [chip("a"), chip("b", bf16_tflops=500)],
        [offer("a", "2025Q1"), offer("b", "2025Q1")],
        budget={"total_usd": 5000},
    )
    data = prepare(load_scenario(path), catalog_for(load_scenario(path)))
    assert same_shape(build(data), build(data))
    richer = replace(
        data,
        scenario=data.scenario.model_copy(
            update={"budget": data.scenario.budget.model_copy(update={"total_usd": 9000})}
        ),
    )
    assert same_shape(build(data), build(richer))  # the budget row's bound moved, nothing else
    dearer = data.offers.copy()
    dearer.loc[0, "server_price"] *= 2
    assert not same_shape(build(data), build(replace(data, offers=dearer)))  # a coefficient changed
    assert Resolver(data, SolverOptions(), None, Sense.MAXIMIZE).live
    assert not Resolver(data, SolverOptions(solver="cbc"), None, Sense.MAXIMIZE).live
    # threads for HiGHS only; the skip bound is the gap on the plan's value (at least 1), plus 1e-6
    assert Resolver(data, SolverOptions(), None, Sense.MAXIMIZE, workers=2).workers == 2
    assert Resolver(data, SolverOptions(solver="cbc"), None, Sense.MAXIMIZE, workers=2).workers == 1
    small = Resolver(data, SolverOptions(mip_gap=1e-3), 0.5, Sense.MAXIMIZE)
    assert small.tolerance() == pytest.approx(1e-3 * 1.0 + 1e-6, abs=1e-12)
    large = Resolver(data, SolverOptions(mip_gap=1e-3), -4000.0, Sense.MAXIMIZE)
    assert large.tolerance() == pytest.approx(1e-3 * 4000.0 + 1e-6, abs=1e-12)


def test_an_option_column_is_described_by_what_it_buys(tiny):
    # the words a broken-model message and explain use for an option's column
    model = model_of(tiny([chip("a")], [offer("a", "2025Q2", channel="oem")], periods=["2025Q1", "2025Q2"]))
    [col] = [j for j, name in enumerate(model.col_names) if model._option(j) is not None]
    assert model.describe_column(col) == "a via oem ordered in 2025Q2 (at CN)"


def test_a_target_after_a_quarter_without_one_is_diagnosed(tiny):
    # 2025Q1 has no target; 2025Q2's cannot be met: its shortfall is still found and reported
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1)],
        periods=["2025Q1", "2025Q2"],
        budget={"total_usd": 1e6},
        targets={"2025Q2": {"pflops": 3}},
    )
    plan = solve(path)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["shortfalls"] == [
        {"period": "2025Q2", "measure": "pflops", "target": 3, "shortfall": 2.0}
    ]


def test_the_kernel_keeps_every_column_the_lp_leaves_fractional():
    from planner.model.kernel import kernel_bounds

    x = np.array([2.0, 0.5, 3.0, 1.25])
    reduced = np.array([0.0, 9.0, 9.0, 9.0])  # only column 0 is among the 1 smallest
    low, high = kernel_bounds(x, reduced, np.zeros(4), np.full(4, 10.0), size=1)
    assert low.tolist() == [0.0, 0.0, 3.0, 0.0] and high.tolist() == [10.0, 10.0, 3.0, 10.0]


def test_share_floors_that_fit_together_are_not_called_contradictory(tiny):
    # 30% domestic and 30% export-compliant compute fit in one plan: no note that only an empty plan
    # meets them; servers are whole numbers (int64) as the plan reports them
    shares = [
        {"by": "category", "value": "domestic", "measure": "compute", "min": 0.3},
        {"by": "category", "value": "export-compliant", "measure": "compute", "min": 0.3},
    ]
    chips = [chip("d"), chip("e", origin="US", vendor="N", category="export-compliant")]
    path = tiny(
        chips,
        [offer("d", "2025Q1"), offer("e", "2025Q1")],
        budget={"total_usd": 8000},
        policy={"shares": shares},
    )
    plan = solve(path)
    assert plan.ok and not any("only an empty plan" in n for n in plan.notes)
    assert plan.servers is not None and plan.servers.dtype == np.int64 and plan.servers.sum() == 8
