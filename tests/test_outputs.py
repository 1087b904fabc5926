"""Workbooks, CSV and JSON files, terminal reports, comparisons and sweeps: read back and checked."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import ROOT, chip, offer, once_per_run

from planner.analyses.analysis import compare, parse_range, sweep, sweep_points, with_budget
from planner.cli import main
from planner.inputs.scenario import load_scenario
from planner.plans.plan import solve

BASE = ROOT / "budgets" / "base-7b.yaml"
CN_ONLY = ROOT / "budgets" / "cn-only-7b.yaml"
SHOCKS = ROOT / "budgets" / "shocks" / "remote-access-2025.yaml"
RISK = str(ROOT / "budgets" / "shocks" / "risk-2025.yaml")
SOFFICE = shutil.which("soffice")


def run(*args, columns: int | None = None):
    env = {"COLUMNS": str(columns)} if columns else None
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


BOOKS = ("plan", "explain", "compare", "sweep", "stress", "risk")


def write_books(folder):
    """Every workbook the tool writes, and the plan's JSON beside them."""
    paths = {name: folder / f"{name}.xlsx" for name in BOOKS}
    results = {
        "plan": run("plan", BASE, "--out", paths["plan"], "--format", "json"),
        "explain": run("explain", CN_ONLY, "--out", paths["explain"], "--format", "json"),
        "compare": run("compare", BASE, CN_ONLY, "--out", paths["compare"], "--format", "json"),
        "sweep": run("sweep", CN_ONLY, "--budget", "2B:8B:4", "--out", paths["sweep"], "--format", "json"),
        "stress": run(
            "stress", BASE, "--shocks", SHOCKS, "--no-robust", "--out", paths["stress"], "--format", "json"
        ),
        "risk": run(
            "risk",
            BASE,
            "--shocks",
            RISK,
            "--samples",
            "6",
            "--workers",
            "1",
            "--out",
            paths["risk"],
            "--format",
            "json",
        ),
    }
    for name, result in results.items():
        assert result.exit_code == 0, (name, result.output)
    (folder / "plan.json").write_text(results["plan"].output)


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """Every workbook the tool writes, made once per run (see :func:`conftest.once_per_run`)."""
    folder = once_per_run(tmp_path_factory, "books", write_books)
    return {name: folder / f"{name}.xlsx" for name in BOOKS}, json.loads((folder / "plan.json").read_text())


def test_plan_workbook_sheets_and_schedule_add_up_to_the_cent(books):
    paths, plan = books
    wb = openpyxl.load_workbook(paths["plan"])
    assert wb.sheetnames == [
        "Summary",
        "Schedule",
        "Sites",
        "Capacity",
        "Spend",
        "Channels",
        "Compliance",
        "Inputs",
    ]
    ws = wb["Schedule"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Order quarter", "Delivery / service from", "SKU"]  # headers a reader takes in
    cost, chips, kind = "Cost (USD; a lease: whole term)", "Chips", "Kind"
    every = [dict(zip(header, [c.value for c in r], strict=True)) for r in ws.iter_rows(min_row=2)]
    rows, [total] = every[:-1], every[-1:]
    assert len(rows) == len(plan["purchases"])
    buys = [r for r in rows if r[kind] == "buy"]
    assert sum(r[chips] for r in buys) == plan["totals"]["chips"]
    assert round(sum(r[cost] for r in buys), 2) == plan["totals"]["capex_usd"]
    assert round(sum(r[cost] for r in rows if r[kind] == "lease"), 2) == plan["totals"]["lease_usd"]
    # the totals row: a SUM over the lines (capex and lease commitments together)
    assert total["Order quarter"].startswith("Total")
    assert total[cost] == f"=SUM(K2:K{len(rows) + 1})" and total[chips] == f"=SUM(I2:I{len(rows) + 1})"
    values = openpyxl.load_workbook(paths["plan"], data_only=True)["Schedule"]
    committed = plan["totals"]["capex_usd"] + plan["totals"]["lease_usd"]
    assert values.cell(len(rows) + 2, header.index(cost) + 1).value == pytest.approx(committed)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:R{len(rows) + 1}"
    assert ws.cell(2, header.index(cost) + 1).number_format == '"$"#,##0.00'
    assert ws.cell(2, header.index(kind) + 1).alignment.indent == 1  # text never runs into a number
    lease_term = next(r for r in rows if r[kind] == "lease")["Term (quarters)"]
    assert lease_term in (4, 8, 12) and rows[0]["Term (quarters)"] is None  # a blank, not "<NA>"
    compliance = wb["Compliance"]
    places = {(r[0].value, r[2].value) for r in compliance.iter_rows(min_row=2)}
    leased = {(r["kind"], r["country"]) for r in plan["purchases"] if r["kind"] == "lease"}
    assert leased <= places and ("buy", "CN") in places  # lease countries too (70% of the spend)
    ch = wb["Channels"]
    head = [c.value for c in ch[1]]
    lines = [dict(zip(head, [c.value for c in r], strict=True)) for r in ch.iter_rows(min_row=2)]
    committed = plan["totals"]["capex_usd"] + plan["totals"]["lease_usd"]
    assert round(sum(r["commitment_usd"] for r in lines), 2) == pytest.approx(committed, abs=0.01)
    assert sum(r["share"] for r in lines) == pytest.approx(1.0)
    assert [r["channel"] for r in lines] == [r["channel"] for r in plan["channel_exposure"]]
    assert ws.cell(2, header.index("Chips") + 1).number_format == "#,##0"


def test_plan_workbook_capacity_spend_sites_and_summary_match_the_plan(books):
    paths, plan = books
    wb = openpyxl.load_workbook(paths["plan"])
    cap = wb["Capacity"]
    header = [c.value for c in cap[1]]
    last = [c.value for c in cap[cap.max_row]]
    assert last[header.index("effective_pflops")] == pytest.approx(
        plan["totals"]["effective_pflops"], abs=1e-6
    )
    parts = sum(
        last[i]
        for i, h in enumerate(header)
        if h.endswith("_pflops") and h not in ("effective_pflops", "leased_pflops")
    )
    assert parts == pytest.approx(plan["totals"]["effective_pflops"], rel=1e-12)
    assert "fleet_pflops" in header  # the old fleet apart from purchases
    spend = wb["Spend"]
    header = [c.value for c in spend[1]]
    cum = [r[header.index("cumulative_paid_usd")].value for r in spend.iter_rows(min_row=2)]
    payments = sum(p["capex_usd"] + p["lease_usd"] for p in plan["periods"])
    assert cum[-1] == pytest.approx(payments, abs=0.01)
    committed = [r[header.index("cumulative_committed_usd")].value for r in spend.iter_rows(min_row=2)]
    commitments = plan["totals"]["capex_usd"] + plan["totals"]["lease_usd"]
    assert committed[-1] == pytest.approx(commitments, abs=0.01)  # what the total budget counts
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows(min_row=4)}
    # the budget block: both bases, named
    assert summary["budget, total (USD)"] == 7e9
    assert summary["committed: capex and whole lease terms (USD)"] == pytest.approx(commitments, abs=0.01)
    assert summary["paid to the last quarter (USD)"] == pytest.approx(payments, abs=0.01)
    assert summary["due after the horizon (USD)"] == pytest.approx(commitments - payments, abs=0.01)
    assert summary["status"] == "optimal" and summary["capex, purchases (USD)"] == plan["totals"]["capex_usd"]
    assert summary["lease commitments (USD)"] == plan["totals"]["lease_usd"]
    assert "sha256 of base-7b.yaml" in summary and "sha256 of ../catalogs/default/offers.csv" in summary
    sites = {(r[0].value, r[2].value): r[3].value for r in wb["Sites"].iter_rows(min_row=2)}
    assert sites[("cn-west", "2025Q4")] == pytest.approx(plan["sites"][0]["periods"][-1]["power_mw"])
    inputs = {r[0].value: (r[1].value, r[2].value) for r in wb["Inputs"].iter_rows(min_row=2)}
    assert inputs["budget.total_usd"] == (7e9, "USD")
    assert inputs["catalog folder"][0] == "../catalogs/default"


def test_no_workbook_holds_a_general_number_or_a_local_path(books):
    paths, _ = books
    home = str(ROOT)
    for name, path in paths.items():
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            assert ws.page_setup.orientation == "landscape", (name, ws.title)
            assert ws.page_setup.fitToWidth in (None, 1), (name, ws.title)
            assert ws.sheet_properties.pageSetUpPr.fitToPage, (name, ws.title)
            assert ws.print_title_rows, (name, ws.title)
            for row in ws.iter_rows():
                for c in row:
                    if isinstance(c.value, (int, float)) and not isinstance(c.value, bool):
                        assert c.number_format != "General", (name, ws.title, c.coordinate, c.value)
                    if isinstance(c.value, str):
                        assert home not in c.value, (name, ws.title, c.coordinate)


def test_charts_have_human_names_titles_and_unit_axes(books):
    paths, _ = books
    names = zipfile.ZipFile(paths["plan"]).namelist()
    charts = [
        zipfile.ZipFile(paths["plan"]).read(n).decode() for n in names if n.startswith("xl/charts/chart")
    ]
    assert len(charts) == 2
    text = " ".join(charts)
    assert "vendor_" not in text and "_pflops" not in text and "_usd" not in text
    assert "Effective PFLOPS installed, by chip category" in text and "fleet (installed before)" in text
    assert ",,,&quot;B&quot;" in text or ",,&quot;M&quot;" in text  # the money axis in $B or $M


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed")
def test_workbooks_print_one_page_wide_with_nothing_cut(books, tmp_path):
    """Each workbook converted to PDF by LibreOffice: the plan's Summary fits one page, and no cell
    prints as ### (a number too wide for its column)."""
    paths, _ = books
    one = tmp_path / "summary-only.xlsx"  # the plan's Summary sheet alone: one page
    wb = openpyxl.load_workbook(paths["plan"])
    for ws in wb.sheetnames[1:]:
        del wb[ws]
    wb.save(one)
    # one LibreOffice start for every workbook (each start costs about a second)
    files = [str(p) for p in [*paths.values(), one]]
    subprocess.run(
        [SOFFICE, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), *files],
        check=True,
        capture_output=True,
        timeout=240,
    )
    for name in paths:
        pdf = tmp_path / f"{name}.pdf"
        assert pdf.read_bytes()[:4] == b"%PDF"
        if shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert "###" not in text, name
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", str(tmp_path / "summary-only.pdf")], capture_output=True, text=True
        ).stdout
        assert re.search(r"Pages:\s+1\b", info), info


def test_formula_text_from_inputs_stays_inert(tiny, tmp_path):
    path = tiny(
        [chip("a", model='=HYPERLINK("http://x","y")')],
        [offer("a", "2025Q1", channel="+cmd|' /C calc'!A0")],
        budget={"total_usd": 5000},
        name="@evil",
    )
    book, csv_out = tmp_path / "p.xlsx", tmp_path / "p.csv"
    assert run("plan", path, "--out", book).exit_code == 0
    assert run("plan", path, "--out", csv_out).exit_code == 0
    ws = openpyxl.load_workbook(book)["Schedule"]
    header = [c.value for c in ws[1]]
    model_cell, channel_cell = ws.cell(2, header.index("Model") + 1), ws.cell(2, header.index("Channel") + 1)
    assert model_cell.data_type == "s" and model_cell.value.startswith("=HYPERLINK")
    assert channel_cell.data_type == "s" and channel_cell.value.startswith("+cmd")
    summary = openpyxl.load_workbook(book)["Summary"]
    assert summary.cell(4, 2).data_type == "s" and summary.cell(4, 2).value == "@evil"
    line = csv_out.read_text().splitlines()[1]
    assert ',"\'=HYPERLINK(""http://x"",""y"")",' in line and ",\"'+cmd|' /C calc'!A0\"," in line


def test_csv_and_json_out_match_stdout(tmp_path):
    j, c = tmp_path / "p.json", tmp_path / "p.csv"
    assert run("plan", BASE, "--out", j).exit_code == 0
    assert run("plan", BASE, "--out", c).exit_code == 0
    assert j.read_text() == run("plan", BASE, "--format", "json").output
    assert c.read_text() == run("plan", BASE, "--format", "csv").output


def test_an_infeasible_plan_writes_its_diagnosis(tiny, tmp_path):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1)],
        objective="min-cost",
        targets={"2025Q1": {"pflops": 5}},
    )
    j, book = tmp_path / "d.json", tmp_path / "d.xlsx"
    result = run("plan", path, "--out", j)
    assert result.exit_code == 1
    data = json.loads(j.read_text())
    assert data["status"] == "infeasible" and data["diagnosis"]["shortfalls"][0]["shortfall"] == 4
    assert run("plan", path, "--out", book).exit_code == 1
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Summary", "Diagnosis", "Inputs"]
    rows = [[c.value for c in r] for r in wb["Diagnosis"].iter_rows(min_row=2)]
    assert rows[0][:5] == ["shortfall", "2025Q1", "pflops", 5, 4]


def test_bad_input_leaves_an_existing_file_alone(tmp_path):
    out = tmp_path / "keep.xlsx"
    out.write_bytes(b"previous workbook")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n")
    assert run("plan", bad, "--out", out).exit_code == 2
    assert out.read_bytes() == b"previous workbook"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_missing_output_folder_is_exit_2(tmp_path):
    result = run("plan", BASE, "--out", tmp_path / "nope" / "p.xlsx")
    assert result.exit_code == 2
    assert (
        result.output == f"error: {tmp_path / 'nope' / 'p.xlsx'}: output folder {tmp_path / 'nope'} does not "
        "exist; create it first\n"
    )


def test_compare_json_is_each_plan_json():
    files = [BASE, ROOT / "budgets" / "h20-license-refused.yaml"]
    result = run("compare", *files, "--format", "json")
    assert result.exit_code == 0
    got = json.loads(result.output)["scenarios"]
    assert got == [json.loads(run("plan", f, "--format", "json").output) for f in files]


def test_compare_table_workbook_and_what_renting_abroad_adds(tmp_path):
    out = tmp_path / "cmp.xlsx"
    result = run("compare", CN_ONLY, BASE, "--out", out, columns=200)
    assert result.exit_code == 0
    for text in (
        "Domestic share of all PFLOPS",
        "PFLOPS leased",
        "PFLOPS at site my-johor",
        "Policy: category domestic compute share within country CN",
        "buyer.headquarters",
        "sites[1].pue",
    ):
        assert text in result.output
    assert "000000000.0" not in result.output  # money in the input differences as money
    assert "_usd" not in result.output.split("What differs")[0]  # labels, not JSON keys
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Comparison", "Input differences", "cn-only-7b", "base-7b"]
    labels = [c.value for c in wb["Comparison"]["A"]][1:]
    assert labels[:5] == [
        "Status",
        "Capex",
        "Lease commitments",
        "Electricity",
        "Effective PFLOPS (last quarter)",
    ]
    frame = compare([CN_ONLY, BASE])
    assert frame.loc["base-7b", "effective_pflops"] > frame.loc["cn-only-7b", "effective_pflops"]
    assert frame.plans["base-7b"].scenario == "base-7b" and "plan" not in frame.columns
    html = frame._repr_html_()
    assert "$2.10B" in html and "e+09" not in html
    assert frame.loc["cn-only-7b", "lease_usd"] == 0 and frame.loc["base-7b", "lease_usd"] > 0


def test_compare_the_same_file_twice_keeps_two_columns(tmp_path):
    out = tmp_path / "twice.xlsx"
    result = run("compare", CN_ONLY, CN_ONLY, "--format", "json", "--out", out)
    assert len(json.loads(result.output)["scenarios"]) == 2
    names = openpyxl.load_workbook(out).sheetnames
    assert len(names) == 4 and len({n.lower() for n in names}) == 4
    frame = compare([CN_ONLY, CN_ONLY])
    assert len(frame) == 2 and len(set(frame.index)) == 2


def test_sweep_returns_a_frame_with_the_plans_and_never_falls():
    scenario = load_scenario(CN_ONLY)
    frame = sweep(scenario, ["1B", "4B", 7e9, "10,000,000,000"])
    assert list(frame["total_usd"]) == [1e9, 4e9, 7e9, 1e10]
    pflops = list(frame["effective_pflops"])
    assert all(b >= a - 1e-6 for a, b in zip(pflops, pflops[1:], strict=False))
    assert frame.plans[2].totals["effective_pflops"] == pytest.approx(pflops[2])
    assert "plan" not in frame.columns  # plans ride in .plans, not in a column of objects
    shown = repr(frame)
    assert "$7.00B" in shown and "e+09" not in shown  # money printed as money
    single = solve(with_budget(scenario, 4e9)).totals
    assert frame.loc[1, "effective_pflops"] == pytest.approx(single["effective_pflops"], rel=1e-4)
    assert "fleet_pflops" in frame.columns and frame.loc[0, "fleet_pflops"] > 0


def test_sweep_scales_per_period_budgets():
    s = with_budget(load_scenario(BASE), 3.5e9)
    assert s.budget.total_usd == 3.5e9
    assert s.budget.per_period_usd == {"2025Q1": 1e9, "2025Q2": 1e9, "2025Q3": 0.75e9, "2025Q4": 0.75e9}


def test_sweep_cli_json_plot_workbook_and_the_same_plans_with_two_jobs(tmp_path):
    png, book = tmp_path / "f.png", tmp_path / "s.xlsx"
    one = run("sweep", BASE, "--budget", "2B:8B:4", "--format", "json", "--plot", png, "--out", book)
    assert one.exit_code == 0, one.output
    points = json.loads(one.output)["points"]
    assert [p["total_usd"] for p in points] == [2e9, 4e9, 6e9, 8e9]
    assert (
        set(points[0]) == {"total_usd", "status", "totals", "mix_pflops", "per_pflops"}
        and "fleet" in points[0]["mix_pflops"]
    )
    assert all(
        set(p["per_pflops"]) == {"capex_per_bought_pflops_usd", "lease_per_leased_pflops_usd"} for p in points
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sheet = openpyxl.load_workbook(book)["Sweep"]
    assert sheet.max_row == 5
    heads = [c.value for c in sheet[1]]  # the glossary's names, not JSON keys
    assert (
        heads[0] == "Total budget (USD)" and "Lease commitments (USD)" in heads and "capex_usd" not in heads
    )
    # two jobs give the same plans (the CLI's --jobs 2 runs in test_hostile's interrupt test)
    frames = [sweep(load_scenario(CN_ONLY), parse_range("1B:9B:5"), jobs=j) for j in (1, 2)]
    assert sweep_points(frames[0]) == sweep_points(frames[1])
    assert [list(p.servers) for p in frames[0].plans.values()] == [
        list(p.servers) for p in frames[1].plans.values()
    ]


@pytest.mark.parametrize("text", ["1B:2B", "x:2B:3", "5B:1B:3", "1B:2B:0"])
def test_sweep_bad_range(text):
    result = run("sweep", BASE, "--budget", text)
    assert result.exit_code == 2 and result.output.startswith("error: key --budget:")


REPORTS = [
    ["plan", BASE],
    ["plan", CN_ONLY],
    ["plan", ROOT / "budgets" / "min-cost-targets.yaml"],
    ["explain", CN_ONLY],
    ["compare", CN_ONLY, BASE],
    ["sweep", CN_ONLY, "--budget", "2B:6B:3"],
    ["stress", BASE, "--shocks", SHOCKS, "--no-robust"],
    ["risk", BASE, "--shocks", RISK, "--samples", "4", "--workers", "1"],
    ["catalog", "show"],
    ["catalog", "compliance", "--destination", "CN", "--date", "2025-06-01"],
    ["catalog", "timeline", "--destination", "CN"],
]
WIDER = [100, 120, 200]


@pytest.mark.parametrize("index", range(len(REPORTS)), ids=lambda i: f"{REPORTS[i][0]}-{i}")
def test_every_report_fits_the_terminal(index):
    # every report at 80 columns, and at one wider width taken in turn (each width for several
    # commands), so every command and every width is seen without solving each case four times
    cmd = REPORTS[index]
    for width in (80, WIDER[index % len(WIDER)]):
        result = run(*cmd, columns=width)
        assert result.exit_code == 0, (cmd, result.output)
        long = [line for line in result.output.splitlines() if len(line) > width]
        assert not long, (cmd, width, long[:3])


def test_the_report_says_what_it_assumed_and_what_depends_on_licences(tiny):
    rule = {
        "id": "lic",
        "origins": ["US"],
        "destinations": ["CN"],
        "effective": "2020-01-01",
        "status": "license-required",
        "skus": ["u"],
        "license": {"fee_pct": 10},
    }
    path = tiny(
        [chip("u", origin="US", vendor="N")],
        [offer("u", "2025Q1", max_units=2)],
        rules=[rule],
        budget={"total_usd": 1e6},
        policy={"allow_license_required": True},
        sites=[
            {"name": "home", "country": "CN"},
            {"name": "away", "country": "MY", "capacity_mw": {"2025Q1": 0}},
        ],
    )
    out = run("plan", path, columns=120).output
    assert "$2,200 of the plan (2 chips) depends on licences under lic." in out
    assert (
        "Compliance assumes a buyer headquartered in CN (the first site's country (no buyer given))." in out
    )
    assert "No export rule names MY: every chip is treated as allowed there." in out


def test_signed_money_in_words():
    from planner.outputs.render import signed_money

    assert signed_money(1.39e9) == "costs $1.39B more" and signed_money(-1.39e9) == "saves $1.39B"
    assert signed_money(0.0) == "no change"


def test_plan_repr_is_one_line():
    plan = solve(CN_ONLY)
    assert "\n" not in repr(plan) and repr(plan).startswith("Plan('cn-only-7b', max-compute, optimal")


def test_compare_measures_a_policy_share_as_the_policy_does():
    # base-7b: domestic compute at least 30% within CN; over all capacity (leases abroad in) it is 8%
    row = compare([BASE]).loc["base-7b"]
    assert row["policy_share:category domestic compute share within country CN"] >= 0.3 - 1e-9
    assert row["domestic_compute_share"] < 0.1


def test_compare_rows_come_in_a_fixed_order_with_labels():
    from planner.analyses.analysis import comparison_metrics, metric_label

    metrics = comparison_metrics(compare([CN_ONLY, BASE]))
    keys = list(metrics.index)
    assert keys[:4] == ["status", "capex_usd", "lease_usd", "opex_usd"]
    spends = [k for k in keys if k.startswith("spend_")]
    assert spends == sorted(spends, key=str.lower)
    assert keys.index(spends[-1]) < keys.index("kind_buy_pflops") < keys.index("country_CN_pflops")
    assert metric_label("spend_NVIDIA_usd") == "Spend with NVIDIA"
    assert metric_label("kind_lease_pflops") == "PFLOPS leased"
    assert metric_label("site_leased_pflops") == "PFLOPS leased (no site)"
    assert metric_label("domestic_chips") == "Chips bought, domestic"
    assert metric_label("full-spec_leased_chips") == "Chips leased, full-spec"


def test_the_frontier_labels_commitments_where_the_budget_stops_binding():
    from planner.outputs.charts import commitment_labels

    def point(budget, capex, lease, pflops):
        return {
            "total_usd": budget,
            "totals": {"capex_usd": capex, "lease_usd": lease, "effective_pflops": pflops},
        }

    points = [
        point(2e9, 1.5e9, 0.5e9, 1000),  # binds: capex and leases make the budget
        point(4e9, 1e9, 2e9, 2000),  # $3B of $4B: leases count
        point(5e9, 1e9, 2e9, 2000),  # the same $3B: not said twice
        point(6e9, 1e9, 2.5e9, 2100),  # a new amount, the last one
    ]
    assert commitment_labels(points) == [
        (4.0, 2.0, "commits $3.0B"),
        (6.0, 2.1, "commits $3.5B from here on"),
    ]


@pytest.mark.parametrize("command", [["plan", BASE], ["compare", CN_ONLY, BASE]])
def test_reports_have_no_trailing_spaces(command):
    result = run(*command, columns=80)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) > 20 and all(line == line.rstrip() for line in lines)


def test_a_narrow_terminal_splits_tables_and_drops_no_column():
    """At 80 columns the schedule is split into parts that repeat Order and SKU: every header is still
    shown, no line is wider than the terminal, and no SKU is broken over two lines."""
    narrow = run("plan", BASE, columns=80).output
    wide = run("plan", BASE, columns=250).output
    for header in ("Delivery", "Kind", "Site / country", "Channel", "Unit price", "Cost", "Status", "Term"):
        assert header in narrow and header in wide
    assert "(continued)" in narrow and "(continued)" not in wide
    assert max(len(line) for line in narrow.splitlines()) <= 80
    skus = {r["sku"] for r in json.loads(run("plan", BASE, "--format", "json").output)["purchases"]}
    rows = [line for line in narrow.splitlines() if line.startswith(" 2025Q")]
    for sku in skus:
        assert any(sku in line for line in rows)
    assert not any(line.rstrip().endswith(("cambricon-mlu59", "huawei-ascend-9")) for line in rows)


def test_purchase_terms_are_nullable_integers():
    """A lease's term is a whole number of quarters and a purchase has none: Int64 with <NA>, not
    floats with NaN."""
    purchases = solve(BASE).purchases
    assert str(purchases["term_quarters"].dtype) == "Int64"
    leases = purchases[purchases["kind"] == "lease"]["term_quarters"]
    buys = purchases[purchases["kind"] == "buy"]["term_quarters"]
    assert len(leases) and leases.notna().all() and set(leases) <= {4, 8, 12}
    assert len(buys) and buys.isna().all()


def test_cost_per_pflops_has_one_definition_in_plan_compare_and_sweep():
    """Capex per bought PFLOPS and lease commitment per leased PFLOPS: the same figures, by the same
    names, in the plan report, compare and sweep (the sweep used to divide all spend by all PFLOPS)."""
    from planner.outputs.report import figures

    plan = solve(BASE)
    per = figures(plan)
    assert per.capex_per_purchased_pflops == pytest.approx(
        plan.totals["capex_usd"] / (per.effective_pflops - per.fleet_pflops - per.leased_pflops)
    )
    row = compare([BASE]).loc["base-7b"]
    swept = sweep(load_scenario(BASE), ["7B"]).iloc[0]
    for key, value in (
        ("capex_per_bought_pflops_usd", per.capex_per_purchased_pflops),
        ("lease_per_leased_pflops_usd", per.lease_per_leased_pflops),
    ):
        assert row[key] == pytest.approx(value) and swept[key] == pytest.approx(value, rel=1e-3)
    report = run("plan", BASE, columns=200).output
    table = run("sweep", BASE, "--budget", "6B:8B:3", columns=250).output
    for label in ("Capex per bought PFLOPS", "Lease commitment per leased PFLOPS"):
        assert label in report
    assert (
        "Capex per bought PFLOPS" in table
        and "Lease commitment per leased PFLOPS" in table
        and "$/PFLOPS" not in table
    )


def test_plot_on_plan_and_compare_and_json_out_everywhere(tmp_path):
    """--plot draws on plan and compare as on sweep, stress and risk; --out takes .json wherever a
    command prints JSON, and writes exactly what --format json prints."""
    for command in (["plan", BASE], ["compare", CN_ONLY, BASE]):
        png = tmp_path / f"{command[0]}.png"
        result = run(*command, "--plot", png)
        assert result.exit_code == 0, result.output
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = run("compare", CN_ONLY, "--plot", tmp_path / "c.svg")
    assert bad.exit_code == 2 and "unknown output type '.svg'; use .png" in bad.output
    for command in (
        ["compare", CN_ONLY, BASE],
        ["sweep", BASE, "--budget", "6B:7B:2"],
        ["stress", BASE, "--shocks", SHOCKS, "--no-robust"],
    ):
        out = tmp_path / f"{command[0]}.json"
        written = run(*command, "--out", out)
        assert written.exit_code == 0, written.output
        printed = run(*command, "--format", "json")
        assert json.loads(out.read_text()) == json.loads(printed.output)


def test_compare_on_two_local_workers_gives_the_same_plans():
    one = compare([CN_ONLY, BASE])
    two = compare([CN_ONLY, BASE], workers=2)
    assert list(two.index) == list(one.index)
    for label in one.index:
        assert one.plans[label].to_dict() == two.plans[label].to_dict()


def test_a_sentence_as_the_row_key_wraps_so_the_other_columns_still_show():
    """explain's rows are named by sentences: at 80 columns the sentence wraps within half the width
    and the figures beside it (dual, LP and MILP re-solves) are all shown, none squeezed to nothing."""
    from planner.outputs.render import Col, TrimmedConsole, table

    con = TrimmedConsole(width=80, highlight=False, markup=False, emoji=False, file=io.StringIO())
    limit = "extra 1,000 chips of huawei-ascend-910b buy via oem-distributor in 2025Q1"
    cols = [Col("Limit moved"), Col("Unit"), Col("Dual", True), Col("LP re-solved", True), Col("MILP", True)]
    con.print(
        table(con, "Marginal values", cols, [(limit, "PFLOPS per 1,000 chips", "21.15", "21.15", "20.90")])
    )
    text = con.file.getvalue()
    assert all(h in text for h in ("Dual", "LP re-solved", "MILP", "21.15", "20.90"))
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "huawei-ascend-910b" in text  # wrapped at spaces, not broken inside a word


def test_compare_counts_bought_and_leased_chips_apart():
    """base-7b buys no full-spec chip: its 177,932 rented ones are chips leased, not chips bought."""
    row = compare([BASE]).loc["base-7b"]
    assert "full-spec_chips" not in row.index or row.isna()["full-spec_chips"]
    assert row["full-spec_leased_chips"] == row["leased_chips"] == 177932
    assert row["domestic_chips"] == row["chips"]
