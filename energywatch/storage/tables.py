"""The metadata schema (SQLAlchemy Core). Migrations in migrations/versions create it.

Readings and rollups are narrow and keyed by (point_id, time) so that they can be
TimescaleDB hypertables; they carry no foreign key, because ingest validates every point
before it writes and a per-row key check would cost the hot path.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP

from energywatch.storage.balance import BALANCE_SIGN_SQL, NON_FOSSIL_CHECK_SQL

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TZ = TIMESTAMP(timezone=True)


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now())


# --- reference data ----------------------------------------------------------------------

measures = sa.Table(
    "measures",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("name_zh", sa.Text, nullable=False),
)

coal_coefficients = sa.Table(
    "coal_coefficients",
    metadata,
    sa.Column("measure", sa.Text, sa.ForeignKey("measures.code"), primary_key=True),
    sa.Column("basis", sa.Text, primary_key=True),
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("kgce_per_unit", sa.Float, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("edition", sa.Text, nullable=False),
    sa.CheckConstraint("basis IN ('equivalent', 'equal')", name="basis"),
)

factor_sets = sa.Table(
    "factor_sets",
    metadata,
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("lag_years", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
)

emission_factors = sa.Table(
    "emission_factors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("factor_set", sa.Text, sa.ForeignKey("factor_sets.code"), nullable=False),
    sa.Column("measure", sa.Text, sa.ForeignKey("measures.code"), nullable=False),
    sa.Column("region", sa.Text, nullable=True),
    sa.Column("data_year", sa.Integer, nullable=True),
    sa.Column("tco2_per_unit", sa.Float, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    # the default parameters a fuel's factor is made of, which a measured value replaces
    sa.Column("ncv_gj_per_unit", sa.Float),
    sa.Column("carbon_tc_per_tj", sa.Float),
    sa.Column("oxidation", sa.Float),
    sa.UniqueConstraint(
        "factor_set", "measure", "region", "data_year", postgresql_nulls_not_distinct=True
    ),
)

intensity_levels = sa.Table(
    "intensity_levels",
    metadata,
    sa.Column("product", sa.Text, primary_key=True),
    sa.Column("indicator", sa.Text, primary_key=True),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("level1", sa.Float),
    sa.Column("level2", sa.Float),
    sa.Column("level3", sa.Float),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("edition", sa.Text, nullable=False),
    # the first local day the edition judges; it judges until the next edition's valid_from
    sa.Column("valid_from", sa.Date, primary_key=True),
)

# --- registry ----------------------------------------------------------------------------

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("credit_code", sa.String(18), unique=True),
    sa.Column("division_code", sa.String(6), nullable=False),
    sa.Column("industry", sa.Text),
    sa.Column("timezone", sa.Text, nullable=False, server_default="Asia/Shanghai"),
    sa.Column("energy_budget_tce", sa.Float),
    sa.Column("carbon_budget_tco2", sa.Float),
    sa.Column("factor_set", sa.Text, sa.ForeignKey("factor_sets.code")),
    sa.Column("grid_region", sa.Text, nullable=False, server_default="national"),
    sa.Column("coal_basis", sa.Text, nullable=False, server_default="equivalent"),
    sa.Column("station_kind", sa.Text),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    _created_at(),
    sa.CheckConstraint("kind IN ('enterprise', 'station')", name="kind"),
    sa.CheckConstraint("division_code ~ '^[0-9]{6}$'", name="division_code"),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("protocol", sa.Text, nullable=False, server_default="mqtt"),
    sa.Column("password_hash", sa.Text),
    sa.Column("description", sa.Text),
    _created_at(),
    sa.UniqueConstraint("site_id", "code"),
)

# Process units (工序/分厂) of a site, a tree by parent_id; a site without any is one unit.
process_units = sa.Table(
    "process_units",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("process_units.id", ondelete="SET NULL")),
    sa.Column("kind", sa.Text, nullable=False, server_default="production"),
    _created_at(),
    sa.UniqueConstraint("site_id", "code"),
    sa.CheckConstraint("kind IN ('production', 'utility')", name="kind"),
)

# The points the regulator's ranking sums per enterprise: its balance (level 1), its outputs
# and the meters of a product; the rest are sub-meters. Indexed by site (ix_points_ranked,
# migration 0010_ranking_indexes); unqualified, so that a query can state it word for word and
# the planner knows the index holds what it asks for (services/api/queries/reports.py).
RANKED_POINTS_SQL = "balance_sign <> 0 OR role = 'output' OR product IS NOT NULL"

points = sa.Table(
    "points",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    sa.Column(
        "device_id", sa.Integer, sa.ForeignKey("devices.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("measure", sa.Text, sa.ForeignKey("measures.code"), nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("metering_level", sa.SmallInteger, nullable=False, server_default="1"),
    sa.Column("rollover", sa.Float),
    sa.Column("scale", sa.Float, nullable=False, server_default="1"),
    sa.Column("role", sa.Text, nullable=False, server_default="consumption"),
    # own_renewable or green_certificate: level-1 electricity from non-fossil sources, counted
    # in the site total and reported beside it (docs/computation.md, "Non-fossil electricity")
    sa.Column("non_fossil", sa.Text),
    sa.Column("product", sa.Text),
    # Set on a point that carries a data logger's O2-corrected values (HJ 212 ZsRtd/ZsAvg):
    # the reference O2 % they are corrected to (docs/stacks.md).
    sa.Column("corrected_o2", sa.Float),
    sa.Column("balance_sign", sa.SmallInteger, sa.Computed(BALANCE_SIGN_SQL, persisted=True)),
    sa.Column(
        "process_unit_id", sa.Integer, sa.ForeignKey("process_units.id", ondelete="SET NULL")
    ),
    # steam and hot water metered by mass: the state the heat per tonne was computed from
    sa.Column("pressure_mpa", sa.Float),
    sa.Column("temperature_c", sa.Float),
    sa.Column("enthalpy_kj_per_kg", sa.Float),
    sa.Column("return_temperature_c", sa.Float),
    sa.Column("heat_gj_per_t", sa.Float),
    _created_at(),
    sa.UniqueConstraint("site_id", "code"),
    sa.CheckConstraint("kind IN ('cumulative', 'interval', 'instantaneous')", name="kind"),
    sa.CheckConstraint("metering_level IN (1, 2, 3)", name="metering_level"),
    sa.CheckConstraint("rollover IS NULL OR rollover > 0", name="rollover"),
    sa.CheckConstraint("role <> 'export' OR metering_level = 1", name="export_level_1"),
    sa.CheckConstraint(
        "corrected_o2 IS NULL OR (corrected_o2 >= 0 AND corrected_o2 < 21)", name="corrected_o2"
    ),
    sa.CheckConstraint("heat_gj_per_t IS NULL OR heat_gj_per_t > 0", name="heat_gj_per_t"),
    sa.CheckConstraint(NON_FOSSIL_CHECK_SQL, name="non_fossil"),
    sa.Index("ix_points_ranked", "site_id", postgresql_where=sa.text(RANKED_POINTS_SQL)),
)

# Measured net calorific values and carbon contents (实测低位发热量, 实测含碳量) of a site's
# fuel over a period, with where they come from; they replace the defaults for those days.
measured_fuels = sa.Table(
    "measured_fuels",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    sa.Column("measure", sa.Text, sa.ForeignKey("measures.code"), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=False),
    sa.Column("ncv_gj_per_unit", sa.Float),
    sa.Column("carbon_tc_per_tj", sa.Float),
    sa.Column("laboratory", sa.Text, nullable=False),
    sa.Column("report_ref", sa.Text, nullable=False),
    sa.Column("sampled_by", sa.Text, nullable=False),
    sa.Column("measured_on", sa.Date, nullable=False),
    _created_at(),
    sa.UniqueConstraint("site_id", "measure", "valid_from"),
    sa.CheckConstraint("valid_to >= valid_from", name="period"),
    sa.CheckConstraint(
        "ncv_gj_per_unit IS NOT NULL OR carbon_tc_per_tj IS NOT NULL", name="some_value"
    ),
    sa.CheckConstraint("ncv_gj_per_unit IS NULL OR ncv_gj_per_unit > 0", name="ncv"),
    sa.CheckConstraint("carbon_tc_per_tj IS NULL OR carbon_tc_per_tj > 0", name="carbon"),
)

# --- time series -------------------------------------------------------------------------

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("point_id", sa.Integer, primary_key=True),
    sa.Column("ts", TZ, primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("quality", sa.SmallInteger, nullable=False, server_default="0"),
)

dirty_buckets = sa.Table(
    "dirty_buckets",
    metadata,
    sa.Column("point_id", sa.Integer, primary_key=True),
    sa.Column("bucket", TZ, primary_key=True),
    sa.Column("marked_at", TZ, nullable=False, server_default=sa.func.now()),
)

# What each ingest batch touched, one row per committed batch (arrays of point id and bucket
# index, 15-minute steps since 2000-01-01 UTC), folded into dirty_buckets by the rollup: one
# cheap insert per batch instead of an upsert per bucket (see energywatch/storage/dirty_marks.py).
dirty_bucket_log = sa.Table(
    "dirty_bucket_log",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("point_ids", ARRAY(sa.Integer), nullable=False),
    sa.Column("buckets", ARRAY(sa.Integer), nullable=False),
    sa.Column("marked_at", TZ, nullable=False, server_default=sa.func.now()),
)

# Drawn once by every rollup pass: a gap in the numbers one worker drew means another process
# ran a pass meanwhile (services/rollup/counter_state.py).
rollup_passes = sa.Sequence("rollup_passes", metadata=metadata)

consumption_15min = sa.Table(
    "consumption_15min",
    metadata,
    sa.Column("point_id", sa.Integer, primary_key=True),
    sa.Column("bucket", TZ, primary_key=True),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("tce", sa.Float, nullable=False),
    sa.Column("tco2", sa.Float, nullable=False),
    sa.Column("completeness", sa.Float, nullable=False),
    sa.Column("computed_at", TZ, nullable=False, server_default=sa.func.now()),
)

# Kept by the rollup with consumption_15min (storage/daily.py, migration 0003_daily_table).
consumption_daily = sa.Table(
    "consumption_daily",
    metadata,
    sa.Column(
        "point_id", sa.Integer, sa.ForeignKey("points.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("quantity", sa.Float, nullable=False),
    sa.Column("tce", sa.Float, nullable=False),
    sa.Column("tco2", sa.Float, nullable=False),
    sa.Column("completeness", sa.Float, nullable=False),
    sa.Column("computed_at", TZ, nullable=False, server_default=sa.func.now()),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("point", sa.Text),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Index("ix_dead_letters_received_at", "received_at"),
)
