"""Data-quality check kinds: one module per kind (``not_null``, ``unique``,
``accepted_values``, ``row_count``, ``expression``), listed in :mod:`etl.checks.registry`;
:mod:`etl.checks.base` is the contract a kind fulfils."""
