"""``etl status``: what each tenant's days look like, read from the Dagster instance."""
