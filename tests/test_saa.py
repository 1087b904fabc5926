"""Sample-average plans: tiny cases whose expected, worst-share and chance plans are known by hand."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import chip, offer

from planner.analyses.saa import RiskObjective, futures, risk_plan
from planner.cli import main
from planner.errors import InputError
from planner.inputs.shocks import load_shocks
from planner.outputs.render import TrimmedConsole, plan_report
from planner.outputs.workbook import write_plan_workbook


def slow_a(tmp_path, factor, probability=0.3):
    """Chip a's software slows to ``factor`` of its speed from 2025Q2, with ``probability``."""
    path = tmp_path / "slow.yaml"
    shock = {"name": "slow", "quarter": "2025Q2", "probability": probability}
    shock["efficiency"] = {"by": "sku", "value": "a", "factor": factor}
    path.write_text(yaml.safe_dump({"name": "slow", "shocks": [shock]}))
    return path


def a_or_b(tiny, **scenario):
    """In 2025Q1 only: a at $1,000 or b at $1,250 (1 PFLOPS each, 10 of each); nothing later."""
    offers = [
        offer("a", "2025Q1", max_units=10, unit_price_usd=1000),
        offer("b", "2025Q1", max_units=10, unit_price_usd=1250),
    ]
    return tiny([chip("a"), chip("b")], offers, **scenario)


def chips(plan):
    return dict(zip(plan.purchases["sku"], plan.purchases["chips"], strict=True))


def test_expected_against_the_worst_share(tiny, tmp_path):
    """$10,000: 10 a give 10 PFLOPS, or 0.1 when a slows to 1% (probability 0.1); 8 b give 8 always.
    The mean favours a while the share s of slowed futures is below 2/9.9 (10 (1 - s) + 0.1 s > 8);
    the worst 5% (one future in 20) favours b."""
    scenario = a_or_b(tiny, budget={"total_usd": 10000})
    shocks = slow_a(tmp_path, 0.01, probability=0.1)
    hit = 20 - len(futures(load_shocks(shocks), 3, 20)[1])
    assert hit == 2  # seed 3: two slowed futures in twenty (s = 0.1)
    mean = risk_plan(scenario, shocks, samples=20, seed=3, objective="expected", check_samples=60, workers=1)
    worst = risk_plan(
        scenario, shocks, samples=20, seed=3, objective="cvar:0.05", check_samples=60, workers=1
    )
    assert chips(mean) == {"a": 10} and chips(worst) == {"b": 8}
    share = hit / 20
    assert mean.sample_average.in_sample["summary"]["effective_pflops"]["mean"] == pytest.approx(
        (1 - share) * 10 + share * 0.1
    )
    assert worst.sample_average.in_sample["summary"]["effective_pflops"]["min"] == pytest.approx(8.0)
    # out of sample (fresh futures, seed 4): the worst-share plan never falls below 8; the base plan
    # (10 a, the scenario's own optimum) falls to 0.1 when a slows
    oos, base = (
        worst.sample_average.out_of_sample["summary"],
        worst.sample_average.base_out_of_sample["summary"],
    )
    assert oos["effective_pflops"]["min"] == pytest.approx(8.0)
    assert base["effective_pflops"]["min"] == pytest.approx(0.1)
    assert worst.sample_average.made | {"seconds": 0} == {
        "shocks": "slow",
        "samples": 20,
        "seed": 3,
        "objective": "cvar:0.05",
        "chance": None,
        "futures_with_shocks": 1,
        "out_of_sample_samples": 60,
        "out_of_sample_seed": 4,
        "seconds": 0,
    }


def test_chance_constraints_set_the_odds_of_meeting_a_target(tiny, tmp_path):
    """8 PFLOPS needed in 2025Q2 at least cost. 8 a ($8,000) fall to 4 PFLOPS when a halves; 8 b ($10,000)
    always hold. Met in 60% of futures: a is enough (the shock comes in about 30%); in 90%: b."""
    scenario = a_or_b(tiny, objective="min-cost", targets={"2025Q2": {"pflops": 8}})
    shocks = slow_a(tmp_path, 0.5)
    hit = 20 - len(futures(load_shocks(shocks), 5, 20)[1])
    assert 0.1 < hit / 20 < 0.4
    loose = risk_plan(scenario, shocks, samples=20, seed=5, chance=0.6, check_samples=40, workers=1)
    tight = risk_plan(scenario, shocks, samples=20, seed=5, chance=0.9, check_samples=40, workers=1)
    assert chips(loose) == {"a": 8} and chips(tight) == {"b": 8}
    assert loose.sample_average.in_sample["p_target_missed"] == {"2025Q2 pflops": hit / 20}
    assert tight.sample_average.in_sample["p_target_missed"] == {"2025Q2 pflops": 0.0}
    assert tight.sample_average.out_of_sample["p_target_missed"]["2025Q2 pflops"] == 0.0
    # side by side, a row per plan and sample: the report's table and the workbook's Risk sheet
    outcomes = loose.sample_average.outcomes()
    share, low, high = loose.sample_average.missed_columns("2025Q2 pflops")
    assert outcomes["plan"].tolist() == ["in sample", "out of sample", "base plan, out of sample"]
    oos = loose.sample_average.out_of_sample
    # the base plan (the cheapest: 8 a) is this plan, so it misses in the same fresh futures
    missed = oos["p_target_missed"]["2025Q2 pflops"]
    assert missed > 0 and outcomes[share].tolist() == [hit / 20, missed, missed]
    assert outcomes[low].isna().tolist() == [True, False, False]  # no interval on the futures planned on
    assert [outcomes.at[1, low], outcomes.at[1, high]] == oos["p_target_missed_ci95"]["2025Q2 pflops"]
    assert outcomes.at[1, "cost_usd_p95"] == oos["summary"]["cost_usd"]["p95"]
    book = tmp_path / "loose.xlsx"
    write_plan_workbook(loose, book)
    sheet = [[c.value for c in row] for row in openpyxl.load_workbook(book)["Risk"].iter_rows()]
    assert sheet[0] == list(outcomes.columns) and sheet[2][0] == "out of sample"
    assert sheet[1][list(outcomes.columns).index(share)] == hit / 20
    con = TrimmedConsole(
        width=80, highlight=False, markup=False, emoji=False, file=io.StringIO(), record=True
    )
    plan_report(loose, con)
    text = con.export_text()
    assert "P(miss 2025Q2 pflops)" in text and "95% interval" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # none of 40 fresh futures missed: 95% Wilson interval 0 to 1.959964^2 / (40 + 1.959964^2) = 0.087622
    assert tight.sample_average.out_of_sample["p_target_missed_ci95"]["2025Q2 pflops"] == [0.0, 0.087622]
    assert "p_target_missed_ci95" not in tight.sample_average.in_sample  # the futures the plan was made on


def test_the_cli_and_its_checks(tiny, tmp_path):
    scenario = a_or_b(tiny, budget={"total_usd": 10000})
    shocks = slow_a(tmp_path, 0.01)
    args = [
        "plan",
        str(scenario),
        "--risk",
        str(shocks),
        "--samples",
        "10",
        "--check-samples",
        "10",
        "--workers",
        "1",
    ]
    result = CliRunner().invoke(main, [*args, "--risk-objective", "cvar:0.2", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert {"in_sample", "out_of_sample", "base_out_of_sample", "risk_plan", "purchases"} <= set(document)
    table = CliRunner().invoke(main, [*args, "--risk-objective", "cvar:0.2"])
    assert "Sample-average plan: cvar:0.2 over 10 futures of slow" in table.output
    with pytest.raises(
        InputError, match=r"key objective: give expected or cvar:ALPHA with ALPHA in \(0, 1\]"
    ):
        RiskObjective.parse("cvar:1.5")
    bad = CliRunner().invoke(main, [*args, "--chance", "0.9"])
    assert (
        bad.exit_code == 2
        and "--chance sets the odds of meeting targets: the scenario has none" in bad.output
    )
