"""A solved plan as DataFrames (unit-suffixed columns) and as the contract's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.model.data import ModelData

PURCHASE_COLUMNS = ["order_period", "delivery_period", "sku", "vendor", "model", "category", "channel",
                    "servers", "chips", "unit_price_usd", "cost_usd"]
PERIOD_COLUMNS = ["period", "capex_usd", "opex_usd", "effective_pflops", "memory_tb", "power_mw",
                  "cumulative_capex_usd", "cumulative_budget_usd", "site_capacity_mw"]


@dataclass
class Plan:
    """The answer for one scenario. ``purchases`` and ``periods`` are empty unless a plan exists."""

    scenario: str
    objective: str
    status: str
    purchases: pd.DataFrame
    periods: pd.DataFrame
    totals: dict[str, float]
    data: ModelData | None = None
    solver: str = "highs"
    mip_gap: float = 1e-4
    seconds: float = 0.0
    message: str = ""
    diagnosis: dict[str, Any] | None = None
    limits: list[str] = field(default_factory=list)
    servers: np.ndarray | None = None            # whole servers per usable offer (data.offers order)
    inputs: dict[str, str] = field(default_factory=dict)   # input file -> sha256
    extra: dict[str, Any] = field(default_factory=dict)    # further top-level JSON keys (e.g. robust)

    def capacity_by(self, key: str) -> pd.DataFrame:
        """Installed effective PFLOPS per quarter (rows) by ``key`` (category, vendor, origin, channel;
        columns), fleet included (the fleet's channel is ``fleet``)."""
        data = self.data
        assert data is not None
        frame = pd.DataFrame(0.0, index=data.periods, columns=[])
        for rec in data.fleet.to_dict("records"):
            group = "fleet" if key == "channel" else rec[key]
            frame[group] = frame.get(group, 0.0) + rec["chips"] * rec["eff_pflops"]
        if self.servers is not None:
            o = data.offers
            chips = self.servers * o["chips_per_server"].to_numpy()
            eff = chips * (o["q"] * o["eff_pflops"]).to_numpy()
            for i in np.flatnonzero(chips):
                group = o[key].iat[i]
                column = frame.get(group, pd.Series(0.0, index=data.periods))
                delivered = np.arange(data.horizon) >= o["d"].iat[i]
                frame[group] = column + eff[i] * delivered
        frame.index.name = "period"
        return frame.reindex(sorted(frame.columns), axis=1)

    def spend_by(self, key: str) -> pd.DataFrame:
        """Capex per order quarter (rows) by ``key`` (columns)."""
        data = self.data
        assert data is not None
        table = self.purchases.pivot_table(index="order_period", columns=key, values="cost_usd", aggfunc="sum",
                                           fill_value=0.0)
        table = table.reindex(data.periods, fill_value=0.0)
        table.index.name = "period"
        return table.reindex(sorted(table.columns), axis=1)

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible")

    @property
    def excluded(self) -> pd.DataFrame:
        """Offers dropped before the solve, with the reason (compliance, policy, lead time)."""
        return self.data.excluded if self.data is not None else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object (section 4), deterministic for the same inputs."""
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "status": self.status,
            "objective": self.objective,
            "totals": {k: round_value(v, k) for k, v in self.totals.items()},
            "periods": [{k: (v if k == "period" else round_value(v, k)) for k, v in rec.items()
                         if k in ("period", "capex_usd", "opex_usd", "effective_pflops", "memory_tb",
                                  "power_mw")}
                        for rec in self.periods.to_dict("records")],
            "purchases": [{k: round_value(v, k) if isinstance(v, (float, np.floating, np.integer)) else v
                           for k, v in rec.items() if k != "model"}
                          for rec in self.purchases.to_dict("records")],
        }
        if self.diagnosis is not None:
            out["diagnosis"] = self.diagnosis
        if self.message:
            out["message"] = self.message
        out.update(self.extra)
        return out


def round_value(value: Any, key: str) -> float | int:
    """Round money to cents and other quantities to 6 decimals; counts stay integers."""
    if key in ("servers", "chips"):
        return int(value)
    digits = 2 if key.endswith("_usd") else 6
    r = round(float(value), digits)
    return 0.0 if r == 0 else r


def empty_totals() -> dict[str, float]:
    return {"capex_usd": 0.0, "opex_usd": 0.0, "effective_pflops": 0.0, "memory_tb": 0.0, "chips": 0}


def tabulate(data: ModelData, servers: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Purchases, per-period figures and totals recomputed exactly from whole servers."""
    o = data.offers
    servers = np.asarray(servers, dtype=np.int64)
    chips = servers * o["chips_per_server"].to_numpy(np.int64)
    cost = chips * o["unit_price_usd"].to_numpy(float)
    bought = servers > 0
    purchases = pd.DataFrame({
        "order_period": [data.periods[t] for t in o["t"][bought]],
        "delivery_period": [data.periods[d] for d in o["d"][bought]],
        "sku": o["sku"][bought].to_list(), "vendor": o["vendor"][bought].to_list(),
        "model": o["model"][bought].to_list(), "category": o["category"][bought].to_list(),
        "channel": o["channel"][bought].to_list(), "servers": servers[bought],
        "chips": chips[bought], "unit_price_usd": o["unit_price_usd"][bought].to_numpy(float),
        "cost_usd": cost[bought],
    }, columns=PURCHASE_COLUMNS)
    d, t = o["d"].to_numpy(), o["t"].to_numpy()
    eff = chips * (o["q"] * o["eff_pflops"]).to_numpy()
    mem = chips * (o["q"] * o["mem_tb"]).to_numpy()
    pwr = chips * o["power_mw"].to_numpy()
    rows, cum, cum_budget = [], 0.0, 0.0
    for p, name in enumerate(data.periods):
        delivered = d <= p
        capex = float(cost[t == p].sum())
        power = data.fleet_sum("power_mw") + float(pwr[delivered].sum())
        cum += capex
        if data.budget_per_period is not None:
            cum_budget += data.budget_per_period[p]
        rows.append({
            "period": name, "capex_usd": capex, "opex_usd": power * data.opex_per_mw(),
            "effective_pflops": data.fleet_sum("eff_pflops") + float(eff[delivered].sum()),
            "memory_tb": data.fleet_sum("mem_tb") + float(mem[delivered].sum()),
            "power_mw": power, "cumulative_capex_usd": cum,
            "cumulative_budget_usd": cum_budget if data.budget_per_period is not None else data.total_budget,
            "site_capacity_mw": data.site_cap[p],
        })
    periods = pd.DataFrame(rows, columns=PERIOD_COLUMNS)
    totals = {"capex_usd": float(cost.sum()), "opex_usd": float(periods["opex_usd"].sum()),
              "effective_pflops": float(periods["effective_pflops"].iloc[-1]),
              "memory_tb": float(periods["memory_tb"].iloc[-1]), "chips": int(chips.sum())}
    return purchases, periods, totals


def binding_limits(data: ModelData, servers: np.ndarray,
                   tables: tuple[pd.DataFrame, dict[str, float]] | None = None) -> list[str]:
    """Plain-language reasons that hold the plan back: budget, supply, power, lead times,
    compliance and policy exclusions. ``tables`` is ``(periods, totals)`` when already tabulated."""
    o = data.offers
    servers = np.asarray(servers, dtype=np.int64)
    periods, totals = tables if tables is not None else tabulate(data, servers)[1:]
    out = []
    cheapest = float(o["server_price"].min()) if len(o) else 0.0
    if data.total_budget is not None and totals["capex_usd"] > data.total_budget - cheapest:
        out.append(f"budget: total spend {totals['capex_usd']:,.0f} USD is at the total budget of "
                   f"{data.total_budget:,.0f} USD")
    if data.budget_per_period is not None:
        for p, rec in enumerate(periods.to_dict("records")):
            cap = rec["cumulative_budget_usd"]
            spent = rec["cumulative_capex_usd"] if data.scenario.budget.carry_over else rec["capex_usd"]
            if not data.scenario.budget.carry_over:
                cap = data.budget_per_period[p]
            if cap is not None and spent > cap - cheapest and cap > 0:
                kind = "cumulative spend" if data.scenario.budget.carry_over else "spend"
                out.append(f"budget: {kind} is at its cap from {rec['period']}")
                break
    out_of_stock = servers >= o["max_servers"].to_numpy()
    if out_of_stock.any():
        names = [f"{r.sku} via {r.channel} in {data.periods[r.t]}" for r in o[out_of_stock].itertuples()]
        shown = "; ".join(names[:6]) + (f"; and {len(names) - 6} more" if len(names) > 6 else "")
        out.append(f"supply: {len(names)} offer(s) bought out: {shown}")
    biggest = float(o["power_mw"].max() * o["chips_per_server"].max()) if len(o) else 0.0
    for rec in periods.to_dict("records"):
        cap = rec["site_capacity_mw"]
        if cap is not None and not np.isnan(cap) and rec["power_mw"] > cap - biggest:
            out.append(f"power: {rec['power_mw']:,.1f} MW of the {cap:,.1f} MW site capacity used in "
                       f"{rec['period']}")
    ex = data.excluded
    if len(ex):
        late = ex[ex["reason"].str.startswith("lead time")]
        if len(late):
            out.append(f"lead times: {len(late)} offer(s) would be delivered after {data.periods[-1]} "
                       f"({', '.join(sorted(set(late['sku']))[:6])})")
        comp = ex[ex["reason"].str.startswith("compliance")]
        if len(comp):
            skus = sorted(set(comp["sku"]))
            rules = sorted({r for ids in comp["rule_ids"] for r in ids.split(",") if r})
            out.append(f"compliance: {len(skus)} chip(s) not buyable for {data.scenario.destination} "
                       f"({', '.join(skus[:8])}{', ...' if len(skus) > 8 else ''}) under "
                       f"{', '.join(rules)}")
        pol = ex[ex["reason"].str.startswith("policy")]
        if len(pol):
            out.append(f"policy: {len(set(pol['sku']))} chip(s) excluded by the scenario's policy")
    out.extend(_binding_shares(data, servers))
    return out


def _binding_shares(data: ModelData, servers: np.ndarray) -> list[str]:
    """Share rules the plan sits on (within one server of the bound)."""
    o = data.offers
    chips = servers * o["chips_per_server"].to_numpy()
    compute = chips * (o["q"] * o["eff_pflops"]).to_numpy()
    spend = chips * o["unit_price_usd"].to_numpy(float)
    out = []
    for share in data.scenario.policy.shares:
        values = sorted(set(o[share.by]) | (set(data.fleet[share.by]) if share.by != "channel" else set())) \
            if share.value == "*" else [share.value]
        for value in values:
            member = (o[share.by] == value).to_numpy()
            if share.measure == "compute":
                fleet = data.fleet[data.fleet[share.by] == value] if share.by != "channel" else data.fleet.iloc[0:0]
                group = float(compute[member].sum() + (fleet["chips"] * fleet["eff_pflops"]).sum())
                total = float(compute.sum()) + data.fleet_sum("eff_pflops")
                step = float((o["q"] * o["eff_pflops"] * o["chips_per_server"]).max()) if len(o) else 0.0
            else:
                group, total = float(spend[member].sum()), float(spend.sum())
                step = float(o["server_price"].max()) if len(o) else 0.0
            if total <= 0:
                continue
            for bound, frac in (("floor", share.min), ("cap", share.max)):
                if frac is not None and abs(group - frac * total) <= step:
                    out.append(f"policy: {share.by} {value} {share.measure} share is at its {bound} of "
                               f"{frac:.0%} ({group / total:.1%})")
    return out


