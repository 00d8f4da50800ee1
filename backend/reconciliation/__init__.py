"""Reconciliation 账账/账实/账证: the register against sub-ledgers, geometry and titles."""
