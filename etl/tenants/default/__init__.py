"""Tenant 'default': the common pipelines only, nothing custom."""
