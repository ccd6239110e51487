"""Tenant configuration: strict models, the YAML loader and the tenant code loader."""
