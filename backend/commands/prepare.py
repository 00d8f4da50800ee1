"""Schema upgrade, the audit seal, the demo on first start and what derives from it.

``after_prepare`` runs, in this order, the steps that derive data from the register once the
demo (or any data) is loaded: standards, demo leases and a first compliance run; township
regions; the demo accounts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from backend.commands import compliance, regions, users
from backend.commands.common import say
from backend.db.migrate import upgrade
from backend.settings import demo_settings

AFTER_PREPARE: tuple[Callable[[Engine], None], ...] = (
    compliance.after_prepare,
    regions.load,
    users.demo_accounts,
)


def after_prepare(engine: Engine) -> None:
    """Derive data from the register (standards, compliance, townships, demo accounts)."""
    for hook in AFTER_PREPARE:
        hook(engine)


def seal_audit(engine: Engine) -> None:
    """Cover audit events from before the keyed chain (migration 0008) with a keyed one."""
    from backend.audit import service as audit

    with Session(engine) as session, session.begin():
        if audit.seal(session) is not None:
            say("audit trail: events from before the keyed chain sealed by an audit.seal event")


def upgrade_and_seal(engine: Engine) -> None:
    """Create or upgrade the schema, then seal the audit trail if needed."""
    upgrade(engine)
    seal_audit(engine)


def prepare(url: str, *, demo: bool) -> None:
    """Create or upgrade the schema; load the demo province into an empty register."""
    from backend.demo.generator import load_demo, register_is_empty

    engine = create_engine(url)
    t0 = time.perf_counter()
    upgrade_and_seal(engine)
    say(f"schema up to date ({time.perf_counter() - t0:.1f} s)")
    if demo:
        with engine.begin() as conn:
            if register_is_empty(conn):
                d = demo_settings()
                say("loading the demo province (first start)…")
                report = load_demo(
                    conn,
                    province_adcode=d.province_adcode,
                    seed=d.seed,
                    buildings=d.buildings,
                    log=say,
                )
                say(f"demo loaded: {report.summary()}")
        after_prepare(engine)
    engine.dispose()
