"""Reallocation (调剂→置换→租用→建设): space requests, the entitlement they are judged
against, candidate space in the rule order, and plans a planner approves and executes."""
