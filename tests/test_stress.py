"""Shocks and robust plans on tiny cases worked out by hand."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import replace

import openpyxl
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, chip, lease, make_catalog, offer

from planner.analyses.exposure import Exposure, exposure_frame
from planner.analyses.stressing import changed_orders, robust_plan, stress, total_cost
from planner.cli import main
from planner.inputs.shocks import load_shocks
from planner.plans.plan import solve
from planner.plans.robust import PriceOfRobustness

BAN = {
    "name": "ban h",
    "date": "2025-04-09",
    "rule": {"id": "ban-h", "origins": ["US"], "destinations": ["CN"], "status": "prohibited", "skus": ["h"]},
}


def case(tiny, tmp_path, probability=None):
    """h: US chip, $1000 a PFLOPS, ordered 2025Q1 with a 2-quarter lead or in 2025Q3; d: domestic, $2000 in
    2025Q3 ($2500 in 2025Q2). $6000 in all, max compute."""
    chips = [chip("h", origin="US", vendor="N", category="export-compliant"), chip("d")]
    offers = [
        offer("h", "2025Q1", max_units=2, lead_time_quarters=2),
        offer("h", "2025Q3", max_units=2),
        offer("d", "2025Q2", unit_price_usd=2500),
        offer("d", "2025Q3", unit_price_usd=2000),
    ]
    path = tiny(chips, offers, periods=["2025Q1", "2025Q2", "2025Q3"], budget={"total_usd": 6000})
    shock = dict(BAN) | ({"probability": probability} if probability is not None else {})
    shocks = tmp_path / "shocks.yaml"
    shocks.write_text(yaml.safe_dump({"name": "ban", "shocks": [shock]}, sort_keys=False))
    return path, shocks


def test_base_plan_exposure_to_a_rule_shock(tiny, tmp_path):
    path, shocks = case(tiny, tmp_path)
    base = solve(path)
    assert base.totals["effective_pflops"] == 5 and base.totals["capex_usd"] == 6000
    result = stress(path, shocks, with_robust=False).to_dict()  # the JSON, as printed
    [e] = result["base_exposure"]
    # orders of 2025Q1 and 2025Q2 (which start before 9 April) are committed; h ordered in Q1 arrives in
    # Q3, after the ban: stranded. The $4000 left buys 2 d in Q3.
    assert e["first_open_quarter"] == "2025Q3"
    assert e["stranded_usd"] == 2000
    assert e["stranded"] == [
        {
            "order_period": "2025Q1",
            "sku": "h",
            "channel": "direct",
            "kind": "buy",
            "site": "CN",
            "chips": 2,
            "cost_usd": 2000.0,
        }
    ]
    assert e["effective_pflops"] == 2 and e["compute_lost_pflops"] == 3
    # the re-plan changes what it may change: d in 2025Q3 from 1 to 2 chips, h in 2025Q3 dropped
    assert [
        (c["change"], c["sku"], c["order_period"], c["chips_before"], c["chips_after"]) for c in e["changes"]
    ] == [("changed", "d", "2025Q3", 1, 2), ("removed", "h", "2025Q3", 2, 0)]


def test_a_licence_the_scenario_does_not_take_strands_the_order_as_a_ban_does(tiny, tmp_path):
    # the same shock, but the rule asks for a licence: a scenario that does not allow
    # license-required chips cannot take the Q1 order delivered after it, so it is stranded
    path, shocks = case(tiny, tmp_path)
    licence = dict(BAN, rule=dict(BAN["rule"], status="license-required"))
    shocks.write_text(yaml.safe_dump({"name": "licence", "shocks": [licence]}, sort_keys=False))
    [e] = stress(path, shocks, with_robust=False).base_exposure
    assert e.stranded_usd == 2000 and [(s.sku, s.order_period, s.chips) for s in e.stranded] == [
        ("h", "2025Q1", 2)
    ]
    # a scenario that takes licensed chips keeps the order: nothing stranded
    path.write_text(path.read_text() + "policy:\n  allow_license_required: true\n")
    [kept] = stress(path, shocks, with_robust=False).base_exposure
    assert kept.stranded_usd == 0 and kept.stranded == ()


def test_robust_plan_avoids_the_stranded_order(tiny, tmp_path):
    # expected compute: ordering h early gives 0.4 x 5 + 0.6 x 2 = 3.2, waiting gives 0.4 x 4 + 0.6 x 3 = 3.4
    path, shocks = case(tiny, tmp_path, probability=0.6)
    plan = robust_plan(path, shocks)
    assert plan.ok
    assert "h" not in set(plan.purchases[plan.purchases["order_period"] == "2025Q1"]["sku"])
    assert plan.totals["effective_pflops"] == 4
    info = plan.to_dict()["robust"]  # the JSON, as printed
    assert info["objective"] == "expected" and plan.robust.objective == "expected"
    assert info["price_of_robustness"]["given_up"] == pytest.approx(1.0)
    assert [{k: v for k, v in b.items() if k != "purchases"} for b in info["branches"]] == [
        {
            "shock": "ban h",
            "first_open_quarter": "2025Q3",
            "status": "optimal",
            "effective_pflops": 3.0,
            "capex_usd": 6000.0,
        }
    ]
    result = stress(path, shocks)
    [e] = result.robust_exposure
    assert e.stranded_usd == 0 and e.compute_lost_pflops == pytest.approx(1.0)
    assert result.robust.price_of_robustness == PriceOfRobustness(
        "effective PFLOPS", 5.0, 4.0, pytest.approx(1.0), pytest.approx(0.2)
    )
    # the exposure table lines the two plans up, shock by shock
    [row] = exposure_frame(result).to_dict("records")
    assert row == {
        "shock": "ban h",
        "what": "rule ban-h: prohibited for h in CN from 2025-04-09",
        "probability": 0.6,
        "base_status": "optimal",
        "base_pflops_lost": 3.0,
        "base_extra_cost_usd": 0.0,
        "base_stranded_usd": 2000.0,
        "base_targets_missed": 0,
        "robust_status": "optimal",
        "robust_pflops_lost": pytest.approx(1.0),
        "robust_extra_cost_usd": 0.0,
        "robust_stranded_usd": 0.0,
        "robust_targets_missed": 0,
    }


def test_robust_branches_share_the_orders_before_each_shock(tiny, tmp_path):
    from planner.analyses.stressing import robust
    from planner.inputs.catalog import load_catalog
    from planner.inputs.scenario import load_scenario
    from planner.model.runs import SolverOptions

    path, shocks = case(tiny, tmp_path, probability=0.6)
    scenario = load_scenario(path)
    shock_file = load_shocks(shocks)
    extra = {
        "name": "d late",
        "quarter": "2025Q2",
        "probability": 0.1,
        "lead_time": {"by": "sku", "value": "d", "add_quarters": 1},
    }
    shock_file = shock_file.model_validate({"name": "two", "shocks": [BAN | {"probability": 0.3}, extra]})
    result = robust(scenario, shock_file, load_catalog(tmp_path / "cat"), SolverOptions())
    base = result.plan.purchases
    for name, branch in result.branches.items():
        first = result.first[name]
        periods = result.plan.data.periods[:first]

        def early(df):
            rows = df[df["order_period"].isin(periods)][["sku", "channel", "order_period", "chips"]]
            return sorted(map(tuple, rows.values))

        assert early(branch.purchases) == early(base), name


@pytest.mark.parametrize("probability, bought", [(None, "h"), (0.4, "h"), (0.6, "d")])
def test_robust_plan_meets_targets_in_every_branch(tiny, tmp_path, probability, bought):
    # 3 PFLOPS needed in 2025Q3, with and without the ban. h bought early costs $3000, plus $6000 of d
    # if the ban strands it; d costs $6000 either way. Expected cost of h: 3000 + 6000 p.
    chips = [chip("h", origin="US", vendor="N", category="export-compliant"), chip("d")]
    offers = [
        offer("h", "2025Q1", max_units=4, lead_time_quarters=2),
        offer("d", "2025Q3", unit_price_usd=2000, max_units=3),
    ]
    path = tiny(
        chips,
        offers,
        periods=["2025Q1", "2025Q2", "2025Q3"],
        objective="min-cost",
        targets={"2025Q3": {"pflops": 3}},
    )
    shocks = tmp_path / "s.yaml"
    shock = BAN | ({"probability": probability} if probability is not None else {})
    shocks.write_text(yaml.safe_dump({"name": "ban", "shocks": [shock]}))
    assert solve(path).purchases["sku"].tolist() == ["h"]
    plan = robust_plan(path, shocks)
    assert plan.ok and plan.purchases["sku"].tolist() == [bought]
    [branch] = plan.robust.branches
    assert branch.status == "optimal" and branch.effective_pflops == 3
    given_up = plan.robust.price_of_robustness.given_up
    assert given_up == pytest.approx(0 if bought == "h" else 3000)


def test_supply_price_lead_and_budget_shocks(tiny, tmp_path):
    chips = [chip("a"), chip("b", bf16_tflops=500)]
    offers = [offer("a", p, max_units=4) for p in ("2025Q1", "2025Q2")] + [offer("b", "2025Q2")]
    path = tiny(chips, offers, budget={"total_usd": 8000, "per_period_usd": {"2025Q1": 4000, "2025Q2": 4000}})
    shocks = tmp_path / "s.yaml"
    shocks.write_text(
        yaml.safe_dump(
            {
                "name": "many",
                "shocks": [
                    {
                        "name": "cut",
                        "quarter": "2025Q2",
                        "supply_cut": {"by": "sku", "value": "a", "fraction": 0.5},
                    },
                    {
                        "name": "dear",
                        "quarter": "2025Q2",
                        "price": {"by": "vendor", "value": "V", "factor": 2.0},
                    },
                    {
                        "name": "late",
                        "quarter": "2025Q2",
                        "lead_time": {"by": "sku", "value": "a", "add_quarters": 1},
                    },
                    {"name": "poor", "quarter": "2025Q2", "budget_cut": {"fraction": 0.5}},
                ],
            }
        )
    )
    result = stress(path, shocks, with_robust=False).to_dict()
    e = {x["shock"]: x for x in result["base_exposure"]}
    # base: 4 a in each quarter = 8 PFLOPS. Q1's 4 a are committed in every case.
    assert result["base"]["totals"]["effective_pflops"] == 8
    assert e["cut"]["effective_pflops"] == 4 + 2 + 1  # 2 a left, then $2000 of b = 2 x 0.5
    assert e["dear"]["effective_pflops"] == 4 + 2  # $4000 buys 2 a at $2000
    assert e["late"]["effective_pflops"] == 4 + 2  # a of Q2 arrives too late: 4 b x 0.5
    assert e["poor"]["effective_pflops"] == 4 + 2  # half of Q2's $4000
    assert all(x["stranded_usd"] == 0 for x in e.values())


@pytest.mark.parametrize(
    "shock, message",
    [
        (
            {"name": "x", "quarter": "2025Q2"},
            "shock 'x' needs exactly one of rule, supply_cut, price, lead_time, "
            "efficiency, budget_cut, fx (got none)",
        ),
        (
            {"name": "x", "date": "2025-01-01", "quarter": "2025Q2", "budget_cut": {"fraction": 0.1}},
            "shock 'x' needs exactly one of date or quarter",
        ),
        (
            {"name": "x", "quarter": "2025Q2", "price": {"by": "vendor", "value": "Nvida", "factor": 2}},
            "key shocks[0].price.value: no vendor 'Nvida' in the catalog",
        ),
        (
            {"name": "x", "quarter": "2025Q2", "probability": 1.5, "budget_cut": {"fraction": 0.1}},
            "key shocks[0].probability: Input should be less than or equal to 1, got 1.5",
        ),
    ],
)
def test_bad_shock_files(tiny, tmp_path, shock, message):
    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 5000})
    shocks = tmp_path / "bad.yaml"
    shocks.write_text(yaml.safe_dump({"name": "bad", "shocks": [shock]}))
    result = CliRunner().invoke(main, ["stress", str(path), "--shocks", str(shocks)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {shocks}") and message in result.output


def test_stress_cli_on_a_remote_access_rule(tmp_path):
    """base-7b rents full-spec capacity abroad; a rule on remote access from 2025Q3 cuts the leases that
    serve then (paid to their end, serving nothing): stranded spend and compute lost; the robust plan
    (the shock at probability 0.1) strands no more and loses less compute."""
    out, png = tmp_path / "s.xlsx", tmp_path / "s.png"
    shocks = ROOT / "budgets" / "shocks" / "remote-access-2025.yaml"
    result = CliRunner().invoke(
        main,
        [
            "stress",
            str(ROOT / "budgets" / "base-7b.yaml"),
            "--shocks",
            str(shocks),
            "--format",
            "json",
            "--out",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    [e] = data["base_exposure"]
    assert {s["kind"] for s in e["stranded"]} == {"lease"} and e["stranded_usd"] > 0
    assert e["compute_lost_pflops"] > 0
    assert any(c["change"] == "removed" and c["kind"] == "lease" for c in e["changes"])
    [r] = data["robust_exposure"]
    assert r["stranded_usd"] <= e["stranded_usd"] and r["compute_lost_pflops"] < e["compute_lost_pflops"]
    assert (
        data["robust"]["price_of_robustness"]["given_up"]
        >= -1e-4 * data["base"]["totals"]["effective_pflops"]
    )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Exposure", "Stranded", "Changed orders", "Branches PFLOPS"]
    branches = book["Branches PFLOPS"]
    heads = [c.value for c in branches[1]][1:]
    assert heads[0] == "base plan: no shock"  # each column says which plan it is
    assert {h.split(":")[0] for h in heads} == {"base plan", "robust plan"}
    # headers wrap in their cells: the header row is as tall as its longest header, not one line
    assert branches.row_dimensions[1].height is not None and branches.row_dimensions[1].height > 15
    exposure = book["Exposure"]
    assert [c.value for c in exposure[1]][:3] == ["Shock", "What", "Probability"]
    assert png.read_bytes()[:4] == b"\x89PNG"
    text = json.dumps(data)
    assert not re.search(r"\.\d{7,}", text)  # rounded as the plan JSON is
    table = CliRunner().invoke(
        main,
        ["stress", str(ROOT / "budgets" / "base-7b.yaml"), "--shocks", str(shocks), "--no-robust"],
        env={"COLUMNS": "120"},
    )
    assert "stranded: " in table.output and "(lease)" in table.output


# channel-cutoff's robust plan is solved (and compared whole) in test_golden's stress file
@pytest.mark.parametrize("name", ["domestic-shortfall", "remote-access-2025"])
def test_bundled_shock_files_run(name):
    result = CliRunner().invoke(
        main,
        [
            "plan",
            str(ROOT / "budgets" / "base-7b.yaml"),
            "--robust",
            str(ROOT / "budgets" / "shocks" / f"{name}.yaml"),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    robust = json.loads(result.output)["robust"]
    assert robust["status"] == "optimal" and all(b["status"] == "optimal" for b in robust["branches"])


def test_total_cost_counts_capex_leases_and_electricity():
    assert total_cost({"capex_usd": 100.0, "lease_usd": 20.0, "opex_usd": 3.0}) == 123.0
    assert total_cost({"capex_usd": 100.0, "opex_usd": 3.0}) == 103.0  # a version-1 plan has no leases


def test_a_robust_plan_with_an_impossible_branch_is_infeasible(tiny, tmp_path):
    # a target of 2 PFLOPS in 2025Q2 that only a's supply can meet; a shock removes it from 2025Q1
    offers = [offer("a", "2025Q1", max_units=1), offer("a", "2025Q2", max_units=1)]
    path = tiny([chip("a")], offers, objective="min-cost", targets={"2025Q2": {"pflops": 2}})
    shocks = tmp_path / "s.yaml"
    cut = {"name": "gone", "quarter": "2025Q1", "supply_cut": {"by": "sku", "value": "a", "fraction": 1.0}}
    shocks.write_text(yaml.safe_dump({"name": "s", "shocks": [cut]}))
    plan = robust_plan(path, shocks)
    assert plan.status == "infeasible" and plan.purchases.empty and plan.totals["capex_usd"] == 0
    assert plan.robust.status == "infeasible" and plan.to_dict()["robust"]["status"] == "infeasible"
    assert stress(path, shocks).to_dict()["robust"] == {"status": "infeasible"}
    assert plan.limits == [
        "no plan meets every constraint in every shock branch; `gpuplan stress` shows which shock leaves "
        "the base plan without a recovery"
    ]


def test_changed_orders_names_each_line_and_where_it_goes(tiny, tmp_path):
    path, _ = case(tiny, tmp_path)
    before = solve(path)  # h 2 chips in 2025Q1, d 1 in 2025Q3, h 2 in 2025Q3 (see the exposure test)
    p = before.purchases.copy()
    p.loc[p["sku"] == "d", "chips"] = 3
    leased = p.iloc[[0]].assign(
        sku="d", order_period="2025Q3", kind="lease", site=None, country="MY", term_quarters=4, chips=5
    )
    after = replace(before, purchases=pd.concat([p[p["sku"] != "h"], leased], ignore_index=True))
    got = [
        (c.change, c.sku, c.order_period, c.kind, c.where, c.chips_before, c.chips_after)
        for c in changed_orders(before, after, first=1)
    ]
    # orders before 2025Q2 are not the re-plan's to change: the 2025Q1 h line is left out
    assert got == [
        ("changed", "d", "2025Q3", "buy", "CN", 1, 3),
        ("added", "d", "2025Q3", "lease", "MY", 0, 5),
        ("removed", "h", "2025Q3", "buy", "CN", 2, 0),
    ]


def test_stress_reports_progress_once_per_solve(tiny, tmp_path):
    path, shocks = case(tiny, tmp_path)
    calls: list[int] = []
    stress(path, shocks, progress=calls.append)
    assert calls == [1, 1, 1, 1]  # the base plan, its re-plan, the robust plan, its re-plan
    calls.clear()
    stress(path, shocks, with_robust=False, progress=calls.append)
    assert calls == [1, 1]


def test_stress_uses_the_catalog_given_over_the_scenarios(tiny, tmp_path):
    path, shocks = case(tiny, tmp_path)
    dearer = make_catalog(
        tmp_path / "dearer",
        [chip("h", origin="US", vendor="N", category="export-compliant"), chip("d")],
        [offer("d", "2025Q3", unit_price_usd=3000)],
    )
    result = stress(path, shocks, catalog=dearer, with_robust=False).to_dict()
    # only d at $3000 a PFLOPS: $6000 buys 2 PFLOPS (the scenario's own catalog gives 5)
    assert result["base"]["totals"]["effective_pflops"] == 2
    assert solve(path).totals["effective_pflops"] == 5


def _cut_case(tiny, tmp_path):
    """a: 1 server in 2025Q1 and 1 in 2025Q2; a target of 2 PFLOPS in 2025Q2; a shock removes a's
    supply from 2025Q2, so that the re-plan keeps the 2025Q1 order and cannot meet the target."""
    offers = [offer("a", "2025Q1", max_units=1), offer("a", "2025Q2", max_units=1)]
    path = tiny([chip("a")], offers, objective="min-cost", targets={"2025Q2": {"pflops": 2}})
    shocks = tmp_path / "s.yaml"
    cut = {"name": "gone", "quarter": "2025Q2", "supply_cut": {"by": "sku", "value": "a", "fraction": 1.0}}
    shocks.write_text(yaml.safe_dump({"name": "s", "shocks": [cut]}))
    return path, shocks


def test_without_a_recovery_the_committed_orders_stand_with_the_failed_status(tiny, tmp_path):
    from planner.analyses.stressing import replan_step
    from planner.inputs.scenario import load_scenario
    from planner.inputs.shocks import apply
    from planner.model.runs import SolverOptions
    from planner.plans.plan import catalog_for

    path, shocks = _cut_case(tiny, tmp_path)
    base = solve(path)
    assert base.totals["chips"] == 2
    scenario = load_scenario(path)
    shocked = apply(load_shocks(shocks).shocks[0], scenario, catalog_for(scenario, None))
    step = replan_step(base, shocked, SolverOptions())
    assert step.after.status == "infeasible"
    kept = step.committed_only()
    assert kept.status == "infeasible"
    assert kept.purchases[["order_period", "chips"]].to_dict("records") == [
        {"order_period": "2025Q1", "chips": 1}
    ]
    [e] = stress(path, shocks, with_robust=False).to_dict()["base_exposure"]
    assert e["status"] == "infeasible" and e["targets_missed"] == 1
    assert e["diagnosis"]["shortfalls"] == [
        {"period": "2025Q2", "measure": "pflops", "target": 2, "shortfall": 1.0}
    ]


def test_a_shock_without_a_probability_weighs_nothing_in_the_expected_objective(tiny, tmp_path):
    path, one = case(tiny, tmp_path, probability=0.5)
    same = {"name": "d as priced", "quarter": "2025Q3", "price": {"by": "sku", "value": "d", "factor": 1.0}}
    two = tmp_path / "two.yaml"
    shocks = yaml.safe_load(one.read_text())
    two.write_text(yaml.safe_dump({"name": "two", "shocks": [*shocks["shocks"], same]}, sort_keys=False))
    alone, with_other = robust_plan(path, one), robust_plan(path, two)
    # the second shock changes nothing and has no probability: the expected objective, and so the
    # plan, are those of the first shock alone (the base branch weighs 1 - 0.5)
    assert with_other.robust.objective == "expected"
    assert with_other.to_dict()["purchases"] == alone.to_dict()["purchases"]
    assert with_other.totals == alone.totals


@pytest.mark.parametrize("early, late", [(1000, 3000), (3000, 1000)])
def test_a_robust_plan_is_the_cheapest_of_those_with_the_most_compute(tiny, tmp_path, early, late):
    # a 1 kW server under a 2 kW cap: at most 2 servers whenever they are bought, so every plan of
    # 2 servers has the most compute; the cheapest buys both in the cheaper quarter, in every branch
    offers = [
        offer("a", "2025Q1", max_units=2, unit_price_usd=early),
        offer("a", "2025Q2", max_units=2, unit_price_usd=late),
    ]
    path = tiny(
        [chip("a")],
        offers,
        budget={"total_usd": 10_000},
        power={"site_capacity_mw": {"2025Q1": 0.002, "2025Q2": 0.002}},
    )
    shocks = tmp_path / "s.yaml"
    dearer = {"name": "dearer", "quarter": "2025Q2", "price": {"by": "sku", "value": "a", "factor": 1.5}}
    shocks.write_text(yaml.safe_dump({"name": "s", "shocks": [dearer]}))
    plan = robust_plan(path, shocks)
    cheaper = "2025Q1" if early < late else "2025Q2"
    assert plan.totals["effective_pflops"] == 2
    assert plan.purchases[["order_period", "chips"]].to_dict("records") == [
        {"order_period": cheaper, "chips": 2}
    ]
    # the shock's branch keeps the orders placed before 2025Q2; with the base branch's compute as
    # the objective and no target, it buys nothing more
    [branch] = plan.robust.branches
    assert branch.capex_usd == (2000 if early < late else 0)


def test_stress_of_an_infeasible_base_plan_gives_its_diagnosis_and_stops(tiny, tmp_path):
    path, shocks = _cut_case(tiny, tmp_path)
    path.write_text(path.read_text().replace("pflops: 2", "pflops: 3"))  # 2 on offer
    result = stress(path, shocks)
    assert result.base_status == "infeasible"
    assert result.base.diagnosis.to_json()["shortfalls"] == [
        {"period": "2025Q2", "measure": "pflops", "target": 3, "shortfall": 1.0}
    ]
    assert result.base_exposure is None and result.robust is None
    document = result.to_dict()
    assert "base_exposure" not in document and "robust" not in document and "diagnosis" in document["base"]
    assert exposure_frame(result).empty  # the report's table of exposures: no rows, no error


def test_a_robust_plan_uses_the_options_given(tiny, tmp_path):
    from planner.model.runs import SolverOptions

    path, shocks = case(tiny, tmp_path)
    plan = robust_plan(path, shocks, options=SolverOptions(solver="cbc", mip_gap=0.01))
    assert (plan.solver, plan.mip_gap) == ("cbc", 0.01)
    assert plan.totals == robust_plan(path, shocks).totals


def test_a_branch_leaves_out_what_the_rules_of_its_time_leave_out(tiny, tmp_path):
    from planner.analyses.stressing import branch_data
    from planner.inputs.scenario import load_scenario
    from planner.inputs.shocks import apply
    from planner.plans.plan import catalog_for

    chips = [chip("h", origin="US", vendor="N", category="export-compliant"), chip("d")]
    offers = [
        offer("h", "2025Q1", max_units=2, lead_time_quarters=2),
        offer("h", "2025Q3", max_units=2),
        offer("d", "2025Q2"),
        offer("d", "2025Q3", channel="grey"),  # a channel the policy excludes, before and after
    ]
    path = tiny(
        chips,
        offers,
        periods=["2025Q1", "2025Q2", "2025Q3"],
        budget={"total_usd": 6000},
        policy={"exclude_channels": ["grey"]},
    )
    shocks = tmp_path / "shocks.yaml"
    shocks.write_text(yaml.safe_dump({"name": "ban", "shocks": [BAN]}, sort_keys=False))
    scenario = load_scenario(path)
    shocked = apply(load_shocks(shocks).shocks[0], scenario, catalog_for(scenario, None))
    assert shocked.first == 2  # the ban of 9 April: orders from 2025Q3 on are re-planned
    data, stranded = branch_data(shocked)
    # orders before 2025Q3 were placed under the old rules (h in 2025Q1 was allowed); from 2025Q3
    # under the new ones: h is banned. Each left-out offer once.
    got = data.excluded[["sku", "channel", "period", "reason", "rule_ids"]].to_dict("records")
    assert sorted(got, key=str) == sorted(
        [
            {
                "sku": "d",
                "channel": "grey",
                "period": "2025Q3",
                "reason": "policy: channel excluded",
                "rule_ids": "",
            },
            {
                "sku": "h",
                "channel": "direct",
                "period": "2025Q3",
                "reason": "compliance: prohibited",
                "rule_ids": "ban-h",
            },
        ],
        key=str,
    )
    assert sorted(zip(data.offers["sku"], data.offers["period"], stranded, strict=True)) == [
        ("d", "2025Q2", False),
        ("h", "2025Q1", True),  # ordered before the ban, delivered on 1 July: paid, never delivered
    ]


def test_a_lease_signed_before_a_shock_that_bans_it_is_paid_and_never_serves(tiny, tmp_path):
    # a 2-quarter lease of a US chip abroad signed in 2025Q1, serving 2025Q3-Q4 ($300 a quarter),
    # against targets in 2025Q3 and 2025Q4; from 1 July leases of it are banned
    path = tiny(
        [chip("a", origin="US")],
        [
            lease("a", "2025Q1", lead_time_quarters=2, unit_price_usd=300),
            offer("a", "2025Q3", unit_price_usd=1000),
        ],
        periods=["2025Q1", "2025Q2", "2025Q3", "2025Q4"],
        objective="min-cost",
        targets={"2025Q3": {"pflops": 1}, "2025Q4": {"pflops": 1}},
        sites=[{"name": "home", "country": "CN"}],
    )
    rule = {
        "id": "no-lease",
        "origins": ["US"],
        "destinations": ["MY"],
        "status": "prohibited",
        "skus": ["a"],
        "applies_to": ["lease"],
    }
    shocks = tmp_path / "s.yaml"
    shocks.write_text(
        yaml.safe_dump({"name": "s", "shocks": [{"name": "ban", "date": "2025-07-01", "rule": rule}]})
    )
    assert solve(path).purchases["kind"].tolist() == ["lease"]
    [e] = stress(path, shocks, with_robust=False).to_dict()["base_exposure"]
    # the whole term is paid and never served; the re-plan buys one at home in 2025Q3
    assert e["stranded_usd"] == 600
    assert [(s["sku"], s["kind"], s["chips"], s["cost_usd"]) for s in e["stranded"]] == [
        ("a", "lease", 1, 600)
    ]
    assert e["extra_cost_usd"] == 1000 and e["effective_pflops"] == 1


def test_a_min_cost_robust_plan_buys_early_what_the_branch_would_pay_more_for(tiny, tmp_path):
    # 2 PFLOPS in 2025Q2; a costs $1000 in either quarter (1 on offer in Q1), so the base branch alone
    # is indifferent; from Q2 the shock doubles a's price: buying one in Q1 saves the branch $1000
    offers = [
        offer("a", "2025Q1", max_units=1),
        offer("a", "2025Q2", max_units=5),
        offer("b", "2025Q2", unit_price_usd=3000),
    ]
    path = tiny([chip("a"), chip("b")], offers, objective="min-cost", targets={"2025Q2": {"pflops": 2}})
    shocks = tmp_path / "s.yaml"
    dearer = {"name": "dearer", "quarter": "2025Q2", "price": {"by": "sku", "value": "a", "factor": 2.0}}
    shocks.write_text(yaml.safe_dump({"name": "s", "shocks": [dearer]}))
    plan = robust_plan(path, shocks)
    assert sorted(zip(plan.purchases["sku"], plan.purchases["order_period"], plan.purchases["chips"])) == [
        ("a", "2025Q1", 1),
        ("a", "2025Q2", 1),
    ]
    [branch] = plan.robust.branches
    assert branch.capex_usd == 1000 + 2000 and branch.effective_pflops == 2


def test_a_shock_after_the_horizon_has_no_open_quarter(tiny, tmp_path):
    path, _ = case(tiny, tmp_path)
    late = tmp_path / "late.yaml"
    shock = dict(BAN) | {"date": "2026-02-01"}  # after 2025Q3, the last quarter planned
    late.write_text(yaml.safe_dump({"name": "late", "shocks": [shock]}, sort_keys=False))
    plan = robust_plan(path, late)
    assert plan.robust.objective == "base branch"  # no probabilities: the base branch's objective
    [branch] = plan.robust.branches
    assert branch.first_open_quarter is None and branch.effective_pflops == 5
    assert plan.totals == solve(path).totals  # nothing to hedge against within the horizon


@pytest.mark.parametrize(
    "given_up, relative, words",
    [
        (1.0, 0.25, "price of robustness 1.0 effective PFLOPS (25.00%)"),
        (
            -11.6,
            -4.1e-5,
            "price of robustness none: the robust plan's no-shock branch comes out 11.6 effective PFLOPS "
            "better (0.004%), which is the solvers' MIP gap (each plan is optimal only to within it), not a gain",
        ),
    ],
)
def test_a_negative_price_of_robustness_is_worded_as_the_mip_gap(given_up, relative, words):
    from planner.outputs.render import robustness_words

    p = PriceOfRobustness("effective PFLOPS", 100.0, 100.0 - given_up, given_up, relative)
    assert robustness_words(p) == words


def test_the_library_returns_a_typed_stress_result():
    """planner.stress gives a StressResult: typed fields (each shock's Exposure, its stranded orders
    and changes), and to_dict() the JSON document the command prints (rounded)."""
    import planner
    from planner.analyses.stressing import StressResult

    # the names stay the functions however often they are read (a module of the same name once
    # replaced them on the second read)
    assert callable(planner.stress) and callable(planner.stress) and callable(planner.explain)
    assert callable(planner.explain) and not isinstance(planner.stress, type(planner))

    shocks = ROOT / "budgets" / "shocks" / "domestic-shortfall.yaml"
    result = planner.stress(ROOT / "budgets" / "base-7b.yaml", shocks, with_robust=False)
    assert isinstance(result, StressResult) and not isinstance(result, dict)
    assert result.scenario == "base-7b" and result.base_status == "optimal"
    assert len(result.base_exposure) == 3 and result.robust_exposure is None and result.robust is None
    assert result.objective == "max-compute" and all(isinstance(e, Exposure) for e in result.base_exposure)
    frame = result.exposure()
    assert list(frame["shock"]) == [e.shock for e in result.base_exposure]
    document = result.to_dict()
    assert isinstance(document, dict) and json.loads(json.dumps(document)) == document
    assert "robust" not in document and document["objective"] == "max-compute"
    # every typed field is in the document, in the same order, and nothing else
    for e, written in zip(result.base_exposure, document["base_exposure"], strict=True):
        assert list(written) == [f.name for f in dataclasses.fields(Exposure)]
        assert [s["sku"] for s in written["stranded"]] == [s.sku for s in e.stranded]
        assert written["stranded_usd"] == round(e.stranded_usd, 2)
    assert "StressResult('base-7b'" in repr(result) and "<table" in result._repr_html_()


def test_stress_on_two_local_workers_gives_the_same_result():
    """--workers is the one name for local parallelism: stress re-plans its shocks on worker processes
    with the same results as in one process."""
    shocks = ROOT / "budgets" / "shocks" / "domestic-shortfall.yaml"
    base = ROOT / "budgets" / "base-7b.yaml"
    two = stress(base, shocks, with_robust=False, workers=2)
    # one process: the golden file, which test_golden checks against a live run in one process
    one = json.loads((ROOT / "tests" / "golden" / "stress-base-7b-domestic-shortfall.json").read_text())
    del one["robust"], one["robust_exposure"]
    assert json.loads(json.dumps(two.to_dict())) == one and len(two.base_exposure) == 3


def test_robust_json_lets_anyone_check_non_anticipativity():
    """Each branch's purchases are in the JSON: orders before its first open quarter are the base branch's."""
    from planner.analyses.stressing import robust_plan

    plan = robust_plan(
        ROOT / "budgets" / "min-cost-targets.yaml", ROOT / "budgets" / "shocks" / "domestic-shortfall.yaml"
    )
    document = json.loads(json.dumps(plan.to_dict()))

    def lines(purchases, before):
        return {
            (
                p["order_period"],
                p["sku"],
                p["channel"],
                p["kind"],
                p["site"],
                p["country"],
                p.get("term_quarters"),
            ): p["servers"]
            for p in purchases
            if before is None or p["order_period"] < before
        }

    branches = document["robust"]["branches"]
    assert len(branches) == 3
    for branch in branches:
        first = branch["first_open_quarter"]
        assert lines(branch["purchases"], first) == lines(document["purchases"], first)
        assert all(
            set(p) >= {"order_period", "sku", "servers", "chips", "cost_usd"} for p in branch["purchases"]
        )
    # and the branches do re-plan after their shock: at least one differs from the base later on
    assert any(lines(b["purchases"], None) != lines(document["purchases"], None) for b in branches)
