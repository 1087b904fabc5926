"""A solved plan as DataFrames (unit-suffixed columns) and as the contract's JSON (section 4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.errors import PlannerError
from planner.inputs.tables import records
from planner.inputs.units import parse_quarter, quarter_name
from planner.model.build import WORKLOAD_MEASURES, Coefficients, fleet_opex, workload_form
from planner.model.choices import Solver
from planner.model.data import ModelData
from planner.model.linear import FloatArray
from planner.model.rows import Part
from planner.model.runs import PLAN_STATUSES

if TYPE_CHECKING:
    from planner.analyses.risk_results import SampleAverage
    from planner.plans.diagnose import Diagnosis
    from planner.plans.robust import RobustInfo

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

    def fill(self, part: Part, x: FloatArray) -> None:
        """Put the split and the clusters back into ``x``, a solution vector of ``part``'s model (rebuilt from the plan's data)."""
        w, names = part.workloads, part.data.periods
        split = {(r["period"], r["place"], r["sku"]): r for r in records(self.split)}
        for r in records(w.split):
            got = split.get((names[int(r["p"])], r["place"], r["sku"]))
            for col, key in ((int(r["tr"]), "training_chips"), (int(r["inf"]), "inference_chips")):
                if col >= 0:
                    x[col] = float(got[key]) if got is not None else 0.0
        clusters = {
            (r["period"], r["place"], r["family"]): int(r["clusters"]) for r in records(self.clusters)
        }
        for r in records(w.clusters):
            x[int(r["y"])] = clusters.get((names[int(r["p"])], r["place"], r["family"]), 0)

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
    solver: str = Solver.HIGHS
    mip_gap: float = 1e-4
    seconds: float = 0.0
    message: str = ""
    diagnosis: Diagnosis | None = None
    limits: list[str] = field(default_factory=list)
    servers: IntArray | None = None  # whole servers per usable option (data.offers order)
    inputs: dict[str, str] = field(default_factory=dict)  # input file -> sha256
    robust: RobustInfo | None = None  # a robust plan's shocks, price and branches (JSON key "robust")
    sample_average: SampleAverage | None = None  # how a sample-average plan was made and how it did
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
            coef = Coefficients.of(data)
            # effective PFLOPS per option (rows) and quarter (columns), where the option serves
            served = np.stack([data.option_factor(p) * coef.serving(p) for p in range(data.horizon)], axis=1)
            values = data.option_values(key)
            for i in np.flatnonzero(chips):
                group = "leased" if values[i] is None else str(values[i])
                add(group, eff[i] * served[i])
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
            coef = Coefficients.of(data)
            # a lease is paid in each quarter of its term, a purchase in its order quarter
            when = np.stack(
                [coef.paying(p) | (~coef.lease & (coef.t == p)) for p in range(data.horizon)], axis=1
            )
            values = data.option_values(key)
            for i in np.flatnonzero(pay):
                group = "leased" if values[i] is None else str(values[i])
                columns[group] = columns.get(group, np.zeros(data.horizon)) + pay[i] * when[i]
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
        return self.status in PLAN_STATUSES

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
            out["diagnosis"] = self.diagnosis.to_json()
        if self.notes and self.ok:
            out["notes"] = self.notes  # an addition: policies that allow only an empty plan
        if self.message:
            out["message"] = self.message
        if self.robust is not None:
            out["robust"] = self.robust.to_json()
        if self.sample_average is not None:
            out |= self.sample_average.to_json()
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


def rounded(value: Any, key: str = "") -> Any:
    """A result rounded as the plan JSON is: money to cents, other figures to 6 decimals, all the way down."""
    if isinstance(value, dict):
        return {k: rounded(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, key) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return round_value(value, key if key.endswith("_usd") else "x")
    if isinstance(value, np.integer):
        return int(value)
    return value


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
        serving = coef.serving(p)
        powered = coef.powered(p)
        eff_p = eff * data.option_factor(p)
        capex = float(cost[~lease & (t == p)].sum())
        lease_pay = float(pay[coef.paying(p)].sum())
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
