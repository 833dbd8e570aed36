"""foundation schema

Revision ID: 0001_foundation
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_foundation"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consumption_15min",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("bucket", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("tce", sa.Float(), nullable=False),
        sa.Column("tco2", sa.Float(), nullable=False),
        sa.Column("completeness", sa.Float(), nullable=False),
        sa.Column(
            "computed_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("point_id", "bucket", name=op.f("pk_consumption_15min")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "received_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("point", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"], unique=False)
    op.create_table(
        "dirty_buckets",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("bucket", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column(
            "marked_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("point_id", "bucket", name=op.f("pk_dirty_buckets")),
    )
    op.create_table(
        "factor_sets",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("lag_years", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_factor_sets")),
    )
    op.create_table(
        "intensity_levels",
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("indicator", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("level1", sa.Float(), nullable=True),
        sa.Column("level2", sa.Float(), nullable=True),
        sa.Column("level3", sa.Float(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("product", "indicator", name=op.f("pk_intensity_levels")),
    )
    op.create_table(
        "measures",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("name_zh", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_measures")),
    )
    op.create_table(
        "readings",
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("ts", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("point_id", "ts", name=op.f("pk_readings")),
    )
    op.create_table(
        "coal_coefficients",
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("kgce_per_unit", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "basis IN ('equivalent', 'equal')", name=op.f("ck_coal_coefficients_basis")
        ),
        sa.ForeignKeyConstraint(
            ["measure"], ["measures.code"], name=op.f("fk_coal_coefficients_measure_measures")
        ),
        sa.PrimaryKeyConstraint(
            "measure", "basis", "valid_from", name=op.f("pk_coal_coefficients")
        ),
    )
    op.create_table(
        "emission_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("factor_set", sa.Text(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("data_year", sa.Integer(), nullable=True),
        sa.Column("tco2_per_unit", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["factor_set"],
            ["factor_sets.code"],
            name=op.f("fk_emission_factors_factor_set_factor_sets"),
        ),
        sa.ForeignKeyConstraint(
            ["measure"], ["measures.code"], name=op.f("fk_emission_factors_measure_measures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emission_factors")),
        sa.UniqueConstraint(
            "factor_set",
            "measure",
            "region",
            "data_year",
            name=op.f("uq_emission_factors_factor_set"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("industry", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), server_default="Asia/Shanghai", nullable=False),
        sa.Column("energy_budget_tce", sa.Float(), nullable=True),
        sa.Column("carbon_budget_tco2", sa.Float(), nullable=True),
        sa.Column("factor_set", sa.Text(), nullable=True),
        sa.Column("grid_region", sa.Text(), server_default="national", nullable=False),
        sa.Column("coal_basis", sa.Text(), server_default="equivalent", nullable=False),
        sa.Column("station_kind", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("division_code ~ '^[0-9]{6}$'", name=op.f("ck_sites_division_code")),
        sa.CheckConstraint("kind IN ('enterprise', 'station')", name=op.f("ck_sites_kind")),
        sa.ForeignKeyConstraint(
            ["factor_set"], ["factor_sets.code"], name=op.f("fk_sites_factor_set_factor_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_sites_credit_code")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("protocol", sa.Text(), server_default="mqtt", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_devices_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_devices_site_id")),
    )
    op.create_table(
        "points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("metering_level", sa.SmallInteger(), server_default="1", nullable=False),
        sa.Column("rollover", sa.Float(), nullable=True),
        sa.Column("scale", sa.Float(), server_default="1", nullable=False),
        sa.Column("role", sa.Text(), server_default="consumption", nullable=False),
        sa.Column("product", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('cumulative', 'interval', 'instantaneous')", name=op.f("ck_points_kind")
        ),
        sa.CheckConstraint("metering_level IN (1, 2, 3)", name=op.f("ck_points_metering_level")),
        sa.CheckConstraint("rollover IS NULL OR rollover > 0", name=op.f("ck_points_rollover")),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_points_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure"], ["measures.code"], name=op.f("fk_points_measure_measures")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_points_site_id_sites"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_points_site_id")),
    )


def downgrade() -> None:
    op.drop_table("points")
    op.drop_table("devices")
    op.drop_table("sites")
    op.drop_table("emission_factors")
    op.drop_table("coal_coefficients")
    op.drop_table("readings")
    op.drop_table("measures")
    op.drop_table("intensity_levels")
    op.drop_table("factor_sets")
    op.drop_table("dirty_buckets")
    op.drop_index("ix_dead_letters_received_at", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("consumption_15min")
