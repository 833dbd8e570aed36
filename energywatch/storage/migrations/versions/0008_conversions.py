"""Conversions: steam and hot water by mass, measured fuel values, editions of the levels.

- points: the state (pressure, temperature, or a fixed enthalpy, and the return temperature)
  of a steam or hot-water point metered in tonnes, and the heat per tonne computed from it at
  registry import (docs/computation.md, "Steam and hot water metered in tonnes");
- emission_factors: the default NCV, carbon content and oxidation rate a fuel's factor is made
  of, so that a measured value can replace one of them;
- measured_fuels: measured net calorific values and carbon contents per site, fuel and period,
  with their provenance;
- intensity_levels: `valid_from`, the first day an edition judges, joins the primary key, so
  that several editions of a product's levels live side by side. Rows already there keep the
  date 2000-01-01 (judging every day) until the seed writes the dated editions;
- every stored tce is now at the equivalent value: the electricity buckets of sites that
  registered `coal_basis: equal` are marked for the rollup to convert again.

Revision ID: 0008_conversions
Revises: 0007_process_units
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_conversions"
down_revision: str | Sequence[str] | None = "0007_process_units"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POINT_COLUMNS = (
    "pressure_mpa",
    "temperature_c",
    "enthalpy_kj_per_kg",
    "return_temperature_c",
    "heat_gj_per_t",
)
_FACTOR_COLUMNS = ("ncv_gj_per_unit", "carbon_tc_per_tj", "oxidation")


def upgrade() -> None:
    for column in _POINT_COLUMNS:
        op.add_column("points", sa.Column(column, sa.Float(), nullable=True))
    op.create_check_constraint(
        "ck_points_heat_gj_per_t", "points", "heat_gj_per_t IS NULL OR heat_gj_per_t > 0"
    )
    for column in _FACTOR_COLUMNS:
        op.add_column("emission_factors", sa.Column(column, sa.Float(), nullable=True))
    op.create_table(
        "measured_fuels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("ncv_gj_per_unit", sa.Float()),
        sa.Column("carbon_tc_per_tj", sa.Float()),
        sa.Column("laboratory", sa.Text(), nullable=False),
        sa.Column("report_ref", sa.Text(), nullable=False),
        sa.Column("sampled_by", sa.Text(), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name="fk_measured_fuels_site_id_sites",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["measure"], ["measures.code"], name="fk_measured_fuels_measure_measures"
        ),
        sa.UniqueConstraint("site_id", "measure", "valid_from", name="uq_measured_fuels_site_id"),
        sa.CheckConstraint("valid_to >= valid_from", name="ck_measured_fuels_period"),
        sa.CheckConstraint(
            "ncv_gj_per_unit IS NOT NULL OR carbon_tc_per_tj IS NOT NULL",
            name="ck_measured_fuels_some_value",
        ),
        sa.CheckConstraint(
            "ncv_gj_per_unit IS NULL OR ncv_gj_per_unit > 0", name="ck_measured_fuels_ncv"
        ),
        sa.CheckConstraint(
            "carbon_tc_per_tj IS NULL OR carbon_tc_per_tj > 0", name="ck_measured_fuels_carbon"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_measured_fuels"),
    )
    op.add_column(
        "intensity_levels",
        sa.Column("valid_from", sa.Date(), nullable=False, server_default="2000-01-01"),
    )
    op.alter_column("intensity_levels", "valid_from", server_default=None)
    op.drop_constraint("pk_intensity_levels", "intensity_levels", type_="primary")
    op.create_primary_key(
        "pk_intensity_levels", "intensity_levels", ["product", "indicator", "valid_from"]
    )
    op.execute(
        "INSERT INTO dirty_buckets (point_id, bucket)"
        " SELECT DISTINCT r.point_id,"
        " date_bin('15 minutes', r.ts, TIMESTAMPTZ '2000-01-01 00:00+00')"
        " FROM readings r JOIN points p ON p.id = r.point_id JOIN sites s ON s.id = p.site_id"
        " WHERE s.coal_basis = 'equal' AND p.measure = 'electricity'"
        " ON CONFLICT (point_id, bucket) DO UPDATE SET marked_at = now()"
    )


def downgrade() -> None:
    # Only the latest edition of each product's levels fits the old key.
    op.execute(
        "DELETE FROM intensity_levels lv USING intensity_levels newer"
        " WHERE newer.product = lv.product AND newer.indicator = lv.indicator"
        " AND newer.valid_from > lv.valid_from"
    )
    op.drop_constraint("pk_intensity_levels", "intensity_levels", type_="primary")
    op.create_primary_key("pk_intensity_levels", "intensity_levels", ["product", "indicator"])
    op.drop_column("intensity_levels", "valid_from")
    op.drop_table("measured_fuels")
    for column in _FACTOR_COLUMNS:
        op.drop_column("emission_factors", column)
    op.drop_constraint("ck_points_heat_gj_per_t", "points", type_="check")
    for column in _POINT_COLUMNS:
        op.drop_column("points", column)
