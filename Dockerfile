# syntax=docker/dockerfile:1
# The user-code image of a Kubernetes deployment: one image for every tenant, built from
# uv.lock. Each tenant's user-code deployment runs it as `-m etl.<tenant>` with that tenant's
# secret only (`etl deploy helm-values` writes the Helm values). Rebuild it to add a tenant.
#
#   docker build -t registry.example.com/etl:1.0 .

ARG PYTHON=3.11
FROM python:${PYTHON}-slim-bookworm AS build
# The uv that wrote uv.lock (the Makefile's UV_VERSION).
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first, so a change to a tenant's config does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --extra k8s --no-install-project
COPY README.md ./
COPY etl ./etl
RUN uv sync --locked --no-dev --extra k8s --no-editable

FROM python:${PYTHON}-slim-bookworm
RUN useradd --create-home --uid 10001 etl
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
WORKDIR /home/etl
USER 10001
EXPOSE 3030
# The chart replaces this with `dagster api grpc -m etl.<tenant> ...` per deployment.
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "etl.all"]
