"""HiGHS on a model with clusters: the cluster counts bounded and fixed first (``HighsBackend._clusters_first``).

Worked by hand on chips of the conftest helper (1 effective PFLOPS and $1000 a chip): the runs it
makes, the plans it returns, and the rows HiGHS holds after it; and, on
the generated instances of ``test_workloads``, the same proven value as HiGHS on the whole MIP.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import chip, model_of, offer
from rederive import check_plan
from test_workloads import HOME, _random_instance, bought

from planner.model.backends import HighsBackend
from planner.model.kernel import proves, proving_target
from planner.model.linear import Sense
from planner.model.runs import RunResult, SolverOptions, Status
from planner.model.solve import optimize, scenario_goal
from planner.plans.plan import solve


def clusters_case(tiny, per_server: int, objective: str, **scenario):
    """One site and one chip in servers of ``per_server``, 30 on offer at $1000, clusters of 4."""
    return tiny(
        [chip("a", chips_per_server=per_server)],
        [offer("a", "2025Q1", max_units=30)],
        periods=["2025Q1"],
        objective=objective,
        sites=[HOME],
        **scenario,
    )


def round_up_case(tiny):
    """Two clusters of 4 for 8 PFLOPS, at the least cost, from servers of 3 chips."""
    return clusters_case(
        tiny, 3, "min-cost", targets={"2025Q1": {"training": {"cluster_chips": 4, "pflops": 8}}}
    )


@pytest.fixture
def runs(monkeypatch):
    """The runs after the relaxation: ``("plan", rows)`` for the kernel search with the counts fixed, ``("full", rows)`` for a full MIP, with the rows HiGHS held."""
    seen: list[tuple[str, int]] = []
    plan, full = HighsBackend._cluster_plan, HighsBackend._run

    def planned(self, *args):
        seen.append(("plan", int(self.h.getNumRow())))
        return plan(self, *args)

    def whole(self, *args, **kw):
        seen.append(("full", int(self.h.getNumRow())))
        return full(self, *args, **kw)

    monkeypatch.setattr(HighsBackend, "_cluster_plan", planned)
    monkeypatch.setattr(HighsBackend, "_run", whole)
    return seen


def solved(path, options: SolverOptions | None = None):
    """Solve a scenario as ``gpuplan plan`` does, on a backend the test can look into afterwards."""
    model = model_of(path)
    options = options or SolverOptions()
    backend = HighsBackend(model, options)
    return model, backend, optimize(model, scenario_goal(model.main), options, backend)


def test_when_the_fixed_clusters_prove_the_gap_no_stage_runs_the_full_mip(tiny, runs):
    # budget for 10 chips, clusters of 4: with servers in fractions at most 2 clusters (8 PFLOPS),
    # and 8 whole chips reach it: proven at once; stage 2 the same at $8,000
    path = clusters_case(
        tiny,
        1,
        "max-training",
        budget={"total_usd": 10000},
        targets={"2025Q1": {"training": {"cluster_chips": 4}}},
    )
    model, backend, out = solved(path)
    assert out.status == Status.OPTIMAL and out.value == pytest.approx(8.0)
    assert float(model.main.cost.value(out.x)) == pytest.approx(8000.0)
    rows = len(model.rows)
    # one kernel search per stage, no full MIP (stage 2's row, keeping stage 1's value, comes after stage 1)
    assert runs == [("plan", rows - 1), ("plan", rows)]


def test_servers_that_round_up_send_the_plan_to_the_full_mip(tiny, runs):
    # two clusters of 4 for 8 PFLOPS: in fractions 8/3 servers of 3 ($8,000); whole servers need 3
    # of them ($9,000), 11% above that bound: the full MIP runs from it
    path = round_up_case(tiny)
    model, backend, out = solved(path)
    assert out.status == Status.OPTIMAL
    assert float(model.main.cost.value(out.x)) == pytest.approx(9000.0)
    rows = len(model.rows)
    assert runs == [("plan", rows), ("full", rows)]  # the fixed counts, then the full MIP
    assert backend.h.getNumRow() == rows
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == [("a", "home", 9)]


def test_a_full_mip_the_time_limit_stops_returns_the_kernel_plan_and_the_gap_to_the_bound(tiny, monkeypatch):
    # as above, with the full MIP stopped before it has a plan: the kernel's plan ($9,000) is
    # reported, 11.11% from the bound of servers in fractions ($8,000), with the stage's time limit
    path = round_up_case(tiny)
    monkeypatch.setattr(
        HighsBackend, "_run", lambda self, *a, **kw: RunResult(Status.ERROR, None, 0.0, "stopped")
    )
    model, _, out = solved(path, SolverOptions(time_limit=5))
    assert out.status == Status.FEASIBLE
    assert float(model.main.cost.value(out.x)) == pytest.approx(9000.0)
    assert out.message == (
        "not proven optimal: the time limit (5 s) stopped the solver 11.11% from the best bound; "
        "raise the time limit for a proven plan"
    )


def test_no_plan_even_with_servers_in_fractions_is_infeasible_without_a_full_run(tiny, runs):
    # 30 chips on offer cannot make the 8 clusters of 4 that 32 PFLOPS need
    path = clusters_case(
        tiny,
        1,
        "min-cost",
        targets={"2025Q1": {"training": {"cluster_chips": 4, "pflops": 32}}},
    )
    _, _, out = solved(path)
    assert out.status == Status.INFEASIBLE and runs == []
    plan = solve(path)
    assert plan.status == "infeasible"
    assert [s.measure for s in plan.diagnosis.shortfalls] == ["training_pflops"]


@pytest.mark.parametrize("seed", range(30))
def test_the_same_proven_value_as_highs_on_the_whole_mip(tiny, seed):
    chips, offers, scenario = _random_instance(random.Random(seed))
    path = tiny(chips, offers, name=f"g{seed}", **scenario)
    model, backend, first = solved(path)
    _, _, whole = solved(path, SolverOptions(clusters_first=False))
    assert first.status == whole.status
    assert backend.h.getNumRow() == len(model.rows)
    if first.value is None or whole.value is None:
        return
    gap = SolverOptions().mip_gap
    assert abs(first.value - whole.value) <= gap * max(abs(first.value), abs(whole.value)) + 1e-6
    assert np.isfinite(first.x).all()


@pytest.mark.parametrize("sense", [Sense.MINIMIZE, Sense.MAXIMIZE])
@pytest.mark.parametrize("bound", [64_289_452.1, -64_289_452.1, 1234.5, -1234.5])
def test_the_kernel_search_stops_at_the_least_good_value_that_proves_the_gap(sense, bound):
    value = proving_target(sense, bound, 1e-4)
    worse = 1.0 if sense == Sense.MINIMIZE else -1.0
    assert worse * (value - bound) > 0.99e-4 * abs(bound)  # about the gap away, on the worse side
    assert proves(value, bound, 1e-4)
    assert not proves(value + worse * 1e-7 * abs(bound), bound, 1e-4)
