"""Load, solve and report one scenario: the library entry point behind ``gpuplan plan``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from planner.errors import InputError
from planner.inputs.catalog import Catalog, load_catalog
from planner.inputs.scenario import Scenario, check_references, load_scenario
from planner.model.build import build
from planner.model.data import ModelData, prepare
from planner.model.linear import FloatArray
from planner.model.rows import Model
from planner.model.runs import SolverOptions, Status
from planner.model.solve import Goal, optimize, scenario_goal
from planner.plans.diagnose import contradictory_shares, diagnose
from planner.plans.limits import binding_limits
from planner.plans.results import Plan, WorkloadFigures, empty_totals, tabulate


def catalog_for(scenario: Scenario, catalog: str | Path | Catalog | None = None) -> Catalog:
    """The catalog to plan with: an explicit one, else the scenario's, else the bundled default."""
    if isinstance(catalog, Catalog):
        return catalog
    if catalog is None and scenario.catalog is not None:
        folder = scenario.catalog_path()
        if folder is None or not folder.is_dir():
            raise InputError(
                f"catalog folder {scenario.catalog!r} not found (resolved to {folder}, "
                "relative to the scenario file)",
                file=scenario.source,
                key="catalog",
            )
        return load_catalog(folder)
    return load_catalog(catalog)


def solve(
    scenario: Scenario | str | Path,
    catalog: str | Path | Catalog | None = None,
    options: SolverOptions | None = None,
    write_model: Path | None = None,
) -> Plan:
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
    options = SolverOptions.of(options)
    cat = catalog_for(scenario, catalog)
    check_references(scenario, cat)
    return solve_data(prepare(scenario, cat), options, write_model, inputs=input_hashes(scenario, cat))


def solve_data(
    data: ModelData,
    options: SolverOptions,
    write_model: Path | None = None,
    inputs: dict[str, str] | None = None,
    goal: Callable[[Model], Goal] | None = None,
    limits: bool = True,
) -> Plan:
    """Build, solve and report prepared model data (used by :func:`solve`, the stress tests and alternatives).

    ``goal`` (default: the scenario's objective) may add rows to the model and returns what to optimise;
    ``limits=False`` leaves the plan's binding limits out (risk's sampled re-plans keep only figures).
    """
    model = build(data)
    aim = scenario_goal(model.main) if goal is None else goal(model)
    if write_model is not None:
        from planner.model.pulp_io import write_model as write

        write(model, aim.sense, aim.lin, write_model)
    outcome = optimize(model, aim, options)

    def ran(plan: Plan) -> Plan:
        """The plan with how it was solved: solver, gap, time, message and input hashes."""
        return replace(
            plan,
            solver=options.solver,
            mip_gap=options.mip_gap,
            seconds=outcome.seconds,
            message=outcome.message,
            inputs=inputs or {},
            value=outcome.value,
        )

    if outcome.x is None:
        empty = empty_plan(data, outcome.status.value)
        if outcome.status != Status.INFEASIBLE:
            return ran(empty)
        diagnosis = diagnose(data, options)
        return ran(replace(empty, diagnosis=diagnosis, limits=list(diagnosis.limits)))
    plan = plan_from_servers(
        data, model.main.servers(outcome.x), outcome.status.value, (model, aim, outcome.x), limits
    )
    return ran(replace(plan, workloads=WorkloadFigures.of(model.main, outcome.x)))


def plan_from_servers(
    data: ModelData,
    servers: npt.NDArray[np.int64],
    status: str,
    solved: tuple[Model, Goal, FloatArray] | None = None,
    limits: bool = True,
) -> Plan:
    """A :class:`Plan` for whole servers per usable offer of ``data`` (``solved``: the model, goal and solution it came from; ``limits=False``: without its binding limits)."""
    purchases, periods, totals, sites = tabulate(data, servers)
    notes = contradictory_shares(data)
    binding = binding_limits(data, servers, (periods, totals, sites), solved) if limits else []
    return Plan(
        data.scenario.name,
        data.scenario.objective,
        status,
        purchases,
        periods,
        totals,
        data=data,
        limits=notes + binding,
        servers=servers,
        sites=sites,
        notes=notes,
    )


def input_hashes(scenario: Scenario, catalog: Catalog) -> dict[str, str]:
    """SHA-256 of every input file, for the record in exported workbooks."""
    files = [Path(scenario.source)] if scenario.source else []
    files += [catalog.folder / name for name in ("chips.csv", "offers.csv", "export_rules.yaml")]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def empty_plan(data: ModelData, status: str) -> Plan:
    """A plan without purchases (no solution): the tables with their columns and no rows."""
    purchases, periods, _, _ = tabulate(data, np.zeros(len(data.offers), dtype=np.int64))
    return Plan(
        data.scenario.name,
        data.scenario.objective,
        status,
        purchases.iloc[0:0],
        periods.iloc[0:0],
        empty_totals(),
        data=data,
    )
