"""What a buyer compares before any plan: derived chip figures, compliance listings and timelines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from planner import compliance
from planner.catalog import Catalog
from planner.tables import records

CHIP_FIGURES = [
    "sku",
    "vendor",
    "model",
    "category",
    "origin",
    "eff_pflops",
    "tpp",
    "pd",
    "cheapest_usd",
    "usd_per_eff_pflops",
    "w_per_eff_pflops",
    "memory_gb_per_kusd",
]


def chip_figures(catalog: Catalog) -> pd.DataFrame:
    """One row per chip: effective PFLOPS per chip, TPP, PD, cheapest all-in price, $ and W per effective PFLOPS, and GB of memory per $1,000 at the cheapest price (empty without offers)."""
    chips = catalog.chips
    cheapest = catalog.offers.groupby("sku")["unit_price_usd"].min()
    df = chips[["sku", "vendor", "model", "category", "origin", "eff_pflops", "tpp", "pd"]].copy()
    df["cheapest_usd"] = df["sku"].map(cheapest)
    df["usd_per_eff_pflops"] = df["cheapest_usd"] / df["eff_pflops"]
    df["w_per_eff_pflops"] = chips["power_w"] / df["eff_pflops"]
    df["memory_gb_per_kusd"] = chips["memory_gb"] / (df["cheapest_usd"] / 1000.0)
    return df[CHIP_FIGURES].reset_index(drop=True)


def offers_by_quarter(catalog: Catalog) -> pd.DataFrame:
    """Chips (rows) by order quarter (columns): units offered over all channels."""
    pivot = catalog.offers.pivot_table(
        index="sku", columns="period", values="max_units", aggfunc="sum", fill_value=0
    )
    return pivot.reindex(sorted(pivot.columns), axis=1)


def _license(v: compliance.Verdict) -> dict[str, Any] | None:
    if v.status != "license-required":
        return None
    return {"fee_pct": v.terms.fee_pct, "lag_quarters": v.terms.lag_quarters, "approval": v.terms.approval}


def compliance_listing(
    catalog: Catalog, destination: str, on: dt.date, headquarters: str | None = None, kind: str = "buy"
) -> dict[str, Any]:
    """The status of every chip for ``destination`` on ``on`` (for a buyer headquartered in ``headquarters``, default the destination, and a ``kind`` of offer), with the matching rules, clauses and licence terms."""
    hq = headquarters or destination
    chips = []
    for rec in records(catalog.chips):
        v = compliance.chip_status(rec, destination, on, catalog.compiled, hq, kind)
        chips.append(
            {
                "sku": rec["sku"],
                "model": rec["model"],
                "tpp": round(float(rec["tpp"]), 6),
                "pd": None if pd.isna(rec["pd"]) else round(float(rec["pd"]), 6),
                "status": v.status,
                "rules": v.rule_ids,
                "license": _license(v),
                "why": [f"{m.rule_id} ({m.status}): {m.reason}" for m in v.matches],
            }
        )
    return {
        "destination": destination,
        "headquarters": hq,
        "kind": kind,
        "date": on.isoformat(),
        "unnamed": not any(c.destinations is None or destination in c.destinations for c in catalog.compiled),
        "chips": chips,
    }


def timeline(
    catalog: Catalog,
    destination: str,
    sku: str | None = None,
    headquarters: str | None = None,
    kind: str = "buy",
) -> list[dict[str, Any]]:
    """For each chip (or one), the dates its status changes for ``destination``, from the rules."""
    out = []
    skus = [sku] if sku else list(catalog.chips.index)
    for s in skus:
        for day, v in compliance.status_changes(
            catalog.chip(s), destination, catalog.compiled, headquarters, kind
        ):
            out.append(
                {
                    "sku": s,
                    "date": day.isoformat() if day else None,
                    "status": v.status,
                    "rules": v.rule_ids,
                    "license": _license(v),
                }
            )
    return out
