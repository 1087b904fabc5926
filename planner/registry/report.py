"""The registry's tables for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.outputs.render import Col, bullets, heading, money, num, say, table
from planner.registry.store import quarter_key

if TYPE_CHECKING:
    from rich.console import Console

    from planner.registry.diff import Diff
    from planner.registry.replan import Replanned
    from planner.registry.store import Event, Version


def _when(v: Version | Event) -> str:
    at = v.created_at if hasattr(v, "created_at") else v.at
    return at.strftime("%Y-%m-%d %H:%M")


def _state(v: Version) -> str:
    if v.locked_through is not None:
        return f"locked {v.locked_through}"
    return "approved" if v.approved else "-"


def versions_table(versions: list[Version], location: str, con: Console) -> None:
    """One row per version."""
    if not versions:
        say(con, f"No plan versions in {location} yet; store one with `gpuplan registry save SCENARIO`.")
        return
    cols = [
        Col("id", right=True, key=True),
        Col("created (UTC)"),
        Col("by"),
        Col("scenario"),
        Col("from"),
        Col("eff. PFLOPS", right=True),
        Col("capex", right=True),
        Col("leases", right=True),
        Col("state"),
    ]
    rows = []
    for v in versions:
        t = v.plan.get("totals", {})
        origin = v.origin if v.parent_id is None else f"{v.origin} of {v.parent_id}"
        rows.append(
            [
                v.id,
                _when(v),
                v.created_by,
                v.scenario_name,
                origin,
                num(t.get("effective_pflops"), 0),
                money(t.get("capex_usd")),
                money(t.get("lease_usd")),
                _state(v),
            ]
        )
    con.print(table(con, f"Plan versions in {location}", cols, rows))


def version_report(v: Version, con: Console) -> None:
    """A version's record and its plan's order lines."""
    heading(con, f"Version {v.id}: {v.scenario_name}")
    fields = [
        f"created {_when(v)} UTC by {v.created_by} ({v.origin}"
        + (f" of version {v.parent_id})" if v.parent_id is not None else ")"),
        f"status {v.status}, objective {v.objective}"
        + (f", solver {v.solver} at gap {v.mip_gap:g} in {v.run_seconds:.2f} s" if v.solver else ""),
        f"scenario file {v.scenario_file} (sha256 {v.scenario_sha256[:12]}), catalog sha256 {v.catalog_sha256[:12]}"
        + (f", shock {v.shock_name!r}" if v.shock_name else ""),
        f"approved: {'yes' if v.approved else 'no'}; firm through: {v.locked_through or 'nothing firm'}",
        f"gpuplan {v.gpuplan_version}",
    ]
    bullets(con, fields)
    t = v.plan.get("totals", {})
    say(
        con,
        f"Effective PFLOPS {num(t.get('effective_pflops'), 0)}; capex {money(t.get('capex_usd'))}; "
        f"lease commitments {money(t.get('lease_usd'))}; electricity {money(t.get('opex_usd'))}.",
    )
    lines = v.plan.get("purchases", [])
    cols = [
        Col("ordered", key=True),
        Col("site / country"),
        Col("sku", key=True),
        Col("channel"),
        Col("kind"),
        Col("chips", right=True),
        Col("cost", right=True),
        Col("firm"),
    ]
    rows = [
        [
            p["order_period"],
            p["site"] or p["country"],
            p["sku"],
            p["channel"],
            p["kind"] if p["kind"] == "buy" else f"lease {p.get('term_quarters')}q",
            num(p["chips"], 0),
            money(p["cost_usd"]),
            "yes"
            if v.locked_through is not None
            and quarter_key(p["order_period"]) <= quarter_key(v.locked_through)
            else "",
        ]
        for p in lines
    ]
    con.print(table(con, f"Orders ({len(rows)} lines)", cols, rows))


def history_table(events: list[Event], con: Console) -> None:
    """The audit trail."""
    cols = [
        Col("event", right=True, key=True),
        Col("at (UTC)"),
        Col("version", right=True),
        Col("action"),
        Col("by"),
        Col("note"),
    ]
    rows = [
        [
            e.id,
            _when(e),
            e.version_id,
            f"{e.action} through {e.through}" if e.through else e.action,
            e.by,
            e.note or "",
        ]
        for e in events
    ]
    con.print(table(con, "Registry history", cols, rows))


def replan_report(r: Replanned, con: Console) -> None:
    """What a re-plan did."""
    heading(con, f"Version {r.version.id}: re-plan of version {r.parent}")
    firm = f"{len(r.firm)} firm order lines through {r.through} kept" if r.through else "no order was firm"
    lines = [firm]
    if r.kept_approved:
        lines.append(
            "the approved plan is still optimal within the MIP gap under the new inputs: kept as it was"
        )
    t = r.plan.totals
    lines.append(
        f"effective PFLOPS {num(t['effective_pflops'], 0)}; capex {money(t['capex_usd'])}; "
        f"lease commitments {money(t.get('lease_usd', 0.0))}"
    )
    if r.stranded:
        lines.append(
            f"stranded firm orders: {len(r.stranded)} lines, {money(r.stranded_usd)} paid for nothing"
        )
    bullets(con, lines)
    if r.stranded:
        cols = [
            Col("ordered", key=True),
            Col("delivered"),
            Col("sku", key=True),
            Col("channel"),
            Col("kind"),
            Col("site / country"),
            Col("chips", right=True),
            Col("stranded", right=True),
        ]
        rows = [
            [
                s["order_period"],
                s["delivery_period"],
                s["sku"],
                s["channel"],
                s["kind"],
                s["site"] or s["country"],
                num(s["chips"], 0),
                money(s["cost_usd"]),
            ]
            for s in r.stranded
        ]
        con.print(table(con, "Stranded firm orders (the new rules forbid them)", cols, rows))


def diff_report(d: Diff, con: Console) -> None:
    """Totals and the order lines that changed."""
    heading(
        con,
        f"From version {d.before.id} ({d.before.scenario_name}) to {d.after.id} ({d.after.scenario_name})",
    )
    money_rows = {"capex_usd", "lease_usd", "opex_usd", "cost_usd", "budget_usd"}

    def shown(metric: str, x: float | None) -> str:
        return money(x) if metric in money_rows else num(x, 0)

    cols = [
        Col("figure", key=True),
        Col("before", right=True),
        Col("after", right=True),
        Col("change", right=True),
    ]
    rows = [
        [
            r["label"],
            shown(r["metric"], r["before"]),
            shown(r["metric"], r["after"]),
            shown(r["metric"], r["change"]),
        ]
        for r in d.totals.to_dict("records")
    ]
    con.print(table(con, "Totals", cols, rows))
    if d.lines.empty:
        say(con, "No order line changed.")
        return
    cols = [
        Col("ordered", key=True),
        Col("sku", key=True),
        Col("change"),
        Col("site / country"),
        Col("channel"),
        Col("chips", right=True),
        Col("cost", right=True),
        Col("firm"),
    ]
    rows = [
        [
            r["order_period"],
            r["sku"],
            r["change"],
            r["site"] if isinstance(r["site"], str) else r["country"],
            r["channel"] if r["kind"] == "buy" else f"{r['channel']} ({r['term_quarters']}q lease)",
            f"{num(r['chips_before'], 0)} -> {num(r['chips_after'], 0)}",
            f"{money(r['cost_before_usd'])} -> {money(r['cost_after_usd'])}",
            "firm" if r["firm"] else "",
        ]
        for r in d.lines.to_dict("records")
    ]
    con.print(table(con, f"Order lines that changed ({len(rows)})", cols, rows))
