"""`orchestrator serve`: the HTTP API over the Python API (`orchestrator.api`).

app (routes) → manager (runs, recovery) → api.Orchestrator → session; the run directory
stays the source of truth, `index` is a cache for listing, `people` keeps pending
questions and approvals durably in each run directory.
"""
