"""Alerts: one module per destination kind (registry.py lists them), the messages, and their
delivery with deduplication, retries and a per-tenant rate limit (dispatch.py, ledger.py)."""
