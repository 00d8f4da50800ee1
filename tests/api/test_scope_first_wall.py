"""The first wall alone: the scope matrices again, with row-level security out of the way.

The app's requests normally run as a role row-level security applies to, so a path that
forgets the scope predicate is still covered by the policies — and the test of it passes.
Here the requests run on the test's owner connection (a superuser: no policies apply), so
only ``backend/services/scope.py`` and the services that use it decide what is seen. The
tests are the same functions as in the matrix modules, collected again with this module's
``client_as``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.api.test_scope_attack import (  # noqa: F401 - collected again, with their fixtures
    people,
    supervised,
    test_audit_events_of_supervision_records_follow_the_record,
    test_compliance_summary_names_only_visible_groups,
    test_multiple_offices_finding_names_only_visible_offices,
    test_multiple_offices_in_the_ogc_findings_collection,
    test_reconciliation_names_no_hidden_agency,
)
from tests.api.test_scope_matrix import (  # noqa: F401
    test_audit_trail,
    test_by_id_reads_and_history,
    test_exports,
    test_lists_and_roll_ups,
    test_map_aggregates_agree_with_the_findings_list,
    test_tiles,
    world,
)
from tests.api.test_scope_surfaces import (  # noqa: F401
    records,
    test_building_records,
    test_leases,
    test_reconciliation,
    test_requests_plans_pool_and_entitlement,
    test_supervision_records,
)


@pytest.fixture
def first_wall_app(engine: Engine, db: Session, app_database_url: str) -> Any:
    """The app with its requests on the test's owner connection: no row-level security."""
    from backend.api import deps
    from backend.api.app import create_app
    from backend.db.async_pool import SessionReader
    from backend.maps import tile_cache

    assert db.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    tile_cache.forget()
    application = create_app(app_database_url)

    def session_override() -> Iterator[Session]:
        yield db
        db.flush()

    application.dependency_overrides[deps.get_session] = session_override
    application.dependency_overrides[deps.get_reader] = lambda: SessionReader(db)
    return application


@pytest.fixture
def client_as(first_wall_app: Any, db: Session) -> Iterator[Any]:
    """``client_as`` of tests/conftest.py, on the first-wall app."""
    from tests.conftest import scoped_clients

    yield from scoped_clients(first_wall_app, db, prefix="test-fw")
