"""Everything the model needs, derived once from a catalog and a scenario.

Usable offers (contract, section 3): ordered in a period of the horizon,
delivered (``period + lead``) within it, the chip's status at the destination
on the first day of the order quarter allowed (or license-required when the
policy allows it), SKU and channel not excluded. Offers dropped for any of
these reasons are kept in ``excluded`` with the reason, for the reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planner import compliance
from planner.catalog import Catalog
from planner.scenario import Scenario
from planner.units import HOURS_PER_QUARTER, parse_quarter, quarter_start

OFFER_ORDER = ["period_index", "sku", "channel"]


@dataclass
class ModelData:
    """Coefficients per usable offer and per period; positions ``t``/``d`` index ``periods``."""

    scenario: Scenario
    catalog: Catalog
    periods: list[str]
    offers: pd.DataFrame          # usable offers, one row each, in a stable order
    excluded: pd.DataFrame        # offers not usable: sku, channel, period, reason, rule_ids
    fleet: pd.DataFrame           # sku, chips and the chip columns
    pue: float
    kwh_price: float
    site_cap: list[float | None]  # MW per period, None = no cap
    budget_per_period: list[float] | None
    total_budget: float | None
    #: servers fixed per usable offer (orders already committed); NaN where free
    fixed: np.ndarray | None = None

    @property
    def horizon(self) -> int:
        return len(self.periods)

    def fleet_sum(self, column: str) -> float:
        """Sum over the fleet of ``chips * column`` (``eff_pflops``, ``mem_tb``, ``power_mw``)."""
        return float((self.fleet["chips"] * self.fleet[column]).sum()) if len(self.fleet) else 0.0

    def opex_per_mw(self) -> float:
        """USD of electricity for one MW over one quarter."""
        return 1000.0 * HOURS_PER_QUARTER * self.kwh_price


def site_caps(scenario: Scenario) -> list[float | None]:
    """Cap per period: an entry, else the latest earlier entry, else no cap."""
    entries = sorted((parse_quarter(k), v) for k, v in (scenario.power.site_capacity_mw.items()
                                                        if scenario.power else ()))
    caps: list[float | None] = []
    for p in scenario.period_index:
        earlier = [v for k, v in entries if k <= p]
        caps.append(earlier[-1] if earlier else None)
    return caps


def _chip_frame(catalog: Catalog, pue: float) -> pd.DataFrame:
    chips = catalog.chips.copy()
    chips["mem_tb"] = chips["memory_gb"] / 1000.0
    chips["power_mw"] = chips["power_w"] * pue / 1e6
    return chips


def prepare(scenario: Scenario, catalog: Catalog) -> ModelData:
    """Derive the usable offers and every coefficient of the model."""
    pue = scenario.power.pue if scenario.power else 1.0
    kwh = scenario.power.electricity_usd_per_kwh if scenario.power else 0.0
    chips = _chip_frame(catalog, pue)
    start = parse_quarter(scenario.periods[0])
    horizon = len(scenario.periods)
    policy = scenario.policy
    allowed = {"allowed", "license-required"} if policy.allow_license_required else {"allowed"}

    offers = catalog.offers.drop(columns=[c for c in ("_row", "sources", "notes") if c in catalog.offers])
    offers = offers.sort_values(OFFER_ORDER, kind="stable").reset_index(drop=True)
    offers["t"] = offers["period_index"] - start
    offers["d"] = offers["t"] + offers["lead_time_quarters"]
    verdicts: dict[tuple[str, int], compliance.Verdict] = {}
    reasons, rule_ids = [], []
    for rec in offers[["sku", "channel", "period_index", "t", "d"]].itertuples(index=False):
        reason, ids = None, ""
        if not 0 <= rec.t < horizon:
            reasons.append("outside the horizon")
            rule_ids.append("")
            continue
        key = (rec.sku, rec.period_index)
        if key not in verdicts:
            verdicts[key] = compliance.chip_status(catalog.chip(rec.sku), scenario.destination,
                                                   quarter_start(rec.period_index), catalog.rules)
        v = verdicts[key]
        if v.status not in allowed:
            reason = f"compliance: {v.status}"
            ids = ",".join(m.rule_id for m in v.deciding)
        elif rec.sku in policy.exclude_skus:
            reason = "policy: sku excluded"
        elif rec.channel in policy.exclude_channels:
            reason = "policy: channel excluded"
        elif rec.d >= horizon:
            reason = "lead time: delivered after the horizon"
        reasons.append(reason)
        rule_ids.append(ids)
    offers["reason"], offers["rule_ids"] = reasons, rule_ids
    usable = offers[offers["reason"].isna()].drop(columns=["reason", "rule_ids"]).reset_index(drop=True)
    excluded = offers[offers["reason"].notna()].reset_index(drop=True)

    cols = ["vendor", "model", "category", "origin", "chips_per_server", "eff_pflops", "mem_tb",
            "power_mw", "memory_gb"]
    usable = usable.join(chips[cols], on="sku")
    usable["q"] = 1.0 - usable["delivery_risk"].astype(float)
    usable["max_servers"] = (usable["max_units"] // usable["chips_per_server"]).astype(np.int64)
    usable["server_price"] = usable["unit_price_usd"] * usable["chips_per_server"]
    usable = usable[usable["max_servers"] > 0].reset_index(drop=True)

    fleet = pd.DataFrame([{"sku": f.sku, "chips": f.chips} for f in scenario.fleet],
                         columns=["sku", "chips"])
    fleet = fleet.join(chips[cols], on="sku")

    return ModelData(scenario, catalog, list(scenario.periods), usable, excluded, fleet, pue, kwh,
                     site_caps(scenario), **budget_fields(scenario))


def budget_fields(scenario: Scenario) -> dict[str, Any]:
    """``budget_per_period`` (a period missing from ``per_period_usd`` has budget 0) and
    ``total_budget`` of the scenario, as :class:`ModelData` holds them."""
    per_period = None
    if scenario.budget.per_period_usd is not None:
        per_period = [float(scenario.budget.per_period_usd.get(p, 0.0)) for p in scenario.periods]
    return {"budget_per_period": per_period, "total_budget": scenario.budget.total_usd}
