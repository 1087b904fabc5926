"""Export-control metrics and the statuses public reporting gives, on the bundled catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from planner import compliance
from planner.catalog import Clause, Rule, load_catalog

CAT = load_catalog()


def status(sku: str, day: str, destination: str = "CN") -> str:
    return compliance.chip_status(CAT.chip(sku), destination, dt.date.fromisoformat(day), CAT.compiled).status


@pytest.mark.parametrize("sku, tpp, pd", [
    ("nvidia-h100-sxm", 15832, 19.45), ("nvidia-a100", 4992, 6.04), ("nvidia-h20", 2368, 2.91),
    ("nvidia-l20", 1912, 3.14), ("nvidia-rtx-4090", 5284.8, 8.68), ("nvidia-b200", 36000, 22.5),
    ("amd-mi300x", 20920, 20.57),
])
def test_tpp_and_pd_match_the_reference(sku, tpp, pd):
    chip = CAT.chip(sku)
    assert compliance.tpp(chip) == pytest.approx(tpp)
    assert compliance.performance_density(chip) == pytest.approx(pd, abs=0.01)


def test_pd_is_none_without_die_area_and_pd_clauses_do_not_match():
    chip = CAT.chip("nvidia-l2")
    assert compliance.performance_density(chip) is None
    assert not compliance.clause_matches(Clause(tpp_min=0, pd_below=100), chip)


def test_tpp_uses_every_given_rate():
    chip = {"bf16_tflops": 10, "fp64_tflops": 5, "int4_tops": 50}
    assert compliance.tpp(chip) == 320  # 5 x 64 beats 50 x 4 and 10 x 16


@pytest.mark.parametrize("sku, day, expected", [
    ("nvidia-h800", "2023-06-30", "allowed"),
    ("nvidia-h800", "2023-10-22", "allowed"),
    ("nvidia-h800", "2023-10-23", "prohibited"),
    ("nvidia-h800", "2023-11-17", "prohibited"),
    ("nvidia-a800", "2023-06-30", "allowed"),
    ("nvidia-a800", "2023-11-17", "prohibited"),
    ("nvidia-a100", "2022-09-01", "license-required"),
    ("nvidia-a100", "2022-10-07", "prohibited"),
    ("nvidia-l40s", "2023-06-30", "allowed"),
    ("nvidia-l40s", "2024-01-01", "prohibited"),
    ("nvidia-rtx-4090", "2023-11-16", "allowed"),
    ("nvidia-rtx-4090", "2023-11-17", "license-required"),
    ("nvidia-rtx-4090d", "2024-06-01", "allowed"),
    ("nvidia-h20", "2025-04-08", "allowed"),
    ("nvidia-h20", "2025-04-09", "license-required"),
    ("amd-mi308x", "2025-04-09", "license-required"),
    ("nvidia-l20", "2025-06-01", "allowed"),
    ("nvidia-h100-sxm", "2025-01-01", "prohibited"),
    ("nvidia-h200", "2026-01-15", "license-required"),
    ("nvidia-b200", "2026-06-01", "prohibited"),
    ("huawei-ascend-910c", "2025-06-01", "allowed"),
    ("huawei-ascend-910b", "2025-06-01", "allowed"),
])
def test_statuses_public_reporting_gives(sku, day, expected):
    assert status(sku, day) == expected


@pytest.mark.parametrize("destination", ["US", "DE", "JP", "SG"])
def test_everything_allowed_outside_controlled_destinations(destination):
    for sku in CAT.chips.index:
        assert status(sku, "2025-06-01", destination) == "allowed", sku


def test_most_severe_status_wins_and_rules_are_reported():
    v = compliance.chip_status(CAT.chip("nvidia-h20"), "CN", dt.date(2025, 6, 1), CAT.compiled)
    assert v.status == "license-required"
    assert v.rule_ids == ["us-h20-mi308-license-2025"]
    v = compliance.chip_status(CAT.chip("nvidia-rtx-4090"), "CN", dt.date(2025, 6, 1), CAT.compiled)
    assert [m.reason for m in v.matches] == ["TPP >= 4800 and non-datacenter part"]


def test_rule_window_is_inclusive_start_exclusive_end():
    rule = Rule(id="w", origins=["US"], destinations=["CN"], effective="2025-01-01", ends="2025-07-01",
                status="prohibited", skus=["x"])
    chip = {"sku": "x", "origin": "US", "bf16_tflops": 1}
    assert compliance.chip_status(chip, "CN", dt.date(2024, 12, 31), [rule]).status == "allowed"
    assert compliance.chip_status(chip, "CN", dt.date(2025, 1, 1), [rule]).status == "prohibited"
    assert compliance.chip_status(chip, "CN", dt.date(2025, 7, 1), [rule]).status == "allowed"
    assert compliance.chip_status(chip | {"origin": "CN"}, "CN", dt.date(2025, 2, 1), [rule]).status == "allowed"


def test_status_changes_timeline():
    changes = compliance.status_changes(CAT.chip("nvidia-h800"), "CN", CAT.compiled)
    assert [(d.isoformat() if d else None, v.status) for d, v in changes] == [
        (None, "allowed"), ("2023-10-23", "prohibited"), ("2026-01-15", "license-required")]
