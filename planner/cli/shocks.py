"""``gpuplan stress`` (and reverse stress tests) and ``gpuplan risk``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from planner.cli.options import (
    CATALOG,
    FILE,
    REPORT_OUT,
    Number,
    _guard,
    _write_out,
    format_option,
    local_workers,
    main,
    out_option,
    plot_option,
    progress_bar,
    reports_errors,
    scheduler_option,
    shocks_option,
    solver_options,
)
from planner.errors import InputError

if TYPE_CHECKING:
    from planner.model.runs import SolverOptions


@main.command("stress")
@click.argument("scenario", type=FILE)
@shocks_option(": see budgets/shocks/")
@CATALOG
@format_option("every figure")
@out_option("a workbook (.xlsx: exposure, stranded orders, changed orders, branches) or the JSON (.json)")
@plot_option("effective PFLOPS over quarters per branch")
@click.option("--no-robust", is_flag=True, help="Skip the robust plan (base plan exposure only).")
@click.option(
    "--reverse",
    is_flag=True,
    help="Reverse stress test: for each shock with an amount, the mildest amount that breaks --breaks.",
)
@click.option(
    "--breaks",
    default=None,
    metavar="TARGET",
    help="With --reverse: a target entry PERIOD.MEASURE (e.g. 2025Q4.pflops) or budget.",
)
@click.option(
    "--tolerance",
    type=Number(0, low_open=True),
    default=None,
    help="With --reverse: how close the bisection brings the amount that holds and the one that breaks "
    "(default 0.001 for fractions and approvals, 0.01 for factors, one quarter for lead times).",
)
@local_workers("re-planning the shocks")
@solver_options
@reports_errors
def stress_cmd(
    scenario: Path,
    shocks_file: Path,
    catalog: Path | None,
    fmt: str,
    out: Path | None,
    plot: Path | None,
    no_robust: bool,
    reverse: bool,
    breaks: str | None,
    tolerance: float | None,
    workers: int,
    options: SolverOptions,
) -> None:
    """Re-plan SCENARIO under each shock (orders before it kept) and compare with a robust plan."""
    from planner.analyses.stressing import stress
    from planner.inputs.shocks import load_shocks
    from planner.outputs.export import check_out

    if out is not None:
        check_out(out, REPORT_OUT if not reverse else (".json",))
    if plot is not None:
        check_out(plot, (".png",))
    _guard({"--out": out, "--plot": plot}, [scenario], catalog, [shocks_file])
    if reverse or breaks is not None or tolerance is not None:
        _reverse(scenario, shocks_file, catalog, breaks, tolerance, reverse, plot, fmt, out, options)
        return
    shocks = load_shocks(shocks_file)
    solves = 1 + len(shocks.shocks) * (1 if no_robust else 2) + (0 if no_robust else 1)
    with progress_bar(f"stress-testing against {shocks.name}", solves) as advance:
        result = stress(scenario, shocks, catalog, options, not no_robust, progress=advance, workers=workers)
    document = result.to_dict()
    if out is not None:
        from planner.outputs.analysis_workbooks import write_stress_workbook

        _write_out(out, document, lambda path: write_stress_workbook(result, path))
    if plot is not None:
        from planner.outputs.charts import branches_png

        branches_png(result, plot)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        from planner.outputs.analysis_reports import stress_report
        from planner.outputs.render import console

        stress_report(result, console())
    from planner.model.runs import PLAN_STATUSES

    sys.exit(0 if result.base_status in PLAN_STATUSES else 1)


def _reverse(
    scenario: Path,
    shocks_file: Path,
    catalog: Path | None,
    breaks: str | None,
    tolerance: float | None,
    reverse: bool,
    plot: Path | None,
    fmt: str,
    out: Path | None,
    options: SolverOptions,
) -> None:
    """``stress --reverse --breaks TARGET``."""
    from planner.analyses.reverse import reverse_stress

    if not reverse:
        raise InputError("--breaks and --tolerance go with --reverse", key="--reverse")
    if breaks is None:
        raise InputError(
            "--reverse needs --breaks TARGET (PERIOD.MEASURE such as 2025Q4.pflops, or budget)",
            key="--breaks",
        )
    if plot is not None:
        raise InputError("--plot draws the stress branches; leave it out with --reverse", key="--plot")
    with progress_bar("reverse stress test", 1) as advance:
        result = reverse_stress(scenario, shocks_file, breaks, catalog, options, tolerance)
        advance(1)
    if out is not None:
        from planner.inputs.fileio import write_text

        write_text(out, json.dumps(result, indent=2) + "\n")
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        from planner.outputs.analysis_reports import reverse_report
        from planner.outputs.render import console

        reverse_report(result, console())


@main.command("risk")
@click.argument("scenario", type=FILE)
@shocks_option(" with a probability per shock and, optionally, distributions for amounts")
@CATALOG
@click.option(
    "--samples", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="Futures to sample."
)
@click.option(
    "--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True, help="Sample i uses (seed, i)."
)
@click.option(
    "--plan",
    "which",
    type=click.Choice(["base", "robust", "both"]),
    default="base",
    show_default=True,
    help="Roll the base plan, the robust plan, or both on the same samples.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local worker processes (default: the CPU count; at most one per CPU); ignored with --scheduler.",
)
@scheduler_option("the samples")
@format_option("summaries and every sample")
@out_option("a workbook (.xlsx: Summary, Samples, Shocks) or the JSON (.json)")
@plot_option("the outcome's distribution (CDF) for each plan")
@solver_options
@reports_errors
def risk_cmd(
    scenario: Path,
    shocks_file: Path,
    catalog: Path | None,
    samples: int,
    seed: int,
    which: str,
    workers: int | None,
    scheduler: str | None,
    fmt: str,
    out: Path | None,
    plot: Path | None,
    options: SolverOptions,
) -> None:
    """Sample futures of the shock file and re-plan each one: how bad is the 1-in-20 year, and which plan holds up."""
    from planner.analyses.parallel import usable_jobs
    from planner.analyses.sampling import risk, risk_tables
    from planner.inputs.shocks import load_shocks
    from planner.outputs.export import check_out

    if out is not None:
        check_out(out, REPORT_OUT)
    if plot is not None:
        check_out(plot, (".png",))
    _guard({"--out": out, "--plot": plot}, [scenario], catalog, [shocks_file])
    plans = ("base", "robust") if which == "both" else (which,)
    shocks = load_shocks(shocks_file)
    with progress_bar(f"sampling {shocks.name}", samples + len(plans)) as advance:
        result = risk(
            scenario,
            shocks,
            catalog,
            options,
            samples,
            seed,
            plans,
            usable_jobs(workers) if workers is not None else None,
            scheduler,
            progress=advance,
        )
    tables = risk_tables(result, shocks)
    document = result.to_dict()
    if out is not None:
        from planner.outputs.analysis_workbooks import write_risk_workbook

        _write_out(out, document, lambda path: write_risk_workbook(result, tables, path))
    if plot is not None:
        from planner.outputs.charts import risk_cdf_png

        metric = tables.objective_metric
        risk_cdf_png({k: result.outcome_values(k, metric) for k in plans}, metric, result.scenario, plot)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        from planner.outputs.analysis_reports import risk_report
        from planner.outputs.render import console

        risk_report(result, tables, console())
