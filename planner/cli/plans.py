"""``gpuplan plan``, ``explain``, ``compare``, ``alternatives`` and ``sweep``."""

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
    solver_options,
)
from planner.errors import InputError

if TYPE_CHECKING:
    from planner.model.runs import SolverOptions
    from planner.plans.results import Plan


@main.command()
@click.argument("scenario", type=FILE)
@CATALOG
@format_option("the contract's JSON", csv="the purchase schedule")
@out_option(
    "the plan to FILE: .xlsx workbook, .csv schedule or .json (an infeasible plan writes its diagnosis)"
)
@plot_option("effective PFLOPS per quarter, stacked by chip category")
@click.option(
    "--write-model",
    type=FILE,
    default=None,
    help="Write the model solved (first stage for max-compute) to FILE.mps or FILE.lp.",
)
@click.option(
    "--robust",
    "robust_file",
    type=FILE,
    default=None,
    help="Plan to stay feasible under every shock in this shock file (see `gpuplan stress`).",
)
@click.option(
    "--risk",
    "risk_file",
    type=FILE,
    default=None,
    help="A sample-average plan over futures sampled from this shock file (see `gpuplan risk`), checked "
    "out of sample.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="With --risk: futures in the model.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="With --risk: the sampling seed."
)
@click.option(
    "--risk-objective",
    default="expected",
    show_default=True,
    metavar="expected|cvar:ALPHA",
    help="With --risk: the mean outcome, or the mean of the worst ALPHA share of futures (e.g. cvar:0.05).",
)
@click.option(
    "--chance",
    type=Number(0, 1, low_open=True),
    default=None,
    help="With --risk: each target met in at least this share of the futures (e.g. 0.95).",
)
@click.option(
    "--check-samples",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="With --risk: fresh futures (seed + 1) the plan and the base plan are checked on.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="With --risk: local worker processes for the out-of-sample check (default: the CPU count).",
)
@solver_options
@reports_errors
def plan(
    scenario: Path,
    catalog: Path | None,
    fmt: str,
    out: Path | None,
    plot: Path | None,
    write_model: Path | None,
    robust_file: Path | None,
    risk_file: Path | None,
    samples: int,
    seed: int,
    risk_objective: str,
    chance: float | None,
    check_samples: int,
    workers: int | None,
    options: SolverOptions,
) -> None:
    """Solve SCENARIO and print the plan (exit 0 optimal/feasible, 1 no plan, 2 bad input)."""
    from planner.outputs.export import check_out, plan_json, write_plan

    if out is not None:
        check_out(out)
    if plot is not None:
        check_out(plot, (".png",))
    if write_model is not None:
        check_out(write_model, (".mps", ".lp"))
    _guard(
        {"--out": out, "--plot": plot, "--write-model": write_model},
        [scenario],
        catalog,
        [f for f in (robust_file, risk_file) if f is not None],
    )
    if risk_file is not None:
        if robust_file is not None or write_model is not None:
            raise InputError("--risk makes its own model; leave out --robust and --write-model", key="--risk")
        from planner.analyses.saa import risk_plan

        with progress_bar("sample-average plan", 2 + check_samples) as advance:
            result = risk_plan(
                scenario,
                risk_file,
                catalog,
                options,
                samples,
                seed,
                risk_objective,
                chance,
                check_samples,
                workers,
                advance,
            )
    else:
        result = _plain_or_robust(scenario, catalog, options, write_model, robust_file)
    if out is not None:
        write_plan(result, out)
    if plot is not None:
        from planner.outputs.charts import capacity_png

        capacity_png([(result.scenario, result)], plot)
    if fmt == "json":
        click.echo(plan_json(result), nl=False)
    elif fmt == "csv":
        from planner.outputs.export import schedule_csv

        click.echo(schedule_csv(result), nl=False)
    else:
        from planner.outputs.render import console, plan_report

        plan_report(result, console())
    if result.message and fmt != "table":
        click.echo(f"gpuplan: {result.message}", err=True)
    sys.exit(0 if result.ok else 1)


def _plain_or_robust(
    scenario: Path,
    catalog: Path | None,
    options: SolverOptions,
    write_model: Path | None,
    robust_file: Path | None,
) -> Plan:
    """The plan of ``gpuplan plan`` without --risk: the scenario's own, or robust to a shock file."""
    from planner.plans.plan import solve

    if robust_file is None:
        return solve(scenario, catalog, options, write_model)
    if write_model is not None:
        raise InputError(
            "--write-model writes the single-scenario model; leave it out with --robust",
            key="--write-model",
        )
    from planner.analyses.stressing import robust_plan

    with progress_bar("robust plan", 2) as advance:
        result = robust_plan(scenario, robust_file, catalog, options)
        advance(2)
    return result


@main.command("explain")
@click.argument("scenario", type=FILE)
@CATALOG
@format_option("binding, marginal, not_bought, limits, notes (and training)")
@out_option("the plan workbook (.xlsx) with Explain sheets, or the JSON (.json)")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Threads re-solving the moved limits at once (default: one per CPU, HiGHS only); the same "
    "results as one.",
)
@solver_options
@reports_errors
def explain_cmd(
    scenario: Path,
    catalog: Path | None,
    fmt: str,
    out: Path | None,
    workers: int | None,
    options: SolverOptions,
) -> None:
    """What limits the plan, what one more unit of each limit buys, and why chips are not bought.

    Each re-solve that prices a limit stops after 30 s unless --time-limit is given; a stopped one
    is flagged in its note.
    """
    from planner.analyses.explaining import explain_plan, marginal_steps
    from planner.inputs.scenario import load_scenario
    from planner.outputs.export import check_out
    from planner.plans.plan import solve

    if out is not None:
        check_out(out, REPORT_OUT)
    _guard({"--out": out}, [scenario], catalog)
    solved = solve(load_scenario(scenario), catalog, options)
    steps = marginal_steps(solved.data, solved) + 2 if solved.data is not None else 1
    with progress_bar(f"explaining {solved.scenario}", steps) as advance:
        result = explain_plan(solved, options, progress=advance, workers=workers)
    if out is not None:
        from planner.outputs.workbook import write_plan_workbook

        _write_out(
            out, result.to_dict(), lambda path: write_plan_workbook(solved, path, explain=result.frames())
        )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        from planner.outputs.analysis_reports import explain_report
        from planner.outputs.render import console

        explain_report(result, console())
    from planner.model.runs import PLAN_STATUSES

    sys.exit(0 if result.status in PLAN_STATUSES else 1)


@main.command("compare")
@click.argument("scenarios", nargs=-1, required=True, type=FILE)
@click.option(
    "--catalog",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog folder for every scenario (overrides their `catalog`).",
)
@format_option("each plan's JSON")
@out_option("a workbook (.xlsx) with the comparison and each schedule, or the JSON (.json)")
@plot_option("effective PFLOPS per quarter by chip category, a panel per scenario")
@local_workers("solving the scenarios")
@scheduler_option("the solves")
@solver_options
@reports_errors
def compare_cmd(
    scenarios: tuple[Path, ...],
    catalog: Path | None,
    fmt: str,
    out: Path | None,
    plot: Path | None,
    workers: int,
    scheduler: str | None,
    options: SolverOptions,
) -> None:
    """Solve several scenarios and show them side by side, with what differs in their inputs."""
    from planner.analyses.analysis import compare, comparison_metrics, input_differences
    from planner.outputs.export import check_out

    if out is not None:
        check_out(out, REPORT_OUT)
    if plot is not None:
        check_out(plot, (".png",))
    _guard({"--out": out, "--plot": plot}, list(scenarios), catalog)
    with progress_bar("comparing", len(scenarios)) as advance:
        frame = compare(
            list(scenarios), catalog, options, progress=advance, scheduler=scheduler, workers=workers
        )
    plans = [frame.plans[label] for label in frame.index]
    metrics, differences = comparison_metrics(frame), input_differences(frame)
    document = {"scenarios": [p.to_dict() for p in plans]}
    if out is not None:
        from planner.outputs.analysis_workbooks import write_compare_workbook

        labels = [str(x) for x in frame.index]
        _write_out(
            out, document, lambda path: write_compare_workbook(metrics, differences, plans, labels, path)
        )
    if plot is not None:
        from planner.outputs.charts import capacity_png

        capacity_png([(str(label), frame.plans[label]) for label in frame.index], plot)
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        from planner.outputs.analysis_reports import comparison_tables
        from planner.outputs.render import console

        con = console()
        for table in comparison_tables(metrics, differences, con):
            con.print(table)
    sys.exit(0 if all(p.ok for p in plans) else 1)


class Share(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A share written as ``1%`` or ``0.01``."""

    name = "share"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """The share as a fraction."""
        text = str(value).strip()
        percent = text.endswith("%")
        number = Number(0).convert(text.removesuffix("%").strip(), param, ctx)
        share = number / 100 if percent else number
        if share >= 1:
            self.fail(f"must be below 100%, got {value!r}", param, ctx)
        return share


@main.command("alternatives")
@click.argument("scenario", type=FILE)
@CATALOG
@click.option(
    "--within",
    type=Share(),
    required=True,
    help="How far from the optimum an alternative may be: 1% or 0.01 (compute for max-compute, cost "
    "for min-cost).",
)
@click.option(
    "--minimize",
    "minimize",
    multiple=True,
    metavar="WHAT",
    help="An alternative that minimises WHAT: [spend:|compute:]GROUP=VALUE with GROUP one of vendor, "
    "kind, country, channel, category, sku, site (spend when no quantity is named), or after-horizon "
    "(commitments paid after the last quarter). Repeat for several.",
)
@click.option("--maximize", "maximize", multiple=True, metavar="WHAT", help="Likewise, maximising WHAT.")
@click.option(
    "--spread",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also give N alternatives whose orders (chips by SKU and quarter) differ most from the optimum "
    "and from each other.",
)
@format_option("the optimum and each alternative, every plan in the contract's form")
@out_option("a workbook (.xlsx: a side-by-side sheet and one sheet per plan) or the JSON (.json)")
@solver_options
@reports_errors
def alternatives_cmd(
    scenario: Path,
    catalog: Path | None,
    within: float,
    minimize: tuple[str, ...],
    maximize: tuple[str, ...],
    spread: int,
    fmt: str,
    out: Path | None,
    options: SolverOptions,
) -> None:
    """Plans within --within of the optimum that do best on another measure (modelling to generate alternatives)."""
    from planner.analyses.alternatives import Measure, alternatives
    from planner.model.linear import Sense
    from planner.outputs.export import check_out

    if out is not None:
        check_out(out, REPORT_OUT)
    _guard({"--out": out}, [scenario], catalog)
    measures = [Measure.parse(w, Sense.MINIMIZE) for w in minimize]
    measures += [Measure.parse(w, Sense.MAXIMIZE) for w in maximize]
    with progress_bar("alternatives", 1 + len(measures) + spread) as advance:
        result = alternatives(scenario, within, measures, spread, catalog, options)
        advance(1 + len(measures) + spread)
    document = result.to_dict()
    if out is not None:
        from planner.outputs.analysis_workbooks import write_alternatives_workbook

        _write_out(out, document, lambda path: write_alternatives_workbook(result, path))
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        from planner.outputs.analysis_reports import alternatives_report
        from planner.outputs.render import console

        alternatives_report(result, console())


@main.command("sweep")
@click.argument("scenario", type=FILE)
@click.option(
    "--budget",
    "budget_range",
    required=True,
    help="FROM:TO:N, e.g. 3B:10B:8 (K/M/B suffixes, 7e9 or 7,000,000,000).",
)
@CATALOG
@click.option(
    "--workers",
    "--jobs",
    "jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Local worker processes (spawned, one HiGHS thread each; at most one per CPU; --jobs is the older "
    "name); the plans do not depend on it; ignored with --scheduler.",
)
@format_option("the points")
@plot_option("the frontier (PFLOPS against budget, by category)")
@out_option("the points to a workbook (.xlsx) or the JSON (.json)")
@scheduler_option("the solves of the points")
@solver_options
@reports_errors
def sweep_cmd(
    scenario: Path,
    budget_range: str,
    catalog: Path | None,
    jobs: int,
    fmt: str,
    plot: Path | None,
    out: Path | None,
    scheduler: str | None,
    options: SolverOptions,
) -> None:
    """Solve SCENARIO at N total budgets from FROM to TO (per-quarter budgets scale in proportion)."""
    from planner.analyses.analysis import parse_range, sweep, sweep_points
    from planner.inputs.scenario import load_scenario
    from planner.outputs.export import check_out

    budgets = parse_range(budget_range)
    if plot is not None:
        check_out(plot, (".png",))
    if out is not None:
        check_out(out, REPORT_OUT)
    _guard({"--plot": plot, "--out": out}, [scenario], catalog)
    loaded = load_scenario(scenario)
    with progress_bar(f"sweeping {loaded.name}", len(budgets)) as advance:
        frame = sweep(loaded, budgets, catalog, options, jobs, progress=advance, scheduler=scheduler)
    points = sweep_points(frame)
    if plot is not None:
        from planner.outputs.charts import frontier_png

        frontier_png(points, loaded.name, plot)
    if out is not None:
        from planner.outputs.analysis_workbooks import write_sweep_workbook

        _write_out(out, {"points": points}, lambda path: write_sweep_workbook(loaded.name, frame, path))
    if fmt == "json":
        click.echo(json.dumps({"points": points}, indent=2))
    else:
        from planner.outputs.analysis_reports import sweep_table
        from planner.outputs.render import console

        con = console()
        con.print(sweep_table(loaded.name, points, con))
    from planner.model.runs import PLAN_STATUSES

    sys.exit(0 if any(p["status"] in PLAN_STATUSES for p in points) else 1)  # 1: no budget gave a plan
