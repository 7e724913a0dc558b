"""Where devenv keeps per-session state: pane status, exit codes, window logs, locks.

Layout, one folder per (tmux socket, session)::

    $XDG_STATE_HOME/devenv/<socket>/<session>/      (default ~/.local/state/devenv/...)
        lock                    flock(2) held by up / down / restart
        <window>.<pane>.status  one line written by the pane runner:
                                "waiting" | "running <pid>" | "exited <code>" | "failed <why>"
        <window>.<pane>.exit    the last exit code of the pane's command
        <window>.<pane>.restarts  how many times the runner restarted it
        <window>.<pane>.log     the pane's output (tmux pipe-pane), kept after down

Window names are quoted so that any name makes a safe file name.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from devenv.errors import DevenvError

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "") -> str:
    """Percent-encode everything but letters, digits and ``_.-~`` (as urllib.parse.quote(safe=""))."""
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def unquote(text: str) -> str:
    """The inverse of :func:`quote`."""
    out = bytearray()
    i = 0
    while i < len(text):
        chunk = text[i + 1:i + 3]
        if text[i] == "%" and len(chunk) == 2 and all(c in "0123456789abcdefABCDEF" for c in chunk):
            out.append(int(chunk, 16))
            i += 3
        else:
            out += text[i].encode()
            i += 1
    return out.decode(errors="replace")


def state_home() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "devenv"


def cache_home() -> Path:
    """devenv's cache folder: ``$XDG_CACHE_HOME/devenv`` (default ``~/.cache/devenv``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "devenv"


def socket_label(socket: str | None) -> str:
    return quote(socket or "default", safe="")


def session_dir(socket: str | None, session: str) -> Path:
    return state_home() / socket_label(socket) / quote(session, safe="")


def pane_stem(window: str, pane: int) -> str:
    return f"{quote(window, safe='')}.{pane}"


def window_from_stem(stem: str) -> tuple[str, int]:
    name, _, idx = stem.rpartition(".")
    return unquote(name), int(idx)


class PaneState(NamedTuple):
    """What the pane runner recorded about one pane."""

    status: str | None  # waiting | running | exited | failed | None (never written)
    pid: int | None
    exit_code: int | None
    restarts: int
    detail: str = ""


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def read_pane_state(socket: str | None, session: str, window: str, pane: int) -> PaneState:
    base = session_dir(socket, session) / pane_stem(window, pane)
    raw = _read(base.with_name(base.name + ".status")) or ""
    word, _, rest = raw.partition(" ")
    pid = int(rest) if word == "running" and rest.isdigit() else None
    exit_text = _read(base.with_name(base.name + ".exit"))
    exit_code = int(exit_text) if exit_text and exit_text.lstrip("-").isdigit() else None
    restarts_text = _read(base.with_name(base.name + ".restarts"))
    restarts = int(restarts_text) if restarts_text and restarts_text.isdigit() else 0
    if word == "exited" and rest.lstrip("-").isdigit():
        exit_code = int(rest)
    return PaneState(word or None, pid, exit_code, restarts, rest if word == "failed" else "")


def pane_log(socket: str | None, session: str, window: str, pane: int) -> Path:
    return session_dir(socket, session) / f"{pane_stem(window, pane)}.log"


def window_logs(socket: str | None, session: str, window: str) -> list[Path]:
    folder = session_dir(socket, session)
    prefix = quote(window, safe="") + "."
    return sorted(p for p in folder.glob("*.log") if p.name.startswith(prefix) and p.name[len(prefix):-4].isdigit())


_RUNNER_FILES = ("status", "exit", "restarts", "logstart", "tmp")


def clear_pane_status(socket: str | None, session: str) -> None:
    """Forget what the runners recorded for a session that is gone (logs are kept)."""
    folder = session_dir(socket, session)
    for suffix in _RUNNER_FILES:
        for path in folder.glob(f"*.{suffix}"):
            path.unlink(missing_ok=True)


def new_session(socket: str | None, session: str) -> None:
    """A session about to be built: forget old runner records, keep the last run's logs as ``*.log.1``."""
    session_dir(socket, session).mkdir(parents=True, exist_ok=True)
    clear_pane_status(socket, session)
    for log in session_dir(socket, session).glob("*.log"):
        if log.stat().st_size:
            log.replace(log.with_name(log.name + ".1"))


@contextmanager
def session_lock(socket: str | None, session: str, timeout: float = 60.0) -> Iterator[None]:
    """Serialize up / down / restart on one (socket, session)."""
    folder = session_dir(socket, session)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DevenvError(
                        f"session {session!r} is locked by another devenv command for over {timeout:g}s"
                    ) from None
                time.sleep(delay)  # noqa: TID251 - waiting on a lock held by another process
                delay = min(delay * 2, 0.2)
        yield
    finally:
        os.close(fd)
