"""Workbooks, CSV and JSON files, comparisons and sweeps: read back and checked against the plan."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import ROOT, chip, offer

from planner.analysis import parse_range, sweep, with_budget
from planner.cli import main
from planner.plan import solve
from planner.scenario import load_scenario

BASE = ROOT / "budgets" / "base-7b.yaml"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def base_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "base.xlsx"
    result = run("plan", BASE, "--out", out, "--format", "json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def test_workbook_sheets_and_schedule_add_up_to_the_cent(base_book):
    path, plan = base_book
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Schedule", "Capacity", "Spend", "Compliance", "Inputs"]
    ws = wb["Schedule"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    assert len(rows) == len(plan["purchases"])
    assert sum(r["chips"] for r in rows) == plan["totals"]["chips"]
    assert round(sum(r["cost_usd"] for r in rows), 2) == plan["totals"]["capex_usd"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref is not None
    assert ws.cell(2, header.index("cost_usd") + 1).number_format == '"$"#,##0.00'
    assert ws.cell(2, header.index("chips") + 1).number_format == "#,##0"


def test_workbook_capacity_spend_and_summary_match_the_plan(base_book):
    path, plan = base_book
    wb = openpyxl.load_workbook(path)
    cap = wb["Capacity"]
    header = [c.value for c in cap[1]]
    last = [c.value for c in cap[cap.max_row]]
    assert last[header.index("total_pflops")] == pytest.approx(plan["totals"]["effective_pflops"], abs=1e-6)
    parts = sum(last[i] for i, h in enumerate(header) if h.endswith("_pflops") and h != "total_pflops")
    assert parts == pytest.approx(plan["totals"]["effective_pflops"], rel=1e-12)
    spend = wb["Spend"]
    header = [c.value for c in spend[1]]
    cum = [r[header.index("cumulative_spend_usd")].value for r in spend.iter_rows(min_row=2)]
    assert cum[-1] == pytest.approx(plan["totals"]["capex_usd"], abs=0.01)
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows(min_row=4)}
    assert summary["status"] == "optimal" and summary["capex (USD)"] == plan["totals"]["capex_usd"]
    assert any(k.startswith("sha256 of") and k.endswith("base-7b.yaml") for k in summary)
    compliance = {r[2].value: [c.value for c in r] for r in wb["Compliance"].iter_rows(min_row=2)}
    assert compliance["nvidia-h20"][7:11] == ["allowed", "allowed", "license-required", "license-required"]
    inputs = {r[0].value: (r[1].value, r[2].value) for r in wb["Inputs"].iter_rows(min_row=2)}
    assert inputs["budget.total_usd"] == (7e9, "USD")


def test_workbook_has_native_charts(base_book):
    path, _ = base_book
    names = zipfile.ZipFile(path).namelist()
    assert sum(n.startswith("xl/charts/chart") for n in names) == 2


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_workbook(base_book, tmp_path):
    path, _ = base_book
    subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=180)
    assert (tmp_path / "base.pdf").stat().st_size > 1000


def test_formula_text_from_inputs_stays_inert(tiny, tmp_path):
    path = tiny([chip("a", model="=HYPERLINK(\"http://x\",\"y\")")],
                [offer("a", "2025Q1", channel="+cmd|' /C calc'!A0")], budget={"total_usd": 5000},
                name="@evil")
    book, csv_out = tmp_path / "p.xlsx", tmp_path / "p.csv"
    assert run("plan", path, "--out", book).exit_code == 0
    assert run("plan", path, "--out", csv_out).exit_code == 0
    ws = openpyxl.load_workbook(book)["Schedule"]
    header = [c.value for c in ws[1]]
    model_cell, channel_cell = ws.cell(2, header.index("model") + 1), ws.cell(2, header.index("channel") + 1)
    assert model_cell.data_type == "s" and model_cell.value.startswith("=HYPERLINK")
    assert channel_cell.data_type == "s" and channel_cell.value.startswith("+cmd")
    summary = openpyxl.load_workbook(book)["Summary"]
    assert summary.cell(4, 2).data_type == "s" and summary.cell(4, 2).value == "@evil"
    line = csv_out.read_text().splitlines()[1]
    assert ",'=HYPERLINK(" in line.replace('"', "") and ",'+cmd|" in line


def test_csv_and_json_out_match_stdout(tmp_path):
    j, c = tmp_path / "p.json", tmp_path / "p.csv"
    assert run("plan", BASE, "--out", j).exit_code == 0
    assert run("plan", BASE, "--out", c).exit_code == 0
    assert j.read_text() == run("plan", BASE, "--format", "json").output
    assert c.read_text() == run("plan", BASE, "--format", "csv").output


def test_failed_plan_leaves_an_existing_file_alone(tiny, tmp_path):
    out = tmp_path / "keep.xlsx"
    out.write_bytes(b"previous workbook")
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=1)], objective="min-cost",
                targets={"2025Q1": {"pflops": 5}})
    result = run("plan", path, "--out", out)
    assert result.exit_code == 1
    assert out.read_bytes() == b"previous workbook"
    assert f"{out} not written" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [\n")
    assert run("plan", bad, "--out", out).exit_code == 2
    assert out.read_bytes() == b"previous workbook"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_missing_output_folder_is_exit_2(tmp_path):
    result = run("plan", BASE, "--out", tmp_path / "nope" / "p.xlsx")
    assert result.exit_code == 2
    assert result.output == f"error: {tmp_path / 'nope' / 'p.xlsx'}: output folder {tmp_path / 'nope'} does not " \
                            "exist; create it first\n"


def test_compare_json_is_each_plan_json():
    files = [ROOT / "budgets" / f for f in ("base-7b.yaml", "h20-license-refused.yaml")]
    result = run("compare", *files, "--format", "json")
    assert result.exit_code == 0
    got = json.loads(result.output)["scenarios"]
    assert got == [json.loads(run("plan", f, "--format", "json").output) for f in files]


def test_compare_table_and_workbook(tmp_path):
    files = [ROOT / "budgets" / f for f in ("base-7b.yaml", "tight-5b.yaml")]
    out = tmp_path / "cmp.xlsx"
    result = run("compare", *files, "--out", out)
    assert result.exit_code == 0
    assert "domestic_compute_share" in result.output and "budget.total_usd" in result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Comparison", "Input differences", "base-7b", "tight-5b"]


def test_sweep_matches_single_plans_and_never_falls():
    scenario = load_scenario(BASE)
    budgets = parse_range("1B:10B:6")
    points = sweep(scenario, budgets)
    assert [p["total_usd"] for p in points] == budgets
    pflops = [p["totals"]["effective_pflops"] for p in points]
    assert all(b >= a - 1e-6 for a, b in zip(pflops, pflops[1:]))
    for budget, point in zip(budgets[::2], points[::2]):
        single = solve(with_budget(scenario, budget)).to_dict()["totals"]
        assert point["totals"]["effective_pflops"] == pytest.approx(single["effective_pflops"], rel=1e-4)


def test_sweep_scales_per_period_budgets():
    s = with_budget(load_scenario(BASE), 3.5e9)
    assert s.budget.total_usd == 3.5e9
    assert s.budget.per_period_usd == {"2025Q1": 1e9, "2025Q2": 1e9, "2025Q3": 0.75e9, "2025Q4": 0.75e9}


def test_sweep_cli_json_plot_workbook_and_jobs(tmp_path):
    png, book = tmp_path / "f.png", tmp_path / "s.xlsx"
    one = run("sweep", BASE, "--budget", "2B:8B:4", "--format", "json", "--plot", png, "--out", book)
    assert one.exit_code == 0, one.output
    points = json.loads(one.output)["points"]
    assert [p["total_usd"] for p in points] == [2e9, 4e9, 6e9, 8e9]
    assert set(points[0]) == {"total_usd", "status", "totals", "mix_pflops"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert openpyxl.load_workbook(book)["Sweep"].max_row == 5
    two = run("sweep", BASE, "--budget", "2B:8B:4", "--format", "json", "--jobs", "2")
    assert json.loads(two.output)["points"] == points


@pytest.mark.parametrize("text", ["1B:2B", "x:2B:3", "5B:1B:3", "1B:2B:0"])
def test_sweep_bad_range(text):
    result = run("sweep", BASE, "--budget", text)
    assert result.exit_code == 2 and result.output.startswith("error: key --budget:")
