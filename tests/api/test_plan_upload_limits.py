"""Plan uploads without Content-Length (chunked): refused with 413 JSON at the byte cap."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy.orm import Session

from backend.plans import service as plans
from tests.api.test_plan_upload import plan, url
from tests.backend.test_plans_support import demo_site
from tests.conftest import bearer

BOUNDARY = "officemap-test-boundary"
CHUNK = 64 * 1024


@pytest.fixture
def max_bytes(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A small upload cap (OFFICEMAP_UPLOAD_MAX_BYTES) for this test."""
    cap = 100_000
    monkeypatch.setenv("OFFICEMAP_UPLOAD_MAX_BYTES", str(cap))
    plans.upload_settings.cache_clear()
    yield cap
    monkeypatch.undo()
    plans.upload_settings.cache_clear()


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (
        (
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + value
        + b"\r\n"
    )


def multipart(file: bytes, **fields: str) -> bytes:
    body = b"".join(part(k, v.encode()) for k, v in fields.items())
    return body + part("file", file, "plan.geojson") + f"--{BOUNDARY}--\r\n".encode()


def chunks(data: bytes) -> Iterator[bytes]:
    """A generator body: httpx sends it chunked, without Content-Length."""
    for i in range(0, len(data), CHUNK):
        yield data[i : i + CHUNK]


def test_chunked_upload_under_the_cap_is_read(client: Any, db: Session, max_bytes: int) -> None:
    site = demo_site(db)
    _, data = plan(site)
    assert len(data) < max_bytes
    r = client.post(
        url(site),
        content=chunks(multipart(data, crs=site.crs, dry_run="true")),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "dry_run" and len(r.json()["rooms"]) == 6


def test_chunked_upload_over_the_cap_is_413_json(client: Any, db: Session, max_bytes: int) -> None:
    site = demo_site(db)
    _, data = plan(site)
    padded = data + b" " * (2 * max_bytes)  # whitespace after the JSON: only the size is wrong
    r = client.post(
        url(site),
        content=chunks(multipart(padded, crs=site.crs, dry_run="true")),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert r.status_code == 413, r.text
    body = r.json()
    assert body["code"] == "payload_too_large" and body["message_zh"]
    assert body["details"]["limit"] == max_bytes


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        got = sock.recv(65536)
        if not got:
            break
        buf += got
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        got = sock.recv(65536)
        if not got:
            break
        rest += got
    return status, headers, rest[:length]


def test_server_answers_413_before_the_chunked_body_ends(
    live_server: str, db: Session, max_bytes: int
) -> None:
    """The body never ends: without the byte count the server would wait for it forever."""
    site = demo_site(db)
    parts = urlsplit(live_server)
    head = (
        f"POST {url(site)} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: {bearer('admin')['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    opening = part("crs", site.crs.encode()) + part("dry_run", b"true")
    opening += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        'filename="plan.geojson"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    sent = 0
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.settimeout(20)
        sock.sendall(head)
        try:
            for blob in [opening] + [b" " * CHUNK] * (4 * max_bytes // CHUNK + 2):
                sock.sendall(f"{len(blob):x}\r\n".encode() + blob + b"\r\n")
                sent += len(blob)
        except OSError:  # the server may answer and close while we are still sending
            pass
        # no terminating zero-length chunk: the request body is still open
        status, headers, body = read_response(sock)
    assert sent > max_bytes
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["code"] == "payload_too_large"
    assert max_bytes < doc["details"]["bytes_received"] <= sent
