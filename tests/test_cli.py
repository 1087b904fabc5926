"""The gpuplan command: help everywhere, exit codes, output shapes, nothing from the solver on stdout."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from conftest import ROOT, chip, offer

from planner.cli import main

BASE = str(ROOT / "budgets" / "base-7b.yaml")


def all_commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + (name,)
        if isinstance(cmd, click.Group):
            yield from all_commands(cmd, prefix + (name,))


@pytest.mark.parametrize("path", [()] + list(all_commands(main)), ids=lambda p: " ".join(p) or "gpuplan")
def test_every_command_has_help(path):
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_plan_json_shape_and_exit_code():
    result = CliRunner().invoke(main, ["plan", BASE, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == [
        "scenario",
        "status",
        "objective",
        "totals",
        "periods",
        "purchases",
        "sites",
        "channel_exposure",
    ]
    assert data["status"] == "optimal" and data["scenario"] == "base-7b"
    assert list(data["totals"]) == [
        "capex_usd",
        "opex_usd",
        "effective_pflops",
        "memory_tb",
        "chips",
        "lease_usd",
        "leased_chips",
    ]
    assert [p["period"] for p in data["periods"]] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    assert list(data["periods"][0]) == [
        "period",
        "capex_usd",
        "opex_usd",
        "effective_pflops",
        "memory_tb",
        "power_mw",
        "lease_usd",
    ]
    buys = [p for p in data["purchases"] if p["kind"] == "buy"]
    assert list(buys[0]) == [
        "order_period",
        "delivery_period",
        "sku",
        "vendor",
        "model",
        "category",
        "channel",
        "servers",
        "chips",
        "unit_price_usd",
        "cost_usd",
        "kind",
        "site",
        "country",
        "compliance",
        "license_rules",
    ]
    assert sum(p["cost_usd"] for p in buys) == pytest.approx(data["totals"]["capex_usd"], abs=0.01)


def test_plan_table_report():
    result = CliRunner().invoke(main, ["plan", BASE], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    for text in (
        "Scenario base-7b",
        "status optimal",
        "Per quarter",
        "Purchase and lease schedule",
        "Sites: power against capacity",
        "Excluded for compliance",
        "us-3a090a-2023",
        "Lease commitments past the horizon",
        "What limits this plan",
    ):
        assert text in result.output


def test_plan_csv_schedule():
    result = CliRunner().invoke(main, ["plan", BASE, "--format", "csv"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].replace('"', "") == (
        "order_period,delivery_period,sku,vendor,model,category,channel,servers,chips,"
        "unit_price_usd,cost_usd,kind,site,country,compliance,license_rules,term_quarters,"
        "end_period"
    )
    # text quoted, numbers bare (a spreadsheet opened with ';' as separator cannot split a name)
    first = next(csv.reader([lines[1]], quoting=csv.QUOTE_NONNUMERIC))
    assert isinstance(first[7], float) and isinstance(first[2], str)
    assert lines[1].startswith('"20')
    assert len(lines) > 5


def test_a_sweep_exits_1_only_when_no_budget_gives_a_plan(tiny):
    # 2 chips on offer, 3 PFLOPS asked: no budget meets the target; without it every budget plans
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=2)], targets={"2025Q1": {"pflops": 3}})
    result = CliRunner().invoke(main, ["sweep", str(path), "--budget", "1K:3K:3", "--format", "json"])
    assert result.exit_code == 1
    assert [p["status"] for p in json.loads(result.output)["points"]] == ["infeasible"] * 3
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=2)])
    result = CliRunner().invoke(main, ["sweep", str(path), "--budget", "1K:3K:3", "--format", "json"])
    assert result.exit_code == 0
    assert [p["status"] for p in json.loads(result.output)["points"]] == ["optimal"] * 3


def test_infeasible_exits_1_with_diagnosis(tiny):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=2)],
        objective="min-cost",
        targets={"2025Q1": {"pflops": 3}},
    )
    result = CliRunner().invoke(main, ["plan", str(path), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["status"] == "infeasible" and data["purchases"] == []
    assert data["diagnosis"]["shortfalls"] == [
        {"period": "2025Q1", "measure": "pflops", "target": 3, "shortfall": 1.0}
    ]
    table = CliRunner().invoke(main, ["plan", str(path)])
    assert table.exit_code == 1 and "Least shortfalls" in table.output
    # why a reachable figure may exceed the optimum of the same inputs without targets
    assert "Reachable is the target less its shortfall" in " ".join(table.output.split())


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndestination: CN\nperiods: [2025Q1]\nobjective: max-compute\nbudgt: {}\n")
    result = CliRunner().invoke(main, ["plan", str(bad)])
    assert result.exit_code == 2
    assert (
        result.output == f"error: {bad}, key budgt: unknown key (did you mean 'budget'?); expected one of "
        "budget, buyer, catalog, destination, finance, fleet, name, objective, periods, policy, power, sites, targets\n"
    )


def test_missing_scenario_file(tmp_path):
    result = CliRunner().invoke(main, ["plan", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.output == f"error: {tmp_path / 'nope.yaml'}: file not found\n"


def test_solver_prints_nothing_on_stdout():
    """A real process: stdout must be exactly the JSON (highspy 1.16 prints a banner otherwise)."""
    out = subprocess.run(
        [sys.executable, "-m", "planner", "plan", BASE, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["status"] == "optimal"
    assert out.stderr == ""


def test_library_solve_writes_nothing_to_fd1(capfd, tiny):
    """highspy 1.16 writes its banner to fd 1 from C; the library silences it, whatever sys.stdout is."""
    from planner.plans.plan import solve

    solve(tiny([chip("a")], [offer("a", "2025Q1")], budget={"total_usd": 5000}))
    assert capfd.readouterr().out == ""


def test_help_and_catalog_commands_do_not_import_the_heavy_libraries():
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom planner.cli import main\n"
        "for args in (['--help'], ['catalog', 'validate'], ['catalog', 'compliance', '--destination', 'CN',"
        " '--date', '2025-01-01'], ['catalog', 'timeline', '--destination', 'CN'], ['catalog', 'show']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0, args\n"
        "heavy = [m for m in ('pulp', 'highspy', 'matplotlib', 'xlsxwriter') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_write_model_is_the_model_solved(tmp_path, suffix):
    import highspy

    model = tmp_path / f"m{suffix}"
    result = CliRunner().invoke(main, ["plan", BASE, "--format", "json", "--write-model", str(model)])
    assert result.exit_code == 0
    plan = json.loads(result.output)
    text = model.read_text()
    if suffix == ".lp":  # CPLEX LP format, as PuLP writes it
        assert text.startswith("\\*") and "\nSubject To\n" in text
    else:  # MPS, with the objective sense
        assert text.startswith("OBJSENSE\n MAX\nNAME          gpuplan\nROWS\n")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(model))
    h.run()
    fleet = 20000 * 0.989 + 10000 * 0.312  # the fleet's constant compute is not in the file
    assert h.getInfo().objective_function_value + fleet == pytest.approx(
        plan["totals"]["effective_pflops"], rel=1e-4
    )


def test_every_option_of_every_command_has_help():
    import click

    from planner.cli import main as root

    def options(cmd, prefix=""):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from options(sub, f"{prefix} {name}")
        else:
            for p in cmd.params:
                if isinstance(p, click.Option):
                    yield prefix, p

    missing = [(where, p.opts) for where, p in options(root) if not p.help]
    assert missing == []


def test_sweep_and_risk_share_the_parallelism_option_name():
    from planner.cli import main as root

    def names(cmd):
        return {o for p in cmd.params for o in getattr(p, "opts", [])}

    assert "--workers" in names(root.commands["sweep"]) and "--workers" in names(root.commands["risk"])


def test_max_time_help_names_what_each_command_solves():
    from planner.cli import main as root

    def max_time(name):
        return next(p.help for p in root.commands[name].params if "--max-time" in getattr(p, "opts", []))

    helps = {name: max_time(name) for name in ("plan", "explain", "stress", "risk", "compare", "sweep")}
    assert helps["sweep"].startswith("Seconds for solving every budget point;")
    assert helps["compare"].startswith("Seconds for solving every scenario;")
    assert "every sampled future's re-plans" in helps["risk"]
    assert "every re-solve that prices a limit" in helps["explain"]
    assert len(set(helps.values())) == 6  # each says what its own command does
