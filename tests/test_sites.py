"""Sites, leases and the buyer (contract v2): one tiny case per new constraint family, solved by hand;
every plan is re-derived by the independent contract implementation."""

from __future__ import annotations

import pytest
from conftest import chip, lease, offer
from rederive import check_plan

from planner.plans.plan import solve

HOME = {"name": "home", "country": "CN"}
AWAY = {"name": "away", "country": "MY"}


def lines(plan) -> list[tuple]:
    return sorted(
        (r["sku"], r["kind"], r["site"] if isinstance(r["site"], str) else None, r["chips"])
        for r in plan.purchases.to_dict("records")
    )


def test_supply_is_shared_across_sites(tiny):
    # 3 chips offered; each site has power for 2 (1 kW chips, caps of 2 kW): 3 chips in all, not 4
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=3)],
        periods=["2025Q1"],
        sites=[HOME | {"capacity_mw": {"2025Q1": 0.002}}, AWAY | {"capacity_mw": {"2025Q1": 0.002}}],
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.totals["chips"] == 3
    assert sorted(r["chips"] for r in plan.purchases.to_dict("records")) == [1, 2]


def test_power_pue_and_electricity_per_site(tiny):
    # cap 3 kW at each site; PUE 1.0 at home (3 chips fit), 1.5 away (2 chips fit); min cost for 4 PFLOPS
    # puts 3 at home (no electricity price) and 1 away ($0.10/kWh: 1.5 kW x 2190 h x 2 quarters = $657)
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=10)],
        periods=["2025Q1", "2025Q2"],
        objective="min-cost",
        targets={"2025Q2": {"pflops": 4}},
        sites=[
            HOME | {"capacity_mw": {"2025Q1": 0.003}},
            AWAY | {"pue": 1.5, "electricity_usd_per_kwh": 0.10, "capacity_mw": {"2025Q1": 0.003}},
        ],
    )
    plan = solve(path)
    check_plan(plan)
    assert lines(plan) == [("a", "buy", "away", 1), ("a", "buy", "home", 3)]
    assert plan.totals["opex_usd"] == pytest.approx(1.5 * 2190 * 0.10 * 2)
    site_power = plan.sites.set_index(["site", "period"])["power_mw"]
    assert site_power["away", "2025Q1"] == pytest.approx(0.0015)
    assert site_power["home", "2025Q2"] == pytest.approx(0.003)


def test_lease_serves_its_term_and_pays_each_quarter(tiny):
    # a 2-quarter lease signed in Q1 with a quarter of lead time serves Q2-Q3: targets of 1 PFLOPS in
    # Q2 and Q3 are met by leasing 1 chip at $300 a quarter ($600) rather than buying at $1000
    path = tiny(
        [chip("a")],
        [
            offer("a", "2025Q1", max_units=5),
            lease("a", "2025Q1", lead_time_quarters=1, unit_price_usd=300),
        ],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        objective="min-cost",
        targets={"2025Q2": {"pflops": 1}, "2025Q3": {"pflops": 1}},
        sites=[HOME],
        budget={"per_period_usd": {"2025Q1": 0, "2025Q2": 300, "2025Q3": 300}, "carry_over": False},
    )
    plan = solve(path)
    check_plan(plan)
    [line] = plan.to_dict()["purchases"]
    assert (line["kind"], line["delivery_period"], line["end_period"], line["site"], line["country"]) == (
        "lease",
        "2025Q2",
        "2025Q3",
        None,
        "MY",
    )
    assert line["cost_usd"] == 600 and line["unit_price_usd"] == 300 and line["term_quarters"] == 2
    assert plan.periods["lease_usd"].tolist() == [0, 300, 300]
    assert plan.periods["effective_pflops"].tolist() == [0, 1, 1]
    assert plan.totals["lease_usd"] == 600 and plan.totals["capex_usd"] == 0 and plan.totals["chips"] == 0


def test_lease_commitment_past_the_horizon_counts_in_the_total_budget(tiny):
    # a 4-quarter lease at $300 commits $1200 though only 2 quarters fall in the horizon; with $1000 in
    # all, max compute buys one chip ($1000) instead of the lease
    offers = [
        offer("a", "2025Q1", max_units=1),
        lease("a", "2025Q1", ships_to="SG", term_quarters=4, unit_price_usd=300),
    ]
    path = tiny([chip("a")], offers, periods=["2025Q1", "2025Q2"], sites=[HOME], budget={"total_usd": 1000})
    plan = solve(path)
    check_plan(plan)
    assert lines(plan) == [("a", "buy", "home", 1)]
    more = tiny(
        [chip("a")],
        offers,
        periods=["2025Q1", "2025Q2"],
        sites=[HOME],
        budget={"total_usd": 2200},
        name="more",
    )
    plan = solve(more)
    check_plan(plan)
    assert lines(plan) == [("a", "buy", "home", 1), ("a", "lease", None, 1)]
    [leased] = [p for p in plan.to_dict()["purchases"] if p["kind"] == "lease"]
    assert leased["end_period"] == "2025Q4" and leased["cost_usd"] == 1200


@pytest.mark.parametrize(
    "share, expected",
    [
        (
            {"by": "site", "value": "away", "measure": "compute", "min": 0.5},
            [("a", "buy", "away", 2), ("a", "buy", "home", 2)],
        ),
        # CN at most a quarter of spend: the rest is cheaper leased (no electricity) than bought away
        (
            {"by": "country", "value": "CN", "measure": "spend", "max": 0.25},
            [("a", "buy", "away", 1), ("a", "buy", "home", 1), ("a", "lease", None, 2)],
        ),
        (
            {"by": "kind", "value": "lease", "measure": "compute", "min": 0.5},
            [("a", "buy", "home", 2), ("a", "lease", None, 2)],
        ),
        # leases belong to no site: each site at most 40% of the whole (leases included), so 1 chip home,
        # 1 away and both leases; were the leases a site group ("nan") of their own they could take
        # only 1 and the whole would be 3 chips
        (
            {"by": "site", "value": "*", "measure": "compute", "max": 0.4},
            [("a", "buy", "away", 1), ("a", "buy", "home", 1), ("a", "lease", None, 2)],
        ),
        # the fleet (2 chips at home) is owned: buy compute 2 + b <= half of 2 + b + l, l <= 2
        (
            {"by": "kind", "value": "buy", "measure": "compute", "max": 0.5, "fleet": 2},
            [("a", "lease", None, 2)],
        ),
    ],
)
def test_shares_by_site_country_and_kind(tiny, share, expected):
    # $4000 buys 4 chips; electricity is free at home and $1/kWh away, so without the share every chip
    # goes home; a lease costs $1000 for its one quarter
    offers = [
        offer("a", "2025Q1", max_units=10),
        lease("a", "2025Q1", term_quarters=1, max_units=2),
    ]
    share = dict(share)
    fleet = [{"sku": "a", "chips": share.pop("fleet")}] if "fleet" in share else []
    path = tiny(
        [chip("a")],
        offers,
        periods=["2025Q1"],
        budget={"total_usd": 4000},
        sites=[HOME, AWAY | {"electricity_usd_per_kwh": 1.0}],
        policy={"shares": [share]},
        fleet=fleet,
    )
    plan = solve(path)
    check_plan(plan)
    assert lines(plan) == expected


B200_LIKE = chip("big", origin="US", vendor="N", category="full-spec", bf16_tflops=2250, fp8_tflops=4500)
HQ_RULE = {
    "id": "hq",
    "origins": ["US"],
    "destinations": ["*"],
    "headquarters": ["D5"],
    "effective": "2023-11-17",
    "status": "license-required",
    "when_any": [{"tpp_min": 4800}],
}


@pytest.mark.parametrize(
    "hq, allow, kind, expected",
    [
        ("CN", False, "buy", []),  # licence needed, not allowed by policy
        ("CN", True, "buy", [("big", "buy", "away", 1)]),
        ("US", False, "buy", [("big", "buy", "away", 1)]),  # the rule does not cover a US buyer
        ("CN", False, "lease", [("big", "lease", None, 1)]),  # renting is not an export to the buyer
    ],
)
def test_buyer_headquarters_rule(tiny, hq, allow, kind, expected):
    rules = [HQ_RULE]
    extra = {"kind": kind, "ships_to": "MY", "term_quarters": 1 if kind == "lease" else ""}
    groups_file = {"D5": ["CN", "MO", "KP"]}
    path = tiny(
        [B200_LIKE],
        [offer("big", "2025Q1", max_units=1, **extra)],
        rules,
        periods=["2025Q1"],
        sites=[AWAY],
        buyer={"headquarters": hq},
        budget={"total_usd": 1e6},
        policy={"allow_license_required": allow},
    )
    cat = path.parent / "cat" / "export_rules.yaml"
    cat.write_text(cat.read_text().replace("rules:", f"groups: {groups_file}\nrules:", 1))
    plan = solve(path)
    if expected:
        check_plan(plan)
    assert lines(plan) == expected
    if expected and kind == "buy" and hq == "CN":
        line = plan.to_dict()["purchases"][0]
        assert line["compliance"] == "license-required" and line["license_rules"] == ["hq"]


def test_ships_to_limits_sites(tiny):
    # the domestic offer ships to CN only: with sites in CN (no power left) and MY, nothing is bought
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=5, ships_to="CN")],
        periods=["2025Q1"],
        sites=[HOME | {"capacity_mw": {"2025Q1": 0}}, AWAY],
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    check_plan(plan)
    assert lines(plan) == []
    reasons = set(plan.excluded["reason"])
    assert "ships to CN only" in reasons


def test_fleet_at_a_site_counts_against_its_power(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=5)],
        periods=["2025Q1"],
        sites=[HOME | {"capacity_mw": {"2025Q1": 0.002}}, AWAY | {"capacity_mw": {"2025Q1": 0.001}}],
        fleet=[{"sku": "a", "chips": 1, "site": "away"}],
        budget={"total_usd": 1e6},
    )
    plan = solve(path)
    check_plan(plan)
    assert lines(plan) == [("a", "buy", "home", 2)]
    assert plan.sites.set_index("site")["effective_pflops"].to_dict() == {"home": 2.0, "away": 1.0}


def test_version_1_is_one_site_named_after_its_destination(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        budget={"total_usd": 2000},
        power={"pue": 1.2, "site_capacity_mw": {"2025Q1": 1}},
    )
    data = solve(path).to_dict()
    assert [(s["name"], s["country"]) for s in data["sites"]] == [("CN", "CN")]
    assert data["sites"][0]["periods"][0]["capacity_mw"] == 1
    assert {p["site"] for p in data["purchases"]} == {"CN"}


def test_a_lease_is_paid_in_every_quarter_of_its_term(tiny):
    # a 2-quarter lease signed in Q1 with a quarter of lead time is paid in Q2 and Q3 ($300 each);
    # Q3's budget is 0, so the lease does not fit: buying in Q2 ($1000, Q2's budget) does
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q2", max_units=5), lease("a", "2025Q1", lead_time_quarters=1, unit_price_usd=300)],
        periods=["2025Q1", "2025Q2", "2025Q3"],
        objective="min-cost",
        targets={"2025Q2": {"pflops": 1}, "2025Q3": {"pflops": 1}},
        sites=[HOME],
        budget={"per_period_usd": {"2025Q1": 0, "2025Q2": 1000, "2025Q3": 0}, "carry_over": False},
    )
    plan = solve(path)
    check_plan(plan)
    assert lines(plan) == [("a", "buy", "home", 1)]
