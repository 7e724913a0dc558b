"""The tmux executor: the only module that talks to tmux.

Plans are applied as one script fed to ``tmux start-server ; source-file -``
on stdin: one round-trip whatever the window count, and nothing (no
environment value) on any command line. The script is a single line, so the
first failing command stops the rest.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from devenv.errors import TmuxError
from devenv.plan import Command, LivePane, LiveSession

_PANE_FORMAT = "\t".join([
    "#{window_id}", "#{window_index}", "#{pane_id}", "#{pane_index}", "#{pane_dead}", "#{pane_dead_status}",
    "#{pane_pid}", "#{window_name}",
])
_NO_SESSION = re.compile(r"can't find session|can't find window|no server running|error connecting|no such file|session not found",
                         re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def quote(arg: str) -> str:
    """Quote one argument for tmux's command language.

    Single quotes keep everything literal (``$VAR``, ``~``, ``#{}``, ``;``); a
    single quote inside becomes ``'"'"'``. Control characters (newlines in a
    value) need double quotes, where ``\\``, ``"`` and ``$`` are escaped.
    """
    if re.fullmatch(r"[A-Za-z0-9_./:-]+", arg):
        return arg
    if not _CONTROL.search(arg):
        return "'" + arg.replace("'", "'\"'\"'") + "'"
    out = []
    for ch in arg:
        if ch in '\\"$':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif _CONTROL.match(ch):
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render(commands: Iterable[Command], *, one_line: bool = True) -> str:
    sep = " ; " if one_line else "\n"
    return sep.join(" ".join(quote(a) for a in cmd) for cmd in commands) + "\n"


class Tmux:
    """One tmux server: the default one, or ``-L socket``."""

    __slots__ = ("socket",)

    def __init__(self, socket: str | None = None) -> None:
        self.socket = socket

    def __repr__(self) -> str:
        return f"Tmux(socket={self.socket!r})"

    # ------------------------------------------------------------------ plumbing

    @property
    def binary(self) -> str:
        found = which("tmux")
        if found is None:
            raise TmuxError("tmux is not installed (not found on PATH)",
                            hint="install it: apt-get install tmux / brew install tmux / dnf install tmux")
        return found

    def argv(self, *args: str) -> list[str]:
        base = [self.binary]
        if self.socket:
            base += ["-L", self.socket]
        return base + list(args)

    def run(self, *args: str, input: str | None = None, check: bool = True,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        try:
            proc = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TmuxError(f"tmux {args[0] if args else ''} did not answer within {timeout:g}s") from None
        if check and proc.returncode != 0:
            raise TmuxError(f"tmux {args[0]}: {proc.stderr.strip() or 'failed'}")
        return proc

    def socket_path(self) -> Path:
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        return Path(base) / f"tmux-{os.geteuid()}" / (self.socket or "default")

    # ------------------------------------------------------------------ queries

    def session(self, name: str) -> LiveSession | None:
        """The session's panes in one round-trip, or None when absent (or no server)."""
        proc = self.run("list-panes", "-s", "-t", f"={name}", "-F", _PANE_FORMAT, check=False)
        if proc.returncode != 0:
            if _NO_SESSION.search(proc.stderr) or not proc.stderr.strip():
                return None
            raise TmuxError(f"tmux list-panes: {proc.stderr.strip()}")
        try:
            return LiveSession(name, tuple(_parse_pane(line) for line in proc.stdout.splitlines() if line))
        except ValueError:
            raise TmuxError(f"unexpected answer from {self.binary} list-panes: {proc.stdout[:80]!r}") from None

    def has_session(self, name: str) -> bool:
        return self.run("has-session", "-t", f"={name}", check=False).returncode == 0

    def sessions(self) -> list[str]:
        proc = self.run("list-sessions", "-F", "#{session_name}", check=False)
        return proc.stdout.split("\n")[:-1] if proc.returncode == 0 else []

    def version(self) -> tuple[int, int]:
        out = self.run("-V").stdout
        m = re.search(r"(\d+)\.(\d+)", out)
        if not m:
            raise TmuxError(f"cannot read the tmux version from {out.strip()!r}")
        return int(m[1]), int(m[2])

    # ------------------------------------------------------------------ actions

    def apply(self, commands: Sequence[Command], *, cleanup_session: str | None = None, mask=str) -> None:
        """Run ``commands`` as one script in one tmux invocation.

        On failure (or an interrupt) the temporary session ``cleanup_session``
        is killed, so no half-built session is left. Errors are masked.
        """
        if not commands:
            return
        script = render(commands)
        try:
            proc = self.run("start-server", ";", "source-file", "-", input=script, check=False)
        except BaseException:
            if cleanup_session:
                self.kill_session(cleanup_session)
            raise
        if proc.returncode != 0 or proc.stderr.strip():
            if cleanup_session:
                self.kill_session(cleanup_session)
            message = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "failed"
            message = re.sub(r"^-:\d+: ", "", message)
            raise TmuxError(f"tmux: {mask(message)}")

    def kill_session(self, name: str) -> None:
        self.run("kill-session", "-t", f"={name}", check=False)

    def attach_argv(self, session: str, window: str | None = None) -> list[str] | None:
        """The command that attaches to ``session``: attach-session, or switch-client inside tmux.

        None when we are inside another tmux server (nesting is refused).
        """
        target = f"={session}"
        inside = os.environ.get("TMUX")
        if inside:
            if inside.split(",")[0] != str(self.socket_path()):
                return None
            return self.argv("switch-client", "-t", target)
        return self.argv("attach-session", "-t", target)


def which(name: str, path: str | None = None) -> str | None:
    """shutil.which (for a bare name), without importing shutil on the hot path."""
    for folder in (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep):
        path = os.path.join(folder or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


def _parse_pane(line: str) -> LivePane:
    wid, widx, pid_, pidx, dead, status, pid, name = line.split("\t", 7)
    return LivePane(
        window_id=wid,
        window_index=int(widx),
        window_name=name,
        pane_id=pid_,
        pane_index=int(pidx),
        dead=dead == "1",
        dead_status=int(status) if status.lstrip("-").isdigit() else None,
        pid=int(pid) if pid.isdigit() else None,
    )
