"""Settings, one pydantic-settings class per concern; nothing else reads ``os.environ``."""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gis.io.limits import Limits

if TYPE_CHECKING:
    from gis.pipeline import Thresholds

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    """Where the data lives. Without a URL the app runs its own embedded cluster."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_DATABASE_")

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL (postgresql+psycopg://…). Unset: embedded cluster.",
    )
    app_url: str | None = Field(
        default=None,
        description=(
            "URL of the LOGIN role requests run as (a member of officemap_app; neither owner,"
            " superuser nor BYPASSRLS). Needed with `url`; the embedded cluster makes its own."
        ),
    )
    pool_size: int = 10
    echo: bool = False


class StateSettings(BaseSettings):
    """Local state: the embedded cluster, uploaded originals, caches."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_STATE_")

    dir: Path = PROJECT_ROOT / ".state"
    os_user: str = Field(
        default="officemap",
        description="Unprivileged OS user that owns the embedded cluster when run as root.",
    )


class ServerSettings(BaseSettings):
    """HTTP server."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_SERVER_")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    os_user: str = Field(
        default="officemap-web",
        description=(
            "Unprivileged OS user the server runs as when started as root (created on first"
            " use; not the database's OS user, so the app cannot read the cluster's files)."
        ),
    )


class MapSettings(BaseSettings):
    """Map pages."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_MAP_")

    basemap_url: str | None = Field(
        default=None,
        description="XYZ tile URL template for the basemap; unset: no basemap (offline intranets).",
    )
    basemap_attribution: str = ""
    assets_dir: Path = PROJECT_ROOT / "node_modules"
    tile_cache_entries: int = Field(
        default=4096, ge=0, description="In-process vector tile cache size; 0 turns it off."
    )


class DemoSettings(BaseSettings):
    """Demo province generator."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_DEMO_")

    province_adcode: int = 330000
    seed: int = 20261126
    buildings: int = 400
    load_on_first_start: bool = True


@lru_cache
def database_settings() -> DatabaseSettings:
    return DatabaseSettings()


@lru_cache
def state_settings() -> StateSettings:
    return StateSettings()


@lru_cache
def server_settings() -> ServerSettings:
    return ServerSettings()


@lru_cache
def map_settings() -> MapSettings:
    return MapSettings()


@lru_cache
def demo_settings() -> DemoSettings:
    return DemoSettings()


# reference data ships inside the package (package data of the wheel), not beside it
DATA_DIR = Path(__file__).resolve().parent / "data"


class AuthSettings(BaseSettings):
    """Authentication: JWT signing and the session cookie (sessions: ``SessionSettings``)."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_AUTH_")

    secret: str | None = Field(
        default=None,
        description="HS256 signing key; unset: generated once and kept in the state dir.",
    )
    issuer: str = "officemap"
    audience: str = "officemap-api"
    token_minutes: int = 480
    cookie_name: str = "officemap_session"
    token_recheck_s: float = Field(
        default=5.0,
        gt=0,
        description="seconds a verified token's signature is trusted by the lean by-id reads "
        "(the sign-in gate still checks every request's token, expiry included)",
    )
    token_cache_entries: int = Field(
        default=10_000, ge=1, description="tokens remembered for that (least recently used go)"
    )
    principal_cache_entries: int = Field(
        default=10_000,
        ge=1,
        description="users whose last roles and scope the lean reads start from (each read "
        "checks them against the users row in the same transaction)",
    )


@lru_cache
def auth_settings() -> AuthSettings:
    return AuthSettings()


def _address_list(value: object) -> object:
    """A comma-separated string (the usual form in an environment variable) as a list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


AddressList = Annotated[list[str], NoDecode, BeforeValidator(_address_list)]


class SessionSettings(BaseSettings):
    """Sessions: cross-site request checks, trusted proxies and login throttling."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_SESSION_")

    allowed_origins: AddressList = Field(
        default_factory=list,
        description="Origins besides the server's own host allowed to send cookie-signed "
        "writes (scheme://host[:port], comma-separated), e.g. the public name behind a proxy.",
    )
    trusted_proxies: AddressList = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is "
        "believed; default none: the peer address is the client.",
    )
    login_free_failures: int = Field(
        default=5,
        ge=1,
        description="failed sign-ins of one user name from one client before delays",
    )
    login_free_failures_per_client: int = Field(
        default=30,
        ge=1,
        description="failed sign-ins from one client (any user names) before delays; higher, "
        "as an office behind one NAT address shares it",
    )
    login_base_delay_seconds: float = Field(
        default=2.0, gt=0, description="first delay; doubles with each further failure"
    )
    login_max_delay_seconds: float = Field(default=900.0, gt=0, description="longest delay")
    login_window_seconds: int = Field(
        default=3600, ge=1, description="a key's failures are forgotten this long after its last"
    )


class AuditSettings(BaseSettings):
    """Audit trail: the key of the HMAC chain, kept outside the database."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_AUDIT_")

    key: str | None = Field(
        default=None,
        description=(
            "HMAC key of the audit chain (hex or any text); unset: generated once into"
            " the state dir (audit-key, mode 0600). Never stored in the database."
        ),
    )


@lru_cache
def session_settings() -> SessionSettings:
    return SessionSettings()


@lru_cache
def audit_settings() -> AuditSettings:
    return AuditSettings()


class LedgerSettings(BaseSettings):
    """Ledger import (清查登记造册): file limits and the 账实不符 tolerance."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_LEDGER_")

    max_bytes: int = Field(default=256 * 2**20, description="largest workbook or CSV accepted")
    max_unzipped_bytes: int = Field(default=3 * 2**30, description="xlsx parts inflated, total")
    max_zip_ratio: float = Field(default=200.0, description="inflated / compressed, per part")
    max_zip_members: int = 2_000
    max_rows: int = Field(default=3_000_000, description="data rows of one file, all sheets")
    max_errors: int = Field(default=1_000, description="errors listed in a report (all counted)")
    area_tolerance_pct: float = Field(
        default=3.0, description="账实不符 when recorded and geometric area differ by more (%)"
    )
    area_tolerance_m2: float = Field(
        default=0.5, description="… and by more than this many m² (small rooms)"
    )


@lru_cache
def ledger_settings() -> LedgerSettings:
    return LedgerSettings()


class SupervisionSettings(BaseSettings):
    """Supervision: evidence uploads, reminders (env prefix OFFICEMAP_SUPERVISION_)."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_SUPERVISION_")

    evidence_max_bytes: int = Field(
        default=20 * 2**20, ge=1024, description="largest evidence file (photo or PDF)"
    )
    evidence_max_pixels: int = Field(
        default=80_000_000, ge=1, description="largest image (pixels); more is refused"
    )
    reminder_days: int = Field(
        default=7, ge=0, le=365, description="reminders list items due within this many days"
    )
    max_ledger_rows: int = Field(default=100_000, ge=1, description="largest 整改台账 export")


@lru_cache
def supervision_settings() -> SupervisionSettings:
    return SupervisionSettings()


class FastPathSettings(BaseSettings):
    """Cached tiles served before the app (no database): how long a principal is trusted."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_FASTPATH_")

    principal_ttl_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "seconds a signed-in user's roles and scope are reused by cached tile hits; a grant, "
            "revoke, deactivation or token revocation applies to them within this time (at once "
            "when the audited data version moves); 0 = off"
        ),
    )
    cache_entries: int = Field(
        default=10_000,
        ge=1,
        description="tokens (and their principals) remembered by the cached-tile path",
    )


@lru_cache
def fastpath_settings() -> FastPathSettings:
    return FastPathSettings()


class ReplicaSettings(BaseSettings):
    """Streaming read replicas: read-only routes read there, writes go to the primary."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_REPLICA_")

    urls: list[str] = Field(
        default_factory=list,
        description=(
            'replica URLs as a JSON list, e.g. ["postgresql+psycopg://…@replica1/officemap"]; '
            "empty: every read on the primary (libpq's target_session_attrs=read-only also works "
            "inside one multi-host URL)"
        ),
    )


@lru_cache
def replica_settings() -> ReplicaSettings:
    return ReplicaSettings()


class UploadSettings(BaseSettings):
    """Plan upload limits and validation thresholds (env prefix OFFICEMAP_UPLOAD_)."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_UPLOAD_")

    # the file limits default to gis.io.Limits (one place for the numbers)
    max_bytes: int = Limits.max_bytes
    max_unzipped_bytes: int = Limits.max_unzipped_bytes
    max_zip_ratio: float = Limits.max_zip_ratio
    max_zip_members: int = Limits.max_zip_members
    max_features: int = Limits.max_features
    max_vertices: int = Limits.max_vertices
    max_feature_vertices: int = Limits.max_feature_vertices
    max_json_depth: int = Limits.max_json_depth
    min_room_m2: float = 1.0
    max_room_m2: float = 2_000.0
    absurd_room_m2: float = 100_000.0
    overlap_tolerance_m2: float = 0.01
    outside_tolerance_m2: float = 0.05
    georef_max_rms_m: float = 0.05
    geodesic_tolerance: float = 0.001
    far_from_building_m: float = 200.0
    usable_coefficient_min: float | None = None
    usable_coefficient_max: float | None = None
    workers: int = Field(
        default=2, ge=1, le=64, description="plan imports running at once (worker threads)"
    )
    max_dxf_block_entities: int = Field(
        default=Limits.max_dxf_block_entities,
        ge=1,
        description="DXF: entities that block inserts would expand to, counted before expanding",
    )

    def limits(self) -> Limits:
        """The reader's limits (gis.io)."""
        return Limits(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Limits)})

    def thresholds(self) -> Thresholds:
        """The validation thresholds (gis.pipeline)."""
        from gis.pipeline import Thresholds

        names = [f.name for f in dataclasses.fields(Thresholds)]
        return Thresholds(**{name: getattr(self, name) for name in names})


@lru_cache
def upload_settings() -> UploadSettings:
    return UploadSettings()


class TileSettings(BaseSettings):
    """Vector tiles (``backend.maps.tiles``): encoding and the in-process cache's timing (its
    size: ``OFFICEMAP_MAP_TILE_CACHE_ENTRIES``)."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_TILES_")

    extent: int = Field(default=4096, ge=256, le=65_536, description="MVT tile extent (units)")
    buffer: int = Field(
        default=64, ge=0, le=1024, description="MVT buffer around a tile, in extent units"
    )
    cache_ttl_s: float = Field(
        default=300.0, gt=0, description="seconds a cached tile is served at most"
    )
    data_version_check_s: float = Field(
        default=1.0,
        ge=0,
        description="seconds between reads of the data version (the newest audit event); "
        "edits through another worker reach this worker's cached tiles within this time",
    )
    points_below_zoom: int = Field(
        default=16, ge=0, le=24, description="findings are drawn as points below this zoom"
    )


@lru_cache
def tile_settings() -> TileSettings:
    return TileSettings()


class MapDataSettings(BaseSettings):
    """Map aggregates (``backend.maps.map_data``: region statistics, clusters, vacancy bins,
    the leaders' summary): their result cache, per data version."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_MAP_DATA_")

    cache_ttl_s: float = Field(
        default=120.0, gt=0, description="seconds an aggregate is served from the cache at most"
    )
    cache_entries: int = Field(default=256, ge=1, description="aggregates kept (LRU)")


@lru_cache
def map_data_settings() -> MapDataSettings:
    return MapDataSettings()


class PagingSettings(BaseSettings):
    """Page sizes of the lists: the API's (``limit``/``offset``) and OGC API – Features'.

    The bounds are part of each route's declared parameters and of the OpenAPI documents,
    so they are read once, when the app's modules are imported."""

    model_config = SettingsConfigDict(env_prefix="OFFICEMAP_PAGING_")

    api_default_limit: int = Field(default=100, ge=1, description="/api/v1 lists' page size")
    api_max_limit: int = Field(default=10_000, ge=1, description="largest /api/v1 page")
    max_offset: int = Field(default=10_000_000, ge=0, description="largest offset (both APIs)")
    ogc_default_limit: int = Field(default=10, ge=1, description="/ogc items' page size")
    ogc_max_limit: int = Field(default=10_000, ge=1, description="largest /ogc page")


@lru_cache
def paging_settings() -> PagingSettings:
    return PagingSettings()
