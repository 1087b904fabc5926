"""Terminal reports (rich), laid out for the console's width; formatting only.

Every table is built from finished tables (:mod:`planner.outputs.report` and the results of explain,
stress, compare and sweep). A table too wide for the console is split into parts stacked one
under the other, each repeating the columns that name a row; nothing is dropped. Plain-language
lines wrap with a hanging indent. Text
from input files is never read as markup, and control characters are shown as escapes.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from planner.errors import one_line
from planner.inputs.units import format_money

if TYPE_CHECKING:
    from planner.analyses.risk_results import SampleAverage
    from planner.plans.diagnose import Diagnosis
    from planner.plans.robust import PriceOfRobustness, RobustInfo


class TrimmedConsole(Console):
    """A console that writes no trailing spaces (rich pads each table line to the table's width)."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        text = super()._render_buffer(buffer)
        return "\n".join(line.rstrip(" ") for line in text.split("\n"))


def console(stderr: bool = False) -> Console:
    """A console as wide as the terminal (or ``COLUMNS``; 100 when neither says), without trailing spaces."""
    width = None
    if "COLUMNS" not in os.environ and not Console(stderr=stderr).is_terminal:
        width = 100
    return TrimmedConsole(width=width, stderr=stderr, highlight=False, markup=False, emoji=False)


def safe(value: object) -> str:
    """Input text as it should be shown: one line, control characters escaped."""
    return one_line(str(value))


def num(x: float | None, digits: int = 1) -> str:
    """A number with thousands separators, or a dash when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def money(x: float | None) -> str:
    """Dollars in the largest readable unit ($7.00B, $350M, $12K), or a dash when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format_money(x)


def signed_money(x: float | None, gain: str = "saves", loss: str = "costs") -> str:
    """Money with a sign in words: "costs $1.39B more" / "saves $1.39B"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) < 0.005:
        return "no change"
    return f"{loss} {format_money(x)} more" if x > 0 else f"{gain} {format_money(-x)}"


@dataclass(frozen=True)
class Col:
    """A column: header, alignment, and whether it names the row (``key``: repeated in every part)."""

    header: str
    right: bool = False
    key: bool = False


def table(con: Console, title: str, cols: Sequence[Col], rows: Iterable[Sequence[object]]) -> Group:
    """The table, whole when it fits ``con.width``, else split into parts that each fit, stacked.

    Nothing is dropped: each part repeats the columns that name a row (``key``; the first column
    when none is marked) and takes as many of the others, in order, as fit. Key cells never wrap, so
    a SKU is not broken mid-word; keys that would take more than half the width (sentences, such as
    explain's limits) wrap at spaces within that half instead.
    """
    cells = [[safe(v) for v in r] for r in rows]
    # a column takes its widest cell, a space of padding each side and a separator; the edges
    # have no padding: a table is sum(widths) + 3 * columns - 1 characters wide
    width = [max([len(c.header), *(len(r[j]) for r in cells)]) + 3 for j, c in enumerate(cols)]
    keys = [j for j, c in enumerate(cols) if c.key] or [0]
    long_keys = sum(width[k] for k in keys) > con.width // 2 and len(cols) > len(keys)
    if long_keys:
        share = max(12, con.width // 2 // len(keys))
        width = [min(w, share) if j in keys else w for j, w in enumerate(width)]
    parts = [list(range(len(cols)))]
    if sum(width) - 1 > con.width and len(cols) > len(keys):
        room = con.width + 1 - sum(width[k] for k in keys)
        parts, used = [[]], 0
        for j in (j for j in range(len(cols)) if j not in keys):
            if parts[-1] and used + width[j] > room:
                parts.append([])
                used = 0
            parts[-1].append(j)
            used += width[j]
        parts = [sorted(keys + part) for part in parts]
    tables = []
    for i, part in enumerate(parts):
        label = title if i == 0 else "(continued)"
        t = Table(
            title=Text(safe(label), style="bold"),
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            expand=False,
        )
        for j in part:
            key = j in keys
            t.add_column(
                Text(cols[j].header),
                justify="right" if cols[j].right else "left",
                overflow="fold",
                no_wrap=key and not long_keys,
                min_width=width[j] - 3 if key else None,
                max_width=width[j] - 3 if key and long_keys else None,
            )
        for r in cells:
            t.add_row(*[Text(r[j]) for j in part])
        tables.append(t)
    return Group(*tables)


def say(con: Console, text: str, style: str = "") -> None:
    """A paragraph, wrapped to the console."""
    con.print(Text(safe(text), style=style))


def bullets(con: Console, lines: Iterable[str], indent: int = 2) -> None:
    """Bullets wrapped to the console with a hanging indent."""
    width = max(con.width, 20)
    for line in lines:
        wrapped = textwrap.fill(
            safe(line),
            width=width,
            initial_indent=" " * indent + "- ",
            subsequent_indent=" " * (indent + 2),
            break_long_words=True,
            break_on_hyphens=False,
        )
        con.print(Text(wrapped), soft_wrap=True)


def heading(con: Console, text: str) -> None:
    """Print a bold heading line (control characters shown escaped)."""
    con.print(Text(safe(text), style="bold"))


# ------------------------------------------------------------------ plans


def plan_report(plan: Any, con: Console) -> None:
    """Scenario, status, totals, quarters, sites, schedule, licences, leases past the horizon, compliance exclusions and notes, limits or diagnosis."""
    from planner.outputs.report import plan_report as build

    rep = build(plan)
    say(
        con,
        f"Scenario {plan.scenario}   objective {plan.objective}   status {plan.status}   "
        f"(solver {plan.solver}, gap {plan.mip_gap:g}, {plan.seconds:.2f} s)",
        "bold",
    )
    if plan.message:
        say(con, plan.message, "yellow")
    if plan.ok:
        _totals(con, rep)
        _quarters(con, rep)
        if len(rep.sites["site"].unique()) > 1 or rep.figures.leased_pflops > 0:
            _sites(con, rep)
        _schedule(con, rep)
        _workloads(con, rep)
        _cash_flow(con, rep)
        _licences(con, rep)
        _lease_tail(con, rep)
        _channels(con, rep)
    _exclusions(con, rep)
    if rep.notes:
        bullets(con, rep.notes, indent=0)
    if plan.robust is not None:
        _robust(plan.robust, con)
    if plan.sample_average is not None:
        _risk_plan(plan.sample_average, con)
    if plan.diagnosis:
        _diagnosis(plan.diagnosis, con)
    elif plan.limits:
        heading(con, "What limits this plan")
        bullets(con, plan.limits)


def _totals(con: Console, rep: Any) -> None:
    f = rep.figures
    rows = [
        ("Capex (purchases)", money(f.capex_usd)),
        ("Lease commitments", money(f.lease_usd)),
        ("Opex (electricity)", money(f.opex_usd)),
        ("Effective PFLOPS, last quarter", num(f.effective_pflops)),
        (
            "  of which fleet / bought / leased",
            f"{num(f.fleet_pflops)} / {num(f.purchased_pflops)} / {num(f.leased_pflops)}",
        ),
        ("Memory, last quarter (TB)", num(f.memory_tb)),
        ("Chips bought / leased", f"{f.chips:,} / {f.leased_chips:,}"),
        ("Capex per bought PFLOPS", money(f.capex_per_purchased_pflops)),
        ("Lease commitment per leased PFLOPS", money(f.lease_per_leased_pflops)),
        ("Spend that depends on licences", money(f.licence_usd)),
    ]
    con.print(table(con, "Totals", [Col("what"), Col("value", right=True)], rows))


def _quarters(con: Console, rep: Any) -> None:
    currency = rep.plan.data.finance.currency if rep.plan.data is not None else "USD"
    usd = currency == "USD"
    budget = money if usd else (lambda v: "-" if v is None else f"{v / 1e9:,.2f}B")
    cols = [
        Col("Quarter"),
        Col("Capex", True),
        Col("Lease pay", True),
        Col("Cum. paid", True),
        Col("Cum. committed", True),
        Col("Cum. budget" if usd else f"Cum. budget {currency}", True),
        Col("Eff. PFLOPS", True),
        Col("Leased", True),
        Col("Memory TB", True),
        Col("Power MW", True),
        Col("Cap MW", True),
        Col("Opex", True),
    ]
    rows = [
        (
            r["period"],
            money(r["capex_usd"]),
            money(r["lease_usd"]),
            money(r["cumulative_spend_usd"]),
            money(r["cumulative_committed_usd"]),
            budget(r["cumulative_budget_usd"]),
            num(r["effective_pflops"]),
            num(r["leased_pflops"]),
            num(r["memory_tb"]),
            num(r["power_mw"]),
            num(r["site_capacity_mw"]),
            money(r["opex_usd"]),
        )
        for r in rep.quarters.to_dict("records")
    ]
    con.print(
        table(
            con,
            "Per quarter (paid: capex and lease payments so far; committed: capex and whole lease terms "
            "signed so far, what the total budget counts)",
            cols,
            rows,
        )
    )


def _sites(con: Console, rep: Any) -> None:
    cols = [
        Col("Site", key=True),
        Col("Country"),
        Col("Quarter", key=True),
        Col("Power MW", True),
        Col("Capacity MW", True),
        Col("Eff. PFLOPS", True),
    ]
    rows = [
        (
            r["site"],
            r["country"],
            r["period"],
            num(r["power_mw"], 2),
            num(r["capacity_mw"], 1) if r["capacity_mw"] is not None else "no cap",
            num(r["effective_pflops"]),
        )
        for r in rep.sites.to_dict("records")
    ]
    con.print(table(con, "Sites: power against capacity (leases use no site power)", cols, rows))


def _schedule(con: Console, rep: Any) -> None:
    cols = [
        Col("Order", key=True),
        Col("Delivery"),
        Col("SKU", key=True),
        Col("Kind"),
        Col("Site / country"),
        Col("Channel"),
        Col("Chips", True),
        Col("Unit price", True),
        Col("Cost", True),
        Col("Status"),
        Col("Term", True),
    ]
    rows = []
    for r in rep.schedule.to_dict("records"):
        lease = r["kind"] == "lease"
        where = r["country"] if lease else r["site"]
        status = {"allowed": "ok", "license-required": "licence"}.get(r["compliance"], r["compliance"])
        term = f"{int(r['term_quarters'])}q to {r['end_period']}" if lease else ""
        rows.append(
            (
                r["order_period"],
                r["delivery_period"],
                r["sku"],
                r["kind"],
                where,
                r["channel"],
                f"{int(r['chips']):,}",
                f"${r['unit_price_usd']:,.0f}" + ("/q" if lease else ""),
                money(r["cost_usd"]),
                status,
                term,
            )
        )
    if not rows:
        rows = [("(none)", "", "", "", "", "", "", "", "", "", "")]
    con.print(table(con, "Purchase and lease schedule (lease cost: the whole commitment)", cols, rows))


def _workloads(con: Console, rep: Any) -> None:
    w = rep.plan.workloads
    if w is None:
        return
    cols = [
        Col("Quarter"),
        Col("Training PFLOPS", True),
        Col("Inference TB/s", True),
        Col("Inference TB", True),
    ]
    rows = [
        (
            r["period"],
            num(r["training_pflops"]),
            num(r["inference_memory_bw_tbps"]),
            num(r["inference_memory_tb"]),
        )
        for r in w.periods.to_dict("records")
    ]
    con.print(table(con, "Workloads (training in whole clusters; inference on memory)", cols, rows))
    if len(w.clusters):
        cols = [
            Col("Quarter", key=True),
            Col("Place", key=True),
            Col("Family"),
            Col("Clusters", True),
            Col("Chips", True),
        ]
        clusters = [
            (r["period"], r["place"], r["family"], f"{int(r['clusters']):,}", f"{int(r['chips']):,}")
            for r in w.clusters.to_dict("records")
        ]
        con.print(table(con, "Training clusters (effective chips)", cols, clusters))


def _cash_flow(con: Console, rep: Any) -> None:
    flow = rep.cash_flow
    if flow is None:
        return
    plan = rep.plan
    fin = plan.data.finance
    local = [c for c in flow.columns if c.startswith("paid_") and c != "paid_usd"]
    cols = [Col("Quarter"), Col("Paid", True)]
    cols += [Col(f"Paid {fin.currency}", True) for _ in local]
    cols += [
        Col("Committed", True),
        Col("Deprec.", True),
        Col("Lease pay", True),
        Col("Electricity", True),
        Col("Retired", True),
    ]
    rows = [
        (
            r["period"],
            money(r["paid_usd"]),
            *[f"{r[c] / 1e9:,.2f}B" if abs(r[c]) >= 1e9 else f"{r[c] / 1e6:,.2f}M" for c in local],
            money(r["committed_usd"]),
            money(r["depreciation_usd"]),
            money(r["lease_payments_usd"]),
            money(r["electricity_usd"]),
            f"{int(r['retired_chips']):,}",
        )
        for r in flow.to_dict("records")
    ]
    title = "Cash flow (USD" + (f"; budget in {fin.currency}" if fin.currency != "USD" else "") + ")"
    con.print(table(con, title, cols, rows))
    t = plan.totals
    rate = f"{fin.rate:.1%} a year" if fin.rate else "undiscounted"
    residual = (
        f"book value after {plan.data.periods[-1]} {money(t['residual_value_usd'])} credited"
        if fin.residual
        else "no residual value credited"
    )
    say(
        con,
        f"Discounted cost {money(t['cost_usd'])} ({rate}; {residual}); "
        f"paid after the horizon {money(t['after_horizon_usd'])} (lease payments).",
    )


def _licences(con: Console, rep: Any) -> None:
    for r in rep.licences.to_dict("records"):
        say(
            con,
            f"{money(r['cost_usd'])} of the plan ({int(r['chips']):,} chips) depends on licences under "
            f"{r['license_rules']}.",
        )


def _channels(con: Console, rep: Any) -> None:
    """Commitments by channel with the channel's risk rating (channel diligence)."""
    lines = rep.channels
    if not len(lines):
        return
    cols = [
        Col("Channel"),
        Col("Risk"),
        Col("Transit"),
        Col("Kind"),
        Col("Chips", True),
        Col("Committed", True),
        Col("Share", True),
    ]
    rows = [
        [
            r["channel"],
            r["channel_risk"],
            r["transit"] or "-",
            r["kinds"],
            f"{int(r['chips']):,}",
            money(float(r["commitment_usd"])),
            f"{100 * float(r['share']):.1f}%",
        ]
        for r in lines.to_dict("records")
    ]
    con.print(table(con, "Exposure by channel (commitments)", cols, rows))
    rated = lines[lines["channel_risk"].isin(["medium", "high"])]
    if len(rated):
        share = float(rated["share"].sum())
        say(con, f"{100 * share:.1f}% of commitments go through channels rated medium or high risk.")


def _lease_tail(con: Console, rep: Any) -> None:
    tail = rep.lease_tail
    if len(tail):
        last = max(tail["end_period"])
        say(
            con,
            f"Lease commitments past the horizon: {money(float(tail['after_horizon_usd'].sum()))} of payments "
            f"after {rep.plan.data.periods[-1]} ({len(tail)} lease line(s), the last ending in {last}).",
        )


def _exclusions(con: Console, rep: Any) -> None:
    ex = rep.exclusions
    if not len(ex):
        return
    cols = [
        Col("Country", key=True),
        Col("SKU", key=True),
        Col("Status"),
        Col("Rules"),
        Col("Order quarters"),
    ]
    rows = [(r["country"], r["sku"], r["status"], r["rules"], r["quarters"]) for r in ex.to_dict("records")]
    con.print(table(con, "Excluded for compliance (status over the order-to-delivery window)", cols, rows))


def _robust(info: RobustInfo, con: Console) -> None:
    say(con, f"Robust plan against {info.shocks} ({info.objective} objective): {info.status}", "bold")
    p = info.price_of_robustness
    if p is not None:
        words = robustness_words(p)
        say(con, f"{words[0].upper()}{words[1:]} against the base plan when no shock comes.")
    bullets(
        con,
        [
            f"branch {b.shock} (orders from {b.first_open_quarter} re-planned): {b.status}, "
            f"{num(b.effective_pflops)} effective PFLOPS"
            for b in info.branches or ()
        ],
    )


def robustness_words(p: PriceOfRobustness) -> str:
    """The price of robustness in words; a negative one is the two solves' MIP gaps, not a gain."""
    if p.given_up >= 0:
        return f"price of robustness {num(p.given_up)} {p.unit} ({p.relative:.2%})"
    return (
        f"price of robustness none: the robust plan's no-shock branch comes out {num(-p.given_up)} "
        f"{p.unit} better ({-p.relative:.3%}), which is the solvers' MIP gap (each plan is "
        "optimal only to within it), not a gain"
    )


#: why a reachable figure can exceed the optimum of the same inputs without targets
REACHABLE_NOTE = (
    "Reachable is the target less its shortfall: what the plan found reaches. Every plan is optimal "
    "only to within the MIP gap (0.01% by default), so a plan of the same inputs without targets "
    "may come out up to that gap below it."
)


def _diagnosis(d: Diagnosis, con: Console) -> None:
    say(con, "No plan meets every constraint.", "bold red")
    if d.shortfalls:
        cols = [
            Col("Quarter", key=True),
            Col("Measure", key=True),
            Col("Target", True),
            Col("Shortfall", True),
            Col("Reachable", True),
        ]
        rows = [
            (
                s.period,
                s.measure,
                num(s.target),
                num(s.shortfall, 3),
                num(s.target - s.shortfall, 3),
            )
            for s in d.shortfalls
        ]
        con.print(table(con, "Least shortfalls (lower these targets by this much to get a plan)", cols, rows))
        say(con, REACHABLE_NOTE)
        if d.spread:
            say(con, d.spread)
    for b in d.blocking:
        where = b.period or f"{b.by} {b.value}"
        if b.site:
            where += f" at {b.site}"
        say(con, f"  blocking: {b.constraint} ({where})")
    if d.limits:
        heading(con, "What holds the plan back")
        bullets(con, list(d.limits))


def _interval(low: float | None, high: float | None) -> str:
    """A 95% interval of a probability, or "" where there is none (in sample: the futures the plan was made on)."""
    return "" if low is None or high is None or math.isnan(low) else f"{low:.1%} - {high:.1%}"


def _risk_plan(report: SampleAverage, con: Console) -> None:
    """A sample-average plan: how it was made, in-sample against out-of-sample, and the base plan out of sample."""
    made = report.made
    heading(
        con,
        f"Sample-average plan: {made['objective']} over {made['samples']} futures of {made['shocks']} "
        f"(seed {made['seed']}"
        + (f", targets met in at least {made['chance']:.0%} of them" if made["chance"] is not None else "")
        + f"); checked on {made['out_of_sample_samples']} fresh futures (seed {made['out_of_sample_seed']})",
    )
    outcomes = report.outcomes()  # a row per plan; shown here with a row per figure
    plans = outcomes.to_dict("records")
    metric = next(iter(report.in_sample["summary"]))
    shown = money if metric == "cost_usd" else (lambda v: num(v, 0))
    cols = [Col(metric.replace("_", " "), key=True)] + [Col(p["plan"], right=True) for p in plans]
    rows = [
        [stat.upper() if stat.startswith("p") else stat] + [shown(p[f"{metric}_{stat}"]) for p in plans]
        for stat in report.STATS
    ]
    for t in report.targets():
        share, low, high = report.missed_columns(t)
        rows.append([f"P(miss {t})"] + [f"{p[share]:.1%}" for p in plans])
        rows.append(["  95% interval"] + [_interval(p[low], p[high]) for p in plans])
    con.print(
        table(
            con,
            "Outcomes: this plan in and out of sample, the base plan out of sample",
            cols,
            rows,
        )
    )
    say(
        con,
        "In sample, each future's re-plan after its first shock is continuous (a linear program); out of "
        "sample, the risk engine re-plans in whole servers, as `gpuplan risk` does. A 95% interval is the "
        "Wilson score interval of the share of fresh futures that miss the target.",
    )
