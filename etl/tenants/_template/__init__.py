"""Tenant package (created from etl/tenants/_template).

The tenant id is the folder name; everything else is in config.yaml. Custom transfer functions
go in assets/transfer.py and are referenced from config.yaml as ``tenant:<function>``.
"""
