"""A built wheel holds every file the packages read at run time (templates, page scripts and
styles, SQL, reference data, migrations): built offline from a copy of the source."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from backend.settings import PROJECT_ROOT

PACKAGES = ("backend", "gis", "map_ui")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "node_modules")


def _source_files() -> set[str]:
    """Every file below the packages (paths relative to the project), as the wheel names them."""
    return {
        p.relative_to(PROJECT_ROOT).as_posix()
        for package in PACKAGES
        for p in (PROJECT_ROOT / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(PROJECT_ROOT / package, src / package, ignore=SKIP)
    out = tmp_path_factory.mktemp("dist")
    # offline: the build backend comes from the project's environment, not an isolated one
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out)],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (whl,) = out.glob("officemap-*.whl")
    return whl


@pytest.fixture(scope="module")
def wheel(wheel_file: Path) -> set[str]:
    with zipfile.ZipFile(wheel_file) as z:
        return set(z.namelist())


def test_the_wheel_holds_every_file_of_the_packages(wheel: set[str]) -> None:
    missing = sorted(_source_files() - wheel)
    assert not missing, f"{len(missing)} files not in the wheel, e.g. {missing[:10]}"


@pytest.mark.parametrize(
    "path",
    [
        "backend/migrations/env.py",
        "backend/migrations/script.py.mako",
        "backend/compliance/sql/compliance.sql",
        "backend/data/space_categories.csv",
        "backend/data/standards/manifest.json",
        "backend/data/regions/townships_2023.csv.gz",
        "backend/data/demo/polymap-imdf/unit.geojson",
        "map_ui/templates/base.html",
        "map_ui/static/officemap.css",
        "map_ui/static/js/api.js",
    ],
)
def test_the_files_read_at_run_time_are_in_it(wheel: set[str], path: str) -> None:
    assert (PROJECT_ROOT / path).is_file(), path  # the test names real files
    assert path in wheel


def test_the_wheel_installs_the_command_line(wheel_file: Path) -> None:
    with zipfile.ZipFile(wheel_file) as z:
        (name,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = z.read(name).decode()
    assert "officemap = backend.cli:main" in entry_points
