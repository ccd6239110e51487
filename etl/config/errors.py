"""Configuration errors that say where, what and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: the file and line it points at, the dotted field path and the message."""

    file: str
    line: int | None
    path: str
    message: str

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ConfigError(ValueError):
    """A tenant's configuration is invalid; the message lists every issue found."""

    def __init__(self, tenant: str, issues: Sequence[ConfigIssue]) -> None:
        self.tenant = tenant
        self.issues = tuple(issues)
        lines = "\n".join(f"  {issue.render()}" for issue in self.issues)
        super().__init__(f"Invalid configuration for tenant {tenant!r}:\n{lines}")


class TenantsConfigError(ValueError):
    """Several tenants are broken; raised by ``etl.all`` so that no error hides another."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        self.errors = tuple(errors)
        names = ", ".join(repr(e.tenant) for e in self.errors)
        body = "\n".join(str(e) for e in self.errors)
        count = len(self.errors)
        super().__init__(f"{count} tenant(s) have invalid configuration: {names}\n{body}")
