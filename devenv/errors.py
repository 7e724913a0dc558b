"""One error hierarchy, and its one renderer.

Core code raises these and never prints or exits. :func:`render` turns any of
them into the lines the CLI writes to stderr: ``error: <file>:<line>: <key>:
<what is wrong>`` and, when there is one, ``hint: <how to fix it>``. Exit codes:
2 for bad input (usage, every profile error), 1 for an operation that failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


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


class NoSession(DevenvError):
    """The session an operation needs is not running (exit 1). One wording everywhere."""

    def __init__(self, session: str, socket: str | None) -> None:
        on = f" on socket {socket!r}" if socket else ""
        super().__init__(f"no session {shown(session)} running{on}", hint="start it with: devenv up")
        self.session = session


class ForeignSession(DevenvError):
    """A session of that name runs, but for another project (or not from devenv): never touched (exit 1)."""

    def __init__(self, session: str, owner: str | None, server: str) -> None:
        whose = f"belongs to another project: {owner}" if owner else "was not started by devenv for this project"
        super().__init__(f"session {shown(session)} on {server} {whose}",
                         hint="give this project its own session name (session: in its profile), "
                              "or use another tmux server (devenv -L NAME ...)")
        self.session = session
        self.owner = owner


class CheckFailed(DevenvError):
    """Prerequisite checks failed (exit 1); ``results`` are the failed checks, for the checklist."""

    def __init__(self, message: str, *, results: Sequence[Any] = (), hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.results = tuple(results)


class DbError(DevenvError):
    """A database could not be reached or queried (exit 1)."""


class Timeout(DevenvError):
    """Something did not become ready in time, or failed before (exit 1).

    ``not_ready``: (window, why, its last output lines) for each, for the CLI to show.
    """

    def __init__(self, message: str, *, not_ready: Sequence[tuple[str, str, Sequence[str]]] = (),
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.not_ready = tuple(not_ready)


def shown(name: str) -> str:
    """A user's name in a message: bare when it cannot be misread, quoted otherwise."""
    if name and all(c.isalnum() or c in "_-." for c in name) and name.isascii():
        return name
    return repr(name)


def render(exc: DevenvError) -> list[str]:
    """The lines that report ``exc`` (passwords in URLs masked)."""
    from devenv.secrets import mask_url

    lines = [f"error: {mask_url(exc.format_message())}"]
    if exc.hint:
        lines.append(f"hint: {mask_url(exc.hint)}")
    return lines


def render_internal(exc: BaseException) -> str:
    """The one line for a bug: never a traceback unless asked for."""
    from devenv.secrets import mask_url

    return (f"error: internal error: {type(exc).__name__}: {mask_url(str(exc))} "
            "(run with DEVENV_DEBUG=1 for the traceback)")
