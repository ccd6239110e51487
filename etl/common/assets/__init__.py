"""Stage logic shared by every tenant: extract (RDB to Parquet), transfer, load.

Change behaviour here and every tenant gets it; tenants customise only through the narrow
transfer hook (``tenant:<function>`` in their config).
"""
