"""Uploads run off the event loop: /health keeps answering while a maximal plan (the
feature limit's worth of rooms) is read and validated on the same server."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.accounts.auth import issue_token
from benchmarks.b12_isolation import maximal_plan, multipart
from gis.crs import gk3_zone_crs


def test_health_answers_during_a_maximal_upload(live_server: str, engine: Any) -> None:
    with Session(engine) as session:
        building_id, lon, lat = session.execute(
            text(
                "SELECT id, ST_X(ST_Centroid(footprint)), ST_Y(ST_Centroid(footprint))"
                " FROM buildings WHERE (source IS NULL OR source NOT LIKE '%IMDF%')"
                " AND EXISTS (SELECT 1 FROM floors f WHERE f.building_id = buildings.id"
                " AND f.level = 1) ORDER BY id LIMIT 1"
            )
        ).one()
    body, ctype = multipart(
        {"crs": gk3_zone_crs(lon), "dry_run": "true"}, "maximal.geojson", maximal_plan((lon, lat))
    )
    request = urllib.request.Request(
        f"{live_server}/api/v1/buildings/{building_id}/floors/1/plan",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {issue_token('admin')}", "Content-Type": ctype},
    )
    outcome: dict[str, Any] = {}

    def upload() -> None:
        try:
            with urllib.request.urlopen(request, timeout=600) as r:
                outcome["status"] = r.status
        except urllib.error.HTTPError as exc:
            outcome["status"] = exc.code
        outcome["finished"] = time.monotonic()

    thread = threading.Thread(target=upload)
    thread.start()
    answered_during_upload = 0
    while thread.is_alive():
        with urllib.request.urlopen(f"{live_server}/api/v1/health", timeout=600) as r:
            assert r.status == 200
            answered = time.monotonic()
        if "finished" not in outcome or answered < outcome["finished"]:
            answered_during_upload += 1
    thread.join()
    assert outcome["status"] == 200
    # health was served again and again while the upload was being validated: the event
    # loop was never held by it (a blocked loop would answer only after the upload)
    assert answered_during_upload >= 3, answered_during_upload
