"""GET /api/v1/enumerations: the pages' one source of values and labels (no copies in JS)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from backend import domain, reference
from backend.compliance.service import MANUAL_RULE_NAMES, RULE_NAMES
from backend.stocktake.service import TRANSITIONS

JS = Path(__file__).resolve().parents[2] / "map_ui" / "static" / "js"


def test_every_enumeration_with_both_labels_from_its_home(client: Any) -> None:
    r = client.get("/api/v1/enumerations")
    assert r.status_code == 200
    body = r.json()
    values = {name: [e["value"] for e in entries] for name, entries in body.items()}
    assert values["agency_level"] == list(domain.AGENCY_LEVELS)
    assert values["ownership"] == list(domain.OWNERSHIP_KINDS)
    assert values["building_status"] == list(domain.BUILDING_STATUSES)
    assert values["space_category"] == list(reference.category_groups())
    assert set(values["finding_rule"]) == set(RULE_NAMES) | set(MANUAL_RULE_NAMES)
    for entries in body.values():
        for e in entries:
            assert e["name_zh"] and e["name_en"], e
    circulation = next(e for e in body["space_category"] if e["value"] == "circulation")
    assert circulation["name_zh"] == reference.category_groups()["circulation"].name_zh
    # the declaration workflow: every allowed move, and only those
    moves = {(e["value"], n) for e in body["campaign_status"] for n in e["next"]}
    assert moves == set(TRANSITIONS)
    assert all(e["next"] is None for e in body["agency_level"])


def test_enumerations_need_a_signed_in_caller(anon_client: Any) -> None:
    assert anon_client.get("/api/v1/enumerations").status_code == 401


def test_page_scripts_hold_no_copies_of_enumerations() -> None:
    """Value lists and labels of the domain's enumerations are fetched, not written in JS."""
    listed = [
        domain.AGENCY_LEVELS,
        domain.BUILDING_STATUSES,
        ("special", "annual", "spot", "follow_up"),
        ("not_started", "in_progress", "submitted"),
    ]
    for script in JS.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        for values in listed:
            quoted = r"\s*,\s*".join(f'"{v}"' for v in values[:3])
            assert not re.search(quoted, source), (script.name, values)
        for zh in ("待整改", "已整改待核验", "县（区）", "未填报"):
            code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
            assert zh not in code, (script.name, zh)
