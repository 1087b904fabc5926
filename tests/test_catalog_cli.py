"""gpuplan catalog: validate, show, compliance, timeline and the Epoch import."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from conftest import ROOT, chip, make_catalog, offer

from planner.cli import main
from planner.inputs.catalog import load_catalog

EPOCH = ROOT.parent / "shared" / "reference" / "epoch_ml_hardware.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_validate_bundled_catalog_is_clean():
    result = run("catalog", "validate")
    assert result.exit_code == 0
    assert result.output.endswith("OK (25 chips, 425 offers, 29 rules)\n")
    assert run("catalog", "validate", "--catalog", ROOT / "catalogs" / "default").output == result.output


def test_an_offers_file_with_a_header_only_is_valid(tmp_path):
    cat = make_catalog(tmp_path / "c", [chip("a")], [])
    result = run("catalog", "validate", cat)
    assert result.exit_code == 0, result.output
    assert result.output.endswith("OK (1 chips, 0 offers, 0 rules)\n")


def test_validate_lists_every_problem(tmp_path):
    chips = [chip("a", power_w=-5), chip("a"), chip("b", category="domestc", software_efficiency=1.5)]
    offers = [offer("zz", "2025Q1"), offer("b", "2025Q5"), offer("b", "2025Q1", max_units=2.5)]
    rules = [
        {
            "id": "r",
            "origins": ["US"],
            "destinations": ["XX"],
            "effective": "2025-01-01",
            "status": "prohibited",
            "skus": ["a"],
        },
        {
            "id": "s",
            "origins": ["US"],
            "destinations": ["CN"],
            "effective": "2025-13-01",
            "status": "prohibited",
            "skus": ["a"],
        },
        {
            "id": "t",
            "origins": ["US"],
            "destinations": ["CN"],
            "effective": "2025-01-01",
            "status": "banned",
            "skus": ["nope"],
        },
    ]
    cat = make_catalog(tmp_path / "c", chips, offers, rules)
    result = run("catalog", "validate", cat)
    assert result.exit_code == 2
    c, o, r = cat / "chips.csv", cat / "offers.csv", cat / "export_rules.yaml"
    assert result.output.splitlines() == [
        f"{c}, row 2, column power_w: must be > 0, got -5",
        f"{c}, row 4, column category: 'domestc' is not one of full-spec, export-compliant, domestic "
        "(did you mean 'domestic'?)",
        f"{c}, row 4, column software_efficiency: must be in (0, 1], got 1.5",
        f"{o}, row 4, column max_units: expected a whole number, got '2.5'",
        f"{o}, row 2, column sku: sku 'zz' is not in chips.csv",
        f"{o}, row 3, column period: expected a quarter written YYYYQn with n in 1-4 (e.g. 2025Q3), got '2025Q5'",
        f"{r}, key rules[0].destinations: 'XX' is not an ISO 3166-1 alpha-2 country code (e.g. CN, US, HK)",
        f"{r}, key rules[1].effective: '2025-13-01' is not a real date (month must be in 1..12)",
        f"{r}, key rules[2].status: Input should be 'allowed', 'license-required' or 'prohibited', got 'banned'",
        "9 problem(s) found",
    ]


def test_validate_duplicate_sku_names_the_first_row(tmp_path):
    cat = make_catalog(tmp_path / "c", [chip("a"), chip("b"), chip("a")], [offer("a", "2025Q1")])
    result = run("catalog", "validate", cat)
    assert result.exit_code == 2
    assert (
        f"{cat / 'chips.csv'}, row 4, column sku: duplicate sku 'a' (first on row 2); each sku must be unique"
        in result.output
    )


def test_show_figures_by_hand(tmp_path):
    # 2000 TFLOPS x 0.5 = 1 effective PFLOPS; cheapest $1000; 1000 W; 100 GB
    cat = make_catalog(
        tmp_path / "c",
        [chip("a", bf16_tflops=2000, software_efficiency=0.5, die_area_mm2=800)],
        [offer("a", "2025Q1", unit_price_usd=1500), offer("a", "2025Q2", unit_price_usd=1000, max_units=7)],
    )
    result = run("catalog", "show", cat, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["chips"] == [
        {
            "sku": "a",
            "vendor": "V",
            "model": "A",
            "category": "domestic",
            "origin": "CN",
            "eff_pflops": 1.0,
            "tpp": 32000.0,
            "pd": 40.0,
            "buy_usd": 1000.0,
            "buy_usd_per_eff_pflops": 1000.0,
            "w_per_eff_pflops": 1000.0,
            "memory_gb_per_kusd": 100.0,
            "lease_usd_per_quarter": None,
            "lease_term_quarters": None,
            "lease_term_usd": None,
            "lease_usd_per_eff_pflops_quarter": None,
        }
    ]
    assert data["offers_per_quarter"] == {"a": {"2025Q1": 100, "2025Q2": 7}}
    assert data["leases_per_quarter"] == {}
    assert run("catalog", "show", cat).exit_code == 0
    assert run("catalog", "show", cat, "--format", "csv").output.startswith(
        '"sku","vendor","model","category"'
    )


def test_catalog_show_keeps_a_lease_price_apart_from_purchase_prices(tmp_path):
    # a purchase at $1000 and a lease at $100 per chip-quarter for 4 quarters: the lease is no "cheapest price"
    cat = make_catalog(
        tmp_path / "c",
        [chip("a")],
        [
            offer("a", "2025Q1", unit_price_usd=1000),
            offer(
                "a",
                "2025Q1",
                unit_price_usd=100,
                kind="lease",
                ships_to="MY",
                term_quarters=4,
                channel="cloud",
            ),
        ],
    )
    data = json.loads(run("catalog", "show", cat, "--format", "json").output)
    [row] = data["chips"]
    assert row["buy_usd"] == 1000.0 and row["buy_usd_per_eff_pflops"] == 1000.0
    assert row["lease_usd_per_quarter"] == 100.0 and row["lease_term_quarters"] == 4
    assert row["lease_term_usd"] == 400.0 and row["lease_usd_per_eff_pflops_quarter"] == 100.0
    assert row["memory_gb_per_kusd"] == 100.0  # at the purchase price
    assert data["offers_per_quarter"] == {"a": {"2025Q1": 100}}
    assert data["leases_per_quarter"] == {"a": {"2025Q1": 100}}


def test_compliance_json_for_a_date():
    result = run("catalog", "compliance", "--destination", "CN", "--date", "2023-06-30", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["destination"] == "CN" and data["date"] == "2023-06-30"
    by_sku = {c["sku"]: c for c in data["chips"]}
    assert by_sku["nvidia-h800"] == {
        "sku": "nvidia-h800",
        "model": "H800 SXM 80GB",
        "tpp": 15832.0,
        "pd": pytest.approx(19.449631, abs=1e-6),
        "status": "allowed",
        "rules": [],
        "license": None,
    }
    assert by_sku["nvidia-a100"]["status"] == "prohibited"
    assert by_sku["nvidia-a100"]["rules"] == ["us-3a090-2022"]


def test_compliance_table_says_which_clause_matched():
    result = CliRunner().invoke(
        main, ["catalog", "compliance", "--destination", "CN", "--date", "2025-06-01"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    assert "TPP >= 4800 and non-datacenter part" in result.output


def test_compliance_for_a_buyer_and_a_kind_of_offer():
    """The issue's check: in Malaysia on 2025-06-01, a China-headquartered buyer needs a licence to own
    B200, H200 and H100 (Oct 2023 headquarters rule) and may rent them."""
    args = [
        "catalog",
        "compliance",
        "--destination",
        "my",
        "--date",
        "2025-06-01",
        "--headquarters",
        "cn",
        "--format",
        "json",
    ]
    owned = json.loads(run(*args).output)
    leased = json.loads(run(*args, "--kind", "lease").output)
    assert (owned["destination"], owned["headquarters"], owned["kind"]) == ("MY", "CN", "buy")
    # the H20 letter's headquarters clause reaches chips with the H20's bandwidth too (NVIDIA-8K-H20)
    for sku, letter in (("nvidia-b200", True), ("nvidia-h200", True), ("nvidia-h100-sxm", True)):
        chip_owned = next(c for c in owned["chips"] if c["sku"] == sku)
        chip_leased = next(c for c in leased["chips"] if c["sku"] == sku)
        rules = ["us-3a090-hq-2023"] + (["us-h20-letter-hq-2025"] if letter else [])
        assert chip_owned["status"] == "license-required" and chip_owned["rules"] == rules
        assert chip_owned["license"] == {"fee_pct": 0.0, "lag_quarters": 1, "approval": 0.1}
        assert chip_leased["status"] == "allowed" and chip_leased["license"] is None
    us_buyer = json.loads(
        run(
            "catalog",
            "compliance",
            "--destination",
            "MY",
            "--date",
            "2025-06-01",
            "--headquarters",
            "US",
            "--format",
            "json",
        ).output
    )
    assert next(c for c in us_buyer["chips"] if c["sku"] == "nvidia-b200")["status"] == "allowed"


def test_compliance_rejects_bad_destination_and_date():
    assert run("catalog", "compliance", "--destination", "China").exit_code == 2
    assert run("catalog", "compliance", "--destination", "CN", "--date", "2025-13-01").exit_code == 2


def test_timeline_for_one_sku():
    result = run("catalog", "timeline", "--destination", "CN", "--sku", "nvidia-a100", "--format", "json")
    assert result.exit_code == 0
    changes = [(c["date"], c["status"]) for c in json.loads(result.output)["changes"]]
    assert changes == [
        (None, "allowed"),
        ("2022-08-26", "license-required"),
        ("2022-10-07", "prohibited"),
        ("2026-01-15", "license-required"),
    ]
    abroad = run(
        "catalog",
        "timeline",
        "--destination",
        "MY",
        "--headquarters",
        "CN",
        "--sku",
        "nvidia-b200",
        "--format",
        "json",
    )
    assert [(c["date"], c["status"]) for c in json.loads(abroad.output)["changes"]] == [
        (None, "allowed"),
        ("2023-11-17", "license-required"),
    ]
    assert run("catalog", "timeline", "--destination", "CN", "--sku", "nope").exit_code == 2


@pytest.mark.skipif(not EPOCH.is_file(), reason="shared/reference is not beside the project")
def test_import_epoch_real_file(tmp_path):
    out = tmp_path / "epoch"
    result = run("catalog", "import-epoch", EPOCH, "--out", out)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("TPP agrees"))
    agree, total = (int(w) for w in line.split() if w.isdigit())
    assert total >= 150 and agree / total >= 0.95
    rows = {r["sku"]: r for r in csv.DictReader((out / "chips.csv").read_text().splitlines())}
    h100 = rows["nvidia-h100-sxm5-80gb"]
    assert h100["model"] == "NVIDIA H100 SXM5 80GB" and h100["origin"] == "US"
    assert float(h100["bf16_tflops"]) == 989.4 and float(h100["int8_tops"]) == 1979
    assert float(h100["memory_bw_tbps"]) == 3.35 and float(h100["interconnect_gbps"]) == 900
    assert float(h100["memory_gb"]) == pytest.approx(80, rel=0.1)
    assert rows["nvidia-hgx-h20"]["category"] == "export-compliant"
    assert rows["nvidia-geforce-rtx-4090"]["datacenter"] == "false"
    assert (
        rows["huawei-ascend-910c"]["category"] == "domestic" and rows["huawei-ascend-910c"]["origin"] == "CN"
    )
    assert "skipped row" in result.output and "Epoch AI" in result.output
    # what it wrote is a valid chips.csv for the catalog reader
    (out / "offers.csv").write_text(
        "sku,channel,period,max_units,unit_price_usd,lead_time_quarters,delivery_risk\n"
        "nvidia-hgx-h20,direct,2025Q1,8,12000,0,\n"
    )
    (out / "export_rules.yaml").write_text("rules: []\n")
    assert len(load_catalog(out).chips) == len(rows)


def test_import_epoch_writes_a_complete_catalog_folder(tmp_path):
    """chips.csv, an offers.csv header and the bundled rules with their SKU lists on the imported chips."""
    out = tmp_path / "epoch"
    sample = ROOT / "docs" / "epoch-sample" / "ml_hardware_sample.csv"
    result = run("catalog", "import-epoch", sample, "--out", out)
    assert result.exit_code == 0, result.output
    assert (
        "rule us-h20-letter-2025: skus nvidia-h20, nvidia-h20-141g, amd-mi308x -> nvidia-hgx-h20"
        in result.output
    )
    assert "rule cn-h200-customs-2026 left out: it lists no imported chip" in result.output
    assert (out / "offers.csv").read_text().startswith("sku,channel,period,")
    validated = run("catalog", "validate", out)
    assert validated.exit_code == 0 and validated.output.startswith(f"{out}: OK (15 chips, 0 offers, ")
    listing = run(
        "catalog", "compliance", out, "--destination", "CN", "--date", "2025-06-01", "--format", "json"
    )
    assert listing.exit_code == 0, listing.output
    statuses = {c["sku"]: c["status"] for c in json.loads(listing.output)["chips"]}
    chips = {r["sku"] for r in csv.DictReader((out / "chips.csv").read_text().splitlines())}
    assert set(statuses) == chips  # every imported chip classified
    assert statuses["nvidia-hgx-h20"] == "license-required"  # the H20 rules follow the imported SKU
    assert statuses["nvidia-h100-sxm5-80gb"] == "prohibited" and statuses["huawei-ascend-910b"] == "allowed"


def test_import_epoch_mapping_overrides(tmp_path):
    src = tmp_path / "e.csv"
    src.write_text(
        "Hardware name,Manufacturer,Tensor-FP16/BF16 performance (FLOP/s),Memory (bytes),"
        "Memory bandwidth (byte/s),TDP (W)\nChip X,Graphcore,2e14,6.4e10,2e12,300\n"
        "Chip Y,NVIDIA,,1e10,1e12,100\n"
    )
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "manufacturers:\n  Graphcore: {origin: GB, category: full-spec, software_efficiency: 0.5}\n"
        "skus:\n  chip-x: {chips_per_server: 4}\n"
    )
    out = tmp_path / "cat"
    result = run(
        "catalog", "import-epoch", src, "--out", out, "--mapping", mapping, "--host-overhead-w", "100"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "chips.csv").read_text().splitlines()))
    assert [
        (r["sku"], r["origin"], r["bf16_tflops"], r["memory_gb"], r["power_w"], r["chips_per_server"])
        for r in rows
    ] == [("chip-x", "GB", "200", "64", "400", "4")]
    assert "skipped row 3 (Chip Y): no bf16_tflops in the Epoch row" in result.output


def test_import_epoch_output_parent_must_exist(tmp_path):
    src = tmp_path / "e.csv"
    src.write_text(
        "Hardware name,Manufacturer,Tensor-FP16/BF16 performance (FLOP/s),Memory (bytes),"
        "Memory bandwidth (byte/s),TDP (W)\nChip X,NVIDIA,2e14,6.4e10,2e12,300\n"
    )
    result = run("catalog", "import-epoch", src, "--out", tmp_path / "no" / "such")
    assert result.exit_code == 2
    assert "does not exist" in result.output
