"""Sign-out and password change (backend.sessions)."""
