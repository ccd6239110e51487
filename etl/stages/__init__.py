"""The stage runtime: what a Dagster step does when it runs a tenant's pipelines.

:mod:`~etl.stages.step` runs the selected stages of the selected pipelines side by side;
:mod:`~etl.stages.extract`, :mod:`~etl.stages.transfer` and :mod:`~etl.stages.load` are the
stages, :mod:`~etl.stages.quality` evaluates the quality checks on a stage's Parquet and
:mod:`~etl.stages.events` turns every day's result into the Dagster events the UI reads.
Behaviour changed here changes for every tenant; tenants customise only through the transfer
hook (:mod:`etl.common.transfer`).
"""
