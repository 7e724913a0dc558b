"""``hooks:``: shell commands run around the session's life, in the profile's root (``root:``, else the
project folder), with the profile's env.

``before_up`` runs in order before ``up`` starts anything (fresh or repair); the first failure stops
``up``: nothing is started. ``after_down`` runs once every process of the session has stopped, and,
when the session ended another way (tmux ``kill-session``, a killed server), the next time devenv
notices (``up`` or ``down``): the session's state folder remembers it is owed (``started``).
Output is streamed line by line to the caller, who shows it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence

from devenv.errors import DevenvError
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.session import records
from devenv.tuples import NamedTuple

Output = Callable[[str, str], None]  # (hook kind, line)


class HookFailed(DevenvError):
    """A hook exited non-zero (exit 1)."""


class HookResult(NamedTuple):
    command: str
    code: int


def run(kind: str, commands: Sequence[str], resolved: Resolved, output: Output) -> HookResult | None:
    """Run ``commands`` in order; the first that fails (its result), or None when all succeeded."""
    env = {k: v for k, v in resolved.env.items()}
    env["DEVENV_PROJECT"] = str(resolved.project)
    for command in commands:
        shell = env.get("SHELL") or "/bin/sh"
        try:
            proc = subprocess.Popen([shell if os.access(shell, os.X_OK) else "/bin/sh", "-c", command],
                                    cwd=resolved.root, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as exc:
            output(kind, f"cannot run {command!r}: {exc.strerror or exc}")
            return HookResult(command, 127)
        assert proc.stdout is not None
        for raw in proc.stdout:
            output(kind, resolved.mask(raw.decode("utf-8", "replace").rstrip("\r\n")))
        code = proc.wait()
        if code != 0:
            return HookResult(command, code)
    return None


def before_up(resolved: Resolved, output: Output) -> None:
    """The ``before_up`` hooks; HookFailed (nothing is started) at the first failure."""
    failed = run("before_up", resolved.profile.hooks.before_up, resolved, output)
    if failed is not None:
        raise HookFailed(f"before_up hook {failed.command!r} failed (exit {failed.code}); nothing was started",
                         hint="fix what it checks, or remove it from hooks.before_up")


def owed(paths: SessionPaths) -> bool:
    """Whether a session was built here whose ``after_down`` hooks have not run yet."""
    return (paths.dir / records.STARTED).exists()


def mark_started(paths: SessionPaths, notes: list[str]) -> None:
    try:
        records.write_text(paths.dir / records.STARTED, "1")
    except OSError as exc:
        notes.append(f"cannot note the session's start in {paths.dir}: {exc.strerror}; "
                     "after_down hooks will only run from down")


def after_down(resolved: Resolved, paths: SessionPaths, output: Output) -> HookResult | None:
    """The ``after_down`` hooks (when some are owed); the failed one, if any. Clears what is owed."""
    if not owed(paths):
        return None
    (paths.dir / records.STARTED).unlink(missing_ok=True)
    return run("after_down", resolved.profile.hooks.after_down, resolved, output)
