"""The pane runner's records (see devenv/session/runner.sh), read in one place, and the session lock.

Each pane's runner writes, next to the pane's log (see :class:`devenv.paths.SessionPaths`):
``<prefix>.status`` (one line: ``waiting`` | ``running <pid>`` | ``exited <code>`` | ``failed <why>``,
and for tasks ``done`` | ``skipped``), ``<prefix>.exit`` (the last exit code), ``<prefix>.restarts``,
``<prefix>.logstart``, and for a task that succeeded ``<prefix>.inputs`` (the digest of what it ran
on: kept after ``down``, so an unchanged task is skipped next time). ``up`` writes ``<prefix>.def``
(the window's definition when it started: drift is measured against it) and ``started`` (the
session's ``after_down`` hooks are owed until ``down`` runs them). The watcher writes
``<prefix>.watched`` (how many times it restarted the pane: ``ps`` adds them to the runner's
restarts, ``max_restarts`` does not count them) and ``watcher.pid`` (its pid and what it watches).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from devenv.errors import DevenvError
from devenv.paths import SessionPaths, private_dir, private_file, runtime_dir, state_home
from devenv.tuples import NamedTuple


class Status(NamedTuple):
    """One runner's ``<prefix>.status``: its first word (None: never written), the rest, its mtime."""

    word: str | None
    rest: str = ""
    mtime: float = 0.0

    @property
    def alive(self) -> bool:
        """``running <pid>`` with that process still there."""
        if self.word != "running":
            return False
        if not self.rest.isdigit():
            return True
        try:
            os.kill(int(self.rest), 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    @property
    def exit_code(self) -> int | None:
        """The code of ``exited <code>``."""
        if self.word == "exited" and self.rest.lstrip("-").isdigit():
            return int(self.rest)
        return None

    def __str__(self) -> str:
        return f"{self.word} {self.rest}".strip() if self.word else "not started"


def read_status(prefix: Path) -> Status:
    """The one parser of a runner's status file."""
    try:
        with open(f"{prefix}.status") as fh:
            text = fh.read().strip()
            mtime = os.fstat(fh.fileno()).st_mtime
    except OSError:
        return Status(None)
    word, _, rest = text.partition(" ")
    return Status(word or None, rest, mtime)


def write_status(prefix: Path, text: str) -> None:
    """Replace a pane's status line (atomically, as the runner does): the db console says
    ``waiting`` while its database is down, and gives the runner's ``running <pid>`` back after."""
    tmp = Path(f"{prefix}.status.{os.getpid()}.tmp")
    tmp.write_text(text + "\n")
    tmp.replace(f"{prefix}.status")


def ran(statuses: list[Status]) -> bool:
    """Every runner pane runs (or ran and exited 0): readiness of a window without a probe."""
    return all(s.alive or s.exit_code == 0 for s in statuses)


TASK_SUCCESS = ("done", "skipped")


def put_status(prefix: Path, text: str) -> None:
    """Write a runner status for a pane (devenv's own: a task it skips, a task it runs again)."""
    private_file(Path(f"{prefix}.status"), (text + "\n").encode())


def read_text(path: Path) -> str | None:
    """A small record's text (None: absent or unreadable)."""
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def write_text(path: Path, text: str) -> None:
    private_file(path, text.encode())


class PaneState(NamedTuple):
    """What the pane runner recorded about one pane."""

    status: str | None  # waiting | running | exited | failed | None (never written)
    pid: int | None
    exit_code: int | None
    restarts: int
    detail: str = ""
    watched: int = 0  # restarts by the watcher (a watched file changed): never counted against max_restarts


def read_pane_state(paths: SessionPaths, window: str, pane: int) -> PaneState:
    prefix = paths.prefix(window, pane)
    status = read_status(prefix)
    pid = int(status.rest) if status.word == "running" and status.rest.isdigit() else None
    exit_text = read_text(Path(f"{prefix}.exit"))
    exit_code = int(exit_text) if exit_text and exit_text.lstrip("-").isdigit() else None
    restarts_text = read_text(Path(f"{prefix}.restarts"))
    restarts = int(restarts_text) if restarts_text and restarts_text.isdigit() else 0
    if status.exit_code is not None:
        exit_code = status.exit_code
    return PaneState(status.word, pid, exit_code, restarts, status.rest if status.word == "failed" else "",
                     _count(Path(f"{prefix}.watched")))


def _count(path: Path) -> int:
    text = read_text(path)
    return int(text) if text and text.isdigit() else 0


def count_watched(paths: SessionPaths, window: str, panes: int) -> None:
    """One more restart of each of the window's panes by the watcher."""
    for pane in range(panes):
        path = Path(f"{paths.prefix(window, pane)}.watched")
        write_text(path, str(_count(path) + 1))


def log_start(prefix: Path, size: int) -> int:
    """Where the current run's output starts in the pane's log (at most ``size``; 0 when unknown)."""
    try:
        return min(int(Path(f"{prefix}.logstart").read_text().strip() or 0), size)
    except (OSError, ValueError):
        return 0


# not "inputs": they outlive down. "rc": an interactive pane's start-up file (".zsh/": zsh's folder of them)
_RUNNER_FILES = ("status", "exit", "restarts", "logstart", "tmp", "def", "why", "watched", "pid", "rc")
OWNER = "project"  # the state folder's record of the project whose session it serves
STARTED = "started"  # a session was built and its after_down hooks have not run yet


def clear(paths: SessionPaths, notes: list[str] | None = None) -> None:
    """Forget what the runners recorded for a session that is gone (logs are kept)."""
    try:
        names = _names(paths.dir)
        for name in names:  # the records first: a folder below that cannot go must not keep them
            if "." in name and name.rpartition(".")[2] in _RUNNER_FILES:
                (paths.dir / name).unlink(missing_ok=True)
        for name in names:
            path = paths.dir / name
            if name.endswith(".zsh") and path.is_dir():
                for inner in _names(path):
                    if inner.startswith(".zsh"):
                        (path / inner).unlink(missing_ok=True)
                path.rmdir()
    except OSError as exc:
        _note(notes, f"could not clear the runner records in {paths.dir}: {exc.strerror}")


def new_session(paths: SessionPaths, project: Path, notes: list[str] | None = None) -> None:
    """A session about to be built: forget old runner records, keep the last run's logs as ``*.log.1``.

    The folder records ``project``: a later session of the same name from another project starts
    afresh, and never shows this one's output.
    """
    try:
        private_dir(paths.dir)
        if owner(paths) not in (None, str(project)):
            for name in _names(paths.dir):
                if ".log" in name:
                    (paths.dir / name).unlink(missing_ok=True)
        clear(paths, notes)
        for name in _names(paths.dir):
            if name.endswith(".log") and os.stat(paths.dir / name).st_size:
                os.replace(paths.dir / name, paths.dir / f"{name}.1")
        private_file(paths.dir / OWNER, str(project).encode())
    except OSError as exc:
        _note(notes, f"cannot write the state folder {paths.dir}: {exc.strerror}; the windows run, "
              "but their output and exit codes are not kept")


def _names(folder: Path) -> list[str]:
    """The names in ``folder`` (none when it does not exist): one listing, where a glob per pattern
    costs a scan and a compiled pattern each (~2 ms of every cold `up`)."""
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def owner(paths: SessionPaths) -> str | None:
    """The project the state folder serves (None: none recorded)."""
    try:
        return (paths.dir / OWNER).read_text() or None
    except (OSError, UnicodeDecodeError):
        return None


def _note(notes: list[str] | None, text: str) -> None:
    if notes is not None and text not in notes:
        notes.append(text)


def _lock_fd(paths: SessionPaths) -> tuple[int | None, str | None]:
    """An open lock file: the state folder's, else one in the runtime folder; (None, why) when neither."""
    why = ""
    for folder in (paths.dir, runtime_dir() / paths.dir.relative_to(state_home())):
        try:
            private_dir(folder)
            return os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600), None
        except OSError as exc:
            why = why or f"{folder}: {exc.strerror}"
    return None, why


class SessionLock:
    """Serialize up / down / restart on one (socket, session): ``with SessionLock(paths): ...``
    (``take=False``: a stand-in that takes none, for a dry run).

    A state folder that cannot be written does not stop the operation: the lock is taken in the
    runtime folder instead, or (when that fails too) the operation runs unlocked, with a note.
    (A class, not ``contextlib.contextmanager``: contextlib is not imported on `up`'s path.)
    """

    def __init__(self, paths: SessionPaths, timeout: float = 60.0, notes: list[str] | None = None,
                 *, take: bool = True) -> None:
        self.paths, self.timeout, self.notes, self.take = paths, timeout, notes, take
        self.fd: int | None = None

    def __enter__(self) -> None:
        if not self.take:
            return
        fd, why = _lock_fd(self.paths)
        if fd is None:
            _note(self.notes, f"cannot lock the session ({why}): running without the lock")
            return
        try:
            deadline = time.monotonic() + self.timeout
            delay = 0.01
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise DevenvError(f"session {self.paths.session!r} is locked by another devenv command "
                                          f"for over {self.timeout:g}s") from None
                    time.sleep(delay)  # noqa: TID251 - waiting on a lock held by another process
                    delay = min(delay * 2, 0.2)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

