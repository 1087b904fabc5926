"""The plan registry on SQLite and PostgreSQL: the full cycle, append-only rows, safety, concurrency.

PostgreSQL runs when ``GPUPLAN_TEST_PG`` names a server (``.ci/run`` starts one and sets
``GPUPLAN_REQUIRE_PG``, so in CI these tests fail rather than skip without it).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import contract
import openpyxl
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from planner import registry
from planner.cli import main
from planner.errors import InputError, NoPlan, RegistryError
from planner.registry import schema
from planner.registry.store import known_revisions, migrate

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "budgets" / "base-7b.yaml"
SHORTFALL = ROOT / "budgets" / "shocks" / "domestic-shortfall.yaml"
REMOTE = ROOT / "budgets" / "shocks" / "remote-access-2025.yaml"
PG = os.environ.get("GPUPLAN_TEST_PG")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path):
    """A new, empty registry: a SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield str(tmp_path / "plans.db")
        return
    yield from _postgresql()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database (the password tests need a server)."""
    yield from _postgresql()


def _postgresql():
    if not PG:
        if os.environ.get("GPUPLAN_REQUIRE_PG"):
            pytest.fail("GPUPLAN_TEST_PG is not set: .ci/run starts PostgreSQL and sets it")
        pytest.skip("no PostgreSQL server (set GPUPLAN_TEST_PG; `bash .ci/postgres` starts one)")
    admin = sa.create_engine(
        PG.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"gpuplan_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield sa.make_url(PG).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(scope="module")
def base_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base-7b's plan as `gpuplan plan --format json` writes it."""
    out = tmp_path_factory.mktemp("plan") / "base-7b.json"
    result = CliRunner().invoke(main, ["plan", str(BASE), "--format", "json"])
    assert result.exit_code == 0, result.output
    out.write_text(result.output)
    return out


def _lines(plan: dict) -> dict[tuple, int]:
    from planner.registry.replan import line_key

    return {line_key(p): p["servers"] for p in plan["purchases"]}


def test_full_cycle_keeps_the_firm_orders(url: str) -> None:
    with registry.open(url) as reg:
        v1, _ = reg.save(BASE, by="planner-a")
        reg.approve(v1.id, note="board")
        _, firm = reg.lock(v1.id, "2025Q2", by="planner-b")
        # the firm orders are the approved plan's lines ordered in 2025Q1 and 2025Q2, and nothing else
        approved = v1.plan["purchases"]
        assert len(firm) == sum(p["order_period"] in ("2025Q1", "2025Q2") for p in approved) > 0
        assert set(firm["order_period"]) == {"2025Q1", "2025Q2"}
        r = reg.replan(v1.id, shocks=SHORTFALL, shock="Huawei supply halved from Q3")
        assert not r.kept_approved and r.stranded == []
        new = r.version.plan
        before, after = _lines(v1.plan), _lines(new)
        firm_keys = {k for k in before if k[0] in ("2025Q1", "2025Q2")}
        assert {k: after.get(k) for k in firm_keys} == {k: before[k] for k in firm_keys}
        assert {k for k in after if k[0] in ("2025Q1", "2025Q2")} == firm_keys  # no new order in the past
        # the shock halves Huawei's direct supply from 2025Q3: the re-plan keeps within it
        for p in new["purchases"]:
            if (
                p["sku"].startswith("huawei")
                and p["channel"] == "huawei-direct"
                and p["order_period"] >= "2025Q3"
            ):
                assert p["chips"] <= 0.5 * {"huawei-ascend-910b": 16000, "huawei-ascend-910c": 12000}.get(
                    p["sku"], 10**9
                )
        assert r.version.parent_id == v1.id and r.version.origin == "replan"
        assert r.version.shock_name == "Huawei supply halved from Q3"
        d = reg.diff(v1.id, r.version.id)
        assert not d.lines.empty and not d.lines["firm"].any()  # firm lines never change
        assert set(d.lines["order_period"]) <= {"2025Q3", "2025Q4"}
        compute = d.totals.set_index("metric").loc["effective_pflops"]
        assert compute["change"] == pytest.approx(compute["after"] - compute["before"])
        assert compute["after"] == new["totals"]["effective_pflops"]


def test_a_replan_with_nothing_changed_gives_the_approved_plan(url: str) -> None:
    with registry.open(url) as reg:
        v1, _ = reg.save(BASE)
        reg.approve(v1.id)
        reg.lock(v1.id, "2025Q1")
        r = reg.replan(v1.id)
        assert r.kept_approved
        assert r.version.plan_text == v1.plan_text
        assert reg.diff(v1.id, r.version.id).lines.empty


def test_a_catalog_change_replans_within_the_contract(url: str, tmp_path: Path) -> None:
    """A new catalog (the 910C's direct supply from 2025Q3 cut to 1,000): the re-plan meets every constraint of the new inputs."""
    folder = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalogs" / "default", folder)
    offers = folder / "offers.csv"
    lines = offers.read_text().splitlines(keepends=True)
    cut = 0
    for i, line in enumerate(lines):
        cells = line.split(",")
        if cells[:2] == ["huawei-ascend-910c", "huawei-direct"] and cells[2] >= "2025Q3":
            cells[3] = "1000"
            lines[i] = ",".join(cells)
            cut += 1
    assert cut
    offers.write_text("".join(lines))
    with registry.open(url) as reg:
        v1, _ = reg.save(BASE)
        reg.approve(v1.id)
        reg.lock(v1.id, "2025Q2")
        r = reg.replan(v1.id, catalog=folder)
        contract.check_plan(contract.load(BASE, folder), r.version.plan)
        assert reg.inputs(r.version.id).catalog_files["offers.csv"] == offers.read_text()
        assert r.version.catalog_sha256 != v1.catalog_sha256
        assert r.version.scenario_sha256 == v1.scenario_sha256


def test_stranded_firm_leases_are_reported_with_their_cost(url: str) -> None:
    """The remote-access rule from 2025Q3: a firm 4-quarter H100 lease in the UAE signed in 2025Q1 (500 servers of 8 at $4,829 a chip-quarter) is paid for 2025Q3-Q4 and serves nothing then."""
    with registry.open(url) as reg:
        v1, _ = reg.save(BASE)
        reg.approve(v1.id)
        reg.lock(v1.id, "2025Q2")
        r = reg.replan(v1.id, shocks=REMOTE, shock="Remote-access rule on leases abroad")
        line = next(
            s
            for s in r.stranded
            if (s["order_period"], s["sku"], s["channel"]) == ("2025Q1", "nvidia-h100-sxm", "cloud-ae")
        )
        assert line["chips"] == 4000 and line["cost_usd"] == pytest.approx(4000 * 4829 * 2)
        assert r.stranded_usd == pytest.approx(sum(s["cost_usd"] for s in r.stranded))
        assert all(s["kind"] == "lease" for s in r.stranded)
        # stranded, not dropped: the firm lease is still in the new version's orders
        key = ("2025Q1", "nvidia-h100-sxm", "cloud-ae", "lease", None, "AE", 4)
        assert _lines(r.version.plan)[key] == _lines(v1.plan)[key]


def test_rows_are_only_ever_added(url: str) -> None:
    with registry.open(url) as reg:
        v1, _ = reg.save(BASE)
        with reg.transaction() as conn:
            first = [tuple(r) for r in conn.execute(sa.select(schema.versions))]
        reg.approve(v1.id)
        reg.lock(v1.id, "2025Q1")
        reg.lock(v1.id, "2025Q2")
        reg.replan(v1.id)
        with reg.transaction() as conn:
            rows = [tuple(r) for r in conn.execute(sa.select(schema.versions).order_by(schema.versions.c.id))]
            firm = conn.execute(sa.select(sa.func.count()).select_from(schema.firm_orders)).scalar()
        assert rows[0] == first[0] and len(rows) == 2
        assert [e.action for e in reg.history()] == ["save", "approve", "lock", "lock", "replan"]
        assert [e.action for e in reg.history(v1.id)] == ["save", "approve", "lock", "lock"]
        q1 = sum(p["order_period"] == "2025Q1" for p in v1.plan["purchases"])
        q2 = sum(p["order_period"] == "2025Q2" for p in v1.plan["purchases"])
        assert firm == q1 + (q1 + q2)  # each lock writes its own firm rows
        assert len(reg.firm_orders(v1.id)) == q1 + q2  # the latest lock counts
        assert reg.version(v1.id).locked_through == "2025Q2"


def test_steps_out_of_order_are_refused_with_what_to_do(url: str) -> None:
    with registry.open(url) as reg:
        v1, _ = reg.save(BASE)
        with pytest.raises(
            InputError, match=r"^key ID: version 1 is not approved; approve it before locking"
        ):
            reg.lock(v1.id, "2025Q2")
        with pytest.raises(InputError, match=r"^key ID: version 1 is not approved; only an approved plan"):
            reg.replan(v1.id)
        reg.approve(v1.id)
        with pytest.raises(InputError, match=r"^key ID: version 1 is already approved$"):
            reg.approve(v1.id)
        with pytest.raises(
            InputError, match=r"'2026Q1' is not a quarter of the plan \(its quarters: 2025Q1 to"
        ):
            reg.lock(v1.id, "2026Q1")
        reg.lock(v1.id, "2025Q3")
        with pytest.raises(
            InputError, match=r"orders through 2025Q3 are already firm; a lock is never taken back"
        ):
            reg.lock(v1.id, "2025Q2")
        with pytest.raises(InputError, match=r"^key ID: no version 7 in the registry$"):
            reg.version(7)
        with pytest.raises(InputError, match="^key shock: shocks FILE and shock NAME go together$") as err:
            reg.replan(v1.id, shocks=SHORTFALL)
        assert err.value.for_cli() == "key --shock: --shocks FILE and --shock NAME go together"
        with pytest.raises(
            InputError, match=r"no shock named 'nope' in the shock file; it has Huawei supply"
        ):
            reg.replan(v1.id, shocks=SHORTFALL, shock="nope")


def test_text_reaches_the_database_as_bound_parameters(url: str, tmp_path: Path) -> None:
    hostile = "x'); DROP TABLE versions; --"
    scenario = tmp_path / "hostile.yaml"
    scenario.write_text(BASE.read_text().replace("name: base-7b", f'name: "{hostile}"', 1))
    assert hostile in scenario.read_text()
    with registry.open(url) as reg:
        v1, _ = reg.save(scenario, catalog=ROOT / "catalogs" / "default", by=hostile)
        reg.approve(v1.id, note=hostile)
        assert reg.version(v1.id).scenario_name == hostile
        assert reg.version(v1.id).created_by == hostile
        assert [v.scenario_name for v in reg.versions()] == [hostile]
        assert reg.history()[-1].note == hostile


def test_a_plan_json_is_stored_as_given(url: str, base_json: Path) -> None:
    with registry.open(url) as reg:
        v = reg.save_plan(base_json, BASE)
        assert v.plan_text == base_json.read_text() and v.origin == "import" and v.solver is None
        other = base_json.parent / "other.json"
        other.write_text(base_json.read_text().replace('"scenario": "base-7b"', '"scenario": "other"'))
        with pytest.raises(
            InputError, match=r"the plan is for scenario 'other', the scenario file is 'base-7b'"
        ):
            reg.save_plan(other, BASE)


def test_an_infeasible_scenario_stores_nothing(url: str, tmp_path: Path) -> None:
    scenario = tmp_path / "impossible.yaml"
    text = BASE.read_text()
    scenario.write_text(
        text + "\ntargets:\n  2025Q4: {pflops: 100000000}\n" if "targets:" not in text else text
    )
    with registry.open(url) as reg:
        with pytest.raises(NoPlan, match="no plan to store: the scenario is infeasible"):
            reg.save(scenario, catalog=ROOT / "catalogs" / "default")
        assert reg.versions() == []


def _save_many(url: str, plan: str, n: int, who: str) -> None:
    with registry.open(url) as reg:
        for _ in range(n):
            reg.save_plan(Path(plan), BASE, by=who)


def test_concurrent_saves_lose_nothing(url: str, base_json: Path) -> None:
    registry.open(url).close()  # created (and migrated) once; both writers then race on rows only
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_save_many, args=(url, str(base_json), 10, f"w{i}")) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
        assert w.exitcode == 0
    with registry.open(url) as reg:
        versions = reg.versions()
        assert len(versions) == 20 and len({v.id for v in versions}) == 20
        assert sorted(v.created_by for v in versions) == ["w0"] * 10 + ["w1"] * 10
        events = reg.history()
        assert sorted(e.version_id for e in events) == sorted(v.id for v in versions)


def test_a_killed_save_leaves_the_registry_consistent(url: str, base_json: Path) -> None:
    registry.open(url).close()
    code = (
        "import sys; from pathlib import Path; from planner import registry\n"
        "reg = registry.open(sys.argv[1])\n"
        "while True: reg.save_plan(Path(sys.argv[2]), Path(sys.argv[3]))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, url, str(base_json), str(BASE)])
    with registry.open(url) as reg:
        deadline = time.time() + 120
        while len(reg.versions()) < 5 and time.time() < deadline:
            time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with registry.open(url) as reg:
        versions = reg.versions()
        assert len(versions) >= 5
        created = [e.version_id for e in reg.history() if e.action == "import"]
        assert created == [v.id for v in versions]  # every version has its event, no event is orphaned
        assert all(v.plan_text == base_json.read_text() for v in versions)
        reg.save_plan(base_json, BASE)  # and it takes new writes
        if url.endswith(".db"):
            with reg.transaction() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def test_a_newer_registry_is_refused(url: str) -> None:
    registry.open(url).close()
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {schema.VERSION_TABLE} SET version_num = 'r9999'"))
    engine.dispose()
    last = known_revisions()[-1]
    with pytest.raises(
        RegistryError,
        match=rf"at schema revision r9999, written by a newer gpuplan \(this one knows r0001 to {last}\); upgrade gpuplan",
    ):
        registry.open(url)


def test_an_older_registry_is_upgraded_and_keeps_its_rows(url: str, base_json: Path) -> None:
    engine = sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://") if "://" in url else f"sqlite:///{url}"
    )
    with engine.begin() as conn:
        migrate(conn, "r0001")
        assert not sa.inspect(conn).has_table("firm_orders")
    engine.dispose()
    with registry.open(url) as reg:
        v = reg.save_plan(base_json, BASE)
        reg.approve(v.id)
    with registry.open(url) as reg:  # a second open finds the head and does nothing
        assert [x.id for x in reg.versions()] == [v.id]
        with reg.transaction() as conn:
            inspector = sa.inspect(conn)
            for table in schema.metadata.sorted_tables:  # the migrations build what schema.py queries
                columns = {c["name"] for c in inspector.get_columns(table.name)}
                assert columns == {c.name for c in table.columns}, table.name


def test_a_new_sqlite_registry_is_private_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    with registry.open(path) as reg, reg.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_password_is_never_shown(tmp_path: Path) -> None:
    secret = "s3cr3t-pa55"
    bad = f"postgresql://gpuplan:{secret}@127.0.0.1:1/none"
    result = CliRunner().invoke(main, ["registry", "list", "--db", bad])
    assert result.exit_code == 1
    assert secret not in result.output and "gpuplan:***@127.0.0.1:1/none" in result.output
    env = {"GPUPLAN_DB": bad}
    result = CliRunner(env=env).invoke(main, ["registry", "history"])
    assert result.exit_code == 1 and secret not in result.output


def test_the_password_is_never_shown_or_stored_on_a_server(pg_url: str) -> None:
    url = pg_url
    password = sa.make_url(url).password
    assert password
    result = CliRunner().invoke(main, ["registry", "save", str(BASE), "--db", url])
    assert result.exit_code == 0 and password not in result.output and "***" in result.output
    wrong = sa.make_url(url).set(password="wrong-one").render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["registry", "list", "--db", wrong])
    assert result.exit_code == 1 and "wrong-one" not in result.output
    assert "password authentication failed" in result.output
    with registry.open(url) as reg, reg.transaction() as conn:
        for table in schema.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                assert all(password not in str(v) for v in row)


def test_cli_cycle(url: str, tmp_path: Path) -> None:
    run = CliRunner().invoke

    def ok(*args: str) -> str:
        result = run(main, ["registry", *args, "--db", url])
        assert result.exit_code == 0, result.output
        return result.output

    saved = json.loads(ok("save", str(BASE), "--format", "json"))
    assert saved["id"] == 1 and saved["status"] == "optimal" and saved["approved"] is False
    plan = run(main, ["plan", str(BASE), "--format", "json"]).output
    assert ok("show", "1", "--format", "json") == plan
    assert ok("approve", "1", "--note", "board").startswith("version 1 approved by ")
    locked = json.loads(ok("lock", "1", "--through", "2025Q2", "--format", "json"))
    assert locked["through"] == "2025Q2" and locked["firm_orders"]
    shown = run(main, ["registry", "show", "1", "--db", url], env={"COLUMNS": "200"}).output
    firm_rows = [line for line in shown.splitlines() if line.strip().startswith(("2025Q1", "2025Q2"))]
    later_rows = [line for line in shown.splitlines() if line.strip().startswith(("2025Q3", "2025Q4"))]
    assert len(firm_rows) == len(locked["firm_orders"]) and all(
        line.rstrip().endswith("yes") for line in firm_rows
    )
    assert later_rows and not any(line.rstrip().endswith("yes") for line in later_rows)
    replanned = json.loads(
        ok(
            "replan",
            "1",
            "--shocks",
            str(SHORTFALL),
            "--shock",
            "Huawei supply halved from Q3",
            "--format",
            "json",
        )
    )
    assert replanned["id"] == 2 and replanned["replanned_from"] == 1 and replanned["firm_through"] == "2025Q2"
    out = tmp_path / "diff.xlsx"
    diff = json.loads(ok("diff", "1", "2", "--format", "json", "--out", str(out)))
    assert diff["before"] == 1 and diff["after"] == 2 and diff["orders"]
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Summary", "Totals", "Orders"]
    assert book["Orders"].max_row == len(diff["orders"]) + 1
    listing = json.loads(ok("list", "--format", "json"))
    assert [(v["id"], v["approved"], v["locked_through"], v["parent"]) for v in listing] == [
        (1, True, "2025Q2", None),
        (2, False, None, 1),
    ]
    history = json.loads(ok("history", "--format", "json"))
    assert [(e["version"], e["action"]) for e in history] == [
        (1, "save"),
        (1, "approve"),
        (1, "lock"),
        (2, "replan"),
    ]
    assert "Version 3: re-plan of version 1" in ok("replan", "1")
    result = run(main, ["registry", "show", "9", "--db", url])
    assert result.exit_code == 2 and result.output == "error: key ID: no version 9 in the registry\n"


def test_the_default_registry_sits_beside_the_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPUPLAN_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "plans" / "base-7b.yaml"
    scenario.parent.mkdir()
    scenario.write_text(
        BASE.read_text().replace("catalog: ../catalogs/default", f"catalog: {ROOT / 'catalogs' / 'default'}")
    )
    result = CliRunner().invoke(main, ["registry", "save", str(scenario)])
    assert result.exit_code == 0, result.output
    assert (scenario.parent / "gpuplan.db").is_file() and not (tmp_path / "gpuplan.db").exists()
    result = CliRunner().invoke(main, ["registry", "list"])
    assert result.exit_code == 2
    assert result.output.startswith(
        f"error: key --db: no registry at {tmp_path / 'gpuplan.db'} (the default)"
    )


def test_a_writer_that_waits_too_long_is_told_to_try_again(
    tmp_path: Path, base_json: Path, monkeypatch
) -> None:
    """Another process holds the SQLite write lock past the wait: one line saying so, nothing written."""
    import sqlite3

    from planner.registry import store

    path = tmp_path / "plans.db"
    with registry.open(path) as reg:
        v = reg.save_plan(base_json, BASE)
    monkeypatch.setattr(store, "BUSY_SECONDS", 0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        reg = registry.open(path)  # a reader does not wait for the writer
        assert [x.id for x in reg.versions()] == [v.id]
        with pytest.raises(
            RegistryError, match=r"is busy: another gpuplan has been writing to it for 0.3 s; try again$"
        ):
            reg.approve(v.id)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert [e.action for e in reg.history()] == ["import"]
    reg.close()
