"""Reverse stress tests: thresholds worked by hand, and each checked by re-running `stress` either side of it."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from conftest import chip, offer

from planner.analyses.reverse import reverse_stress
from planner.cli import main
from planner.errors import InputError


@pytest.fixture
def two_quarters(tiny):
    """Chip a: 5 on offer in 2025Q1 at $900, 10 in 2025Q2 at $1,000; 12 PFLOPS needed in 2025Q2; $12,000.

    The cheapest plan buys 5 in Q1 and 7 in Q2 ($11,500). A shock from 2025Q2 keeps the Q1 order.
    """
    offers = [
        offer("a", "2025Q1", max_units=5, unit_price_usd=900),
        offer("a", "2025Q2", max_units=10, unit_price_usd=1000),
    ]
    return tiny(
        [chip("a"), chip("b")],
        offers,
        objective="min-cost",
        targets={"2025Q2": {"pflops": 12}},
        budget={"total_usd": 12000},
    )


def shocks(folder, **effect):
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "shocks": [{"name": "it", "quarter": "2025Q2", **effect}]}))
    return path


def test_a_supply_cut_breaks_the_target_just_past_three_tenths(two_quarters, tmp_path):
    """Q2 supply becomes int(10 (1 - f)): 7 chips (the target) hold up to f = 0.3 and not beyond."""
    path = shocks(tmp_path, supply_cut={"by": "sku", "value": "a", "fraction": 0.5})
    result = reverse_stress(two_quarters, path, "2025Q2.pflops")
    (t,) = result["thresholds"]
    assert (t["amount"], t["range"], t["tolerance"]) == ("fraction", [0.0, 1.0], 1e-3)
    assert t["holds_at"] <= 0.3 < t["breaks_at"] <= t["holds_at"] + 1e-3
    # re-running stress just below and just above the threshold tells the same
    for amount, status, missed in ((t["holds_at"], "optimal", 0), (t["breaks_at"], "infeasible", 1)):
        at = shocks(tmp_path, supply_cut={"by": "sku", "value": "a", "fraction": amount})
        out = CliRunner().invoke(
            main, ["stress", str(two_quarters), "--shocks", str(at), "--no-robust", "--format", "json"]
        )
        (exposure,) = json.loads(out.output)["base_exposure"]
        assert (exposure["status"], exposure["targets_missed"]) == (status, missed), amount


def test_a_price_rise_breaks_the_budget_past_fifteen_fourteenths(two_quarters, tmp_path):
    """7 chips at $1,000 k must fit the $7,500 left after the Q1 order: k <= 15/14 (1.0714...)."""
    path = shocks(tmp_path, price={"by": "sku", "value": "a", "factor": 1.2})
    (t,) = reverse_stress(two_quarters, path, "budget")["thresholds"]
    assert t["holds_at"] <= 15 / 14 < t["breaks_at"] <= t["holds_at"] + 0.01
    # a supply cut that no money can answer does not break the budget
    cut = shocks(tmp_path, supply_cut={"by": "sku", "value": "a", "fraction": 0.5})
    assert reverse_stress(two_quarters, cut, "budget")["thresholds"][0]["verdict"] == "never within the range"


def test_never_within_the_range_and_the_cli(two_quarters, tmp_path):
    path = shocks(
        tmp_path, efficiency={"by": "sku", "value": "b", "factor": 0.5}
    )  # a chip the plan never buys
    result = CliRunner().invoke(
        main, ["stress", str(two_quarters), "--shocks", str(path), "--reverse", "--breaks", "2025Q2.pflops"]
    )
    assert result.exit_code == 0, result.output
    assert "it: never within the range" in result.output
    data = json.loads(
        CliRunner()
        .invoke(
            main,
            [
                "stress",
                str(two_quarters),
                "--shocks",
                str(path),
                "--reverse",
                "--breaks",
                "2025Q2.pflops",
                "--format",
                "json",
            ],
        )
        .output
    )
    assert data["thresholds"][0]["breaks_at"] is None and data["thresholds"][0]["holds_at"] == 0.001


def test_what_can_break_is_checked(two_quarters, tmp_path):
    path = shocks(tmp_path, supply_cut={"by": "sku", "value": "a", "fraction": 0.5})
    with pytest.raises(
        InputError,
        match=r"key breaks: '2025Q3.pflops' is not a target entry of the scenario \(its entries: 2025Q2.pflops\)",
    ):
        reverse_stress(two_quarters, path, "2025Q3.pflops")
    result = CliRunner().invoke(main, ["stress", str(two_quarters), "--shocks", str(path), "--reverse"])
    assert result.exit_code == 2 and "--reverse needs --breaks TARGET" in result.output
    result = CliRunner().invoke(
        main, ["stress", str(two_quarters), "--shocks", str(path), "--breaks", "budget"]
    )
    assert result.exit_code == 2 and "--breaks and --tolerance go with --reverse" in result.output
