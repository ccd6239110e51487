"""JSON Schemas generated from the config models, so editors validate ``config.yaml``.

The files are committed (editors read them from disk); a test fails when they drift from the
models, and ``etl schema`` rewrites them.
"""

from __future__ import annotations

import json
from pathlib import Path

from etl.config.tenant_config import CommonPipelines, TenantConfig

SCHEMA_DIR = Path(__file__).resolve().parent
TENANT_SCHEMA = SCHEMA_DIR / "tenant_config.schema.json"
COMMON_SCHEMA = SCHEMA_DIR / "common_pipelines.schema.json"


def render(model: type[TenantConfig] | type[CommonPipelines], title: str) -> str:
    schema = model.model_json_schema()
    schema["title"] = title
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def expected_schemas() -> dict[Path, str]:
    return {
        TENANT_SCHEMA: render(TenantConfig, "Tenant config.yaml"),
        COMMON_SCHEMA: render(CommonPipelines, "Common pipelines.yaml"),
    }


def write_schemas() -> list[Path]:
    written = []
    for path, text in expected_schemas().items():
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
