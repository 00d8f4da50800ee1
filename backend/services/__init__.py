"""Services: the register's use cases. They take clean values and a session, never HTTP."""
