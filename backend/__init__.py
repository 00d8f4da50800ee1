"""OfficeMap backend: settings, database, services, API and CLI."""
