"""Options, argument types, error reporting and the ``gpuplan`` group, shared by every command."""

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
from planner.model.choices import Solver

if TYPE_CHECKING:
    pass


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
            _fail(f"error: {exc.for_cli()}", 2)
        except (SolverError, OutputError, RegistryError, NoPlan) as exc:
            _fail(f"{'solver error' if isinstance(exc, SolverError) else 'error'}: {exc.for_cli()}", 1)
        except PlannerError as exc:
            _fail(f"error: {exc.for_cli()}", 2)
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


def format_option(what: str, csv: str | None = None) -> Callable[[F], F]:
    """``--format table|json`` (``|csv`` when ``csv`` says what the CSV holds; default table): ``what`` says what the JSON holds."""
    return click.option(
        "--format",
        "fmt",
        type=FORMATS if csv else click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=f"table: for the terminal; json: {what}" + (f"; csv: {csv}." if csv else "."),
    )


def out_option(what: str) -> Callable[[F], F]:
    """``--out FILE``: also write ``what`` (the suffix says which form)."""
    return click.option("--out", type=FILE, default=None, help=f"Also write {what}.")


def shocks_option(what: str) -> Callable[[F], F]:
    """``--shocks FILE`` (required; the parameter ``shocks_file``): ``what`` says what the file must hold."""
    return click.option("--shocks", "shocks_file", required=True, type=FILE, help=f"Shock file (YAML){what}.")


def plot_option(what: str) -> Callable[[F], F]:
    """``--plot FILE.png``: a chart of ``what``."""
    return click.option("--plot", type=FILE, default=None, help=f"Write a PNG chart of {what}.")


def scheduler_option(what: str) -> Callable[[F], F]:
    """``--scheduler tcp://HOST:PORT``: run ``what`` on a running Dask cluster instead of local processes."""
    return click.option(
        "--scheduler",
        default=None,
        help=f"Run {what} on a running Dask cluster (tcp://HOST:PORT) whose workers have gpuplan installed, "
        "instead of local processes.",
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

        from planner.model.runs import SolverOptions

        deadline = None if max_time is None else time.time() + max_time
        options = SolverOptions(solver=solver, time_limit=time_limit, mip_gap=mip_gap, deadline=deadline)
        return fn(*args, options=options, **kwargs)

    for option in reversed(
        [
            click.option(
                "--solver",
                type=click.Choice([s.value for s in Solver]),
                default=Solver.HIGHS.value,
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
    help="Catalog folder (over a scenario's `catalog`, the same as a catalog command's FOLDER; default "
    "catalogs/default).",
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


#: what ``--out`` writes for the analysis commands: the workbook, or the JSON ``--format json`` prints
REPORT_OUT = (".xlsx", ".json")


def _write_out(out: Path, document: Any, workbook: Callable[[Path], None]) -> None:
    """Write ``--out``: the JSON document for ``.json`` (as ``--format json`` prints it), else the workbook."""
    if out.suffix.lower() == ".json":
        from planner.inputs.fileio import write_text

        write_text(out, json.dumps(document, indent=2) + "\n")
    else:
        workbook(out)
