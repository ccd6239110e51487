"""Turn validated tenant config into Dagster definitions."""
