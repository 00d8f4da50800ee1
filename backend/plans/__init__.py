"""Surveyor plan uploads: the use case (service), its storage (store), re-surveys
(resurvey), schemas and routes. The pure steps (read → validate → project → areas →
report) live in ``gis.pipeline``."""
