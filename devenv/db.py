"""Database URLs, connections and the interactive client (``devenv db shell``).

Pure parts first: :func:`parse_url` turns a ``DATABASE_URL``-style string into a
frozen :class:`DbUrl` (Prisma-only parameters stripped, password kept apart),
:func:`pick_url` chooses which URL to use. The I/O edges: :func:`connect_postgres`
(retrying with backoff until a deadline), :func:`ping`, :func:`run_shell` (pgcli
or psql with a 0600 temporary ``PGPASSFILE``; litecli or sqlite3).

The password never reaches a command line: psycopg gets it as a keyword in
process, clients get it through the pgpass file named in their environment.
Status collection and rendering live in :mod:`devenv.dbstatus`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from devenv.errors import DbError, UsageError
from devenv.secrets import MASK, mask_url

# URL parameters Prisma understands but libpq rejects ("invalid URI query parameter").
PRISMA_PARAMS = frozenset({
    "schema", "connection_limit", "pool_timeout", "pgbouncer", "statement_cache_size", "socket_timeout",
    "sslaccept", "sslidentity", "max_connection_lifetime", "max_idle_connection_lifetime",
})
SOURCES = ("DIRECT_URL", "DATABASE_URL")  # the direct URL first: a pgbouncer pool breaks admin work
PG_CLIENTS = ("pgcli", "psql")
SQLITE_CLIENTS = ("litecli", "sqlite3")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DbUrl:
    """A parsed database URL. ``password`` is kept apart and never rendered."""

    scheme: str  # 'postgresql' | 'sqlite'
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    dbname: str | None = None
    path: Path | None = None  # sqlite: the database file
    params: tuple[tuple[str, str], ...] = ()  # libpq parameters kept (Prisma-only ones stripped)
    stripped: tuple[str, ...] = ()  # names of the parameters removed

    @property
    def where(self) -> str:
        """``host:port`` (or the socket / file) for messages."""
        if self.scheme == "sqlite":
            return str(self.path)
        host = self.host or "localhost"
        port = self.port or 5432
        if host.startswith("/"):
            return f"{host}/.s.PGSQL.{port}"
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def libpq_url(self, with_password: bool = False) -> str:
        """A URL libpq tools accept; without the password unless asked."""
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        netloc = quote(self.user, safe="") if self.user else ""
        if with_password and self.password:
            netloc += ":" + quote(self.password, safe="")
        if netloc:
            netloc += "@"
        params = list(self.params)
        if self.host and self.host.startswith("/"):
            params.insert(0, ("host", self.host))
        elif self.host:
            netloc += f"[{self.host}]" if ":" in self.host else quote(self.host, safe="")
        if self.port:
            netloc += f":{self.port}"
        path = "/" + quote(self.dbname, safe="") if self.dbname else ""
        query = "?" + urlencode(params, quote_via=quote, safe="/") if params else ""
        return f"postgresql://{netloc}{path}{query}"

    def masked(self) -> str:
        """The URL for display: the password (if any) shown as ``****``."""
        url = self.libpq_url(with_password=False)
        if self.password and self.user:
            user = quote(self.user, safe="")
            url = url.replace(f"//{user}@", f"//{user}:{MASK}@", 1)
        elif self.password:
            url = url.replace("//", f"//:{MASK}@", 1)
        return url

    def connect_kwargs(self) -> dict[str, str]:
        """libpq keywords (no password) for psycopg."""
        kw = {k: v for k, v in self.params}
        for key, value in (("host", self.host), ("port", self.port), ("user", self.user),
                           ("dbname", self.dbname)):
            if value is not None:
                kw[key] = str(value)
        return kw


# --------------------------------------------------------------------------- parsing


def _mask_any(text: str) -> str:
    """Mask what looks like a password even in a malformed URL (``user:pw@``, ``password=``)."""
    text = re.sub(r"(?<=:)[^:@/\s]+(?=@)", MASK, mask_url(text))
    return re.sub(r"(?i)(?<=password=)[^&#\s]*", MASK, text)


def _bad(url: str, why: str) -> UsageError:
    return UsageError(f"bad database URL {_mask_any(url)!r}: {why}",
                      hint="expected postgresql://user:password@host:port/dbname or sqlite:///path/to/file.db")


def parse_url(url: str, project: Path) -> DbUrl:
    """Parse a PostgreSQL or SQLite URL; relative SQLite paths are from ``project``."""
    text = url.strip()
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
    if not m:
        raise _bad(text, "no scheme (postgresql://, sqlite:/// or file:)")
    scheme = m.group(1).lower()
    if scheme in ("postgres", "postgresql"):
        return _parse_postgres(text)
    if scheme in ("sqlite", "file"):
        return _parse_sqlite(text, scheme, project)
    if scheme in ("mysql", "mariadb"):
        raise DbError(f"{scheme} databases are not supported yet by devenv db (PostgreSQL and SQLite are)")
    raise _bad(text, f"unsupported scheme {scheme!r} (postgresql://, sqlite:/// or file: are)")


def _parse_postgres(text: str) -> DbUrl:
    rest = text.split("://", 1)[1] if "://" in text else ""
    if not text.lower().split(":", 1)[1].startswith("//"):
        raise _bad(text, "expected '//' after the scheme")
    rest, _, query = rest.partition("?")
    query = query.partition("#")[0]
    rest = rest.partition("#")[0]
    netloc, _, dbpath = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    user = password = None
    if at:
        u, colon, p = userinfo.partition(":")
        user = unquote(u) or None
        password = unquote(p) if colon else None
    if "," in hostport:
        raise _bad(text, "several hosts in one URL are not supported by devenv db")
    host, port = _host_port(text, hostport)
    params: list[tuple[str, str]] = []
    stripped: list[str] = []
    fields: dict[str, Any] = {"host": host, "port": port, "user": user, "password": password,
                              "dbname": unquote(dbpath) or None}
    pairs = _query(query)
    for key, value in pairs:
        if key in PRISMA_PARAMS:
            stripped.append(key)
        elif key in ("host", "user", "password", "dbname"):
            fields[key] = value or None  # libpq allows these as parameters; keep them out of params
        elif key == "port":
            fields["port"] = _port(text, value)
        else:
            params.append((key, value))
    schema = dict(pairs).get("schema")
    if schema and schema != "public" and not any(k == "options" for k, _ in params):
        # Prisma's schema= becomes libpq's search_path, so the console lands in the app's tables
        params.append(("options", "-csearch_path=" + schema.replace("\\", "\\\\").replace(" ", "\\ ")))
    return DbUrl("postgresql", params=tuple(params), stripped=tuple(stripped), **fields)


def _query(query: str) -> list[tuple[str, str]]:
    """``a=1&b=2`` percent-decoded as libpq does it ('+' stays '+')."""
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _host_port(text: str, hostport: str) -> tuple[str | None, int | None]:
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise _bad(text, "unclosed '[' in the host")
        return host or None, _port(text, after[1:]) if after else None
    host, colon, port = hostport.partition(":")
    return unquote(host) or None, _port(text, port) if colon else None


def _port(text: str, value: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise _bad(text, f"the port {value!r} is not a number between 1 and 65535")
    return int(value)


def _parse_sqlite(text: str, scheme: str, project: Path) -> DbUrl:
    body = text.split(":", 1)[1].split("?", 1)[0].split("#", 1)[0]
    stripped = tuple(k for k, _ in _query(text.partition("?")[2]))
    if scheme == "sqlite":
        # SQLAlchemy style: sqlite:///relative.db, sqlite:////absolute.db
        if not body.startswith("///"):
            raise _bad(text, "a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        raw = body[3:]
    else:
        # Prisma style: file:./dev.db, file:dev.db, file:/abs.db, file:///abs.db
        raw = body[2:] if body.startswith("///") else body
    raw = unquote(raw)
    if not raw or raw == ":memory:":
        raise _bad(text, "no database file (an in-memory database has nothing to inspect)")
    path = Path(os.path.expanduser(raw))
    if not path.is_absolute():
        candidate = project / path
        # Prisma resolves file: paths from the schema folder; accept that when only it exists.
        prisma = project / "prisma" / path
        if scheme == "file" and not candidate.exists() and prisma.exists():
            candidate = prisma
        path = candidate
    return DbUrl("sqlite", path=Path(os.path.normpath(path)), stripped=stripped)


def pick_url(env: Mapping[str, str], explicit: str | None = None,
             window_db: str | None = None) -> tuple[str, str]:
    """(url, where it came from): ``--url``, else the window's ``db:``, else DIRECT_URL, DATABASE_URL."""
    if explicit:
        return explicit, "--url"
    if window_db:
        if not _VAR.match(window_db):
            return window_db, "db:"
        value = env.get(window_db)
        if not value:
            raise DbError(f"db: names the variable {window_db}, which is not set",
                          hint=f"define {window_db} in the profile's env or an env file")
        return value, window_db
    for name in SOURCES:
        if env.get(name):
            return env[name], name
    raise DbError("no database URL: DIRECT_URL and DATABASE_URL are not set",
                  hint="pass --url, give a window db:, or define DIRECT_URL or DATABASE_URL in .env")


# --------------------------------------------------------------------------- connecting

# (pattern in libpq's message, cause shown to the user, worth retrying)
_CAUSES: tuple[tuple[str, str, bool], ...] = (
    ("connection refused", "connection refused (is PostgreSQL running on that port?)", True),
    ("timeout expired", "timed out", True),
    ("timed out", "timed out", True),
    ("no such file or directory", "no server socket there (is PostgreSQL running?)", True),
    ("starting up", "the server is starting up", True),
    ("shutting down", "the server is shutting down", True),
    ("too many clients", "too many connections: every slot of max_connections is taken", True),
    ("remaining connection slots are reserved",
     "too many connections: only reserved slots are left (max_connections nearly exhausted)", True),
    ("password authentication failed", "authentication failed", False),
    ("no password supplied", "authentication failed: no password supplied", False),
    ("authentication failed", "authentication failed", False),
    ("could not translate host name", "unknown host", False),
    ("name or service not known", "unknown host", False),
    ("network is unreachable", "network is unreachable", True),
    ("no route to host", "no route to host", True),
)


def classify(message: str, url: DbUrl) -> tuple[str, bool]:
    """(short cause, whether retrying can help) for a libpq error message."""
    low = message.lower()
    m = re.search(r'database "([^"]*)" does not exist', message)
    if m:
        return f"unknown database {m.group(1)!r}", False
    m = re.search(r'role "([^"]*)" does not exist', message)
    if m:
        return f"unknown user {m.group(1)!r}", False
    for pattern, cause, retry in _CAUSES:
        if pattern in low:
            if cause.startswith("authentication failed") and url.user:
                cause += f" for user {url.user!r}"
            return cause, retry
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    last = lines[0].rsplit(" failed: ", 1)[-1] if lines else "unknown error"
    return last, False


def connect_postgres(url: DbUrl, timeout: float, *, application_name: str = "devenv") -> Any:
    """An autocommit psycopg connection, retrying with backoff until ``timeout`` seconds pass.

    Raises DbError naming host:port and the cause (refused, timed out, auth failed, ...).
    """
    import psycopg

    from devenv.wait import backoff, sleep

    if url.scheme != "postgresql":
        raise DbError(f"not a PostgreSQL URL: {url.masked()}")
    deadline = time.monotonic() + timeout
    delays = backoff(0.1, 2.0, 1.0)
    while True:
        remaining = deadline - time.monotonic()
        try:
            kwargs = {"application_name": application_name, **url.connect_kwargs(),
                      "connect_timeout": max(2, math.ceil(remaining))}  # our deadline wins over the URL's
            return psycopg.connect(**kwargs, password=url.password, autocommit=True)
        except psycopg.Error as exc:
            text = _hide(str(exc), url)
            cause, retry = classify(text, url)
            delay = next(delays)
            if not retry or time.monotonic() + delay >= deadline:
                raise DbError(f"cannot connect to {url.where}: {cause}",
                              hint=_connect_hint(cause, url)) from None
            sleep(delay)


def _connect_hint(cause: str, url: DbUrl) -> str | None:
    if "refused" in cause or "socket" in cause:
        return "start the database (or check host and port in the URL)"
    if cause.startswith("too many connections"):
        return "some process holds every connection: stop idle workers or lower their pool sizes"
    if "database" in cause:
        return "create it (createdb, prisma migrate dev) or fix the database name in the URL"
    return None


def _hide(text: str, url: DbUrl) -> str:
    if url.password:
        text = text.replace(url.password, MASK)
    return mask_url(text)


def ping(url: DbUrl, timeout: float) -> None:
    """Raise DbError unless the database answers within ``timeout`` seconds."""
    if url.scheme == "sqlite":
        con = open_sqlite(url)
        try:
            con.execute("select count(*) from sqlite_master").fetchone()
        finally:
            con.close()
        return
    conn = connect_postgres(url, timeout)
    try:
        conn.execute("select 1").fetchone()
    finally:
        conn.close()


def tcp_reachable(url: str, timeout: float) -> tuple[bool, str]:
    """For schemes devenv cannot log in to (MySQL, Redis, ...): does host:port accept a connection?

    (ok, what was found); never raises. Default ports come from the scheme.
    """
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    defaults = {"mysql": 3306, "mariadb": 3306, "redis": 6379, "mongodb": 27017, "sqlserver": 1433}
    try:
        port = parts.port or defaults.get(parts.scheme.split("+")[0].lower())
    except ValueError:
        return False, "bad port in the URL"
    host = parts.hostname or "localhost"
    if port is None:
        return False, f"no port in the URL ({parts.scheme} URLs have no default)"
    try:
        with socket.create_connection((host, port), timeout=min(timeout, 5.0)):
            return True, f"{host}:{port} accepts connections (not logged in)"
    except OSError as exc:
        cause = "refused" if isinstance(exc, ConnectionRefusedError) else (
            "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc) or "unreachable").lower())
        return False, f"{host}:{port}: {cause}"


def open_sqlite(url: DbUrl) -> Any:
    """A read-only sqlite3 connection; DbError when the file is missing or not a database."""
    import sqlite3

    assert url.path is not None
    if not url.path.is_file():
        raise DbError(f"SQLite database not found: {url.path}",
                      hint="run the migrations first (e.g. prisma migrate dev) or fix the path")
    try:
        con = sqlite3.connect(url.path.as_uri() + "?mode=ro", uri=True, timeout=2)
        con.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise DbError(f"cannot open {url.path}: {exc}") from None
    return con


# --------------------------------------------------------------------------- the shell


def pgpass_line(url: DbUrl, dbname: str | None = None) -> str:
    """``host:port:db:user:password`` with ``:`` and ``\\`` escaped; ``*`` for what is unset."""
    def esc(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:") if value not in (None, "") else "*"

    if url.password and ("\n" in url.password or "\r" in url.password):
        raise DbError("the database password contains a line break; a pgpass file cannot hold it")
    host = url.host
    if host and host.startswith("/"):
        host = "localhost"  # libpq matches socket connections against 'localhost'
    db = url.dbname if dbname is None else dbname
    return ":".join([esc(host), esc(url.port), esc(db), esc(url.user), esc(url.password)])


def find_client(url: DbUrl, which: Any = shutil.which) -> str:
    """The best installed client for ``url``; DbError with an install hint when none is."""
    names = PG_CLIENTS if url.scheme == "postgresql" else SQLITE_CLIENTS
    for name in names:
        path = which(name)
        if path:
            return path
    if url.scheme == "postgresql":
        hint = ("install one: sudo apt-get install postgresql-client (psql), brew install libpq, "
                "or pipx install pgcli")
    else:
        hint = "install one: sudo apt-get install sqlite3, brew install sqlite, or pipx install litecli"
    raise DbError(f"no {' or '.join(names)} found on PATH", hint=hint)


def _private_dir() -> str:
    import tempfile

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = runtime if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK) else None
    return tempfile.mkdtemp(prefix="devenv-db-", dir=base)  # mode 0700


def run_shell(url: DbUrl, environ: Mapping[str, str] | None = None) -> int:
    """Run the client as a child and return its exit code.

    For PostgreSQL the password goes in a 0600 pgpass file in a private
    directory, named by ``PGPASSFILE`` in the client's environment only, and
    deleted when the client exits. SIGINT is ignored here while the client
    (which handles Ctrl-C itself) runs; SIGTERM and SIGHUP are forwarded.
    """
    import subprocess

    client = find_client(url)
    env = dict(os.environ if environ is None else environ)
    env.setdefault("PGAPPNAME", "devenv db shell")
    tmpdir = None
    if url.scheme == "sqlite":
        argv = [client, str(url.path)]
    else:
        argv = [client, url.libpq_url(with_password=False)]
        if url.password:
            tmpdir = _private_dir()
            passfile = os.path.join(tmpdir, "pgpass")
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(pgpass_line(url) + "\n" + pgpass_line(url, dbname="*") + "\n")
            env["PGPASSFILE"] = passfile
            env.pop("PGPASSWORD", None)
    saved: dict[int, Any] = {}
    received: list[int] = []
    try:
        proc = subprocess.Popen(argv, env=env)

        def forward(signum: int, _frame: object) -> None:
            received.append(signum)
            if proc.poll() is None:
                proc.send_signal(signum)

        saved[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            saved[sig] = signal.signal(sig, forward)
        code = proc.wait()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if received:  # we were told to stop too (devenv down, a closed window): die by that signal
        signal.signal(received[0], signal.SIG_DFL)
        os.kill(os.getpid(), received[0])
    return 128 - code if code < 0 else code
