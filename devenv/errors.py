"""One error hierarchy. Each error knows its exit code and how to show itself.

Core code raises these and never prints or exits; the CLI renders them as one
line on stderr: ``error: <file>:<line>: <what is wrong>``.
"""

from __future__ import annotations

from pathlib import Path


class DevenvError(Exception):
    """An operation failed (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def format_message(self) -> str:
        return self.message


class UsageError(DevenvError):
    """Bad input on the command line (exit 2)."""

    exit_code = 2


class ProfileError(DevenvError):
    """A profile, .env file or interpolation is wrong (exit 2).

    Carries the file, the line (1-based) and the key path when known, so the
    message reads ``file:line: key: what``.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line
        self.key = key

    def format_message(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = f"{self.key}: " if self.key else ""
        message = " ".join(self.message.split())  # always one line
        return f"{where}{key}{message}"

    def __str__(self) -> str:
        return self.format_message()


class TmuxError(DevenvError):
    """tmux is missing or a tmux command failed (exit 1)."""


class CheckFailed(DevenvError):
    """Prerequisite checks failed (exit 1)."""


class DbError(DevenvError):
    """A database could not be reached or queried (exit 1)."""


class Timeout(DevenvError):
    """Something did not become ready in time (exit 1)."""
