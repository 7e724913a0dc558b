"""The database's terminal views: ``db top`` (a live status) and ``db console`` (banner, then the shell).

``db top`` lives in a window for hours, so it runs as a lean process
(``python -m devenv.cli.dbviews top ...``, no click, no profile loading) that
keeps one connection open; the URL travels in its environment, never its argv.
"""

from __future__ import annotations

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
from devenv.db.status import Monitor, collect
from devenv.db.url import DbUrl, parse_url
from devenv.errors import DbError, DevenvError
from devenv.secrets import Masker
from devenv.wait import Stopped, sleep, stopped_by

_HOME, _CLEAR_EOL, _CLEAR_EOS = "\x1b[H", "\x1b[K", "\x1b[J"


def _size(out: Any) -> tuple[int, int]:
    """The terminal's real size (a stale $COLUMNS must not win after a resize)."""
    try:
        return tuple(os.get_terminal_size(out.fileno()))  # type: ignore[return-value]
    except (OSError, ValueError, AttributeError):
        return tuple(shutil.get_terminal_size())  # type: ignore[return-value]


def top(url: DbUrl, url_text: str, interval: float, out: Any, stdin: Any, mask: Any = str) -> int:
    """Refresh the status in place until q, Ctrl-C or SIGTERM; reads keys without blocking the refresh."""
    fd = stdin.fileno() if stdin is not None and stdin.isatty() else None
    is_tty = out.isatty()
    monitor = Monitor(url, max(1.0, min(interval, 3.0)))
    saved_term = None
    status: dict[str, Any] | None = None
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
                    status = monitor.collect()
                    status["time"] = time.strftime("%H:%M:%S")
                except DbError as exc:
                    error = exc.message
                cols, rows = _size(out) if is_tty else (10_000, 10_000)
                header = f"devenv db top  {time.strftime('%H:%M:%S')}  every {interval:g}s  q: quit  {url_text}"
                lines = [mask(ln) for ln in top_frame(status, error, header, cols, rows)]
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
                        keys = os.read(fd, 64).decode(errors="replace").lower()
                        if not keys or "q" in keys:  # EOF: the terminal went away
                            return 0
                        if "r" in keys or "\x0c" in keys:
                            break
    except (KeyboardInterrupt, Stopped):
        return 0
    finally:
        monitor.close()
        if saved_term is not None and fd is not None:

            termios.tcsetattr(fd, termios.TCSADRAIN, saved_term)
        if is_tty:
            out.write("\x1b[?25h\x1b[?1049l")
            out.flush()


def exec_top(url: DbUrl, label: str, interval: float) -> int:
    """Replace this process with a lean one running :func:`top` (no click, no profile loading).

    ``db top`` lives in a window for hours: the lean process keeps it under ~40 MB. The URL
    travels in the new process's environment (``DEVENV_DB_URL``), never on its argv.
    """
    env = dict(os.environ)
    env["DEVENV_DB_URL"] = f"sqlite:///{url.path}" if url.scheme == "sqlite" else url.libpq_url(with_password=True)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "devenv.cli.dbviews", "top", repr(interval), label]
    try:
        os.execve(sys.executable, argv, env)
    except OSError:  # cannot exec: run it here
        pass
    return top(url, label, interval, sys.stdout, sys.stdin, Masker([url.password or ""]))


def _main(argv: list[str]) -> int:
    """``python -m devenv.cli.dbviews top INTERVAL LABEL`` with the URL in $DEVENV_DB_URL."""
    if len(argv) != 3 or argv[0] != "top":
        sys.stderr.write("usage: DEVENV_DB_URL=... python -m devenv.cli.dbviews top INTERVAL LABEL\n")
        return 2
    try:
        url = parse_url(os.environ.pop("DEVENV_DB_URL", ""), Path("/"))
        return top(url, argv[2], float(argv[1]), sys.stdout, sys.stdin, Masker([url.password or ""]))
    except DevenvError as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")
        return exc.exit_code
    except BrokenPipeError:  # `db top | head`: the reader is gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def banner(url: DbUrl, url_text: str, source: str, timeout: float, out: Any, mask: Any = str) -> bool:
    """Print the compact status (or why the database is not reachable); True when reachable."""
    if out.isatty():
        out.write("\x1b[H\x1b[2J")
    out.write(f"devenv db console: {url_text} (from {source})\n")
    out.flush()
    try:
        status = collect(url, timeout)
    except DbError as exc:
        out.write(mask(f"database not reachable: {exc.message}") + "\n")
        if exc.hint:
            out.write(f"hint: {exc.hint}\n")
        out.flush()
        return False
    status.update(url=url_text, source=source)
    out.write("\n".join(mask(ln) for ln in db_status(status, compact=True)[1:]) + "\n\n")
    out.flush()
    return True


def console(url: DbUrl, url_text: str, source: str, out: Any, mask: Any = str, timeout: float = 5.0) -> int:
    """Banner, then the shell; when it exits, offer a restart instead of leaving the window dead."""
    force = False
    while True:
        if banner(url, url_text, source, timeout, out, mask) or force:
            code = run_shell(url)
            if code:
                out.write(f"(the client exited with code {code})\n")
            prompt = "console exited; press Enter to restart, Ctrl-C to quit "
        else:
            prompt = "press Enter to retry, s and Enter to open the shell anyway, Ctrl-C to quit "
        out.flush()
        try:
            answer = input(prompt)
        except (KeyboardInterrupt, EOFError):
            out.write("\n")
            return 0
        force = answer.strip().lower() == "s"


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
