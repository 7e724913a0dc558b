"""The session's watcher process: one per session while a window or task has ``watch:``.

``up`` starts it detached (``python -m devenv.cli.watcher`` under ``sh -c '... &'`` in a session of
its own: reparented to init, no terminal to lose) and starts it again when what it watches
changed. It carries the session's mark (``DEVENV_MARK=<label>/<session>/__devenv_watch`` and
``DEVENV_PROJECT``), so ``down`` stops it as it stops every marked process of the session, and
``ps`` finds it by that mark. While it runs it holds ``watcher.lock`` (a second one exits at once)
and, once its watches are set, records itself in ``watcher.pid``: its pid and the digest of what
it watches.

On ``up``'s fast path: the standard library only, and nothing at all when nothing is watched.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path

from devenv.paths import SessionPaths, private_dir, private_file
from devenv.tuples import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from devenv.profile.env import Resolved

WATCHER = "__devenv_watch"  # the window part of its mark (no window may be named so: the prefix is devenv's)
MODULE = "devenv.cli.watcher"
RECORD = "watcher.pid"
STOP_TIMEOUT = 5.0


class Record(NamedTuple):
    pid: int  # 0: starting (it holds the lock, has not recorded itself yet)
    digest: str


def record_path(paths: SessionPaths) -> Path:
    return paths.dir / RECORD


def lock_path(paths: SessionPaths) -> Path:
    return paths.watcher_lock


def log_path(paths: SessionPaths) -> Path:
    return paths.dir / "watcher.log"


def mark(paths: SessionPaths) -> str:
    return f"{paths.label}/{paths.session}/{WATCHER}"


def spec_digest(resolved: Resolved) -> str | None:
    """What the watcher watches, as a digest (None: nothing is watched, no watcher)."""
    profile = resolved.profile
    if not profile.watches:
        return None
    import json

    from devenv.names import sha256
    from devenv.profile.model import Pane

    spec = [profile.name, str(resolved.project), list(profile.env_files), profile.watch_debounce,
            [[w.name, str(resolved.pane_cwd(w, Pane(None))), list(w.watch), list(w.watch_ignore),
              w.watch_debounce] for w in profile.windows if w.watch]]
    return sha256(json.dumps(spec).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def hold_lock(paths: SessionPaths) -> int | None:
    """The watcher's lock, taken: its descriptor (keep it open while watching); None when held by another."""
    private_dir(paths.dir)
    fd = os.open(lock_path(paths), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def running(paths: SessionPaths) -> Record | None:
    """The watcher of this session when one runs (it holds the lock), else None."""
    if not lock_path(paths).exists():
        return None
    try:
        fd = hold_lock(paths)
    except OSError:
        return None
    if fd is not None:
        os.close(fd)
        return None
    return read_record(paths) or Record(0, "")


def read_record(paths: SessionPaths) -> Record | None:
    try:
        pid, _, digest = record_path(paths).read_text().strip().partition(" ")
        return Record(int(pid), digest)
    except (OSError, ValueError):
        return None


def write_record(paths: SessionPaths, digest: str) -> None:
    private_file(record_path(paths), f"{os.getpid()} {digest}\n".encode())


def stop(paths: SessionPaths, record: Record) -> None:
    """End the running watcher (SIGTERM, SIGKILL after a while) and wait until its lock is free."""
    deadline = time.monotonic() + STOP_TIMEOUT
    while record.pid == 0 and time.monotonic() < deadline:  # starting: it records itself in a moment
        _pause()
        record = read_record(paths) or record
    if record.pid and _is_watcher(record.pid):
        _signal(record.pid, signal.SIGTERM)
    while running(paths) is not None:
        if time.monotonic() > deadline:
            if record.pid and _is_watcher(record.pid):
                _signal(record.pid, signal.SIGKILL)
            deadline = time.monotonic() + STOP_TIMEOUT
        _pause()
    record_path(paths).unlink(missing_ok=True)


def _pause() -> None:
    from devenv.wait import sleep

    sleep(0.02)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _is_watcher(pid: int) -> bool:
    """Whether ``pid`` is a watcher (never signal a pid that was reused)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return MODULE.encode() in fh.read()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: trust the record
        return True


def start(paths: SessionPaths, python: str, project: Path, profile: str, socket: str | None) -> None:
    """Start the watcher detached, marked as the session's, its output appended to ``watcher.log``.

    ``sh -c '... &'`` forks it off: the shell exits at once and the watcher is init's child, never a
    zombie of a long-lived ``up`` (one that attached, say). Raises OSError when it cannot start.
    """
    private_dir(paths.dir)
    env = dict(os.environ)
    env.update({"DEVENV_MARK": mark(paths), "DEVENV_PROJECT": str(project), "DEVENV_PROFILE": profile})
    if socket:
        env["DEVENV_TMUX_SOCKET"] = socket
    else:
        env.pop("DEVENV_TMUX_SOCKET", None)
    script = 'umask 077; "$0" -m ' + MODULE + ' </dev/null >>"$1" 2>&1 &'
    pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", script, python, str(log_path(paths))], env, setsid=True)
    os.waitpid(pid, 0)


def ensure(resolved: Resolved, paths: SessionPaths, python: str, socket: str | None) -> str | None:
    """A watcher for the session when something is watched, none otherwise; what was done, if anything.

    A running watcher of the same watches is left alone; one of other watches is replaced.
    """
    digest = spec_digest(resolved)
    current = running(paths)
    deadline = time.monotonic() + STOP_TIMEOUT
    while current is not None and current.pid == 0 and time.monotonic() < deadline:  # starting: soon recorded
        _pause()
        current = running(paths)
    if current is not None and current.digest == digest:
        return None
    if current is not None:
        stop(paths, current)
    if digest is None:
        record_path(paths).unlink(missing_ok=True)
        return "stopped the watcher (nothing is watched)" if current is not None else None
    start(paths, python, resolved.project, resolved.profile.name, socket)
    return "restarted the watcher (what it watches changed)" if current is not None else "started the watcher"
