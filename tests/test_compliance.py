"""Export-control metrics and the statuses public reporting gives, on the bundled catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from planner.inputs.catalog import Clause, Rule, load_catalog
from planner.rules import compliance

CAT = load_catalog()


def status(sku: str, day: str, destination: str = "CN") -> str:
    return compliance.chip_status(CAT.chip(sku), destination, dt.date.fromisoformat(day), CAT.compiled).status


@pytest.mark.parametrize(
    "sku, tpp, pd",
    [
        ("nvidia-h100-sxm", 15832, 19.45),
        ("nvidia-a100", 4992, 6.04),
        ("nvidia-h20", 2368, 2.91),
        ("nvidia-l20", 1912, 3.14),
        ("nvidia-rtx-4090", 5284.8, 8.68),
        ("nvidia-b200", 36000, 22.5),
        ("amd-mi300x", 20920, 20.57),
    ],
)
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


# Statuses for a buyer deployed in China, on dates where the public record is clear.
@pytest.mark.parametrize(
    "sku, day, expected",
    [
        ("nvidia-h800", "2023-06-30", "allowed"),  # NVLink 400 GB/s escaped the Oct 2022 rule (A800-TW)
        ("nvidia-h800", "2023-10-22", "allowed"),
        ("nvidia-h800", "2023-10-23", "prohibited"),  # BIS made the datacenter provisions immediate (NV-8K23)
        (
            "nvidia-h800",
            "2026-06-01",
            "prohibited",
        ),  # not sold in the US: outside the Jan 2026 case-by-case zone
        ("nvidia-a800", "2023-06-30", "allowed"),
        ("nvidia-a800", "2026-06-01", "prohibited"),
        ("nvidia-a100", "2022-09-01", "license-required"),  # is-informed letter of 2022-08-26 (NV-8K22)
        ("nvidia-a100", "2022-10-07", "prohibited"),  # Oct 2022 rule: TPP 4992 and 600 GB/s (FR-2022)
        ("nvidia-l40s", "2023-06-30", "allowed"),
        ("nvidia-l40s", "2024-01-01", "prohibited"),
        ("nvidia-rtx-4090", "2023-11-16", "allowed"),
        ("nvidia-rtx-4090", "2023-11-17", "license-required"),  # non-datacenter TPP >= 4800 (4090-SCMP)
        ("nvidia-rtx-4090d", "2024-06-01", "allowed"),  # designed under TPP 4800 (TH-4090D)
        ("nvidia-h20", "2025-04-08", "allowed"),
        ("nvidia-h20", "2025-04-09", "license-required"),  # is-informed letter (TH-H20BAN)
        ("nvidia-h20", "2025-09-17", "prohibited"),  # CAC orders cancelled (DECODER)
        ("amd-mi308x", "2025-04-09", "license-required"),  # AMD-800
        ("nvidia-l20", "2025-06-01", "allowed"),
        ("nvidia-h100-sxm", "2025-01-01", "prohibited"),
        ("nvidia-b200", "2026-06-01", "prohibited"),  # TPP 36,000 >= 21,000: still denied (SWK-T)
        ("nvidia-rtx-pro-6000d", "2025-09-01", "allowed"),
        ("nvidia-rtx-pro-6000d", "2025-09-17", "prohibited"),
        ("huawei-ascend-910c", "2025-06-01", "allowed"),
        ("huawei-ascend-910b", "2025-06-01", "allowed"),
    ],
)
def test_statuses_public_reporting_gives(sku, day, expected):
    assert status(sku, day) == expected


def test_h200_under_the_january_2026_rule():
    """US side: case-by-case from 2026-01-15 with the 25% duty on the chip, 18% of the all-in price
    (SWK-T, 91 FR 1684; BAKER-25), approval 0.1 as no licence was granted (H200-NOLICENCE). China side:
    customs kept it out from 2026-01-14 (BUSINESSTIMES-H200) until approvals on 2026-01-28."""
    chip, us = CAT.chip("nvidia-h200"), [c for c in CAT.compiled if c.rule.issuer == "US"]
    v = compliance.chip_status(chip, "CN", dt.date(2026, 1, 15), us)
    assert v.status == "license-required" and v.terms.fee_pct == 18
    # the 15% H20/MI308 licences do not reach the H200 (PAGINASIETE-15)
    assert set(v.license_rules) == {"us-3a090-2026-case-by-case"}
    assert compliance.chip_status(chip, "CN", dt.date(2026, 1, 14), us).status == "prohibited"
    assert status("nvidia-h200", "2026-01-15") == "prohibited"  # Chinese customs
    v = compliance.chip_status(chip, "CN", dt.date(2026, 2, 1), CAT.compiled)
    assert v.status == "license-required" and v.terms.fee_pct == 18 and v.terms.approval == 0.1
    assert set(v.license_rules) == {"us-3a090-2026-case-by-case", "cn-h200-approvals-2026"}


@pytest.mark.parametrize(
    "hq, kind, expected",
    [
        ("CN", "buy", "license-required"),
        ("US", "buy", "allowed"),
        ("CN", "lease", "allowed"),
        ("US", "lease", "allowed"),
    ],
)
def test_b200_in_malaysia_depends_on_the_buyer_and_on_owning(hq, kind, expected):
    """The Oct 2023 rule needs a licence for 3A090 chips sent to a company headquartered in D:5 wherever
    they go (FR-2023; WILMARTH-HQ); renting capacity abroad is not an export to the buyer (DCD-BD)."""
    v = compliance.chip_status(CAT.chip("nvidia-b200"), "MY", dt.date(2025, 6, 1), CAT.compiled, hq, kind)
    assert v.status == expected
    if expected == "license-required":
        # the Oct 2023 rule, and the H20 letter's clause on chips with the H20's bandwidth (NVIDIA-8K-H20)
        assert v.rule_ids == ["us-3a090-hq-2023", "us-h20-letter-hq-2025"] and v.terms.approval == 0.1


def test_ascend_outside_china_from_the_may_2025_guidance():
    """BIS GP10 guidance of 2025-05-13: using Ascend 910B/910C anywhere risks violating the EAR (ALSTON)."""
    for kind in ("buy", "lease"):
        assert (
            compliance.chip_status(
                CAT.chip("huawei-ascend-910b"), "MY", dt.date(2025, 5, 12), CAT.compiled, "CN", kind
            ).status
            == "allowed"
        )
        assert (
            compliance.chip_status(
                CAT.chip("huawei-ascend-910b"), "MY", dt.date(2025, 5, 13), CAT.compiled, "CN", kind
            ).status
            == "prohibited"
        )
    assert status("huawei-ascend-910b", "2025-05-13") == "allowed"  # inside China


def test_the_april_2025_letter_inside_an_order_to_delivery_window():
    """H20 ordered in 2025Q1: delivered in the quarter it is allowed. Delivered in 2025Q2, its window
    includes the letter of 9 April (TH-H20BAN): a licence, no licence before August (lag 1). The lag
    moves delivery to 2025Q3, whose window includes China's order of 17 September to cancel H20
    purchases (DECODER): prohibited. Ordered in 2025Q1 for 2025Q2 under the letter alone, the terms
    are the letter's."""
    chip, rules = CAT.chip("nvidia-h20"), CAT.compiled
    q1 = 2025 * 4
    same = compliance.offer_status(chip, "CN", "CN", "buy", q1, 0, None, rules)
    assert same.verdict.status == "allowed" and same.delay == 0
    late = compliance.offer_status(chip, "CN", "CN", "buy", q1, 1, None, rules)
    assert late.verdict.status == "prohibited" and late.delay == 2
    us = [c for c in rules if c.rule.issuer == "US"]
    late_us = compliance.offer_status(chip, "CN", "CN", "buy", q1, 1, None, us)
    assert late_us.verdict.status == "license-required" and late_us.delay == 2
    assert late_us.verdict.terms == compliance.Terms(fee_pct=15, lag_quarters=1, approval=0.1)


@pytest.mark.parametrize("destination", ["US", "DE", "JP", "SG"])
def test_us_chips_allowed_outside_controlled_destinations(destination):
    for sku in CAT.chips.index:
        expected = "prohibited" if sku in ("huawei-ascend-910b", "huawei-ascend-910c") else "allowed"
        assert status(sku, "2025-06-01", destination) == expected, sku


def test_most_severe_status_wins_and_rules_are_reported():
    v = compliance.chip_status(CAT.chip("nvidia-h20"), "CN", dt.date(2025, 6, 1), CAT.compiled)
    assert v.status == "license-required"
    assert v.rule_ids == ["us-h20-letter-2025"]
    v = compliance.chip_status(CAT.chip("nvidia-rtx-4090"), "CN", dt.date(2025, 6, 1), CAT.compiled)
    assert [m.reason for m in v.matches] == ["TPP >= 4800 and non-datacenter part"]


def test_rule_window_is_inclusive_start_exclusive_end():
    rule = Rule(
        id="w",
        origins=["US"],
        destinations=["CN"],
        effective="2025-01-01",
        ends="2025-07-01",
        status="prohibited",
        skus=["x"],
    )
    chip = {"sku": "x", "origin": "US", "bf16_tflops": 1}
    assert compliance.chip_status(chip, "CN", dt.date(2024, 12, 31), [rule]).status == "allowed"
    assert compliance.chip_status(chip, "CN", dt.date(2025, 1, 1), [rule]).status == "prohibited"
    assert compliance.chip_status(chip, "CN", dt.date(2025, 7, 1), [rule]).status == "allowed"
    assert (
        compliance.chip_status(chip | {"origin": "CN"}, "CN", dt.date(2025, 2, 1), [rule]).status == "allowed"
    )


def test_status_changes_timeline():
    changes = compliance.status_changes(CAT.chip("nvidia-h200"), "CN", CAT.compiled)
    assert [(d.isoformat() if d else None, v.status) for d, v in changes] == [
        (None, "allowed"),
        ("2022-10-07", "prohibited"),
        ("2026-01-28", "license-required"),
    ]


# ------------------------------------------------------------------ version 2, on synthetic rules

CHIP = {
    "sku": "x",
    "origin": "US",
    "bf16_tflops": 300,
    "memory_bw_tbps": 4.0,
    "interconnect_gbps": 900,
    "datacenter": True,
    "tags": "us-market",
}


def rule(**kw) -> Rule:
    base = {
        "id": "r",
        "origins": ["US"],
        "destinations": ["CN"],
        "effective": "2025-04-09",
        "status": "license-required",
        "skus": ["x"],
    }
    return Rule.model_validate(base | kw, context={"groups": {"D5": ["CN", "MO", "KP"]}})


def window(rules, start: str, end: str, **kw) -> compliance.Verdict:
    compiled = compliance.compile_rules(rules, {"D5": ["CN", "MO", "KP"]})
    return compliance.window_status(
        CHIP,
        kw.pop("destination", "CN"),
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
        compiled,
        **kw,
    )


def test_a_rule_that_starts_between_order_and_delivery_counts():
    # ordered 2025Q1 (from 1 January), delivered 2025Q2 (to 30 June): the 9 April rule is inside the window
    assert window([rule()], "2025-01-01", "2025-06-30").status == "license-required"
    # delivered in 2025Q1: the window ends on 31 March, before the rule
    assert window([rule()], "2025-01-01", "2025-03-31").status == "allowed"
    # a rule that ended on 1 February still covers the window's first days
    assert (
        window(
            [rule(effective="2024-01-01", ends="2025-02-01", status="prohibited")], "2025-01-01", "2025-06-30"
        ).status
        == "prohibited"
    )
    assert (
        window(
            [rule(effective="2024-01-01", ends="2025-01-01", status="prohibited")], "2025-01-01", "2025-06-30"
        ).status
        == "allowed"
    )


def test_licence_terms_take_the_largest_fee_and_lag_and_the_smallest_approval():
    rules = [
        rule(id="a", license={"fee_pct": 15, "lag_quarters": 1, "approval": 0.8}),
        rule(id="b", effective="2025-05-01", license={"fee_pct": 25, "approval": 0.5}),
        rule(id="c", effective="2026-01-01", license={"fee_pct": 90}),
    ]  # outside the window
    v = window(rules, "2025-01-01", "2025-12-31")
    assert v.status == "license-required" and v.license_rules == ("a", "b")
    assert v.terms == compliance.Terms(fee_pct=25, lag_quarters=1, approval=0.5)


def test_a_lag_moves_delivery_and_lengthens_the_window():
    # lead 0 from 2025Q1: the window to 31 March sees rule a (from 1 March, lag 1); delivered in Q2,
    # the window to 30 June also sees rule b (prohibited from 1 May)
    rules = [
        rule(id="a", effective="2025-03-01", license={"lag_quarters": 1}),
        rule(id="b", effective="2025-05-01", status="prohibited"),
    ]
    compiled = compliance.compile_rules(rules, {})
    got = compliance.offer_status(CHIP, "CN", "CN", "buy", 2025 * 4, 0, None, compiled)
    assert got.verdict.status == "prohibited" and got.delay == 1
    only_a = compliance.offer_status(CHIP, "CN", "CN", "buy", 2025 * 4, 0, None, compiled[:1])
    assert only_a.verdict.status == "license-required" and only_a.delay == 1
    assert only_a.verdict.terms.lag_quarters == 1


def test_a_lease_window_runs_to_its_last_quarter_of_service():
    leases = [rule(applies_to=["lease"], effective="2025-10-01", status="prohibited")]
    compiled = compliance.compile_rules(leases, {})
    two = compliance.offer_status(CHIP, "CN", "CN", "lease", 2025 * 4, 0, 2, compiled)  # Q1-Q2
    four = compliance.offer_status(CHIP, "CN", "CN", "lease", 2025 * 4, 0, 4, compiled)  # Q1-Q4
    assert two.verdict.status == "allowed" and four.verdict.status == "prohibited"
    bought = compliance.offer_status(CHIP, "CN", "CN", "buy", 2025 * 4, 3, None, compiled)
    assert bought.verdict.status == "allowed"  # the rule governs leases only


def test_groups_star_exclusions_and_headquarters():
    everywhere_but_china = rule(
        destinations=["*"], exclude_destinations=["CN"], effective="2025-05-13", status="prohibited"
    )
    assert window([everywhere_but_china], "2025-06-01", "2025-06-01", destination="MY").status == "prohibited"
    assert window([everywhere_but_china], "2025-06-01", "2025-06-01").status == "allowed"
    hq = rule(destinations=["*"], headquarters=["D5", "MO"], effective="2023-11-17")
    assert (
        window([hq], "2025-06-01", "2025-06-01", destination="MY", headquarters="CN").status
        == "license-required"
    )
    assert window([hq], "2025-06-01", "2025-06-01", destination="MY", headquarters="US").status == "allowed"
    assert (
        window([hq], "2025-06-01", "2025-06-01", destination="MY", headquarters="MO").status
        == "license-required"
    )
    assert (
        window([hq], "2025-06-01", "2025-06-01", destination="MY", headquarters="CN", kind="lease").status
        == "allowed"
    )
    d5 = rule(destinations=["D5"])
    assert window([d5], "2025-06-01", "2025-06-01", destination="KP").status == "license-required"
    assert window([d5], "2025-06-01", "2025-06-01", destination="SG").status == "allowed"


@pytest.mark.parametrize(
    "clause, matches",
    [
        ({"memory_bw_min_tbps": 4.0}, True),
        ({"memory_bw_min_tbps": 4.1}, False),
        ({"memory_bw_below_tbps": 4.0}, False),
        ({"memory_bw_below_tbps": 6.5}, True),
        ({"tag": "us-market"}, True),
        ({"tag": "cn-market"}, False),
        ({"not_tag": "us-market"}, False),
        ({"not_tag": "cn-market"}, True),
        ({"tag": "us-market", "memory_bw_below_tbps": 3.0}, False),
    ],
)
def test_v2_clauses(clause, matches):
    assert compliance.clause_matches(Clause(**clause), CHIP) is matches
    assert compliance.clause_matches(Clause(**clause), CHIP | {"tags": "a;us-market b"}) is matches


def test_country_codes_in_any_case_and_groups_by_name():
    r = rule(destinations=["cn", "d5"], origins=["us"], headquarters=["mo"])
    assert r.destinations == ["CN", "D5"] and r.origins == ["US"] and r.headquarters == ["MO"]
    with pytest.raises(ValueError, match="not an ISO 3166-1 alpha-2 country code"):
        rule(destinations=["XX"])
    with pytest.raises(ValueError, match="license terms apply only to status license-required"):
        rule(status="prohibited", license={"fee_pct": 10})


def test_every_clause_condition_in_words():
    from planner.inputs.catalog import Clause
    from planner.rules.compliance import describe_clause

    full = Clause(
        tpp_min=1600.0,
        tpp_below=4800.0,
        pd_min=3.2,
        pd_below=5.92,
        interconnect_min_gbps=600.0,
        memory_bw_min_tbps=1.4,
        memory_bw_below_tbps=6.5,
        datacenter=True,
        tag="hbm",
        not_tag="gaming",
    )
    assert describe_clause(full) == (
        "TPP >= 1600 and TPP < 4800 and PD >= 3.2 and PD < 5.92 and interconnect >= 600 GB/s and "
        "memory bandwidth >= 1.4 TB/s and memory bandwidth < 6.5 TB/s and datacenter part and tagged hbm "
        "and not tagged gaming"
    )
    assert describe_clause(Clause(datacenter=False)) == "non-datacenter part"
    assert describe_clause(Clause()) == "any chip"


def test_why_a_rule_matches_a_chip_in_words():
    from planner.inputs.catalog import Clause

    assert compliance.rule_match(rule(), CHIP) == "SKU x is listed"
    by_clause = rule(skus=[], when_any=[{"tpp_min": 4000}])
    assert compliance.rule_match(by_clause, CHIP) == compliance.describe_clause(Clause(tpp_min=4000))
    assert compliance.rule_match(by_clause, CHIP | {"bf16_tflops": 100}) is None  # TPP 1600
    assert compliance.rule_match(rule(), CHIP | {"origin": "CN"}) is None  # another origin
