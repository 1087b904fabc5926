"""Hostile options, outputs over inputs, inert text, faults and signals (issue 15).

Input-file cases live in the corpus of ``test_errors.py``; this module drives the command line
as an unlucky operator or an attacker would and checks that nothing is lost or misread.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, chip, lease, make_catalog, offer

from planner.cli import main

BASE = str(ROOT / "budgets" / "base-7b.yaml")
TIGHT = str(ROOT / "budgets" / "tight-5b.yaml")


def run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A two-chip catalog and a scenario in tmp_path (the working folder)."""
    make_catalog(
        tmp_path / "cat",
        [chip("a"), chip("b", vendor="W")],
        [offer("a", "2025Q1"), offer("b", "2025Q2", channel="oem")],
    )
    scenario = {
        "name": "s",
        "catalog": "cat",
        "destination": "CN",
        "periods": ["2025Q1", "2025Q2"],
        "objective": "max-compute",
        "budget": {"total_usd": "60K"},
    }
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--time-limit", "nan"],
            "error: Invalid value for '--time-limit': expected a finite number, got 'nan' (see main plan --help)",
        ),
        (
            ["--mip-gap", "nan"],
            "error: Invalid value for '--mip-gap': expected a finite number, got 'nan' (see main plan --help)",
        ),
        (
            ["--time-limit", "inf"],
            "error: Invalid value for '--time-limit': expected a finite number, got 'inf' (see main plan --help)",
        ),
        (
            ["--max-time", "0"],
            "error: Invalid value for '--max-time': must be > 0, got '0' (see main plan --help)",
        ),
        (
            ["--time-limit", "1_000"],
            "error: Invalid value for '--time-limit': expected a number (ASCII digits, '.' for decimals, ',' only "
            "between groups of three), got '1_000' (see main plan --help)",
        ),
    ],
)
def test_option_numbers_are_finite_and_plain(small, args, message):
    assert one_error_line(run("plan", "s.yaml", *args)) == message


@pytest.mark.parametrize(
    "budget, message",
    [
        (
            "1K:1M:1000000000000",
            "error: key --budget: 1000000000000 points is more than the 10,000 a sweep may have; give a smaller N",
        ),
        (
            "\uff11K:1M:3",
            "error: key --budget: expected an amount of USD such as 7B, 250M or 7e9 (ASCII digits, '.' for "
            "decimals, ',' only between groups of three), got '\uff11K' in '\uff11K:1M:3' (expected FROM:TO:N "
            "such as 3B:10B:8)",
        ),
        (
            "1_000:2K:2",
            "error: key --budget: expected an amount of USD such as 7B, 250M or 7e9 (ASCII digits, '.' for "
            "decimals, ',' only between groups of three), got '1_000' in '1_000:2K:2' (expected FROM:TO:N such "
            "as 3B:10B:8)",
        ),
        (
            "1K:2K:2.5",
            "error: key --budget: N must be a whole number, got '2.5' in '1K:2K:2.5' (expected FROM:TO:N such as "
            "3B:10B:8)",
        ),
    ],
)
def test_sweep_ranges_are_checked_and_capped(small, budget, message):
    assert one_error_line(run("sweep", "s.yaml", "--budget", budget)) == message


def test_jobs_are_capped_at_the_cpu_count(small):
    from planner.analyses.parallel import usable_jobs

    assert usable_jobs(10**9) == len(os.sched_getaffinity(0))
    assert usable_jobs(0) == 1
    result = run("sweep", "s.yaml", "--budget", "10K:60K:3", "--jobs", "1000000", "--format", "json")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- outputs never overwrite inputs


@pytest.mark.parametrize(
    "target",
    ["cat/offers.csv", "./cat/../cat/offers.csv", "link.csv"],
)
def test_out_may_not_replace_a_catalog_file(small, target):
    (small / "link.csv").symlink_to(small / "cat" / "offers.csv")
    before = digest(small)
    line = one_error_line(run("plan", "s.yaml", "--out", target))
    offers = small.resolve() / "cat" / "offers.csv"
    assert line == (
        f"error: --out {Path(target)} is the input file {offers}; the command reads it, so write the "
        "output elsewhere"
    )
    assert digest(small) == before


def test_out_may_not_replace_the_scenario(small):
    (small / "s.json").write_text((small / "s.yaml").read_text())  # YAML is read as is: valid here
    before = digest(small)
    line = one_error_line(run("plan", "s.json", "--out", "s.json"))
    assert line == (
        "error: --out s.json is the input file s.json; the command reads it, so write the output elsewhere"
    )
    assert digest(small) == before


def test_write_model_and_stress_outputs_are_guarded(small):
    (small / "m.lp").symlink_to(small / "cat" / "export_rules.yaml")
    line = one_error_line(run("plan", "s.yaml", "--write-model", "m.lp"))
    assert line.startswith("error: --write-model m.lp is the input file ")
    shocks = small / "shocks.png"
    shocks.write_text("name: x\nshocks:\n  - {name: cut, quarter: 2025Q2, budget_cut: {fraction: 0.5}}\n")
    line = one_error_line(run("stress", "s.yaml", "--shocks", "shocks.png", "--plot", "shocks.png"))
    assert line.startswith("error: --plot shocks.png is the input file shocks.png")


EPOCH_ROWS = (
    "Hardware name,Manufacturer,Tensor-FP16/BF16 performance (FLOP/s),Memory (bytes),"
    "Memory bandwidth (byte/s),TDP (W)\nChip X,NVIDIA,2e14,6.4e10,2e12,300\n"
)


def test_import_epoch_refuses_a_folder_with_files_unless_forced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    epoch = tmp_path / "epoch.csv"
    epoch.write_text(EPOCH_ROWS)
    out = tmp_path / "cat"
    out.mkdir()
    (out / "chips.csv").write_text("keep me\n")
    line = one_error_line(run("catalog", "import-epoch", epoch, "--out", out))
    assert line == (
        f"error: {out}, key --out: already holds files; give an empty or new folder, or --force to replace its "
        "catalog files"
    )
    assert (out / "chips.csv").read_text() == "keep me\n"
    assert run("catalog", "import-epoch", epoch, "--out", out, "--force").exit_code == 0
    assert (out / "chips.csv").read_text().startswith("sku,")


def test_import_epoch_may_not_replace_its_own_source(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    epoch = tmp_path / "epoch.csv"
    epoch.write_text(EPOCH_ROWS)
    (tmp_path / "cat").mkdir()
    source = tmp_path / "cat" / "chips.csv"
    source.write_bytes(epoch.read_bytes())
    line = one_error_line(run("catalog", "import-epoch", source, "--out", "cat", "--force"))
    assert line.startswith("error: --out cat/chips.csv is the input file ")
    assert source.read_bytes() == epoch.read_bytes()


# ---------------------------------------------------------------- text from inputs is inert

HOSTILE_NAME = "[link=file:///etc/passwd]x[/link] [/] [/bold] $\\undefinedmacro{x}$ =cmd|' /C calc'!A0 \x1b[2J\x1b]0;pwned\x07"


def hostile_scenario(folder: Path, name: str = HOSTILE_NAME) -> Path:
    data = yaml.safe_load(Path(TIGHT).read_text())
    data["name"] = name
    data["catalog"] = str(ROOT / "catalogs" / "default")
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_names_are_shown_escaped_and_never_as_markup(tmp_path):
    from rich.console import Console

    from planner.outputs.render import plan_report
    from planner.plans.plan import solve

    plan = solve(hostile_scenario(tmp_path))
    con = Console(width=100, force_terminal=True, markup=False, highlight=False, record=True)
    with con.capture() as cap:
        plan_report(plan, con)
    text = cap.get()
    shown = re.sub(r"\x1b\[[0-9;]*m", "", text)  # the report's own styles
    assert "\x1b]" not in text and "\x07" not in text and "\x1b[2J" not in text  # no title, bell, clear, link
    assert "\\x1b[2J\\x1b]0;pwned\\x07" in shown and "[link=file:///etc/passwd]x[/link] [/] [/bold]" in shown


def test_hostile_names_survive_every_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = hostile_scenario(tmp_path)
    result = run("plan", path, "--out", "p.xlsx")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\\x1b[2J" in result.output
    result = run("sweep", path, "--budget", "3B:5B:2", "--plot", "f.png", "--out", "sw.xlsx")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    with zipfile.ZipFile(tmp_path / "sw.xlsx") as z:
        chart = z.read("xl/charts/chart1.xml").decode()
    title = chart[chart.index("<c:title>") : chart.index("</c:title>")]
    assert "<c:f>" not in title and "calc&apos;!\u200bA0" in title.replace("'", "&apos;")


def test_csv_text_with_a_formula_after_a_separator_is_neutralised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_catalog(tmp_path / "cat", [chip("x;=1+5;", vendor="V;=1+6;")], [offer("x;=1+5;", "2025Q1")])
    scenario = {"name": "s", "catalog": "cat", "destination": "CN", "periods": ["2025Q1"]}
    scenario |= {"objective": "max-compute", "budget": {"total_usd": "10K"}}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    result = run("plan", "s.yaml", "--format", "csv")
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1]
    # quoting alone does not protect a field opened with ";" as the separator (OWASP's example)
    assert ',"\'x;=1+5;","\'V;=1+6;",' in row


@pytest.mark.parametrize(
    "text, safe",
    [
        ("x;=1+5;", "'x;=1+5;"),
        ("a|@SUM(1)", "'a|@SUM(1)"),
        ("a,\t+1", "'a,\t+1"),
        ("=1", "'=1"),
        ("nvidia-h100-sxm", "nvidia-h100-sxm"),
        ("a - b", "a - b"),
        ("2025Q1", "2025Q1"),
    ],
)
def test_safe_cell_neutralises_a_formula_trigger_after_any_separator(text, safe):
    from planner.outputs.export import safe_cell

    assert safe_cell(text) == safe


def test_csv_schedule_has_empty_cells_not_nan_and_whole_terms(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1), lease("a", "2025Q1", term_quarters=3, max_units=1)],
        sites=[{"name": "home", "country": "CN"}],
        budget={"total_usd": 4000},
    )
    result = run("plan", str(path), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "nan" not in result.output and "3.0" not in result.output
    header, *rows = result.output.splitlines()
    cols = header.replace('"', "").split(",")
    by_kind = {r.split(",")[cols.index("kind")]: r.split(",") for r in rows}
    assert by_kind['"buy"'][cols.index("term_quarters")] == '""'
    assert by_kind['"lease"'][cols.index("term_quarters")] == "3"
    assert by_kind['"lease"'][cols.index("site")] == '""'


def test_compare_sheet_names_are_unique_whatever_the_scenario_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    paths = []
    for folder, name in (("a", "Comparison"), ("b", "abc"), ("c", "ABC")):
        (tmp_path / folder).mkdir()
        paths.append(hostile_scenario(tmp_path / folder, name))
    result = run("compare", *paths, "--out", "c.xlsx")
    assert result.exit_code == 0, result.output
    names = [n.lower() for n in openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames]
    assert len(names) == len(set(names)) and all(len(n) <= 31 for n in names)


# ---------------------------------------------------------------- faults


def test_a_full_disk_is_one_line_and_leaves_nothing(small, monkeypatch):
    (small / "p.json").write_text("old\n")
    real = os.replace

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    line = one_error_line(run("plan", "s.yaml", "--out", "p.json", "--format", "json"), code=1)
    monkeypatch.setattr(os, "replace", real)
    assert line == "error: p.json: cannot write (No space left on device); nothing was written"
    assert (small / "p.json").read_text() == "old\n"
    assert sorted(p.name for p in small.iterdir()) == ["cat", "p.json", "s.yaml"]


def test_a_read_only_folder_is_one_line(small, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    line = one_error_line(run("plan", "s.yaml", "--out", "p.xlsx"), code=1)
    assert line == "error: p.xlsx: cannot write here (Read-only file system); nothing was written"


def test_standard_output_on_a_full_device(small):
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "planner.cli", "plan", "s.yaml", "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            cwd=small,
        )
    assert proc.returncode == 1
    assert proc.stderr == "error: cannot write the output (No space left on device)\n"


SLOW_WRITER = """
import sys, time
import planner.outputs.workbook as wb

def slow_close(self):
    self.wb.close()
    self.path.write_bytes(self.buffer.getvalue()[:100])  # part of the file, then a long pause
    time.sleep(60)

wb.Book.close = slow_close
from planner.cli import main
sys.argv = ["gpuplan", "plan", sys.argv[1], "--out", sys.argv[2]]
main()
"""


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_signal_while_writing_removes_the_temporary_file_and_keeps_the_old_output(tmp_path, sig, code):
    out = tmp_path / "p.xlsx"
    out.write_bytes(b"the previous workbook")
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, TIGHT, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".p.xlsx.*.tmp")) or not any(
        p.stat().st_size for p in tmp_path.glob(".*.tmp")
    ):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    name = signal.Signals(sig).name
    assert err == f"gpuplan: stopped by {name}; files being written were removed, existing files kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.xlsx"]
    assert out.read_bytes() == b"the previous workbook"


# ---------------------------------------------------------------- interrupts and time limits


@pytest.fixture(scope="module")
def hard(tmp_path_factory) -> Path:
    """A synthetic scenario that HiGHS needs tens of seconds for at gap 0."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import synthetic

    return synthetic.make(tmp_path_factory.mktemp("hard"), 200, 8, 16, objective="max-compute")


def group(pgid: int) -> list[int]:
    """The live processes of a process group."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "planner.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )


def test_ctrl_c_stops_a_solve_within_two_seconds(hard):
    proc = start(["plan", str(hard), "--mip-gap", "0", "--format", "json"])
    time.sleep(6)  # loaded, built, deep in branch and bound
    assert proc.poll() is None, "the solve finished before the interrupt: make the instance harder"
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    # HiGHS acts on the request between steps of its work: 0.09-1.99 s measured on a quiet machine
    # (benchmarks/interrupt.py); 2.07 s was seen once under the whole suite's load, hence the margin
    assert proc.returncode == 130 and took < 3.0, (proc.returncode, took, err)
    assert err == "gpuplan: stopped by SIGINT; files being written were removed, existing files kept\n"


def test_ctrl_c_stops_a_parallel_sweep_within_five_seconds(hard):
    proc = start(["sweep", str(hard), "--budget", "1B:4B:4", "--jobs", "2", "--mip-gap", "0"])
    deadline = time.monotonic() + 60
    while len(group(proc.pid)) < 3:  # the command and its two workers
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(3)  # the workers loaded and solving
    assert proc.poll() is None
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130 and took < 5.0, (proc.returncode, took)
    with pytest.raises(ProcessLookupError):  # no worker left behind
        for _ in range(50):
            os.killpg(proc.pid, 0)
            time.sleep(0.1)


def test_max_time_stops_a_sweep_with_one_line(hard):
    began = time.monotonic()
    proc = start(["sweep", str(hard), "--budget", "1B:4B:4", "--mip-gap", "0", "--max-time", "2"])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and time.monotonic() - began < 30
    assert err == "solver error: the --max-time ran out before the run finished; nothing was written\n"
    assert out == ""


# ---------------------------------------------------------------- products out of range


def test_a_coefficient_the_solver_would_take_as_infinite_is_refused_naming_its_inputs(tiny):
    # each input within its own limit; their product (1e9 x (1 + 1e9 / 100)) is 1e16
    rules = [
        {
            "id": "lic",
            "origins": ["US"],
            "destinations": ["CN"],
            "effective": "2024-01-01",
            "status": "license-required",
            "skus": ["a"],
            "license": {"fee_pct": 1e9},
        }
    ]
    path = tiny(
        [chip("a", origin="US")],
        [offer("a", "2025Q1", unit_price_usd=1e9, max_units=8)],
        rules,
        budget={"total_usd": "300K"},
        policy={"allow_license_required": True},
    )
    result = run("plan", str(path))
    assert result.exit_code == 2, result.output
    assert result.output.strip() == (
        "error: the coefficient of a via direct ordered in 2025Q1 (at CN) in 'total capex and lease "
        "commitments <= total budget' is 1e+16, beyond the 1e+15 the solver handles (unit_price_usd 1e+09 x "
        "(1 + fee_pct 1e+09 / 100) x chips_per_server 1); lower them"
    )


def test_a_solution_that_breaks_its_own_model_is_never_a_plan(tiny, monkeypatch):
    from planner.model import backends
    from planner.model.runs import RunResult, Status

    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=2)], budget={"total_usd": 2000})
    real = backends.HighsBackend.run

    def lying(self, sense, objective, mip=True, time_limit=None, start=None):
        out = real(self, sense, objective, mip, time_limit, start)
        if out.x is None:  # stage 2 cannot keep the lie's compute
            return out
        x = out.x.copy()
        x[: len(self.model.main.cols)] = 5.0  # 5 servers of an offer with 2 and $2000 of budget
        return RunResult(Status.OPTIMAL, x, out.seconds)

    monkeypatch.setattr(backends.HighsBackend, "run", lying)
    result = run("plan", str(path), "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)  # the reason also goes to stderr, on one line
    assert doc["status"] == "error" and doc["purchases"] == []
    assert doc["message"].startswith(
        "the solver returned a solution that breaks its own model (a via direct ordered in 2025Q1 (at CN) at 5 "
        "outside [0, 2]); it is not reported as a plan"
    )


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            {"term_quarters": 40000},
            "offers.csv, row 3, column term_quarters: must be a count of quarters from 1 to 400, got 40000",
        ),
        (
            {"lead_time_quarters": 40000},
            "offers.csv, row 3, column lead_time_quarters: must be a count of quarters from 0 to 400, got 40000",
        ),
    ],
)
def test_quarter_counts_are_bounded_at_load(tiny, edit, message):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1"), lease("a", "2025Q1", **edit)],
        sites=[{"name": "home", "country": "CN"}],
    )
    for args in (("catalog", "validate", path.parent / "cat"), ("plan", path)):
        result = run(*args)
        assert result.exit_code == 2, result.output
        assert message in result.output and "internal error" not in result.output


def test_a_licence_lag_past_the_limit_is_refused(tiny):
    rule = {
        "id": "r",
        "origins": ["CN"],
        "destinations": ["CN"],
        "effective": "2024-01-01",
        "status": "license-required",
        "skus": ["a"],
        "license": {"lag_quarters": 40000},
    }
    path = tiny([chip("a")], [offer("a", "2025Q1")], [rule])
    result = run("plan", path)
    assert result.exit_code == 2, result.output
    assert "key rules[0].license.lag_quarters: Input should be less than or equal to 400" in result.output


@pytest.mark.parametrize(
    "budget, expected",
    [
        ({}, [1.0, 2.0, 3.0]),
        # per-quarter budgets only: they scale with the total swept (1K: $500 in 2025Q1, less than a chip)
        ({"per_period_usd": {"2025Q1": 1000, "2025Q2": 1000}}, [0.0, 1.0, 1.0]),
    ],
)
def test_sweep_without_a_total_budget(tiny, budget, expected):
    from planner.analyses.analysis import sweep

    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=8)], budget=budget)
    frame = sweep(path, ["1K", "2K", "3K"])
    assert frame["effective_pflops"].tolist() == expected


@pytest.mark.parametrize(
    "shares, named",
    [
        (
            [
                {"by": "site", "value": "home", "measure": "compute", "min": 0.6},
                {"by": "site", "value": "away", "measure": "compute", "min": 0.6},
            ],
            "policy: these shares together ask for 120% of the compute, so only an empty plan meets them all: "
            "policy.shares[1] (site away compute >= 60%); policy.shares[0] (site home compute >= 60%)",
        ),
        (
            [
                {"by": "kind", "value": "buy", "measure": "spend", "min": 0.7},
                {"by": "kind", "value": "lease", "measure": "spend", "min": 0.7},
            ],
            "policy: these shares together ask for 140% of the spend, so only an empty plan meets them all: "
            "policy.shares[0] (kind buy spend >= 70%); policy.shares[1] (kind lease spend >= 70%)",
        ),
    ],
)
def test_contradictory_shares_are_named_when_they_allow_only_an_empty_plan(tiny, shares, named):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1"), lease("a", "2025Q1")],
        sites=[{"name": "home", "country": "CN"}, {"name": "away", "country": "MY"}],
        budget={"total_usd": 5000},
        policy={"shares": shares},
    )
    result = run("plan", path, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["status"] == "optimal" and doc["purchases"] == []
    assert doc["notes"] == [named]
    report = " ".join(run("plan", path).output.split())  # the report wraps long lines
    assert named in report


# ---------------------------------------------------------------- --scheduler


@pytest.mark.parametrize(
    "address", ["notanaddress", "tls://127.0.0.1:1", "tcp://[::1", "tcp://h:0", "tcp://h:1/x"]
)
@pytest.mark.parametrize("command", ["risk", "sweep", "compare"])
def test_a_malformed_scheduler_address_is_refused_before_any_solve(command, address, monkeypatch):
    from planner.model import backends

    def no_solve(*args, **kwargs):
        raise AssertionError("solved before the address was checked")

    monkeypatch.setattr(backends.HighsBackend, "run", no_solve)  # a class attribute: restored after the test
    extra = {
        "risk": ["--shocks", ROOT / "budgets" / "shocks" / "risk-2025.yaml", "--samples", "2"],
        "sweep": ["--budget", "5B:7B:2"],
        "compare": [TIGHT],
    }[command]
    line = one_error_line(run(command, BASE, *extra, "--scheduler", address))
    assert line == (
        f"error: key --scheduler: expected tcp://HOST:PORT (for example tcp://127.0.0.1:8786), got {address!r}"
    )


@pytest.mark.parametrize("answer", ["nothing", "garbage"])
def test_a_server_that_is_not_a_dask_scheduler_is_one_line_within_the_time_limit(answer, monkeypatch):
    import socket
    import threading

    import planner.analyses.sampling
    from planner.errors import InputError

    monkeypatch.setattr(planner.analyses.parallel, "CONNECT_SECONDS", 1.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    held = []

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        held.append(conn)  # never answers, or answers with what no Dask peer sends
        if answer == "garbage":
            conn.sendall(b"\xff" * 4096)

    threading.Thread(target=serve, daemon=True).start()
    begin = time.monotonic()
    try:
        with (
            pytest.raises(InputError) as err,
            planner.analyses.sampling.dask_client(scheduler=f"127.0.0.1:{port}"),
        ):
            pass
    finally:
        server.close()
        for conn in held:
            conn.close()
    assert time.monotonic() - begin < 5
    assert err.value.for_cli().startswith(
        f"key --scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:{port} within 1 s ("
    )


# ---------------------------------------------------------------- the Python API validates like the CLI


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda p: __import__("planner").sweep(p, "5000"),
            "key budgets: give a list of amounts such as ['5B', '7B']",
        ),
        (lambda p: __import__("planner").sweep(p, []), "key budgets: give at least one budget to sweep"),
        (lambda p: __import__("planner").compare([]), "key paths: give at least one scenario to compare"),
        (
            lambda p: __import__("planner").solve(p, options={"mip_gap": float("nan")}),
            "key mip_gap: must be >= 0 and <= 1, got nan",
        ),
        (
            lambda p: __import__("planner").solve(p, options={"mip_gap": 2}),
            "key mip_gap: must be >= 0 and <= 1, got 2",
        ),
        (lambda p: __import__("planner").solve(p, options={"gap": 2}), "key options: unknown option 'gap'"),
        (
            lambda p: __import__("planner").solve(p, options=3),
            "key options: expected SolverOptions or a dict",
        ),
        (
            lambda p: __import__("planner").solve(p, options={"solver": "gurobi"}),
            "key solver: unknown solver 'gurobi'; use one of highs, cbc",
        ),
        (
            lambda p: __import__("planner").solve(p, options={"time_limit": -1}),
            "key time_limit: must be a number of seconds > 0",
        ),
    ],
)
def test_the_python_api_refuses_what_the_cli_refuses(tiny, call, message):
    from planner.errors import InputError

    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 1000})
    with pytest.raises(InputError) as err:
        call(path)
    assert str(err.value).startswith(message), str(err.value)


def test_compare_takes_one_path_as_one_scenario(tiny):
    from planner import compare

    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 1000})
    frame = compare(str(path))
    assert len(frame) == 1 and frame["effective_pflops"].iloc[0] == 1.0


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"workers": -1}, "key --workers: give a whole number of worker processes >= 1, got -1"),
        ({"seed": -1}, "key --seed: give a whole number from 0 to 9223372036854775807, got -1"),
        ({"samples": 0}, "key --samples: give between 1 and"),
    ],
)
def test_risk_arguments_are_checked_before_any_work(kw, message):
    from planner.analyses.sampling import risk
    from planner.errors import InputError

    with pytest.raises(InputError) as err:
        risk(BASE, ROOT / "budgets" / "shocks" / "risk-2025.yaml", **kw)
    assert err.value.for_cli().startswith(message)
    assert str(err.value).startswith(message.replace("key --", "key "))  # the API's parameter


# ---------------------------------------------------------------- one rule for case and spaces, clear words


@pytest.mark.parametrize(
    "amount, message",
    [
        (
            {"low": 1, "high": 2},
            "key shocks[0].price.factor: a distribution needs dist: one of uniform, triangular, lognormal, choice",
        ),
        (
            {"dist": "normal", "low": 1, "high": 2},
            "key shocks[0].price.factor: unknown dist 'normal'; expected one of uniform, triangular, lognormal, choice",
        ),
    ],
)
def test_a_distribution_without_a_known_dist_lists_the_kinds(tiny, tmp_path, amount, message):
    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 1000})
    shocks = tmp_path / "s.yaml"
    shocks.write_text(
        yaml.safe_dump(
            {
                "name": "s",
                "shocks": [
                    {"name": "x", "quarter": "2025Q2", "price": {"by": "sku", "value": "a", "factor": amount}}
                ],
            }
        )
    )
    line = one_error_line(run("stress", path, "--shocks", shocks))
    assert line == f"error: {shocks}, {message}"


@pytest.mark.parametrize("drawn, quarters", [(2.5, 3), (3.5, 4), (2.49, 2), (0.2, 1)])
def test_drawn_quarters_round_half_up(drawn, quarters):
    from planner.inputs.shocks import Shock

    shock = Shock.model_validate(
        {
            "name": "x",
            "quarter": "2025Q2",
            "lead_time": {
                "by": "sku",
                "value": "a",
                "add_quarters": {"dist": "uniform", "low": 1, "high": 4},
            },
        }
    )
    assert shock.with_amount(drawn).lead_time.add_quarters == quarters


@pytest.mark.parametrize("second", ["CN", "cn ", " Cn"])
def test_site_names_that_differ_only_in_case_or_spaces_are_refused(tiny, second):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        sites=[{"name": "cn", "country": "CN"}, {"name": second, "country": "CN"}],
    )
    line = one_error_line(run("plan", path))
    assert f"sites[1].name: site {second!r} differs from 'cn' only in case or spaces" in line


def test_a_share_takes_a_country_in_any_case(tiny):
    shares = [
        {
            "by": "country",
            "value": " cn",
            "measure": "compute",
            "min": 0.5,
            "within": {"by": "country", "value": "cn"},
        }
    ]
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        sites=[{"name": "home", "country": "cn"}],
        policy={"shares": shares},
        budget={"total_usd": 1000},
    )
    result = run("plan", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["totals"]["effective_pflops"] == 1.0


# ---------------------------------------------------------------- output paths


def test_an_output_path_ending_in_a_slash_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run("plan", TIGHT, "--out", "p.json/"))
    assert line.startswith(
        "error: Invalid value for '--out': 'p.json/' ends with '/', which names a folder; give a file name (see "
    )
    assert not (tmp_path / "p.json").exists()


def test_the_longest_legal_file_name_is_written_and_a_longer_one_refused_before_solving(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    name = "a" * 250 + ".json"  # 255 bytes: legal, though its temporary name would not be
    result = run("plan", TIGHT, "--out", name)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / name).read_text())["scenario"] == "tight-5b"
    assert [p.name for p in tmp_path.iterdir()] == [name]
    line = one_error_line(run("plan", TIGHT, "--out", "a" * 251 + ".json"))
    assert "is longer than 255 bytes" in line


def test_an_output_in_the_catalog_folder_is_not_an_input(tiny):
    path = tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 1000})
    out = path.parent / "cat" / "plan.csv"
    for _ in range(2):  # the second run overwrites the first's output: it is not a catalog file
        result = run("plan", path, "--out", out)
        assert result.exit_code == 0, result.output
    line = one_error_line(run("plan", path, "--out", path.parent / "cat" / "offers.csv"))
    assert "is the input file" in line


def test_a_plan_changed_after_solving_does_not_export_an_inconsistent_document(tiny):
    import dataclasses

    from planner.errors import PlannerError
    from planner.plans.plan import solve

    plan = solve(tiny([chip("a")], [offer("a", "2025Q1", max_units=2)], budget={"total_usd": 2000}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.totals = {}  # type: ignore[misc]
    plan.purchases.loc[0, "chips"] = 99  # the tables themselves are DataFrames a user can edit
    with pytest.raises(PlannerError, match="^the plan's tables were changed after it was solved"):
        plan.to_dict()
