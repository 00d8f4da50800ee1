"""Response schemas of the JSON routes, as the OpenAPI document shows them.

Routes that build their JSON in SQL (GeoJSON features and collections) return it as is and
declare these schemas for the document; the schemathesis run in the test suite checks the
answers against them. Every model allows extra members: the schemas name what clients can
rely on, without freezing what a route may add.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.plans.schemas import PlanIssue, PlanReport

__all__ = [
    "ErrorBody",
    "Feature",
    "FeatureCollection",
    "Health",
    "PlanIssue",
    "PlanReport",
    "Occupancy",
    "OccupancyList",
    "Finding",
    "FindingList",
    "Token",
    "Me",
    "SCHEMAS",
    "GEOJSON",
    "geojson_response",
]

GEOJSON = "application/geo+json"
OPEN = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    """Every error: a machine code, an English and a Chinese message, details."""

    model_config = OPEN
    code: str
    message: str
    message_zh: str
    details: Any = None
    request_id: str | None = Field(
        default=None, description="on unhandled errors: quote it when reporting the problem"
    )


class Feature(BaseModel):
    """A GeoJSON Feature in CGCS2000 lon/lat (EPSG:4490)."""

    model_config = OPEN
    type: Literal["Feature"]
    id: int | str | None = None
    geometry: dict[str, Any] | None
    properties: dict[str, Any] | None


class FeatureCollection(BaseModel):
    """A page of GeoJSON Features with the total matched."""

    model_config = OPEN
    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int | None = None
    numberReturned: int | None = None


class Health(BaseModel):
    model_config = OPEN
    status: Literal["ok"]
    database: dict[str, Any] | None = None


class Occupancy(BaseModel):
    model_config = OPEN
    id: int
    room_id: int
    agency_id: int
    person_name: str | None
    rank_code: str | None
    start_date: str
    end_date: str | None
    version: int


class OccupancyList(BaseModel):
    model_config = OPEN
    items: list[Occupancy]
    numberReturned: int
    limit: int
    offset: int


class Finding(BaseModel):
    model_config = OPEN
    id: int
    rule_code: str
    object_type: str
    status: str


class FindingList(BaseModel):
    model_config = OPEN
    numberMatched: int
    numberReturned: int
    findings: list[Finding]


class Token(BaseModel):
    model_config = OPEN
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class Me(BaseModel):
    model_config = OPEN
    username: str
    roles: list[str]
    scope: dict[str, Any]


# models registered in the document's components (for "$ref"s in route declarations)
SCHEMAS: tuple[type[BaseModel], ...] = (ErrorBody, Feature, FeatureCollection, PlanIssue)


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def geojson_response(model: type[BaseModel], description: str) -> dict[str, Any]:
    """A route's 200 answer: GeoJSON whose schema is ``model``."""
    return {"description": description, "content": {GEOJSON: {"schema": ref(model)}}}
