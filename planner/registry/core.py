"""The registry's Python API: save, list, approve, lock, re-plan, diff and the audit trail."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from planner.errors import InputError, Setting
from planner.inputs.tables import records
from planner.model.runs import PLAN_STATUSES
from planner.registry import schema
from planner.registry.inputs import read_inputs
from planner.registry.store import (
    Event,
    Inputs,
    Version,
    _engine,
    _parse,
    current_revision,
    database_errors,
    insert_version,
    inserted_id,
    known_revisions,
    migrate,
    plain,
    quarter_key,
    read_text,
    utc,
    who,
)

if TYPE_CHECKING:
    from planner.model.runs import SolverOptions
    from planner.plans.results import Plan
    from planner.registry.diff import Diff
    from planner.registry.replan import Replanned

#: the columns of a firm-order table, in order
FIRM_COLUMNS = [
    "order_period",
    "delivery_period",
    "sku",
    "channel",
    "kind",
    "site",
    "country",
    "term_quarters",
    "servers",
    "chips",
    "cost_usd",
]


class Registry:
    """A plan registry in SQLite or PostgreSQL (open it with :func:`planner.registry.open`)."""

    def __init__(self, url: str) -> None:
        self._url = _parse(url)
        self.location = self._url.render_as_string(hide_password=True)
        with database_errors(self._url):
            self.engine = _engine(self._url)
            with self.transaction() as conn:  # a reader: no write lock when nothing is to migrate
                current = current_revision(conn)
            if current is None or current != known_revisions()[-1]:
                with self.transaction(write=True) as conn:
                    migrate(conn)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.location!r})"

    @contextlib.contextmanager
    def transaction(self, write: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        ``write``: SQLite takes its write lock at the start (``BEGIN IMMEDIATE``), so that two
        writers queue instead of failing on a lock upgrade; a reader never waits for a writer (WAL).
        """
        with (
            database_errors(self._url),
            self.engine.connect().execution_options(gpuplan_write=write) as conn,
            conn.begin(),
        ):
            yield conn

    # -- writing -----------------------------------------------------------------------------

    def save(
        self,
        scenario: Path,
        catalog: Path | None = None,
        options: SolverOptions | None = None,
        by: str | None = None,
    ) -> tuple[Version, Plan]:
        """Solve ``scenario`` and store the plan as a new version; a scenario with no plan stores nothing."""
        from planner.inputs.scenario import load_scenario
        from planner.model.runs import SolverOptions
        from planner.plans.plan import catalog_for, solve

        options = SolverOptions.of(options)
        loaded = load_scenario(scenario)
        cat = catalog_for(loaded, catalog)
        inputs = read_inputs(scenario, cat)
        start = time.perf_counter()
        plan = solve(loaded, cat, options)
        seconds = time.perf_counter() - start
        _require_plan(plan)
        from planner.outputs.export import plan_json

        new = self.store(
            inputs,
            plan_json(plan),
            "save",
            by,
            solver=options.solver,
            mip_gap=options.mip_gap,
            seconds=seconds,
        )
        return new, plan

    def save_plan(
        self, plan_file: Path, scenario: Path, catalog: Path | None = None, by: str | None = None
    ) -> Version:
        """Store a plan JSON written by ``gpuplan plan --format json`` with the inputs it was planned from."""
        from planner.inputs.scenario import load_scenario
        from planner.plans.plan import catalog_for

        loaded = load_scenario(scenario)
        cat = catalog_for(loaded, catalog)
        text = read_text(plan_file, "plan JSON")
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {exc.lineno}: not JSON ({exc.msg})", file=str(plan_file)) from None
        missing = [k for k in ("scenario", "status", "objective", "totals", "purchases") if k not in document]
        if not isinstance(document, dict) or missing:
            raise InputError(
                f"not a plan from `gpuplan plan --format json` (missing {', '.join(missing) or 'keys'})",
                file=str(plan_file),
            )
        if document["scenario"] != loaded.name:
            raise InputError(
                f"the plan is for scenario {document['scenario']!r}, the scenario file is {loaded.name!r}",
                file=str(plan_file),
                key="scenario",
            )
        if document["status"] not in PLAN_STATUSES:
            raise InputError(
                f"the plan's status is {document['status']!r}: only a plan with purchases is stored",
                file=str(plan_file),
                key="status",
            )
        return self.store(read_inputs(scenario, cat), text, "import", by)

    def store(
        self,
        inputs: Inputs,
        plan_text: str,
        origin: str,
        by: str | None,
        parent: int | None = None,
        solver: str | None = None,
        mip_gap: float | None = None,
        seconds: float | None = None,
    ) -> Version:
        """Insert a version (and its event) in one transaction."""
        author = who(by)
        with self.transaction(write=True) as conn:
            new_id = insert_version(conn, inputs, plan_text, origin, author, parent, solver, mip_gap, seconds)
        return self.version(new_id)

    def approve(self, version_id: int, note: str | None = None, by: str | None = None) -> Event:
        """Approve a version (a new event; a version is approved once)."""
        author = who(by)
        with self.transaction(write=True) as conn:
            version = self._version(conn, version_id)
            if version.approved:
                raise InputError(f"version {version_id} is already approved", key="ID")
            return self._event(conn, version_id, "approve", author, note)

    def lock(
        self, version_id: int, through: str, note: str | None = None, by: str | None = None
    ) -> tuple[Event, pd.DataFrame]:
        """Make the orders an approved version places up to quarter ``through`` firm; returns the lock and the firm orders."""
        author = who(by)
        with self.transaction(write=True) as conn:
            version = self._version(conn, version_id)
            if not version.approved:
                raise InputError(
                    f"version {version_id} is not approved; approve it before locking its orders", key="ID"
                )
            periods = [p["period"] for p in version.plan.get("periods", [])]
            if through not in periods:
                shown = f"{periods[0]} to {periods[-1]}" if periods else "none"
                raise InputError(
                    f"{through!r} is not a quarter of the plan (its quarters: {shown})", key=Setting.THROUGH
                )
            if version.locked_through is not None and quarter_key(through) < quarter_key(
                version.locked_through
            ):
                raise InputError(
                    f"orders through {version.locked_through} are already firm; a lock is never taken back",
                    key=Setting.THROUGH,
                )
            event = self._event(conn, version_id, "lock", author, note, through)
            firm = firm_lines(version.plan, through)
            rows = [r | {"event_id": event.id, "version_id": version_id} for r in records(firm)]
            if rows:
                conn.execute(sa.insert(schema.firm_orders), [plain(r) for r in rows])
        return event, firm

    def replan(
        self,
        version_id: int,
        scenario: Path | None = None,
        catalog: Path | None = None,
        shocks: Path | None = None,
        shock: str | None = None,
        options: SolverOptions | None = None,
        by: str | None = None,
    ) -> Replanned:
        """Solve an approved version again under new inputs, its firm orders fixed; stores the new version."""
        from planner.registry.replan import replan

        return replan(self, version_id, scenario, catalog, shocks, shock, options, by)

    # -- reading -----------------------------------------------------------------------------

    def version(self, version_id: int) -> Version:
        """One version, with whether it is approved and how far it is locked."""
        with self.transaction() as conn:
            return self._version(conn, version_id)

    def versions(self) -> list[Version]:
        """Every version, oldest first."""
        with self.transaction() as conn:
            rows = conn.execute(sa.select(schema.versions).order_by(schema.versions.c.id)).mappings().all()
            events = self._events(conn)
        return [_version(dict(r), [e for e in events if e.version_id == r["id"]]) for r in rows]

    def frame(self) -> pd.DataFrame:
        """Every version as a table (one row each)."""
        columns = [
            "id",
            "created_at",
            "created_by",
            "origin",
            "parent",
            "scenario",
            "status",
            "objective",
            "effective_pflops",
            "capex_usd",
            "lease_usd",
            "approved",
            "locked_through",
        ]
        return pd.DataFrame([{k: v.to_dict()[k] for k in columns} for v in self.versions()], columns=columns)

    def inputs(self, version_id: int) -> Inputs:
        """The files a version was planned from."""
        with self.transaction() as conn:
            row = _row(conn, version_id)
        return Inputs(
            row["scenario_file"],
            row["scenario_text"],
            json.loads(row["catalog_files"]),
            row["shock_text"],
            row["shock_name"],
        )

    def firm_orders(self, version_id: int) -> pd.DataFrame:
        """The orders the version's latest lock made firm (no rows when it is not locked)."""
        with self.transaction() as conn:
            lock = conn.execute(
                sa.select(sa.func.max(schema.events.c.id)).where(
                    (schema.events.c.version_id == version_id) & (schema.events.c.action == "lock")
                )
            ).scalar()
            if lock is None:
                return pd.DataFrame(columns=FIRM_COLUMNS)
            rows = (
                conn.execute(
                    sa.select(*[schema.firm_orders.c[k] for k in FIRM_COLUMNS])
                    .where(schema.firm_orders.c.event_id == lock)
                    .order_by(schema.firm_orders.c.id)
                )
                .mappings()
                .all()
            )
        frame = pd.DataFrame([dict(r) for r in rows], columns=FIRM_COLUMNS)
        frame["term_quarters"] = frame["term_quarters"].astype("Int64")
        return frame

    def history(self, version_id: int | None = None) -> list[Event]:
        """The audit trail, oldest first (of one version, or of all)."""
        with self.transaction() as conn:
            if version_id is not None:
                self._version(conn, version_id)
            return [e for e in self._events(conn) if version_id is None or e.version_id == version_id]

    def diff(self, a: int, b: int) -> Diff:
        """What changed from version ``a`` to version ``b``."""
        from planner.registry.diff import diff

        return diff(self, a, b)

    # -- rows --------------------------------------------------------------------------------

    def _version(self, conn: Connection, version_id: int) -> Version:
        return _version(_row(conn, version_id), self._events(conn, version_id))

    def _events(self, conn: Connection, version_id: int | None = None) -> list[Event]:
        query = sa.select(schema.events).order_by(schema.events.c.id)
        if version_id is not None:
            query = query.where(schema.events.c.version_id == version_id)
        return [
            Event(r["id"], r["version_id"], r["action"], utc(r["at"]), r["by"], r["note"], r["through"])
            for r in conn.execute(query).mappings()
        ]

    def _event(
        self,
        conn: Connection,
        version_id: int,
        action: str,
        by: str,
        note: str | None = None,
        through: str | None = None,
    ) -> Event:
        from planner.registry.store import now

        at = now()
        values = {
            "version_id": version_id,
            "action": action,
            "at": at,
            "by": by,
            "note": note,
            "through": through,
        }
        new_id = inserted_id(conn.execute(sa.insert(schema.events).values(**values)))
        return Event(new_id, version_id, action, at, by, note, through)


def _row(conn: Connection, version_id: int) -> dict[str, Any]:
    """A version's row; an unknown id is an input error."""
    row = (
        conn.execute(sa.select(schema.versions).where(schema.versions.c.id == version_id)).mappings().first()
    )
    if row is None:
        raise InputError(f"no version {version_id} in the registry", key="ID")
    return dict(row)


def _require_plan(plan: Plan) -> None:
    from planner.errors import NoPlan

    if not plan.ok:
        raise NoPlan(f"no plan to store: the scenario is {plan.status}; see `gpuplan plan` for why")


def _version(row: dict[str, Any], events: list[Event]) -> Version:
    locks = [e.through for e in events if e.action == "lock" and e.through is not None]
    return Version(
        id=row["id"],
        created_at=utc(row["created_at"]),
        created_by=row["created_by"],
        origin=row["origin"],
        parent_id=row["parent_id"],
        scenario_name=row["scenario_name"],
        scenario_file=row["scenario_file"],
        scenario_sha256=row["scenario_sha256"],
        catalog_sha256=row["catalog_sha256"],
        shock_name=row["shock_name"],
        status=row["status"],
        objective=row["objective"],
        solver=row["solver"],
        mip_gap=row["mip_gap"],
        run_seconds=row["run_seconds"],
        gpuplan_version=row["gpuplan_version"],
        plan_text=row["plan_json"],
        approved=any(e.action == "approve" for e in events),
        locked_through=max(locks, key=quarter_key) if locks else None,
    )


def firm_lines(plan: dict[str, Any], through: str) -> pd.DataFrame:
    """The purchase lines of a plan JSON ordered up to quarter ``through`` (the orders a lock makes firm)."""
    last = quarter_key(through)
    rows = [
        {k: p.get(k) for k in FIRM_COLUMNS}
        for p in plan.get("purchases", [])
        if quarter_key(p["order_period"]) <= last
    ]
    frame = pd.DataFrame(rows, columns=FIRM_COLUMNS)
    frame["term_quarters"] = frame["term_quarters"].astype("Int64")
    return frame
