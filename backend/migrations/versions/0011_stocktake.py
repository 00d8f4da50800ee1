"""stock-take: ledger rooms and occupants, building ledger facts, campaigns

Buildings may now be registered before they are surveyed: ``buildings.footprint`` becomes
nullable (a building without a location is placed nowhere, never at an invented point).

Revision ID: 0011_stocktake
Revises: 0006_leakproof_overlaps
Create Date: 2026-12-01
"""

# ruff: noqa: S608 - SQL here is DDL built from this module's constants, never from input
from __future__ import annotations

from alembic import op

revision = "0011_stocktake"
down_revision = "0006_leakproof_overlaps"
branch_labels = None
depends_on = None

APP_ROLE = "officemap_app"
UNRESTRICTED = "(SELECT officemap_scope_unrestricted())"
REGIONS = "(SELECT officemap_scope_regions())"
AGENCIES = "(SELECT officemap_scope_agencies())::int[]"

POLICIES = {
    "building_ledger": (
        f"{UNRESTRICTED} OR EXISTS (SELECT 1 FROM buildings b "
        "WHERE b.id = building_ledger.building_id)"
    ),
    "building_agencies": (
        f"{UNRESTRICTED} OR EXISTS (SELECT 1 FROM buildings b "
        "WHERE b.id = building_agencies.building_id)"
    ),
    "ledger_rooms": (
        f"{UNRESTRICTED} OR agency_id = ANY({AGENCIES}) OR region_adcode <@ {REGIONS}"
    ),
    "ledger_occupants": (
        f"{UNRESTRICTED} OR agency_id = ANY({AGENCIES}) OR region_adcode <@ {REGIONS}"
        " OR EXISTS (SELECT 1 FROM ledger_rooms r WHERE r.id = ledger_occupants.ledger_room_id)"
    ),
    "campaigns": (
        f"{UNRESTRICTED} OR region_adcode <@ {REGIONS}"
        " OR EXISTS (SELECT 1 FROM campaign_agencies ca WHERE ca.campaign_id = campaigns.id)"
    ),
    "campaign_agencies": (
        f"{UNRESTRICTED} OR EXISTS (SELECT 1 FROM agencies a "
        "WHERE a.id = campaign_agencies.agency_id)"
    ),
}

DDL = """
ALTER TABLE buildings ALTER COLUMN footprint DROP NOT NULL;

CREATE TABLE building_ledger (
    building_id integer PRIMARY KEY REFERENCES buildings(id) ON DELETE CASCADE,
    location geometry(POINT, 4490),
    location_source varchar(40),
    title_area_m2 numeric(14, 2),
    use varchar(60),
    issued_on date
);
COMMENT ON COLUMN building_ledger.location IS
    'declared location; NULL = location missing (never an invented point)';
CREATE INDEX ix_building_ledger_location ON building_ledger USING gist (location);

CREATE TABLE building_agencies (
    building_id integer NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
    agency_id integer NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    PRIMARY KEY (building_id, agency_id)
);
CREATE INDEX ix_building_agencies_agency ON building_agencies (agency_id);

CREATE TABLE ledger_rooms (
    id bigserial PRIMARY KEY,
    building_id integer NOT NULL REFERENCES buildings(id) ON DELETE CASCADE,
    level smallint NOT NULL,
    number varchar(40) NOT NULL,
    category varchar(16),
    subcategory varchar(40),
    recorded_area_m2 numeric(14, 2) NOT NULL,
    agency_id integer REFERENCES agencies(id),
    region_adcode integer NOT NULL,
    version integer NOT NULL DEFAULT 1,
    CONSTRAINT uq_ledger_rooms UNIQUE (building_id, level, number)
);
COMMENT ON COLUMN ledger_rooms.recorded_area_m2 IS '账面面积 (recorded usable area)';
CREATE INDEX ix_ledger_rooms_agency ON ledger_rooms (agency_id);
CREATE INDEX ix_ledger_rooms_region ON ledger_rooms (region_adcode);

CREATE TABLE ledger_occupants (
    id bigserial PRIMARY KEY,
    ledger_room_id bigint NOT NULL REFERENCES ledger_rooms(id) ON DELETE CASCADE,
    agency_id integer NOT NULL REFERENCES agencies(id),
    person_id varchar(64) NOT NULL,
    person_name varchar(80),
    post_title varchar(120),
    rank_code varchar(40) NOT NULL,
    is_concurrent_post boolean NOT NULL DEFAULT false,
    start_date date,
    region_adcode integer NOT NULL,
    version integer NOT NULL DEFAULT 1,
    CONSTRAINT uq_ledger_occupants UNIQUE (ledger_room_id, person_id)
);
CREATE INDEX ix_ledger_occupants_agency ON ledger_occupants (agency_id);
CREATE INDEX ix_ledger_occupants_region ON ledger_occupants (region_adcode);

CREATE TABLE campaigns (
    id serial PRIMARY KEY,
    name varchar(200) NOT NULL,
    region_adcode integer NOT NULL REFERENCES regions(adcode),
    deadline date NOT NULL,
    created_by varchar(80) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1
);
CREATE INDEX ix_campaigns_region ON campaigns (region_adcode);

CREATE TABLE campaign_agencies (
    campaign_id integer NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    agency_id integer NOT NULL REFERENCES agencies(id),
    status varchar(16) NOT NULL DEFAULT 'not_started',
    reason text,
    signed_by varchar(80),
    submitted_at timestamptz,
    verified_by varchar(80),
    verified_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    PRIMARY KEY (campaign_id, agency_id),
    CONSTRAINT ck_campaign_agencies_status CHECK (status IN
        ('not_started', 'in_progress', 'submitted', 'verified', 'returned'))
);
CREATE INDEX ix_campaign_agencies_agency ON campaign_agencies (agency_id);

-- which of the given credit codes are registered (also outside the caller's scope), so that
-- an import reports "not writable" instead of failing on the unique key; answers only about
-- the codes asked for
CREATE FUNCTION officemap_credit_codes_taken(codes text[]) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
$$ SELECT credit_code FROM agencies WHERE credit_code = ANY(codes) $$;
"""


def upgrade() -> None:
    op.execute(DDL)
    tables = ", ".join(POLICIES)
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {tables} TO {APP_ROLE}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    for table, expr in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_scope ON {table} FOR ALL USING ({expr}) WITH CHECK ({expr})"
        )


def downgrade() -> None:
    for table in reversed(list(POLICIES)):
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
    op.execute("DROP FUNCTION IF EXISTS officemap_credit_codes_taken(text[])")
    op.execute("DELETE FROM buildings WHERE footprint IS NULL")
    op.execute("ALTER TABLE buildings ALTER COLUMN footprint SET NOT NULL")
