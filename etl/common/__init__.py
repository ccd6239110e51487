"""What every tenant shares: ``pipelines.yaml`` (the pipelines each tenant inherits) and the
common transfers (:mod:`etl.common.transfer`), the single source of truth for both.
"""
