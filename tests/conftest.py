"""Shared helpers: tiny catalogs and scenarios written to a temporary folder, and the suite's memo of solver runs."""

from __future__ import annotations

import csv
import dataclasses
import fcntl
import hashlib
import os
import pickle
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import planner.model.solve
from planner.inputs.catalog import CHIP_COLUMNS, OFFER_COLUMNS
from planner.model import backends
from planner.model.backends import open_backend
from planner.model.choices import Solver
from planner.model.runs import Backend, RunResult, Status

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------- the memo of solver runs
#
# The suite solves the bundled scenarios hundreds of times over, many of them the very same
# model (``GPUPLAN_FRESH_SOLVES=1`` shows what this saves: the README's development section
# gives both times). A HiGHS run without a time limit is a function of the model's state and its
# arguments (one thread, a fixed seed, every run from scratch), so within one test process
# the second and later runs of the same model are served from the first: everything around the
# run (building the model, stage 2's row, results, reports, files) still runs. The runs are kept
# in memory and, for the other xdist workers, as files in the run's temporary folder. Runs with a
# time limit, CBC runs, live models (explain's re-solves) and worker processes always solve.
# A run while a test has patched the backends module or its HiGHS class is neither served nor
# kept; tests marked ``fresh_solves`` (those that check that the same inputs give the same plan)
# always solve, and so does every test under mutmut or with ``GPUPLAN_FRESH_SOLVES=1``.

RUNS: dict[str, RunResult] = {}
#: the solver's code as imported, to tell when a test has patched it
UNPATCHED = (dict(vars(backends)), dict(vars(backends.HighsBackend)))
#: where this run's workers share their runs (set by :func:`memo_of_solver_runs`)
SHARED: list[Path] = []


def _state(model: Any, sense: Any, objective: Any, mip: bool, start: Any, options: Any) -> str:
    """A digest of everything a run's result depends on: columns, rows with their bounds, objective, options."""
    h = hashlib.sha256(repr((sense, mip, options)).encode())
    h.update(np.asarray(model.col_lower, dtype=np.float64).tobytes())
    h.update(np.asarray(model.col_upper, dtype=np.float64).tobytes())
    h.update(np.asarray(model.col_integer, dtype=bool).tobytes())
    for row in model.rows:
        h.update(row.lin.idx.tobytes() + row.lin.coef.tobytes())
        h.update(np.array([row.lin.constant, row.lower, row.upper]).tobytes())
    h.update(objective.idx.tobytes() + objective.coef.tobytes())
    if start is not None:
        h.update(np.asarray(start, dtype=np.float64).tobytes())
    return h.hexdigest()


def _copy(result: RunResult) -> RunResult:
    arrays = {k: getattr(result, k) for k in ("x", "row_duals", "col_duals")}
    return dataclasses.replace(result, **{k: None if v is None else v.copy() for k, v in arrays.items()})


class MemoBackend(Backend):
    """The backend ``optimize`` opens, with its runs memoised in :data:`RUNS`; the real one is opened at the first miss."""

    def __init__(self, model: Any, options: Any) -> None:
        self.model, self.options = model, options
        self.real: Backend | None = None

    def set_row_bounds(self, row: Any, lower: float, upper: float) -> None:
        if self.real is not None:
            self.real.set_row_bounds(row, lower, upper)
        else:  # the real backend takes the model's bounds when it is opened
            row.lower, row.upper = lower, upper

    def run(self, sense, objective, mip=True, time_limit=None, start=None) -> RunResult:  # type: ignore[no-untyped-def]
        key = (
            None
            if time_limit is not None or _patched()
            else _state(self.model, sense, objective, mip, start, self.options)
        )
        if key is not None and (known := _known(key)) is not None:
            return known
        if self.real is None:
            self.real = open_backend(self.model, self.options)
        result = self.real.run(sense, objective, mip, time_limit, start)
        if key is not None and result.status != Status.ERROR:
            RUNS[key] = _copy(result)
            if SHARED:
                scratch = SHARED[0] / f"{key}.{os.getpid()}"
                scratch.write_bytes(pickle.dumps(RUNS[key]))
                os.rename(scratch, SHARED[0] / key)  # whole or not at all, for the other workers
        return result


def _patched() -> bool:
    """Whether a test has replaced anything in the backends module or its HiGHS class."""
    module, cls = UNPATCHED
    now = (vars(backends), vars(backends.HighsBackend))
    return any(
        len(before) != len(after) or any(after.get(k) is not v for k, v in before.items())
        for before, after in zip((module, cls), now, strict=True)
    )


def _known(key: str) -> RunResult | None:
    """A copy of the run kept under ``key`` by this process or another worker, if any."""
    if key not in RUNS and SHARED and (SHARED[0] / key).exists():
        RUNS[key] = pickle.loads((SHARED[0] / key).read_bytes())  # noqa: S301  # written by this run's workers
    return _copy(RUNS[key]) if key in RUNS else None


def _open(model: Any, options: Any) -> Backend:
    if options.solver != Solver.HIGHS:
        return open_backend(model, options)
    return MemoBackend(model, options)


@pytest.fixture(autouse=True)
def memo_of_solver_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Serve repeated solver runs from :data:`RUNS` (see above), save in tests that ask for fresh solves."""
    if (
        request.node.get_closest_marker("fresh_solves")
        or os.environ.get("GPUPLAN_FRESH_SOLVES") == "1"
        or "mutmut" in sys.modules  # a mutant must meet a real run, not one the unmutated code made
    ):
        yield
        return
    if not SHARED:
        root = tmp_path_factory.getbasetemp()
        if os.environ.get("PYTEST_XDIST_WORKER") is not None:
            root = root.parent  # this run's folder, shared by its workers
        (root / "solver-runs").mkdir(exist_ok=True)
        SHARED.append(root / "solver-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(planner.model.solve, "open_backend", _open)
        yield


def chip(sku: str, **kw) -> dict:
    """A chip row with easy numbers: 1000 TFLOPS, efficiency 1, 1 chip per server -> 1 PFLOPS."""
    row = {
        "sku": sku,
        "vendor": "V",
        "model": sku.upper(),
        "category": "domestic",
        "origin": "CN",
        "bf16_tflops": 1000,
        "fp8_tflops": "",
        "int8_tops": "",
        "memory_gb": 100,
        "memory_bw_tbps": 1,
        "interconnect_gbps": 100,
        "die_area_mm2": "",
        "power_w": 1000,
        "chips_per_server": 1,
        "software_efficiency": 1.0,
        "datacenter": "true",
    }
    row.update(kw)
    return row


def offer(sku: str, period: str, **kw) -> dict:
    row = {
        "sku": sku,
        "channel": "direct",
        "period": period,
        "max_units": 100,
        "unit_price_usd": 1000,
        "lead_time_quarters": 0,
        "delivery_risk": "",
    }
    row.update(kw)
    return row


def lease(sku: str, period: str, ships_to: str = "MY", term_quarters: int = 2, **kw) -> dict:
    """A lease offer from a cloud abroad: ``term_quarters`` quarters of service in ``ships_to``."""
    return offer(
        sku, period, channel="cloud", kind="lease", ships_to=ships_to, term_quarters=term_quarters, **kw
    )


def model_of(path: Path):
    """The model of a scenario file, built as ``gpuplan plan`` builds it."""
    from planner.inputs.scenario import load_scenario
    from planner.model.build import build
    from planner.model.data import prepare
    from planner.plans.plan import catalog_for

    scenario = load_scenario(path)
    return build(prepare(scenario, catalog_for(scenario)))


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def make_catalog(
    folder: Path, chips: list[dict], offers: list[dict], rules: list[dict] | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    chip_cols = [c.name for c in CHIP_COLUMNS if c.required or any(c.name in r for r in chips)]
    write_csv(folder / "chips.csv", chips, chip_cols)
    write_csv(
        folder / "offers.csv",
        offers,
        [c.name for c in OFFER_COLUMNS if c.required or any(c.name in r for r in offers)],
    )
    (folder / "export_rules.yaml").write_text(yaml.safe_dump({"rules": rules or []}, sort_keys=False))
    return folder


def make_scenario(folder: Path, catalog: Path, name: str = "t", **kw) -> Path:
    data = {
        "name": name,
        "catalog": str(catalog),
        "destination": "CN",
        "periods": ["2025Q1", "2025Q2"],
        "objective": "max-compute",
    }
    data.update(kw)
    if "sites" in kw:
        del data["destination"]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def tiny(tmp_path):
    """Build (catalog, scenario) in tmp_path: ``tiny(chips, offers, rules=None, **scenario_keys)``."""

    def build(chips, offers, rules=None, **scenario):
        cat = make_catalog(tmp_path / "cat", chips, offers, rules)
        return make_scenario(tmp_path, cat, **scenario)

    return build


def once_per_run(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder that ``make`` fills once per test run, shared by every xdist worker.

    A module-scoped fixture runs once per worker that runs one of its tests; this one runs once
    per run: the first worker to ask makes it under a file lock while the others wait, and later
    workers read what it wrote. A ``make`` that fails leaves nothing, so the next worker tries
    again (and fails with its own traceback).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:  # one process: a plain temporary folder
        folder = factory.mktemp(name)
        make(folder)
        return folder
    root = factory.getbasetemp().parent  # this run's folder, shared by its workers
    folder = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                make(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / ".done").touch()
    return folder
