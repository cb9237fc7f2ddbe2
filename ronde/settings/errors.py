"""A configuration that cannot run: each issue names where the value came from and which setting it is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """``origin``: the settings file, the variable or ``command line``; ``where``: ``section.field``."""

    origin: str
    where: str
    what: str

    def __str__(self) -> str:
        return f"config {self.origin}: {self.where}: {self.what}"


class ConfigError(ValueError):
    """Settings that cannot run. ``issues`` holds one line each; ``line(role)`` is what a role prints."""

    def __init__(self, *issues: ConfigIssue) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues))

    def lines(self, role: str) -> list[str]:
        """``ronde <role>: config <file or variable>: <section.field>: <what>``, one per issue."""
        return [f"ronde {role}: {issue}" for issue in self.issues]
