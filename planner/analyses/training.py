"""Training with whole clusters (contract v3, section 7) as explain reads it: what holds each cluster, and which could grow.

The figures come from the model rebuilt from the plan's data with the plan's values put back
(:func:`plan_solution`): the split rows' chips in service, the cluster columns and their bounds,
and the slack of every row another cluster would have to fit in.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from planner.inputs.tables import records
from planner.model.build import Coefficients
from planner.model.keys import BUDGET_FAMILIES, Family, RowKey
from planner.model.linear import FloatArray
from planner.model.rows import LE, Model, Row
from planner.plans.results import Plan

TRAINING_COLUMNS = [
    "period",
    "place",
    "family",
    "clusters",
    "cluster_chips",
    "in_service",
    "outside_clusters",
    "most_clusters",
    "limits",
]


def plan_solution(plan: Plan, model: Model) -> FloatArray:
    """The plan's value of every column of ``model`` (built from the plan's data): its servers, workload split and clusters."""
    assert plan.servers is not None
    x = np.zeros(model.n_cols)
    x[model.main.cols] = plan.servers
    if plan.workloads is not None:
        plan.workloads.fill(model.main, x)
    return x


def cluster_asks(plan: Plan, model: Model) -> list[tuple[int, str, str, int, int]]:
    """``(p, place, family, size, clusters)`` of every cluster the model could add one more of."""
    x = plan_solution(plan, model)
    out = []
    for r in records(model.main.workloads.clusters):
        y = int(r["y"])
        n = round(float(x[y]))
        if model.col_upper[y] >= n + 1:
            out.append((int(r["p"]), str(r["place"]), str(r["family"]), int(r["size"]), n))
    return out


def training_limits(plan: Plan, model: Model) -> pd.DataFrame:
    """Per quarter with a cluster size, and per place and family that could train there: the plan's clusters and what holds them.

    ``in_service``: the family's training chips in service at the place (effective chips, from the
    split rows); ``outside_clusters``: those not in a cluster (serving inference or idle);
    ``most_clusters``: what the offers serving the place could bring at most. ``limits`` names
    what keeps another cluster out: the supply (the most clusters reached, or every offer of the
    family there bought out), the cluster size (chips short of another), and the rows (budget,
    power, shares, caps) that buying those chips through any one offer with room would break.
    """
    data = plan.data
    assert data is not None and plan.servers is not None
    x = plan_solution(plan, model)
    w = model.main.workloads
    o = data.offers
    taken = pd.Series(plan.servers, index=o.index).groupby(o["offer_id"]).transform("sum").to_numpy()
    room = o["max_servers"].to_numpy() - taken
    per_server = (o["q"] * o["chips_per_server"]).to_numpy(np.float64)
    families = o["sku"].map(data.catalog.chips["cluster_family"].astype(str)).to_numpy(dtype=object)
    places = o["place"].to_numpy(dtype=object)
    coefficients = Coefficients.of(data)
    rows_of: dict[int, list[tuple[Row, float]]] = {}
    for row in model.rows:
        if row.key.family in (Family.SUPPLY, Family.WORKLOAD_SPLIT):
            continue  # supply is counted from the offers' room; the split takes what is in service
        for j, a in zip(row.lin.idx.tolist(), row.lin.coef.tolist(), strict=True):
            rows_of.setdefault(j, []).append((row, a))
    slack = {row.key: row.slack(x) for row in model.rows}
    in_service: dict[tuple[int, str, str], float] = {}  # a family's training chips at a place
    for s in records(w.split):
        if int(s["tr"]) >= 0:
            key = (int(s["p"]), str(s["place"]), str(s["family"]))
            row = model.row(
                Family.WORKLOAD_SPLIT, period=data.periods[key[0]], site=key[1], group=str(s["sku"])
            )
            used = x[int(s["tr"])] + (x[int(s["inf"])] if int(s["inf"]) >= 0 else 0.0)
            in_service[key] = in_service.get(key, 0.0) + float(used + row.slack(x))
    out = []
    for r in records(w.clusters):
        p, place, family, y, size = (
            int(r["p"]),
            str(r["place"]),
            str(r["family"]),
            int(r["y"]),
            int(r["size"]),
        )
        name = data.periods[p]
        chips_in = in_service.get((p, place, family), 0.0)
        clusters, most = round(float(x[y])), int(model.col_upper[y])
        outside = max(chips_in - clusters * size, 0.0)
        short = size - outside % size
        chips = "chip" if round(outside) == 1 else "chips"
        limits = [f"cluster size: {outside:,.0f} {chips} outside clusters, {short:,.0f} short of another"]
        candidates = np.flatnonzero(coefficients.serving(p) & (places == place) & (families == family))
        with_room = [int(i) for i in candidates if room[i] > 0]
        if most <= clusters:
            limits.insert(0, f"supply: the offers serving {place} in {name} bring at most {most} cluster(s)")
        elif not with_room:
            limits.insert(0, f"supply: every offer of {family} serving {place} in {name} is bought out")
        else:
            blockers = _blockers(
                [
                    (int(model.main.cols[i]), math.ceil(short / per_server[i] - 1e-9), room[i])
                    for i in with_room
                ],
                rows_of,
                slack,
            )
            if blockers:
                limits.append(f"another cluster through any one offer would break: {', '.join(blockers)}")
        out.append(
            {
                "period": name,
                "place": place,
                "family": family,
                "clusters": clusters,
                "cluster_chips": size,
                "in_service": round(chips_in, 6) + 0.0,
                "outside_clusters": round(outside, 6) + 0.0,
                "most_clusters": most,
                "limits": "; ".join(limits),
            }
        )
    return pd.DataFrame(out, columns=TRAINING_COLUMNS)


def _blockers(
    candidates: list[tuple[int, int, float]],
    rows_of: dict[int, list[tuple[Row, float]]],
    slack: dict[RowKey, float],
) -> list[str]:
    """What each ``(column, servers needed, servers left)`` would break if bought alone; [] when one fits."""
    out: list[str] = []
    for col, need, room in candidates:
        broken = [
            row
            for row, a in rows_of.get(col, [])
            if (a if row.sense == LE else -a) * need > slack[row.key] + 1e-6 * max(1.0, abs(row.rhs))
        ]
        if not broken and need <= room:
            return []
        for name in [_limit_name(row) for row in broken] or ["supply"]:
            if name not in out:  # several budget rows say "the budget" once
                out.append(name)
    return out


def _limit_name(row: Row) -> str:
    """A row in a few words for the training limits: the budget, a site's power, or its own description."""
    if row.key.family in BUDGET_FAMILIES:
        return "the budget"
    if row.key.family == Family.POWER:
        return f"power at {row.key.site} in {row.key.period}"
    return row.description
