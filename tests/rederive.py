"""Re-derive every constraint of the contract from a solved plan, independently of the model code."""

from __future__ import annotations

import math

from planner import compliance
from planner.results import Plan
from planner.units import parse_quarter, quarter_start

TOL = 1e-6


def check_plan(plan: Plan) -> None:
    """Assert that the plan's purchases meet every constraint and that its reported figures add up."""
    assert plan.ok, plan.status
    data = plan.data
    sc, cat = data.scenario, data.catalog
    periods = list(sc.periods)
    H = len(periods)
    pue = sc.power.pue if sc.power else 1.0
    kwh = sc.power.electricity_usd_per_kwh if sc.power else 0.0
    allowed = {"allowed", "license-required"} if sc.policy.allow_license_required else {"allowed"}
    offers = {(r["sku"], r["channel"], r["period"]): r for r in cat.offers.to_dict("records")}
    E = [0.0] * H
    M = [0.0] * H
    P = [0.0] * H
    C = [0.0] * H
    for f in sc.fleet:
        c = cat.chip(f.sku)
        for p in range(H):
            E[p] += c["bf16_tflops"] * c["software_efficiency"] / 1000 * f.chips
            M[p] += c["memory_gb"] / 1000 * f.chips
            P[p] += c["power_w"] * pue / 1e6 * f.chips
    group_compute: dict[tuple[str, str], float] = {}
    group_spend: dict[tuple[str, str], float] = {}
    for f in sc.fleet:
        c = cat.chip(f.sku)
        for by in ("category", "vendor", "origin"):
            key = (by, c[by])
            group_compute[key] = group_compute.get(key, 0.0) + c["bf16_tflops"] * c["software_efficiency"] / 1000 * f.chips
    chips_total = 0
    for r in plan.purchases.to_dict("records"):
        o = offers[(r["sku"], r["channel"], r["order_period"])]
        c = cat.chip(r["sku"])
        t = periods.index(r["order_period"])
        d = t + o["lead_time_quarters"]
        assert d < H and periods[d] == r["delivery_period"]
        assert r["chips"] == r["servers"] * c["chips_per_server"] and r["servers"] > 0
        assert r["chips"] <= o["max_units"], "supply"
        assert math.isclose(r["cost_usd"], r["chips"] * o["unit_price_usd"], rel_tol=1e-12)
        status = compliance.chip_status(c, sc.destination, quarter_start(parse_quarter(r["order_period"])),
                                        cat.rules).status
        assert status in allowed, f"{r['sku']} is {status}"
        assert r["sku"] not in sc.policy.exclude_skus and r["channel"] not in sc.policy.exclude_channels
        q = 1 - (o["delivery_risk"] or 0.0)
        eff = c["bf16_tflops"] * c["software_efficiency"] / 1000
        for p in range(d, H):
            E[p] += q * eff * r["chips"]
            M[p] += q * c["memory_gb"] / 1000 * r["chips"]
            P[p] += c["power_w"] * pue / 1e6 * r["chips"]
        C[t] += r["cost_usd"]
        chips_total += r["chips"]
        for by in ("category", "vendor", "origin", "channel"):
            key = (by, r["channel"] if by == "channel" else c[by])
            group_compute[key] = group_compute.get(key, 0.0) + q * eff * r["chips"]
            group_spend[key] = group_spend.get(key, 0.0) + r["cost_usd"]
    slack = lambda x: TOL * max(1.0, abs(x))  # noqa: E731
    b = sc.budget
    if b.total_usd is not None:
        assert sum(C) <= b.total_usd + slack(b.total_usd), "total budget"
    if b.per_period_usd is not None:
        per = [b.per_period_usd.get(p, 0.0) for p in periods]
        for p in range(H):
            if b.carry_over:
                assert sum(C[:p + 1]) <= sum(per[:p + 1]) + slack(sum(per[:p + 1])), f"cumulative budget {p}"
            else:
                assert C[p] <= per[p] + slack(per[p]), f"period budget {p}"
    for name, tgt in sc.targets.items():
        p = periods.index(name)
        if tgt.pflops is not None:
            assert E[p] >= tgt.pflops - slack(tgt.pflops), f"pflops target {name}"
        if tgt.memory_tb is not None:
            assert M[p] >= tgt.memory_tb - slack(tgt.memory_tb), f"memory target {name}"
    for p in range(H):
        cap = data.site_cap[p]
        if cap is not None:
            assert P[p] <= cap + slack(cap), f"power {periods[p]}"
    for share in sc.policy.shares:
        groups = group_compute if share.measure == "compute" else group_spend
        total = E[-1] if share.measure == "compute" else sum(C)
        # "*": every value among the usable offers and the fleet (fleet has no channel)
        present = set(data.offers[share.by]) | (set(data.fleet[share.by]) if share.by != "channel" else set())
        values = sorted(present) if share.value == "*" else [share.value]
        for v in values:
            g = groups.get((share.by, v), 0.0)
            if share.min is not None:
                assert g >= share.min * total - slack(total), f"share min {share.by} {v}"
            if share.max is not None:
                assert g <= share.max * total + slack(total), f"share max {share.by} {v}"
    # reported figures
    assert plan.totals["chips"] == chips_total
    assert math.isclose(plan.totals["capex_usd"], sum(C), rel_tol=1e-9, abs_tol=1e-6)
    assert math.isclose(plan.totals["effective_pflops"], E[-1], rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(plan.totals["memory_tb"], M[-1], rel_tol=1e-9, abs_tol=1e-9)
    opex = sum(P[p] * 1000 * 2190 * kwh for p in range(H))
    assert math.isclose(plan.totals["opex_usd"], opex, rel_tol=1e-9, abs_tol=1e-6)
    for p, rec in enumerate(plan.periods.to_dict("records")):
        assert math.isclose(rec["effective_pflops"], E[p], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(rec["power_mw"], P[p], rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(rec["capex_usd"], C[p], rel_tol=1e-9, abs_tol=1e-6)
