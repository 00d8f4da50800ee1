"""The OGC API – Features conformance suite ``ogctests`` (PyPI) against a live server.

The suite pins its own httpx/pytest, so it lives in ``.state/ogctests-venv`` (made by
``scripts/setup.sh --test``) and runs as a separate pytest process against the live
server, as the admin and as the agency officer; its HTTP client carries the Bearer token
(``ogctests_plugin/ogc_bearer.py``, the suite's documented client override).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from backend.accounts.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
VENV_PYTHON = ROOT / ".state" / "ogctests-venv" / "bin" / "python"
PLUGIN_DIR = Path(__file__).with_name("ogctests_plugin")


def run_suite(live_server: str, user: str, scope: str, tmp_path: Path) -> dict[str, str]:
    """Run one part of ogctests; test name → outcome (passed / failed / skipped / error)."""
    assert VENV_PYTHON.exists(), "run scripts/setup.sh --test (it installs ogctests)"
    package = subprocess.run(
        [str(VENV_PYTHON), "-c", "import ogctests, os; print(os.path.dirname(ogctests.__file__))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    report = tmp_path / f"{user}-{scope.replace('/', '-')}.xml"
    env = dict(
        os.environ,
        INSTANCE_URL=f"{live_server}/ogc",
        CLIENT_OVERRIDDEN="True",
        OGC_TEST_TOKEN=issue_token(user),
        PYTHONPATH=str(PLUGIN_DIR),
    )
    out = subprocess.run(
        [str(VENV_PYTHON), "-m", "pytest", f"{package}/{scope}", "-p", "ogc_bearer",
         "-p", "no:cacheprovider", "-q", "--rootdir", package, f"--junit-xml={report}",
         "-W", "ignore"],
        capture_output=True, text=True, env=env, cwd=package, timeout=900, check=False,
    )  # fmt: skip
    assert report.exists(), out.stdout[-3000:] + out.stderr[-3000:]
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        state = "passed"
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                state = f"{tag}: {(found.get('message') or '')[:300]}"
        outcomes[case.get("name", "?")] = state
    return outcomes


def _empty_for(live_server: str, user: str, collection: str) -> bool:
    url = f"{live_server}/ogc/collections/{collection}/items?limit=1"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {issue_token(user)}"})
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - loopback test server
        return int(json.loads(r.read())["numberMatched"]) == 0


@pytest.mark.parametrize("user", ["admin", "officer"])
def test_features_core(live_server: str, user: str, tmp_path: Path) -> None:
    outcomes = run_suite(live_server, user, "features/core", tmp_path)
    assert len(outcomes) >= 20
    failed = {k: v for k, v in outcomes.items() if v != "passed"}
    if user == "officer" and "test_ast22" in failed:
        # the suite wants features in every collection; the officer's agency has no idle
        # room (an empty collection is valid): allowed only when that is really so
        empty = re.findall(
            r"No features listed at /collections/([\w-]+)/items", failed["test_ast22"]
        )
        assert empty and all(_empty_for(live_server, user, c) for c in empty), failed
        assert not any(_empty_for(live_server, "admin", c) for c in empty)
        del failed["test_ast22"]
    assert not failed, failed


# ogctests 0.1.15's filtering part has defects of its own: ct2 stores the Link header's
# target under "iri" and ct3 then fetches [None] (a list of the missing "href"), so every
# test that reads what ct3 should have stored fails with a KeyError (ct7 would also send
# dicts as filter-lang values);
# ct10 names an undefined CQL2_FILTER_LANG. Those abstract tests are covered by
# test_ogc_api.py (valid/invalid filters in both languages, unknown queryables, CRS84).
SUITE_DEFECTS = {
    "test_ct3": "Expected str or httpx.URL, got <class 'list'>: [None]",
    "test_ct5": "KeyError: 'queryable'",
    "test_ct7": "KeyError: 'queryable'",
    "test_ct8": "KeyError: 'queryable'",
    "test_ct9": "KeyError: 'additional_properties'",
    "test_ct10": "KeyError: 'spatial_queryable'",
}


def test_features_filtering(live_server: str, tmp_path: Path) -> None:
    outcomes = run_suite(live_server, "admin", "features/filtering", tmp_path)
    for name in ("test_ct1", "test_ct2", "test_ct4", "test_ct6"):
        assert outcomes[name] == "passed", (name, outcomes[name])
    for name, signature in SUITE_DEFECTS.items():
        assert outcomes[name] == "passed" or signature in outcomes[name], (name, outcomes[name])
