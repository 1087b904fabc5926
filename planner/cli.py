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
@solver_options
@reports_errors
def plan(scenario: Path, catalog: Path | None, fmt: str, solver: str, time_limit: float | None,
         mip_gap: float) -> None:
    """Solve SCENARIO and print the plan (exit 0 optimal/feasible, 1 no plan, 2 bad input)."""
    from planner.plan import solve

    result = solve(scenario, catalog, _options(solver, time_limit, mip_gap))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    elif fmt == "csv":
        from planner.export import schedule_csv

        click.echo(schedule_csv(result), nl=False)
    else:
        from rich.console import Console

        from planner.render import plan_report

        plan_report(result, Console(width=max(140, Console().width)))
    sys.exit(0 if result.ok else 1)
