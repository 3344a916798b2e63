"""Errors a user can cause. They render without a traceback in the CLI."""

from __future__ import annotations

from dataclasses import dataclass


class SimHarnessError(Exception):
    """Base class of every error simharness reports to its user."""


@dataclass(frozen=True)
class ErrorLocation:
    """Where in a scenario file a problem is: file, 1-based line and column, field path."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(SimHarnessError):
    """A scenario file or dict that cannot be loaded; the message names file, line and field."""

    def __init__(self, errors: list[ErrorLocation] | str) -> None:
        if isinstance(errors, str):
            errors = [ErrorLocation(file="<scenario>", line=None, column=None, path="",
                                    message=errors)]
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class AgentError(SimHarnessError):
    """The agent reference cannot be imported or does not look like an agent."""
