"""What ``etl validate`` says about one tenant: ok, or its errors, and any warnings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TenantReport:
    tenant: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""
    """What the tenant's location holds, e.g. ``9 assets, 5 jobs, 1 schedule``."""
    pipelines: list[str] = field(default_factory=list)
    """One line per pipeline and the stages it runs, e.g. ``work_order: extract, load``."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> list[str]:
        """The tenant's line, then one indented line per error and warning."""
        if self.errors:
            head = f"{self.tenant}: {_count(len(self.errors), 'error')}"
        else:
            head = f"{self.tenant}: ok" + (f" ({self.summary})" if self.summary else "")
        if self.warnings:
            head += f", {_count(len(self.warnings), 'warning')}"
        return [head, *(f"  {e}" for e in self.errors),
                *(f"  warning: {w}" for w in self.warnings),
                *([] if self.errors else (f"  {p}" for p in self.pipelines))]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
