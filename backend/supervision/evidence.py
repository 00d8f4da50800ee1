"""Evidence 佐证材料: photos and PDFs attached to a check or a ledger item.

The type is sniffed from the content (``filetype``), never taken from the name or the
client's Content-Type: JPEG, PNG and PDF only; archives (zip, rar, 7z, gzip, tar…),
polyglots carrying a zip directory, other types, empty and oversize files are refused
with nothing stored. Images are opened by Pillow (decompression-bomb limit) and their
EXIF time and GPS position read when present. Contents are stored once by sha256 in the
database (like plan originals: transactional, backed up with the rest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

import filetype
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.access import Principal
from backend.audit import service as audit
from backend.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
    not_found,
)
from backend.settings import supervision_settings
from backend.supervision import clock
from backend.supervision.access import VERIFY, evidence_visible, rectification_visible
from backend.supervision.models import Evidence, EvidenceFile, Rectification
from backend.supervision.service import get_check

ALLOWED = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


@dataclass(frozen=True)
class Sniffed:
    media_type: str
    exif: dict[str, Any] | None
    taken_at: dt.datetime | None
    lon: float | None
    lat: float | None


def sniff(data: bytes, *, max_bytes: int | None = None, max_pixels: int | None = None) -> Sniffed:
    """Check an upload's content; raise 413/415/422, or return its type and EXIF facts."""
    s = supervision_settings()
    max_bytes = max_bytes or s.evidence_max_bytes
    max_pixels = max_pixels or s.evidence_max_pixels
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"the file has {len(data)} bytes (limit {max_bytes})",
            message_zh=f"文件超过 {max_bytes} 字节上限",
            details={"bytes": len(data), "limit": max_bytes},
        )
    if not data:
        raise InvalidInput("the file is empty", message_zh="文件为空")
    kind = filetype.guess(data)
    allowed = kind is not None and kind.mime in ALLOWED  # (filetype counts PDF as an archive)
    if (filetype.is_archive(data) and not allowed) or _has_zip_directory(data):
        mime = kind.mime if kind else "application/zip"
        raise UnsupportedMediaType(
            f"archives are refused ({mime}): upload the photos or PDFs themselves",
            message_zh="不接受压缩包，请直接上传照片或 PDF",
            details={"detected": mime, "allowed": sorted(ALLOWED)},
        )
    if kind is None or kind.mime not in ALLOWED:
        raise UnsupportedMediaType(
            f"only JPEG, PNG and PDF are accepted (detected {kind.mime if kind else 'unknown'})",
            message_zh="仅接受 JPEG、PNG 照片和 PDF 文件",
            details={"detected": kind.mime if kind else None, "allowed": sorted(ALLOWED)},
        )
    if kind.mime == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise InvalidInput("the PDF is truncated (no %%EOF)", message_zh="PDF 文件不完整")
        return Sniffed(kind.mime, None, None, None, None)
    return _image(data, kind.mime, max_pixels)


def _has_zip_directory(data: bytes) -> bool:
    """A zip central directory anywhere a zip reader would find it (JPEG+zip polyglots)."""
    try:
        return zipfile.is_zipfile(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - a malformed tail is not a zip
        return False


def _image(data: bytes, mime: str, max_pixels: int) -> Sniffed:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                if im.width * im.height > max_pixels:
                    raise PayloadTooLarge(
                        f"the image has {im.width}×{im.height} pixels (limit {max_pixels})",
                        message_zh="图片像素过多",
                        details={"pixels": im.width * im.height, "limit": max_pixels},
                    )
                exif = im.getexif()
            with Image.open(io.BytesIO(data)) as im:
                im.verify()
    except PayloadTooLarge:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PayloadTooLarge(
            "the image is a decompression bomb", message_zh="图片像素过多"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(
            "the image cannot be read",
            message_zh="图片无法读取",
            details={"reason": type(exc).__name__},
        ) from None
    facts, taken_at, lon, lat = read_exif(exif)
    return Sniffed(mime, facts or None, taken_at, lon, lat)


def _ratio(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return float("nan")


def _dms(values: Any, ref: Any) -> float | None:
    try:
        d, m, s = (_ratio(x) for x in values)
    except (TypeError, ValueError):
        return None
    out = d + m / 60 + s / 3600
    if out != out:  # NaN
        return None
    return -out if str(ref).upper() in ("S", "W") else out


def read_exif(
    exif: Image.Exif,
) -> tuple[dict[str, Any], dt.datetime | None, float | None, float | None]:
    """EXIF make/model, time taken (CST unless an offset is given) and GPS lon/lat."""
    facts: dict[str, Any] = {}
    for tag, name in ((0x010F, "make"), (0x0110, "model")):
        if tag in exif:
            facts[name] = _clean(str(exif[tag]), 80)
    taken_at = None
    sub = exif.get_ifd(0x8769)
    raw_time = sub.get(0x9003) or exif.get(0x0132)
    offset = sub.get(0x9011)
    if raw_time:
        facts["datetime_original"] = _clean(str(raw_time), 40)
        try:
            naive = dt.datetime.strptime(str(raw_time).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
            tz: dt.tzinfo = clock.CST
            if offset and re.fullmatch(r"[+-]\d\d:\d\d", str(offset).strip("\x00 ")):
                o = str(offset).strip("\x00 ")
                delta = dt.timedelta(hours=int(o[1:3]), minutes=int(o[4:6]))
                tz = dt.timezone(delta if o[0] == "+" else -delta)
                facts["offset_time_original"] = o
            taken_at = naive.replace(tzinfo=tz)
        except ValueError:
            facts["datetime_unreadable"] = True
    gps = exif.get_ifd(0x8825)
    lat = lon = None
    if gps:
        lat = _dms(gps.get(2), gps.get(1, "N")) if gps.get(2) else None
        lon = _dms(gps.get(4), gps.get(3, "E")) if gps.get(4) else None
        if lat is not None and not -90 <= lat <= 90:
            lat = None
        if lon is not None and not -180 <= lon <= 180:
            lon = None
        if lat is not None and lon is not None:
            facts["gps"] = {"lat": round(lat, 7), "lon": round(lon, 7)}
    return facts, taken_at, lon, lat


def _clean(text: str, limit: int) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")[:limit]


def safe_filename(name: str | None, ext: str) -> str:
    """The client's file name without folders or control characters, at most 255 chars."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _clean(base, 200).strip(" .") or f"evidence.{ext}"
    return base


def evidence_dict(e: Evidence) -> dict[str, Any]:
    return {
        "id": e.id,
        "sha256": e.sha256,
        "filename": e.filename,
        "media_type": e.media_type,
        "size_bytes": e.size_bytes,
        "phase": e.phase,
        "check_id": e.check_id,
        "rectification_id": e.rectification_id,
        "exif": e.exif,
        "taken_at": e.taken_at.isoformat() if e.taken_at else None,
        "lon": e.lon,
        "lat": e.lat,
        "note": e.note,
        "uploaded_by": e.uploaded_by,
        "uploaded_at": e.uploaded_at.isoformat() if e.uploaded_at else None,
        "content_url": f"/api/v1/evidence/{e.id}/content",
    }


def _subject(
    session: Session,
    *,
    principal: Principal,
    phase: str,
    check_id: int | None,
    finding_id: int | None,
) -> tuple[dict[str, Any], int, int | None]:
    """The subject an upload attaches to (checked for scope and role), region and agency."""
    if (check_id is None) == (finding_id is None):
        raise InvalidInput(
            "name exactly one of check_id or finding_id", message_zh="须指定核查记录或整改事项之一"
        )
    if check_id is not None:
        if phase != "check":
            raise InvalidInput("evidence of a check has phase 'check'", details={"field": "phase"})
        if not principal.has_any("admin", "inspector"):
            raise Forbidden(
                "only inspectors attach evidence to checks", message_zh="仅检查人员可上传核查佐证"
            )
        c = get_check(session, check_id, principal=principal)
        return {"check_id": c.id}, c.region_adcode, c.agency_id
    if phase == "check":
        raise InvalidInput(
            "evidence of a ledger item is before, after or verification", details={"field": "phase"}
        )
    r = session.scalars(
        select(Rectification).where(
            Rectification.finding_id == finding_id, rectification_visible(principal.scope)
        )
    ).one_or_none()
    if r is None:
        raise not_found("rectification of finding", finding_id)
    if r.status == "closed":
        raise Conflict("the item is closed (已销号)", message_zh="该事项已销号")
    officer = principal.has_any("agency_officer") and (
        principal.scope.unrestricted or r.responsible_agency_id in principal.scope.agencies
    )
    if phase == "verification" and not principal.has_any(*VERIFY):
        raise Forbidden(
            "only inspectors add verification evidence", message_zh="仅检查人员可上传核验材料"
        )
    if not (principal.has_any("admin", "inspector") or officer):
        raise Forbidden(
            "only inspectors and the responsible agency attach evidence",
            message_zh="仅检查人员和整改责任单位可上传佐证材料",
        )
    region = r.region_adcode if r.region_adcode is not None else 0
    return {"rectification_id": r.id}, region, r.responsible_agency_id


def _store_content(session: Session, sha: str, media_type: str, data: bytes) -> None:
    """The content, once per sha256. A plain INSERT in a savepoint: the row may exist
    unseen (its evidence outside the caller's scope), and ``ON CONFLICT`` would need the
    new row to pass the read policy, which only a visible evidence row grants."""
    try:
        with session.begin_nested():
            session.execute(
                insert(EvidenceFile).values(
                    sha256=sha, media_type=media_type, size_bytes=len(data), content=data
                )
            )
    except IntegrityError:
        pass  # the same bytes are stored already


def upload(
    session: Session,
    *,
    data: bytes,
    filename: str | None,
    phase: str,
    check_id: int | None,
    finding_id: int | None,
    note: str | None,
    principal: Principal,
) -> dict[str, Any]:
    """Check and store one evidence file for a check or ledger item (audited)."""
    subject, region, agency = _subject(
        session, principal=principal, phase=phase, check_id=check_id, finding_id=finding_id
    )
    facts = sniff(data)
    sha = hashlib.sha256(data).hexdigest()
    _store_content(session, sha, facts.media_type, data)
    e = Evidence(
        sha256=sha,
        filename=safe_filename(filename, ALLOWED[facts.media_type]),
        media_type=facts.media_type,
        size_bytes=len(data),
        phase=phase,
        region_adcode=region,
        agency_id=agency,
        exif=facts.exif,
        taken_at=facts.taken_at,
        lon=facts.lon,
        lat=facts.lat,
        note=note,
        uploaded_by=principal.username,
        **subject,
    )
    session.add(e)
    session.flush()
    result = evidence_dict(e)
    audit.record(
        session,
        actor=principal.username,
        action="evidence.upload",
        object_type="evidence",
        object_id=e.id,
        after={k: v for k, v in result.items() if k != "content_url"},
    )
    return result


def get(session: Session, evidence_id: int, *, principal: Principal) -> Evidence:
    e = session.scalars(
        select(Evidence).where(Evidence.id == evidence_id, evidence_visible(principal.scope))
    ).one_or_none()
    if e is None:
        raise not_found("evidence", evidence_id)
    return e


def content(session: Session, evidence_id: int, *, principal: Principal) -> tuple[Evidence, bytes]:
    e = get(session, evidence_id, principal=principal)
    data = session.execute(select(EvidenceFile.content).where(EvidenceFile.sha256 == e.sha256))
    return e, bytes(data.scalar_one())


def list_for(
    session: Session,
    *,
    principal: Principal,
    check_id: int | None = None,
    finding_id: int | None = None,
) -> dict[str, Any]:
    where = [evidence_visible(principal.scope)]
    if check_id is not None:
        get_check(session, check_id, principal=principal)
        where.append(Evidence.check_id == check_id)
    if finding_id is not None:
        where.append(
            Evidence.rectification_id.in_(
                select(Rectification.id).where(
                    Rectification.finding_id == finding_id, rectification_visible(principal.scope)
                )
            )
        )
    rows = session.scalars(select(Evidence).where(*where).order_by(Evidence.id).limit(1000)).all()
    n = session.execute(select(func.count()).select_from(Evidence).where(*where)).scalar_one()
    return {
        "numberMatched": n,
        "numberReturned": len(rows),
        "items": [evidence_dict(e) for e in rows],
    }
