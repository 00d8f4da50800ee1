#!/usr/bin/env bash
# Idempotent setup of everything OfficeMap needs on a Debian machine.
#   scripts/setup.sh          runtime: PostgreSQL + PostGIS, Python env, map assets
#   scripts/setup.sh --test   also Chromium (browser tests) and gdal-bin (benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
    if [[ $apt_updated -eq 0 ]]; then
        as_root apt-get update -q >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# PostgreSQL server + PostGIS from the system packages, where absent.
pg_major() { ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1; }
if [[ -z "$(pg_major)" || ! -x "/usr/lib/postgresql/$(pg_major)/bin/initdb" ]]; then
    echo "setup: installing PostgreSQL"
    apt_install postgresql postgresql-contrib
fi
PG=$(pg_major)
if ! ls /usr/share/postgresql/"$PG"/extension/postgis.control >/dev/null 2>&1; then
    echo "setup: installing PostGIS for PostgreSQL $PG"
    apt_install "postgresql-$PG-postgis-3"
fi
# the packaged cluster is not used: OfficeMap runs its own (embedded) one
if command -v node >/dev/null 2>&1; then :; else
    echo "setup: installing Node.js + npm"
    apt_install nodejs npm
fi
if [[ $want_test -eq 1 ]]; then
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v ogr2ogr >/dev/null 2>&1 || missing+=(gdal-bin)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v pgbench >/dev/null 2>&1 || missing+=("postgresql-contrib")
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "setup: installing ${missing[*]}"
        apt_install "${missing[@]}" fonts-noto-cjk
    fi
fi

# Python environment with the project (editable) and its dev tools.
if ! command -v python3 >/dev/null 2>&1; then
    echo "setup: installing Python 3"
    apt_install python3 python3-venv python3-dev
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "setup: installing python3-venv"
    apt_install python3-venv
fi
if [[ ! -x .venv/bin/python ]]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
fi
stamp=.venv/.officemap-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "setup: installing Python packages"
    log=.venv/pip-install.log
    if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e '.[dev]'; } >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "setup: pip install failed (full log: $log)" >&2
        exit 1
    fi
    touch "$stamp"
fi

# The OGC API conformance suite (ogctests) pins its own httpx/pytest/pyarrow: its own venv,
# used by tests/ogc/test_conformance_suite.py against a live server.
if [[ $want_test -eq 1 && ! -f .state/ogctests-venv/.installed ]]; then
    echo "setup: installing the OGC conformance suite (ogctests) into .state/ogctests-venv"
    mkdir -p .state
    python3 -m venv .state/ogctests-venv
    if ! .state/ogctests-venv/bin/pip install -q "ogctests==0.1.15" >.state/ogctests-pip.log 2>&1; then
        tail -20 .state/ogctests-pip.log >&2
        echo "setup: pip install ogctests failed" >&2
        exit 1
    fi
    touch .state/ogctests-venv/.installed
fi

# Map assets (Leaflet and plugins) from the npm registry, served by the app.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "setup: installing map assets (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
