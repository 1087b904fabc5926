"""Plan versions and the audit trail of what was done to them.

Revision ID: r0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``versions`` and ``events``."""
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=True),
        sa.Column("scenario_name", sa.Text, nullable=False),
        sa.Column("scenario_file", sa.Text, nullable=False),
        sa.Column("scenario_text", sa.Text, nullable=False),
        sa.Column("scenario_sha256", sa.String(64), nullable=False),
        sa.Column("catalog_files", sa.Text, nullable=False),
        sa.Column("catalog_sha256", sa.String(64), nullable=False),
        sa.Column("shock_text", sa.Text, nullable=True),
        sa.Column("shock_name", sa.Text, nullable=True),
        sa.Column("plan_json", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("objective", sa.String(40), nullable=False),
        sa.Column("solver", sa.String(20), nullable=True),
        sa.Column("mip_gap", sa.Float, nullable=True),
        sa.Column("run_seconds", sa.Float, nullable=True),
        sa.Column("gpuplan_version", sa.String(40), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("through", sa.String(6), nullable=True),
    )
    op.create_index("events_by_version", "events", ["version_id", "id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("events_by_version", "events")
    op.drop_table("events")
    op.drop_table("versions")
