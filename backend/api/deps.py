"""Dependencies: sessions, the caller's scope, and query parsing at the edge.

Routes receive typed, checked values (``BBoxDep``, ``PageDep``) and never parse strings.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Annotated, Literal

from cachetools import TTLCache
from fastapi import Depends, Header, Path, Query, Request
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from backend.accounts import auth, users
from backend.accounts.access import Principal
from backend.api.authn import request_credentials, request_token
from backend.db import replica
from backend.db.async_pool import Reader
from backend.db.compliance import FINDING_STATUSES, RULE_CODES
from backend.db.session import engine as session_engine
from backend.db.session import new_session
from backend.inventory.service import BBox, Page
from backend.services.errors import (
    InvalidInput,
    PreconditionRequired,
    StaleVersion,
    Unauthenticated,
)
from backend.services.scope import Scope
from backend.sessions.service import client_address
from backend.settings import auth_settings, paging_settings

MAX_LIMIT = paging_settings().api_max_limit
# ids of the register are PostgreSQL integer (int4) or bigint columns: bound them at the
# edge so an id the column cannot hold is a 422, not a database error
DB_INT_MAX = 2**31 - 1
DB_BIGINT_MAX = 2**63 - 1
# dates the register can hold and compute with (a day after DAY_MAX still exists)
DAY_MIN = dt.date(1900, 1, 1)
DAY_MAX = dt.date(2199, 12, 31)

IdPath = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="id (1 … 2³¹−1)")]
BigIdPath = Annotated[int, Path(ge=1, le=DB_BIGINT_MAX, description="id (1 … 2⁶³−1)")]
IdFilter = Annotated[int | None, Query(ge=1, le=DB_INT_MAX, description="id (1 … 2³¹−1)")]

# Filters shared by several features' routes (parsed here, at the edge, so that route
# modules never import each other). The literals repeat the domain's codes for OpenAPI
# and are checked against them at import.
RegionFilter = Annotated[
    int | None, Query(ge=100000, le=999999, description="region adcode; includes its subtree")
]
RuleCode = Literal[
    "office_over_standard",
    "agency_over_approved",
    "multiple_offices",
    "office_not_recovered",
    "idle_room",
    "idle_floor",
    "unapproved_lease",
    "data_quality",
    "data_quality.overlap",
    "data_quality.outside_floor",
    "data_quality.usable_coefficient",
    "data_quality.uncategorised",
]
FindingStatus = Literal["open", "rectifying", "closed"]
assert set(RuleCode.__args__) == set(RULE_CODES) | {"data_quality"}  # type: ignore[attr-defined]
assert set(FindingStatus.__args__) == set(FINDING_STATUSES)  # type: ignore[attr-defined]


def check_day(value: dt.date | None) -> dt.date | None:
    """A date within DAY_MIN … DAY_MAX (ValueError otherwise: a 422 at the edge)."""
    if value is not None and not DAY_MIN <= value <= DAY_MAX:
        raise ValueError(f"date must lie between {DAY_MIN} and {DAY_MAX}")
    return value


AS_OF_DESCRIPTION = (
    "the state at the end of this day (YYYY-MM-DD, China Standard Time; 1900-01-01 … 2199-12-31)"
)
# a plain Query (usable by async routes without a dependency's thread hop)
AsOfQuery = Annotated[
    dt.date | None, Query(description=AS_OF_DESCRIPTION), AfterValidator(check_day)
]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _caller(request: Request) -> str | None:
    """The username of the request's token, if it carries a valid one (else None)."""
    token = request_token(list(request.scope["headers"]))
    if token is None:
        return None
    try:
        return auth.token_subject(token)
    except Unauthenticated:
        return None


def get_session(request: Request) -> Iterator[Session]:
    """One session per request on the primary, in one transaction committed at the end.

    With read replicas configured, a committed write is noted for its caller, whose reads
    then stay on the primary until the replicas have replayed it (read-your-writes).
    """
    with new_session() as session, session.begin():
        yield session
    if replica.configured() and request.method not in SAFE_METHODS:
        user = _caller(request)
        if user is not None:
            replica.note_write(user, session_engine())


# scope="function": the transaction commits before the response is sent, so an answered
# write is a committed write (with the default request scope FastAPI would commit after
# sending, and a crash or a failing COMMIT in between would lose an acknowledged write)
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_read_session(request: Request, primary: SessionDep) -> Iterator[Session]:
    """For read-only routes: a session on a read replica when one is configured, reachable
    and caught up with the caller's own last write; else the primary's session."""
    session = replica.read_session(_caller(request)) if replica.configured() else None
    if session is None:
        yield primary
        return
    with session, session.begin():
        yield session


# function scope like SessionDep, which it wraps (FastAPI refuses a request-scoped
# dependency on a function-scoped one)
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


async def get_token(token: Annotated[str | None, Depends(request_credentials)]) -> str:
    """The request's token: ``Authorization: Bearer`` or the session cookie (FastAPI's
    security schemes, ``backend.api.authn``); 401 when there is neither."""
    if not token:
        raise auth.not_signed_in()
    return token


TokenDep = Annotated[str, Depends(get_token)]


def _load_principal(session: Session, token: str) -> Principal:
    principal = users.load_principal(session, auth.token_claims(token))
    users.apply_database_scope(session, principal.scope)
    return principal


def get_principal(session: SessionDep, token: TokenDep) -> Principal:
    """The signed-in caller (bearer token or session cookie); 401 when anonymous.

    Roles and scope are read from the users table on every request, and the scope is
    written into the transaction's settings for the row-level security policies.
    """
    return _load_principal(session, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_read_principal(session: ReadSessionDep, token: TokenDep) -> Principal:
    """``get_principal`` on the read session (a replica's when configured), so the scope
    settings for row-level security are written where the route's queries run."""
    return _load_principal(session, token)


ReadPrincipalDep = Annotated[Principal, Depends(get_read_principal)]


async def get_reader(request: Request) -> Reader:
    """The lean read path's database access (the app's async pool; tests use their session)."""
    reader: Reader | None = request.app.state.reader
    if reader is None:
        raise RuntimeError("database not configured: create_app needs a database URL")
    return reader


ReaderDep = Annotated[Reader, Depends(get_reader)]


async def get_token_user(token: TokenDep) -> auth.TokenClaims:
    """The signed-in caller's token claims (bearer token or session cookie); 401 when anonymous.

    For the lean by-id reads, which load the user's roles and scope in the same round trip
    as the object (``users.read_as``), on the event loop without a session; that statement
    also checks that the token was not revoked.
    """
    recent = _verified_tokens().get(token)
    if recent is not None:
        return recent
    claims = auth.token_claims(token)
    _verified_tokens()[token] = claims
    return claims


@lru_cache(maxsize=1)
def _verified_tokens() -> TTLCache[str, auth.TokenClaims]:
    """Tokens whose signature was checked in the last ``token_recheck_s`` seconds (the auth
    gate also checks every request's token, expiry included, before any route runs); used on
    the event loop only, so without a lock."""
    s = auth_settings()
    return TTLCache(maxsize=s.token_cache_entries, ttl=s.token_recheck_s, timer=time.monotonic)


TokenUserDep = Annotated[auth.TokenClaims, Depends(get_token_user)]


def get_client(request: Request) -> str:
    """The client's address for throttling: the peer, or the forwarded address when the peer
    is a configured trusted proxy (``backend.sessions.service.client_address``)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"))


ClientDep = Annotated[str, Depends(get_client)]


def get_scope(principal: PrincipalDep) -> Scope:
    """The caller's scope, enforced by every service query."""
    return principal.scope


ScopeDep = Annotated[Scope, Depends(get_scope)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """Dependency factory: the principal, if it holds one of ``roles`` (else 403)."""

    def check(principal: PrincipalDep) -> Principal:
        principal.require(*roles)
        return principal

    return check


def parse_bbox(
    bbox: Annotated[
        str | None,
        Query(
            description="minLon,minLat,maxLon,maxLat in CGCS2000 (EPSG:4490), lon/lat order",
            examples=["120.0,30.1,120.3,30.4"],
        ),
    ] = None,
) -> BBox | None:
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(
            "bbox must be four finite numbers minLon,minLat,maxLon,maxLat",
            message_zh="bbox 须为四个数字：最小经度,最小纬度,最大经度,最大纬度",
            details={"parameter": "bbox", "value": bbox[:200]},
        )
    minx, miny, maxx, maxy = values
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        hint = " (axes look swapped: lon first)" if -90 <= minx <= 90 and abs(miny) > 90 else ""
        raise InvalidInput(
            f"bbox out of range or min > max{hint}",
            message_zh="bbox 超出经纬度范围或最小值大于最大值",
            details={"parameter": "bbox", "value": bbox[:200]},
        )
    return BBox(minx, miny, maxx, maxy)


BBoxDep = Annotated[BBox | None, Depends(parse_bbox)]


def parse_page(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="page size")
    ] = paging_settings().api_default_limit,
    offset: Annotated[
        int, Query(ge=0, le=paging_settings().max_offset, description="rows to skip")
    ] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(parse_page)]


def parse_if_match(
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='the ETag read with the object, e.g. "3" (required on updates)',
        ),
    ] = None,
) -> int:
    """The version an update is based on: 428 without If-Match, 412 when unreadable."""
    if if_match is None:
        raise PreconditionRequired(
            "If-Match is required: send the ETag of the object you read",
            details={"header": "If-Match"},
        )
    value = if_match.split(",")[0].strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise StaleVersion(
            "If-Match does not name a version of this object", details={"if_match": if_match[:80]}
        )
    return int(value)


IfMatchDep = Annotated[int, Depends(parse_if_match)]


def etag(version: int) -> str:
    return f'"{version}"'


def parse_as_of(as_of: AsOfQuery = None) -> dt.date | None:
    return as_of


AsOfDep = Annotated[dt.date | None, Depends(parse_as_of)]
