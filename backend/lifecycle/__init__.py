"""The asset lifecycle: leases, maintenance, disposal, title (统一维修、统一处置、统一权属)."""
