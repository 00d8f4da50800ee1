"""CLI command modules of each capability; each registers with ``backend.cli`` on import.

A module here calls ``backend.cli.command(name)`` for its handler and appends a parser
builder to ``backend.cli.EXTRA_PARSERS`` (and, if it derives data after the demo loads, a
hook to ``backend.cli.AFTER_PREPARE``).
"""
