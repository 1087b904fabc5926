"""Terminal reports (rich) for plans; formatting only."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

from planner.results import Plan
from planner.units import format_money


def _num(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def plan_report(plan: Plan, console: Console) -> None:
    """Scenario, status, totals, quarters, purchases, compliance exclusions, limits, diagnosis."""
    t = plan.totals
    style = "green" if plan.ok else "red"
    console.print(f"[bold]Scenario[/bold] {plan.scenario}   [bold]objective[/bold] {plan.objective}   "
                  f"[bold]status[/bold] [{style}]{plan.status}[/{style}]   "
                  f"[dim]solver {plan.solver}, gap {plan.mip_gap:g}, {plan.seconds:.2f} s[/dim]")
    if plan.message:
        console.print(f"[yellow]{plan.message}[/yellow]")
    if plan.ok:
        per_pflops = t["capex_usd"] / t["effective_pflops"] if t["effective_pflops"] > 0 else None
        totals = Table(title="Totals", show_header=False, title_justify="left")
        totals.add_column("what")
        totals.add_column("value", justify="right")
        totals.add_row("Capex", format_money(t["capex_usd"]))
        totals.add_row("Opex (electricity)", format_money(t["opex_usd"]))
        totals.add_row("Effective PFLOPS (last quarter)", _num(t["effective_pflops"]))
        totals.add_row("Memory (TB, last quarter)", _num(t["memory_tb"]))
        totals.add_row("Chips purchased", f"{t['chips']:,}")
        totals.add_row("Capex per effective PFLOPS", format_money(per_pflops) if per_pflops else "-")
        console.print(totals)
        console.print(_quarters(plan))
        console.print(_purchases(plan))
    _exclusions(plan, console)
    if "robust" in plan.extra:
        _robust(plan.extra["robust"], console)
    if plan.diagnosis:
        _diagnosis(plan, console)
    elif plan.limits:
        console.print("[bold]What limits this plan[/bold]")
        for line in plan.limits:
            console.print(f"  - {line}")


def _robust(info: dict, console: Console) -> None:
    console.print(f"[bold]Robust plan[/bold] against {info['shocks']} ({info['objective']} objective): "
                  f"{info['status']}")
    p = info.get("price_of_robustness")
    if p:
        console.print(f"  price of robustness: {_num(p['given_up'], 1)} {p['unit']} ({p['relative']:.2%}) against "
                      f"the base plan when no shock comes")
    for b in info.get("branches", []):
        console.print(f"  branch {b['shock']} (orders from {b['first_open_quarter']} re-planned): {b['status']}, "
                      f"{_num(b['effective_pflops'])} effective PFLOPS")


def _quarters(plan: Plan) -> Table:
    table = Table(title="Per quarter", title_justify="left")
    for name in ("Quarter", "Capex", "Cum. spend", "Cum. budget", "Eff. PFLOPS", "Memory TB",
                 "Power MW", "Site cap MW", "Opex"):
        table.add_column(name, justify="left" if name == "Quarter" else "right")
    for r in plan.periods.to_dict("records"):
        budget = r["cumulative_budget_usd"]
        table.add_row(r["period"], format_money(r["capex_usd"]), format_money(r["cumulative_spend_usd"]),
                      format_money(budget) if budget is not None and not math.isnan(budget) else "-",
                      _num(r["effective_pflops"]), _num(r["memory_tb"]), _num(r["power_mw"], 2),
                      _num(r["site_capacity_mw"], 1), format_money(r["opex_usd"]))
    return table


def _purchases(plan: Plan) -> Table:
    table = Table(title="Purchase schedule", title_justify="left")
    for name in ("Order", "Delivery", "SKU", "Vendor", "Category", "Channel", "Servers", "Chips",
                 "Unit price", "Cost"):
        table.add_column(name, no_wrap=True,
                         justify="right" if name in ("Servers", "Chips", "Unit price", "Cost") else "left")
    for r in plan.purchases.to_dict("records"):
        table.add_row(r["order_period"], r["delivery_period"], r["sku"], r["vendor"], r["category"],
                      r["channel"], f"{r['servers']:,}", f"{r['chips']:,}", f"${r['unit_price_usd']:,.0f}",
                      format_money(r["cost_usd"]))
    if not len(plan.purchases):
        table.add_row(*(["(no purchases)"] + [""] * 9))
    return table


def _exclusions(plan: Plan, console: Console) -> None:
    ex = plan.excluded
    if not len(ex):
        return
    comp = ex[ex["reason"].str.startswith("compliance")]
    if not len(comp):
        return
    table = Table(title=f"Excluded for compliance (destination {plan.data.scenario.destination})",
                  title_justify="left")
    for name in ("SKU", "Status", "Rules", "Order quarters"):
        table.add_column(name)
    for (sku, reason, rules), group in comp.groupby(["sku", "reason", "rule_ids"], sort=True):
        quarters = sorted(set(group["period"]))
        table.add_row(sku, reason.removeprefix("compliance: "), rules.replace(",", ", "),
                      f"{quarters[0]}-{quarters[-1]}" if len(quarters) > 1 else quarters[0])
    console.print(table)


def _diagnosis(plan: Plan, console: Console) -> None:
    d = plan.diagnosis
    console.print("[bold red]No plan meets every constraint.[/bold red]")
    if d["shortfalls"]:
        table = Table(title="Least shortfalls (lower these targets by this much to get a plan)",
                      title_justify="left")
        for name in ("Quarter", "Measure", "Target", "Shortfall", "Reachable"):
            table.add_column(name, justify="left" if name in ("Quarter", "Measure") else "right")
        for s in d["shortfalls"]:
            table.add_row(s["period"], s["measure"], _num(s["target"]), _num(s["shortfall"], 3),
                          _num(s["target"] - s["shortfall"], 3))
        console.print(table)
    for b in d["blocking"]:
        where = b.get("period") or f"{b.get('by')} {b.get('value')}"
        console.print(f"  blocking: {b['constraint']} ({where})")
    if d["limits"]:
        console.print("[bold]What holds the plan back[/bold]")
        for line in d["limits"]:
            console.print(f"  - {line}")


def console() -> Console:
    """A console wide enough for the reports even when stdout is not a terminal."""
    return Console(width=max(160, Console().width))


def catalog_tables(figures, offers) -> list[Table]:
    chips = Table(title="Chips", title_justify="left")
    heads = [("SKU", "sku"), ("Vendor", "vendor"), ("Category", "category"), ("Eff. PFLOPS", "eff_pflops"),
             ("TPP", "tpp"), ("PD", "pd"), ("Cheapest $", "cheapest_usd"), ("$/eff. PFLOPS", "usd_per_eff_pflops"),
             ("W/eff. PFLOPS", "w_per_eff_pflops"), ("GB per $1k", "memory_gb_per_kusd")]
    for head, _ in heads:
        chips.add_column(head, no_wrap=True, justify="left" if head in ("SKU", "Vendor", "Category") else "right")
    digits = {"eff_pflops": 3, "tpp": 0, "pd": 2, "cheapest_usd": 0, "usd_per_eff_pflops": 0,
              "w_per_eff_pflops": 0, "memory_gb_per_kusd": 2}
    for rec in figures.to_dict("records"):
        chips.add_row(*[str(rec[k]) if k not in digits else _num(rec[k], digits[k]) for _, k in heads])
    units = Table(title="Units offered per order quarter (all channels)", title_justify="left")
    units.add_column("SKU", no_wrap=True)
    for q in offers.columns:
        units.add_column(str(q), justify="right")
    for sku, row in offers.iterrows():
        units.add_row(sku, *[f"{int(v):,}" if v else "-" for v in row])
    return [chips, units]


def compliance_table(listing: dict) -> Table:
    table = Table(title=f"Export status for destination {listing['destination']} on {listing['date']}",
                  title_justify="left")
    for name in ("SKU", "Model", "TPP", "PD", "Status", "Why"):
        table.add_column(name, justify="right" if name in ("TPP", "PD") else "left")
    colour = {"allowed": "green", "license-required": "yellow", "prohibited": "red"}
    for c in listing["chips"]:
        table.add_row(c["sku"], c["model"], _num(c["tpp"], 0), _num(c["pd"], 2),
                      f"[{colour[c['status']]}]{c['status']}[/]", "\n".join(c["why"]) or "no rule matches")
    return table


def timeline_table(destination: str, rows: list[dict]) -> Table:
    table = Table(title=f"Status changes for destination {destination}", title_justify="left")
    for name in ("SKU", "From", "Status", "Rules"):
        table.add_column(name)
    for r in rows:
        table.add_row(r["sku"], r["date"] or "(before any rule)", r["status"], ", ".join(r["rules"]) or "-")
    return table


def comparison_tables(comparison) -> list[Table]:
    table = Table(title="Scenarios side by side", title_justify="left")
    table.add_column("Metric", no_wrap=True)
    for col in comparison.table.columns:
        table.add_column(str(col), justify="right")
    for metric, row in comparison.table.iterrows():
        cells = []
        for v in row:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("-")
            elif isinstance(v, str):
                cells.append(v)
            elif metric.endswith("_usd"):
                cells.append(format_money(v))
            elif metric.endswith("_share"):
                cells.append(f"{v:.1%}")
            else:
                cells.append(_num(v, 0 if metric.endswith("chips") else 1))
        table.add_row(str(metric), *cells)
    out = [table]
    if len(comparison.differences):
        diff = Table(title="What differs between the inputs", title_justify="left")
        for col in comparison.differences.columns:
            diff.add_column(str(col))
        for rec in comparison.differences.itertuples(index=False):
            diff.add_row(*[str(v) for v in rec])
        out.append(diff)
    return out


def sweep_table(scenario: str, points: list[dict]) -> Table:
    table = Table(title=f"Budget sweep: {scenario}", title_justify="left")
    categories = sorted({c for p in points for c in p["mix_pflops"]})
    for name in ("Total budget", "Status", "Capex", "Eff. PFLOPS", "$/PFLOPS", *categories):
        table.add_column(name, justify="left" if name == "Status" else "right")
    for p in points:
        t = p["totals"]
        table.add_row(format_money(p["total_usd"]), p["status"], format_money(t["capex_usd"]),
                      _num(t["effective_pflops"]),
                      format_money(t["capex_usd"] / t["effective_pflops"]) if t["effective_pflops"] else "-",
                      *[_num(p["mix_pflops"].get(c)) for c in categories])
    return table


def explain_report(result: dict, console: Console) -> None:
    """Limits, binding constraints, marginal values and chips not bought, in words and numbers."""
    console.print(f"[bold]Scenario[/bold] {result['scenario']}   [bold]objective[/bold] {result['objective']}   "
                  f"[bold]status[/bold] {result['status']}")
    if "marginal" not in result:
        console.print("No plan to explain; see the diagnosis:")
        for line in result.get("limits", []):
            console.print(f"  - {line}")
        return
    marginal = result["marginal"]
    if marginal:
        first = marginal[0]
        if first["what"].startswith("extra $1B") and first["milp_resolved"] is not None:
            verb = "buys" if result["objective"] == "max-compute" else "changes the cost by"
            console.print(f"The next $1B {verb} [bold]{first['milp_resolved']:,.1f}[/bold] "
                          f"{first['unit'].split(' per')[0]} (dual estimate {first['dual']:,.1f}).")
    table = Table(title="Marginal values (dual: LP relaxation, local; re-solved: limit moved, solved again)",
                  title_justify="left")
    for name in ("Limit moved", "Unit", "Dual", "LP re-solved", "MILP re-solved"):
        table.add_column(name, justify="left" if name in ("Limit moved", "Unit") else "right")
    for m in marginal:
        table.add_row(m["what"], m["unit"], _num(m["dual"], 2), _num(m["lp_resolved"], 2),
                      _num(m["milp_resolved"], 2))
    console.print(table)
    bind = Table(title="Binding constraints", title_justify="left")
    for name in ("Family", "Constraint", "Slack"):
        bind.add_column(name, justify="right" if name == "Slack" else "left")
    for b in result["binding"]:
        if b["binding"]:
            bind.add_row(b["family"], b["constraint"], _num(b["slack"], 2))
    console.print(bind)
    nb = Table(title="Chips not bought, and why", title_justify="left")
    nb.add_column("SKU", no_wrap=True)
    nb.add_column("Why not")
    for n in result["not_bought"]:
        nb.add_row(n["sku"], n["reason"])
    console.print(nb)
    console.print("[bold]What limits this plan[/bold]")
    for line in result["limits"]:
        console.print(f"  - {line}")
    for note in result["notes"]:
        console.print(f"[dim]{note}[/dim]")


def stress_report(result: dict, console: Console) -> None:
    """Per shock: compute lost or extra cost, stranded spend, recovery; base plan against robust plan."""
    from planner.stress import exposure_frame

    base = result["base"]
    console.print(f"[bold]Stress test[/bold] {result['scenario']} against {result['shocks']}   "
                  f"base plan {base['status']}, {_num(base['totals']['effective_pflops'])} effective PFLOPS, "
                  f"{format_money(base['totals']['capex_usd'])} capex")
    if "base_exposure" not in result:
        console.print("The base scenario has no plan; see `gpuplan plan` for its diagnosis.")
        return
    rob = result.get("robust", {})
    if rob.get("price_of_robustness"):
        p = rob["price_of_robustness"]
        console.print(f"Robust plan: {rob['status']}; price of robustness {_num(p['given_up'], 1)} {p['unit']} "
                      f"({p['relative']:.2%}) when no shock comes.")
    table = Table(title="Exposure per shock: base plan against robust plan", title_justify="left")
    for name in ("Shock", "Prob.", "Base: status", "Base: PFLOPS lost", "Base: stranded", "Robust: status",
                 "Robust: PFLOPS lost", "Robust: stranded"):
        table.add_column(name, justify="left" if name in ("Shock",) else "right")
    for r in exposure_frame(result).to_dict("records"):
        table.add_row(r["shock"], "-" if r["probability"] is None or r["probability"] != r["probability"]
                      else f"{r['probability']:.0%}", r["base_status"], _num(r["base_pflops_lost"]),
                      format_money(r["base_stranded_usd"]), str(r["robust_status"] or "-"),
                      _num(r["robust_pflops_lost"]), format_money(r["robust_stranded_usd"] or 0.0))
    console.print(table)
    for e in result["base_exposure"]:
        console.print(f"\n[bold]{e['shock']}[/bold]: {e['description']}; orders from "
                      f"{e['first_open_quarter'] or '(after the horizon)'} re-planned.")
        if e["status"] not in ("optimal", "feasible"):
            console.print(f"  [red]no plan after the shock ({e['status']})[/red]")
            for s in (e.get("diagnosis") or {}).get("shortfalls", []):
                console.print(f"  target missed: {s['measure']} in {s['period']} short by {_num(s['shortfall'], 1)}")
            continue
        console.print(f"  base plan: {_num(e['compute_lost_pflops'])} effective PFLOPS lost at the last quarter, "
                      f"cost change {format_money(e['extra_cost_usd'])}, stranded {format_money(e['stranded_usd'])}")
        for s in e["stranded"]:
            console.print(f"  stranded: {s['chips']:,} {s['sku']} ordered {s['order_period']} via {s['channel']} "
                          f"({format_money(s['cost_usd'])})")
        if e["recovery"]:
            rec = _chips_by_sku(e["recovery"])
            console.print(f"  recovery purchases: {rec}")


def _chips_by_sku(purchases: list[dict]) -> str:
    by_sku: dict[str, int] = {}
    for p in purchases:
        by_sku[p["sku"]] = by_sku.get(p["sku"], 0) + int(p["chips"])
    return ", ".join(f"{n:,} {sku}" for sku, n in sorted(by_sku.items(), key=lambda kv: -kv[1]))
