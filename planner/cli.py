"""The ``gpuplan`` command: parse, call the library, render. Heavy imports happen inside commands."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from planner.errors import InputError, NoPlan, OutputError, PlannerError, RegistryError, SolverError
from planner.inputs.fileio import NAME_MAX

if TYPE_CHECKING:
    import datetime as dt

    import pandas as pd

    from planner.inputs.catalog import Catalog
    from planner.model.solve import SolverOptions
    from planner.plans.results import Plan

FORMATS = click.Choice(["table", "json", "csv"])


F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(fn: F) -> F:
    """Turn library errors into one line on stderr and the documented exit codes.

    2: bad input; 1: no plan, solver failure or an output that could not be written;
    128 + signal: interrupted (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), temporary files removed.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return fn(*args, **kwargs)
            finally:
                sys.stdout.flush()
        except InputError as exc:
            _fail(f"error: {exc}", 2)
        except (SolverError, OutputError, RegistryError, NoPlan) as exc:
            _fail(f"{'solver error' if isinstance(exc, SolverError) else 'error'}: {exc}", 1)
        except PlannerError as exc:
            _fail(f"error: {exc}", 2)
        except KeyboardInterrupt as exc:
            from planner.inputs.fileio import remove_pending
            from planner.interrupts import describe

            remove_pending()
            name, code = describe(exc)
            _fail(f"gpuplan: stopped by {name}; files being written were removed, existing files kept", code)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except OSError as exc:  # standard output closed or full (a pipe, /dev/full)
            _fail(f"error: cannot write the output ({exc.strerror or exc})", 1)
        except Exception as exc:  # a bug, not the user's input: say so in one line
            _fail(
                f"gpuplan: internal error ({type(exc).__name__}: {exc}); please report it with the input files",
                1,
            )

    return cast(F, wrapper)


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr and exit; standard output is dropped if it can no longer be written."""
    from planner.errors import one_line

    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        # the buffered report cannot be written: drop it so that exit does not try again
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    click.echo(one_line(message), err=True)
    sys.exit(code)


class Number(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A finite number written plainly (no NaN, infinity, ``1_000`` or other scripts' digits), in a range."""

    name = "number"

    def __init__(self, low: float | None = None, high: float | None = None, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """The number, or a usage error saying what is accepted."""
        from planner.inputs.units import MAX_RATE, parse_number

        if isinstance(value, float):
            return value
        try:
            number = parse_number(str(value), limit=MAX_RATE)
        except ValueError as exc:
            self.fail(f"{exc}, got {value!r}", param, ctx)
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            self.fail(f"must be {'>' if self.low_open else '>='} {self.low:g}, got {value!r}", param, ctx)
        if self.high is not None and number > self.high:
            self.fail(f"must be <= {self.high:g}, got {value!r}", param, ctx)
        return number


#: what each command's --max-time covers, by the command's function
MAX_TIME_COVERS = {
    "plan": "solving the plan (both stages of max-compute; with --robust or --risk, every branch at once)",
    "explain_cmd": "solving the plan and every re-solve that prices a limit",
    "stress_cmd": "the base plan, each shock's re-plan and the robust plan (unless --no-robust)",
    "risk_cmd": "the plans and every sampled future's re-plans",
    "compare_cmd": "solving every scenario",
    "sweep_cmd": "solving every budget point",
    "alternatives_cmd": "solving the optimum and every alternative",
}


def format_option(what: str) -> Callable[[F], F]:
    """``--format table|json`` (default table): ``what`` says what the JSON holds."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=f"table: for the terminal; json: {what}.",
    )


def local_workers(what: str) -> Callable[[F], F]:
    """``--workers N`` (default 1): local worker processes doing ``what`` at once, the same results as one."""
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help=f"Local worker processes {what} at once (at most the CPU count); the same results as one.",
    )


def solver_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--solver, --time-limit, --mip-gap and --max-time, passed to the command as ``options``."""
    covers = MAX_TIME_COVERS[fn.__name__]

    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        solver: str,
        time_limit: float | None,
        mip_gap: float,
        max_time: float | None,
        **kwargs: Any,
    ) -> Any:
        import time

        from planner.model.solve import SolverOptions

        deadline = None if max_time is None else time.time() + max_time
        options = SolverOptions(solver=solver, time_limit=time_limit, mip_gap=mip_gap, deadline=deadline)
        return fn(*args, options=options, **kwargs)

    for option in reversed(
        [
            click.option(
                "--solver",
                type=click.Choice(["highs", "cbc"]),
                default="highs",
                show_default=True,
                help="MILP solver: HiGHS in-process, or PuLP's bundled CBC.",
            ),
            click.option(
                "--time-limit",
                type=Number(0, low_open=True),
                default=None,
                help="Seconds each solver run may take (per stage); default: no limit.",
            ),
            click.option(
                "--mip-gap",
                type=Number(0, 1),
                default=1e-4,
                show_default=True,
                help="Relative MIP gap at which the solver stops.",
            ),
            click.option(
                "--max-time",
                type=Number(0, low_open=True),
                default=None,
                help=f"Seconds for {covers}; when they run out the command stops with exit 1 and writes "
                "nothing. Default: no limit.",
            ),
        ]
    ):
        wrapper = option(wrapper)
    return wrapper


def _guard(
    outputs: dict[str, Path | None],
    scenarios: list[Path],
    catalog: Path | None,
    extra: list[Path] | None = None,
) -> None:
    """Refuse (exit 2) any output path that is a file the command reads: scenarios, catalog files, shocks."""
    from planner.inputs.catalog import CATALOG_FILES
    from planner.inputs.fileio import refuse_overwrite

    if all(out is None for out in outputs.values()):
        return
    inputs = [*scenarios, *(extra or [])]
    folders = {catalog} if catalog is not None else set()
    if catalog is None:
        from planner.inputs.catalog import DEFAULT_CATALOG
        from planner.inputs.scenario import load_scenario

        for path in scenarios:
            folders.add(load_scenario(path).catalog_path() or DEFAULT_CATALOG)
    for folder in folders:
        inputs += [
            folder / name for name in CATALOG_FILES
        ]  # what a catalog reads; other files are not inputs
    refuse_overwrite(outputs, inputs)


class FilePath(click.Path):
    """A file's path: a trailing ``/`` (a folder) is refused, not dropped, and so is a name the file system cannot hold."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, after the checks a path string needs before it becomes a Path."""
        text = os.fsdecode(value) if isinstance(value, (bytes, os.PathLike)) else str(value)
        if text.endswith(("/", os.sep)):
            self.fail(f"{text!r} ends with '/', which names a folder; give a file name", param, ctx)
        if len(os.fsencode(Path(text).name)) > NAME_MAX:
            self.fail(f"the file name in {text!r} is longer than {NAME_MAX} bytes", param, ctx)
        return super().convert(value, param, ctx)


FILE = FilePath()

CATALOG = click.option(
    "--catalog",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog folder (overrides the scenario's `catalog`; default catalogs/default).",
)


@contextlib.contextmanager
def progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (hidden when stderr is not a terminal); yields ``advance(n)``."""
    from rich.console import Console
    from rich.progress import Progress

    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=max(total, 1))
        yield lambda n: bar.advance(task, n)


class OneLineGroup(click.Group):
    """Usage errors (bad option values, missing arguments) as one line, like every other error."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; a usage error prints ``error: ...`` (with where to find help) and exits 2."""
        from planner.errors import one_line

        kwargs["standalone_mode"] = False
        try:
            super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.format_message())
            sys.exit(exc.exit_code)
        except click.exceptions.UsageError as exc:
            where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"error: {one_line(exc.format_message())}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("gpuplan: stopped by SIGINT", err=True)
            sys.exit(130)
        sys.exit(0)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gpuplan")
def main() -> None:
    """gpuplan: plan GPU purchases quarter by quarter under budget, supply, power and export rules."""
    from planner.interrupts import install

    install()


@main.command()
@click.argument("scenario", type=FILE)
@CATALOG
@click.option(
    "--format",
    "fmt",
    type=FORMATS,
    default="table",
    show_default=True,
    help="table: terminal report; json: the contract's JSON; csv: the purchase schedule.",
)
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write the plan to FILE: .xlsx workbook, .csv schedule or .json (an infeasible plan "
    "writes its diagnosis).",
)
@click.option(
    "--plot",
    type=FILE,
    default=None,
    help="Write a PNG chart of effective PFLOPS per quarter, stacked by chip category.",
)
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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: terminal report; json: binding, marginal, not_bought, limits, notes.",
)
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write the plan workbook (.xlsx) with Explain sheets, or the JSON (.json).",
)
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
    """What limits the plan, what one more unit of each limit buys, and why chips are not bought."""
    from planner.analyses.explaining import explain_plan, marginal_steps
    from planner.inputs.scenario import check_plain_objective, load_scenario
    from planner.outputs.export import check_out
    from planner.plans.plan import solve

    if out is not None:
        check_out(out, REPORT_OUT)
    _guard({"--out": out}, [scenario], catalog)
    loaded = load_scenario(scenario)
    check_plain_objective(loaded, "explain")  # before the solve
    solved = solve(loaded, catalog, options)
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
        from planner.outputs.render import console, explain_report

        explain_report(result, console())
    sys.exit(0 if result.status in ("optimal", "feasible") else 1)


@main.command("stress")
@click.argument("scenario", type=FILE)
@click.option(
    "--shocks",
    "shocks_file",
    required=True,
    type=FILE,
    help="Shock file (YAML): see budgets/shocks/.",
)
@CATALOG
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: terminal report; json: every figure.",
)
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write a workbook (.xlsx: exposure, stranded orders, changed orders, branches) or the "
    "JSON (.json).",
)
@click.option(
    "--plot",
    type=FILE,
    default=None,
    help="Write a PNG chart of effective PFLOPS over quarters per branch.",
)
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
    from planner.analyses.stressing import exposure_frame, stress
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
        result = stress(
            scenario, shocks, catalog, options, not no_robust, progress=advance, workers=workers
        ).to_dict()
    exposure = exposure_frame(result)
    if out is not None:
        from planner.outputs.workbook import write_stress_workbook

        _write_out(out, result, lambda path: write_stress_workbook(result, exposure, path))
    if plot is not None:
        from planner.outputs.charts import branches_png

        branches_png(result, plot)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        from planner.outputs.render import console, stress_report

        stress_report(result, exposure, console())
    sys.exit(0 if result["base"]["status"] in ("optimal", "feasible") else 1)


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
        from planner.outputs.render import console, reverse_report

        reverse_report(result, console())


@main.command("risk")
@click.argument("scenario", type=FILE)
@click.option(
    "--shocks",
    "shocks_file",
    required=True,
    type=FILE,
    help="Shock file (YAML) with a probability per shock and, optionally, distributions for amounts.",
)
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
@click.option(
    "--scheduler",
    default=None,
    help="Address of a running Dask scheduler (tcp://HOST:PORT) whose workers have gpuplan installed.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: distributions per plan; json: summaries and every sample.",
)
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write a workbook (.xlsx: Summary, Samples, Shocks) or the JSON (.json).",
)
@click.option(
    "--plot",
    type=FILE,
    default=None,
    help="Write a PNG of the outcome's distribution (CDF) for each plan.",
)
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
    from planner.analyses.analysis import usable_jobs
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
    if out is not None:
        from planner.outputs.workbook import write_risk_workbook

        _write_out(out, result, lambda path: write_risk_workbook(result, tables, path))
    if plot is not None:
        from planner.analyses.sampling import outcome_values
        from planner.outputs.charts import risk_cdf_png

        metric = tables.objective_metric
        risk_cdf_png({k: outcome_values(result, k, metric) for k in plans}, metric, result["scenario"], plot)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
    else:
        from planner.outputs.render import console, risk_report

        risk_report(result, tables, console())


@main.command("compare")
@click.argument("scenarios", nargs=-1, required=True, type=FILE)
@click.option(
    "--catalog",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog folder for every scenario (overrides their `catalog`).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: side by side; json: each plan's JSON.",
)
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write a workbook (.xlsx) with the comparison and each schedule, or the JSON (.json).",
)
@click.option(
    "--plot",
    type=FILE,
    default=None,
    help="Write a PNG chart of effective PFLOPS per quarter by chip category, a panel per scenario.",
)
@local_workers("solving the scenarios")
@click.option(
    "--scheduler",
    default=None,
    help="Solve on a running Dask cluster (tcp://HOST:PORT) whose workers have gpuplan installed.",
)
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
        from planner.outputs.workbook import write_compare_workbook

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
        from planner.outputs.render import comparison_tables, console

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
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write a workbook (.xlsx: a side-by-side sheet and one sheet per plan) or the JSON (.json).",
)
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
        from planner.outputs.workbook import write_alternatives_workbook

        _write_out(out, document, lambda path: write_alternatives_workbook(result, path))
    if fmt == "json":
        click.echo(json.dumps(document, indent=2))
    else:
        from planner.outputs.render import alternatives_report, console

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
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: one row per budget; json: the points.",
)
@click.option(
    "--plot",
    type=FILE,
    default=None,
    help="Write a PNG chart of the frontier (PFLOPS against budget, by category).",
)
@click.option(
    "--out",
    type=FILE,
    default=None,
    help="Also write the points to a workbook (.xlsx) or the JSON (.json).",
)
@click.option(
    "--scheduler",
    default=None,
    help="Solve the points on a running Dask cluster (tcp://HOST:PORT) instead of local processes (--jobs).",
)
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
        from planner.outputs.workbook import write_sweep_workbook

        _write_out(out, {"points": points}, lambda path: write_sweep_workbook(loaded.name, frame, path))
    if fmt == "json":
        click.echo(json.dumps({"points": points}, indent=2))
    else:
        from planner.outputs.render import console, sweep_table

        con = console()
        con.print(sweep_table(loaded.name, points, con))


CATALOG_DIR = click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))


def _catalog(folder: Path | None) -> Catalog:
    from planner.inputs.catalog import load_catalog

    return load_catalog(folder)


def _date(value: str | None) -> dt.date:
    import datetime as dt

    from planner.inputs.units import parse_date

    if value is None:
        return dt.date.today()
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--date") from None


def _country(value: str | None, option: str) -> str | None:
    """A country code in any case, upper-cased."""
    if value is None:
        return None
    from planner.inputs.countries import country_code

    try:
        return country_code(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def _destination(value: str) -> str:
    """The --destination country code, upper-cased."""
    code = _country(value, "--destination")
    assert code is not None
    return code


def _folder(folder: Path | None, catalog: Path | None) -> Path | None:
    if folder is not None and catalog is not None and folder != catalog:
        raise InputError(
            f"two catalog folders given ({folder} and --catalog {catalog}); give one", key="--catalog"
        )
    return catalog if catalog is not None else folder


CATALOG_OPTION = click.option(
    "--catalog",
    "catalog_opt",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Catalog folder (the same as FOLDER; default catalogs/default).",
)
WHO = [
    click.option(
        "--destination", required=True, help="ISO country code where the chips are deployed (any case)."
    ),
    click.option(
        "--headquarters",
        default=None,
        help="ISO country code of the buyer's headquarters (default: the destination).",
    ),
    click.option(
        "--kind",
        type=click.Choice(["buy", "lease"]),
        default="buy",
        show_default=True,
        help="buy: chips shipped to the destination; lease: capacity rented there.",
    ),
    click.option(
        "--site-tag",
        "site_tags",
        multiple=True,
        help="A tag of the receiving site, as a scenario's sites[].tags (repeat for several), "
        "e.g. state-funded.",
    ),
]


#: what ``--out`` writes for the analysis commands: the workbook, or the JSON ``--format json`` prints
REPORT_OUT = (".xlsx", ".json")


def _write_out(out: Path, document: Any, workbook: Callable[[Path], None]) -> None:
    """Write ``--out``: the JSON document for ``.json`` (as ``--format json`` prints it), else the workbook."""
    if out.suffix.lower() == ".json":
        from planner.inputs.fileio import write_text

        write_text(out, json.dumps(document, indent=2) + "\n")
    else:
        workbook(out)


def _site_tags(values: tuple[str, ...]) -> frozenset[str]:
    """``--site-tag`` values, checked as a scenario's site tags are."""
    from planner.inputs.catalog import site_tag_list

    try:
        return frozenset(site_tag_list(list(values)))
    except ValueError as exc:
        raise InputError(str(exc), key="--site-tag") from None


def who_options(fn: F) -> F:
    """Add the buyer and site options (--destination, --headquarters, --kind, --site-tag) to a command."""
    for option in reversed(WHO):
        fn = option(fn)
    return fn


@main.group()
def catalog() -> None:
    """Inspect, check and build chip catalogs (FOLDER defaults to the bundled catalogs/default)."""


@catalog.command()
@CATALOG_DIR
@CATALOG_OPTION
@reports_errors
def validate(folder: Path | None, catalog_opt: Path | None) -> None:
    """List every problem in a catalog folder (exit 2 when there is any)."""
    from planner.inputs.catalog import load_catalog

    problems: list[InputError] = []
    try:
        cat = load_catalog(_folder(folder, catalog_opt), collect=problems)
    except InputError as exc:  # a problem that stops reading (missing file or columns)
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
@CATALOG_OPTION
@click.option(
    "--format",
    "fmt",
    type=FORMATS,
    default="table",
    show_default=True,
    help="table: terminal tables; json; csv: the chip figures.",
)
@reports_errors
def show(folder: Path | None, catalog_opt: Path | None, fmt: str) -> None:
    """Chips with the figures a buyer compares, and the units offered per quarter."""
    from planner.outputs.catalog_report import chip_figures, offers_by_quarter

    cat = _catalog(_folder(folder, catalog_opt))
    figures, offers, leases = chip_figures(cat), offers_by_quarter(cat), offers_by_quarter(cat, "lease")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "chips": _records(figures),
                    "offers_per_quarter": {
                        sku: {q: int(v) for q, v in row.items()} for sku, row in offers.iterrows()
                    },
                    "leases_per_quarter": {
                        sku: {q: int(v) for q, v in row.items()} for sku, row in leases.iterrows()
                    },
                },
                indent=2,
            )
        )
    elif fmt == "csv":
        from planner.outputs.export import frame_csv

        click.echo(frame_csv(figures), nl=False)
    else:
        from planner.outputs.render import catalog_tables, console

        con = console()
        for table in catalog_tables(figures, offers, leases, con):
            con.print(table)


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    import math

    import pandas as pd

    from planner.inputs.tables import records

    return [
        {
            k: (
                None
                if v is pd.NA or (isinstance(v, float) and math.isnan(v))
                else round(v, 6)
                if isinstance(v, float)
                else v
            )
            for k, v in rec.items()
        }
        for rec in records(df)
    ]


@catalog.command("compliance")
@CATALOG_DIR
@CATALOG_OPTION
@who_options
@click.option("--date", "on", default=None, help="YYYY-MM-DD (default: today).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: terminal table; json.",
)
@reports_errors
def compliance_cmd(
    folder: Path | None,
    catalog_opt: Path | None,
    destination: str,
    headquarters: str | None,
    kind: str,
    site_tags: tuple[str, ...],
    on: str | None,
    fmt: str,
) -> None:
    """The export status of every chip for a destination, buyer and kind of offer on a date, with the rules and licence terms behind it."""
    from planner.outputs.catalog_report import compliance_listing

    listing = compliance_listing(
        _catalog(_folder(folder, catalog_opt)),
        _destination(destination),
        _date(on),
        _country(headquarters, "--headquarters"),
        kind,
        _site_tags(site_tags),
    )
    if fmt == "json":
        keys = ("sku", "model", "tpp", "pd", "status", "rules", "license")
        click.echo(
            json.dumps(
                {k: v for k, v in listing.items() if k != "unnamed"}
                | {"chips": [{k: c[k] for k in keys} for c in listing["chips"]]},
                indent=2,
            )
        )
    else:
        from planner.outputs.render import compliance_table, console

        con = console()
        con.print(compliance_table(listing, con))


@catalog.command()
@CATALOG_DIR
@CATALOG_OPTION
@who_options
@click.option("--sku", default=None, help="Only this chip.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: terminal table; json.",
)
@reports_errors
def timeline(
    folder: Path | None,
    catalog_opt: Path | None,
    destination: str,
    headquarters: str | None,
    kind: str,
    site_tags: tuple[str, ...],
    sku: str | None,
    fmt: str,
) -> None:
    """The dates on which each chip's status changes for a destination, buyer and kind of offer."""
    from planner.outputs.catalog_report import timeline as build

    cat = _catalog(_folder(folder, catalog_opt))
    if sku is not None and sku not in cat.chips.index:
        raise InputError(f"sku {sku!r} is not in {cat.folder / 'chips.csv'}", key="--sku")
    dest = _destination(destination)
    assert dest is not None
    hq = _country(headquarters, "--headquarters") or dest
    tags = _site_tags(site_tags)
    rows = build(cat, dest, sku, hq, kind, tags)
    if fmt == "json":
        head = {"destination": dest, "headquarters": hq, "kind": kind, "site_tags": sorted(tags)}
        click.echo(json.dumps(head | {"changes": rows}, indent=2))
    else:
        from planner.outputs.render import console, timeline_table

        con = console()
        con.print(timeline_table(dest, rows, con))


@catalog.command("import-epoch")
@click.argument("csv_file", type=FILE)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Catalog folder to write chips.csv into (created if missing; its parent must exist).",
)
@click.option(
    "--mapping",
    type=FILE,
    default=None,
    help="YAML with `manufacturers:` and `skus:` overrides (origin, category, efficiency...).",
)
@click.option(
    "--chips-per-server",
    type=click.IntRange(min=1, max=1024),
    default=8,
    show_default=True,
    help="Chips in each server of every imported chip (purchases are whole servers); --mapping may set it per SKU.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a folder that already holds files (replacing its chips.csv, offers.csv and export_rules.yaml).",
)
@click.option(
    "--host-overhead-w",
    type=Number(0),
    default=0.0,
    show_default=True,
    help="Watts added to each chip's TDP for its share of host and network.",
)
@reports_errors
def import_epoch_cmd(
    csv_file: Path,
    out_dir: Path,
    mapping: Path | None,
    chips_per_server: int,
    force: bool,
    host_overhead_w: float,
) -> None:
    """Build chips.csv from Epoch AI's Machine Learning Hardware CSV (CC BY 4.0)."""
    import yaml

    from planner.inputs.catalog import DEFAULT_CATALOG
    from planner.inputs.epoch import CREDIT, OFFERS_HEADER, chips_csv_text, import_epoch, rules_for
    from planner.inputs.fileio import refuse_overwrite, write_text

    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("is not a folder; give a folder for the catalog", file=str(out_dir), key="--out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise InputError(
            "already holds files; give an empty or new folder, or --force to replace its catalog files",
            file=str(out_dir),
            key="--out",
        )
    inputs = [csv_file, *([mapping] if mapping else [])]
    for name in ("chips.csv", "offers.csv", "export_rules.yaml"):
        refuse_overwrite({"--out": out_dir / name}, inputs)
    overrides = None
    if mapping is not None:
        from planner.inputs.yamlio import read_yaml

        overrides = read_yaml(mapping)
        if not isinstance(overrides, dict) or set(overrides) - {"manufacturers", "skus"}:
            raise InputError("expected the keys manufacturers and/or skus", file=str(mapping))
    report = import_epoch(csv_file, overrides, chips_per_server, host_overhead_w)
    if not out_dir.parent.is_dir():
        raise InputError(f"output folder {out_dir.parent} does not exist; create it first", file=str(out_dir))
    out_dir.mkdir(exist_ok=True)
    rules, notes = rules_for(set(report.chips["sku"]), DEFAULT_CATALOG / "export_rules.yaml")
    write_text(out_dir / "chips.csv", chips_csv_text(report.chips))
    write_text(out_dir / "offers.csv", OFFERS_HEADER)
    write_text(
        out_dir / "export_rules.yaml",
        "# The bundled catalog's export rules, SKU lists pointed at this catalog's chips (gpuplan catalog import-epoch)\n"
        + yaml.safe_dump(rules, sort_keys=False, allow_unicode=True),
    )
    click.echo(f"wrote {out_dir / 'chips.csv'}: {len(report.chips)} chips; data: {CREDIT}")
    click.echo(
        f"wrote {out_dir / 'offers.csv'} (a header to add offers under) and {out_dir / 'export_rules.yaml'}"
    )
    for note in notes:
        click.echo(f"  {note}")
    for row, name, why in report.skipped:
        click.echo(f"  skipped row {row} ({name}): {why}")
    agree = report.tpp_checked - len(report.tpp_mismatches)
    click.echo(
        f"TPP agrees with Epoch's 'Total processing performance' for {agree} of "
        f"{report.tpp_checked} rows that have it"
    )
    for sku, ours, theirs in report.tpp_mismatches:
        click.echo(f"  {sku}: TPP {ours:,.1f} from the rates, Epoch gives {theirs:,.1f}")


if __name__ == "__main__":  # python -m planner.cli
    main()


def _registry_commands() -> None:
    from planner.registry.cli import registry

    main.add_command(registry)


_registry_commands()
