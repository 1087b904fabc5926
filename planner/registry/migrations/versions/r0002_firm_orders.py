"""Firm orders: the order lines a lock made firm, one row each, for re-plans and diffs.

Revision ID: r0002
Revises: r0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0002"
down_revision: str | None = "r0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``firm_orders``."""
    op.create_table(
        "firm_orders",
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
    )
    op.create_index("firm_orders_by_event", "firm_orders", ["event_id"])


def downgrade() -> None:
    """Drop ``firm_orders``."""
    op.drop_index("firm_orders_by_event", "firm_orders")
    op.drop_table("firm_orders")
