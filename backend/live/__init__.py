"""A live register: what-if scenarios evaluated apart from the live findings."""
