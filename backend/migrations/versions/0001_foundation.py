"""foundation: regions, agencies, buildings, floors, rooms, occupancy, audit

Revision ID: 0001_foundation
Revises: (none)
Create Date: 2026-11-26 04:26:34.092714
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("object_id", sa.String(length=80), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "regions",
        sa.Column("adcode", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_adcode", sa.Integer(), nullable=True),
        sa.Column(
            "boundary",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "seat",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
            comment="Seat of government (政府驻地) as given by the boundary source",
        ),
        sa.Column("source", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "level IN ('province', 'city', 'county', 'township')", name="ck_regions_level"
        ),
        sa.ForeignKeyConstraint(
            ["parent_adcode"],
            ["regions.adcode"],
        ),
        sa.PrimaryKeyConstraint("adcode"),
    )
    op.create_index(
        "idx_regions_boundary", "regions", ["boundary"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_regions_parent_adcode"), "regions", ["parent_adcode"], unique=False)
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True, comment="统一社会信用代码"),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column(
            "approved_office_area_m2",
            sa.Numeric(precision=14, scale=2),
            nullable=True,
            comment="核定面积 (approved office area) where an approval exists",
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level IN ('central', 'province', 'city', 'county', 'township')",
            name="ck_agencies_level",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["agencies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_adcode"],
            ["regions.adcode"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credit_code"),
    )
    op.create_index(op.f("ix_agencies_name"), "agencies", ["name"], unique=False)
    op.create_index(op.f("ix_agencies_parent_id"), "agencies", ["parent_id"], unique=False)
    op.create_index(op.f("ix_agencies_region_adcode"), "agencies", ["region_adcode"], unique=False)
    op.create_table(
        "agency_staffing",
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("rank_code", sa.String(length=40), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False, comment="编制 (staffing quota)"),
        sa.Column("headcount", sa.Integer(), nullable=False, comment="实有人数 (actual headcount)"),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agency_id", "rank_code"),
    )
    op.create_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("region_adcode", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True, comment="Managing / main using agency"),
        sa.Column(
            "footprint",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("ownership", sa.String(length=16), nullable=False),
        sa.Column("registered_owner", sa.String(length=200), nullable=True, comment="登记权利人"),
        sa.Column("land_certificate_no", sa.String(length=64), nullable=True, comment="土地证号"),
        sa.Column(
            "building_certificate_no", sa.String(length=64), nullable=True, comment="房屋产权证号"
        ),
        sa.Column("year_built", sa.SmallInteger(), nullable=True),
        sa.Column("storeys_above", sa.SmallInteger(), nullable=True),
        sa.Column("storeys_below", sa.SmallInteger(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("footprint_area_m2", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("area_method", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "ownership IN ('owned', 'leased', 'borrowed')", name="ck_buildings_ownership"
        ),
        sa.CheckConstraint(
            "status IN ('in_use', 'partly_idle', 'idle', 'under_renovation', 'disposed')",
            name="ck_buildings_status",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_adcode"],
            ["regions.adcode"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_buildings_footprint", "buildings", ["footprint"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_buildings_agency_id"), "buildings", ["agency_id"], unique=False)
    op.create_index(op.f("ix_buildings_name"), "buildings", ["name"], unique=False)
    op.create_index(
        op.f("ix_buildings_region_adcode"), "buildings", ["region_adcode"], unique=False
    )
    op.create_table(
        "floors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column(
            "level",
            sa.SmallInteger(),
            nullable=False,
            comment="Level number; negative below ground",
        ),
        sa.Column("name", sa.String(length=40), nullable=True),
        sa.Column(
            "storey_height_m",
            sa.Numeric(precision=5, scale=2),
            nullable=True,
            comment="结构层高 (structural storey height)",
        ),
        sa.Column(
            "outline",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "outline_area_raw",
            sa.Double(),
            nullable=True,
            comment="Planar outline area at full precision (m²)",
        ),
        sa.Column(
            "building_area_m2",
            sa.Numeric(precision=14, scale=2),
            nullable=True,
            comment="建筑面积 counted under the area rule, 0.01 m² half-up",
        ),
        sa.Column("area_rule", sa.Text(), nullable=True),
        sa.Column("area_method", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "valid_from",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_floors_outline", "floors", ["outline"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_floors_building_id"), "floors", ["building_id"], unique=False)
    op.create_index(
        "uq_floors_current_level",
        "floors",
        ["building_id", "level"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "rooms",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("floor_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True, comment="space category group"),
        sa.Column(
            "subcategory",
            sa.String(length=40),
            nullable=True,
            comment="code in space_categories.csv",
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4490,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("usable_area_raw", sa.Double(), nullable=False, comment="full precision (m²)"),
        sa.Column(
            "usable_area_m2",
            sa.Numeric(precision=14, scale=2),
            nullable=False,
            comment="使用面积, 0.01 m² half-up",
        ),
        sa.Column("area_method", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
        ),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["floor_id"], ["floors.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("idx_rooms_geom", "rooms", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_rooms_agency_id"), "rooms", ["agency_id"], unique=False)
    op.create_index(op.f("ix_rooms_building_id"), "rooms", ["building_id"], unique=False)
    op.create_index(op.f("ix_rooms_floor_id"), "rooms", ["floor_id"], unique=False)
    op.create_table(
        "occupancies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("person_name", sa.String(length=80), nullable=True),
        sa.Column(
            "person_id",
            sa.String(length=64),
            nullable=True,
            comment="Stable identifier of the person across agencies",
        ),
        sa.Column("post_title", sa.String(length=120), nullable=True),
        sa.Column("rank_code", sa.String(length=40), nullable=False),
        sa.Column("is_concurrent_post", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("concurrent_approved", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True, comment="Room vacated on"),
        sa.Column(
            "left_post_on",
            sa.Date(),
            nullable=True,
            comment="Person transferred / retired / left the concurrent post on",
        ),
        sa.Column("left_post_reason", sa.String(length=24), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "left_post_reason IS NULL OR left_post_reason IN ('transfer', 'retirement', 'left_concurrent_post', 'other')",
            name="ck_occupancies_reason",
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name="ck_occupancies_dates"
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_occupancies_agency_id"), "occupancies", ["agency_id"], unique=False)
    op.create_index(op.f("ix_occupancies_person_id"), "occupancies", ["person_id"], unique=False)
    op.create_index(op.f("ix_occupancies_room_id"), "occupancies", ["room_id"], unique=False)

    # current floors are the ones with no valid_to; most reads ask for those
    op.create_index(
        "ix_floors_building_current",
        "floors",
        ["building_id"],
        postgresql_where=sa.text("valid_to IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_floors_building_current", table_name="floors")
    op.drop_index(op.f("ix_occupancies_room_id"), table_name="occupancies")
    op.drop_index(op.f("ix_occupancies_person_id"), table_name="occupancies")
    op.drop_index(op.f("ix_occupancies_agency_id"), table_name="occupancies")
    op.drop_table("occupancies")
    op.drop_index(op.f("ix_rooms_floor_id"), table_name="rooms")
    op.drop_index(op.f("ix_rooms_building_id"), table_name="rooms")
    op.drop_index(op.f("ix_rooms_agency_id"), table_name="rooms")
    op.drop_index("idx_rooms_geom", table_name="rooms", postgresql_using="gist")
    op.drop_table("rooms")
    op.drop_index(
        "uq_floors_current_level", table_name="floors", postgresql_where=sa.text("valid_to IS NULL")
    )
    op.drop_index(op.f("ix_floors_building_id"), table_name="floors")
    op.drop_index("idx_floors_outline", table_name="floors", postgresql_using="gist")
    op.drop_table("floors")
    op.drop_index(op.f("ix_buildings_region_adcode"), table_name="buildings")
    op.drop_index(op.f("ix_buildings_name"), table_name="buildings")
    op.drop_index(op.f("ix_buildings_agency_id"), table_name="buildings")
    op.drop_index("idx_buildings_footprint", table_name="buildings", postgresql_using="gist")
    op.drop_table("buildings")
    op.drop_table("agency_staffing")
    op.drop_index(op.f("ix_agencies_region_adcode"), table_name="agencies")
    op.drop_index(op.f("ix_agencies_parent_id"), table_name="agencies")
    op.drop_index(op.f("ix_agencies_name"), table_name="agencies")
    op.drop_table("agencies")
    op.drop_index(op.f("ix_regions_parent_adcode"), table_name="regions")
    op.drop_index("idx_regions_boundary", table_name="regions", postgresql_using="gist")
    op.drop_table("regions")
    op.drop_table("audit_events")
