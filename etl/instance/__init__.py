"""The Dagster instance as this project uses it: the private Dagster names it leans on, in one
module (:mod:`etl.instance.private`), pinned with Dagster itself and tested on every upgrade."""
