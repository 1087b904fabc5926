"""Everything the model needs, derived once from a catalog and a scenario (contract, section 3).

A *purchase option* is a ``buy`` offer paired with a site it can ship to; a *lease option*
is a ``lease`` offer (only for scenarios in the ``sites`` form: a version-1 scenario, one
``destination``, plans as version 1 did, without leases). An option is usable when its order quarter is in the horizon, the
site's country is in the offer's ``ships_to`` (or that is empty), its status over its
order-to-delivery window for the chip, the country, the buyer and the kind is allowed (or
license-required when the policy allows it), it delivers (a lease: starts serving) within the
horizon, and its SKU and channel are not excluded. Options dropped for any of these reasons
are kept in ``excluded`` with their cause (:class:`Exclusion`) and reason, for the reports; an
option whose offer is less than one server (``max_units`` below ``chips_per_server``) is
dropped without a row: there is nothing to buy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.inputs.catalog import Catalog
from planner.inputs.scenario import Scenario
from planner.inputs.tables import records
from planner.inputs.units import HOURS_PER_QUARTER, parse_quarter
from planner.model.linear import FloatArray, IntArray

#: the options' stable order: order quarter, chip, channel, then kind, site and terms
OPTION_ORDER = ["period_index", "sku", "channel", "kind", "site_index", "term", "ships_key", "offer_id"]
CHIP_COLUMNS = [
    "vendor",
    "model",
    "category",
    "origin",
    "chips_per_server",
    "eff_pflops",
    "mem_tb",
    "memory_gb",
    "memory_bw_tbps",
    "power_w",
    "cluster_family",
    "workloads",
]
NO_SITE = -1


class Exclusion(StrEnum):
    """Why an option is not usable: the ``cause`` column of ``ModelData.excluded`` (its ``reason`` is the sentence, made once, here).

    A compliance exclusion also carries the rule's ``status`` and the deciding ``rule_ids``.
    """

    HORIZON = "horizon"  # ordered outside the scenario's quarters
    NO_LEASES = "no leases"  # a lease, in a scenario of the destination form
    SHIPS_TO = "ships to"  # the offer does not ship to the site's country
    COMPLIANCE = "compliance"  # an export rule's status the scenario does not allow
    POLICY = "policy"  # a SKU or channel the scenario's policy excludes
    LEAD_TIME = "lead time"  # delivered (or served) after the horizon


#: share groupings the fleet never belongs to (it was bought through no channel of the catalog)
CHANNEL_GROUPS = ("channel", "channel_risk", "transit")


@dataclass(frozen=True)
class SiteData:
    """A site as the model uses it: caps per period (None: no cap) and its electricity price."""

    name: str
    country: str
    pue: float
    kwh_price: float
    caps: list[float | None]
    tags: frozenset[str] = frozenset()

    def opex_per_mw(self) -> float:
        """USD of electricity for one MW over one quarter."""
        return 1000.0 * HOURS_PER_QUARTER * self.kwh_price


@dataclass(frozen=True)
class EfficiencyChange:
    """Software efficiency scaled from period ``first`` on (a shock): a factor per option and per fleet row; earlier periods keep their efficiency."""

    first: int
    options: npt.NDArray[np.float64]
    fleet: npt.NDArray[np.float64]


@dataclass(frozen=True)
class FinanceData:
    """Money over the asset's life (contract v3, section 6) as the model uses it.

    ``fx[p]`` is the budget currency per USD in period ``p`` (1 for USD); quarters past the
    horizon take the last period's rate. ``present`` says whether the scenario has a ``finance``
    key (the JSON adds the section-6 keys only then).
    """

    present: bool = False
    currency: str = "USD"
    fx: tuple[float, ...] = ()
    rate: float = 0.0
    deposit: float = 1.0
    book_quarters: int = 16
    residual: bool = False
    service_quarters: int | None = None

    def fx_at(self, quarters: npt.NDArray[np.int64]) -> FloatArray:
        """The rate in each of ``quarters`` (indices from the first period; past the horizon: the last rate)."""
        path = np.asarray(self.fx, dtype=np.float64)
        return path[np.clip(quarters, 0, len(path) - 1)]

    def discount(self, quarters: npt.NDArray[np.int64] | int) -> FloatArray:
        """``delta_p = (1 + rate) ** (-i(p) / 4)`` for quarter indices ``i(p)``."""
        return np.power(1.0 + self.rate, -np.asarray(quarters, dtype=np.float64) / 4.0)

    def window_sum(self, weights: FloatArray, first: IntArray, last: IntArray) -> FloatArray:
        """``sum_{p=first..last} weights[p]`` per entry (empty windows give 0); ``weights`` covers every quarter named."""
        cum = np.concatenate([[0.0], np.cumsum(weights)])
        lo = np.clip(first, 0, len(weights))
        hi = np.clip(last + 1, 0, len(weights))
        return np.where(hi > lo, cum[hi] - cum[np.minimum(lo, hi)], 0.0)


def finance_data(scenario: Scenario) -> FinanceData:
    """The scenario's ``finance`` key as :class:`FinanceData` (the defaults give version 2)."""
    f = scenario.finance
    horizon = len(scenario.periods)
    if f is None:
        return FinanceData(fx=(1.0,) * horizon)
    fx = caps(f.fx, list(scenario.periods)) if f.fx else [1.0] * horizon
    return FinanceData(
        present=True,
        currency=f.currency,
        fx=tuple(1.0 if v is None else v for v in fx),
        rate=f.discount_rate,
        deposit=f.deposit,
        book_quarters=f.book_quarters,
        residual=f.residual == "book",
        service_quarters=f.service_quarters,
    )


@dataclass
class ModelData:
    """Coefficients per usable option and per period; positions ``t``/``d`` index ``periods``.

    ``offers`` holds the usable options, one row each (``kind`` buy or lease, ``site`` the
    site's name for a purchase and None for a lease, ``d`` the delivery period or a lease's
    first quarter of service, ``end`` a lease's last quarter of service, which may lie past
    the horizon, ``stop`` the last quarter it brings capacity: ``end`` unless a shock cut it). ``fixed`` holds servers fixed per option (orders already committed; NaN
    where free).
    """

    scenario: Scenario
    catalog: Catalog
    periods: list[str]
    sites: list[SiteData]
    headquarters: str
    offers: pd.DataFrame
    excluded: pd.DataFrame
    fleet: pd.DataFrame
    budget_per_period: list[float] | None
    total_budget: float | None
    fixed: npt.NDArray[np.float64] | None = None
    efficiency: EfficiencyChange | None = None
    finance: FinanceData = FinanceData()
    #: ``(p, place, family, n)``: at least ``n`` whole clusters of ``family`` at ``place`` in
    #: period ``p`` (``explain`` asks what one more cluster costs; empty for every plan)
    cluster_floor: tuple[tuple[int, str, str, int], ...] = ()

    @property
    def horizon(self) -> int:
        """Number of planning quarters."""
        return len(self.periods)

    def fleet_column(self, column: str) -> npt.NDArray[np.float64]:
        """A fleet column as floats, converted once per fleet frame (a model build asks thousands of times; the frame is not changed in place)."""
        cache: dict[str, tuple[pd.DataFrame, npt.NDArray[np.float64]]] = self.__dict__.setdefault(
            "_fleet_columns", {}
        )
        held = cache.get(column)
        if held is None or held[0] is not self.fleet:
            held = cache[column] = (self.fleet, self.fleet[column].to_numpy(dtype=np.float64))
        return held[1]

    def fleet_sum(self, column: str, site: int | None = None, p: int | None = None) -> float:
        """Sum over the fleet (at one site, by index; in service in period ``p``) of ``chips * column``."""
        f = self.fleet
        if not len(f):
            return 0.0
        keep = np.ones(len(f), dtype=bool) if p is None else self.fleet_serving(p)
        if site is not None:
            keep = keep & (self.fleet_column("site_index") == site)
        chips = self.fleet_column("chips")[keep]
        return float(np.nansum(chips * self.fleet_column(column)[keep]))  # NaN counts 0, as in pandas

    def fleet_serving(self, p: int) -> npt.NDArray[np.bool_]:
        """Fleet rows in service in period ``p`` (installed by then and not yet retired)."""
        return (self.fleet_column("first") <= p) & (p <= self.fleet_column("last"))

    def option_factor(self, p: int) -> npt.NDArray[np.float64]:
        """Efficiency factor per option in period ``p`` (1 unless a shock changed it by then)."""
        e = self.efficiency
        if e is None or p < e.first:
            return np.ones(len(self.offers))
        return e.options

    def fleet_eff(self, p: int, rows: npt.NDArray[np.bool_] | None = None) -> float:
        """Effective PFLOPS of the fleet (or of the ``rows`` selected) in period ``p``."""
        f = self.fleet
        if not len(f):
            return 0.0
        factor = (
            np.ones(len(f)) if self.efficiency is None or p < self.efficiency.first else self.efficiency.fleet
        )
        value = self.fleet_column("chips") * self.fleet_column("eff_pflops") * factor
        serving = self.fleet_serving(p)
        rows = serving if rows is None else rows & serving
        return float(value[rows].sum())

    def option_values(self, by: str) -> npt.NDArray[np.object_]:
        """Each usable option's value of column ``by``, None where it has none (a lease's site).

        pandas stores a missing text as NaN; a NaN must never become a group named ``nan``.
        """
        if not len(self.offers):
            return np.empty(0, dtype=object)
        values = self.offers[by].to_numpy(dtype=object, copy=True)
        values[self.offers[by].isna().to_numpy()] = None
        return values


def caps(capacity: dict[str, float], periods: list[str]) -> list[float | None]:
    """Cap per period: an entry, else the latest earlier entry, else no cap."""
    entries = sorted((parse_quarter(k), v) for k, v in capacity.items())
    out: list[float | None] = []
    for p in periods:
        q = parse_quarter(p)
        earlier = [v for k, v in entries if k <= q]
        out.append(float(earlier[-1]) if earlier else None)
    return out


def budget_fields(scenario: Scenario) -> dict[str, Any]:
    """``budget_per_period`` (a period missing from ``per_period_usd`` has budget 0) and ``total_budget`` of the scenario, as :class:`ModelData` holds them."""
    per_period = None
    if scenario.budget.per_period_usd is not None:
        per_period = [float(scenario.budget.per_period_usd.get(p, 0.0)) for p in scenario.periods]
    return {"budget_per_period": per_period, "total_budget": scenario.budget.total_usd}


def _chips(catalog: Catalog) -> pd.DataFrame:
    chips = catalog.chips.copy()
    chips["mem_tb"] = chips["memory_gb"] / 1000.0
    return chips


def prepare(scenario: Scenario, catalog: Catalog) -> ModelData:
    """Derive the usable options and every coefficient of the model."""
    periods = list(scenario.periods)
    sites = [
        SiteData(
            s.name,
            s.country,
            s.pue,
            s.electricity_usd_per_kwh,
            caps(s.capacity_mw, periods),
            frozenset(s.tags),
        )
        for s in scenario.site_list()
    ]
    hq = scenario.headquarters
    start, horizon = parse_quarter(periods[0]), len(periods)
    policy = scenario.policy
    allowed = {"allowed", "license-required"} if policy.allow_license_required else {"allowed"}
    judged = catalog.judged
    chips = _chips(catalog)

    rows: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    columns = [
        "offer_id",
        "sku",
        "channel",
        "period",
        "period_index",
        "kind",
        "ships_to",
        "term_quarters",
        "max_units",
        "unit_price_usd",
        "lead_time_quarters",
        "delivery_risk",
        "channel_risk",
        "transit",
    ]
    for rec in records(catalog.offers[columns]):
        rec["ships_to"] = tuple(rec["ships_to"].split())  # the catalog keeps the codes as one text
        rec["term_quarters"] = None if pd.isna(rec["term_quarters"]) else int(rec["term_quarters"])
        rec["transit"] = str(rec["transit"]) or None  # shipped direct: no transit country
        t = int(rec["period_index"]) - start
        kind = rec["kind"]
        base = {**rec, "t": t, "ships_key": " ".join(rec["ships_to"]), "term": int(rec["term_quarters"] or 0)}
        if not 0 <= t < horizon:
            dropped.append(
                {
                    **base,
                    "site": None,
                    "country": None,
                    "cause": Exclusion.HORIZON,
                    "reason": "outside the horizon",
                    "rule_ids": "",
                }
            )
            continue
        if kind == "lease" and scenario.sites is None:
            dropped.append(
                {
                    **base,
                    "site": None,
                    "country": rec["ships_to"][0],
                    "cause": Exclusion.NO_LEASES,
                    "reason": "lease: a scenario in the destination form has no leases (give sites)",
                    "rule_ids": "",
                }
            )
            continue
        targets = [(i, s) for i, s in enumerate(sites)] if kind == "buy" else [(NO_SITE, None)]
        for site_index, site in targets:
            country = site.country if site is not None else rec["ships_to"][0]
            option = {
                **base,
                "site": site.name if site is not None else None,
                "site_index": site_index,
                "country": country,
            }
            cause, reason, ids = None, None, ""
            if site is not None and rec["ships_to"] and site.country not in rec["ships_to"]:
                cause, reason = Exclusion.SHIPS_TO, f"ships to {', '.join(rec['ships_to'])} only"
            else:
                verdict = judged.offer(
                    rec["sku"],
                    country,
                    hq,
                    kind,
                    int(rec["period_index"]),
                    int(rec["lead_time_quarters"]),
                    option["term"] or None,
                    site.tags if site is not None else frozenset(),
                )
                v = verdict.verdict
                option.update(
                    status=v.status,
                    license_rules=",".join(v.license_rules),
                    fee_pct=v.terms.fee_pct,
                    approval=v.terms.approval,
                    lag=verdict.delay - int(rec["lead_time_quarters"]),
                    d=t + verdict.delay,
                )
                if v.status not in allowed:
                    cause, reason = Exclusion.COMPLIANCE, f"compliance: {v.status}"
                    ids = ",".join(m.rule_id for m in v.deciding)
                elif rec["sku"] in policy.exclude_skus:
                    cause, reason = Exclusion.POLICY, "policy: sku excluded"
                elif rec["channel"] in policy.exclude_channels:
                    cause, reason = Exclusion.POLICY, "policy: channel excluded"
                elif option["d"] >= horizon:
                    cause = Exclusion.LEAD_TIME
                    reason = (
                        "lead time: delivered after the horizon"
                        if kind == "buy"
                        else "lead time: service starts after the horizon"
                    )
            if reason is None:
                rows.append(option)
            else:
                dropped.append({**option, "cause": cause, "reason": reason, "rule_ids": ids})
    finance = finance_data(scenario)
    usable = _options(pd.DataFrame(rows), chips, sites, finance.service_quarters)
    excluded = pd.DataFrame(
        dropped,
        columns=[
            "offer_id",
            "sku",
            "channel",
            "period",
            "period_index",
            "kind",
            "site",
            "country",
            "cause",
            "status",
            "reason",
            "rule_ids",
        ],
    )
    fleet = _fleet(scenario, chips, sites, finance.service_quarters)
    return ModelData(
        scenario,
        catalog,
        periods,
        sites,
        hq,
        usable,
        excluded,
        fleet,
        **budget_fields(scenario),
        finance=finance,
    )


def _options(
    frame: pd.DataFrame, chips: pd.DataFrame, sites: list[SiteData], service: int | None = None
) -> pd.DataFrame:
    """Usable options with every coefficient the model needs, in a stable order.

    ``end`` is a lease's last quarter of service, or a purchase's last before it retires after
    ``service`` quarters (far in the future without a service life).
    """
    columns = [
        "offer_id",
        "sku",
        "channel",
        "period",
        "period_index",
        "kind",
        "site",
        "site_index",
        "country",
        "ships_to",
        "ships_key",
        "term",
        "t",
        "d",
        "lag",
        "status",
        "license_rules",
        "fee_pct",
        "approval",
        "max_units",
        "unit_price_usd",
        "lead_time_quarters",
        "delivery_risk",
        "channel_risk",
        "transit",
    ]
    if frame.empty:
        frame = pd.DataFrame(columns=columns)
    frame = frame[columns].sort_values(OPTION_ORDER, kind="stable").reset_index(drop=True)
    frame = frame.join(chips[CHIP_COLUMNS], on="sku")
    for col in (
        "t",
        "d",
        "lag",
        "term",
        "site_index",
        "chips_per_server",
        "max_units",
        "period_index",
        "offer_id",
        "lead_time_quarters",
    ):
        frame[col] = frame[col].astype(np.int64)
    for col in ("fee_pct", "approval", "delivery_risk", "unit_price_usd", "eff_pflops", "mem_tb", "power_w"):
        frame[col] = frame[col].astype(np.float64)
    lease = (frame["kind"] == "lease").to_numpy()
    retire = frame["d"] + service - 1 if service is not None else 10**6
    frame["end"] = np.where(lease, frame["d"] + frame["term"] - 1, retire)
    frame["stop"] = frame["end"]  # last quarter with capacity (a lease cut by a shock stops early)
    frame["q"] = (1.0 - frame["delivery_risk"]) * frame["approval"]
    frame["price"] = frame["unit_price_usd"] * (1.0 + frame["fee_pct"] / 100.0)
    pue = np.array([sites[i].pue if i >= 0 else 0.0 for i in frame["site_index"]], dtype=np.float64)
    frame["power_mw"] = np.where(lease, 0.0, frame["power_w"] * pue / 1e6)
    frame["max_servers"] = (frame["max_units"] // frame["chips_per_server"]).astype(np.int64)
    # contract v3, section 7: a place is a site, or a cloud (a lease's channel in its country)
    frame["place"] = np.where(lease, frame["channel"] + "@" + frame["country"], frame["site"].astype(object))
    frame["server_price"] = frame["price"] * frame["chips_per_server"]
    return frame[frame["max_servers"] > 0].reset_index(drop=True)


def _fleet(
    scenario: Scenario, chips: pd.DataFrame, sites: list[SiteData], service: int | None = None
) -> pd.DataFrame:
    """The fleet's rows; ``first``/``last`` are the quarters (from the first period) it serves."""
    names = [s.name for s in sites]
    start = parse_quarter(scenario.periods[0])
    fleet = pd.DataFrame(
        [
            {
                "sku": f.sku,
                "chips": f.chips,
                "site": f.site or names[0],
                "first": parse_quarter(f.installed) - start if f.installed else 0,
            }
            for f in scenario.fleet
        ],
        columns=["sku", "chips", "site", "first"],
    )
    fleet["first"] = fleet["first"].astype(np.int64)
    fleet["last"] = fleet["first"] + service - 1 if service is not None else 10**6
    fleet["site_index"] = [names.index(s) for s in fleet["site"]]
    fleet["country"] = [sites[i].country for i in fleet["site_index"]]
    fleet["kind"] = "buy"
    fleet["place"] = fleet["site"]
    fleet["channel"] = None  # the fleet belongs to no channel
    fleet["channel_risk"] = None
    fleet["transit"] = None
    fleet = fleet.join(chips[CHIP_COLUMNS], on="sku")
    fleet["power_mw"] = [
        w * sites[i].pue / 1e6 for w, i in zip(fleet["power_w"], fleet["site_index"], strict=True)
    ]
    return fleet
