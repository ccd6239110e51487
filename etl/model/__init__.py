"""The config language: the strict model, the value types and the column-type specs that
:mod:`etl.config` and every registered part (warehouse kinds, check kinds) build on."""
