"""Upload limits: a dependency-free module, so settings can default to these numbers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upload limits (the service fills them from settings)."""

    max_bytes: int = 50 * 2**20
    max_unzipped_bytes: int = 200 * 2**20
    max_zip_ratio: float = 100.0
    max_zip_members: int = 64
    max_features: int = 20_000
    max_vertices: int = 2_000_000
    max_feature_vertices: int = 100_000
    max_json_depth: int = 32
    max_dxf_block_entities: int = 50_000
