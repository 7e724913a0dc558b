"""Where devenv keeps things: the XDG folders, and one session's state folder.

Layout, one folder per (tmux socket, session)::

    $XDG_STATE_HOME/devenv/<socket>/<session>/      (default ~/.local/state/devenv/...)
        lock                      flock(2) held by up / down / restart
        <window>.<pane>.status    written by the pane runner (see devenv.session.records)
        <window>.<pane>.exit      the last exit code of the pane's command
        <window>.<pane>.restarts  how many times the runner restarted it
        <window>.<pane>.logstart  where the current run's output starts in the log
        <window>.<pane>.log       the pane's output (tmux pipe-pane), kept after down
        <window>.<pane>.watched   how many times the watcher restarted it
        watcher.pid, watcher.lock, watcher.log    the session's watcher (devenv.session.watcher)

Socket, session and window names are percent-quoted, so any name makes a safe file name (a long one
is shortened and given a digest of the whole). Every folder devenv makes is 0700, every file 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from devenv.names import quote, sha256, unquote
from devenv.tuples import NamedTuple


def _xdg(variable: str, *default: str) -> Path:
    return Path(os.environ.get(variable) or os.path.join(os.path.expanduser("~"), *default))


def state_home() -> Path:
    """``$XDG_STATE_HOME/devenv`` (default ``~/.local/state/devenv``)."""
    return _xdg("XDG_STATE_HOME", ".local", "state") / "devenv"


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/devenv`` (default ``~/.cache/devenv``)."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "devenv"


def config_home() -> Path:
    """``$XDG_CONFIG_HOME/devenv`` (default ``~/.config/devenv``): the user's own profiles."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "devenv"


def runtime_dir() -> Path:
    """A private folder for what must not wait on the state folder (a lock when that one is read-only)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return Path(runtime) / "devenv"
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"devenv-{os.geteuid()}"


def private_dir(path: Path) -> Path:
    """Make ``path`` and its missing parents, each 0700; an existing folder of ours is made 0700 too.

    Raises OSError when it cannot be made (read-only, not a folder, not ours).
    """
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
    st = os.lstat(path)
    if st.st_uid == os.geteuid() and st.st_mode & 0o077 and os.path.isdir(path):
        os.chmod(path, 0o700)  # made by an older devenv, or by hand
    return path


def private_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, 0600 from the start (its folder is made private)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def socket_label(socket: str | None) -> str:
    """The server's name in marks and folder names: the -L name (or the socket file's), or ``default``."""
    return quote(socket or "default")


_MAX_STEM = 120  # a file name is at most 255 bytes; a quoted name can be three times the name


def name_stem(name: str) -> str:
    """``name`` as a file name: percent-quoted; a long one shortened, with a digest of the whole."""
    quoted = quote(name)
    if len(quoted) <= _MAX_STEM:
        return quoted
    return f"{quoted[:80]}~{sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def pane_stem(window: str, pane: int) -> str:
    return f"{name_stem(window)}.{pane}"


def window_from_stem(stem: str) -> tuple[str, int]:
    name, _, idx = stem.rpartition(".")
    return unquote(name), int(idx)


class SessionPaths(NamedTuple):
    """The state folder of one (socket, session) and the files in it."""

    socket: str | None
    session: str

    @property
    def label(self) -> str:
        return socket_label(self.socket)

    @property
    def dir(self) -> Path:
        return state_home() / name_stem(self.socket or "default") / name_stem(self.session)

    @property
    def lock(self) -> Path:
        return self.dir / "lock"

    @property
    def watcher_lock(self) -> Path:
        """Held by the session's watcher while it runs (devenv.session.watcher)."""
        return self.dir / "watcher.lock"

    def prefix(self, window: str, pane: int) -> Path:
        """The prefix of a pane's runner files: ``<prefix>.status``, ``.exit``, ``.log``, ..."""
        return self.dir / pane_stem(window, pane)

    def log(self, window: str, pane: int) -> Path:
        return self.dir / f"{pane_stem(window, pane)}.log"

    def window_logs(self, window: str) -> list[Path]:
        """The log of every pane of ``window`` that has one, in pane order."""
        head = name_stem(window) + "."
        found = [p for p in self.dir.glob("*.log") if p.name.startswith(head) and p.name[len(head):-4].isdigit()]
        return sorted(found, key=lambda p: int(p.name[len(head):-4]))
