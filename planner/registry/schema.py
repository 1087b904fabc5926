"""The registry's tables at the newest schema revision, as SQLAlchemy Core objects for queries.

The migrations in ``migrations/versions`` create them; a test checks that both agree.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Alembic's table of the schema revision a registry is at
VERSION_TABLE = "gpuplan_schema"

metadata = sa.MetaData()

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    # save (solved and stored), import (stored from a plan JSON) or replan
    sa.Column("origin", sa.String(20), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
    sa.Column("scenario_name", sa.Text, nullable=False),
    sa.Column("scenario_file", sa.Text, nullable=False),
    sa.Column("scenario_text", sa.Text, nullable=False),
    sa.Column("scenario_sha256", sa.String(64), nullable=False),
    sa.Column("catalog_files", sa.Text, nullable=False),  # JSON: file name -> content
    sa.Column("catalog_sha256", sa.String(64), nullable=False),
    sa.Column("shock_text", sa.Text, nullable=True),  # a shock file applied to the inputs (replan)
    sa.Column("shock_name", sa.Text, nullable=True),
    sa.Column("plan_json", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("objective", sa.String(40), nullable=False),
    sa.Column("solver", sa.String(20), nullable=True),
    sa.Column("mip_gap", sa.Float, nullable=True),
    sa.Column("run_seconds", sa.Float, nullable=True),
    sa.Column("gpuplan_version", sa.String(40), nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # save, import, replan, approve, lock
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("through", sa.String(6), nullable=True),  # a lock's last firm quarter
    sa.Index("events_by_version", "version_id", "id"),
)

firm_orders = sa.Table(
    "firm_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, sa.ForeignKey("events.id"), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("order_period", sa.String(6), nullable=False),
    sa.Column("delivery_period", sa.String(6), nullable=False),
    sa.Column("sku", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("site", sa.Text, nullable=True),
    sa.Column("country", sa.String(8), nullable=False),
    sa.Column("term_quarters", sa.Integer, nullable=True),
    sa.Column("servers", sa.Integer, nullable=False),
    sa.Column("chips", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Index("firm_orders_by_event", "event_id"),
)
