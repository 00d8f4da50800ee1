"""Supervision 监督检查: inspections, evidence, the rectification ledger (整改台账),
accountability (问责) and the pilot's assessment (考核)."""
