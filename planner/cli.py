"""The ``gpuplan`` command: parse, call the library, render. Heavy imports happen inside commands."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from planner.errors import InputError, PlannerError, SolverError

FORMATS = click.Choice(["table", "json", "csv"])


def reports_errors(fn):
    """Turn library errors into one line on stderr and the documented exit codes."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except SolverError as exc:
            click.echo(f"solver error: {exc}", err=True)
            sys.exit(1)
        except PlannerError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except (KeyboardInterrupt, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # a bug, not the user's input: say so in one line
            click.echo(f"gpuplan: internal error ({type(exc).__name__}: {exc}); please report it with the "
                       "input files", err=True)
            sys.exit(1)

    return wrapper


def solver_options(fn):
    """--solver, --time-limit and --mip-gap, shared by every command that solves."""
    fn = click.option("--mip-gap", type=click.FloatRange(0, 1), default=1e-4, show_default=True,
                      help="Relative MIP gap at which the solver stops.")(fn)
    fn = click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
                      help="Seconds the solver may run (per stage); default: no limit.")(fn)
    fn = click.option("--solver", type=click.Choice(["highs", "cbc"]), default="highs", show_default=True,
                      help="MILP solver: HiGHS in-process, or PuLP's bundled CBC.")(fn)
    return fn


def _options(solver: str, time_limit: float | None, mip_gap: float):
    from planner.model.solve import SolverOptions

    return SolverOptions(solver=solver, time_limit=time_limit, mip_gap=mip_gap)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gpuplan")
def main() -> None:
    """gpuplan: plan GPU purchases quarter by quarter under budget, supply, power and export rules."""


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--catalog", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Catalog folder (overrides the scenario's `catalog`).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True,
              help="table: terminal report; json: the contract's JSON; csv: the purchase schedule.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the plan to FILE: .xlsx workbook, .csv schedule or .json.")
@click.option("--write-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the model solved (first stage for max-compute) to FILE.mps or FILE.lp.")
@click.option("--robust", "robust_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Plan to stay feasible under every shock in this shock file (see `gpuplan stress`).")
@solver_options
@reports_errors
def plan(scenario: Path, catalog: Path | None, fmt: str, out: Path | None, write_model: Path | None,
         robust_file: Path | None, solver: str, time_limit: float | None, mip_gap: float) -> None:
    """Solve SCENARIO and print the plan (exit 0 optimal/feasible, 1 no plan, 2 bad input)."""
    from planner.export import check_out, plan_json, write_plan
    from planner.plan import solve

    if out is not None:
        check_out(out)
    if write_model is not None:
        check_out(write_model, (".mps", ".lp"))
    if robust_file is not None:
        if write_model is not None:
            raise InputError("--write-model writes the single-scenario model; leave it out with --robust",
                             key="--write-model")
        from planner.stress import robust_plan

        result = robust_plan(scenario, robust_file, catalog, _options(solver, time_limit, mip_gap))
    else:
        result = solve(scenario, catalog, _options(solver, time_limit, mip_gap), write_model)
    if result.message and not result.ok:
        click.echo(f"gpuplan: {result.message}", err=True)
    if out is not None:
        if result.ok:
            write_plan(result, out)
        else:
            click.echo(f"gpuplan: no plan ({result.status}); {out} not written", err=True)
    if fmt == "json":
        click.echo(plan_json(result), nl=False)
    elif fmt == "csv":
        from planner.export import schedule_csv

        click.echo(schedule_csv(result), nl=False)
    else:
        from planner.render import console, plan_report

        plan_report(result, console())
    sys.exit(0 if result.ok else 1)


@main.command("explain")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--catalog", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the plan workbook (.xlsx) with Explain sheets.")
@solver_options
@reports_errors
def explain_cmd(scenario: Path, catalog: Path | None, fmt: str, out: Path | None, solver: str,
                time_limit: float | None, mip_gap: float) -> None:
    """What limits the plan, what one more unit of each limit buys, and why chips are not bought."""
    from planner.explain import explain_plan
    from planner.export import check_out
    from planner.plan import solve

    if out is not None:
        check_out(out, (".xlsx",))
    options = _options(solver, time_limit, mip_gap)
    solved = solve(scenario, catalog, options)
    result = explain_plan(solved, options)
    if out is not None and solved.ok:
        from planner.workbook import write_plan_workbook

        write_plan_workbook(solved, out, explain=result)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        from planner.render import console, explain_report

        explain_report(result, console())
    sys.exit(0 if result["status"] in ("optimal", "feasible") else 1)


@main.command("stress")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--shocks", "shocks_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Shock file (YAML): see budgets/shocks/.")
@click.option("--catalog", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a workbook (.xlsx): exposure, stranded orders, recovery, branches.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG chart of effective PFLOPS over quarters per branch.")
@click.option("--no-robust", is_flag=True, help="Skip the robust plan (base plan exposure only).")
@solver_options
@reports_errors
def stress_cmd(scenario: Path, shocks_file: Path, catalog: Path | None, fmt: str, out: Path | None,
               plot: Path | None, no_robust: bool, solver: str, time_limit: float | None, mip_gap: float) -> None:
    """Re-plan SCENARIO under each shock (orders before it kept) and compare with a robust plan."""
    from planner.export import check_out
    from planner.stress import stress

    if out is not None:
        check_out(out, (".xlsx",))
    if plot is not None:
        check_out(plot, (".png",))
    result = stress(scenario, shocks_file, catalog, _options(solver, time_limit, mip_gap), not no_robust)
    if out is not None:
        from planner.workbook import write_stress_workbook

        write_stress_workbook(result, out)
    if plot is not None:
        from planner.charts import branches_png

        branches_png(result, plot)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, default=_json_default))
    else:
        from planner.render import console, stress_report

        stress_report(result, console())
    sys.exit(0 if result["base"]["status"] in ("optimal", "feasible") else 1)


def _json_default(value):
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@main.command("compare")
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--catalog", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Catalog folder for every scenario (overrides their `catalog`).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a workbook (.xlsx) with the comparison and each schedule.")
@solver_options
@reports_errors
def compare_cmd(scenarios: tuple[Path, ...], catalog: Path | None, fmt: str, out: Path | None, solver: str,
                time_limit: float | None, mip_gap: float) -> None:
    """Solve several scenarios and show them side by side, with what differs in their inputs."""
    from planner.analysis import compare
    from planner.export import check_out

    if out is not None:
        check_out(out, (".xlsx",))
    comparison = compare(list(scenarios), catalog, _options(solver, time_limit, mip_gap))
    if out is not None:
        from planner.workbook import write_compare_workbook

        write_compare_workbook(comparison, out)
    if fmt == "json":
        click.echo(json.dumps({"scenarios": [p.to_dict() for p in comparison.plans]}, indent=2))
    else:
        from planner.render import comparison_tables, console

        con = console()
        for table in comparison_tables(comparison):
            con.print(table)
    sys.exit(0 if all(p.ok for p in comparison.plans) else 1)


@main.command("sweep")
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--budget", "budget_range", required=True, help="FROM:TO:N, e.g. 3B:10B:8 (K/M/B suffixes).")
@click.option("--catalog", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (spawned, one HiGHS thread each).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG chart of the frontier (PFLOPS against budget, by category).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the points to a workbook (.xlsx).")
@solver_options
@reports_errors
def sweep_cmd(scenario: Path, budget_range: str, catalog: Path | None, jobs: int, fmt: str, plot: Path | None,
              out: Path | None, solver: str, time_limit: float | None, mip_gap: float) -> None:
    """Solve SCENARIO at N total budgets from FROM to TO (per-quarter budgets scale in proportion)."""
    from rich.console import Console
    from rich.progress import Progress

    from planner.analysis import parse_range, sweep
    from planner.export import check_out
    from planner.scenario import load_scenario

    budgets = parse_range(budget_range)
    if plot is not None:
        check_out(plot, (".png",))
    if out is not None:
        check_out(out, (".xlsx",))
    loaded = load_scenario(scenario)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"sweeping {loaded.name}", total=len(budgets))
        points = sweep(loaded, budgets, catalog, _options(solver, time_limit, mip_gap), jobs,
                       progress=lambda n: bar.advance(task, n))
    if plot is not None:
        from planner.charts import frontier_png

        frontier_png(points, loaded.name, plot)
    if out is not None:
        from planner.workbook import write_sweep_workbook

        write_sweep_workbook(loaded.name, points, out)
    if fmt == "json":
        click.echo(json.dumps({"points": points}, indent=2))
    else:
        from planner.render import console, sweep_table

        console().print(sweep_table(loaded.name, points))


CATALOG_DIR = click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))


def _catalog(folder: Path | None):
    from planner.catalog import load_catalog

    return load_catalog(folder)


def _date(value: str | None):
    import datetime as dt

    from planner.units import parse_date

    if value is None:
        return dt.date.today()
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from None


def _destination(value: str) -> str:
    from planner.countries import ISO_ALPHA2

    if value not in ISO_ALPHA2:
        raise click.BadParameter(f"{value!r} is not an ISO 3166-1 alpha-2 country code (e.g. CN, US)",
                                 param_hint="--destination")
    return value


@main.group()
def catalog() -> None:
    """Inspect, check and build chip catalogs (FOLDER defaults to the bundled catalogs/default)."""


@catalog.command()
@CATALOG_DIR
@reports_errors
def validate(folder: Path | None) -> None:
    """List every problem in a catalog folder (exit 2 when there is any)."""
    from planner.catalog import load_catalog

    problems: list[InputError] = []
    try:
        cat = load_catalog(folder, collect=problems)
    except InputError as exc:      # a problem that stops reading (missing file or columns)
        problems.append(exc)
        cat = None
    for p in problems:
        click.echo(str(p))
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(2)
    assert cat is not None
    click.echo(f"{cat.folder}: OK ({len(cat.chips)} chips, {len(cat.offers)} offers, {len(cat.rules)} rules)")


@catalog.command()
@CATALOG_DIR
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@reports_errors
def show(folder: Path | None, fmt: str) -> None:
    """Chips with the figures a buyer compares, and the units offered per quarter."""
    from planner.catalog_report import chip_figures, offers_by_quarter

    cat = _catalog(folder)
    figures, offers = chip_figures(cat), offers_by_quarter(cat)
    if fmt == "json":
        click.echo(json.dumps({"chips": _records(figures),
                               "offers_per_quarter": {sku: {q: int(v) for q, v in row.items()}
                                                      for sku, row in offers.iterrows()}}, indent=2))
    elif fmt == "csv":
        from planner.export import frame_csv

        click.echo(frame_csv(figures), nl=False)
    else:
        from planner.render import catalog_tables, console

        out = console()
        for table in catalog_tables(figures, offers):
            out.print(table)


def _records(df) -> list[dict]:
    import math

    return [{k: (None if isinstance(v, float) and math.isnan(v) else
                 round(v, 6) if isinstance(v, float) else v) for k, v in rec.items()}
            for rec in df.to_dict("records")]


@catalog.command("compliance")
@CATALOG_DIR
@click.option("--destination", required=True, help="ISO country code where the chips are deployed.")
@click.option("--date", "on", default=None, help="YYYY-MM-DD (default: today).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@reports_errors
def compliance_cmd(folder: Path | None, destination: str, on: str | None, fmt: str) -> None:
    """The export status of every chip for a destination on a date, and the rules behind it."""
    from planner.catalog_report import compliance_listing

    listing = compliance_listing(_catalog(folder), _destination(destination), _date(on))
    if fmt == "json":
        click.echo(json.dumps({**listing, "chips": [{k: c[k] for k in ("sku", "model", "tpp", "pd", "status",
                                                                        "rules")} for c in listing["chips"]]},
                              indent=2))
    else:
        from planner.render import compliance_table, console

        console().print(compliance_table(listing))


@catalog.command()
@CATALOG_DIR
@click.option("--destination", required=True, help="ISO country code where the chips are deployed.")
@click.option("--sku", default=None, help="Only this chip.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@reports_errors
def timeline(folder: Path | None, destination: str, sku: str | None, fmt: str) -> None:
    """The dates on which each chip's status changes for a destination."""
    from planner.catalog_report import timeline as build

    cat = _catalog(folder)
    if sku is not None and sku not in cat.chips.index:
        raise InputError(f"sku {sku!r} is not in {cat.folder / 'chips.csv'}", key="--sku")
    rows = build(cat, _destination(destination), sku)
    if fmt == "json":
        click.echo(json.dumps({"destination": destination, "changes": rows}, indent=2))
    else:
        from planner.render import console, timeline_table

        console().print(timeline_table(destination, rows))


@catalog.command("import-epoch")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Catalog folder to write chips.csv into (created if missing; its parent must exist).")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="YAML with `manufacturers:` and `skus:` overrides (origin, category, efficiency...).")
@click.option("--chips-per-server", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--host-overhead-w", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Watts added to each chip's TDP for its share of host and network.")
@reports_errors
def import_epoch_cmd(csv_file: Path, out_dir: Path, mapping: Path | None, chips_per_server: int,
                     host_overhead_w: float) -> None:
    """Build chips.csv from Epoch AI's Machine Learning Hardware CSV (CC BY 4.0)."""
    from planner.epoch import CREDIT, chips_csv_text, import_epoch
    from planner.fileio import write_text

    overrides = None
    if mapping is not None:
        from planner.yamlio import read_yaml

        overrides = read_yaml(mapping)
        if not isinstance(overrides, dict) or set(overrides) - {"manufacturers", "skus"}:
            raise InputError("expected the keys manufacturers and/or skus", file=str(mapping))
    report = import_epoch(csv_file, overrides, chips_per_server, host_overhead_w)
    if not out_dir.parent.is_dir():
        raise InputError(f"output folder {out_dir.parent} does not exist; create it first", file=str(out_dir))
    out_dir.mkdir(exist_ok=True)
    write_text(out_dir / "chips.csv", chips_csv_text(report.chips))
    click.echo(f"wrote {out_dir / 'chips.csv'}: {len(report.chips)} chips; data: {CREDIT}")
    for row, name, why in report.skipped:
        click.echo(f"  skipped row {row} ({name}): {why}")
    agree = report.tpp_checked - len(report.tpp_mismatches)
    click.echo(f"TPP agrees with Epoch's 'Total processing performance' for {agree} of "
               f"{report.tpp_checked} rows that have it")
    for sku, ours, theirs in report.tpp_mismatches:
        click.echo(f"  {sku}: TPP {ours:,.1f} from the rates, Epoch gives {theirs:,.1f}")
