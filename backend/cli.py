"""``officemap`` command line (typer): every command and group is named here, in one place.

Exit status: 0 done; 1 the command ran and found a problem (rejected import, tampered audit
chain, failed backup); 2 a usage error or a refusal before any work.
"""

from __future__ import annotations

import typer
import typer.main

from backend.commands import (
    audit,
    compliance,
    db,
    demo,
    import_ledger,
    import_plan,
    regions,
    serve,
    standards,
    supervision,
    users,
)
from backend.commands.prepare import AFTER_PREPARE, after_prepare

__all__ = ["AFTER_PREPARE", "after_prepare", "app", "main"]

app = typer.Typer(
    name="officemap",
    help="OfficeMap 办公用房一张图 — the register and map of a province's office buildings.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("serve")(serve.serve)
app.command("_serve-app", hidden=True)(serve.serve_app)
app.add_typer(db.app, name="db")
app.command("demo")(demo.demo)
app.command("import-plan")(import_plan.import_plan)
app.command("import-ledger")(import_ledger.import_ledger)
app.add_typer(compliance.app, name="compliance")
app.add_typer(standards.app, name="standards")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(regions.app, name="regions")
app.add_typer(supervision.app, name="supervision")


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: the process's); return the exit status."""
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="officemap", standalone_mode=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
