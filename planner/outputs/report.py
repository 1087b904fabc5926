"""Finished tables and figures about a plan, for the output modules (terminal, workbook, charts).

Everything a report shows is computed here from the :class:`~planner.plans.results.Plan`; the
renderers only lay it out. Money in USD, compute in effective PFLOPS, power in MW.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.inputs.units import parse_quarter
from planner.model.data import Exclusion
from planner.plans.results import EXPOSURE_COLUMNS, Plan, channel_exposure


@dataclass(frozen=True)
class Figures:
    """Headline figures of a plan (None where a figure has no meaning, e.g. no purchase)."""

    capex_usd: float
    lease_usd: float
    opex_usd: float
    effective_pflops: float
    fleet_pflops: float
    purchased_pflops: float
    leased_pflops: float
    memory_tb: float
    chips: int
    leased_chips: int
    capex_per_purchased_pflops: float | None
    lease_per_leased_pflops: float | None
    licence_usd: float
    lease_after_horizon_usd: float


def figures(plan: Plan) -> Figures:
    """Totals with compute split into the fleet, purchases and leases at the last quarter; cost per PFLOPS on purchased (and, apart, leased) compute only, so the old fleet does not flatter it."""
    t = plan.totals
    data = plan.data
    fleet = data.fleet_eff(data.horizon - 1) if data is not None else 0.0
    last = plan.periods.iloc[-1] if len(plan.periods) else None
    leased = float(last["leased_pflops"]) if last is not None else 0.0
    owned = float(last["owned_pflops"]) if last is not None else 0.0
    purchased = max(owned - fleet, 0.0)
    lease_usd = float(t.get("lease_usd", 0.0))
    return Figures(
        capex_usd=t["capex_usd"],
        lease_usd=lease_usd,
        opex_usd=t["opex_usd"],
        effective_pflops=t["effective_pflops"],
        fleet_pflops=fleet if last is not None else 0.0,
        purchased_pflops=purchased,
        leased_pflops=leased,
        memory_tb=t["memory_tb"],
        chips=int(t["chips"]),
        leased_chips=int(t.get("leased_chips", 0)),
        capex_per_purchased_pflops=t["capex_usd"] / purchased if purchased > 1e-9 else None,
        lease_per_leased_pflops=lease_usd / leased if leased > 1e-9 else None,
        licence_usd=float(licence_dependencies(plan)["cost_usd"].sum()),
        lease_after_horizon_usd=float(lease_tail(plan)["after_horizon_usd"].sum()),
    )


def licence_dependencies(plan: Plan) -> pd.DataFrame:
    """Spend that depends on licences, by the set of rules behind it (largest first)."""
    p = plan.purchases
    cols = ["license_rules", "lines", "chips", "cost_usd"]
    if not len(p):
        return pd.DataFrame(columns=cols)
    dep = p[p["compliance"] == "license-required"]
    if not len(dep):
        return pd.DataFrame(columns=cols)
    out = (
        dep.groupby("license_rules", sort=True)
        .agg(lines=("sku", "size"), chips=("chips", "sum"), cost_usd=("cost_usd", "sum"))
        .reset_index()
    )
    out["license_rules"] = out["license_rules"].str.replace(",", ", ")
    return out.sort_values(["cost_usd", "license_rules"], ascending=[False, True]).reset_index(drop=True)[
        cols
    ]


def lease_tail(plan: Plan) -> pd.DataFrame:
    """Lease commitments that run past the horizon: per lease line, the payments after it (the model's own coefficient)."""
    from planner.model.build import Coefficients

    cols = ["sku", "country", "order_period", "end_period", "chips", "after_horizon_usd"]
    if plan.data is None or plan.servers is None or not len(plan.purchases):
        return pd.DataFrame(columns=cols)
    # purchase lines are the options with servers, in the options' order
    bought = plan.servers > 0
    after = (plan.servers * Coefficients.of(plan.data).after_horizon())[bought]
    lines = plan.purchases.assign(
        after_horizon_usd=after.astype(np.float64), chips=plan.purchases["chips"].astype(int)
    )
    return lines.loc[lines["after_horizon_usd"] > 0, cols].reset_index(drop=True)


def exclusions(plan: Plan) -> pd.DataFrame:
    """Chips left out for compliance, by country: status, the deciding rules and order quarters."""
    cols = ["country", "sku", "status", "rules", "quarters"]
    ex = plan.excluded
    if not len(ex):
        return pd.DataFrame(columns=cols)
    comp = ex[ex["cause"] == Exclusion.COMPLIANCE]
    rows = []
    for (country, sku, status, rules), group in comp.groupby(
        ["country", "sku", "status", "rule_ids"], sort=True
    ):
        quarters = sorted(set(group["period"]), key=parse_quarter)
        span = quarters[0] if len(quarters) == 1 else f"{quarters[0]}-{quarters[-1]}"
        rows.append(
            {
                "country": country,
                "sku": sku,
                "status": str(status),
                "rules": str(rules).replace(",", ", "),
                "quarters": span,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def compliance_notes(plan: Plan) -> list[str]:
    """What the compliance check assumed: the buyer's headquarters and countries no rule names."""
    data = plan.data
    if data is None:
        return []
    sc = data.scenario
    hq = data.headquarters
    source = "buyer.headquarters" if sc.buyer is not None else "the first site's country (no buyer given)"
    notes = [f"Compliance assumes a buyer headquartered in {hq} ({source})."]
    compiled = data.catalog.compiled
    countries = sorted({s.country for s in data.sites} | {c for c in data.offers.get("country", []) if c})
    for country in countries:
        named = [c for c in compiled if c.destinations is not None and country in c.destinations]
        if named:
            continue
        everywhere = sorted(
            {
                c.id
                for c in compiled
                if c.destinations is None
                and country not in c.excluded
                and (c.headquarters is None or hq in c.headquarters)
            }
        )
        tail = (
            f"; only rules for every destination apply there ({', '.join(everywhere)})"
            if everywhere
            else ": every chip is treated as allowed there"
        )
        notes.append(f"No export rule names {country}{tail}.")
    return notes


def quarters(plan: Plan) -> pd.DataFrame:
    """Per quarter: spend against budget, compute (owned and leased), memory, power and opex."""
    return plan.periods.copy()


def sites(plan: Plan) -> pd.DataFrame:
    """Per site and quarter: power against capacity and the compute installed there."""
    return plan.sites.copy()


def schedule(plan: Plan) -> pd.DataFrame:
    """The purchase and lease lines, in order (the table the Schedule sheet and CSV hold)."""
    return plan.purchases.copy()


def cash_flow(plan: Plan) -> pd.DataFrame | None:
    """Per quarter (contract section 6): paid in USD and in the budget currency, commitments made, depreciation, lease payments and electricity; None without a ``finance`` key."""
    data = plan.data
    if data is None or not data.finance.present or not len(plan.periods):
        return None
    per = plan.periods
    p = plan.purchases
    committed = p.groupby("order_period")["cost_usd"].sum() if len(p) else pd.Series(dtype=float)
    out = pd.DataFrame({"period": per["period"], "paid_usd": per["cash_usd"]})
    currency = data.finance.currency
    if currency != "USD":
        out[f"paid_{currency.lower()}"] = per["cash"]
    out["committed_usd"] = [float(committed.get(q, 0.0)) for q in per["period"]]
    out["depreciation_usd"] = per["depreciation_usd"]
    out["lease_payments_usd"] = per["lease_usd"]
    out["electricity_usd"] = per["opex_usd"]
    out["retired_chips"] = per["retired_chips"]
    return out.reset_index(drop=True)


def book_values(plan: Plan) -> pd.DataFrame | None:
    """Per purchase line: its price, depreciation per quarter and within the horizon, and book value after the last quarter; None without a ``finance`` key."""
    from planner.model.build import Coefficients

    data = plan.data
    if data is None or not data.finance.present or plan.servers is None:
        return None
    c = Coefficients.of(data)
    n = plan.servers.astype(np.float64)
    cols = ["order_period", "delivery_period", "sku", "site", "chips", "cost_usd"]
    bought = plan.servers > 0
    lines = plan.purchases[cols].copy()
    per_quarter = n * c.price / data.finance.book_quarters
    in_horizon = sum(n * c.depreciation_at(q) for q in range(data.horizon))
    keep = ~c.lease[bought]
    lines["depreciation_per_quarter_usd"] = per_quarter[bought]
    lines["depreciated_in_horizon_usd"] = np.asarray(in_horizon)[bought]
    lines["book_value_after_horizon_usd"] = (n * c.book_value())[bought]
    return lines[keep].reset_index(drop=True)


@dataclass
class PlanReport:
    """Everything the plan report and workbook show, computed once."""

    plan: Plan
    figures: Figures
    quarters: pd.DataFrame
    sites: pd.DataFrame
    schedule: pd.DataFrame
    licences: pd.DataFrame
    lease_tail: pd.DataFrame
    exclusions: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    cash_flow: pd.DataFrame | None = None
    book_values: pd.DataFrame | None = None
    channels: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EXPOSURE_COLUMNS))


def plan_report(plan: Plan) -> PlanReport:
    """Every finished table the text, JSON and workbook reports of a plan use."""
    return PlanReport(
        plan,
        figures(plan),
        quarters(plan),
        sites(plan),
        schedule(plan),
        licence_dependencies(plan),
        lease_tail(plan),
        exclusions(plan),
        compliance_notes(plan),
        cash_flow(plan),
        book_values(plan),
        channel_exposure(plan),
    )
