"""The registry database: where it is, its schema revision, and the rows of versions and events.

Every write is one transaction; versions, events and firm orders are only ever inserted (an
approval, a lock or a re-plan is a new row). SQLite runs in WAL mode with ``BEGIN IMMEDIATE``
transactions and waits up to :data:`BUSY_SECONDS` for another writer; PostgreSQL serialises
migrations with an advisory lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from planner.errors import InputError, RegistryError, Setting
from planner.inputs.units import parse_quarter
from planner.registry import schema

#: how long a SQLite writer waits for another one before the command gives up
BUSY_SECONDS = 60.0
#: the file a registry is kept in when neither --db nor GPUPLAN_DB names one
DEFAULT_FILE = "gpuplan.db"
ENV = "GPUPLAN_DB"
MIGRATIONS = Path(__file__).parent / "migrations"
#: statuses of a plan that has purchases worth keeping


def resolve_url(db: str | None, beside: Path | None = None) -> str:
    """The registry's SQLAlchemy URL: ``db`` (a URL or a file path), else ``$GPUPLAN_DB``, else ``gpuplan.db`` beside ``beside`` (a scenario) or in the current folder."""
    text = db if db else os.environ.get(ENV) or None
    if text is None:
        folder = beside.parent if beside is not None else Path.cwd()
        return "sqlite:///" + str((folder / DEFAULT_FILE).absolute())
    if "://" not in text:
        return "sqlite:///" + str(Path(text).expanduser().absolute())
    return text


def redact(url: str) -> str:
    """The URL with its password shown as ``***`` (for every message and listing)."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _scrub(text: str, url: sa.URL) -> str:
    """A database error's text without the password, on one line, without SQLAlchemy's link."""
    text = text.split("\n(Background on this error")[0].strip()
    if url.password:
        text = text.replace(str(url.password), "***")
    return " ".join(text.split())


def _parse(url: str) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise InputError(
            "not a database URL; give a file path (SQLite) or postgresql://user@host/database",
            key=Setting.DB,
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise InputError(
            f"{backend!r} registries are not supported; use a file path (SQLite) or postgresql://...",
            key=Setting.DB,
        )
    if backend == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_file(url: sa.URL) -> None:
    """A new SQLite registry file is created readable and writable by its owner only."""
    name = url.database
    if not name or name == ":memory:":
        return
    path = Path(name)
    if not path.parent.is_dir():
        raise InputError(
            f"folder {str(path.parent)!r} does not exist; create it or choose another", key=Setting.DB
        )
    if path.is_dir():
        raise InputError(f"{name!r} is a folder; give a registry file", key=Setting.DB)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            os.chmod(path, 0o600)


def _engine(url: sa.URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        _sqlite_file(url)
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_SECONDS}, poolclass=sa.pool.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below, not by the driver
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # a writer takes the write lock at once (no deadlock upgrading a read lock); a reader
            # reads the last committed state without waiting (WAL)
            write = conn.get_execution_options().get("gpuplan_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine
    return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 10})


@contextlib.contextmanager
def database_errors(url: sa.URL) -> Iterator[None]:
    """Database failures as one :class:`RegistryError` line that never shows the password."""
    try:
        yield
    except sa.exc.DBAPIError as exc:  # OperationalError (unreachable, locked) and the driver's others
        text = str(exc.orig) if exc.orig is not None else str(exc)
        where = url.render_as_string(hide_password=True)
        if "database is locked" in text or "database is busy" in text:
            raise RegistryError(
                f"the registry {where} is busy: another gpuplan has been writing to it for "
                f"{BUSY_SECONDS:g} s; try again"
            ) from None
        raise RegistryError(f"registry {where}: {_scrub(text, url)}") from None


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def known_revisions() -> list[str]:
    """The schema revisions this gpuplan knows, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def current_revision(conn: Connection) -> str | None:
    """The schema revision the registry is at (None: a new, empty registry)."""
    if not sa.inspect(conn).has_table(schema.VERSION_TABLE):
        return None
    return conn.execute(sa.text(f"SELECT version_num FROM {schema.VERSION_TABLE}")).scalar()


def migrate(conn: Connection, target: str = "head") -> None:
    """Bring the registry's schema to ``target`` (in the caller's transaction); a registry from a newer gpuplan is refused."""
    from alembic import command

    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(74720113)"))  # one migration at a time
    known = known_revisions()
    current = current_revision(conn)
    if current is not None and current not in known:
        raise RegistryError(
            f"the registry is at schema revision {current}, written by a newer gpuplan (this one knows "
            f"{known[0]} to {known[-1]}); upgrade gpuplan to use it"
        )
    if target == "head" and current == known[-1]:
        return
    command.upgrade(_alembic_config(conn), target)


def now() -> dt.datetime:
    """The current time in UTC (stored with every row)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def utc(value: dt.datetime) -> dt.datetime:
    """A stored time as UTC (SQLite hands it back without its zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def who(by: str | None) -> str:
    """Who acts: ``--by``, else the operating-system user."""
    if by is not None:
        if not by.strip():
            raise InputError("must not be empty", key=Setting.BY)
        return by.strip()[:200]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def sha256(text: str) -> str:
    """SHA-256 of text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def catalog_sha256(files: dict[str, str]) -> str:
    """One hash over a catalog's files: each name and content, in name order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode("utf-8") + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def read_text(path: Path, what: str) -> str:
    """A stored input file's text: UTF-8, no NUL characters (a database text column holds neither)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror or exc})", file=str(path)) from None
    if "\0" in text:
        raise InputError(f"{what} holds a NUL character", file=str(path))
    return text


@dataclass(frozen=True)
class Inputs:
    """The files a version was planned from, as stored: the scenario, the catalog and an applied shock."""

    scenario_file: str  # the scenario's file name (its stem names the scenario)
    scenario_text: str
    catalog_files: dict[str, str]
    shock_text: str | None = None
    shock_name: str | None = None

    @property
    def scenario_sha256(self) -> str:
        """SHA-256 of the scenario file."""
        return sha256(self.scenario_text)

    @property
    def catalog_sha256(self) -> str:
        """One hash over the catalog files."""
        return catalog_sha256(self.catalog_files)


@dataclass(frozen=True)
class Event:
    """One row of the audit trail."""

    id: int
    version_id: int
    action: str
    at: dt.datetime
    by: str
    note: str | None = None
    through: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON values."""
        return {
            "id": self.id,
            "version": self.version_id,
            "action": self.action,
            "at": self.at.isoformat(),
            "by": self.by,
            "note": self.note,
            "through": self.through,
        }


@dataclass(frozen=True)
class Version:
    """A stored plan version with what was done to it since."""

    id: int
    created_at: dt.datetime
    created_by: str
    origin: str
    parent_id: int | None
    scenario_name: str
    scenario_file: str
    scenario_sha256: str
    catalog_sha256: str
    shock_name: str | None
    status: str
    objective: str
    solver: str | None
    mip_gap: float | None
    run_seconds: float | None
    gpuplan_version: str
    plan_text: str = field(repr=False)
    approved: bool = False
    locked_through: str | None = None

    @property
    def plan(self) -> dict[str, Any]:
        """The stored plan, the contract's JSON document."""
        document: dict[str, Any] = json.loads(self.plan_text)
        return document

    def to_dict(self) -> dict[str, Any]:
        """The version's fields as JSON values (the plan itself: :attr:`plan`)."""
        totals = self.plan.get("totals", {})
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "origin": self.origin,
            "parent": self.parent_id,
            "scenario": self.scenario_name,
            "scenario_file": self.scenario_file,
            "scenario_sha256": self.scenario_sha256,
            "catalog_sha256": self.catalog_sha256,
            "shock": self.shock_name,
            "status": self.status,
            "objective": self.objective,
            "solver": self.solver,
            "mip_gap": self.mip_gap,
            "run_seconds": self.run_seconds,
            "gpuplan_version": self.gpuplan_version,
            "approved": self.approved,
            "locked_through": self.locked_through,
            "effective_pflops": totals.get("effective_pflops"),
            "capex_usd": totals.get("capex_usd"),
            "lease_usd": totals.get("lease_usd"),
        }


def insert_version(
    conn: Connection,
    inputs: Inputs,
    plan_text: str,
    origin: str,
    by: str,
    parent: int | None = None,
    solver: str | None = None,
    mip_gap: float | None = None,
    run_seconds: float | None = None,
) -> int:
    """Insert a version and its creating event (one transaction, the caller's); returns its id."""
    from planner.outputs.workbook import gpuplan_version

    document = json.loads(plan_text)
    at = now()
    row = {
        "created_at": at,
        "created_by": by,
        "origin": origin,
        "parent_id": parent,
        "scenario_name": str(document.get("scenario", "")),
        "scenario_file": inputs.scenario_file,
        "scenario_text": inputs.scenario_text,
        "scenario_sha256": inputs.scenario_sha256,
        "catalog_files": json.dumps(inputs.catalog_files, sort_keys=True),
        "catalog_sha256": inputs.catalog_sha256,
        "shock_text": inputs.shock_text,
        "shock_name": inputs.shock_name,
        "plan_json": plan_text,
        "status": str(document.get("status", "")),
        "objective": str(document.get("objective", "")),
        "solver": solver,
        "mip_gap": mip_gap,
        "run_seconds": run_seconds,
        "gpuplan_version": gpuplan_version(),
    }
    new_id = inserted_id(conn.execute(sa.insert(schema.versions).values(**row)))
    conn.execute(sa.insert(schema.events).values(version_id=new_id, action=origin, at=at, by=by))
    return new_id


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the row an INSERT wrote."""
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def plain(rec: dict[str, Any]) -> dict[str, Any]:
    """A record's values as plain Python (NumPy scalars unwrapped; a missing value is None): bound parameters and JSON alike."""
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out[k] = None
        elif hasattr(v, "item"):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def quarter_key(period: str) -> int:
    """A quarter name's position in time, for comparisons."""
    return parse_quarter(period)
