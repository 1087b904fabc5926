"""Workloads and clusters (contract v3, section 7): tiny cases worked by hand.

Chips of the conftest helper give 1 effective PFLOPS, 100 GB and 1 TB/s each and cost $1000. Every
plan is re-derived by the independent contract implementation (``check_plan``): the split within
the chips in service, only the workloads each chip serves, whole clusters per place and family,
targets met, and every reported figure recomputed from the split.
"""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner
from conftest import chip, lease, offer
from rederive import check_catches, check_plan

from planner.analyses.explaining import explain
from planner.cli import main
from planner.plans.plan import solve

HOME = {"name": "home", "country": "CN"}
AWAY = {"name": "away", "country": "MY"}


def bought(plan) -> list[tuple[str, str, int]]:
    return sorted(
        (r["sku"], r["site"] if isinstance(r["site"], str) else r["country"], int(r["chips"]))
        for r in plan.purchases.to_dict("records")
    )


def period(plan, name: str) -> dict:
    return next(p for p in plan.to_dict()["periods"] if p["period"] == name)


def training_case(tiny, max_units: int, size: int):
    """One site, one chip at $1000 with ``max_units`` on offer and the budget for them all; the most training in clusters of ``size``."""
    return tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=max_units)],
        periods=["2025Q1"],
        objective="max-training",
        sites=[HOME],
        budget={"total_usd": 1000 * max_units},
        targets={"2025Q1": {"training": {"cluster_chips": size}}},
    )


def test_training_chips_come_in_whole_clusters_at_one_place(tiny):
    # ten chips on offer, clusters of four: the most training is two clusters, and the cheapest plan
    # that keeps it buys eight chips, not ten
    plan = solve(training_case(tiny, max_units=10, size=4))
    check_plan(plan)
    assert bought(plan) == [("a", "home", 8)]
    assert period(plan, "2025Q1")["training_pflops"] == 8.0
    assert plan.to_dict()["clusters"] == [
        {"period": "2025Q1", "place": "home", "family": "a", "clusters": 2, "chips": 8}
    ]


def test_two_half_clusters_at_two_places_do_not_make_one(tiny):
    # two chips can go to each site; a cluster needs four at one place
    offers = [
        offer("a", "2025Q1", max_units=2, ships_to="CN"),
        offer("a", "2025Q1", max_units=2, ships_to="MY", channel="my"),
    ]
    common = {"periods": ["2025Q1"], "sites": [HOME, AWAY], "budget": {"total_usd": 10000}}
    path = tiny(
        [chip("a")],
        offers,
        objective="max-training",
        targets={"2025Q1": {"training": {"cluster_chips": 4}}},
        **common,
    )
    plan = solve(path)
    check_plan(plan)
    assert period(plan, "2025Q1")["training_pflops"] == 0.0 and plan.to_dict()["clusters"] == []
    # asked for one cluster's compute, the scenario has no plan, and the diagnosis says by how much
    short = tiny(
        [chip("a")],
        offers,
        objective="min-cost",
        targets={"2025Q1": {"training": {"pflops": 4, "cluster_chips": 4}}},
        name="short",
        **common,
    )
    plan = solve(short)
    assert plan.status == "infeasible"
    assert plan.diagnosis.to_json()["shortfalls"] == [
        {"period": "2025Q1", "measure": "training_pflops", "target": 4.0, "shortfall": 4.0}
    ]


def test_a_chip_of_another_family_does_not_fill_a_cluster(tiny):
    # 2 chips of family x and 2 of family y at one place: no cluster of four; 4 of x: one cluster
    chips = [chip("a", cluster_family="x"), chip("b", cluster_family="y"), chip("c", cluster_family="x")]
    offers = [
        offer("a", "2025Q1", max_units=2),
        offer("b", "2025Q1", max_units=2),
        offer("c", "2025Q1", max_units=2),
    ]
    path = tiny(
        chips,
        offers,
        periods=["2025Q1"],
        objective="max-training",
        sites=[HOME],
        budget={"total_usd": 10000},
        targets={"2025Q1": {"training": {"cluster_chips": 4}}},
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == [("a", "home", 2), ("c", "home", 2)]
    assert plan.to_dict()["clusters"] == [
        {"period": "2025Q1", "place": "home", "family": "x", "clusters": 1, "chips": 4}
    ]


def test_an_inference_only_chip_never_trains(tiny):
    path = tiny(
        [chip("serve", workloads="inference")],
        [offer("serve", "2025Q1", max_units=8)],
        periods=["2025Q1"],
        objective="max-training",
        sites=[HOME],
        budget={"total_usd": 10000},
        targets={"2025Q1": {"training": {"cluster_chips": 1}, "inference": {"memory_tb": 0.1}}},
    )
    plan = solve(path)
    check_plan(plan)
    assert period(plan, "2025Q1")["training_pflops"] == 0.0
    assert all(s["training_chips"] == 0 for s in plan.to_dict()["workload_split"])


def test_an_inference_target_buys_a_bandwidth_chip_a_compute_plan_would_not(tiny):
    # "fast": 2 PFLOPS and 1 TB/s; "wide": 0.5 PFLOPS and 4 TB/s; both $1000, budget $4000.
    # Most compute alone: four fast chips (8 PFLOPS). Serving needs 8 TB/s: two wide chips (8 TB/s)
    # and two fast ones (4 + 1 = 5 PFLOPS) beat any plan with fewer wide chips
    chips = [
        chip("fast", bf16_tflops=2000, memory_bw_tbps=1),
        chip("wide", bf16_tflops=500, memory_bw_tbps=4),
    ]
    offers = [offer("fast", "2025Q1", max_units=4), offer("wide", "2025Q1", max_units=4)]
    common = {"periods": ["2025Q1"], "sites": [HOME], "budget": {"total_usd": 4000}}
    plain = solve(tiny(chips, offers, name="plain", **common))
    assert bought(plain) == [("fast", "home", 4)]
    serving = solve(
        tiny(chips, offers, targets={"2025Q1": {"inference": {"memory_bw_tbps": 8}}}, name="serve", **common)
    )
    check_plan(serving)
    assert bought(serving) == [("fast", "home", 2), ("wide", "home", 2)]
    assert serving.totals["effective_pflops"] == 5.0
    assert period(serving, "2025Q1")["inference_memory_bw_tbps"] >= 8.0 - 1e-9


def test_a_chip_trains_early_and_serves_later(tiny):
    # four chips bought in Q1: one cluster of four trains in Q1; in Q2 the same chips serve 4 TB/s
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=4)],
        periods=["2025Q1", "2025Q2"],
        objective="min-cost",
        sites=[HOME],
        targets={
            "2025Q1": {"training": {"pflops": 4, "cluster_chips": 4}},
            "2025Q2": {"inference": {"memory_bw_tbps": 4}},
        },
    )
    plan = solve(path)
    check_plan(plan)
    assert bought(plan) == [("a", "home", 4)]
    split = {(s["period"], s["sku"]): s for s in plan.to_dict()["workload_split"]}
    assert split[("2025Q1", "a")]["training_chips"] == 4.0
    assert split[("2025Q2", "a")]["inference_chips"] == pytest.approx(4.0)
    assert "training_pflops" in period(plan, "2025Q2") and period(plan, "2025Q2")["training_pflops"] == 0.0


def test_a_cloud_is_a_place_of_its_own(tiny):
    # four rented chips in one cloud make a cluster named CHANNEL@COUNTRY
    path = tiny(
        [chip("a")],
        [lease("a", "2025Q1", term_quarters=1, max_units=4)],
        periods=["2025Q1"],
        objective="max-training",
        sites=[HOME],
        budget={"total_usd": 4000},
        targets={"2025Q1": {"training": {"cluster_chips": 4}}},
    )
    plan = solve(path)
    check_plan(plan)
    assert plan.to_dict()["clusters"] == [
        {"period": "2025Q1", "place": "cloud@MY", "family": "a", "clusters": 1, "chips": 4}
    ]


def test_without_workload_targets_the_json_has_no_section_7_keys(tiny):
    doc = solve(tiny([chip("a")], [offer("a", "2025Q1", max_units=1)], budget={"total_usd": 1000})).to_dict()
    assert "clusters" not in doc and "training_pflops" not in doc["periods"][0]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(
    "chip_kw, targets, objective, message",
    [
        (
            {"workloads": "training serving"},
            {},
            "max-compute",
            "column workloads: unknown workload 'serving'",
        ),
        ({}, {}, "max-training", "objective max-training maximises the training compute of the last period"),
        ({}, {"2025Q2": {"training": {}}}, "max-compute", "training needs pflops, cluster_chips or both"),
        (
            {},
            {"2025Q2": {"training": {"cluster_chips": 0}}},
            "max-compute",
            "cluster_chips: Input should be greater",
        ),
        (
            {},
            {"2025Q2": {"inference": {}}},
            "max-compute",
            "inference needs memory_bw_tbps, memory_tb or both",
        ),
    ],
)
def test_workload_input_errors(tiny, chip_kw, targets, objective, message):
    path = tiny([chip("a", **chip_kw)], [offer("a", "2025Q1")], targets=targets, objective=objective)
    result = run("plan", path)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_workload_json_through_the_cli(tiny):
    path = training_case(tiny, max_units=4, size=2)
    result = run("plan", path, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["periods"][0]["training_pflops"] == 4.0
    assert doc["clusters"] == [
        {"period": "2025Q1", "place": "home", "family": "a", "clusters": 2, "chips": 4}
    ]


@pytest.mark.parametrize("command", ["sweep", "stress"])
def test_commands_that_read_compute_or_cost_refuse_max_training(tiny, tmp_path, command):
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1")],
        objective="max-training",
        targets={"2025Q2": {"training": {"cluster_chips": 1}}},
        budget={"total_usd": 1000},
    )
    shocks = tmp_path / "s.yaml"
    shocks.write_text("name: s\nshocks:\n  - {name: x, quarter: 2025Q2, budget_cut: {fraction: 0.5}}\n")
    extra = {"sweep": ["--budget", "1K:2K:2"], "stress": ["--shocks", shocks]}[command]
    result = run(command, path, *extra)
    assert result.exit_code == 2, result.output
    assert f"key objective: {command} does not handle objective max-training yet" in result.output


def _random_instance(rng: random.Random) -> tuple[list[dict], list[dict], dict]:
    """Chips of two families (some inference only), purchases at two sites, leases in two clouds, workload targets."""
    chips = [
        chip(
            f"c{i}",
            bf16_tflops=rng.choice([500, 1000, 2000]),
            memory_bw_tbps=rng.choice([1, 2, 4]),
            memory_gb=rng.choice([50, 100, 200]),
            chips_per_server=rng.choice([1, 2]),
            cluster_family=rng.choice(["f", "g", ""]),
            workloads=rng.choice(["training inference", "training inference", "inference", "training"]),
        )
        for i in range(rng.randint(2, 4))
    ]
    periods = ["2025Q1", "2025Q2", "2025Q3"][: rng.randint(2, 3)]
    offers = []
    for c in chips:
        for q in periods[:-1] if len(periods) > 2 else periods:
            if rng.random() < 0.7:
                offers.append(
                    offer(
                        c["sku"],
                        q,
                        max_units=rng.choice([2, 4, 6]),
                        lead_time_quarters=rng.choice([0, 1]),
                        unit_price_usd=rng.choice([800, 1000, 1500]),
                        delivery_risk=rng.choice(["", 0.1]),
                    )
                )
            if rng.random() < 0.4:
                rented = lease(
                    c["sku"],
                    q,
                    ships_to=rng.choice(["MY", "SG"]),
                    term_quarters=rng.choice([1, 2, 4]),
                    max_units=rng.choice([2, 4]),
                    unit_price_usd=rng.choice([200, 300]),
                )
                offers.append(rented | {"channel": rng.choice(["cloud-a", "cloud-b"])})
    if not offers:
        offers.append(offer(chips[0]["sku"], periods[0]))
    size = rng.choice([2, 4])
    targets = {}
    for q in periods:
        t = {}
        if rng.random() < 0.6:
            t["training"] = {"cluster_chips": size} | (
                {"pflops": rng.choice([2, 4])} if rng.random() < 0.5 else {}
            )
        if rng.random() < 0.6:
            t["inference"] = (
                {"memory_bw_tbps": rng.choice([2, 4, 8])}
                if rng.random() < 0.5
                else {"memory_tb": rng.choice([0.2, 0.4])}
            )
        if t:
            targets[q] = t
    last = periods[-1]
    objective = rng.choice(["max-training", "min-cost", "max-compute"])
    if objective == "max-training":
        targets.setdefault(last, {}).setdefault("training", {"cluster_chips": size})
    scenario = {
        "periods": periods,
        "objective": objective,
        "sites": [HOME, AWAY | {"electricity_usd_per_kwh": 0.1}],
        "budget": {"total_usd": rng.choice([6000, 12000])},
        "targets": targets,
    }
    if rng.random() < 0.3:
        scenario["fleet"] = [{"sku": chips[0]["sku"], "chips": rng.choice([2, 4]), "site": "home"}]
    if rng.random() < 0.3:
        scenario["finance"] = {"service_life_years": 0.5, "deposit": 0.5}
    return chips, offers, scenario


@pytest.mark.parametrize("seed", range(30))
def test_generated_workload_plans_rederive(tiny, seed):
    """30 seeded instances (measured: 18 with a plan, 12 with clusters in use, 12 infeasible with a diagnosis)."""
    chips, offers, scenario = _random_instance(random.Random(seed))
    plan = solve(tiny(chips, offers, name=f"g{seed}", **scenario))
    if plan.ok:
        check_plan(plan)
    else:
        assert plan.status == "infeasible"
        d = plan.diagnosis
        assert d.shortfalls or d.blocking or d.limits


@pytest.mark.parametrize(
    "break_it",
    [
        lambda doc: doc["workload_split"][0].update(
            training_chips=doc["workload_split"][0]["training_chips"] + 1
        ),
        lambda doc: doc["clusters"][0].update(clusters=doc["clusters"][0]["clusters"] + 1),
        lambda doc: doc["periods"][0].update(training_pflops=doc["periods"][0]["training_pflops"] + 1),
    ],
)
def test_the_independent_check_catches_a_broken_workload_answer(tiny, break_it):
    check_catches(solve(training_case(tiny, max_units=4, size=2)), break_it)


# ---------------------------------------------------------------- explain: what limits training


def limits_of(result: dict) -> list[tuple]:
    return [
        (
            t["place"],
            t["family"],
            t["clusters"],
            t["in_service"],
            t["outside_clusters"],
            t["most_clusters"],
            t["limits"],
        )
        for t in result["training"]
    ]


def test_explain_max_training_names_the_budget_and_prices_nothing_impossible(tiny):
    # $10,000 buys ten chips of 1 PFLOPS at $1000; clusters of four: two clusters, eight chips.
    # A third cluster needs four more chips ($4000) against $2000 left: no plan with it; $1B more
    # lifts training to the 100 chips on offer (25 clusters): +92 PFLOPS, the LP +90 (10 to 100)
    path = tiny(
        [chip("a")],
        [offer("a", "2025Q1", max_units=100)],
        periods=["2025Q1"],
        objective="max-training",
        sites=[HOME],
        budget={"total_usd": 10_000},
        targets={"2025Q1": {"training": {"cluster_chips": 4}}},
    )
    result = explain(path).to_dict()
    assert result["unit"] == "training PFLOPS"
    assert limits_of(result) == [
        (
            "home",
            "a",
            2,
            8.0,
            0.0,
            25,
            "cluster size: 0 chips outside clusters, 4 short of another; "
            "another cluster through any one offer would break: the budget",
        )
    ]
    budget, cluster = result["marginal"]
    assert (budget["unit"], budget["dual"], budget["lp_resolved"], budget["milp_resolved"]) == (
        "training PFLOPS per $1B",
        1e6,
        90.0,
        92.0,
    )
    assert cluster["what"] == "one more a cluster (4 chips) at home in 2025Q1"
    assert (cluster["lp_resolved"], cluster["milp_resolved"], cluster["note"]) == (
        None,
        None,
        "no plan after the change",
    )


def test_explain_says_what_one_more_cluster_costs_and_where_power_stops_it(tiny):
    # min-cost, 4 PFLOPS of training in clusters of four: one cluster at home, 4 x $1000 (the cost
    # counts purchases only: the sites have no electricity price). One more there costs $4000.
    # Away, 3 kW of site power holds three chips of 1 kW (PUE 1): never a cluster, whatever it costs
    away = {**AWAY, "capacity_mw": {"2025Q1": 0.003}}
    offers = [
        offer("a", "2025Q1", max_units=100, ships_to="CN"),
        offer("a", "2025Q1", max_units=100, ships_to="MY", channel="my"),
    ]
    path = tiny(
        [chip("a")],
        offers,
        periods=["2025Q1"],
        objective="min-cost",
        sites=[HOME, away],
        targets={"2025Q1": {"training": {"pflops": 4, "cluster_chips": 4}}},
    )
    result = explain(path).to_dict()
    short = "cluster size: 0 chips outside clusters, 4 short of another"
    assert limits_of(result) == [
        (
            "away",
            "a",
            0,
            0.0,
            0.0,
            25,
            f"{short}; another cluster through any one offer would break: power at away in 2025Q1",
        ),
        ("home", "a", 1, 4.0, 0.0, 25, short),
    ]
    rows = {m["what"]: m for m in result["marginal"] if m["what"].startswith("one more")}
    home = rows["one more a cluster (4 chips) at home in 2025Q1"]
    assert (home["unit"], home["dual"], home["lp_resolved"], home["milp_resolved"]) == (
        "USD of cost per cluster",
        None,
        4000.0,
        4000.0,
    )
    assert rows["one more a cluster (4 chips) at away in 2025Q1"]["note"] == "no plan after the change"


def test_explain_cli_shows_the_training_limits_in_the_report_json_and_workbook(tiny, tmp_path):
    import openpyxl

    path = training_case(tiny, max_units=10, size=4)  # two clusters: the ten chips on offer hold no third
    table = CliRunner().invoke(main, ["explain", str(path)], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.output
    assert "What limits training" in table.output
    assert "supply: the offers serving home in 2025Q1 bring at most 2" in " ".join(table.output.split())
    assert all(len(line) <= 80 for line in table.output.splitlines())
    data = json.loads(run("explain", path, "--format", "json").output)
    assert data["objective"] == "max-training" and [t["most_clusters"] for t in data["training"]] == [2]
    assert not any(m["what"].startswith("one more") for m in data["marginal"])  # none fits
    book = tmp_path / "e.xlsx"
    assert run("explain", path, "--out", book).exit_code == 0
    sheet = openpyxl.load_workbook(book)["Explain training"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["period", "place", "family", "clusters"]
    assert [c.value for c in sheet[2]][:4] == ["2025Q1", "home", "a", 2]
