"""A solved plan as DataFrames (unit-suffixed columns) and as the contract's JSON (section 4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.errors import PlannerError
from planner.inputs.tables import records
from planner.inputs.units import parse_quarter, quarter_name
from planner.model.build import (
    EQ,
    GE,
    LE,
    WORKLOAD_MEASURES,
    Coefficients,
    Model,
    Part,
    Row,
    fleet_opex,
    workload_form,
)
from planner.model.data import ModelData
from planner.model.keys import BUDGET_FAMILIES, Family
from planner.model.linear import FloatArray, Sense
from planner.model.solve import Goal

PURCHASE_COLUMNS = [
    "order_period",
    "delivery_period",
    "sku",
    "vendor",
    "model",
    "category",
    "channel",
    "servers",
    "chips",
    "unit_price_usd",
    "cost_usd",
    "kind",
    "site",
    "country",
    "compliance",
    "license_rules",
    "term_quarters",
    "end_period",
]
PERIOD_COLUMNS = [
    "period",
    "capex_usd",
    "lease_usd",
    "opex_usd",
    "effective_pflops",
    "owned_pflops",
    "leased_pflops",
    "memory_tb",
    "power_mw",
    "cumulative_spend_usd",
    "cumulative_committed_usd",
    "cumulative_budget_usd",
    "site_capacity_mw",
]
SITE_COLUMNS = ["site", "country", "period", "power_mw", "capacity_mw", "effective_pflops"]
#: JSON keys of a period (contract section 4)
PERIOD_KEYS = ("period", "capex_usd", "opex_usd", "effective_pflops", "memory_tb", "power_mw", "lease_usd")
#: JSON keys a period adds with a ``finance`` key (contract section 6); ``cash`` only in a currency other than USD
FINANCE_PERIOD_KEYS = ("cash_usd", "cash", "depreciation_usd", "retired_chips")
FINANCE_PERIOD_KEYS_USD = ("cash_usd", "depreciation_usd", "retired_chips")
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class WorkloadFigures:
    """Training and inference at the solution (contract v3, section 7), read from the model's own forms.

    ``periods``: per quarter with a workload target, ``training_pflops``,
    ``inference_memory_bw_tbps`` and ``inference_memory_tb``; ``clusters``: ``period, place,
    family, clusters, chips`` for every whole cluster in use; ``split``: the effective chips of
    each SKU at each place set to training and to inference (an addition to the JSON, so every
    workload figure can be recomputed from it).
    """

    periods: pd.DataFrame
    clusters: pd.DataFrame
    split: pd.DataFrame

    @staticmethod
    def of(part: Part, x: FloatArray) -> WorkloadFigures | None:
        """The figures of a solved part (None when no quarter carries a workload target)."""
        w = part.workloads
        if not w.present:
            return None
        names = part.data.periods
        periods = pd.DataFrame(
            [
                {
                    "period": names[p],
                    **{m: workload_form(part, m, p).value(x) for m in WORKLOAD_MEASURES},
                }
                for p in sorted(w.training)
            ],
            columns=["period", *WORKLOAD_MEASURES],
        )
        clusters = pd.DataFrame(
            [
                {
                    "period": names[int(r["p"])],
                    "place": r["place"],
                    "family": r["family"],
                    "clusters": n,
                    "chips": n * int(r["size"]),
                }
                for r in records(w.clusters)
                if (n := int(round(x[int(r["y"])]))) > 0
            ],
            columns=["period", "place", "family", "clusters", "chips"],
        )
        split = pd.DataFrame(
            [
                {
                    "period": names[int(r["p"])],
                    "place": r["place"],
                    "sku": r["sku"],
                    "training_chips": float(x[int(r["tr"])]) if int(r["tr"]) >= 0 else 0.0,
                    "inference_chips": float(x[int(r["inf"])]) if int(r["inf"]) >= 0 else 0.0,
                }
                for r in records(w.split)
            ],
            columns=["period", "place", "sku", "training_chips", "inference_chips"],
        )
        split = split[(split["training_chips"] > 1e-9) | (split["inference_chips"] > 1e-9)]
        return WorkloadFigures(periods, clusters, split.reset_index(drop=True))

    def to_json(self) -> dict[str, Any]:
        """``clusters`` (contract section 7) and ``workload_split`` (an addition)."""
        return {
            "clusters": [
                {k: (int(v) if k in ("clusters", "chips") else v) for k, v in r.items()}
                for r in records(self.clusters)
            ],
            "workload_split": [
                {
                    k: (round_value(v, k) if k.endswith("_chips") is False else round(float(v), 6))
                    for k, v in r.items()
                }
                for r in records(self.split)
            ],
        }


@dataclass(frozen=True)
class Plan:
    """The answer for one scenario. ``purchases`` and ``periods`` are empty unless a plan exists.

    ``purchases`` has one row per purchase or lease (leases have ``term_quarters`` and
    ``end_period``); ``periods`` one row per quarter; ``sites`` one row per site and quarter.
    """

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
    servers: IntArray | None = None  # whole servers per usable option (data.offers order)
    inputs: dict[str, str] = field(default_factory=dict)  # input file -> sha256
    extra: dict[str, Any] = field(default_factory=dict)  # further top-level JSON keys (e.g. robust)
    sites: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SITE_COLUMNS))
    workloads: WorkloadFigures | None = None
    notes: list[str] = field(default_factory=list)  # policy shares that together allow only an empty plan
    value: float | None = (
        None  # the objective's value as the solver reached it (stage 1); None without a plan
    )

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"Plan({self.scenario!r}, {self.objective}, {self.status}: {t['effective_pflops']:,.1f} effective "
            f"PFLOPS, capex ${t['capex_usd']:,.0f}, leases ${t.get('lease_usd', 0.0):,.0f}, "
            f"{len(self.purchases)} purchase lines)"
        )

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter: status, totals, the chips bought and the last quarter's mix."""
        import html

        t = self.totals
        head = (
            f"<b>{html.escape(self.scenario)}</b> &middot; {html.escape(self.objective)} &middot; "
            f"<b>{html.escape(self.status)}</b>"
        )
        if self.message:
            head += f"<br><i>{html.escape(self.message)}</i>"
        totals = [
            ("Capex", f"${t['capex_usd'] / 1e9:,.2f}B"),
            ("Leases", f"${t.get('lease_usd', 0.0) / 1e9:,.2f}B"),
            ("Opex", f"${t['opex_usd'] / 1e6:,.1f}M"),
            ("Effective PFLOPS (last quarter)", f"{t['effective_pflops']:,.0f}"),
            ("Memory (TB)", f"{t['memory_tb']:,.0f}"),
            ("Chips bought", f"{int(t['chips']):,}"),
            ("Chips leased", f"{int(t.get('leased_chips', 0)):,}"),
        ]
        rows = "".join(f"<tr><td>{k}</td><td style='text-align:right'>{v}</td></tr>" for k, v in totals)
        parts = [f"<div>{head}</div>", f"<table>{rows}</table>"]
        if self.ok and len(self.purchases):
            by_sku = (
                self.purchases.groupby(["sku", "kind"], sort=True, as_index=False)[["chips", "cost_usd"]]
                .sum()
                .sort_values("cost_usd", ascending=False)
                .head(8)
            )
            lines = "".join(
                f"<tr><td>{html.escape(str(r['sku']))}</td><td>{html.escape(str(r['kind']))}</td>"
                f"<td style='text-align:right'>{int(r['chips']):,}</td>"
                f"<td style='text-align:right'>${r['cost_usd'] / 1e6:,.1f}M</td></tr>"
                for r in records(by_sku)
            )
            parts.append(
                "<table><tr><th>SKU</th><th>kind</th><th>chips</th><th>cost</th></tr>"
                f"{lines}</table><small>{len(self.purchases)} purchase lines; see .purchases</small>"
            )
        return "".join(parts)

    def capacity_by(self, key: str, fleet_apart: bool = False) -> pd.DataFrame:
        """Installed effective PFLOPS per quarter (rows) by ``key`` (columns): category, vendor, origin, channel, site, country or kind; fleet included (its channel is ``fleet``; a lease's site is ``leased``), or in a column ``fleet`` of its own with ``fleet_apart``."""
        data = self.data
        assert data is not None
        columns: dict[str, npt.NDArray[np.float64]] = {}

        def add(group: str, values: npt.NDArray[np.float64]) -> None:
            columns[group] = columns.get(group, np.zeros(data.horizon)) + values

        for j, rec in enumerate(data.fleet.to_dict("records")):
            group = "fleet" if key == "channel" or fleet_apart else str(rec[key])
            row = np.arange(len(data.fleet)) == j
            add(group, np.array([data.fleet_eff(p, row) for p in range(data.horizon)]))
        if self.servers is not None and len(data.offers):
            o = data.offers
            chips = self.servers * o["chips_per_server"].to_numpy()
            eff = chips * (o["q"] * o["eff_pflops"]).to_numpy()
            factors = np.stack([data.option_factor(p) for p in range(data.horizon)], axis=1)
            p = np.arange(data.horizon)
            values = data.option_values(key)
            d, stop = o["d"].to_numpy(np.int64), o["stop"].to_numpy(np.int64)
            for i in np.flatnonzero(chips):
                group = "leased" if values[i] is None else str(values[i])
                add(group, eff[i] * factors[i] * ((p >= d[i]) & (p <= stop[i])))
        frame = pd.DataFrame(
            {k: columns[k] for k in sorted(columns)}, index=pd.Index(data.periods, name="period")
        )
        return frame

    def spend_by(self, key: str) -> pd.DataFrame:
        """Payments per quarter (rows) by ``key`` (columns): capex in the order quarter, lease payments in each quarter of service within the horizon."""
        data = self.data
        assert data is not None
        columns: dict[str, npt.NDArray[np.float64]] = {}
        if self.servers is not None and len(data.offers):
            o = data.offers
            pay = self.servers * o["server_price"].to_numpy(np.float64)
            p = np.arange(data.horizon)
            lease = (o["kind"] == "lease").to_numpy()
            values = data.option_values(key)
            d, end, t = (o[c].to_numpy(np.int64) for c in ("d", "end", "t"))
            for i in np.flatnonzero(pay):
                group = "leased" if values[i] is None else str(values[i])
                when = ((p >= d[i]) & (p <= end[i])) if lease[i] else (p == t[i])
                columns[group] = columns.get(group, np.zeros(data.horizon)) + pay[i] * when
        return pd.DataFrame(
            {k: columns[k] for k in sorted(columns)}, index=pd.Index(data.periods, name="period")
        )

    def _check_unchanged(self) -> None:
        if self.data is None or self.servers is None or not self.ok:
            return
        purchases, periods, totals, _ = tabulate(self.data, self.servers)
        same = (
            purchases.equals(self.purchases)
            and periods[PERIOD_COLUMNS].equals(self.periods[PERIOD_COLUMNS])
            and all(self.totals.get(k) == v for k, v in totals.items())
        )
        if not same:
            raise PlannerError(
                "the plan's tables were changed after it was solved and no longer match its servers; "
                "export the plan as solved, or solve the changed scenario"
            )

    def _workload_keys(self, period: str) -> dict[str, float]:
        """A quarter's section-7 figures, when it carries a workload target."""
        if self.workloads is None:
            return {}
        rows = self.workloads.periods[self.workloads.periods["period"] == period]
        if not len(rows):
            return {}
        rec = records(rows)[0]
        return {m: round_value(rec[m], m) for m in WORKLOAD_MEASURES}

    def period_keys(self) -> tuple[str, ...]:
        """JSON keys of a period: section 4's, and section 6's when the scenario has ``finance``."""
        keys: tuple[str, ...] = PERIOD_KEYS
        if self.data is not None and self.data.finance.present:
            keys += FINANCE_PERIOD_KEYS if self.data.finance.currency != "USD" else FINANCE_PERIOD_KEYS_USD
        return keys

    @property
    def ok(self) -> bool:
        """Whether the plan has purchases to report (optimal or feasible)."""
        return self.status in ("optimal", "feasible")

    @property
    def excluded(self) -> pd.DataFrame:
        """Options dropped before the solve, with the reason (compliance, policy, lead time...)."""
        return self.data.excluded if self.data is not None else pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object (section 4), deterministic for the same inputs.

        Raises:
            PlannerError: the plan's tables were edited after it was solved, so they no longer
                match its servers (a Plan's fields cannot be reassigned; its tables can be).
        """
        self._check_unchanged()
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "status": self.status,
            "objective": self.objective,
            "totals": {k: round_value(v, k) for k, v in self.totals.items()},
            "periods": [
                {k: (rec[k] if k == "period" else round_value(rec[k], k)) for k in self.period_keys()}
                | self._workload_keys(rec["period"])
                for rec in self.periods.to_dict("records")
            ],
            "purchases": [
                purchase_json({str(k): v for k, v in rec.items()})
                for rec in self.purchases.to_dict("records")
            ],
            "sites": sites_json(self),
        }
        if self.ok and self.data is not None:
            out["channel_exposure"] = exposure_json(self)  # an extension: channel diligence
        if self.workloads is not None:
            out |= self.workloads.to_json()
        elif self.data is not None and any(t.has_workloads for t in self.data.scenario.targets.values()):
            out |= {"clusters": [], "workload_split": []}
        if self.diagnosis is not None:
            out["diagnosis"] = self.diagnosis
        if self.notes and self.ok:
            out["notes"] = self.notes  # an addition: policies that allow only an empty plan
        if self.message:
            out["message"] = self.message
        out.update(self.extra)
        return out


EXPOSURE_COLUMNS = ["channel", "channel_risk", "transit", "kinds", "chips", "commitment_usd", "share"]


def channel_exposure(plan: Plan) -> pd.DataFrame:
    """The plan's commitments by channel, with the channel's risk rating and transit country (largest first).

    ``commitment_usd`` is the model's own measure of spend (a purchase's price, a lease's price x
    term: what spend shares and channel-risk caps count); ``share`` is its part of all commitments.
    An offer row rates its channel, so a channel with rows of several ratings has a line for each.
    """
    data = plan.data
    if data is None or plan.servers is None or not plan.ok or not len(data.offers) or not plan.servers.any():
        return pd.DataFrame(columns=EXPOSURE_COLUMNS)
    o = data.offers
    bought = plan.servers > 0
    lines = pd.DataFrame(
        {
            "channel": o["channel"].to_numpy(dtype=object)[bought],
            "channel_risk": o["channel_risk"].to_numpy(dtype=object)[bought],
            "transit": [
                t if isinstance(t, str) and t else "" for t in o["transit"].to_numpy(dtype=object)[bought]
            ],
            "kind": o["kind"].to_numpy(dtype=object)[bought],
            "chips": (plan.servers * o["chips_per_server"].to_numpy(np.int64))[bought],
            "commitment_usd": (plan.servers * Coefficients.of(data).commitment)[bought],
        }
    )
    out = (
        lines.groupby(["channel", "channel_risk", "transit"], sort=True)
        .agg(
            kinds=("kind", lambda k: " ".join(sorted(set(k)))),
            chips=("chips", "sum"),
            commitment_usd=("commitment_usd", "sum"),
        )
        .reset_index()
    )
    total = float(out["commitment_usd"].sum())
    out["share"] = out["commitment_usd"] / total if total > 0 else 0.0
    out = out.sort_values(["commitment_usd", "channel"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)[EXPOSURE_COLUMNS]


def exposure_json(plan: Plan) -> list[dict[str, Any]]:
    """``channel_exposure`` (an extension of the contract's JSON): one object per channel line."""
    return [
        {
            "channel": r["channel"],
            "channel_risk": r["channel_risk"],
            "transit": r["transit"] or None,
            "kinds": r["kinds"].split(),
            "chips": int(r["chips"]),
            "commitment_usd": round_value(r["commitment_usd"], "commitment_usd"),
            "share": round_value(r["share"], "share"),
        }
        for r in records(channel_exposure(plan))
    ]


def purchase_json(rec: dict[str, Any]) -> dict[str, Any]:
    """One purchase line as the contract writes it (a purchase has no term or end)."""
    out: dict[str, Any] = {}
    for key in PURCHASE_COLUMNS:
        value = rec[key]
        if key in ("term_quarters", "end_period") and rec["kind"] != "lease":
            continue
        if isinstance(value, float) and np.isnan(value) and key not in ("unit_price_usd", "cost_usd"):
            value = None
        if key == "license_rules":
            value = [r for r in str(value).split(",") if r]
        elif key == "term_quarters":
            value = int(value)
        elif isinstance(value, (float, np.floating, np.integer, int)) and not isinstance(value, bool):
            value = round_value(value, key)
        out[key] = value
    return out


def sites_json(plan: Plan) -> list[dict[str, Any]]:
    """The top-level ``sites`` list: per site, power, capacity and compute per period."""
    if plan.data is None:
        return []
    out = []
    for site in plan.data.sites:
        rows = plan.sites[plan.sites["site"] == site.name] if len(plan.sites) else plan.sites
        out.append(
            {
                "name": site.name,
                "country": site.country,
                "periods": [
                    {
                        "period": r["period"],
                        "power_mw": round_value(r["power_mw"], "power_mw"),
                        "capacity_mw": None
                        if r["capacity_mw"] is None or pd.isna(r["capacity_mw"])
                        else round_value(r["capacity_mw"], "capacity_mw"),
                        "effective_pflops": round_value(r["effective_pflops"], "effective_pflops"),
                    }
                    for r in rows.to_dict("records")
                ],
            }
        )
    return out


def round_value(value: Any, key: str) -> Any:
    """Round money to cents and other quantities to 6 decimals; counts stay integers, text stays text."""
    if isinstance(value, str):
        return value
    if key in ("servers", "chips", "leased_chips") or key.endswith("_chips"):
        return int(value)
    digits = 2 if key.endswith("_usd") or key == "cash" else 6
    r = round(float(value), digits)
    return 0.0 if r == 0 else r


def empty_totals() -> dict[str, float]:
    """Totals of a plan without purchases, all zero."""
    return {
        "capex_usd": 0.0,
        "opex_usd": 0.0,
        "effective_pflops": 0.0,
        "memory_tb": 0.0,
        "chips": 0,
        "lease_usd": 0.0,
        "leased_chips": 0,
    }


def tabulate(
    data: ModelData, servers: IntArray
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], pd.DataFrame]:
    """Purchases, per-period figures, totals and per-site figures, recomputed exactly from whole servers."""
    o = data.offers
    servers = np.asarray(servers, dtype=np.int64)
    cps = o["chips_per_server"].to_numpy(np.int64)
    chips = servers * cps
    price = o["price"].to_numpy(np.float64)
    lease = (o["kind"] == "lease").to_numpy()
    term = o["term"].to_numpy(np.int64)
    cost = chips * price * np.where(lease, term, 1)
    d, t, end = o["d"].to_numpy(np.int64), o["t"].to_numpy(np.int64), o["end"].to_numpy(np.int64)
    stop = o["stop"].to_numpy(np.int64)
    start = parse_quarter(data.periods[0])
    bought = servers > 0
    purchases = pd.DataFrame(
        {
            "order_period": [data.periods[i] for i in t[bought]],
            "delivery_period": [data.periods[i] for i in d[bought]],
            **{
                k: o[k][bought].to_list()
                for k in ("sku", "vendor", "model", "category", "channel", "kind", "site", "country")
            },
            "compliance": o["status"][bought].to_list(),
            "license_rules": o["license_rules"][bought].to_list(),
            "servers": servers[bought],
            "chips": chips[bought],
            "unit_price_usd": price[bought],
            "cost_usd": cost[bought],
            "term_quarters": pd.array(  # a lease's term; a purchase has none (a nullable integer)
                [
                    int(v) if is_lease else None
                    for v, is_lease in zip(term[bought], lease[bought], strict=True)
                ],
                dtype="Int64",
            ),
            "end_period": [
                quarter_name(start + int(e)) if is_lease else None
                for e, is_lease in zip(end[bought], lease[bought], strict=True)
            ],
        },
        columns=PURCHASE_COLUMNS,
    )
    eff = chips * (o["q"] * o["eff_pflops"]).to_numpy(np.float64)
    mem = chips * (o["q"] * o["mem_tb"]).to_numpy(np.float64)
    pwr = chips * o["power_mw"].to_numpy(np.float64)
    site = o["site_index"].to_numpy(np.int64)
    pay = chips * price
    coef = Coefficients.of(data)
    rows, site_rows, cum, cum_budget, committed = [], [], 0.0, 0.0, 0.0
    opex_total = 0.0
    for p, name in enumerate(data.periods):
        serving = (d <= p) & (p <= stop)
        powered = coef.powered(p)
        eff_p = eff * data.option_factor(p)
        capex = float(cost[~lease & (t == p)].sum())
        lease_pay = float(pay[lease & (d <= p) & (p <= end)].sum())
        power = opex = 0.0
        for k, s in enumerate(data.sites):
            at = site == k
            site_power = data.fleet_sum("power_mw", k, p) + float(pwr[at & powered].sum())
            power += site_power
            opex += site_power * s.opex_per_mw()
            site_rows.append(
                {
                    "site": s.name,
                    "country": s.country,
                    "period": name,
                    "power_mw": site_power,
                    "capacity_mw": s.caps[p],
                    "effective_pflops": data.fleet_eff(p, (data.fleet["site_index"] == k).to_numpy())
                    + float(eff_p[at & serving].sum()),
                }
            )
        opex_total += opex
        cum += capex + lease_pay
        committed += float(cost[t == p].sum())  # purchases at their price, leases for their whole term
        if data.budget_per_period is not None:
            cum_budget += data.budget_per_period[p]
        owned = data.fleet_eff(p) + float(eff_p[~lease & serving].sum())
        leased = float(eff_p[lease & serving].sum())
        caps = [s.caps[p] for s in data.sites]
        rows.append(
            {
                "period": name,
                "capex_usd": capex,
                "lease_usd": lease_pay,
                "opex_usd": opex,
                "effective_pflops": owned + leased,
                "owned_pflops": owned,
                "leased_pflops": leased,
                "memory_tb": data.fleet_sum("mem_tb", None, p) + float(mem[serving].sum()),
                "power_mw": power,
                "cumulative_spend_usd": cum,
                "cumulative_committed_usd": committed,
                "cumulative_budget_usd": cum_budget
                if data.budget_per_period is not None
                else data.total_budget,
                "site_capacity_mw": sum(c for c in caps if c is not None)
                if all(c is not None for c in caps)
                else None,
            }
        )
    periods = pd.DataFrame(rows, columns=PERIOD_COLUMNS)
    totals = {
        "capex_usd": float(cost[~lease].sum()),
        "opex_usd": opex_total,
        "effective_pflops": float(periods["effective_pflops"].iloc[-1]),
        "memory_tb": float(periods["memory_tb"].iloc[-1]),
        "chips": int(chips[~lease].sum()),
        "lease_usd": float(cost[lease].sum()),
        "leased_chips": int(chips[lease].sum()),
    }
    if data.finance.present:
        periods, money = money_over_life(data, coef, servers, periods)
        totals |= money
    return purchases, periods, totals, pd.DataFrame(site_rows, columns=SITE_COLUMNS)


def money_over_life(
    data: ModelData, c: Coefficients, servers: IntArray, periods: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The section-6 figures of whole servers: cash, depreciation and retirements per period; discounted cost, residual value and the after-horizon tail.

    Every figure is the model's own coefficient (:class:`~planner.model.build.Coefficients`) at the plan's servers.
    """
    fin, n = data.finance, servers.astype(np.float64)
    cps = data.offers["chips_per_server"].to_numpy(np.int64)
    fleet = data.fleet
    periods = periods.copy()
    cash = [float(n @ c.pay_at(p)) for p in range(data.horizon)]
    periods["cash_usd"] = cash
    if fin.currency != "USD":
        periods["cash"] = [fx * v for fx, v in zip(fin.fx, cash, strict=True)]
    periods["depreciation_usd"] = [float(n @ c.depreciation_at(p)) for p in range(data.horizon)]
    periods["retired_chips"] = [
        int((servers * cps)[c.retiring_at(p)].sum())
        + int(fleet["chips"][(fleet["last"] == p - 1).to_numpy()].sum())
        for p in range(data.horizon)
    ]
    residual = float(n @ c.book_value()) if fin.residual else 0.0
    totals: dict[str, Any] = {
        "cost_usd": float(n @ c.cost(data)) + fleet_opex(data),
        "residual_value_usd": residual,
        "currency": fin.currency,
        "after_horizon_usd": float(n @ c.after_horizon()),
    }
    return periods, totals


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
    candidates = [
        row
        for row in model.rows
        if row.key.branch is None
        and row.key.family in LIMIT_FAMILIES
        and row.key not in model.slacks  # an elastic row under diagnosis is a shortfall, reported as one
        and (row.key.family == Family.SHARE or at_bound(model, row, x))
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


def at_bound(model: Model, row: Row, x: FloatArray) -> bool:
    """The plan keeps the row with less room than :data:`BOUND_SHARE` of its bound, or than any one server an option could still move in its direction.

    For ``<=``: the smallest entry of a column with room to grow (below its upper bound), or to
    shrink for a negative entry; for ``>=`` the other way round. A row whose options are all held
    by their own bounds is not what holds the plan; a row the plan breaks (a target it misses,
    under diagnosis) is a shortfall, not a bound it sits on. Equalities always bind.
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
    lower, upper = np.asarray(model.col_lower)[idx], np.asarray(model.col_upper)[idx]
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
    from planner.model.solve import SolverOptions

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
    late = ex[ex["reason"].str.startswith("lead time")]
    if len(late):
        out.append(
            f"lead times: {len(late.drop_duplicates('offer_id'))} offer(s) would be delivered after "
            f"{data.periods[-1]} ({', '.join(sorted(set(late['sku']))[:6])})"
        )
    comp = ex[ex["reason"].str.startswith("compliance")]
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
    pol = ex[ex["reason"].str.startswith("policy")]
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
