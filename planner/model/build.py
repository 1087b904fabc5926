"""The MILP, built as a recipe: columns, then one ``define_*`` per constraint family.

Notation (contract, section 3): ``n_o`` whole servers bought in option ``o``,
``x_o = chips_per_server * n_o`` chips, ``d(o)`` the delivery period, ``t(o)`` the order
period. Every row is registered under a :class:`~planner.model.keys.RowKey`; callers find
rows with :meth:`Model.row` and never see solver names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner.inputs.tables import records
from planner.model.data import CHANNEL_GROUPS, FinanceData, ModelData
from planner.model.keys import Family, Relax, RowKey
from planner.model.linear import FloatArray, IntArray, Lin
from planner.model.rows import EQ, GE, LE, Model, Part, PerPeriod

# ------------------------------------------------------------------ the recipe


def build(data: ModelData, relax: frozenset[Relax] = frozenset()) -> Model:
    """The model of one scenario.

    ``relax`` (:class:`~planner.model.keys.Relax`) names families to make elastic or to drop, for
    the diagnosis of infeasible scenarios.
    """
    model = Model()
    add_scenario(model, data, relax)
    return model


def add_scenario(
    model: Model, data: ModelData, relax: frozenset[Relax] = frozenset(), branch: str | None = None
) -> Part:
    """Add one scenario's columns and rows to ``model`` (under ``branch`` in a robust plan)."""
    part = define_columns(model, data, branch)
    define_supply(model, part)
    define_budget(model, part)
    define_workloads(model, part)
    if Relax.DROP_TARGETS not in relax:
        define_targets(model, part, elastic=Relax.TARGETS in relax)
        define_workload_targets(model, part, elastic=Relax.TARGETS in relax)
    define_power(model, part, elastic=Relax.POWER in relax)
    define_shares(model, part, elastic=Relax.SHARES in relax)
    model.parts.append(part)
    return part


@dataclass(frozen=True)
class Coefficients:
    """Per-option coefficients of one server (arrays in the options' order).

    Every figure a plan reports per option and quarter (compute, memory, power, payments,
    depreciation, cost) is made here, for the model's rows and for the reported figures alike.
    """

    eff: FloatArray  # q * eff * chips per server (PFLOPS once in service)
    mem: FloatArray  # q * memory (TB)
    pwr: FloatArray  # MW at the option's site (0 for a lease)
    price: FloatArray  # capex of a purchase, or one quarter's payment of a lease
    commitment: FloatArray  # a purchase's price, a lease's price x term
    d: IntArray  # delivery period / a lease's first quarter of service
    end: IntArray  # a lease's last quarter of service; a purchase's last before it retires
    stop: IntArray  # last quarter with capacity (``end`` unless a shock cut a lease)
    t: IntArray
    lease: npt.NDArray[np.bool_]
    site: IntArray
    fin: FinanceData
    horizon: int

    def eff_at(self, data: ModelData, p: int) -> FloatArray:
        """``eff`` in period ``p`` (an efficiency shock scales it from its first period on)."""
        return self.eff * data.option_factor(p)

    def serving(self, p: int) -> npt.NDArray[np.bool_]:
        """Options delivering (or serving) capacity in period ``p``."""
        return (self.d <= p) & (p <= self.stop)

    def powered(self, p: int) -> npt.NDArray[np.bool_]:
        """Purchases drawing site power in period ``p``: every ordered chip from delivery to retirement."""
        return ~self.lease & (self.d <= p) & (p <= self.end)

    def paying(self, p: int) -> npt.NDArray[np.bool_]:
        """Leases paid for in period ``p`` (every quarter of the term, served or cut)."""
        return self.lease & (self.d <= p) & (p <= self.end)

    def unserved_quarters(self) -> IntArray:
        """Quarters of its term a lease is paid for but serves nothing (a shock cut it after ``stop``); 0 for a purchase."""
        unserved: IntArray = np.where(self.lease, self.end - self.stop, 0)
        return unserved

    def pay_at(self, p: int) -> FloatArray:
        """USD paid in quarter ``p`` (past the horizon too): a purchase's deposit when ordered and its balance on delivery, a lease's price in each quarter of its term."""
        dep = self.fin.deposit
        bought = self.price * (dep * (self.t == p) + (1.0 - dep) * (self.d == p))
        return np.where(self.lease, self.price * self.paying(p), bought)

    def _weights(self, of: Callable[[IntArray], FloatArray]) -> FloatArray:
        """``of`` over every quarter a payment can fall in, from the first period on."""
        last = int(self.end[self.lease].max()) if self.lease.any() else 0
        return of(np.arange(max(self.horizon, last + 1) + 1, dtype=np.int64))

    def _paid(self, weights: FloatArray, through: int | None = None) -> FloatArray:
        """``sum_p weights[p] * pay_at(p)`` per option, over the quarters up to ``through`` (all when None)."""
        dep, w = self.fin.deposit, weights
        t_in = np.ones(len(self.t), dtype=bool) if through is None else self.t <= through
        d_in = np.ones(len(self.d), dtype=bool) if through is None else self.d <= through
        bought = self.price * (dep * w[self.t] * t_in + (1.0 - dep) * w[self.d] * d_in)
        last = self.end if through is None else np.minimum(self.end, through)
        return np.where(self.lease, self.price * self.fin.window_sum(w, self.d, last), bought)

    def budget_paid(self, through: int | None = None) -> FloatArray:
        """Payments in the budget currency (``fx_p * pay_p`` summed) up to quarter ``through``, or over every quarter (the commitment the total budget counts)."""
        return self._paid(self._weights(self.fin.fx_at), through)

    def discounted_pay(self) -> FloatArray:
        """``sum_p delta_p * pay_p`` per option (payments past the horizon included)."""
        return self._paid(self._weights(self.fin.discount))

    def after_horizon(self) -> FloatArray:
        """USD paid after the last period (lease payments past the horizon)."""
        past = np.maximum(self.d, self.horizon)
        return np.where(self.lease, self.price * np.clip(self.end - past + 1, 0, None), 0.0)

    def depreciation_at(self, p: int) -> FloatArray:
        """Straight-line depreciation of a purchase in quarter ``p``: ``price / (4B)`` in ``d .. d + 4B - 1``."""
        book = self.fin.book_quarters
        return np.where(~self.lease & (self.d <= p) & (p < self.d + book), self.price / book, 0.0)

    def book_value(self) -> FloatArray:
        """A purchase's book value after the last period: ``price * max(0, 1 - (T - d + 1) / (4B))``."""
        left = np.clip(1.0 - (self.horizon - self.d) / self.fin.book_quarters, 0.0, None)
        return np.where(self.lease, 0.0, self.price * left)

    def residual_credit(self) -> FloatArray:
        """The residual value credited to the cost: the book value after ``T`` discounted by ``delta_{T+1}`` (0 with ``residual: none``)."""
        if not self.fin.residual:
            return np.zeros(len(self.price))
        return self.book_value() * self.fin.discount(self.horizon)

    def opex(self, data: ModelData) -> FloatArray:
        """Discounted electricity of a purchase over its powered quarters in the horizon."""
        delta = self.fin.discount(np.arange(self.horizon, dtype=np.int64))
        out = np.zeros(len(self.price))
        for k, site in enumerate(data.sites):
            at = self.site == k
            last = np.minimum(self.end[at], self.horizon - 1)
            out[at] = self.pwr[at] * self.fin.window_sum(delta, self.d[at], last) * site.opex_per_mw()
        return out

    def cost(self, data: ModelData) -> FloatArray:
        """The contract's cost per server: discounted payments and electricity less the residual credit."""
        return self.discounted_pay() + self.opex(data) - self.residual_credit()

    def retiring_at(self, p: int) -> npt.NDArray[np.bool_]:
        """Purchases that leave service at the start of period ``p``."""
        out: npt.NDArray[np.bool_] = ~self.lease & (self.end == p - 1)
        return out

    @staticmethod
    def of(data: ModelData) -> Coefficients:
        """Per-option coefficient arrays derived from the model data."""
        o = data.offers
        cps = o["chips_per_server"].to_numpy(np.float64)
        lease = (o["kind"] == "lease").to_numpy()
        price = o["server_price"].to_numpy(np.float64)
        return Coefficients(
            eff=(o["q"] * o["eff_pflops"]).to_numpy(np.float64) * cps,
            mem=(o["q"] * o["mem_tb"]).to_numpy(np.float64) * cps,
            pwr=o["power_mw"].to_numpy(np.float64) * cps,
            price=price,
            commitment=np.where(lease, price * o["term"].to_numpy(np.float64), price),
            d=o["d"].to_numpy(np.int64),
            end=o["end"].to_numpy(np.int64),
            stop=o["stop"].to_numpy(np.int64),
            t=o["t"].to_numpy(np.int64),
            lease=lease,
            site=o["site_index"].to_numpy(np.int64),
            fin=data.finance,
            horizon=data.horizon,
        )


def fleet_opex(data: ModelData) -> float:
    """Discounted electricity of the fleet over the horizon (a constant of the cost)."""
    delta = data.finance.discount(np.arange(data.horizon, dtype=np.int64))
    return sum(
        float(delta[p]) * data.fleet_sum("power_mw", k, p) * site.opex_per_mw()
        for k, site in enumerate(data.sites)
        for p in range(data.horizon)
    )


def define_columns(model: Model, data: ModelData, branch: str | None = None) -> Part:
    """Columns ``n_o`` (integer, ``0 <= n_o <= max_servers_o``, fixed where committed) and the forms rows use.

    ``E_p = fleet + sum_{purchases: d<=p} q eff x + sum_{leases: d<=p<=end} q eff x``; ``M_p`` alike;
    ``P_kp = fleet at k + sum_{purchases at k: d<=p} power_w pue_k/1e6 x`` (every ordered chip);
    ``C_t = sum_{purchases ordered in t} price x``; ``L_p = sum_{leases serving p} price x``;
    cost = ``sum_t C_t + L + sum_k sum_p P_kp * 1000 * 2190 * $/kWh_k``.
    """
    o = data.offers
    prefix = f"{branch}_" if branch else ""
    upper = o["max_servers"].to_numpy(np.float64)
    fixed = data.fixed if data.fixed is not None else np.full(len(o), np.nan)
    lower = np.where(np.isnan(fixed), 0.0, fixed)
    upper = np.where(np.isnan(fixed), upper, fixed)
    cols = model.add_columns(
        [f"{prefix}n_{i:06d}" for i in range(len(o))], lower.tolist(), upper.tolist(), integer=True
    )
    c = Coefficients.of(data)
    horizon = data.horizon

    def power(k: int) -> PerPeriod:
        return PerPeriod(
            horizon,
            lambda p: Lin.of(cols, c.pwr, (c.site == k) & c.powered(p), data.fleet_sum("power_mw", k, p)),
        )

    return Part(
        data,
        cols,
        branch,
        compute=PerPeriod(
            horizon, lambda p: Lin.of(cols, c.eff_at(data, p), c.serving(p), data.fleet_eff(p))
        ),
        memory=PerPeriod(
            horizon, lambda p: Lin.of(cols, c.mem, c.serving(p), data.fleet_sum("mem_tb", None, p))
        ),
        power=[power(k) for k in range(len(data.sites))],
        commitment=Lin.of(cols, c.commitment),
        budget_commitment=Lin.of(cols, c.budget_paid()),
        cost=Lin.of(cols, c.cost(data), None, fleet_opex(data)),
    )


def define_supply(model: Model, part: Part) -> None:
    """A purchase offer shared by several sites: ``sum_k n_ok <= max_servers_o`` (a single option's supply is its column's upper bound)."""
    o = part.data.offers
    if not len(o):
        return
    ids = o["offer_id"].to_numpy(np.int64)
    counts = np.bincount(ids)[ids]
    shared = np.flatnonzero((o["kind"] == "buy").to_numpy() & (counts > 1))
    if not len(shared):
        return
    # the options of each shared offer, offers in id order (arrays, not a pandas groupby: thousands of groups)
    order = shared[np.argsort(ids[shared], kind="stable")]
    starts = np.flatnonzero(np.r_[True, np.diff(ids[order]) != 0])
    ends = np.r_[starts[1:], len(order)]
    sku, channel, period = (o[c].to_numpy(dtype=object) for c in ("sku", "channel", "period"))
    max_servers, max_units = o["max_servers"].to_numpy(np.float64), o["max_units"].to_numpy(np.int64)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        rows = order[a:b]
        first = int(rows[0])
        model.add(
            RowKey(Family.SUPPLY, item=int(ids[first]), branch=part.branch),
            Lin.of(part.cols[rows], np.ones(len(rows))),
            LE,
            float(max_servers[first]),
            f"{sku[first]} via {channel[first]} in {period[first]}: {int(max_units[first]):,} chips offered to all sites",
        )


def define_budget(model: Model, part: Part) -> None:
    """``sum_t C_t + L <= total`` (leases count their whole commitment); with per-period budgets, ``sum_{t'<=t} (C_t' + L_t') <= sum_{t'<=t} budget_t'`` under carry-over, else ``C_t + L_t <= budget_t``."""
    data = part.data
    c = Coefficients.of(data)
    fx = data.finance.fx
    if data.total_budget is not None:
        model.add(
            RowKey(Family.BUDGET_TOTAL, branch=part.branch),
            part.budget_commitment,
            LE,
            data.total_budget,
            "total capex and lease commitments <= total budget",
        )
    if data.budget_per_period is None:
        return
    for p, name in enumerate(data.periods):
        if data.scenario.budget.carry_over:
            model.add(
                RowKey(Family.BUDGET_CUMULATIVE, period=name, branch=part.branch),
                Lin.of(part.cols, c.budget_paid(p)),
                LE,
                sum(data.budget_per_period[: p + 1]),
                f"capex and lease payments through {name} <= cumulative budget",
            )
        else:
            model.add(
                RowKey(Family.BUDGET_PERIOD, period=name, branch=part.branch),
                Lin.of(part.cols, fx[p] * c.pay_at(p)),
                LE,
                data.budget_per_period[p],
                f"capex and lease payments in {name} <= budget of {name}",
            )


def budget_bounds(data: ModelData) -> dict[RowKey, float]:
    """Right-hand sides of the budget rows :func:`define_budget` makes for ``data`` (for re-solves of a live model at another budget)."""
    out: dict[RowKey, float] = {}
    if data.total_budget is not None:
        out[RowKey(Family.BUDGET_TOTAL)] = data.total_budget
    if data.budget_per_period is not None:
        for p, name in enumerate(data.periods):
            if data.scenario.budget.carry_over:
                out[RowKey(Family.BUDGET_CUMULATIVE, period=name)] = sum(data.budget_per_period[: p + 1])
            else:
                out[RowKey(Family.BUDGET_PERIOD, period=name)] = data.budget_per_period[p]
    return out


def define_targets(model: Model, part: Part, elastic: bool = False) -> None:
    """``E_p >= pflops_p`` and ``M_p >= memory_tb_p``; elastic slacks weigh ``1/target``."""
    data = part.data
    for p, name in enumerate(data.periods):
        target = data.scenario.targets.get(name)
        if target is None:
            continue
        for measure, value, forms in (
            ("pflops", target.pflops, part.compute),
            ("memory_tb", target.memory_tb, part.memory),
        ):
            if value is None:
                continue
            model.add(
                RowKey(Family.TARGET, period=name, measure=measure, branch=part.branch),
                forms[p],
                GE,
                value,
                f"{measure} in {name} >= {value:g}",
                elastic=elastic and value > 0,
                weight=1.0 / value if value > 0 else 0.0,
            )


@dataclass(frozen=True)
class SplitRow:
    """One place and SKU split in one quarter: its training and inference columns (-1: none)."""

    p: int
    place: str
    sku: str
    family: str
    tr: int
    inf: int


def define_workloads(model: Model, part: Part) -> None:
    """The split of chips in service in each quarter with a workload target (contract v3, section 7).

    With ``A_lsp`` the effective chips of SKU ``s`` in service at place ``l`` in ``p`` (``q x``
    over purchases and leases serving ``p``, fleet chips at ``q = 1``): continuous
    ``tr_lsp, in_lsp >= 0`` with ``tr_lsp + in_lsp <= A_lsp``, each only for a workload the chip
    serves and the quarter has a target for. With ``cluster_chips = N``:
    ``sum_{s in f} tr_lsp = N y_lfp`` for each place and family, ``y_lfp`` integer ``>= 0``.
    """
    data = part.data
    targets = data.scenario.targets
    quarters = [
        (p, t) for p, n in enumerate(data.periods) if (t := targets.get(n)) is not None and t.has_workloads
    ]
    if not quarters:
        return
    o, f = data.offers, data.fleet
    c = Coefficients.of(data)
    per_server = (o["q"] * o["chips_per_server"]).to_numpy(np.float64)
    max_servers = o["max_servers"].to_numpy(np.float64)
    chips = {str(r["sku"]): r for r in records(data.catalog.chips)}
    prefix = f"{part.branch}_" if part.branch else ""
    splits: list[SplitRow] = []
    cluster_rows: list[dict[str, object]] = []
    o_place, o_sku = o["place"].to_numpy(dtype=object), o["sku"].to_numpy(dtype=object)
    f_place, f_sku = f["place"].to_numpy(dtype=object), f["sku"].to_numpy(dtype=object)
    f_chips = f["chips"].to_numpy(np.float64)
    for p, target in quarters:
        name = data.periods[p]
        serving, fleet_on = c.serving(p), data.fleet_serving(p)
        pairs = sorted(
            {(str(a), str(b)) for a, b, on in zip(o_place, o_sku, serving, strict=True) if on}
            | {(str(a), str(b)) for a, b, on in zip(f_place, f_sku, fleet_on, strict=True) if on}
        )
        here_splits: list[SplitRow] = []
        bounds: dict[tuple[str, str], float] = {}  # most effective chips of a family at a place
        for place, sku in pairs:
            serves = str(chips[sku]["workloads"]).split()
            wants = (
                "training" in serves and target.training is not None,
                "inference" in serves and target.inference is not None,
            )
            if not any(wants):
                continue
            names = [n for n, w in zip((f"{prefix}tr", f"{prefix}in"), wants, strict=True) if w]
            here = (o_place == place) & (o_sku == sku) & serving
            fleet_chips = float(f_chips[(f_place == place) & (f_sku == sku) & fleet_on].sum())
            most = fleet_chips + float((per_server * max_servers)[here].sum())  # A_lsp at most: a bound
            cols = model.add_columns(
                [f"{n}_{p}_{len(splits) + len(here_splits):06d}" for n in names],
                [0.0] * len(names),
                [most] * len(names),
                False,
            )
            model.add(
                RowKey(Family.WORKLOAD_SPLIT, period=name, site=place, group=sku, branch=part.branch),
                Lin.of(cols, np.ones(len(cols))) + Lin.of(part.cols, -per_server, here),
                LE,
                fleet_chips,
                f"training and inference chips of {sku} at {place} in {name} <= chips in service",
            )
            family = str(chips[sku]["cluster_family"])
            here_splits.append(
                SplitRow(
                    p, place, sku, family, int(cols[0]) if wants[0] else -1, int(cols[-1]) if wants[1] else -1
                )
            )
            bounds[(place, family)] = bounds.get((place, family), 0.0) + most
        size = target.training.cluster_chips if target.training is not None else None
        floors = {(q, place, family): n for q, place, family, n in data.cluster_floor}
        if size is not None:
            for place, family in sorted({(r.place, r.family) for r in here_splits if r.tr >= 0}):
                members = [r.tr for r in here_splits if r.place == place and r.family == family and r.tr >= 0]
                most_y = math.floor(bounds[(place, family)] / size + 1e-9)
                least = floors.get((p, place, family), 0)
                y = int(
                    model.add_columns(
                        [f"{prefix}y_{p}_{len(cluster_rows):06d}"],
                        [float(least)],
                        [float(max(most_y, least))],  # more than most_y: no plan, as the split's bounds say
                        True,
                    )[0]
                )
                model.add(
                    RowKey(Family.CLUSTER, period=name, site=place, group=family, branch=part.branch),
                    Lin(
                        np.array(members + [y], dtype=np.int64),
                        np.array([1.0] * len(members) + [-float(size)]),
                    ),
                    EQ,
                    0.0,
                    f"training chips of family {family} at {place} in {name} in whole clusters of {size:,}",
                )
                cluster_rows.append({"p": p, "place": place, "family": family, "y": y, "size": int(size)})
        part.workloads.training[p] = _form(
            [(r.tr, float(chips[r.sku]["eff_pflops"])) for r in here_splits if r.tr >= 0]
        )
        part.workloads.bandwidth[p] = _form(
            [(r.inf, float(chips[r.sku]["memory_bw_tbps"])) for r in here_splits if r.inf >= 0]
        )
        part.workloads.memory[p] = _form(
            [(r.inf, float(chips[r.sku]["memory_gb"]) / 1000.0) for r in here_splits if r.inf >= 0]
        )
        splits.extend(here_splits)
    part.workloads.split = pd.DataFrame(
        [vars(r) for r in splits], columns=["p", "place", "sku", "family", "tr", "inf"]
    )
    part.workloads.clusters = pd.DataFrame(cluster_rows, columns=["p", "place", "family", "y", "size"])


def _form(terms: list[tuple[int, float]]) -> Lin:
    """``sum coef x_col`` over ``(col, coef)`` pairs (columns added in increasing order)."""
    if not terms:
        return Lin.zero()
    return Lin.of(np.array([t[0] for t in terms], dtype=np.int64), np.array([t[1] for t in terms]))


#: the workload target entries (contract v3, section 7): measure -> (target key, entry key)
WORKLOAD_MEASURES = {
    "training_pflops": ("training", "pflops"),
    "inference_memory_bw_tbps": ("inference", "memory_bw_tbps"),
    "inference_memory_tb": ("inference", "memory_tb"),
}


def workload_form(part: Part, measure: str, p: int) -> Lin:
    """The form a workload target entry bounds: training PFLOPS, inference bandwidth or memory in quarter ``p``."""
    w = part.workloads
    forms = {
        "training_pflops": w.training,
        "inference_memory_bw_tbps": w.bandwidth,
        "inference_memory_tb": w.memory,
    }
    return forms[measure].get(p, Lin.zero())


def workload_targets(data: ModelData) -> Iterator[tuple[int, str, str, float]]:
    """``(quarter index, quarter, measure, value)`` for every workload target entry the scenario gives."""
    for p, name in enumerate(data.periods):
        target = data.scenario.targets.get(name)
        if target is None or not target.has_workloads:
            continue
        for measure, (group, key) in WORKLOAD_MEASURES.items():
            entry = getattr(target, group)
            value = getattr(entry, key) if entry is not None else None
            if value is not None:
                yield p, name, measure, float(value)


def define_workload_targets(model: Model, part: Part, elastic: bool = False) -> None:
    """``sum eff(s) tr_lsp >= training.pflops_p``, ``sum memory_bw_tbps(s) in_lsp >= inference.memory_bw_tbps_p``, ``sum memory_gb(s)/1000 in_lsp >= inference.memory_tb_p``; elastic slacks weigh ``1/target``."""
    for p, name, measure, value in workload_targets(part.data):
        model.add(
            RowKey(Family.TARGET, period=name, measure=measure, branch=part.branch),
            workload_form(part, measure, p),
            GE,
            value,
            f"{measure} in {name} >= {value:g}",
            elastic=elastic and value > 0,
            weight=1.0 / value if value > 0 else 0.0,
        )


def define_power(model: Model, part: Part, elastic: bool = False) -> None:
    """``P_kp <= capacity_mw_kp`` for every site with a cap in ``p``."""
    data = part.data
    for k, site in enumerate(data.sites):
        for p, name in enumerate(data.periods):
            cap = site.caps[p]
            if cap is not None:
                model.add(
                    RowKey(Family.POWER, period=name, site=site.name, branch=part.branch),
                    part.power[k][p],
                    LE,
                    cap,
                    f"power at {site.name} in {name} <= {cap:g} MW",
                    elastic=elastic,
                )


def group_values(data: ModelData, by: str) -> tuple[npt.NDArray[np.object_], pd.DataFrame]:
    """Each option's value of ``by`` (None where it has none: a lease's site) and the fleet's rows that can belong to a group (the fleet has no channel, channel risk or transit)."""
    values = data.option_values(by)
    fleet = data.fleet if by not in CHANNEL_GROUPS else data.fleet.iloc[0:0]
    return values, fleet


def share_scope(data: ModelData, k: int) -> tuple[npt.NDArray[np.bool_], pd.DataFrame]:
    """The options and fleet rows a share is measured over (all, or those its ``within`` selects)."""
    share = data.scenario.policy.shares[k]
    if share.within is None:
        return np.ones(len(data.offers), dtype=bool), data.fleet
    values, fleet = group_values(data, share.within.by)
    inside = np.array([v is not None and str(v) == share.within.value for v in values], dtype=bool)
    return inside, fleet[fleet[share.within.by].astype(str) == share.within.value]


def share_groups(data: ModelData) -> list[tuple[int, str]]:
    """``(share index, value)`` for each group a share constrains; ``*`` expands to the values present among the usable options and the fleet (in the share's scope)."""
    out: list[tuple[int, str]] = []
    for k, share in enumerate(data.scenario.policy.shares):
        if share.value == "*":
            values, fleet = group_values(data, share.by)
            inside, scoped_fleet = share_scope(data, k)
            fleet = fleet.loc[fleet.index.intersection(scoped_fleet.index)]
            present = {str(v) for v, i in zip(values, inside, strict=True) if v is not None and i}
            present |= {str(v) for v in fleet[share.by]}
            out.extend((k, v) for v in sorted(present))
        else:
            out.append((k, share.value))
    return out


@dataclass(frozen=True)
class _ShareScope:
    """One share's groups as arrays: each option's value of ``by`` as text (None where it has none) and whether the share measures it; the fleet's values, the rows it measures and those that can count for a group."""

    values: npt.NDArray[np.object_]
    inside: npt.NDArray[np.bool_]
    fleet_values: npt.NDArray[np.object_]
    fleet_inside: npt.NDArray[np.bool_]
    fleet_counted: npt.NDArray[np.bool_]

    @staticmethod
    def of(data: ModelData, k: int) -> _ShareScope:
        by = data.scenario.policy.shares[k].by
        values, fleet = group_values(data, by)
        inside, scoped_fleet = share_scope(data, k)
        fleet_inside = data.fleet.index.isin(scoped_fleet.index)
        return _ShareScope(
            np.array([None if v is None else str(v) for v in values], dtype=object),
            inside,
            data.fleet[by].astype(str).to_numpy(dtype=object),
            fleet_inside,
            fleet_inside & data.fleet.index.isin(fleet.index),
        )


def define_shares(model: Model, part: Part, elastic: bool = False) -> None:
    """At the last period T: ``measure_g >= min * measure_all`` and ``measure_g <= max * measure_all``; compute is ``E_T`` (fleet included), spend is ``sum_t C_t + L`` (leases at their commitment)."""
    data = part.data
    c = Coefficients.of(data)
    last = data.horizon - 1
    eff = c.eff_at(data, last) * c.serving(last)
    scopes: dict[int, _ShareScope] = {}
    for k, value in share_groups(data):
        share = data.scenario.policy.shares[k]
        if k not in scopes:
            scopes[k] = _ShareScope.of(data, k)
        scope = scopes[k]
        member = (scope.values == value) & scope.inside
        if share.measure == "compute":
            coef = eff * scope.inside
            total_const = data.fleet_eff(last, scope.fleet_inside)
            group_const = data.fleet_eff(last, scope.fleet_counted & (scope.fleet_values == value))
        else:
            coef, total_const, group_const = c.commitment * scope.inside, 0.0, 0.0
        for bound, sense, frac in (("min", GE, share.min), ("max", LE, share.max)):
            if frac is None:
                continue
            # measure_g - frac * measure_all (sense) 0
            lin = Lin.of(part.cols, coef * member - frac * coef, None, group_const - frac * total_const)
            within = f" within {share.within.by} {share.within.value}" if share.within is not None else ""
            desc = f"{share.measure} share of {share.by} {value}{within} {'>=' if sense == GE else '<='} {frac:g}"
            model.add(
                RowKey(Family.SHARE, share=k, group=value, bound=bound, branch=part.branch),
                lin,
                sense,
                0.0,
                desc,
                elastic=elastic,
            )


# ------------------------------------------------------------------ robust plans


def define_nonanticipativity(model: Model, base: Part, branch: Part, first: int) -> None:
    """Orders placed before a shock (``t(o) < first``) are the same in the shock's branch and in the base branch: ``n_o^branch - n_o^base = 0`` (``n_o^branch = 0`` for an option the base lacks)."""
    keys = ["offer_id", "site_index"]
    base_index = {k: i for i, k in enumerate(base.data.offers[keys].itertuples(index=False, name=None))}
    o = branch.data.offers
    t = o["t"].to_numpy(np.int64)
    for i, key in enumerate(o[keys].itertuples(index=False, name=None)):
        if t[i] >= first:
            continue
        j = base_index.get(key)
        cols = np.array([branch.cols[i]] + ([base.cols[j]] if j is not None else []), dtype=np.int64)
        coef = np.array([1.0] + ([-1.0] if j is not None else []))
        order = np.argsort(cols)
        model.add(
            RowKey(Family.NONANTICIPATIVITY, branch=branch.branch, item=i),
            Lin(cols[order], coef[order]),
            EQ,
            0.0,
            f"order {o['sku'].iat[i]} via {o['channel'].iat[i]} placed before the shock: "
            "the same as in the base branch",
        )


def define_branch_budget_cut(model: Model, part: Part, fraction: float, first: int, total: float) -> None:
    """A budget cut of ``fraction`` from quarter ``first``: ``spend - fraction * committed <= total * (1 - fraction)``, i.e.

    the unspent part of the total budget cut by ``fraction`` (committed: purchases ordered and leases signed
    before ``first``).
    """
    c = Coefficients.of(part.data)
    early = c.t < first
    paid = c.budget_paid()  # in the budget currency: the commitment in USD
    model.add(
        RowKey(Family.BRANCH_BUDGET, branch=part.branch),
        Lin.of(part.cols, paid - fraction * paid * early),
        LE,
        total * (1 - fraction),
        f"spend after a {fraction:.0%} cut of the unspent budget",
    )
