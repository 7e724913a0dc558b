"""The tmux executor: the only module that talks to tmux.

Plans are applied as one script fed to ``tmux start-server ; source-file -``
on stdin: one round-trip whatever the window count, and nothing (no
environment value) on any command line. The script is a single line, so the
first failing command stops the rest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from devenv.errors import TmuxError
from devenv.names import unquote
from devenv.profile.model import BUILD_PREFIX
from devenv.session.live import (
    PANE_FORMAT,
    PROJECT_OPTION,
    TARGET_OPTION,
    Command,
    LiveSession,
    find_session,
    parse_session,
)
from devenv.spawn import Completed, run_process, unlinked_file, which

# patterns used only when something is off are compiled by re's cache at their first use, not at every start
_NO_SESSION = (r"(?i)can't find session|can't find window|no server running|error connecting|no such file|"
               r"session not found")
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


QUERY_TIMEOUT = 5.0  # a query answers in milliseconds; a server that does not is stopped or hung
APPLY_TIMEOUT = 60.0


class Tmux:
    """One tmux server: ``-L socket``, else the one tmux itself would use (``$TMUX``'s, else the default)."""

    __slots__ = ("socket", "inside")

    def __init__(self, socket: str | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.socket = socket
        env = os.environ if environ is None else environ
        # tmux's own rule: without -L (or -S), the server of $TMUX when set
        self.inside = None if socket else (env.get("TMUX", "").split(",")[0] or None)

    def __repr__(self) -> str:
        return f"Tmux(socket={self.socket!r})"

    @property
    def name(self) -> str | None:
        """The server's name (as ``-L`` takes it): the socket's, or None for tmux's default server."""
        if self.socket:
            return self.socket
        if self.inside:
            base = os.path.basename(self.inside)
            return None if base == "default" else base
        return None

    @property
    def label(self) -> str:
        """The server in messages: ``-L NAME`` or tmux's default server."""
        return f"-L {self.name}" if self.name else "tmux's default server"

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
        elif self.inside:
            base += ["-S", self.inside]
        return base + list(args)

    def run(self, *args: str, input: str | None = None, check: bool = True, timeout: float = QUERY_TIMEOUT,
            stdin_fd: int | None = None, meanwhile: Callable[[], object] | None = None) -> Completed:
        try:
            proc = run_process(self.argv(*args), input, timeout, stdin_fd=stdin_fd, meanwhile=meanwhile)
        except TimeoutError:
            raise TmuxError(f"tmux did not answer within {timeout:g}s (is its server stopped or hung?)",
                            hint=f"the server: {self.socket_path()}") from None
        except OSError as exc:
            raise TmuxError(f"cannot run tmux: {exc.strerror or exc}") from None
        if check and proc.returncode != 0:
            raise TmuxError(f"tmux {args[0]}: {proc.stderr.strip() or 'failed'}")
        return proc

    def socket_path(self) -> Path:
        if self.inside:
            return Path(self.inside)
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        return Path(base) / f"tmux-{os.geteuid()}" / (self.socket or "default")

    # ------------------------------------------------------------------ queries

    def session(self, name: str) -> LiveSession | None:
        """The session devenv named ``name`` (see :func:`devenv.session.live.find_session`), in one
        round-trip; None when absent (or no server)."""
        if not os.path.exists(self.socket_path()):  # no server: no need to ask
            return None
        proc = self.run("list-panes", "-a", "-F", PANE_FORMAT, check=False)
        if proc.returncode != 0:
            if re.search(_NO_SESSION, proc.stderr) or not proc.stderr.strip():
                return None
            raise TmuxError(f"tmux list-panes: {proc.stderr.strip()}")
        try:
            return find_session(name, proc.stdout)
        except ValueError:
            raise TmuxError(f"unexpected answer from {self.binary} list-panes: {proc.stdout[:80]!r}") from None

    def _panes(self, target: str, name: str) -> LiveSession | None:
        proc = self.run("list-panes", "-s", "-t", target, "-F", PANE_FORMAT, check=False)
        if proc.returncode != 0:
            if re.search(_NO_SESSION, proc.stderr) or not proc.stderr.strip():
                return None
            raise TmuxError(f"tmux list-panes: {proc.stderr.strip()}")
        try:
            return parse_session(name, proc.stdout)
        except ValueError:
            raise TmuxError(f"unexpected answer from {self.binary} list-panes: {proc.stdout[:80]!r}") from None

    def builds(self) -> list[tuple[str, str | None, str | None]]:
        """Sessions still under a temporary build name: (id, project, the name they were to get)."""
        if not os.path.exists(self.socket_path()):
            return []
        fmt = "\t".join(["#{session_id}", "#{session_name}", "#{" + PROJECT_OPTION + "}", "#{" + TARGET_OPTION + "}"])
        proc = self.run("list-sessions", "-F", fmt, check=False)
        found = []
        for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
            sid, name, project, target = (line.split("\t", 3) + ["", "", ""])[:4]
            if name.startswith(BUILD_PREFIX):
                found.append((sid, unquote(project) or None, unquote(target) or None))
        return found

    def session_by_id(self, sid: str, name: str) -> LiveSession | None:
        return self._panes(sid, name)

    def has_session(self, name: str) -> bool:
        return self.session(name) is not None

    def capture(self, target: str) -> list[str]:
        """The visible lines of pane ``target`` (none when it cannot be read)."""
        proc = self.run("capture-pane", "-p", "-t", target, check=False)
        return proc.stdout.splitlines() if proc.returncode == 0 else []

    # ------------------------------------------------------------------ actions

    def apply(self, commands: Sequence[Command], *, cleanup_session: str | None = None,
              session: str | None = None, windows: Sequence[tuple[str, str, int]] = (),
              mask: Callable[[str], str] = str, meanwhile: Callable[[], object] | None = None) -> None:
        """Run ``commands`` as one script in one tmux invocation, whole or not at all; ``meanwhile``
        while tmux runs it (its own work beside tmux's, on another core).

        The script reaches tmux as an unlinked 0600 file (never a pipe, which a killed
        writer truncates; never a path left behind). On failure (or an interrupt) the
        temporary session ``cleanup_session`` is killed, or, in a repair of ``session``
        (its id), the windows the plan was creating (``windows``: (temporary name, name,
        pane count)); the error names the window tmux refused. Errors are masked.
        """
        if not commands:
            return
        fd = unlinked_file(to_script(commands).encode())
        try:
            proc = self.run("start-server", ";", "source-file", "-", stdin_fd=fd, check=False,
                            timeout=APPLY_TIMEOUT, meanwhile=meanwhile)
        except BaseException:
            self._undo(cleanup_session, session, windows)
            raise
        finally:
            os.close(fd)
        if proc.returncode != 0 or proc.stderr.strip():
            culprit = self._undo(cleanup_session, session, windows)
            message = proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else "failed"
            message = re.sub(r"^-:\d+: ", "", message)
            where = f"window {culprit!r}: " if culprit else ""
            raise TmuxError(f"tmux: {where}{mask(message)}")

    def _undo(self, cleanup_session: str | None, session: str | None,
              windows: Sequence[tuple[str, str, int]]) -> str | None:
        """Remove what a failed build made; the window it stopped at, when it can be told."""
        if not windows or (cleanup_session is None and session is None):
            if cleanup_session:
                self.kill_session(cleanup_session)
            return None
        target = f"={cleanup_session}" if cleanup_session else session
        proc = self.run("list-panes", "-s", "-t", target or "", "-F", "#{window_id}\t#{window_name}", check=False)
        counts: dict[str, int] = {}
        ids: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            wid, _, wname = line.partition("\t")
            counts[wname] = counts.get(wname, 0) + 1
            ids.setdefault(wname, wid)
        culprit = None  # the window being made when it failed: the first short one, else the last made
        for temp, name, panes in windows:
            if temp not in counts:
                break
            culprit = name
            if counts[temp] < panes:
                break
        if cleanup_session:
            self.kill_session(cleanup_session)
        else:
            for temp, _, _ in windows:
                if temp in ids:
                    self.run("kill-window", "-t", ids[temp], check=False)
        return culprit

    def kill_session(self, name: str) -> None:
        self.run("kill-session", "-t", f"={name}", check=False)

    def kill_session_id(self, sid: str) -> None:
        self.run("kill-session", "-t", sid, check=False)

    def attach_argv(self, target: str) -> list[str] | None:
        """The command that attaches to session ``target`` (its id): attach-session, or switch-client
        inside tmux. None when we are inside another tmux server (nesting is refused).
        """
        inside = os.environ.get("TMUX")
        if inside:
            if inside.split(",")[0] != str(self.socket_path()):
                return None
            return self.argv("switch-client", "-t", target)
        return self.argv("attach-session", "-t", target)

    def attach(self, session: str) -> None:
        """Replace this process with tmux attached to ``session``; inside tmux, switch this client instead."""
        live = self.session(session)
        argv = self.attach_argv(live.target if live is not None else f"={session}")
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
