"""Load, solve and report one scenario: the library entry point behind ``gpuplan plan``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pulp

from planner.catalog import Catalog, load_catalog
from planner.errors import InputError
from planner.model.build import GE, Model, build
from planner.model.data import ModelData, prepare
from planner.model.solve import SolverOptions, run
from planner.results import Plan, binding_limits, empty_totals, tabulate
from planner.scenario import Scenario, check_references, load_scenario


def catalog_for(scenario: Scenario, catalog: str | Path | Catalog | None = None) -> Catalog:
    """The catalog to plan with: an explicit one, else the scenario's, else the bundled default."""
    if isinstance(catalog, Catalog):
        return catalog
    if catalog is None and scenario.catalog is not None:
        folder = scenario.catalog_path()
        if folder is None or not folder.is_dir():
            raise InputError(f"catalog folder {scenario.catalog!r} not found (resolved to {folder}, "
                             "relative to the scenario file)", file=scenario.source, key="catalog")
        return load_catalog(folder)
    return load_catalog(catalog)


def solve(scenario: Scenario | str | Path, catalog: str | Path | Catalog | None = None,
          options: SolverOptions | None = None, write_model: Path | None = None) -> Plan:
    """Solve a scenario and return its :class:`Plan` (diagnosed when infeasible).

    Args:
        scenario: a :class:`Scenario` or the path of a scenario YAML file.
        catalog: overrides the scenario's catalog (a folder or a loaded :class:`Catalog`).
        options: solver, time limit and MIP gap.
        write_model: also write the model that is solved (the first stage for max-compute)
            to this ``.mps`` or ``.lp`` file.

    Raises:
        planner.errors.InputError: for bad input files.
        planner.errors.SolverError: when the solver cannot run.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    options = options or SolverOptions()
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    return solve_data(prepare(scenario, cat), options, write_model, inputs=input_hashes(scenario, cat))


def solve_data(data: ModelData, options: SolverOptions, write_model: Path | None = None,
               inputs: dict[str, str] | None = None) -> Plan:
    """Build, solve and report prepared model data (used by :func:`solve` and the stress tests)."""
    scenario = data.scenario
    model = build(data)
    assert model.cost is not None
    if scenario.objective == "min-cost":
        model.prob.sense = pulp.LpMinimize
        model.prob.setObjective(model.cost)
        _write_model(model, write_model)
        result = run(model.prob, options)
        seconds, status, message = result.seconds, result.status, result.message
        servers = model.servers() if status in ("optimal", "feasible") else None
    else:
        status, servers, seconds, message = _max_compute(model, options, write_model)
    common = {"solver": options.solver, "mip_gap": options.mip_gap, "seconds": seconds,
              "message": message, "inputs": inputs or {}}
    if servers is None:
        empty = Plan(scenario.name, scenario.objective, status, *_no_plan(data), data=data, **common)
        if status == "infeasible":
            from planner.diagnose import diagnose

            empty.diagnosis = diagnose(data, options)
            empty.limits = empty.diagnosis["limits"]
        return empty
    return plan_from_servers(data, servers, status, **common)


def plan_from_servers(data: ModelData, servers: np.ndarray, status: str, **extra) -> Plan:
    """A :class:`Plan` for whole servers per usable offer of ``data``."""
    purchases, periods, totals = tabulate(data, servers)
    return Plan(data.scenario.name, data.scenario.objective, status, purchases, periods, totals, data=data,
                limits=binding_limits(data, servers, (periods, totals)), servers=servers, **extra)


def input_hashes(scenario: Scenario, catalog: Catalog) -> dict[str, str]:
    """SHA-256 of every input file, for the record in exported workbooks."""
    files = [Path(scenario.source)] if scenario.source else []
    files += [catalog.folder / name for name in ("chips.csv", "offers.csv", "export_rules.yaml")]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def _no_plan(data):
    purchases, periods, _ = tabulate(data, np.zeros(len(data.offers), dtype=np.int64))
    return purchases.iloc[0:0], periods.iloc[0:0], empty_totals()


def stage2_floor(reached: float) -> float:
    """The compute the cost tie-break must keep: the stage-1 value, less solver tolerance."""
    return reached - (1e-6 + 1e-9 * abs(reached))


def _write_model(model: Model, path: Path | None) -> None:
    """Write the problem as it is about to be solved (MPS keeps the objective sense)."""
    if path is None:
        return
    from planner.fileio import atomic_path

    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".lp":
            model.prob.writeLP(str(tmp))
        else:
            model.prob.writeMPS(str(tmp), with_objsense=True)


def _max_compute(model: Model, options: SolverOptions, write_model: Path | None = None):
    """Stage 1 maximises ``E_T``; stage 2 keeps ``E_T`` at the stage-1 value and minimises cost."""
    prob, last = model.prob, model.compute[-1]
    prob.sense = pulp.LpMaximize
    prob.setObjective(last)
    _write_model(model, write_model)
    first = run(prob, options)
    if first.status not in ("optimal", "feasible"):
        return first.status, None, first.seconds, first.message
    stage1 = model.servers()
    reached = float(pulp.value(last))
    remaining = None if options.time_limit is None else max(options.time_limit - first.seconds, 1.0)
    floor = stage2_floor(reached)
    model.add("stage2_compute", last, GE, floor, "objective", "effective PFLOPS at the last period >= stage 1")
    prob.sense = pulp.LpMinimize
    prob.setObjective(model.cost)
    second = run(prob, options, time_limit=remaining)
    seconds = first.seconds + second.seconds
    if second.status not in ("optimal", "feasible"):
        return "feasible", stage1, seconds, "cost tie-break not finished within the time limit"
    status = "optimal" if first.status == second.status == "optimal" else "feasible"
    return status, model.servers(), seconds, first.message or second.message
