"""The tmux executor: the only module that talks to tmux.

Plans are applied as one script fed to ``tmux start-server ; source-file -``
on stdin: one round-trip whatever the window count, and nothing (no
environment value) on any command line. The script is a single line, so the
first failing command stops the rest.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

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


class Completed(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run_process(argv: list[str], input: str | None, timeout: float,
                env: Mapping[str, str] | None = None) -> Completed:
    """``subprocess.run(argv, input=..., capture_output=True, text=True, timeout=...)``, without
    importing subprocess (~15 ms, a tenth of `up`'s own time): posix_spawn, pipes and poll.
    Raises TimeoutError (after killing the process) and OSError (it could not be started).
    """
    import select

    in_r, in_w = os.pipe()  # os.pipe() descriptors are close-on-exec: the child keeps only 0, 1, 2
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except OSError:
        for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    pending = memoryview((input or "").encode())
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    if pending:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    else:
        os.close(in_w)
    deadline = time.monotonic() + timeout
    open_fds = {out_r, err_r} | ({in_w} if pending else set())
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, 9)
                raise TimeoutError(f"{argv[0]} did not finish within {timeout:g}s")
            for fd, _ in poller.poll(left * 1000):
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[:65536]):]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        open_fds.discard(in_w)
                    continue
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
    finally:
        for fd in open_fds | {out_r, err_r}:
            with contextlib.suppress(OSError):
                os.close(fd)
        _, status = os.waitpid(pid, 0)
    return Completed(os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]).decode(errors="replace"),
                     b"".join(chunks[err_r]).decode(errors="replace"))


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
