"""Where devenv keeps things: the XDG folders, and one session's state folder.

Layout, one folder per (tmux socket, session)::

    $XDG_STATE_HOME/devenv/<socket>/<session>/      (default ~/.local/state/devenv/...)
        lock                      flock(2) held by up / down / restart
        <window>.<pane>.status    written by the pane runner (see devenv.session.records)
        <window>.<pane>.exit      the last exit code of the pane's command
        <window>.<pane>.restarts  how many times the runner restarted it
        <window>.<pane>.logstart  where the current run's output starts in the log
        <window>.<pane>.log       the pane's output (tmux pipe-pane), kept after down

Socket, session and window names are percent-quoted, so any name makes a safe file name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from devenv.names import quote, unquote


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


def socket_label(socket: str | None) -> str:
    """The socket's name in marks and folder names: the -L name, or ``default``."""
    return quote(socket or "default")


def pane_stem(window: str, pane: int) -> str:
    return f"{quote(window)}.{pane}"


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
        return state_home() / self.label / quote(self.session)

    @property
    def lock(self) -> Path:
        return self.dir / "lock"

    def prefix(self, window: str, pane: int) -> Path:
        """The prefix of a pane's runner files: ``<prefix>.status``, ``.exit``, ``.log``, ..."""
        return self.dir / pane_stem(window, pane)

    def log(self, window: str, pane: int) -> Path:
        return self.dir / f"{pane_stem(window, pane)}.log"

    def window_logs(self, window: str) -> list[Path]:
        """The log of every pane of ``window`` that has one, in pane order."""
        head = quote(window) + "."
        found = [p for p in self.dir.glob("*.log") if p.name.startswith(head) and p.name[len(head):-4].isdigit()]
        return sorted(found, key=lambda p: int(p.name[len(head):-4]))
