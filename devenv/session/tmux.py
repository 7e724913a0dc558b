"""The tmux executor: the only module that talks to tmux.

Plans are applied as one script fed to ``tmux start-server ; source-file -``
on stdin: one round-trip whatever the window count, and nothing (no
environment value) on any command line. The script is a single line, so the
first failing command stops the rest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from devenv.errors import TmuxError
from devenv.session.live import PANE_FORMAT, Command, LiveSession, parse_session
from devenv.spawn import Completed, run_process, which

_NO_SESSION = re.compile(r"can't find session|can't find window|no server running|error connecting|no such file|"
                         r"session not found", re.I)
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


def to_script(commands: Iterable[Command], *, one_line: bool = True) -> str:
    """The commands as tmux command language: one line (a failing command stops the rest), or one per line."""
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

    def run(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 30) -> Completed:
        try:
            proc = run_process(self.argv(*args), input, timeout)
        except TimeoutError:
            raise TmuxError(f"tmux {args[0] if args else ''} did not answer within {timeout:g}s") from None
        except OSError as exc:
            raise TmuxError(f"cannot run tmux: {exc.strerror or exc}") from None
        if check and proc.returncode != 0:
            raise TmuxError(f"tmux {args[0]}: {proc.stderr.strip() or 'failed'}")
        return proc

    def socket_path(self) -> Path:
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        return Path(base) / f"tmux-{os.geteuid()}" / (self.socket or "default")

    # ------------------------------------------------------------------ queries

    def session(self, name: str) -> LiveSession | None:
        """The session's panes in one round-trip, or None when absent (or no server)."""
        if not os.path.exists(self.socket_path()):  # no server: no need to ask
            return None
        proc = self.run("list-panes", "-s", "-t", f"={name}", "-F", PANE_FORMAT, check=False)
        if proc.returncode != 0:
            if _NO_SESSION.search(proc.stderr) or not proc.stderr.strip():
                return None
            raise TmuxError(f"tmux list-panes: {proc.stderr.strip()}")
        try:
            return parse_session(name, proc.stdout)
        except ValueError:
            raise TmuxError(f"unexpected answer from {self.binary} list-panes: {proc.stdout[:80]!r}") from None

    def has_session(self, name: str) -> bool:
        return self.run("has-session", "-t", f"={name}", check=False).returncode == 0

    def capture(self, target: str) -> list[str]:
        """The visible lines of pane ``target`` (none when it cannot be read)."""
        proc = self.run("capture-pane", "-p", "-t", target, check=False)
        return proc.stdout.splitlines() if proc.returncode == 0 else []

    # ------------------------------------------------------------------ actions

    def apply(self, commands: Sequence[Command], *, cleanup_session: str | None = None,
              mask: Callable[[str], str] = str) -> None:
        """Run ``commands`` as one script in one tmux invocation.

        On failure (or an interrupt) the temporary session ``cleanup_session``
        is killed, so no half-built session is left. Errors are masked.
        """
        if not commands:
            return
        script = to_script(commands)
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

    def attach_argv(self, session: str) -> list[str] | None:
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

    def attach(self, session: str) -> None:
        """Replace this process with tmux attached to ``session``; inside tmux, switch this client instead."""
        argv = self.attach_argv(session)
        if argv is None:
            sock = f" -L {self.socket}" if self.socket else ""
            raise TmuxError("already inside another tmux server; not nesting",
                            hint=f"attach from outside tmux: tmux{sock} attach -t {session}")
        if "switch-client" in argv:  # inside tmux: switch this client, keep the shell
            proc = self.run(*argv[argv.index("switch-client"):], check=False)
            if proc.returncode != 0:
                raise TmuxError(f"cannot switch to session {session!r}: {proc.stderr.strip()}",
                                hint=f"it is running; switch with: tmux switch-client -t {session}")
            return
        import sys

        sys.stdout.flush()
        os.execvp(argv[0], argv)
