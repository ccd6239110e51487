# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Python packages come only from uv.lock; uv itself is pinned here.
UV_VERSION := 0.13.8   # the uv that wrote uv.lock; newer ones may rewrite the lock format
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(PYTHON) -m uv)
VENV := .venv
export DAGSTER_HOME ?= $(CURDIR)/.etl/dagster_home

.PHONY: help venv demo test test-unit test-integration lint dev tenant schema bench fetch-trino clean

help:
	@echo "make demo    - run the main job on the embedded defaults (SQLite, local lake, DuckDB)"
	@echo "make test    - all tests; starts PostgreSQL, MariaDB, S3 (moto) and Trino on loopback"
	@echo "make dev     - Dagster UI with one code location per tenant (workspace.yaml)"
	@echo "make lint    - ruff and mypy --strict"
	@echo "make tenant NAME=<id> - scaffold a new tenant"
	@echo "make bench   - extraction and definitions-scale benchmarks"

$(VENV)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --all-groups
	@touch $@

venv: $(VENV)/.synced

demo: venv
	$(VENV)/bin/etl demo

test: venv
	$(VENV)/bin/python -m tools.services fetch-trino
	$(VENV)/bin/python -m pytest

test-unit: venv
	$(VENV)/bin/python -m pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check etl tests tools bench
	$(VENV)/bin/mypy etl

dev: venv
	@mkdir -p $(DAGSTER_HOME)
	$(VENV)/bin/dagster dev -w workspace.yaml

tenant: venv
	@test -n "$(NAME)" || (echo "usage: make tenant NAME=<tenant_id>" && exit 2)
	$(VENV)/bin/etl tenant new $(NAME)

schema: venv
	$(VENV)/bin/etl schema

bench: venv
	$(VENV)/bin/python bench/defs_scale.py
	$(VENV)/bin/python bench/extract.py

fetch-trino: venv
	$(VENV)/bin/python -m tools.services fetch-trino

clean:
	rm -rf .etl $(VENV)
