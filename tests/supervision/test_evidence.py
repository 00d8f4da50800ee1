"""Evidence uploads: sniffed types, archives/oversize refused, EXIF, sha256, scope, roles."""

from __future__ import annotations

import gzip
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.db.models import AuditEvent
from backend.settings import supervision_settings
from backend.supervision.models import Evidence, EvidenceFile
from tests.supervision.helpers import PDF, TODAY, freeze, jpeg, over_standard_world, png


def _counts(db: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(db.execute(select(func.count()).select_from(m)).scalar_one())
        for m in (Evidence, EvidenceFile, AuditEvent)
    )


@pytest.fixture
def item(client: Any, app: Any, db: Session) -> Any:
    """A ledger item of an over-standard finding, its agency's officer."""
    freeze(app, TODAY)
    w = over_standard_world(db)
    r = client.post(
        f"/api/v1/findings/{w.finding.id}/rectification",
        json={"responsible_person": "张三", "deadline": "2026-12-31"},
    )
    assert r.status_code == 201, r.text
    return w


def _post(c: Any, data: bytes, name: str, **fields: Any) -> Any:
    return c.post(
        "/api/v1/evidence",
        files={"file": (name, data, "image/jpeg")},
        data={k: str(v) for k, v in fields.items()},
    )


def test_photo_with_exif_is_stored_by_sha256(client: Any, db: Session, item: Any) -> None:
    data = jpeg(gps=(30.2741, 120.1551), taken="2026:11:30 10:15:00")
    r = _post(client, data, "../../etc/现场 照片.jpg", phase="before", finding_id=item.finding.id)
    assert r.status_code == 201, r.text
    e = r.json()
    import hashlib

    assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["media_type"] == "image/jpeg"
    assert e["filename"] == "现场 照片.jpg"
    assert e["taken_at"] == "2026-11-30T10:15:00+08:00"
    assert abs(e["lat"] - 30.2741) < 1e-4 and abs(e["lon"] - 120.1551) < 1e-4
    assert e["exif"]["make"] == "TestCam"
    # the same bytes again: a second attachment, one stored content
    before = _counts(db)
    r2 = _post(client, data, "again.jpg", phase="after", finding_id=item.finding.id)
    assert r2.status_code == 201
    after = _counts(db)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 0)
    got = client.get(e["content_url"])
    assert got.content == data and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    listed = client.get(f"/api/v1/evidence?finding_id={item.finding.id}").json()
    assert [x["phase"] for x in listed["items"]] == ["before", "after"]
    # other tests (the Chromium flow) commit uploads too: look for this one's event by content
    ev = db.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.upload")).all()
    assert [x for x in ev if (x.after or {}).get("sha256") == e["sha256"]]


def test_png_and_pdf_accepted_without_exif(client: Any, item: Any) -> None:
    for data, mime in ((png(), "image/png"), (PDF, "application/pdf")):
        r = _post(client, data, "x.bin", phase="after", finding_id=item.finding.id)
        assert r.status_code == 201, r.text
        assert r.json()["media_type"] == mime and r.json()["taken_at"] is None
    pdf = client.get(r.json()["content_url"])
    assert pdf.headers["content-disposition"].startswith("attachment")


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("photo.jpg", jpeg())
    return buf.getvalue()


BAD = [
    ("zip archive", _zip(), 415),
    ("jpeg with a zip appended", jpeg() + _zip(), 415),
    ("gzip", gzip.compress(b"x" * 1000), 415),
    ("html named .jpg", b"<html><script>alert(1)</script></html>", 415),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>', 415),
    ("gif", b"GIF89a" + b"\x00" * 100, 415),
    ("empty", b"", 422),
    ("truncated jpeg", jpeg()[:200], 422),
    ("truncated pdf", PDF[:40], 422),
]


@pytest.mark.parametrize(("what", "data", "status"), BAD, ids=[b[0] for b in BAD])
def test_wrong_types_and_archives_are_refused(
    client: Any, db: Session, item: Any, what: str, data: bytes, status: int
) -> None:
    before = _counts(db)
    r = _post(client, data, "photo.jpg", phase="before", finding_id=item.finding.id)
    assert r.status_code == status, (what, r.text)
    assert set(r.json()) == {"code", "message", "message_zh", "details"}
    assert _counts(db) == before


def test_oversize_files_are_refused(
    client: Any, db: Session, item: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFICEMAP_SUPERVISION_EVIDENCE_MAX_BYTES", "2048")
    supervision_settings.cache_clear()
    try:
        before = _counts(db)
        big = jpeg(size=(400, 400))
        assert len(big) > 2048
        r = _post(client, big, "big.jpg", phase="before", finding_id=item.finding.id)
        assert r.status_code == 413, r.text
        huge = b"%PDF-1.4\n" + b"0" * 200_000 + b"\n%%EOF\n"
        r = _post(client, huge, "big.pdf", phase="before", finding_id=item.finding.id)
        assert r.status_code == 413
        assert _counts(db) == before
    finally:
        supervision_settings.cache_clear()


def test_image_pixel_bombs_are_refused(
    client: Any, db: Session, item: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFICEMAP_SUPERVISION_EVIDENCE_MAX_PIXELS", "1000")
    supervision_settings.cache_clear()
    try:
        before = _counts(db)
        r = _post(client, png(), "p.png", phase="before", finding_id=item.finding.id)
        assert r.status_code == 200 or r.status_code == 201  # 100 px
        r = _post(
            client, jpeg(size=(100, 100)), "p.jpg", phase="before", finding_id=item.finding.id
        )
        assert r.status_code == 413
        assert _counts(db)[0] == before[0] + 1
    finally:
        supervision_settings.cache_clear()


def test_bad_fields_are_refused(client: Any, db: Session, item: Any) -> None:
    before = _counts(db)
    f = item.finding.id
    for fields in (
        {"phase": "during", "finding_id": f},
        {"phase": "before"},
        {"phase": "before", "finding_id": f, "check_id": 1},
        {"phase": "check", "finding_id": f},
        {"phase": "before", "finding_id": "1 OR 1=1"},
        {"phase": "before", "finding_id": f, "note": "x" * 501},
    ):
        r = _post(client, jpeg(), "a.jpg", **fields)
        assert r.status_code == 422, (fields, r.text)
    r = client.post("/api/v1/evidence", json={"phase": "before"})
    assert r.status_code == 415
    assert _counts(db) == before


def test_evidence_roles_and_scope(client_as: Any, client: Any, db: Session, item: Any) -> None:
    f = item.finding.id
    own = client_as("agency_officer", agencies=[item.site.agency.id])
    stranger = client_as("agency_officer", agencies=[item.site.agency.id + 100000])
    leader = client_as("leader", regions=[330000])
    surveyor = client_as("surveyor", regions=[330000])
    r = _post(own, jpeg(), "a.jpg", phase="after", finding_id=f)
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert _post(own, jpeg(), "a.jpg", phase="verification", finding_id=f).status_code == 403
    assert _post(stranger, jpeg(), "a.jpg", phase="after", finding_id=f).status_code == 404
    assert _post(leader, jpeg(), "a.jpg", phase="after", finding_id=f).status_code == 403
    assert _post(surveyor, jpeg(), "a.jpg", phase="after", finding_id=f).status_code == 403
    assert stranger.get(f"/api/v1/evidence/{eid}").status_code == 404
    assert stranger.get(f"/api/v1/evidence/{eid}/content").status_code == 404
    assert stranger.get(f"/api/v1/evidence?finding_id={f}").json()["items"] == []
    assert own.get(f"/api/v1/evidence/{eid}/content").status_code == 200
    assert leader.get(f"/api/v1/evidence/{eid}").status_code == 200
