"""Shared builders for supervision tests: a county site with an over-standard office."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.compliance import ComplianceFinding
from backend.db.models import Agency, Room
from backend.supervision import clock
from tests.backend.test_compliance import AS_OF, Site, add_room, evaluate, make_site, occupy

TODAY = dt.date(2026, 12, 1)
EVIL = ("{{7*7}}", "<script>alert(1)</script>", "=1+1", "@SUM(A1)")


@dataclass
class World:
    site: Site
    room: Room
    finding: ComplianceFinding
    county: int


def over_standard_world(db: Session, *, adcode: int | None = None) -> World:
    """A county agency with a 20 m² office for a 正科级 (18 m²): one rule finding."""
    site = make_site(db, adcode=adcode)
    room = add_room(db, site, 20.0)
    occupy(db, room, site.agency, "section_head")
    evaluate(db, site, as_of=AS_OF)
    f = db.scalars(
        select(ComplianceFinding).where(
            ComplianceFinding.room_id == room.id, ComplianceFinding.status != "closed"
        )
    ).one()
    return World(site, room, f, site.building.region_adcode)


def other_county(db: Session, county: int) -> int:
    """A county in another city than ``county``."""
    city = county - county % 100
    return int(
        db.execute(
            select(func.min(Agency.region_adcode)).where(
                ~Agency.region_adcode.between(city, city + 99), Agency.region_adcode % 100 != 0
            )
        ).scalar_one()
    )


def freeze(app: Any, day: dt.date) -> None:
    """Pin the API's "today" (China Standard Time) to ``day``."""
    app.dependency_overrides[clock.today] = lambda: day


def jpeg(
    *,
    size: tuple[int, int] = (64, 48),
    gps: tuple[float, float] | None = None,
    taken: str | None = None,
) -> bytes:
    """A small JPEG, with EXIF time and GPS position when given."""
    im = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    if gps:
        lat, lon = gps

        def dms(v: float) -> tuple[float, float, float]:
            d = int(v)
            m = int((v - d) * 60)
            s = round(((v - d) * 60 - m) * 60, 4)
            return (float(d), float(m), s)

        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", dms(lat), "E", dms(lon)
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 128, 0)).save(buf, "PNG")
    return buf.getvalue()


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
