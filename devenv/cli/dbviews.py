"""The database's terminal views: ``db top`` (a live status) and ``db console`` (banner, then the shell).

``db top`` lives in a window for hours, so it runs as a lean process
(``python -m devenv.cli.dbviews top ...``, no click, no profile loading) that
opens one connection once and keeps it (none in socket-only mode, when the server
refuses it for want of slots); the URL travels in its environment, never its argv.

``db console`` retries by itself with backoff while the database is down, and says
``waiting`` in its pane's status meanwhile (``ps`` shows it), until the database answers.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import termios
import time
import tty
from pathlib import Path
from typing import Any

from devenv.cli.render import db_status, top_frame
from devenv.db.shell import run_shell
from devenv.db.url import DbUrl, parse_url
from devenv.errors import DbError, DevenvError
from devenv.ops.dbstatus import Watch, status
from devenv.secrets import Masker
from devenv.session.live import SessionAt
from devenv.wait import Stopped, backoff, sleep, stopped_by

_HOME, _CLEAR_EOL, _CLEAR_EOS = "\x1b[H", "\x1b[K", "\x1b[J"


def _size(out: Any) -> tuple[int, int]:
    """The terminal's real size (a stale $COLUMNS must not win after a resize)."""
    try:
        return tuple(os.get_terminal_size(out.fileno()))  # type: ignore[return-value]
    except (OSError, ValueError, AttributeError):
        return tuple(shutil.get_terminal_size())  # type: ignore[return-value]


def top(url: DbUrl, url_text: str, interval: float, out: Any, stdin: Any, mask: Any = str,
        session_at: SessionAt | None = None) -> int:
    """Refresh the status in place until q, Ctrl-C or SIGTERM; reads keys without blocking the refresh.

    Keys: q quits, r refreshes now, c leaves socket-only mode (tries to connect).
    """
    fd = stdin.fileno() if stdin is not None and stdin.isatty() else None
    is_tty = out.isatty()
    watch = Watch(url, max(1.0, min(interval, 3.0)), session_at)
    saved_term = None
    last: dict[str, Any] | None = None
    try:
        with stopped_by(signal.SIGTERM):
            if fd is not None:
                saved_term = termios.tcgetattr(fd)
                tty.setcbreak(fd)
            if is_tty:
                out.write("\x1b[?1049h\x1b[?25l")  # alternate screen, hide the cursor
            while True:
                error = None
                try:
                    last = watch.collect()
                    last["time"] = time.strftime("%H:%M:%S")
                except DbError as exc:
                    error = exc.message
                cols, rows = _size(out) if is_tty else (10_000, 10_000)
                keys = "q: quit  c: connect" if watch.socket_only else "q: quit"
                header = f"devenv db top  {time.strftime('%H:%M:%S')}  every {interval:g}s  {keys}  {url_text}"
                lines = [mask(ln) for ln in top_frame(last, error, header, cols, rows)]
                if is_tty:
                    out.write(_HOME + "".join(ln + _CLEAR_EOL + "\r\n" for ln in lines) + _CLEAR_EOS)
                else:
                    out.write("\n".join(lines) + "\n\n")
                out.flush()
                deadline = time.monotonic() + interval
                while (remaining := deadline - time.monotonic()) > 0:
                    if fd is None:
                        sleep(remaining)
                        continue
                    ready, _, _ = select.select([fd], [], [], remaining)
                    if ready:
                        pressed = os.read(fd, 64).decode(errors="replace").lower()
                        if not pressed or "q" in pressed:  # EOF: the terminal went away
                            return 0
                        if "c" in pressed and watch.socket_only:
                            watch.try_connect()
                            break
                        if "r" in pressed or "\x0c" in pressed:
                            break
    except (KeyboardInterrupt, Stopped):
        return 0
    finally:
        watch.close()
        if saved_term is not None and fd is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved_term)
        if is_tty:
            out.write("\x1b[?25h\x1b[?1049l")
            out.flush()


def exec_top(url: DbUrl, label: str, interval: float, session_at: SessionAt | None = None) -> int:
    """Replace this process with a lean one running :func:`top` (no click, no profile loading).

    ``db top`` lives in a window for hours: the lean process keeps it under ~40 MB. The URL
    travels in the new process's environment (``DEVENV_DB_URL``), never on its argv; the session
    whose windows name the holders (not a secret) on its argv.
    """
    env = dict(os.environ)
    env["DEVENV_DB_URL"] = f"sqlite:///{url.path}" if url.scheme == "sqlite" else url.libpq_url(with_password=True)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "devenv.cli.dbviews", "top", repr(interval), label, json.dumps(session_at)]
    try:
        os.execve(sys.executable, argv, env)
    except OSError:  # cannot exec: run it here
        pass
    return top(url, label, interval, sys.stdout, sys.stdin, Masker([url.password or ""]), session_at)


def _session_arg(text: str) -> SessionAt | None:
    data = json.loads(text)
    if isinstance(data, list) and len(data) == 3 and isinstance(data[1], str):
        return SessionAt(data[0] if isinstance(data[0], str) else None, data[1],
                         data[2] if isinstance(data[2], str) else None)
    return None


def _main(argv: list[str]) -> int:
    """``python -m devenv.cli.dbviews top INTERVAL LABEL [SESSION-JSON]`` with the URL in $DEVENV_DB_URL."""
    if len(argv) not in (3, 4) or argv[0] != "top":
        sys.stderr.write("usage: DEVENV_DB_URL=... python -m devenv.cli.dbviews top INTERVAL LABEL [SESSION]\n")
        return 2
    try:
        url = parse_url(os.environ.pop("DEVENV_DB_URL", ""), Path("/"))
        where = _session_arg(argv[3]) if len(argv) == 4 else None
        return top(url, argv[2], float(argv[1]), sys.stdout, sys.stdin, Masker([url.password or ""]), where)
    except DevenvError as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")
        return exc.exit_code
    except BrokenPipeError:  # `db top | head`: the reader is gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# --------------------------------------------------------------------------- console


class PaneState:
    """The console's word in its pane's status file: ``waiting`` while the database is down.

    Only in a ``db:`` window devenv started (``DEVENV_STATE`` and ``DEVENV_DB``/``DEVENV_DB_URL``
    set): the runner wrote ``running <pid>`` before starting the console, which is given back once
    the database answers.
    """

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        managed = env.get("DEVENV_STATE") and (env.get("DEVENV_DB") or env.get("DEVENV_DB_URL"))
        self.prefix = Path(env["DEVENV_STATE"]) if managed else None
        self.saved: str | None = None

    def waiting(self) -> None:
        from devenv.session import records

        if self.prefix is None:
            return
        current = records.read_status(self.prefix)
        if current.word == "running":
            self.saved = str(current)
            records.write_status(self.prefix, "waiting")

    def running(self) -> None:
        from devenv.session import records

        if self.prefix is not None and self.saved is not None:
            if records.read_status(self.prefix).word == "waiting":
                records.write_status(self.prefix, self.saved)
            self.saved = None


def banner(url: DbUrl, url_text: str, source: str, timeout: float, out: Any, mask: Any = str,
           session_at: SessionAt | None = None) -> bool:
    """Print the compact status (or why the database is not reachable); True when reachable."""
    if out.isatty():
        out.write("\x1b[H\x1b[2J")
    out.write(f"devenv db console: {url_text} (from {source})\n")
    out.flush()
    try:
        result = status(url, timeout, session_at)
    except DbError as exc:
        out.write(mask(f"database not reachable: {exc.message}") + "\n")
        if exc.hint:
            out.write(f"hint: {exc.hint}\n")
        out.flush()
        return False
    result.update(url=url_text, source=source)
    out.write("\n".join(mask(ln) for ln in db_status(result, compact=True)[1:]) + "\n\n")
    out.flush()
    return result.get("connected", True) is not False


def _line_within(stdin: Any, seconds: float) -> str | None:
    """A line typed within ``seconds`` (None: none; '' at end of input)."""
    try:
        ready, _, _ = select.select([stdin], [], [], seconds)
    except (OSError, ValueError):  # no selectable stdin: just wait
        sleep(seconds)
        return None
    if not ready:
        return None
    line: str = stdin.readline()
    return line if line else ""


def console(url: DbUrl, url_text: str, source: str, out: Any, mask: Any = str, timeout: float = 5.0,
            session_at: SessionAt | None = None, stdin: Any = None) -> int:
    """Banner, then the shell; when it exits, offer a restart instead of leaving the window dead.

    While the database is down (or full), or no client or SQLite file is there, retry by itself with
    backoff (0.25 s doubling to 2 s), marking the pane ``waiting``; Enter retries now, ``s`` opens the
    shell anyway.
    """
    stdin = sys.stdin if stdin is None else stdin
    pane = PaneState()
    force = False
    delays = None
    try:
        while True:
            if banner(url, url_text, source, timeout, out, mask, session_at) or force:
                pane.running()
                delays = None
                force = False
                try:
                    code = run_shell(url)
                except DbError as exc:  # no client, no SQLite file: said, then retried as an unreachable database
                    out.write(mask(f"error: {exc.message}") + "\n" + (f"hint: {exc.hint}\n" if exc.hint else ""))
                else:
                    if code:
                        out.write(f"(the client exited with code {code})\n")
                    out.write("console exited; press Enter to restart, Ctrl-C to quit ")
                    out.flush()
                    if not stdin.readline():  # end of input
                        out.write("\n")
                        return 0
                    continue
            pane.waiting()
            delays = delays or backoff(0.25, 2.0, 2.0)
            delay = next(delays)
            out.write(f"retrying by itself in {delay:g}s; Enter: retry now, s and Enter: open the shell anyway, "
                      "Ctrl-C: quit\n")
            out.flush()
            answer = _line_within(stdin, delay)
            if answer == "":
                return 0
            force = (answer or "").strip().lower() == "s"
    except KeyboardInterrupt:
        out.write("\n")
        return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
