"""What limits a plan, in words: the rows it sits on (binding budget, power, supply, shares, targets) and what moving them gains."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner.model.build import Coefficients
from planner.model.data import Exclusion, ModelData
from planner.model.keys import BUDGET_FAMILIES, Family
from planner.model.linear import FloatArray, IntArray, Sense
from planner.model.rows import EQ, GE, LE, Model, Row
from planner.model.solve import Goal
from planner.plans.results import tabulate

#: the rows a plan's limits are read from
LIMIT_FAMILIES = (*BUDGET_FAMILIES, Family.SUPPLY, Family.POWER, Family.SHARE, Family.TARGET)
#: a row counts as on its bound with less room than this share of it (whole servers rarely fill
#: a bound exactly: base-7b leaves $155,232 of its $7B budget, less than any server it could add
#: without breaking another row)
BOUND_SHARE = 1e-3
#: a row's marginal value counts when moving it by one server moves the LP objective by more than
#: this share of it
MARGINAL_SHARE = 1e-7


def binding_limits(
    data: ModelData,
    servers: IntArray,
    tables: tuple[pd.DataFrame, dict[str, float], pd.DataFrame] | None = None,
    solved: tuple[Model, Goal, FloatArray] | None = None,
) -> list[str]:
    """Plain-language reasons that hold the plan back, read from the model's rows and exclusions.

    A row is a limit when the plan sits on its bound and its marginal value is not zero. On its
    bound: less room than :data:`BOUND_SHARE` of the bound, or no option with supply left could add
    one more server without breaking the row (for a share, the group is within one server of its
    bound). Marginal value: what one more server of room gains the LP relaxation of the
    scenario's objective (:func:`_marginal`); an offer whose supply is its option's column bound is
    valued the same way. When that LP has no optimum (an infeasible model under diagnosis), every
    row on its bound counts. Exclusions (lead times, compliance by order quarter, policy) follow.

    ``tables`` is ``(periods, totals, sites)`` when already tabulated; ``solved`` the model, goal
    and whole solution the plan came from (with its workload split, or under diagnosis its
    elastic targets and least-shortfall goal, so that a limit is what holds that goal back);
    without it the scenario's model is built and read at ``servers``.
    """
    from planner.model.build import build
    from planner.model.solve import scenario_goal

    servers = np.asarray(servers, dtype=np.int64)
    sites = tables[2] if tables is not None else tabulate(data, servers)[3]
    if solved is not None:
        model, goal, x = solved
    else:
        model = build(data)
        goal = scenario_goal(model.main)
        x = np.zeros(model.n_cols)
        x[model.main.cols] = servers
    bounds = np.asarray(model.col_lower), np.asarray(model.col_upper)
    candidates = [
        row
        for row in model.rows
        if row.key.branch is None
        and row.key.family in LIMIT_FAMILIES
        and row.key not in model.slacks  # an elastic row under diagnosis is a shortfall, reported as one
        and (row.key.family == Family.SHARE or at_bound(row, x, *bounds))
    ]
    o = data.offers
    ids = o["offer_id"].to_numpy(dtype=np.int64)
    cols = np.asarray(model.main.cols)
    lower, upper = np.asarray(model.col_lower)[cols], np.asarray(model.col_upper)[cols]
    # an option holding its offer's whole supply (not one fixed by an order already placed)
    full = (x[cols] >= upper - 0.5) & (upper > lower)
    valued = _marginal(model, goal, candidates, [int(cols[j]) for j in np.flatnonzero(full)])
    rows = [r for r in candidates if valued is None or r.index in valued[0]]
    supply = {r.key.item for r in rows if r.key.family == Family.SUPPLY}
    supply |= {int(ids[j]) for j in np.flatnonzero(full) if valued is None or int(cols[j]) in valued[1]}
    out = _budget_limits(data, rows, x)
    out.extend(_bought_out(data, servers, supply))
    power = {(r.key.site, r.key.period) for r in rows if r.key.family == Family.POWER}
    out.extend(_power_limits(data, sites, power))
    out.extend(_exclusions(data))
    shares = {(r.key.share, r.key.group, r.key.bound) for r in rows if r.key.family == Family.SHARE}
    out.extend(_binding_shares(data, servers, shares))
    out.extend(f"target: {r.description} is at its bound" for r in rows if r.key.family == Family.TARGET)
    return out


def at_bound(row: Row, x: FloatArray, lower: FloatArray, upper: FloatArray) -> bool:
    """The plan keeps the row with less room than :data:`BOUND_SHARE` of its bound, or than any one server an option could still move in its direction.

    For ``<=``: the smallest entry of a column with room to grow (below its upper bound), or to
    shrink for a negative entry; for ``>=`` the other way round. A row whose options are all held
    by their own bounds is not what holds the plan; a row the plan breaks (a target it misses,
    under diagnosis) is a shortfall, not a bound it sits on. Equalities always bind. ``lower``
    and ``upper`` are the model's column bounds as arrays (converted once for all rows: on a
    large model converting them per row was most of the work).
    """
    if not len(row.lin):
        return False
    if row.sense == EQ:
        return True
    slack = row.slack(x)
    tolerance = max(1e-6, 1e-9 * abs(row.rhs))
    if slack < -tolerance:
        return False
    if slack <= max(tolerance, BOUND_SHARE * abs(row.rhs)):
        return True
    idx, coef = row.lin.idx, row.lin.coef
    lower, upper = lower[idx], upper[idx]
    value = x[idx]
    grow, shrink = value < upper - 0.5, value > lower + 0.5
    if row.sense == LE:  # adding a server with a positive entry, or dropping one with a negative entry
        moves = np.concatenate([coef[(coef > 0) & grow], -coef[(coef < 0) & shrink]])
    else:
        moves = np.concatenate([coef[(coef > 0) & shrink], -coef[(coef < 0) & grow]])
    return bool(len(moves) and slack < float(moves.min()))


def _marginal(model: Model, goal: Goal, rows: list[Row], cols: list[int]) -> tuple[set[int], set[int]] | None:
    """Which of ``rows`` (on their bound in the plan) and ``cols`` (options at their supply) have a marginal value.

    Each is moved by one server of its largest entry (a site's power and a cumulative budget from
    its period on, as capacity and money carry forward; a column by one server) and the LP
    relaxation of ``goal`` solved again, warm, on one live model: it counts when
    the objective improves by more than :data:`MARGINAL_SHARE` of its value. (An LP dual alone
    would not do: at a degenerate vertex it can sit on a row that gains nothing, such as a site of
    0 MW that no supply is left for, and miss one that does.) Returns row indices and columns;
    None when the LP has no optimum (an infeasible model under diagnosis).
    """
    from planner.model.backends import HighsBackend
    from planner.model.runs import SolverOptions

    if not model.n_cols:
        return None
    backend = HighsBackend(model, SolverOptions())
    run = backend.run(goal.sense, goal.lin, mip=False)
    value = backend.rerun_objective() if run.status.ok else None
    if run.x is None or value is None:
        return None
    size = MARGINAL_SHARE * max(1.0, abs(value))
    sign = 1.0 if goal.sense == Sense.MAXIMIZE else -1.0

    def gains() -> bool:
        after = backend.rerun_objective()
        return after is not None and sign * (after - value) > size

    valued = {row.index for row in rows if _moved_gains(model, backend, row, run.x, gains)}
    priced = set()
    col_lower, col_upper = np.asarray(model.col_lower), np.asarray(model.col_upper)
    for j in cols:
        if run.x[j] < col_upper[j] - 1e-6:
            continue
        backend.set_col_bounds(j, col_lower[j], col_upper[j] + 1)
        if gains():
            priced.add(j)
        backend.set_col_bounds(j, col_lower[j], col_upper[j])
    return valued, priced


def _moved_gains(model: Model, backend: Any, row: Row, lp: FloatArray, gains: Callable[[], bool]) -> bool:
    """Whether one more server of room in ``row`` (and its carried-forward later periods) improves the LP."""
    carried = _carried(model, row)
    if not any(r.slack(lp) <= 1e-6 * max(1.0, abs(r.rhs)) for r in carried):
        return False  # a bound with room at the LP's optimum cannot move it
    step = float(np.max(np.abs(row.lin.coef)))
    moved = [(r, r.lower, r.upper) for r in carried]
    for r, lower, upper in moved:
        backend.set_row_bounds(
            r, lower - step if r.sense == GE else lower, upper + step if r.sense == LE else upper
        )
    # an offer shared by sites caps each option's column at its whole supply too: raise them with it
    cols = row.lin.idx.tolist() if row.key.family == Family.SUPPLY else []
    col_lower, col_upper = np.asarray(model.col_lower), np.asarray(model.col_upper)
    for j in cols:
        backend.set_col_bounds(j, float(col_lower[j]), float(col_upper[j]) + step)
    better = gains()
    for r, lower, upper in moved:
        backend.set_row_bounds(r, lower, upper)
    for j in cols:
        backend.set_col_bounds(j, float(col_lower[j]), float(col_upper[j]))
    return better


def _carried(model: Model, row: Row) -> list[Row]:
    """The row and, for a bound carried forward (site power, cumulative budget), its later periods."""
    key = row.key
    periods = {name: t for t, name in enumerate(model.main.data.periods)}
    if key.family not in (Family.POWER, Family.BUDGET_CUMULATIVE) or key.period not in periods:
        return [row]
    start = periods[str(key.period)]
    return [
        r
        for r in model.rows
        if r.key.family == key.family
        and r.key.site == key.site
        and r.key.branch == key.branch
        and periods.get(str(r.key.period), -1) >= start
    ]


def _budget_limits(data: ModelData, rows: list[Row], x: FloatArray) -> list[str]:
    currency = data.finance.currency
    out = []
    for row in rows:
        if row.key.family == Family.BUDGET_TOTAL:
            out.append(
                f"budget: total commitments (capex and leases) of {row.activity(x):,.0f} {currency} "
                f"are at the total budget of {row.upper:,.0f} {currency}"
            )
    for family, words in (
        (Family.BUDGET_CUMULATIVE, "payments to date are at the cumulative budget"),
        (Family.BUDGET_PERIOD, "the quarter's payments are at its budget"),
    ):
        periods = [str(r.key.period) for r in rows if r.key.family == family]
        if periods:
            out.append(f"budget: {words} in {', '.join(periods)}")
    return out


def _mw(value: float) -> str:
    """Megawatts to a tenth, or to three figures below 1 MW (a small site is not shown as 0.0)."""
    return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.3g}"


def _power_limits(
    data: ModelData, sites: pd.DataFrame, binding: set[tuple[str | None, str | None]]
) -> list[str]:
    out = []
    for rec in sites.to_dict("records"):
        if (rec["site"], rec["period"]) not in binding:
            continue
        where = f" at {rec['site']}" if len(data.sites) > 1 else ""
        if not rec["capacity_mw"]:  # a site not yet built: its zero capacity is what holds the plan back
            out.append(f"power: no site capacity{where} in {rec['period']} (0 MW)")
            continue
        out.append(
            f"power: {_mw(rec['power_mw'])} MW of the {_mw(rec['capacity_mw'])} MW site capacity{where} used in "
            f"{rec['period']}"
        )
    return out


def _bought_out(data: ModelData, servers: IntArray, limiting: set[int | None]) -> list[str]:
    """Offers whose whole supply the plan takes (over every site it ships to) and that limit it."""
    o = data.offers
    if not len(o):
        return []
    taken = pd.Series(servers, index=o.index).groupby(o["offer_id"]).sum()
    first = o.drop_duplicates("offer_id").set_index("offer_id")
    out_of_stock = first[
        (taken.reindex(first.index).to_numpy() >= first["max_servers"].to_numpy())
        & first.index.isin([i for i in limiting if i is not None])
    ]
    if not len(out_of_stock):
        return []
    names = [
        f"{sku} via {channel} in {data.periods[int(t)]}"
        for sku, channel, t in zip(
            out_of_stock["sku"], out_of_stock["channel"], out_of_stock["t"], strict=True
        )
    ]
    shown = "; ".join(names[:6]) + (f"; and {len(names) - 6} more" if len(names) > 6 else "")
    return [f"supply: {len(names)} offer(s) bought out: {shown}"]


def _exclusions(data: ModelData) -> list[str]:
    ex = data.excluded
    if not len(ex):
        return []
    out = []
    late = ex[ex["cause"] == Exclusion.LEAD_TIME]
    if len(late):
        out.append(
            f"lead times: {len(late.drop_duplicates('offer_id'))} offer(s) would be delivered after "
            f"{data.periods[-1]} ({', '.join(sorted(set(late['sku']))[:6])})"
        )
    comp = ex[ex["cause"] == Exclusion.COMPLIANCE]
    index = {name: t for t, name in enumerate(data.periods)}
    every = pd.concat([data.offers[["sku", "period"]], ex[["sku", "period"]]])
    offered = {str(sku): {index[q] for q in g["period"] if q in index} for sku, g in every.groupby("sku")}
    for country, group in comp.groupby("country", sort=True):
        chips = []
        for sku, rows in group.groupby("sku", sort=True):
            quarters = sorted({index[q] for q in rows["period"] if q in index})
            # a chip barred for some order quarters only says which: the plan may buy it in others
            whole = set(quarters) >= offered.get(str(sku), set())
            chips.append(str(sku) if whole else f"{sku} for orders in {_quarter_list(data, quarters)}")
        rules = sorted({r for ids in group["rule_ids"] for r in ids.split(",") if r})
        out.append(
            f"compliance: {len(chips)} chip(s) not usable in {country} ({', '.join(chips[:8])}"
            f"{', ...' if len(chips) > 8 else ''}) under {', '.join(rules)}"
        )
    pol = ex[ex["cause"] == Exclusion.POLICY]
    if len(pol):
        out.append(f"policy: {len(set(pol['sku']))} chip(s) excluded by the scenario's policy")
    return out


def _quarter_list(data: ModelData, quarters: list[int]) -> str:
    """Order quarters as runs: ``2025Q2-2025Q4, 2026Q2``."""
    runs: list[list[int]] = []
    for t in quarters:
        if runs and t == runs[-1][-1] + 1:
            runs[-1].append(t)
        else:
            runs.append([t])
    return ", ".join(
        data.periods[r[0]] if len(r) == 1 else f"{data.periods[r[0]]}-{data.periods[r[-1]]}" for r in runs
    )


@dataclass(frozen=True)
class ShareValue:
    """A share rule's group at the last quarter, measured as the policy defines it (its scope, its measure, the fleet counted)."""

    share: int  # the rule's index in the policy
    value: str  # the group
    group: float  # the group's measure
    total: float  # the measure of the whole scope
    step: float  # one server's largest contribution: how near a bound counts as on it

    @property
    def fraction(self) -> float | None:
        """The group's share of its scope (None when the scope is empty)."""
        return self.group / self.total if self.total > 0 else None


def share_values(data: ModelData, servers: IntArray) -> list[ShareValue]:
    """Every share rule's groups at the plan's last quarter, as the model's share rows measure them."""
    from planner.model.build import group_values, share_groups, share_scope

    o = data.offers
    if not len(o):
        return []
    c = Coefficients.of(data)
    last = data.horizon - 1
    compute = servers * c.eff_at(data, last) * c.serving(last)
    spend = servers * c.commitment
    out = []
    for k, value in share_groups(data):
        share = data.scenario.policy.shares[k]
        values, fleet = group_values(data, share.by)
        inside, scoped_fleet = share_scope(data, k)
        fleet = fleet.loc[fleet.index.intersection(scoped_fleet.index)]
        member = np.array([v is not None and str(v) == value for v in values], dtype=bool) & inside
        if share.measure == "compute":
            in_scope = data.fleet.index.isin(scoped_fleet.index)
            mine = (
                in_scope
                & data.fleet.index.isin(fleet.index)
                & (data.fleet[share.by].astype(str) == value).to_numpy()
                if len(data.fleet)
                else in_scope
            )
            group = float(compute[member].sum()) + data.fleet_eff(last, mine)
            total = float(compute[inside].sum()) + data.fleet_eff(last, in_scope)
            step = float(c.eff.max())
        else:
            group, total = float(spend[member].sum()), float(spend[inside].sum())
            step = float(c.commitment.max())
        out.append(ShareValue(k, value, group, total, step))
    return out


def share_words(data: ModelData, v: ShareValue) -> str:
    """``vendor NVIDIA spend share within country CN``: what a share rule measures."""
    share = data.scenario.policy.shares[v.share]
    scope = f" within {share.within.by} {share.within.value}" if share.within is not None else ""
    return f"{share.by} {v.value} {share.measure} share{scope}"


def _binding_shares(
    data: ModelData, servers: IntArray, limiting: set[tuple[int | None, str | None, str | None]]
) -> list[str]:
    """Share rules the plan sits on (within one server of the bound) that limit it."""
    out = []
    for v in share_values(data, servers):
        share = data.scenario.policy.shares[v.share]
        if v.fraction is None:
            continue
        for bound, key, frac in (("floor", "min", share.min), ("cap", "max", share.max)):
            if (
                frac is not None
                and abs(v.group - frac * v.total) <= v.step
                and (v.share, v.value, key) in limiting
            ):
                out.append(
                    f"policy: {share_words(data, v)} is at its {bound} of {frac:.0%} ({v.fraction:.1%})"
                )
    return out
