"""The bundled scenarios end to end, against their saved JSON (tests/golden/*.json): every plan,
stress results of each bundled shock file and robust plans (``golden_plans.STRESS``, ``ROBUST``).

A change in any figure, line or key shows as a diff. Updating the files is a separate, explicit
step: ``python tests/golden_plans.py``, then review ``git diff tests/golden``.
"""

from __future__ import annotations

import difflib
import json

import pytest
from golden_plans import GOLDEN, ROOT, SCENARIOS, golden_files
from rederive import check_plan

from planner.plans.plan import solve


@pytest.fixture(scope="module")
def plans():
    return {name: solve(ROOT / "budgets" / f"{name}.yaml") for name in SCENARIOS}


@pytest.mark.parametrize("file", list(golden_files()))
def test_bundled_results_match_their_golden_files(file):
    got = golden_files()[file]()
    want = (GOLDEN / file).read_text()
    if got != want:
        diff = "".join(
            difflib.unified_diff(want.splitlines(True), got.splitlines(True), f"golden/{file}", "now", n=2)
        )
        pytest.fail(f"golden/{file} changed (run python tests/golden_plans.py to accept):\n{diff[:6000]}")


def test_bundled_scenarios_rederive(plans):
    for plan in plans.values():
        check_plan(plan)


def test_the_public_case(plans):
    """base-7b owns compliant and domestic chips in China and rents full-spec capacity abroad;
    nothing bought needs more than the policy allows on any day from order to delivery."""
    base = plans["base-7b"].purchases
    owned, leased = base[base["kind"] == "buy"], base[base["kind"] == "lease"]
    assert set(owned["country"]) == {"CN"} and set(owned["category"]) <= {"export-compliant", "domestic"}
    assert len(leased) and set(leased["category"]) == {"full-spec"} and "CN" not in set(leased["country"])
    cn_only = plans["cn-only-7b"]
    assert cn_only.totals["effective_pflops"] < plans["base-7b"].totals["effective_pflops"]
    assert cn_only.totals["lease_usd"] == 0
    h20 = cn_only.purchases[cn_only.purchases["sku"] == "nvidia-h20"]
    assert set(h20["order_period"]) == {"2025Q1"} and set(h20["delivery_period"]) == {"2025Q1"}
    refused = plans["h20-license-refused"].purchases
    assert set(refused["compliance"]) == {"allowed"}
    for plan in plans.values():
        assert set(plan.purchases["compliance"]) <= {"allowed", "license-required"}
    assert plans["tight-5b"].totals["effective_pflops"] < cn_only.totals["effective_pflops"]
    assert json.loads((GOLDEN / "base-7b.json").read_text())["sites"][1]["name"] == "my-johor"
