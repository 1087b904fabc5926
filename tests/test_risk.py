"""Risk: the sampler, the rolling re-plan by hand, summaries from the sample table, and the same
JSON whatever runs the samples (one local worker, two, or a real Dask scheduler and worker)."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from conftest import chip, offer

from planner.analyses.risk_results import Distribution, RiskResult, wilson_interval
from planner.analyses.sampling import draw, risk, roll
from planner.cli import main
from planner.inputs.shocks import Choice, Lognormal, ShockFile, Triangular, Uniform, load_shocks

# ---------------------------------------------------------------- the sampler


def shock_file(*shocks: dict) -> ShockFile:
    return ShockFile.model_validate({"name": "s", "shocks": list(shocks)})


CUT = {"name": "cut", "quarter": "2025Q2", "probability": 0.5}
UNCERTAIN = CUT | {
    "supply_cut": {"by": "sku", "value": "a", "fraction": {"dist": "uniform", "low": 0.2, "high": 0.6}}
}
PRICE = {"name": "dear", "quarter": "2025Q2", "probability": 0.3}
PRICE |= {"price": {"by": "sku", "value": "a", "factor": {"dist": "lognormal", "median": 1.2, "sigma": 0.1}}}


def test_samples_depend_on_seed_and_index_only():
    shocks = shock_file(UNCERTAIN, PRICE)
    runs = [[draw(shocks, 7, i) for i in range(50)] for _ in range(2)]
    names = lambda run: [([s.name for s in occ], d) for occ, d in run]  # noqa: E731
    assert names(runs[0]) == names(runs[1])
    assert names(runs[0]) != names([draw(shocks, 8, i) for i in range(50)])
    assert [draw(shocks, 7, i)[1] for i in (30, 3)] == [runs[0][30][1], runs[0][3][1]]  # any order


def test_every_shock_is_drawn_so_amounts_do_not_depend_on_other_shocks():
    # the price shock's draw is the same whether the first shock occurs or not
    often = shock_file(UNCERTAIN | {"probability": 1.0}, PRICE | {"probability": 1.0})
    never = shock_file(UNCERTAIN | {"probability": 0.0}, PRICE | {"probability": 1.0})
    for i in range(20):
        assert draw(often, 1, i)[1]["dear"] == draw(never, 1, i)[1]["dear"]


def test_occurrence_frequencies_match_the_probabilities():
    shocks = shock_file(UNCERTAIN, PRICE)
    n = 4000
    seen = {"cut": 0, "dear": 0}
    for i in range(n):
        for s in draw(shocks, 3, i)[0]:
            seen[s.name] += 1
    for name, p in (("cut", 0.5), ("dear", 0.3)):
        assert abs(seen[name] / n - p) < 4 * math.sqrt(p * (1 - p) / n)  # four standard errors


def ks_statistic(draws: np.ndarray, cdf) -> float:
    x = np.sort(draws)
    f = np.array([cdf(v) for v in x])
    n = len(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def triangular_cdf(low, mode, high):
    def cdf(x):
        if x <= mode:
            return (x - low) ** 2 / ((high - low) * (mode - low))
        return 1 - (high - x) ** 2 / ((high - low) * (high - mode))

    return cdf


@pytest.mark.parametrize(
    "dist, cdf",
    [
        (Uniform(dist="uniform", low=0.2, high=0.6), lambda x: (x - 0.2) / 0.4),
        (Triangular(dist="triangular", low=0.1, mode=0.2, high=0.3), triangular_cdf(0.1, 0.2, 0.3)),
        (
            Lognormal(dist="lognormal", median=1.2, sigma=0.15),
            lambda x: 0.5 * (1 + math.erf((math.log(x) - math.log(1.2)) / (0.15 * math.sqrt(2)))),
        ),
    ],
    ids=["uniform", "triangular", "lognormal"],
)
def test_continuous_draws_fit_their_distribution(dist, cdf):
    rng = np.random.default_rng(11)
    n = 5000
    d = ks_statistic(np.array([dist.draw(rng) for _ in range(n)]), cdf)
    assert d < 1.63 / math.sqrt(n)  # Kolmogorov-Smirnov at the 1% level
    assert d > 0  # and not a degenerate sample


def test_choice_draws_fit_their_weights():
    dist = Choice(dist="choice", values=[1, 2, 3], weights=[3, 1, 1])
    rng = np.random.default_rng(5)
    n = 5000
    values = [dist.draw(rng) for _ in range(n)]
    expected = np.array([0.6, 0.2, 0.2]) * n
    observed = np.array([values.count(v) for v in (1.0, 2.0, 3.0)])
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 9.21  # chi-square, 2 degrees of freedom, 1% level
    assert dist.typical() == 1 and Triangular(dist="triangular", low=0, mode=2, high=3).typical() == 2


def test_distributions_are_checked_against_the_amount_they_give(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "name": "bad",
                "shocks": [
                    CUT
                    | {
                        "supply_cut": {
                            "by": "sku",
                            "value": "a",
                            "fraction": {"dist": "uniform", "low": 0.5, "high": 1.5},
                        }
                    }
                ],
            }
        )
    )
    with pytest.raises(Exception) as err:
        load_shocks(bad)
    assert str(err.value) == (
        f"{bad}, key shocks[0].supply_cut.fraction: every draw of the uniform distribution must lie in (0, 1], "
        "but draws range over [0.5, 1.5]"
    )


# ---------------------------------------------------------------- the rolling re-plan by hand


@pytest.fixture
def three_quarters(tiny):
    """a: 1 PFLOPS for $1000, 4 a quarter over three quarters, $12,000 in all: the base plan buys 12."""
    offers = [offer("a", q, max_units=4) for q in ("2025Q1", "2025Q2", "2025Q3")]
    return tiny([chip("a")], offers, periods=["2025Q1", "2025Q2", "2025Q3"], budget={"total_usd": 12000})


SUPPLY_HALVED = {
    "name": "supply",
    "quarter": "2025Q2",
    "probability": 1.0,
    "supply_cut": {"by": "sku", "value": "a", "fraction": 0.5},
}
BUDGET_CUT = {"name": "money", "quarter": "2025Q3", "probability": 1.0, "budget_cut": {"fraction": 0.9}}


def test_shocks_roll_in_date_order(three_quarters):
    from planner.plans.plan import solve

    scenario_path = three_quarters
    base = solve(scenario_path)
    assert base.totals["effective_pflops"] == 12
    # listed out of order: the supply cut (Q2) comes first. After it, Q2 and Q3 offer 2 a each and
    # Q2's 2 are bought; at Q3 $6000 is committed and the 90% cut leaves 6000 + 0.1 x 6000 = $6600:
    # nothing more fits ($1000 an a would need $7000). Final: 4 + 2 = 6 PFLOPS for $6000.
    shocks = shock_file(BUDGET_CUT, SUPPLY_HALVED)
    occurred, draws = draw(shocks, 0, 0)
    assert [s.name for s in occurred] == ["money", "supply"] and draws == {}
    scenario = base.data.scenario
    outcome = roll(base, occurred, scenario, base.data.catalog, _options())
    assert outcome == {
        "status": "optimal",
        "effective_pflops": 6.0,
        "cost_usd": 6000.0,
        "stranded_usd": 0.0,
        "cost_vs_no_shock_usd": -6000.0,
        "targets_missed": 0,
        "missed": [],
    }


def test_a_sample_without_recovery_keeps_its_committed_orders(tiny):
    # a target of 8 PFLOPS in Q2: 4 a bought in Q1 and 4 in Q2; supply cut to nothing from Q2
    offers = [offer("a", q, max_units=4) for q in ("2025Q1", "2025Q2")]
    path = tiny(
        [chip("a")],
        offers,
        objective="min-cost",
        targets={"2025Q2": {"pflops": 8}},
        budget={"total_usd": 9000},
    )
    from planner.plans.plan import solve

    base = solve(path)
    assert base.totals["effective_pflops"] == 8
    gone = SUPPLY_HALVED | {"supply_cut": {"by": "sku", "value": "a", "fraction": 1.0}}
    outcome = roll(base, draw(shock_file(gone), 0, 0)[0], base.data.scenario, base.data.catalog, _options())
    assert outcome["status"] == "infeasible"
    assert outcome["effective_pflops"] == 4 and outcome["cost_usd"] == 4000
    assert outcome["targets_missed"] == 1 and outcome["missed"] == ["2025Q2 pflops"]


def _options():
    from planner.model.runs import SolverOptions

    return SolverOptions()


# ---------------------------------------------------------------- the whole run, wherever it runs


@pytest.fixture
def risky(three_quarters, tmp_path):
    shocks = tmp_path / "risk.yaml"
    uncertain = SUPPLY_HALVED | {
        "probability": 0.6,
        "supply_cut": {
            "by": "sku",
            "value": "a",
            "fraction": {"dist": "triangular", "low": 0.2, "mode": 0.5, "high": 0.8},
        },
    }
    shocks.write_text(
        yaml.safe_dump({"name": "risky", "shocks": [uncertain, BUDGET_CUT | {"probability": 0.3}]})
    )
    return three_quarters, shocks


def test_the_95_percent_interval_of_a_miss_probability_by_hand():
    """Wilson: (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z = 1.959964, z^2 = 3.841459.

    25 misses in 500: p = 0.05, z^2/n = 0.0076829, centre = 0.0538415 / 1.0076829 = 0.0534310,
    half = 1.959964 * sqrt(0.000095 + 0.0000038415) / 1.0076829 = 0.0193372: 0.034094 to 0.072768.
    None in 20: centre = half = 0.0960365 / 1.1920730 = 0.0805627: 0 to 0.161125; all 20: the mirror.
    """
    assert wilson_interval(25, 500) == (0.034094, 0.072768)
    assert wilson_interval(0, 20) == (0.0, 0.161125)
    assert wilson_interval(20, 20) == (0.838875, 1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_summaries_are_recomputed_from_the_sample_table(risky):
    scenario, shocks = risky
    result = risk(scenario, shocks, samples=40, seed=2, plans=("base", "robust"), workers=1)
    assert isinstance(result, RiskResult) and result.objective_metric() == "effective_pflops"
    assert result.samples_n == 40 and [s["index"] for s in result.samples] == list(range(40))
    for kind in ("base", "robust"):
        for metric, stats in result.plans[kind].summary.items():
            values = result.outcome_values(kind, metric)
            p5, p50, p95 = np.percentile(values, [5, 50, 95])
            assert stats == Distribution(
                *(
                    pytest.approx(v, abs=1e-6)
                    for v in (values.mean(), values.std(), p5, p50, p95, values.min(), values.max())
                )
            )
        by = {b.shock: b for b in result.plans[kind].by_shock}
        hit = [s[kind]["effective_pflops"] for s in result.samples if "supply" in s["occurred"]]
        assert by["supply"].occurred_n == len(hit) and by["supply"].mean_when_occurs == pytest.approx(
            np.mean(hit)
        )
    # a sample where nothing happens keeps the base plan's 12 PFLOPS
    quiet = [s for s in result.samples if not s["occurred"]]
    assert quiet and all(s["base"]["effective_pflops"] == 12 for s in quiet)
    # the document risk prints: the typed fields, in order, as JSON
    document = result.to_dict()
    assert list(document) == ["scenario", "shocks", "seed", "samples_n", "objective", "plans", "samples"]
    assert list(document["plans"]["base"]) == [
        "summary",
        "p_target_missed",
        "p_target_missed_ci95",
        "by_shock",
        "statuses",
        "plan_status",
    ]
    assert json.loads(json.dumps(document))["plans"]["robust"]["summary"]["effective_pflops"][
        "p5"
    ] == pytest.approx(result.plans["robust"].summary["effective_pflops"].p5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster():
    """A real ``dask scheduler`` and ``dask worker`` on 127.0.0.1, as on two machines."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", ":0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    worker = subprocess.Popen(
        [dask, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        from dask.distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="2s") as c:
                    if len(c.scheduler_info()["workers"]) == 2:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the Dask cluster did not start"
            time.sleep(0.5)
        yield address
    finally:
        for p in (worker, scheduler):
            p.terminate()
            p.wait(timeout=30)


def test_the_same_json_on_one_worker_two_workers_and_a_dask_cluster(risky, dask_cluster):
    scenario, shocks = risky
    args = [
        "risk",
        str(scenario),
        "--shocks",
        str(shocks),
        "--samples",
        "12",
        "--seed",
        "4",
        "--plan",
        "both",
        "--format",
        "json",
    ]
    outputs = [
        CliRunner().invoke(main, args + extra)
        for extra in (["--workers", "1"], ["--workers", "2"], ["--scheduler", dask_cluster])
    ]
    for result in outputs:
        assert result.exit_code == 0, result.output
    texts = [r.stdout for r in outputs]
    assert texts[0] == texts[1] == texts[2]
    data = json.loads(texts[0])
    assert set(data) == {"scenario", "shocks", "seed", "samples_n", "objective", "plans", "samples"}
    assert set(data["plans"]) == {"base", "robust"}
    assert set(data["samples"][0]) == {"index", "occurred", "draws", "base", "robust"}


def test_risk_command_writes_the_workbook_and_the_chart(risky, tmp_path):
    scenario, shocks = risky
    book, chart = tmp_path / "r.xlsx", tmp_path / "r.png"
    result = CliRunner().invoke(
        main,
        [
            "risk",
            str(scenario),
            "--shocks",
            str(shocks),
            "--samples",
            "20",
            "--workers",
            "1",
            "--out",
            str(book),
            "--plot",
            str(chart),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Outcome over the samples" in result.output and "supply" in result.output
    sheets = openpyxl.load_workbook(book).sheetnames
    assert sheets[0] == "Summary" and "Samples" in sheets and "Shocks" in sheets
    assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--samples", "0"],
            "error: Invalid value for '--samples': 0 is not in the range 1<=x<=100000. (see main risk --help)",
        ),
        (["--plan", "all"], None),
    ],
)
def test_risk_usage_errors(risky, args, message):
    scenario, shocks = risky
    result = CliRunner().invoke(main, ["risk", str(scenario), "--shocks", str(shocks), *args])
    assert result.exit_code == 2 and len(result.output.splitlines()) == 1
    if message:
        assert result.output.strip() == message


def test_every_shock_needs_a_probability(three_quarters, tmp_path):
    shocks = tmp_path / "p.yaml"
    shocks.write_text(
        yaml.safe_dump({"name": "p", "shocks": [{k: v for k, v in BUDGET_CUT.items() if k != "probability"}]})
    )
    result = CliRunner().invoke(
        main, ["risk", str(three_quarters), "--shocks", str(shocks), "--workers", "1"]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: {shocks}, key shocks[0].probability: shock 'money' needs a probability: risk samples whether "
        "each shock occurs"
    )


def test_sweep_and_compare_on_a_dask_cluster_match_local_runs(three_quarters, dask_cluster, tmp_path):
    scenario = str(three_quarters)
    sweep = ["sweep", scenario, "--budget", "3K:12K:4", "--format", "json"]
    local, remote = (CliRunner().invoke(main, sweep + extra) for extra in ([], ["--scheduler", dask_cluster]))
    assert local.exit_code == remote.exit_code == 0, remote.output
    assert local.stdout == remote.stdout
    assert [p["totals"]["effective_pflops"] for p in json.loads(local.stdout)["points"]] == [3, 6, 9, 12]
    compare = ["compare", scenario, scenario, "--format", "json"]
    local, remote = (
        CliRunner().invoke(main, compare + extra) for extra in ([], ["--scheduler", dask_cluster])
    )
    assert local.exit_code == remote.exit_code == 0, remote.output

    def plans(text: str) -> list[dict]:
        return [{k: v for k, v in p.items() if k != "seconds"} for p in json.loads(text)["scenarios"]]

    assert plans(local.stdout) == plans(remote.stdout)


def test_an_unreachable_scheduler_is_one_line(three_quarters, tmp_path, monkeypatch):
    import planner.analyses.parallel

    monkeypatch.setattr(
        planner.analyses.parallel, "CONNECT_SECONDS", 1.0
    )  # refused connections are retried until then
    port = free_port()
    result = CliRunner().invoke(
        main, ["sweep", str(three_quarters), "--budget", "3K:6K:2", "--scheduler", f"tcp://127.0.0.1:{port}"]
    )
    assert result.exit_code == 2 and len(result.output.splitlines()) == 1
    assert result.output.startswith(
        f"error: key --scheduler: cannot reach a Dask scheduler at tcp://127.0.0.1:{port} within 1 s"
    )


def test_a_failure_on_the_workers_is_one_line_and_leaves_no_scratch_folder(tmp_path):
    """--max-time running out inside the workers: gpuplan's one line, no worker log, no Dask scratch space."""
    root = Path(__file__).resolve().parent.parent
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner",
            "risk",
            str(root / "budgets" / "base-7b.yaml"),
            "--shocks",
            str(root / "budgets" / "shocks" / "risk-2025.yaml"),
            "--samples",
            "60",
            "--max-time",
            "3",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert (
        done.stderr == "solver error: the --max-time ran out before the run finished; nothing was written\n"
    )
    assert list(scratch.iterdir()) == []


def test_the_library_offers_risk_beside_solve_and_stress():
    import planner
    import planner.analyses.sampling

    assert planner.risk is planner.analyses.sampling.risk
    assert "risk" in planner.__all__


def test_correlated_shocks_give_the_same_json_on_one_and_two_workers(risky, tmp_path):
    """A correlation block: the samples are the same whatever the workers, and both shocks arrive together."""
    scenario, shocks = risky
    doc = yaml.safe_load(shocks.read_text())
    doc["correlation"] = {"shocks": ["supply", doc["shocks"][1]["name"]], "matrix": [[1, 0.9], [0.9, 1]]}
    correlated = tmp_path / "correlated.yaml"
    correlated.write_text(yaml.safe_dump(doc))
    args = [
        "risk",
        str(scenario),
        "--shocks",
        str(correlated),
        "--samples",
        "24",
        "--seed",
        "9",
        "--format",
        "json",
    ]
    one, two = (CliRunner().invoke(main, args + ["--workers", w]) for w in ("1", "2"))
    assert one.exit_code == 0 and two.exit_code == 0, one.output
    assert one.stdout == two.stdout
    samples = json.loads(one.stdout)["samples"]
    # at correlation 0.9 the less likely shock (0.3) comes with the likelier one (0.6): independent
    # draws would give it alone in 0.3 x 0.4 = 12% of the samples
    money_alone = [x for x in samples if x["occurred"] == ["money"]]
    both = [x for x in samples if len(x["occurred"]) == 2]
    assert money_alone == [] and len(both) >= 3


def test_a_base_plan_without_a_plan_exits_1_with_one_line(tiny, tmp_path):
    # 2 chips on offer, 3 PFLOPS asked: nothing to roll through the samples; exit 1 (no plan), not 2
    path = tiny([chip("a")], [offer("a", "2025Q1", max_units=2)], targets={"2025Q1": {"pflops": 3}})
    shocks = tmp_path / "shocks.yaml"
    shocks.write_text(
        "name: s\nshocks:\n  - {name: cut, quarter: 2025Q1, probability: 0.5, budget_cut: {fraction: 0.1}}\n"
    )
    result = CliRunner().invoke(main, ["risk", str(path), "--shocks", str(shocks), "--samples", "2"])
    assert result.exit_code == 1
    assert (
        result.output == "error: the base plan is infeasible: there is no plan to roll through the samples\n"
    )
