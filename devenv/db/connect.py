"""Connecting: PostgreSQL with retries and a cause for every failure, SQLite read-only, TCP reachability.

The password never reaches a command line: psycopg gets it as a keyword, in process.
"""

from __future__ import annotations

import math
import re
import shlex
import socket
import sqlite3
import time
from typing import Any
from urllib.parse import urlsplit

from devenv.db.url import DbUrl
from devenv.errors import DbError
from devenv.wait import backoff, sleep

FULL = "too many connections"

# (pattern in libpq's message, cause shown to the user, worth retrying in a wait, a definite answer
# for a check). "Definite": asking again within seconds gives the same answer (nothing listens there,
# no such host, the pool is full), so a check says it at once; readiness waits keep retrying.
_CAUSES: tuple[tuple[str, str, bool, bool], ...] = (
    ("connection refused", "connection refused (is PostgreSQL running on that port?)", True, True),
    ("timeout expired", "timed out", True, False),
    ("timed out", "timed out", True, False),
    ("no such file or directory", "no server socket there (is PostgreSQL running?)", True, True),
    ("starting up", "the server is starting up", True, False),
    ("shutting down", "the server is shutting down", True, False),
    ("too many clients", FULL + ": every slot of max_connections is taken", True, True),
    ("remaining connection slots are reserved",
     FULL + ": only the slots reserved for superusers (or privileged roles) are left", True, True),
    ("password authentication failed", "authentication failed", False, True),
    ("no password supplied", "authentication failed: no password supplied", False, True),
    ("authentication failed", "authentication failed", False, True),
    ("could not translate host name", "unknown host", False, True),
    ("name or service not known", "unknown host", False, True),
    ("failed to resolve host", "unknown host", False, True),
    ("temporary failure in name resolution", "unknown host", False, True),
    ("nodename nor servname", "unknown host", False, True),
    ("network is unreachable", "network is unreachable", True, True),
    ("no route to host", "no route to host", True, True),
)


class ConnectError(DbError):
    """The server could not be reached or refused us; ``cause`` is the short reason (see :func:`classify`)."""

    def __init__(self, message: str, *, cause: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cause = cause

    @property
    def full(self) -> bool:
        """The server answered, but has no connection slot left for us."""
        return is_full(self.cause)


def is_full(cause: str) -> bool:
    return cause.startswith(FULL)


def _match(message: str) -> tuple[str, bool, bool] | None:
    low = message.lower()
    for pattern, cause, retry, definite in _CAUSES:
        if pattern in low:
            return cause, retry, definite
    return None


def classify(message: str, url: DbUrl) -> tuple[str, bool]:
    """(short cause, whether retrying can help) for a libpq error message."""
    m = re.search(r'database "([^"]*)" does not exist', message)
    if m:
        return f"unknown database {m.group(1)!r}", False
    m = re.search(r'role "([^"]*)" does not exist', message)
    if m:
        return f"unknown user {m.group(1)!r}", False
    found = _match(message)
    if found:
        cause, retry, _ = found
        if cause.startswith("authentication failed") and url.user:
            cause += f" for user {url.user!r}"
        return cause, retry
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    last = lines[0].rsplit(" failed: ", 1)[-1] if lines else "unknown error"
    return last, False


def definite(message: str) -> bool:
    """Whether a failure is an answer a check can give at once (refused, unknown host, pool full, ...)."""
    found = _match(message)
    return found is None or found[2]


CONNECT_TIMEOUT = 2.0  # a check's TCP connect: one lost SYN is resent after 1 s; nothing answering in 2 s is an answer


def tcp_answer(url: DbUrl, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """A definite failure found with a plain TCP connect, before any driver loads: ``unknown host``,
    ``connection refused ...``, ``timed out``, ``network is unreachable``; None when something accepts
    the connection, or when the URL is not one plain host and port (a Unix socket, several hosts, a
    port from ``PGPORT``): then the driver must say.

    Importing psycopg alone costs ~100 ms; a refused port answers in well under 1 ms.
    """
    import errno
    import os

    host = url.host
    keys = {k for k, _ in url.params}
    if (not host or host.startswith("/") or "," in host or keys & {"host", "hostaddr", "port", "service"}
            or (url.port is None and os.environ.get("PGPORT"))):
        return None
    port = url.port or 5432
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return "unknown host"
    causes = []
    for family, kind, proto, _, address in addresses:
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
                return None
        except ConnectionRefusedError:
            causes.append("refused")
        except TimeoutError:
            causes.append("timed out")
        except OSError as exc:
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):  # no such address family here: nothing there
                causes.append("refused")
            else:
                causes.append({errno.ENETUNREACH: "network is unreachable",
                               errno.EHOSTUNREACH: "no route to host"}.get(exc.errno or 0, "other"))
    if not causes or "other" in causes:
        return None  # let the driver say what it is
    if all(c == "refused" for c in causes):
        return _CAUSES[0][1]
    if "timed out" in causes:
        return f"timed out (nothing answered within {timeout:g}s)"
    return next(c for c in causes if c != "refused")


def connect_postgres(url: DbUrl, timeout: float, *, application_name: str = "devenv", retry: bool = True,
                     once: bool = False) -> Any:
    """An autocommit psycopg connection, retrying with backoff until ``timeout`` seconds pass.

    ``retry=False`` (checks, ``db status``): a definite answer (refused, unknown host, the pool
    is full, bad credentials) is raised at once, found by a plain TCP connect where it can be
    (:func:`tcp_answer`: no driver loaded, a short timeout); only a server starting up is waited
    for. ``once``: one attempt, whatever the failure (a readiness probe: its wait is the retry).
    Raises ConnectError naming host:port and the cause.
    """
    if url.scheme != "postgresql":
        raise DbError(f"not a PostgreSQL URL: {url.masked()}")
    deadline = time.monotonic() + timeout
    if once or not retry:
        found = tcp_answer(url, min(max(timeout, 0.1), CONNECT_TIMEOUT))
        if found is not None:
            raise ConnectError(f"cannot connect to {url.where}: {found}", cause=found, hint=hint(found, url))
    import psycopg  # here: SQLite paths (db top on a SQLite file) and refused ports never load it

    delays = backoff(0.1, 2.0, 1.0)
    while True:
        remaining = deadline - time.monotonic()
        try:
            kwargs: dict[str, Any] = {"application_name": application_name, **url.connect_kwargs(),
                                      "connect_timeout": max(2, math.ceil(remaining))}  # our deadline wins
            return psycopg.connect(**kwargs, password=url.password, autocommit=True)
        except psycopg.Error as exc:
            text = url.hide(str(exc))
            cause, again = classify(text, url)
            delay = next(delays)
            if once or not again or (not retry and definite(text)) or time.monotonic() + delay >= deadline:
                raise ConnectError(f"cannot connect to {url.where}: {cause}", cause=cause,
                                   hint=hint(cause, url)) from None
            sleep(delay)


def hint(cause: str, url: DbUrl, source: str | None = None) -> str:
    """How to fix a connection failure with ``cause`` (see :func:`classify`); ``source``: where the
    URL came from (``in DIRECT_URL (.env:4)``), named when the URL itself may be wrong."""
    where = f" {source}" if source else " in the URL"
    host, _, port = url.where.rpartition(":")
    user = f" -U {shlex.quote(url.user)}" if url.user else ""
    if "refused" in cause or "socket" in cause:
        return f"start the database on {url.where}, or fix the host/port{where}"
    if "timed out" in cause:
        return f"is the database on {url.where} up and reachable? (check host, port, firewall{where})"
    if is_full(cause):
        return "some process holds every connection: stop idle workers or lower their pool sizes"
    if cause.startswith("unknown database"):
        return (f"create it: createdb -h {host} -p {port}{user} {url.dbname} "
                "(or run your migrations, e.g. npx prisma migrate dev)")
    if cause.startswith(("authentication failed", "unknown user")):
        return f"check the user and password{where}"
    if cause == "unknown host":
        return f"fix the host name{where}"
    return f"check the database URL{where}"


def ping(url: DbUrl, timeout: float) -> None:
    """Raise DbError unless the database answers, in one attempt of at most ``timeout`` seconds."""
    if url.scheme == "sqlite":
        con = open_sqlite(url)
        try:
            con.execute("select count(*) from sqlite_master").fetchone()
        finally:
            con.close()
        return
    conn = connect_postgres(url, timeout, once=True)  # one attempt: a readiness wait is the retry
    try:
        conn.execute("select 1").fetchone()
    finally:
        conn.close()


def tcp_reachable(url: str, timeout: float) -> tuple[bool, str]:
    """For schemes devenv cannot log in to (MySQL, Redis, ...): does host:port accept a connection?

    (ok, what was found); never raises. Default ports come from the scheme.
    """
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
