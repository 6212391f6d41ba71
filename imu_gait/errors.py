"""Exceptions with messages meant for users: one line naming the file, the place and what was expected."""

from __future__ import annotations

from pathlib import Path


class ImuGaitError(Exception):
    """Base class of every error imu-gait reports to a user (the CLI prints it as one line)."""


class FormatError(ImuGaitError):
    """A file could not be interpreted: names the file, where (line/column) and what was expected."""

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.line = line
        self.column = column
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)


class SessionError(ImuGaitError):
    """A session folder is missing, damaged, or of an unknown schema version."""


class UsageError(ImuGaitError):
    """The user asked for something that cannot be done as asked (bad option, unknown placement, ...)."""
