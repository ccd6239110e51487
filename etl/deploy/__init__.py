"""Running the tenants the way they are deployed: a PostgreSQL instance, the run queue, the
daemon and one code server per tenant, on one machine (``etl deploy up``) or on Kubernetes
(``etl deploy helm-values``)."""
