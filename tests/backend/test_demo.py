"""The demo province: real boundaries, believable plans, areas from geometry."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import DEMO_AS_OF


def scalar(db: Session, sql: str, **params: object) -> object:
    return db.execute(text(sql), params).scalar_one()


def test_regions_are_the_real_zhejiang_hierarchy(db: Session) -> None:
    assert scalar(db, "SELECT name FROM regions WHERE adcode = 330000") == "浙江省"
    assert scalar(db, "SELECT count(*) FROM regions WHERE level = 'city'") == 11
    assert scalar(db, "SELECT count(*) FROM regions WHERE level = 'county'") == 90
    assert scalar(db, "SELECT name FROM regions WHERE adcode = 330106") == "西湖区"
    # every seat lies inside its own boundary; the province is ~105,000 km²
    assert scalar(db, "SELECT count(*) FROM regions WHERE NOT ST_Contains(boundary, seat)") == 0
    km2 = scalar(db, "SELECT ST_Area(boundary::geography) / 1e6 FROM regions WHERE adcode = 330000")
    assert 95_000 < float(km2) < 115_000  # type: ignore[arg-type]


def test_agencies_at_every_level_with_staffing(db: Session) -> None:
    levels = dict(db.execute(text("SELECT level, count(*) FROM agencies GROUP BY level")).all())
    assert set(levels) == {"central", "province", "city", "county", "township"}
    assert scalar(db, "SELECT count(*) FROM agencies WHERE credit_code !~ '^[0-9A-Z]{18}$'") == 0
    assert scalar(db, "SELECT count(*) FROM agency_staffing WHERE quota < 1 OR headcount < 0") == 0


def test_rooms_of_every_category_and_buildings_near_their_seat(db: Session) -> None:
    cats = set(
        db.execute(text("SELECT DISTINCT category FROM rooms WHERE category IS NOT NULL")).scalars()
    )
    assert {"office", "service", "equipment", "ancillary", "technical", "circulation"} <= cats
    far = scalar(
        db,
        """
        SELECT count(*) FROM buildings b JOIN regions r ON r.adcode = b.region_adcode
        WHERE b.source = 'demo generator'
          AND ST_Distance(ST_Centroid(b.footprint)::geography, r.seat::geography) > 6000""",
    )
    assert far == 0


def test_areas_equal_an_independent_postgis_computation(db: Session) -> None:
    # usable area was computed in the building's GK zone; PostGIS in the same zone agrees
    worst = scalar(
        db,
        """
        SELECT max(abs(r.usable_area_raw / ST_Area(ST_Transform(r.geom,
                   CAST(split_part(r.area_method, ':', 3) AS int))) - 1))
        FROM rooms r WHERE r.area_method LIKE 'planar:EPSG:%'""",
    )
    assert float(worst) < 1e-8  # type: ignore[arg-type]
    mismatched = scalar(
        db,
        """
        SELECT count(*) FROM rooms
        WHERE usable_area_m2 <> round(CAST(usable_area_raw AS numeric), 2)""",
    )
    assert mismatched == 0
    geodesic = scalar(
        db, "SELECT max(abs(usable_area_raw / ST_Area(geom::geography) - 1)) FROM rooms"
    )
    assert float(geodesic) < 1e-3  # type: ignore[arg-type]


def test_floor_building_area_applies_the_storey_rule(db: Session) -> None:
    rows = db.execute(
        text("SELECT storey_height_m, outline_area_raw, building_area_m2, area_rule FROM floors")
    ).all()
    assert rows
    for height, raw, counted, rule in rows:
        factor = Decimal(1) if height >= Decimal("2.20") else Decimal("0.5")
        assert abs(counted - Decimal(repr(raw)) * factor) <= Decimal("0.005"), rule
    assert any("half" in r.area_rule for r in rows) or all(r.storey_height_m >= 2.2 for r in rows)


def test_realistic_shares_of_over_standard_and_idle_offices(db: Session) -> None:
    offices = scalar(db, "SELECT count(*) FROM rooms WHERE category = 'office'")
    idle = scalar(
        db,
        """
        SELECT count(*) FROM rooms r WHERE r.category = 'office' AND NOT EXISTS (
            SELECT 1 FROM occupancies o WHERE o.room_id = r.id AND o.end_date IS NULL)""",
    )
    crowded_over = scalar(
        db,
        """
        WITH occ AS (SELECT room_id, count(*) n FROM occupancies WHERE end_date IS NULL GROUP BY room_id)
        SELECT count(*) FROM rooms r JOIN occ ON occ.room_id = r.id
        WHERE r.subcategory = 'office.staff_office' AND r.usable_area_m2 / occ.n > 9 * 2""",
    )
    not_recovered = scalar(
        db,
        """
        SELECT count(*) FROM occupancies WHERE end_date IS NULL AND left_post_on < :d""",
        d=DEMO_AS_OF,
    )
    assert 0.02 < idle / offices < 0.2  # type: ignore[operator]
    assert crowded_over >= 0
    assert not_recovered > 0  # type: ignore[operator]


def test_polymap_imdf_venue_is_loaded_with_mapped_categories(db: Session) -> None:
    rooms = scalar(
        db,
        "SELECT count(*) FROM rooms r JOIN buildings b ON b.id = r.building_id "
        "WHERE b.source LIKE 'PolyMap%'",
    )
    assert rooms == 443
    assert scalar(db, "SELECT count(*) FROM buildings WHERE source LIKE 'PolyMap%'") == 2
    assert (
        scalar(
            db,
            "SELECT count(*) FROM floors f JOIN buildings b ON b.id = f.building_id "
            "WHERE b.source LIKE 'PolyMap%'",
        )
        == 8
    )  # 5 + 3 IMDF levels
    meeting = scalar(
        db,
        "SELECT count(*) FROM rooms r JOIN buildings b ON b.id = r.building_id "
        "WHERE b.source LIKE 'PolyMap%' AND r.subcategory = 'service.meeting'",
    )
    assert meeting == 234 + 77  # classrooms + auditoriums
    unclassified = scalar(db, "SELECT count(*) FROM rooms WHERE subcategory IS NULL")
    assert unclassified == 2  # the two shops, left unclassified on purpose


def test_building_footprints_never_overlap(db: Session) -> None:
    overlaps = scalar(
        db,
        """
        SELECT count(*) FROM buildings a JOIN buildings b
          ON a.id < b.id AND a.footprint && b.footprint AND ST_Intersects(a.footprint, b.footprint)""",
    )
    assert overlaps == 0
