"""The solver hand-off and the solve's outcome paths.

- The bulk hand-off to HiGHS (two array calls) gives HiGHS exactly the model that PuLP's own
  ``pulp.HiGHS.buildSolverModel`` gives it, on random models: same matrix, bounds, integrality
  and objective. ``pyproject.toml`` pins PuLP and highspy to the versions this passed on.
- A time limit that stops the solver with an incumbent gives status ``feasible``, exit 0 and a
  report that says the plan is not proven optimal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import highspy
import numpy as np
import pulp
import pytest
from click.testing import CliRunner
from conftest import ROOT, chip, model_of, offer

from planner.cli import main
from planner.errors import SolverError
from planner.inputs.catalog import load_catalog
from planner.inputs.scenario import load_scenario
from planner.model.backends import (
    CbcBackend,
    HighsBackend,
    _time_message,
    highs_lp,
    stdout_fd_silenced,
)
from planner.model.build import build
from planner.model.data import prepare
from planner.model.pulp_io import to_pulp
from planner.model.rows import INF
from planner.model.runs import SolverOptions, Status
from planner.model.solve import optimize, register_stage2, scenario_goal

sys.path.insert(0, str(ROOT / "benchmarks"))
import synthetic  # noqa: E402


def dense(lp) -> np.ndarray:
    """The constraint matrix of a HiGHS LP as a dense array (small models only)."""
    a = lp.a_matrix_
    out = np.zeros((lp.num_row_, lp.num_col_))
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    colwise = a.format_ == highspy.MatrixFormat.kColwise
    for major in range(len(start) - 1):
        for k in range(start[major], start[major + 1]):
            if colwise:
                out[index[k], major] += value[k]
            else:
                out[major, index[k]] += value[k]
    return out


def models():
    """Synthetic scenarios of several shapes and objectives, plus the bundled sites-and-leases case."""
    for seed, (skus, channels, quarters, objective) in enumerate(
        [(4, 2, 3, "min-cost"), (6, 2, 4, "max-compute"), (9, 3, 5, "min-cost"), (12, 2, 6, "max-compute")]
    ):
        yield pytest.param(
            (skus, channels, quarters, objective, seed), id=f"synthetic-{skus}x{channels}x{quarters}"
        )
    yield pytest.param("base-7b", id="base-7b")


@pytest.mark.parametrize("spec", list(models()))
def test_bulk_hand_off_equals_pulps_own(tmp_path, spec):
    if spec == "base-7b":
        scenario = load_scenario(ROOT / "budgets" / "base-7b.yaml")
    else:
        skus, channels, quarters, objective, seed = spec
        scenario = load_scenario(
            synthetic.make(tmp_path, skus, channels, quarters, objective=objective, seed=seed)
        )
    catalog = load_catalog(scenario.catalog_path())
    model = build(prepare(scenario, catalog))
    goal = scenario_goal(model.main)

    backend = HighsBackend(model, SolverOptions(time_limit=5))
    backend.run(goal.sense, goal.lin, time_limit=5)  # hands over the costs and the sense too
    ours = highs_lp(backend)

    prob, variables = to_pulp(model, goal.sense, goal.lin)
    with stdout_fd_silenced():
        prob.solverModel = highspy.Highs()
    prob.solverModel.setOptionValue("output_flag", False)
    pulp.HiGHS(msg=False).buildSolverModel(prob)
    theirs = prob.solverModel.getLp()

    col = np.array([v.index for v in variables])  # our column k is PuLP's column col[k]
    assert ours.num_col_ == theirs.num_col_ == model.n_cols
    np.testing.assert_array_equal(np.asarray(ours.col_lower_), np.asarray(theirs.col_lower_)[col])
    np.testing.assert_array_equal(np.asarray(ours.col_upper_), np.asarray(theirs.col_upper_)[col])
    integral = np.asarray([int(v) for v in ours.integrality_])
    assert list(integral) == [int(v) for v in np.asarray(theirs.integrality_)[col]]
    assert integral.sum() == sum(model.col_integer)
    # PuLP hands a maximisation over as the minimisation of the negated costs
    maximize = ours.sense_ == highspy.ObjSense.kMaximize
    sign = -1.0 if maximize else 1.0
    np.testing.assert_allclose(
        sign * np.asarray(ours.col_cost_), np.asarray(theirs.col_cost_)[col], rtol=0, atol=0
    )
    assert np.count_nonzero(ours.col_cost_) > 0

    a_ours, a_theirs = dense(ours), dense(theirs)[:, col]
    constraints = prob.constraints
    used = [row for row in model.rows if not (row.lower == -INF and row.upper == INF)]
    assert theirs.num_row_ == len(used) and ours.num_row_ == len(model.rows)
    for row in model.rows:
        if row.lower == -INF and row.upper == INF:  # a free row: PuLP has no such thing
            assert ours.row_lower_[row.index] == -INF and ours.row_upper_[row.index] == INF
            continue
        j = constraints[row.name].index
        assert (ours.row_lower_[row.index], ours.row_upper_[row.index]) == (
            theirs.row_lower_[j],
            theirs.row_upper_[j],
        )
        np.testing.assert_array_equal(a_ours[row.index], a_theirs[j], err_msg=row.name)


def test_pins_are_the_versions_checked():
    from importlib.metadata import version

    text = (ROOT / "pyproject.toml").read_text()
    assert f'"pulp=={version("pulp")}"' in text and f'"highspy=={version("highspy")}"' in text


# ---------------------------------------------------------------- time limit -> feasible


@pytest.fixture(scope="module")
def slow(tmp_path_factory) -> Path:
    """A max-compute instance (30 SKUs x 3 channels x 6 quarters, 493 columns) that HiGHS proves
    optimal at gap 0 in about 25 s and finds a plan for within a second."""
    return synthetic.make(tmp_path_factory.mktemp("slow"), 30, 3, 6, objective="max-compute", seed=1)


def test_time_limit_returns_a_feasible_plan(slow):
    model = model_of(slow)
    outcome = optimize(model, scenario_goal(model.main), SolverOptions(time_limit=1.0, mip_gap=0.0))
    assert outcome.status == Status.FEASIBLE and outcome.x is not None
    assert outcome.value is not None and outcome.value > 0
    # 1 s for each stage: the limit holds (the proof alone takes about 25 s)
    assert outcome.seconds < 10
    assert outcome.message.startswith("not proven optimal: the time limit (1 s) stopped the solver ")


def test_a_live_model_gives_each_run_its_own_time_limit(slow):
    # HiGHS 1.16 times an LP against its instance's run time summed over every run (HiGHS#1477)
    # and a MIP from its own start: after a MILP run stopped by its 1 s limit, an LP given 0.5 s
    # would stop at once (it takes milliseconds: it must come back optimal), and a second MILP
    # given 1 s must stop after about 1 s, not 2 (the limit set past the time already spent)
    model = model_of(slow)
    goal = scenario_goal(model.main)
    backend = HighsBackend(model, SolverOptions(mip_gap=0.0))
    first = backend.run(goal.sense, goal.lin, time_limit=1.0)
    assert first.status == Status.FEASIBLE and backend.h.getRunTime() >= 1.0
    lp = backend.run(goal.sense, goal.lin, mip=False, time_limit=0.5)
    assert lp.status == Status.OPTIMAL, lp.message
    again = backend.run(goal.sense, goal.lin, time_limit=1.0)
    assert again.status == Status.FEASIBLE and again.seconds < 1.9


def test_time_limit_exit_code_and_report_wording(slow):
    result = CliRunner().invoke(
        main, ["plan", str(slow), "--time-limit", "1", "--mip-gap", "0", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "feasible" and data["purchases"]
    table = CliRunner().invoke(main, ["plan", str(slow), "--time-limit", "1", "--mip-gap", "0"])
    assert table.exit_code == 0
    text = " ".join(table.output.split())
    assert "status feasible" in text
    assert "not proven optimal: the time limit (1 s) stopped the solver" in text


def test_no_solution_within_the_time_limit_says_what_to_raise():
    assert _time_message(None) == ""  # a failure without a limit is not blamed on one
    assert _time_message(2.5) == "no solution found within the time limit of 2.5 s; raise the time limit"


def test_an_option_highs_refuses_is_an_error_not_a_silent_default(tiny):
    path = tiny([chip("a")], [offer("a", "2025Q1")])
    backend = HighsBackend(model_of(path), SolverOptions())
    with pytest.raises(SolverError) as err:
        backend._set("time_limt", 1.0)
    assert err.value.for_cli() == (
        "HiGHS refused its option time_limt = 1.0; reinstall the pinned highspy (pip install -e .) "
        "or use --solver cbc"
    )
    assert str(err.value).endswith("or use solver cbc")  # the Python API's name for the setting


def _tiny_model(tiny):
    # a: 1 PFLOPS per $1000, supply 10; a $3000 budget binds
    path = tiny(
        [chip("a")], [offer("a", "2025Q1", max_units=10)], budget={"total_usd": 3000}, periods=["2025Q1"]
    )
    return model_of(path)


def test_cbc_lp_duals_match_highs_and_are_zero_on_rows_it_leaves_out(tiny):
    model = _tiny_model(tiny)
    goal = scenario_goal(model.main)
    free = register_stage2(model, goal)  # a free row: PuLP gets no constraint for it
    cbc = CbcBackend(model, SolverOptions()).run(goal.sense, goal.lin, mip=False)
    highs = HighsBackend(model, SolverOptions()).run(goal.sense, goal.lin, mip=False)
    assert cbc.row_duals is not None and highs.row_duals is not None
    assert cbc.row_duals[free.index] == 0
    assert cbc.row_duals == pytest.approx(highs.row_duals)
    assert cbc.col_duals is not None and cbc.col_duals == pytest.approx(highs.col_duals)
    assert max(cbc.row_duals) == pytest.approx(1 / 1000)  # the budget: 1 PFLOPS per $1000


def test_cbc_missing_from_the_installation_is_named_with_the_way_out(tiny, monkeypatch):
    monkeypatch.setattr(pulp.PULP_CBC_CMD, "available", lambda self: False)
    model = _tiny_model(tiny)
    goal = scenario_goal(model.main)
    with pytest.raises(SolverError) as err:
        CbcBackend(model, SolverOptions(solver="cbc")).run(goal.sense, goal.lin)
    assert err.value.for_cli() == (
        "the CBC solver is not available in this installation; use --solver highs or install PuLP with "
        "its bundled CBC"
    )


def test_cbc_time_limit_returns_a_feasible_plan_and_says_so(slow):
    model = model_of(slow)
    goal = scenario_goal(model.main)
    run = CbcBackend(model, SolverOptions(solver="cbc", mip_gap=0.0)).run(
        goal.sense, goal.lin, time_limit=1.0
    )
    assert run.status == Status.FEASIBLE and run.x is not None and goal.lin.value(run.x) > 0
    assert run.message == "not proven optimal: the time limit (1 s) stopped CBC first; raise the time limit"
    assert run.seconds < 10


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_an_infeasible_model_is_not_blamed_on_the_time_limit(tiny, solver):
    # 2 PFLOPS wanted, 1 on offer: infeasible, whatever the time limit
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=1)],
        objective="min-cost",
        targets={"2025Q1": {"pflops": 2}},
    )
    model = model_of(path)
    goal = scenario_goal(model.main)
    options = SolverOptions(solver=solver)
    backend = CbcBackend(model, options) if solver == "cbc" else HighsBackend(model, options)
    run = backend.run(goal.sense, goal.lin, time_limit=30.0)
    assert (run.status, run.x, run.message) == (Status.INFEASIBLE, None, "")
