"""Shared helpers: tiny catalogs and scenarios written to a temporary folder."""

from __future__ import annotations

import csv
import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from planner.inputs.catalog import CHIP_COLUMNS, OFFER_COLUMNS

ROOT = Path(__file__).resolve().parent.parent


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
