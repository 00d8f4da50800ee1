"""Database layer: models, engine and sessions, the embedded cluster, migrations."""
