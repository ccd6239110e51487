# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Python packages come only from uv.lock; uv itself is pinned here.

# The uv that wrote uv.lock; newer ones may rewrite the lock format.
UV_VERSION := 0.13.8
PYTHON ?= python3
VENV := .venv
UV_BOOT := .cache/uv
PYTEST_ARGS ?=
export DAGSTER_HOME ?= $(CURDIR)/.etl/dagster_home

# uv: the one on PATH if it accepts uv.lock (`uv lock --check`), otherwise uv $(UV_VERSION) from
# PyPI in a private venv, $(UV_BOOT)/; the system Python is never modified (PEP 668). Worked out
# once, on first use, so `make help` or `make clean` never run uv. `make UV=/path/to/uv` overrides.
UV = $(eval UV := $(shell uv lock --check >/dev/null 2>&1 && echo uv || echo $(UV_BOOT)/bin/uv))$(UV)
# Recipe line that installs the private uv when it is the one chosen and not there yet.
ENSURE_UV = $(if $(filter $(UV_BOOT)/bin/uv,$(UV)),@test -x $(UV) || $(MAKE) --no-print-directory $(UV))

# Trino (~820 MB, once) is fetched before pytest so the download is not a test's timeout. If that
# fails (no root for apt-get, no maven, no network), the Trino tests skip and say why; only
# ETL_TEST_STRICT=1 (CI, `.ci/run`) makes it fatal.
FETCH_TRINO = $(VENV)/bin/python -m tools.services fetch-trino || { \
	if [ "$$ETL_TEST_STRICT" = 1 ]; then \
		echo "error: Trino could not be fetched (above) and ETL_TEST_STRICT=1" >&2; exit 1; fi; \
	echo "note: Trino could not be fetched (above); running the tests anyway, the Trino tests"; \
	echo "      will be skipped (ETL_TEST_STRICT=1 makes that a failure)"; }

.PHONY: help venv demo test test-unit test-integration lint dev tenant schema bench fetch-trino \
	screenshot clean

help:
	@echo "make demo    - run the main job on the embedded defaults (SQLite, local lake, DuckDB)"
	@echo "make test    - all tests; starts PostgreSQL, MariaDB, S3 (moto) and Trino on loopback"
	@echo "make test-unit        - only the tests that need no server"
	@echo "make test-integration - only the tests against real servers"
	@echo "make dev     - Dagster UI with one code location per tenant (workspace.yaml)"
	@echo "make lint    - ruff and mypy --strict"
	@echo "make tenant NAME=<id> - scaffold a new tenant"
	@echo "make bench   - definitions/config-scale, deployment-run, extraction, history and reconcile benchmarks"
	@echo "make screenshot - docs/asset-checks.png from the demo (needs chromium; by hand)"

$(UV_BOOT)/bin/uv:
	@echo "no uv on PATH that accepts uv.lock (uv lock --check): installing uv $(UV_VERSION) from PyPI into $(UV_BOOT)/"
	@rm -rf $(UV_BOOT)
	@$(PYTHON) -m venv $(UV_BOOT) || { \
		rm -rf $(UV_BOOT); \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "$(PYTHON) cannot create a venv; installing the Debian package python3-venv"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get -q install -y python3-venv || { apt-get -q update && apt-get -q install -y python3-venv; } || exit 1; \
			$(PYTHON) -m venv $(UV_BOOT) || { rm -rf $(UV_BOOT); \
				echo "error: '$(PYTHON) -m venv' still fails; install the venv package of that Python" >&2; \
				echo "  (python3.X-venv) or put uv $(UV_VERSION) on PATH yourself, then rerun make." >&2; exit 1; }; \
		else \
			echo "error: '$(PYTHON) -m venv' failed, so uv cannot be installed without touching the system Python." >&2; \
			echo "  Either install the venv module (Debian/Ubuntu: sudo apt-get install python3-venv)," >&2; \
			echo "  or put uv $(UV_VERSION) on PATH yourself (pipx install uv==$(UV_VERSION)), then rerun make." >&2; \
			exit 1; \
		fi; }
	@$(UV_BOOT)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)" \
		|| { rm -rf $(UV_BOOT); exit 1; }
	@$@ --version

# Default dependency groups only (dev); `make bench` adds the bench group on its own.
# --compile-bytecode: every `etl` command, code server and test process starts from compiled
# modules, even where Python may not write them itself (PYTHONDONTWRITEBYTECODE).
$(VENV)/.synced: pyproject.toml uv.lock
	$(ENSURE_UV)
	$(UV) sync --locked --compile-bytecode
	@touch $@

venv: $(VENV)/.synced

demo: venv
	$(VENV)/bin/etl demo

test: venv
	@$(FETCH_TRINO)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(VENV)/bin/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv
	@$(FETCH_TRINO)
	$(VENV)/bin/python -m pytest tests/integration tests/services $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check etl tests tools bench
	$(VENV)/bin/mypy etl

# `dg dev` is what Dagster now recommends over `dagster dev`; VIRTUAL_ENV tells dg the project's
# venv is the active one (otherwise it warns that they differ).
dev: venv
	@$(VENV)/bin/python -m etl.runs.home >/dev/null  # the home's dagster.yaml: the batching event log
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/dg dev -w workspace.yaml

tenant: venv
	@test -n "$(NAME)" || (echo "usage: make tenant NAME=<tenant_id>" && exit 2)
	$(VENV)/bin/etl tenant new $(NAME)

schema: venv
	$(VENV)/bin/etl schema

bench: venv
	$(VENV)/bin/python bench/defs_scale.py
	$(VENV)/bin/python bench/config_scale.py
	$(VENV)/bin/python -m bench.deploy_runs
	$(ENSURE_UV)
	$(UV) run --locked --group bench python -m bench.extract
	$(UV) run --locked --exact python -m bench.backfill  # the project's own environment
	$(VENV)/bin/python -m bench.reconcile

# By hand, not in CI: the demo, the UI on loopback and headless Chromium (apt-get install chromium).
screenshot: venv
	$(VENV)/bin/python -m tools.screenshot

fetch-trino: venv
	$(VENV)/bin/python -m tools.services fetch-trino

clean:
	rm -rf .etl $(VENV)
