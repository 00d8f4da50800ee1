"""Map aggregates (/api/v1/map/...) checked against independent SQL and each other."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

VACANT_SQL = """
SELECT coalesce(sum(r.usable_area_m2), 0), count(*)
FROM rooms r JOIN floors f ON f.id = r.floor_id
WHERE f.valid_to IS NULL AND r.category = 'office'
  AND r.id NOT IN (SELECT room_id FROM occupancies
                   WHERE start_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date
                     AND (end_date IS NULL OR end_date > (now() AT TIME ZONE 'Asia/Shanghai')::date))
"""


def test_summary_matches_sql(client: Any, db: Session) -> None:
    s = client.get("/api/v1/map/summary").json()
    area, n = db.execute(text(VACANT_SQL)).one()
    assert s["vacant_rooms"] == n > 0
    assert s["vacant_office_area_m2"] == pytest.approx(float(area), abs=0.01)
    total = db.execute(
        text(
            "SELECT sum(usable_area_m2), count(*) FROM rooms r JOIN floors f "
            "ON f.id = r.floor_id WHERE f.valid_to IS NULL"
        )
    ).one()
    assert s["usable_area_m2"] == pytest.approx(float(total[0]), abs=0.01)
    assert s["rooms"] == total[1]
    assert s["vacancy_rate"] == pytest.approx(float(area) / s["office_area_m2"], abs=1e-4)
    assert s["findings_available"] is True
    open_findings = db.execute(
        text("SELECT count(*) FROM compliance_findings WHERE status IN ('open', 'rectifying')")
    ).scalar_one()
    assert s["open_findings"] == open_findings


def test_summary_filters_by_region_and_agency_level(client: Any) -> None:
    everything = client.get("/api/v1/map/summary").json()
    hangzhou = client.get("/api/v1/map/summary?region=330100").json()
    county_level = client.get("/api/v1/map/summary?agency_level=county").json()
    assert 0 < hangzhou["usable_area_m2"] < everything["usable_area_m2"]
    assert 0 < county_level["rooms"] < everything["rooms"]


def test_vacancy_bins_add_up_to_the_vacant_area(client: Any, db: Session) -> None:
    area, n = db.execute(text(VACANT_SQL)).one()
    for z in (6, 10, 16):
        d = client.get(f"/api/v1/map/vacancy-bins?z={z}").json()
        assert sum(b[2] for b in d["bins"]) == pytest.approx(float(area), abs=0.05)
        assert sum(b[3] for b in d["bins"]) == n
    coarse = client.get("/api/v1/map/vacancy-bins?z=6").json()["bins"]
    fine = client.get("/api/v1/map/vacancy-bins?z=16").json()["bins"]
    assert len(coarse) < len(fine)  # binned per zoom on the server
    idle = client.get("/api/v1/map/vacancy-bins?z=6&min_idle_days=180").json()["bins"]
    assert sum(b[3] for b in idle) < n


def test_region_stats_roll_up(client: Any, db: Session) -> None:
    cities = client.get("/api/v1/map/region-stats?level=city").json()["regions"]
    counties = client.get("/api/v1/map/region-stats?level=county").json()["regions"]
    assert len(cities) == 11
    assert {c["adcode"] for c in counties} <= set(
        db.execute(text("SELECT adcode FROM regions WHERE level = 'county'")).scalars()
    )
    total = client.get("/api/v1/map/summary").json()
    for level in (cities, counties):
        assert sum(r["buildings"] for r in level) == total["buildings"]
        assert sum(r["usable_area_m2"] for r in level) == pytest.approx(
            total["usable_area_m2"], abs=0.01 * len(level)
        )
    over = db.execute(
        text(
            "SELECT coalesce(sum(excess_m2), 0) FROM compliance_findings "
            "WHERE rule_code = 'office_over_standard' AND status IN ('open', 'rectifying')"
        )
    ).scalar_one()
    assert sum(c["over_standard_m2"] for c in cities) == pytest.approx(float(over), abs=0.05)


def test_building_clusters_count_every_building_in_view(client: Any, db: Session) -> None:
    n = db.execute(text("SELECT count(*) FROM buildings")).scalar_one()
    low = client.get("/api/v1/map/building-clusters?z=7").json()
    high = client.get("/api/v1/map/building-clusters?z=18").json()
    assert low["buildings"] == high["buildings"] == n
    assert len(low["clusters"]) < len(high["clusters"])
    singles = [c for c in high["clusters"] if c[2] == 1]
    assert singles and all(c[3] is not None and c[5] for c in singles)
    bbox = "120.0,30.0,120.4,30.5"
    in_box = db.execute(
        text(
            "SELECT count(*) FROM buildings WHERE footprint && "
            "ST_MakeEnvelope(120.0, 30.0, 120.4, 30.5, 4490)"
        )
    ).scalar_one()
    assert client.get(f"/api/v1/map/building-clusters?z=9&bbox={bbox}").json()["buildings"] == (
        in_box
    )


def test_floor_rooms_table_with_occupants_and_allowances(client: Any, db: Session) -> None:
    row = db.execute(
        text(
            "SELECT r.floor_id, r.id, o.rank_code, a.level FROM rooms r "
            "JOIN occupancies o ON o.room_id = r.id AND o.end_date IS NULL "
            "JOIN agencies a ON a.id = o.agency_id "
            "WHERE r.subcategory = 'office.leader_office' ORDER BY r.id LIMIT 1"
        )
    ).one()
    floor_id, room_id, rank, level = row
    d = client.get(f"/api/v1/map/floors/{floor_id}/rooms").json()
    rooms = client.get(f"/api/v1/rooms?floor={floor_id}&limit=1000").json()
    assert {r["id"] for r in d["rooms"]} == {f["id"] for f in rooms["features"]}
    assert d["totals"]["usable_area_m2"] == pytest.approx(
        sum(float(f["properties"]["usable_area_m2"]) for f in rooms["features"]), abs=0.01
    )
    room = next(r for r in d["rooms"] if r["id"] == room_id)
    occupant = next(o for o in room["occupants"] if o["rank_code"] == rank)
    # the allowance of the standards in effect (the versioned table, not the demo's sizing)
    expected = db.execute(
        text(
            "SELECT a.max_usable_m2 FROM standard_office_allowances a "
            "WHERE a.agency_level = :level AND a.rank_code = :rank AND a.version = ("
            "  SELECT version FROM standard_versions WHERE effective_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date "
            "  ORDER BY effective_date DESC, loaded_at DESC LIMIT 1)"
        ),
        {"level": level, "rank": rank},
    ).scalar_one()
    assert occupant["allowance_m2"] == float(expected)
    assert occupant["rank_zh"] and occupant["rank_zh"] != rank
    assert room["vacant"] is False
    assert room["category_zh"] == "领导人员办公室"


def test_floor_rooms_show_no_allowance_where_the_standards_have_none(
    client: Any, db: Session
) -> None:
    floor_id = db.execute(
        text(
            "SELECT r.floor_id FROM rooms r JOIN occupancies o ON o.room_id = r.id "
            "AND o.end_date IS NULL WHERE r.category = 'office' ORDER BY r.id LIMIT 1"
        )
    ).scalar_one()
    db.execute(text("DELETE FROM standard_office_allowances"))
    d = client.get(f"/api/v1/map/floors/{floor_id}/rooms").json()
    occupants = [o for r in d["rooms"] for o in r["occupants"]]
    assert occupants
    assert all(o["allowance_m2"] is None for o in occupants)


def test_floor_rooms_unknown_or_out_of_scope_is_404(client: Any, client_as: Any) -> None:
    assert client.get("/api/v1/map/floors/999999/rooms").status_code == 404
    outsider = client_as("planner", regions=[330200])  # Ningbo; floor 1 is in Hangzhou
    assert outsider.get("/api/v1/map/floors/1/rooms").status_code == 404
    assert outsider.get("/map/buildings/1").status_code == 404


def test_floor_rooms_vacancy_matches_sql(client: Any, db: Session) -> None:
    floor_id = db.execute(
        text(
            "SELECT r.floor_id FROM rooms r JOIN floors f ON f.id = r.floor_id "
            "WHERE f.valid_to IS NULL AND r.category = 'office' AND r.id NOT IN "
            "(SELECT room_id FROM occupancies WHERE start_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date "
            "AND (end_date IS NULL OR end_date > (now() AT TIME ZONE 'Asia/Shanghai')::date)) ORDER BY r.id LIMIT 1"
        )
    ).scalar_one()
    vacant = set(
        db.execute(
            text(
                "SELECT id FROM rooms WHERE floor_id = :f AND category = 'office' AND id NOT IN "
                "(SELECT room_id FROM occupancies WHERE start_date <= (now() AT TIME ZONE 'Asia/Shanghai')::date "
                "AND (end_date IS NULL OR end_date > (now() AT TIME ZONE 'Asia/Shanghai')::date))"
            ),
            {"f": floor_id},
        ).scalars()
    )
    d = client.get(f"/api/v1/map/floors/{floor_id}/rooms").json()
    assert vacant and {r["id"] for r in d["rooms"] if r["vacant"]} == vacant
