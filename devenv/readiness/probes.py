"""Probes: one quick attempt each at "does it answer?", saying why not.


* ``port: N``: a TCP connect on localhost (127.0.0.1, then ::1);
* ``http: URL``: any 2xx/3xx answer (redirects are not followed; no proxy for localhost);
* ``log: REGEX``: a line of the window's own output matches (ANSI escapes stripped;
  devenv's own ``[devenv] ...`` lines never count);
* ``command: CMD``: ``sh -c CMD`` exits 0 (in the profile root, with the window's environment);
* ``database: URL-or-VARIABLE``: connects and runs a trivial query (PostgreSQL, SQLite; other
  schemes: a TCP connect to their host and port).

A window without a probe is ready once its process runs (or ran and exited 0): see
:func:`devenv.session.records.ran`. Waiting on probes is :mod:`devenv.readiness.waits`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devenv.errors import DevenvError
from devenv.names import is_env_name
from devenv.profile.model import Probe
from devenv.secrets import mask_url
from devenv.session.records import log_start, read_status

Result = tuple[bool, str]  # (ready, why not / what answered)
OWN_LINE = "[devenv] "  # lines devenv itself prints into windows: never matched by log probes
LOG_SCAN_LIMIT = 64 << 20  # bytes of a log one attempt reads at most
_LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"}


# --------------------------------------------------------------------------- probes: one attempt each


def probe_port(target: str, timeout: float = 0.5) -> Result:
    """A TCP connect to ``target`` on 127.0.0.1, then ::1."""
    import socket

    port = int(target)
    why = "connection refused"
    for host in ("127.0.0.1", "::1"):
        try:
            with socket.create_connection((host, port), timeout=min(timeout, 1.0)):
                return True, "accepts connections"
        except TimeoutError:
            why = "timed out"
        except OSError as exc:
            if host == "127.0.0.1":
                why = exc.strerror.lower() if exc.strerror else "connection refused"
    return False, why


def probe_http(url: str, timeout: float = 2.0) -> Result:
    """A GET answered with 2xx or 3xx (redirects not followed)."""
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    handlers: list[urllib.request.BaseHandler] = [NoRedirect()]
    if host in _LOCAL or host.startswith("127."):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # local dev servers use self-signed certificates
        handlers += [urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "devenv"}),
                         timeout=min(timeout, 3.0)) as resp:
            return True, f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        exc.close()
        return 300 <= exc.code < 400, f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = getattr(reason, "strerror", None) or str(reason)
        return False, str(text).lower()
    except (OSError, ValueError) as exc:
        return False, str(exc) or type(exc).__name__


def probe_command(command: str, env: Mapping[str, str], cwd: Path | str | None, timeout: float = 5.0) -> Result:
    """``sh -c command`` exits 0 within ``timeout`` (its process group is killed otherwise)."""
    from devenv.spawn import run_shell

    try:
        result = run_shell(command, env, cwd, timeout)
    except OSError as exc:
        return False, f"cannot run: {exc.strerror or exc}"
    if result.returncode is None:
        return False, f"timed out after {timeout:g}s"
    if result.returncode == 0:
        return True, "exit 0"
    last = result.last_line
    return False, f"exit {result.returncode}" + (f": {last[:200]}" if last else "")


def probe_database(target: str, env: Mapping[str, str], cwd: Path | str | None, timeout: float = 2.0) -> Result:
    """Connect and run a trivial query; ``target`` is a URL or the name of a variable holding one."""
    url = env.get(target, "") if is_env_name(target) else target
    if not url:
        return False, f"{target} is not set"
    from devenv.db.connect import ping, tcp_reachable
    from devenv.db.url import parse_url

    base = Path(cwd) if cwd is not None else Path.cwd()
    try:
        parsed = parse_url(url, base)
    except DevenvError as exc:
        if "://" in url and url.split(":", 1)[0].lower() not in ("postgres", "postgresql", "sqlite", "file"):
            return tcp_reachable(url, timeout)
        return False, mask_url(exc.message)
    try:
        ping(parsed, max(timeout, 0.5))
    except DevenvError as exc:
        return False, parsed.hide(exc.message)
    except Exception as exc:  # a driver error we did not classify: not ready, say why
        return False, parsed.hide(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return True, "database answers"


class LogWatch:
    """Matches lines of one pane log incrementally, from byte ``start`` on.

    A file that shrinks or is replaced (rotated) is read again from its start.
    """

    def __init__(self, path: Path, start: int = 0) -> None:
        self.path = path
        self.pos = start
        self.carry = b""
        self.inode: int | None = None

    @classmethod
    def for_run(cls, path: Path, state_prefix: Path) -> LogWatch:
        """Only the output of the pane's current (or next) run.

        The size is taken before the status is read: when the runner does not
        say ``running`` yet, everything the new run prints comes after it. When
        it runs already, its output starts where the runner noted it
        (``<state>.logstart``), or, without that note, at the log's start.
        """
        try:
            st = os.stat(path)
            size, inode = st.st_size, st.st_ino
        except OSError:
            size, inode = 0, None
        start = size
        if read_status(state_prefix).word == "running":
            start = log_start(state_prefix, size)
        watch = cls(path, start)
        watch.inode = inode
        return watch

    def search(self, pattern: re.Pattern[str], limit: int = LOG_SCAN_LIMIT) -> str | None:
        """The first new line ``pattern`` matches, or None."""
        from devenv.logs import clean_line

        try:
            fh = open(self.path, "rb")
        except OSError:
            return None
        with fh:
            st = os.fstat(fh.fileno())
            if (self.inode is not None and st.st_ino != self.inode) or st.st_size < self.pos:
                self.pos, self.carry = 0, b""
            self.inode = st.st_ino
            fh.seek(self.pos)
            data = fh.read(limit)
        self.pos += len(data)
        lines = (self.carry + data).split(b"\n")
        self.carry = lines[-1][-65536:]
        for raw in lines:
            text = clean_line(raw.decode("utf-8", "replace"))
            if not text.startswith(OWN_LINE) and pattern.search(text):
                return text.strip()
        return None


def attempt(probe: Probe, *, logs: Sequence[LogWatch], env: Mapping[str, str], cwd: Path | str | None,
            timeout: float) -> Result:
    """One attempt of ``probe``: (ready, detail)."""
    if probe.kind == "port":
        return probe_port(probe.target, timeout)
    if probe.kind == "http":
        return probe_http(probe.target, timeout)
    if probe.kind == "command":
        return probe_command(probe.target, env, cwd, timeout)
    if probe.kind == "database":
        return probe_database(probe.target, env, cwd, timeout)
    pattern = re.compile(probe.target)  # a log probe: the kinds are validated where probes are made
    for watch in logs:
        line = watch.search(pattern)
        if line is not None:
            return True, f"log: {line[:120]}"
    return False, "no line matches yet"


def probe_ok(probe: Probe, *, log_paths: list[Path], env: Mapping[str, str], timeout: float = 0.5,
             cwd: Path | str | None = None) -> bool:
    """One quick attempt of ``probe`` (log probes read the whole of ``log_paths``)."""
    return attempt(probe, logs=[LogWatch(p) for p in log_paths], env=env, cwd=cwd, timeout=timeout)[0]


def describe(probe: Probe | None, mask: Callable[[str], str] = mask_url) -> str:
    """What a probe checks, for people (secrets masked)."""
    if probe is None:
        return "its process running"
    if probe.kind == "port":
        return f"port {probe.target}"
    if probe.kind == "http":
        return mask(probe.target)
    if probe.kind == "log":
        return f"output matching /{probe.target}/"
    if probe.kind == "command":
        return mask(f"`{probe.target}` succeeding")
    return f"database {mask(probe.target)}"
