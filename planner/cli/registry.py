"""``gpuplan registry``: keep plan versions, approve and lock them, re-plan around firm orders, diff."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from planner.cli.options import (
    CATALOG,
    FILE,
    MAX_TIME_COVERS,
    format_option,
    main,
    out_option,
    reports_errors,
    solver_options,
)
from planner.errors import InputError

if TYPE_CHECKING:
    from planner.model.runs import SolverOptions
    from planner.registry.core import Registry

MAX_TIME_COVERS["save_cmd"] = "solving the plan to store"
MAX_TIME_COVERS["replan_cmd"] = "the re-plan and the check of the approved plan"

FORMAT = format_option("the same as a JSON document")


DB = click.option(
    "--db",
    default=None,
    metavar="PATH|URL",
    help="The registry: a SQLite file or postgresql://user:password@host/database. Default: "
    "$GPUPLAN_DB, else gpuplan.db beside the scenario (save) or in the current folder.",
)
BY = click.option(
    "--by",
    default=None,
    help="Who acts, for the audit trail (default: the operating-system user).",
)


def _open(db: str | None, beside: Path | None = None, create: bool = False) -> Registry:
    """Open the registry; only ``save`` creates a new SQLite file, the other commands need one."""
    import sqlalchemy as sa

    from planner.registry.core import Registry
    from planner.registry.store import ENV, resolve_url

    url = resolve_url(db, beside)
    if not create and url.startswith("sqlite"):
        name = sa.make_url(url).database
        if name and name != ":memory:" and not Path(name).exists():
            source = "--db" if db else ENV if os.environ.get(ENV) else "the default"
            raise InputError(
                f"no registry at {name} ({source}); `gpuplan registry save SCENARIO` makes one beside the "
                "scenario, or name one with --db or GPUPLAN_DB",
                key="--db",
            )
    return Registry(url)


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2))


@main.group("registry")
def registry() -> None:
    """Keep plan versions: save, approve, lock firm orders, re-plan around them, diff, history."""


@registry.command("save")
@click.argument("scenario", type=FILE)
@CATALOG
@click.option(
    "--from",
    "from_json",
    type=FILE,
    default=None,
    help="Store this plan JSON (from `gpuplan plan --format json`) instead of solving.",
)
@DB
@BY
@FORMAT
@solver_options
@reports_errors
def save_cmd(
    scenario: Path,
    catalog: Path | None,
    from_json: Path | None,
    db: str | None,
    by: str | None,
    fmt: str,
    options: SolverOptions,
) -> None:
    """Solve SCENARIO (or take --from) and store the plan as a new version; prints its id."""
    with _open(db, scenario, create=True) as reg:
        if from_json is not None:
            version = reg.save_plan(from_json, scenario, catalog, by)
        else:
            version, _ = reg.save(scenario, catalog, options, by)
        if fmt == "json":
            _echo_json(version.to_dict())
        else:
            click.echo(
                f"saved version {version.id} ({version.scenario_name}, {version.status}) in {reg.location}"
            )


@registry.command("list")
@DB
@FORMAT
@reports_errors
def list_cmd(db: str | None, fmt: str) -> None:
    """Every plan version, oldest first."""
    with _open(db) as reg:
        versions = reg.versions()
        if fmt == "json":
            _echo_json([v.to_dict() for v in versions])
            return
        from planner.outputs.render import console
        from planner.registry.report import versions_table

        versions_table(versions, reg.location, console())


@registry.command("show")
@click.argument("version_id", metavar="ID", type=click.IntRange(min=1))
@DB
@FORMAT
@reports_errors
def show_cmd(version_id: int, db: str | None, fmt: str) -> None:
    """One version: its record and orders (json: the stored plan, the contract's JSON)."""
    with _open(db) as reg:
        version = reg.version(version_id)
        if fmt == "json":
            click.echo(version.plan_text, nl=False)
            return
        from planner.outputs.render import console
        from planner.registry.report import version_report

        version_report(version, console())


@registry.command("approve")
@click.argument("version_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--note", default=None, help="Why, or by whose decision (kept in the history).")
@DB
@BY
@FORMAT
@reports_errors
def approve_cmd(version_id: int, note: str | None, db: str | None, by: str | None, fmt: str) -> None:
    """Approve version ID (once; the approval is a new row of the history)."""
    with _open(db) as reg:
        event = reg.approve(version_id, note, by)
        if fmt == "json":
            _echo_json(event.to_dict())
        else:
            click.echo(f"version {version_id} approved by {event.by} (event {event.id})")


@registry.command("lock")
@click.argument("version_id", metavar="ID", type=click.IntRange(min=1))
@click.option(
    "--through", required=True, metavar="QUARTER", help="Orders placed up to this quarter become firm."
)
@click.option("--note", default=None, help="Kept in the history.")
@DB
@BY
@FORMAT
@reports_errors
def lock_cmd(
    version_id: int, through: str, note: str | None, db: str | None, by: str | None, fmt: str
) -> None:
    """Make the orders of approved version ID placed up to --through firm."""
    from planner.inputs.units import parse_quarter, quarter_name

    try:
        through = quarter_name(parse_quarter(through))
    except ValueError:
        raise InputError(f"{through!r} is not a quarter such as 2025Q2", key="--through") from None
    with _open(db) as reg:
        event, firm = reg.lock(version_id, through, note, by)
        if fmt == "json":
            from planner.inputs.tables import records
            from planner.registry.store import plain

            _echo_json(event.to_dict() | {"firm_orders": [plain(r) for r in records(firm)]})
        else:
            chips = int(firm["chips"].sum()) if len(firm) else 0
            click.echo(
                f"version {version_id}: {len(firm)} order lines through {through} are firm "
                f"({chips:,} chips; event {event.id})"
            )


@registry.command("replan")
@click.argument("version_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--scenario", type=FILE, default=None, help="A new scenario file (default: the version's).")
@CATALOG
@click.option(
    "--shocks", type=FILE, default=None, help="A shock file; with --shock, apply one of its shocks."
)
@click.option("--shock", default=None, metavar="NAME", help="The name of the shock in --shocks to apply.")
@DB
@BY
@FORMAT
@solver_options
@reports_errors
def replan_cmd(
    version_id: int,
    scenario: Path | None,
    catalog: Path | None,
    shocks: Path | None,
    shock: str | None,
    db: str | None,
    by: str | None,
    fmt: str,
    options: SolverOptions,
) -> None:
    """Solve approved version ID again under new inputs, its firm orders fixed; stores and prints the new version."""
    with _open(db) as reg:
        result = reg.replan(version_id, scenario, catalog, shocks, shock, options, by)
        if fmt == "json":
            _echo_json(result.to_dict())
            return
        from planner.outputs.render import console
        from planner.registry.report import replan_report

        replan_report(result, console())


@registry.command("diff")
@click.argument("before", metavar="A", type=click.IntRange(min=1))
@click.argument("after", metavar="B", type=click.IntRange(min=1))
@out_option("the diff to FILE: .xlsx workbook or .json")
@DB
@FORMAT
@reports_errors
def diff_cmd(before: int, after: int, out: Path | None, db: str | None, fmt: str) -> None:
    """Order lines added, removed and changed from version A to B, and the totals; firm orders marked."""
    from planner.cli.options import REPORT_OUT, _write_out
    from planner.outputs.export import check_out

    if out is not None:
        check_out(out, REPORT_OUT)
    with _open(db) as reg:
        d = reg.diff(before, after)
    if out is not None:
        _write_out(out, d.to_dict(), d.write_workbook)
    if fmt == "json":
        _echo_json(d.to_dict())
        return
    from planner.outputs.render import console
    from planner.registry.report import diff_report

    diff_report(d, console())


@registry.command("history")
@click.argument("version_id", metavar="[ID]", required=False, type=click.IntRange(min=1))
@DB
@FORMAT
@reports_errors
def history_cmd(version_id: int | None, db: str | None, fmt: str) -> None:
    """The audit trail: every save, approval, lock and re-plan (of version ID, or all)."""
    with _open(db) as reg:
        events = reg.history(version_id)
    if fmt == "json":
        _echo_json([e.to_dict() for e in events])
        return
    from planner.outputs.render import console
    from planner.registry.report import history_table

    history_table(events, console())
