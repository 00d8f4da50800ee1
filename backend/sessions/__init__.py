"""Sessions: cross-site checks for cookie writes, token revocation, login throttling."""
