"""What a buyer compares before any plan: derived chip figures, compliance listings and timelines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from planner.inputs.catalog import Catalog
from planner.inputs.tables import records
from planner.rules import compliance

CHIP_FIGURES = [
    "sku",
    "vendor",
    "model",
    "category",
    "origin",
    "eff_pflops",
    "tpp",
    "pd",
    "buy_usd",
    "buy_usd_per_eff_pflops",
    "w_per_eff_pflops",
    "memory_gb_per_kusd",
    "lease_usd_per_quarter",
    "lease_term_quarters",
    "lease_term_usd",
    "lease_usd_per_eff_pflops_quarter",
]


def chip_figures(catalog: Catalog) -> pd.DataFrame:
    """One row per chip: effective PFLOPS, TPP, PD; buying apart from renting (a lease is priced per chip and quarter, never beside a purchase price).

    ``buy_usd`` is the cheapest purchase price (``buy_usd_per_eff_pflops`` and
    ``memory_gb_per_kusd`` at it); ``lease_usd_per_quarter`` the cheapest lease per chip and
    quarter, with that offer's ``lease_term_quarters`` and ``lease_term_usd`` (the commitment per
    chip) and the quarter's price per effective PFLOPS. Empty where the chip has no such offer.
    """
    chips, offers = catalog.chips, catalog.offers
    df = chips[["sku", "vendor", "model", "category", "origin", "eff_pflops", "tpp", "pd"]].copy()
    buys = offers[offers["kind"] == "buy"]
    df["buy_usd"] = df["sku"].map(buys.groupby("sku")["unit_price_usd"].min())
    df["buy_usd_per_eff_pflops"] = df["buy_usd"] / df["eff_pflops"]
    df["w_per_eff_pflops"] = chips["power_w"] / df["eff_pflops"]
    df["memory_gb_per_kusd"] = chips["memory_gb"] / (df["buy_usd"] / 1000.0)
    leases = offers[offers["kind"] == "lease"].sort_values(["unit_price_usd", "term_quarters"], kind="stable")
    cheapest = leases.drop_duplicates("sku").set_index("sku")
    df["lease_usd_per_quarter"] = df["sku"].map(cheapest["unit_price_usd"])
    df["lease_term_quarters"] = df["sku"].map(cheapest["term_quarters"]).astype("Int64")
    df["lease_term_usd"] = df["lease_usd_per_quarter"] * df["lease_term_quarters"].astype("Float64")
    df["lease_usd_per_eff_pflops_quarter"] = df["lease_usd_per_quarter"] / df["eff_pflops"]
    return df[CHIP_FIGURES].reset_index(drop=True)


def offers_by_quarter(catalog: Catalog, kind: str = "buy") -> pd.DataFrame:
    """Chips (rows) by order quarter (columns): units offered over all channels, for one kind of offer (``buy`` or ``lease``)."""
    offers = catalog.offers[catalog.offers["kind"] == kind]
    pivot = offers.pivot_table(index="sku", columns="period", values="max_units", aggfunc="sum", fill_value=0)
    return pivot.reindex(sorted(pivot.columns), axis=1)


def _license(v: compliance.Verdict) -> dict[str, Any] | None:
    if v.status != "license-required":
        return None
    return {"fee_pct": v.terms.fee_pct, "lag_quarters": v.terms.lag_quarters, "approval": v.terms.approval}


def compliance_listing(
    catalog: Catalog,
    destination: str,
    on: dt.date,
    headquarters: str | None = None,
    kind: str = "buy",
    site_tags: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The status of every chip for ``destination`` on ``on`` (for a buyer headquartered in ``headquarters``, default the destination, a ``kind`` of offer and a site with ``site_tags``), with the matching rules, clauses and licence terms."""
    hq = headquarters or destination
    chips = []
    for rec in records(catalog.chips):
        v = compliance.chip_status(rec, destination, on, catalog.compiled, hq, kind, site_tags)
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
        "site_tags": sorted(site_tags),
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
    site_tags: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """For each chip (or one), the dates its status changes for ``destination``, from the rules."""
    out = []
    skus = [sku] if sku else list(catalog.chips.index)
    for s in skus:
        for day, v in compliance.status_changes(
            catalog.chip(s), destination, catalog.compiled, headquarters, kind, site_tags
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
