"""Tenant 'project_01': a custom production transfer and the CFG_ITEM_MASTER master data."""
