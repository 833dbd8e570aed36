"""Process units (工序/分厂): a tree of units per site, points.process_unit_id.

A site without units is one unit, as before (docs/data-model.md, "Process units").

Revision ID: 0007_process_units
Revises: 0006_transformation_flows
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_process_units"
down_revision: str | Sequence[str] | None = "0006_transformation_flows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "process_units",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "site_id",
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE", name="fk_process_units_site_id_sites"),
            nullable=False,
        ),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column(
            "parent_id",
            sa.Integer,
            sa.ForeignKey(
                "process_units.id",
                ondelete="SET NULL",
                name="fk_process_units_parent_id_process_units",
            ),
        ),
        sa.Column("kind", sa.Text, nullable=False, server_default="production"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_process_units"),
        sa.UniqueConstraint("site_id", "code", name="uq_process_units_site_id"),
        sa.CheckConstraint("kind IN ('production', 'utility')", name="ck_process_units_kind"),
    )
    op.add_column(
        "points",
        sa.Column(
            "process_unit_id",
            sa.Integer,
            sa.ForeignKey(
                "process_units.id",
                ondelete="SET NULL",
                name="fk_points_process_unit_id_process_units",
            ),
        ),
    )


def downgrade() -> None:
    op.drop_column("points", "process_unit_id")
    op.drop_table("process_units")
