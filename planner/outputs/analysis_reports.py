"""Terminal reports of the catalog and of the analyses (compare, sweep, explain, stress, risk, alternatives, reverse stress): formatting only."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group

from planner.inputs.tables import records
from planner.model.choices import Objective
from planner.outputs.render import (
    Col,
    bullets,
    heading,
    money,
    num,
    robustness_words,
    say,
    signed_money,
    table,
)

if TYPE_CHECKING:
    from planner.analyses.exposure import StressResult
    from planner.analyses.risk_results import RiskResult

# ------------------------------------------------------------------ catalog


def catalog_tables(figures: Any, offers: Any, leases: Any, con: Console) -> list[Group]:
    """Catalog figures (buying and renting apart) and the units offered, as terminal tables."""
    cols = [
        Col("SKU"),
        Col("Vendor"),
        Col("Category"),
        Col("Eff. PFLOPS", True),
        Col("TPP", True),
        Col("PD", True),
        Col("Buy $", True),
        Col("Buy $/PFLOPS", True),
        Col("W/PFLOPS", True),
        Col("GB per $1k", True),
        Col("Lease $/q", True),
        Col("Lease term $", True),
    ]
    rows = [
        (
            r["sku"],
            r["vendor"],
            r["category"],
            num(r["eff_pflops"], 3),
            num(r["tpp"], 0),
            num(r["pd"], 2),
            num(r["buy_usd"], 0),
            num(r["buy_usd_per_eff_pflops"], 0),
            num(r["w_per_eff_pflops"], 0),
            num(r["memory_gb_per_kusd"], 2),
            num(r["lease_usd_per_quarter"], 0),
            "-"
            if _missing(r["lease_term_usd"])
            else f"{r['lease_term_usd']:,.0f} ({int(r['lease_term_quarters'])}q)",
        )
        for r in figures.to_dict("records")
    ]
    chips = table(
        con, "Chips: buy (per chip) and lease (per chip and quarter; the term's commitment)", cols, rows
    )
    out = [chips]
    for title, units in (
        ("Units offered to buy per order quarter (all channels)", offers),
        ("Units offered to lease per signing quarter (all clouds)", leases),
    ):
        if len(units):
            ucols = [Col("SKU")] + [Col(str(q), True) for q in units.columns]
            urows = [(sku, *[f"{int(v):,}" if v else "-" for v in row]) for sku, row in units.iterrows()]
            out.append(table(con, title, ucols, urows))
    return out


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def compliance_table(listing: dict[str, Any], con: Console) -> Group:
    """Compliance status of every SKU for one destination and date."""
    cols = [
        Col("SKU"),
        Col("Model"),
        Col("TPP", True),
        Col("PD", True),
        Col("Status"),
        Col("Licence"),
        Col("Why"),
    ]
    rows = []
    for c in listing["chips"]:
        lic = c.get("license")
        terms = (
            ""
            if not lic
            else (f"fee {lic['fee_pct']:g}%, lag {lic['lag_quarters']}, approval {lic['approval']:g}")
        )
        rows.append(
            (
                c["sku"],
                c["model"],
                num(c["tpp"], 0),
                num(c["pd"], 2),
                c["status"],
                terms,
                "; ".join(c["why"]) or "no rule matches",
            )
        )
    title = (
        f"Export status in {listing['destination']} on {listing['date']} for a buyer headquartered in "
        f"{listing['headquarters']} ({listing['kind']})"
    )
    if listing.get("site_tags"):
        title += f", at a site tagged {', '.join(listing['site_tags'])}"
    return table(con, title, cols, rows)


def timeline_table(destination: str, rows: list[dict[str, Any]], con: Console) -> Group:
    """When each SKU's status changes at a destination."""
    cols = [Col("SKU"), Col("From"), Col("Status"), Col("Rules")]
    data = [
        (r["sku"], r["date"] or "(before any rule)", r["status"], ", ".join(r["rules"]) or "-") for r in rows
    ]
    return table(con, f"Status changes in {destination}", cols, data)


# ------------------------------------------------------------------ compare and sweep


def comparison_tables(metrics: Any, differences: Any, con: Console) -> list[Group]:
    """Scenario metrics side by side (labelled for a reader), then the input keys that differ."""
    from planner.analyses.analysis import metric_label

    labels = [str(c) for c in metrics.columns]
    cols = [Col("Metric")] + [Col(label, True) for label in labels]
    rows = []
    for metric, row in metrics.iterrows():
        cells = []
        for v in row:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("-")
            elif isinstance(v, str):
                cells.append(v)
            elif str(metric).endswith("_usd"):
                cells.append(money(v))
            elif str(metric).endswith("_share") or str(metric).startswith("policy_share:"):
                cells.append(f"{v:.1%}")
            else:
                cells.append(num(v, 0 if str(metric).endswith("chips") else 1))
        rows.append((metric_label(str(metric)), *cells))
    out = [table(con, "Scenarios side by side", cols, rows)]
    diff = differences
    if len(diff):
        out.append(
            table(
                con,
                "What differs between the inputs",
                [Col(str(c)) for c in diff.columns],
                [[str(v) for v in r] for r in diff.itertuples(index=False)],
            )
        )
    return out


def sweep_table(scenario: str, points: list[dict[str, Any]], con: Console) -> Group:
    """One row per budget point: cost, compute and mix."""
    categories = sorted({c for p in points for c in p["mix_pflops"]})
    discounted = any("cost_usd" in p["totals"] for p in points)
    currency = next((p["totals"]["currency"] for p in points if "currency" in p["totals"]), "USD")
    cols = [
        Col("Total budget" if currency == "USD" else f"Budget {currency}", True),
        Col("Status"),
        Col("Capex", True),
        Col("Leases", True),
        *([Col("Disc. cost", True)] if discounted else []),
        Col("Eff. PFLOPS", True),
        Col("Capex per bought PFLOPS", True),
        Col("Lease commitment per leased PFLOPS", True),
    ] + [Col(f"{c} PFLOPS", True) for c in categories]
    rows = []
    for p in points:
        t = p["totals"]
        rows.append(
            (
                money(p["total_usd"]) if currency == "USD" else money(p["total_usd"]).removeprefix("$"),
                p["status"],
                money(t["capex_usd"]),
                money(t.get("lease_usd", 0.0)),
                *([money(t.get("cost_usd"))] if discounted else []),
                num(t["effective_pflops"]),
                money(p["per_pflops"]["capex_per_bought_pflops_usd"]),
                money(p["per_pflops"]["lease_per_leased_pflops_usd"]),
                *[num(p["mix_pflops"].get(c)) for c in categories],
            )
        )
    return table(con, f"Budget sweep: {scenario}", cols, rows)


# ------------------------------------------------------------------ explain and stress


def explain_report(result: Any, con: Console) -> None:
    """Limits, binding constraints, marginal values and chips not bought, in words and numbers."""
    say(con, f"Scenario {result.scenario}   objective {result.objective}   status {result.status}", "bold")
    if result.marginal is None:
        say(con, "No plan to explain; see the diagnosis:")
        bullets(con, result.limits)
        return
    headline = result.headline()
    if headline:
        say(con, headline)
    cols = [
        Col("Limit moved"),
        Col("Unit"),
        Col("Dual", True),
        Col("LP re-solved", True),
        Col("MILP re-solved", True),
        Col("Note"),
    ]
    rows = [
        (
            m["what"],
            m["unit"],
            num(m["dual"], 2),
            num(m["lp_resolved"], 2),
            num(m["milp_resolved"], 2),
            "; ".join(x for x in (m.get("note", ""), "MILP skipped" if m.get("skipped") else "") if x),
        )
        for m in result.marginal.to_dict("records")
    ]
    con.print(
        table(
            con,
            "Marginal values (dual: LP relaxation, local; re-solved: limit moved, solved again)",
            cols,
            rows,
        )
    )
    if result.training is not None and len(result.training):
        con.print(
            table(
                con,
                "What limits training (chips: effective chips of the family in service at the place)",
                [
                    Col("Place, family, quarter"),  # the key a narrow terminal repeats
                    Col("Clusters", True),
                    Col("Most", True),
                    Col("In service", True),
                    Col("Outside", True),
                    Col("Limited by"),
                ],
                [
                    (
                        f"{t['place']}, {t['family']}, {t['period']}",
                        f"{t['clusters']:,} x {t['cluster_chips']:,}",
                        f"{t['most_clusters']:,}",
                        num(t["in_service"]),
                        num(t["outside_clusters"]),
                        t["limits"],
                    )
                    for t in result.training.to_dict("records")
                ],
            )
        )
    binding = result.binding[result.binding["binding"]]
    con.print(
        table(
            con,
            "Binding constraints",
            [Col("Family"), Col("Constraint"), Col("Slack", True)],
            [(b["family"], b["constraint"], num(b["slack"], 2)) for b in binding.to_dict("records")],
        )
    )
    con.print(
        table(
            con,
            "Chips not bought, and why",
            [Col("SKU"), Col("Why not")],
            [(n["sku"], n["reason"]) for n in result.not_bought.to_dict("records")],
        )
    )
    heading(con, "What limits this plan")
    bullets(con, result.limits)
    for note in result.notes:
        say(con, note, "dim")


def stress_report(result: StressResult, con: Console) -> None:
    """Per shock: what it costs, what is stranded, what changes; base plan against robust plan."""
    base = result.base
    unit_compute = result.objective == Objective.MAX_COMPUTE
    say(
        con,
        f"Stress test {result.scenario} against {result.shocks}: base plan {base.status}, "
        f"{num(base.totals['effective_pflops'])} effective PFLOPS, "
        f"{money(base.totals['capex_usd'])} capex, {money(base.totals.get('lease_usd', 0.0))} leases",
        "bold",
    )
    if result.base_exposure is None:
        say(con, "The base scenario has no plan; see `gpuplan plan` for its diagnosis.")
        return
    rob = result.robust
    if rob is not None and rob.price_of_robustness is not None:
        say(
            con,
            f"Robust plan: {rob.status}; {robustness_words(rob.price_of_robustness)} when no shock comes.",
        )
    lost = "PFLOPS lost" if unit_compute else "Extra cost"
    cols = [
        Col("Shock"),
        Col("Prob.", True),
        Col("Base"),
        Col(f"Base {lost}", True),
        Col("Base stranded", True),
        Col("Base targets missed", True),
        Col("Robust"),
        Col(f"Robust {lost}", True),
        Col("Robust stranded", True),
    ]
    rows = []
    show: Callable[[float | None], str] = num if unit_compute else money
    for r in records(result.exposure()):
        prob = r["probability"]
        key = "pflops_lost" if unit_compute else "extra_cost_usd"
        rows.append(
            (
                r["shock"],
                "-" if prob is None or prob != prob else f"{prob:.0%}",
                r["base_status"],
                show(r[f"base_{key}"]),
                money(r["base_stranded_usd"]),
                str(r["base_targets_missed"]),
                str(r["robust_status"] or "-"),
                show(r[f"robust_{key}"]),
                money(r["robust_stranded_usd"]),
            )
        )
    con.print(table(con, "Exposure per shock: base plan against robust plan", cols, rows))
    for e in result.base_exposure:
        heading(
            con,
            f"{e.shock}: {e.description}; orders from "
            f"{e.first_open_quarter or '(after the horizon)'} re-planned.",
        )
        if not e.ok:
            say(con, f"  no plan after the shock ({e.status})", "red")
            bullets(
                con,
                [
                    f"target missed: {s.measure} in {s.period} short by {num(s.shortfall)}"
                    for s in (e.diagnosis.shortfalls if e.diagnosis is not None else ())
                ],
            )
            continue
        change = (
            f"{num(e.compute_lost_pflops or 0.0)} effective PFLOPS lost at the last quarter"
            if unit_compute
            else f"the plan {signed_money(e.extra_cost_usd or 0.0)}"
        )
        lines = [f"base plan: {change}; stranded {money(e.stranded_usd)}"]
        lines += [
            f"stranded: {s.chips:,} {s.sku} ({s.kind}) ordered {s.order_period} via {s.channel} "
            f"({money(s.cost_usd)})"
            for s in e.stranded
        ]
        lines += [
            f"{c.change}: {c.sku} {c.kind} {c.order_period} via {c.channel}"
            f"{' at ' + c.where if c.where else ''}: {c.chips_before:,} -> {c.chips_after:,} chips"
            for c in e.changes
        ]
        bullets(con, lines)


def risk_report(result: RiskResult, tables: Any, con: Console) -> None:
    """The distribution of each plan's outcome over the sampled futures, targets missed, and per shock."""
    plans = list(result.plans)
    say(
        con,
        f"Risk of {result.scenario} under {result.shocks}: {result.samples_n:,} sampled futures "
        f"(seed {result.seed}), {' and '.join(f'{k} plan' for k in plans)}",
        "bold",
    )
    units = {"effective_pflops": ("Effective PFLOPS", num), "cost_usd": ("Cost", money)}
    units |= {"stranded_usd": ("Stranded spend", money), "cost_vs_no_shock_usd": ("Cost vs no shock", money)}
    cols = [Col("Outcome", key=True), Col("Plan", key=True)] + [
        Col(h, True) for h in ("Mean", "Std", "P5", "P50", "P95", "Min", "Max")
    ]
    rows = []
    for r in records(tables.summary):
        label, show = units[r["metric"]]
        rows.append(
            (label, r["plan"], *(show(r[k]) for k in ("mean", "std", "p5", "p50", "p95", "min", "max")))
        )
    con.print(table(con, "Outcome over the samples (P5 = the 1-in-20 bad year for PFLOPS)", cols, rows))
    statuses = "; ".join(
        f"{k} plan: " + ", ".join(f"{n:,} {s}" for s, n in p.statuses.items())
        for k, p in result.plans.items()
    )
    say(con, f"Re-plans: {statuses}.")
    if len(tables.targets):
        cols = [
            Col("Target", key=True),
            Col("Plan", key=True),
            Col("Probability missed", True),
            Col("95% interval", True),
        ]
        rows = [
            (
                r["target"],
                r["plan"],
                f"{r['probability_missed']:.1%}",
                f"{r['ci95_low']:.1%} - {r['ci95_high']:.1%}",
            )
            for r in records(tables.targets)
        ]
        con.print(table(con, "Targets missed", cols, rows))
        say(
            con,
            "95% interval: the Wilson score interval of the share of sampled futures that miss the target.",
        )
    metric = tables.objective_metric
    label, show = units[metric]
    cols = [
        Col("Shock", key=True),
        Col("Plan", key=True),
        Col("Prob.", True),
        Col("Occurred", True),
        Col("If it occurs", True),
        Col("If not", True),
        Col("Difference", True),
    ]
    rows = []
    for r in records(tables.shocks):
        prob = r["probability"]
        rows.append(
            (
                r["shock"],
                r["plan"],
                "-" if prob is None or prob != prob else f"{prob:.0%}",
                f"{r['occurred_n']:,}",
                show(r[f"mean_{metric}_when_occurs"]),
                show(r[f"mean_{metric}_when_not"]),
                show(r["difference"]),
            )
        )
    con.print(
        table(
            con, f"Mean {label.lower()} per shock, in the samples where it occurs and where not", cols, rows
        )
    )


# ------------------------------------------------------------------ alternatives


def alternatives_report(result: Any, con: Console) -> None:
    """Each alternative against the optimum: its objective, its measure, how far its orders moved, and spend by vendor and kind."""
    best = result.optimum
    unit = "effective PFLOPS" if best.objective != Objective.MIN_COST else "cost"
    heading(
        con, f"{best.scenario}: alternatives within {result.within:.2%} of the optimum ({best.objective})"
    )
    summary = result.summary()

    def shown(value: Any, measure_unit: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "-"
        return money(value) if measure_unit == "USD" else num(value, 0)

    def objective(value: float) -> str:
        return money(value) if best.objective == Objective.MIN_COST else num(value, 0)

    cols = [
        Col("alternative", key=True),
        Col(unit, right=True),
        Col("vs optimum", right=True),
        Col("measure", right=True),
        Col("optimum's", right=True),
        Col("orders moved", right=True),
    ]
    rows = [
        ["optimum", objective(summary["optimum_objective"].iloc[0]) if len(summary) else "-", "", "", "", ""]
    ]
    for r in records(summary):
        rows.append(
            [
                r["alternative"],
                objective(r["objective"]),
                f"{r['objective_change']:+.3%}",
                shown(r["measure"], r["measure_unit"]),
                shown(r["optimum_measure"], r["measure_unit"]),
                f"{r['distance']:.1%}",
            ]
        )
    con.print(table(con, "Alternatives", cols, rows))
    side = result.side_by_side()
    names = list(side.columns)
    cols = [Col("figure", key=True)] + [
        Col(n if n == "optimum" else f"#{i}", right=True) for i, n in enumerate(names)
    ]
    body = []
    for metric, row in side.iterrows():
        label = str(metric)
        cells = [money(v) if label.endswith("(USD)") else num(v, 0) for v in row]
        body.append([label.removesuffix(" (USD)"), *cells])
    con.print(table(con, "Side by side (#N: the Nth alternative above)", cols, body))
    say(
        con,
        "orders moved: the L1 distance of chips by SKU and order quarter from the optimum's, over the chips "
        "of both (0% the same orders, 100% none in common). Spend counts purchases and whole lease terms.",
    )


def reverse_report(result: dict[str, Any], con: Console) -> None:
    """Per shock, the mildest amount that breaks the target, and the last that holds."""
    heading(con, f"{result['scenario']}: what breaks {result['breaks']} under {result['shocks']}")
    cols = [
        Col("shock", key=True),
        Col("amount"),
        Col("range"),
        Col("holds at", right=True),
        Col("breaks at", right=True),
        Col("re-plans", right=True),
    ]
    rows = [
        [
            t["shock"],
            t["amount"],
            f"{t['range'][0]:g} to {t['range'][1]:g}",
            "-" if t["holds_at"] is None else f"{t['holds_at']:g}",
            "never" if t["breaks_at"] is None else f"{t['breaks_at']:g}",
            t["evaluations"],
        ]
        for t in result["thresholds"]
    ]
    con.print(table(con, "Mildest amount that breaks it (bisection to the tolerance)", cols, rows))
    lines = [f"{t['shock']}: {t['verdict']}" for t in result["thresholds"]]
    lines += [f"{s['shock']}: skipped, {s['reason']}" for s in result["skipped"]]
    bullets(con, lines)
