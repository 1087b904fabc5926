"""The bundled catalog against the record as of December 2026 (issue #24; shared/reference/fact-check-2026-12.md).

Each test names the record it checks; statuses are dated so that a rule that moves is caught.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import chip, lease, offer

from planner.cli import main
from planner.errors import InputError
from planner.inputs.catalog import DEFAULT_CATALOG, load_catalog
from planner.inputs.scenario import load_scenario
from planner.model.data import prepare
from planner.plans.plan import catalog_for, solve
from planner.rules import compliance

CAT = load_catalog()
STATE = frozenset({"state-funded"})


def verdict(sku: str, dest: str, day: str, hq: str | None = None, kind: str = "buy", tags=frozenset()):
    return compliance.chip_status(
        CAT.chip(sku), dest, dt.date.fromisoformat(day), CAT.compiled, hq, kind, tags
    )


# ----------------------------------------------------------------- E1: the letter's headquarters clause


@pytest.mark.parametrize("sku", ["nvidia-h20", "nvidia-h20-141g", "amd-mi308x"])
def test_h20_letter_reaches_china_headquartered_buyers_abroad(sku):
    """NVIDIA's 8-K of 2025-04-15: the licence covers China and D:5 "or companies headquartered or with an
    ultimate parent therein" (NVIDIA-8K-H20). A CN-headquartered buyer owning H20s in Malaysia."""
    assert verdict(sku, "MY", "2025-04-08", "CN").status == "allowed"
    v = verdict(sku, "MY", "2025-04-09", "CN")
    assert (v.status, v.terms.approval, v.terms.lag_quarters, v.rule_ids) == (
        "license-required",
        0.1,
        1,
        ["us-h20-letter-hq-2025"],
    )
    v = verdict(sku, "MY", "2025-09-01", "CN")  # the August licences, on the China terms
    assert (v.status, v.terms.fee_pct, v.terms.approval) == ("license-required", 15.0, 0.5)
    assert verdict(sku, "MY", "2025-09-01", "US").status == "allowed"  # a US buyer in Malaysia
    assert verdict(sku, "MY", "2025-09-01", "CN", "lease").status == "allowed"  # renting is no export
    assert verdict(sku, "US", "2025-09-01", "CN").status == "allowed"  # a US site is no export


# ----------------------------------------------------------------- E2: the 2026 rule's scope


@pytest.mark.parametrize("sku", ["nvidia-h100-sxm", "nvidia-h200", "nvidia-b200", "amd-mi300x"])
def test_other_d5_destinations_keep_the_2023_denial(sku):
    """FR 2026-00789 revised the policy for China and Macau only (GOVINFO-2026): a non-D:5 buyer's H200 in
    Venezuela stays prohibited after 2026-01-15, while China moves to case by case for the H100/H200."""
    for day in ("2025-06-01", "2026-01-15", "2026-06-01"):
        v = verdict(sku, "VE", day, "US")
        assert v.status == "prohibited"
        assert "us-3a090a-2023-d5" in v.rule_ids
    if sku in ("nvidia-h100-sxm", "nvidia-h200"):
        assert verdict(sku, "CN", "2026-01-15", "CN", tags=frozenset()).status != "allowed"
        us_only = [c for c in CAT.compiled if c.rule.issuer == "US"]
        on = dt.date(2026, 6, 1)
        assert compliance.chip_status(CAT.chip(sku), "CN", on, us_only, "CN").status == "license-required"


# ----------------------------------------------------------------- E3: the 15% share


@pytest.mark.parametrize(
    "sku", ["nvidia-h100-sxm", "nvidia-h200", "nvidia-b200", "nvidia-gb200", "amd-mi300x"]
)
@pytest.mark.parametrize("dest", ["CN", "VE", "MY"])
def test_the_15_percent_share_covers_h20_and_mi308_only(sku, dest):
    """The August 2025 arrangement covered H20 and MI308 sales (PAGINASIETE-15, LOWYAT-15), not chips that
    happen to reach the H20's bandwidth lines."""
    for day in ("2025-09-01", "2026-02-01", "2026-06-01"):
        v = verdict(sku, dest, day, "CN")
        assert "us-h20-licences-2025" not in v.rule_ids
        assert "us-h20-licences-hq-2025" not in v.rule_ids
        assert v.terms.fee_pct != 15


# ----------------------------------------------------------------- E4: the headquarters rule outside the US


def test_headquarters_rule_applies_outside_the_united_states_only():
    """BIS guidance of 2026-05-31: the requirement applies "to all destinations outside the United States"
    (WILMARTH-HQ)."""
    assert verdict("nvidia-h100-sxm", "US", "2025-06-01", "CN").status == "allowed"
    assert verdict("nvidia-h100-sxm", "US", "2024-06-01", "CN").status == "allowed"
    v = verdict("nvidia-h100-sxm", "MY", "2024-06-01", "CN")
    assert (v.status, v.rule_ids, v.terms.approval) == ("license-required", ["us-3a090-hq-2023"], 0.1)


# ----------------------------------------------------------------- E5 and E10: the H200 into China in 2026


@pytest.mark.parametrize("day", ["2026-02-01", "2026-06-01", "2026-11-30"])
def test_h200_into_china_in_2026(day):
    """No US licence by February 2026 (H200-NOLICENCE), China-bound production paused in March (H200-PAUSE),
    no China revenue in the May outlook (NV-Q1FY27): approval 0.1. The 25% duty is on the chip's value,
    about $27k of the $37k all-in price (BAKER-25, REUTERS-H200): 18% of the unit price."""
    v = verdict("nvidia-h200", "CN", day, "CN")
    assert (v.status, v.terms.fee_pct, v.terms.approval, v.terms.lag_quarters) == (
        "license-required",
        18.0,
        0.1,
        1,
    )
    assert set(v.license_rules) == {"us-3a090-2026-case-by-case", "cn-h200-approvals-2026"}


def test_h200_china_option_delivers_a_tenth(tmp_path):
    """In a plan, a 2026 H200 order for a China site counts (1 - risk) x 0.1 of its chips as delivered."""
    scenario = load_scenario(_bundled_scenario(tmp_path, "cn-h200", periods=["2026Q2", "2026Q3", "2026Q4"]))
    data = prepare(scenario, catalog_for(scenario))
    h200 = data.offers[(data.offers["sku"] == "nvidia-h200") & (data.offers["country"] == "CN")]
    assert len(h200) > 0
    assert (h200["q"] - 0.98 * 0.1).abs().max() < 1e-12
    assert (h200["price"] - 37000 * 1.18).abs().max() < 1e-6


# ----------------------------------------------------------------- E11: Cambodia leaves D:5


def test_cambodia_leaves_d5_on_7_november_2025():
    """ITAR 126.1 removal published 2025-11-07 (MONDAQ-KH), which removed Cambodia from D:5 (FENWICK-D5)."""
    assert "KH" not in CAT.groups["D5"]
    v = verdict("nvidia-h100-sxm", "KH", "2025-11-06", "US")
    assert v.status == "prohibited" and "us-3a090a-2023-cambodia" in v.rule_ids
    v = verdict("nvidia-h100-sxm", "KH", "2025-11-07", "US")  # now a D:1 destination: case by case
    assert (v.status, v.rule_ids) == ("license-required", ["us-3a090-d1d4-2023"])
    assert verdict("nvidia-h100-sxm", "MY", "2025-06-01", "KH").status == "license-required"
    assert verdict("nvidia-h100-sxm", "MY", "2025-11-07", "KH").status == "allowed"


# ----------------------------------------------------------------- E6-E9, E12-E14: figures


def test_figures_to_the_record():
    chips, offers = CAT.chips, CAT.offers
    assert chips.loc["huawei-ascend-910b", "power_w"] == 975  # EPOCH-HW TDP 400 W + 575 W
    assert chips.loc["cambricon-mlu370-x8", "interconnect_gbps"] == 200  # CAMB-370: MLU-Link
    h20 = chips.loc["nvidia-h20-141g"]
    assert (h20["memory_gb"], h20["bf16_tflops"], h20["cluster_family"]) == (141, 148, "hopper")
    server = chips.loc["nvidia-rtx-pro-6000d"]
    assert bool(server["datacenter"]) and compliance.tpp(CAT.chip("nvidia-rtx-pro-6000d")) == 2320

    def price(sku: str, channel: str, period: str, term: int | None = None) -> float:
        rows = offers[(offers["sku"] == sku) & (offers["channel"] == channel) & (offers["period"] == period)]
        if term is not None:
            rows = rows[rows["term_quarters"] == term]
        [value] = rows["unit_price_usd"].tolist()
        return float(value)

    assert price("huawei-ascend-910c", "huawei-direct", "2025Q3") == 38000  # WSJ-910C: $28.6k + $10k
    assert price("huawei-ascend-910c", "huawei-direct", "2025Q3") > price(
        "huawei-ascend-910b", "huawei-direct", "2025Q3"
    )
    assert price("nvidia-h200", "nvidia-direct", "2025Q1") == 37000  # REUTERS-H200: $27k + $10k
    # LEASE-2026: reserved H100 $2.35 a GPU-hour in March 2026, up from 2025: 2.35 x 2,190 hours
    assert price("nvidia-h100-sxm", "cloud-my", "2026Q1", 4) == round(2.35 * 2190)
    for sku in ("nvidia-h100-sxm", "nvidia-h200"):
        assert price(sku, "cloud-my", "2026Q2", 4) > price(sku, "cloud-my", "2025Q2", 4)


def test_rtx_pro_6000d_server_edition_in_china():
    """A datacentre part sold in China until the CAC order of 2025-09-17 (DECODER): outside 3A090."""
    assert verdict("nvidia-rtx-pro-6000d", "CN", "2025-09-16", "CN").status == "allowed"
    assert verdict("nvidia-rtx-pro-6000d", "CN", "2025-09-17", "CN").status == "prohibited"


# ----------------------------------------------------------------- item 8: China's state-funded data centres


def test_state_funded_sites_take_domestic_chips_only():
    """Reuters, 2025-11-05 (TECHSPOT-CN, CER-CN): state-funded data centres use domestic AI chips only."""
    assert verdict("nvidia-rtx-4090d", "CN", "2025-11-04", "CN", tags=STATE).status == "allowed"
    v = verdict("nvidia-rtx-4090d", "CN", "2025-11-05", "CN", tags=STATE)
    assert (v.status, v.rule_ids) == ("prohibited", ["cn-state-funded-dc-2025"])
    assert verdict("nvidia-rtx-4090d", "CN", "2025-11-05", "CN").status == "allowed"  # a private site
    assert verdict("huawei-ascend-910c", "CN", "2026-01-01", "CN", tags=STATE).status == "allowed"
    assert verdict("nvidia-l20", "MY", "2026-01-01", "CN", tags=STATE).status == "allowed"  # a Chinese rule
    assert verdict("nvidia-rtx-4090d", "CN", "2026-01-01", "CN", "lease", STATE).status == "allowed"


def test_a_state_funded_site_gets_no_foreign_chip_in_a_plan(tmp_path):
    path = _bundled_scenario(
        tmp_path,
        "state",
        periods=["2026Q1"],
        sites=[
            {"name": "public", "country": "CN", "tags": ["state-funded"]},
            {"name": "private", "country": "CN"},
        ],
    )
    scenario = load_scenario(path)
    data = prepare(scenario, catalog_for(scenario))
    at_public = data.offers[data.offers["site"] == "public"]
    assert set(at_public["category"]) == {"domestic"}
    assert "export-compliant" in set(data.offers.loc[data.offers["site"] == "private", "category"])
    dropped = data.excluded[(data.excluded["site"] == "public") & (data.excluded["sku"] == "nvidia-l20")]
    assert set(dropped["rule_ids"]) == {"cn-state-funded-dc-2025"}


def test_site_tags_are_one_word():
    bad = CliRunner().invoke(
        main,
        ["catalog", "compliance", "--destination", "CN", "--date", "2026-01-01", "--site-tag", "two words"],
    )
    assert bad.exit_code == 2
    assert "--site-tag: a site tag is one word without spaces or ';', got 'two words'" in bad.output
    out = CliRunner().invoke(
        main,
        [
            "catalog",
            "compliance",
            "--destination",
            "CN",
            "--date",
            "2026-01-01",
            "--site-tag",
            "state-funded",
        ],
        env={"COLUMNS": "160"},  # one table, whatever terminal (or none, under xdist) runs the tests
    )
    assert out.exit_code == 0
    words = " ".join(out.output.split())  # the title wraps at the terminal's width
    assert "for a buyer headquartered in CN (buy), at a site tagged state-funded" in words
    line = next(r for r in out.output.splitlines() if r.strip().startswith("nvidia-l20 "))
    assert "prohibited" in line


# ----------------------------------------------------------------- item 7: every source key can be opened


KEY_LINE = re.compile(r"^- ([A-Z0-9][A-Z0-9-]*[A-Z0-9])(?:, ([A-Z0-9][A-Z0-9-]*))? — ")
DOCUMENT = re.compile(r"https?://|CFR|\bFR\b|Form 8-K|shared/reference/|`[\w.-]+/[\w.-]+` :")


def _definitions() -> dict[str, str]:
    """Each source key of SOURCES.md with the text of its entry (up to the next key on the line)."""
    out: dict[str, str] = {}
    for line in (DEFAULT_CATALOG / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("- ") or " — " not in line:
            continue
        for part in re.split(r" ; (?=[A-Z0-9][A-Z0-9-]* — )|; (?=[A-Z0-9][A-Z0-9-]+ — )", line[2:]):
            m = re.match(r"([A-Z0-9][A-Z0-9-]*[A-Z0-9]) — (.*)", part.strip())
            if m:
                out[m.group(1)] = m.group(2)
    return out


def test_every_source_key_has_a_url_or_a_document_reference():
    defs = _definitions()
    assert len(defs) > 100
    missing = sorted(k for k, text in defs.items() if not DOCUMENT.search(text))
    assert missing == []


def test_every_key_the_catalog_cites_is_defined():
    """Hyphenated keys cited in chips.csv, offers.csv and export_rules.yaml all have an entry."""
    defs = set(_definitions())
    text = "".join(
        (DEFAULT_CATALOG / f).read_text(encoding="utf-8")
        for f in ("chips.csv", "offers.csv", "export_rules.yaml")
    )
    cited = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\b", text))
    not_keys = {"D5-OTHER", "MLU370-X8"}  # a country group and a model name
    undefined = sorted(cited - defs - not_keys - {c for c in cited if re.fullmatch(r"FR-\d{4}-\d+", c)})
    assert undefined == []


# ----------------------------------------------------------------- item 9: channel diligence


def test_channel_risk_and_transit_are_checked(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", channel_risk="severe", transit="")],
    )
    with pytest.raises(InputError) as err:
        load_catalog(Path(path).parent / "cat")
    assert "column channel_risk: 'severe' is not one of low, medium, high" in str(err.value)
    path = tiny([chip("a")], [offer("a", "2025Q1", channel_risk="high", transit="Singapore")])
    with pytest.raises(InputError) as err:
        load_catalog(Path(path).parent / "cat")
    assert "column transit: 'Singapore' is not one ISO 3166-1 alpha-2 country code" in str(err.value)


def test_a_cap_on_risky_channels_moves_spend(tiny):
    """Two channels sell the same chip: a cheap one rated high ($800 via SG) and a dear one rated low
    ($1,000). With $10,000 and no cap, max-compute buys 12 cheap chips ($9,600); with high-risk spend at
    most 40%: x cheap + y dear with 800x <= 0.4 (800x + 1000y) and 800x + 1000y <= 10,000 gives x = 5,
    y = 6 ($4,000 + $6,000: 11 chips)."""
    offers = [
        offer("a", "2025Q1", channel="broker", unit_price_usd=800, channel_risk="high", transit="sg"),
        offer("a", "2025Q1", channel="vendor", unit_price_usd=1000, channel_risk="low"),
    ]

    def plan_with(*shares: dict):
        keys = {"policy": {"shares": list(shares)}} if shares else {}
        return solve(tiny([chip("a")], offers, periods=["2025Q1"], budget={"total_usd": 10000}, **keys))

    assert plan_with().totals["chips"] == 12
    capped = plan_with({"by": "channel_risk", "value": "high", "measure": "spend", "max": 0.4})
    assert capped.totals["chips"] == 11
    out = capped.to_dict()
    exposure = {r["channel"]: r for r in out["channel_exposure"]}
    assert exposure["broker"]["channel_risk"] == "high" and exposure["broker"]["transit"] == "SG"
    assert exposure["broker"]["commitment_usd"] == 4000 and exposure["vendor"]["commitment_usd"] == 6000
    assert exposure["broker"]["share"] == 0.4
    # re-derived from the purchases: the high-risk share of spend is within its cap
    spend = {r["channel"]: r["cost_usd"] for r in out["purchases"]}
    assert spend["broker"] / (spend["broker"] + spend["vendor"]) <= 0.4 + 1e-9
    by_transit = plan_with({"by": "transit", "value": "sg", "measure": "spend", "max": 0.4})
    assert by_transit.totals["chips"] == 11


def test_the_fleet_and_leases_have_no_transit(tiny):
    path = tiny(
        [chip("a")],
        [lease("a", "2025Q1", unit_price_usd=100, channel_risk="medium")],
        periods=["2025Q1", "2025Q2"],
        sites=[{"name": "home", "country": "CN"}],
        budget={"total_usd": 1000},
    )
    plan = solve(path)
    [line] = plan.to_dict()["channel_exposure"]
    assert (line["channel"], line["channel_risk"], line["transit"], line["kinds"]) == (
        "cloud",
        "medium",
        None,
        ["lease"],
    )
    assert line["commitment_usd"] == pytest.approx(plan.totals["lease_usd"])


# ----------------------------------------------------------------- helpers


def _bundled_scenario(folder: Path, name: str, **keys) -> Path:
    """A scenario on the bundled catalog, written in ``folder``."""
    import yaml

    data = {
        "name": name,
        "catalog": str(DEFAULT_CATALOG),
        "sites": [{"name": "cn", "country": "CN"}],
        "buyer": {"headquarters": "CN"},
        "objective": "max-compute",
        "budget": {"total_usd": 1e9},
        "policy": {"allow_license_required": True},
    }
    data.update(keys)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
