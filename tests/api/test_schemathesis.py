"""Schemathesis over the whole OpenAPI document, for every role, reads and writes.

The app runs on its own database (migrated, a small demo province, the demo accounts) so
that fuzzed writes really commit and never disturb the other tests' register. Every
operation gets a bounded number of generated requests per role; each answer must not be
a 5xx and must conform to the document (status, content type, schema of the body).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import create_engine, make_url

from backend.accounts.access import ROLES
from backend.accounts.users import DEMO_USERNAMES
from backend.db.embedded import EmbeddedPostgres
from backend.db.migrate import upgrade
from tests.conftest import bearer

FUZZ_DB = "officemap_fuzz"
EXAMPLES_PER_OPERATION = 4


@pytest.fixture(scope="module")
def fuzz_app(
    pg_cluster: EmbeddedPostgres | None, database_url: str, app_database_url: str
) -> Iterator[Any]:
    from backend.api.app import create_app
    from backend.cli import after_prepare
    from backend.db import session as db_session
    from backend.demo.generator import load_demo

    url = make_url(database_url)
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{FUZZ_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{FUZZ_DB}"')
    fuzz_url = url.set(database=FUZZ_DB).render_as_string(hide_password=False)
    with psycopg.connect(
        url.set(drivername="postgresql", database=FUZZ_DB).render_as_string(hide_password=False),
        autocommit=True,
    ) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    engine = create_engine(fuzz_url)
    upgrade(engine)
    with engine.begin() as conn:
        load_demo(conn, buildings=4, seed=11, with_imdf=False)
    after_prepare(engine)
    engine.dispose()
    # requests run as the app's LOGIN role (not the owner), as in production
    app_url = make_url(app_database_url).set(database=FUZZ_DB).render_as_string(hide_password=False)
    try:
        yield create_app(app_url)
    finally:
        # the process-wide engine goes back to the suite's database
        db_session.configure(app_database_url)


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_app)


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.mark.parametrize("role", ROLES)
def test_api_conforms_for_every_role(api_schema: Any, role: str) -> None:
    """Each operation: EXAMPLES_PER_OPERATION generated requests as ``role``; all failures
    of all operations are collected and reported together."""
    headers = bearer(DEMO_USERNAMES[role])
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - every failing operation is reported
            failures.append(f"{operation.verbose_name}: {str(exc)[:1500]}")
    assert operations > 30
    assert not failures, "\n\n".join(failures)
