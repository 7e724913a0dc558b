"""Database URLs (pure): parse them, and choose which one a command means.

:func:`parse_url` turns a ``DATABASE_URL``-style string into a frozen
:class:`DbUrl` (Prisma-only parameters stripped, password kept apart);
:func:`pick_url` and :func:`target` choose which URL to use. The password is
never rendered: :meth:`DbUrl.masked` and :meth:`DbUrl.hide` keep it out of text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from devenv.errors import DbError, UsageError
from devenv.names import is_env_name
from devenv.secrets import MASK, mask_url

# URL parameters Prisma understands but libpq rejects ("invalid URI query parameter").
PRISMA_PARAMS = frozenset({
    "schema", "connection_limit", "pool_timeout", "pgbouncer", "statement_cache_size", "socket_timeout",
    "sslaccept", "sslidentity", "max_connection_lifetime", "max_idle_connection_lifetime",
})
SOURCES = ("DIRECT_URL", "DATABASE_URL")  # the direct URL first: a pgbouncer pool breaks admin work


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

    def hide(self, text: str) -> str:
        """``text`` with this URL's password, and any URL's password, masked."""
        if self.password:
            text = text.replace(self.password, MASK)
        return mask_url(text)

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


def query_value(url: str, name: str) -> str | None:
    """The value of URL parameter ``name`` (e.g. Prisma's ``connection_limit``), None when absent."""
    query = url.partition("?")[2].partition("#")[0]
    return next((value for key, value in _query(query) if key == name), None)


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
        if not is_env_name(window_db):
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


def target(profile_env: Callable[[], tuple[Mapping[str, str], str | None]], explicit: str | None, project: Path,
           console_env: Mapping[str, str] | None = None) -> tuple[DbUrl, str]:
    """(parsed URL, where it came from) for a ``db`` command.

    ``explicit``: ``--url``, a URL or the name of a variable holding one. ``console_env``: for the console a ``db:`` window runs, its own
    environment first (``$DEVENV_DB_URL``, then the variable ``$DEVENV_DB`` names). Then the
    profile's (``profile_env()``: its layered environment and its first ``db:`` window, loaded
    only when needed): the window's ``db:``, then DIRECT_URL, then DATABASE_URL.
    """
    if explicit and is_env_name(explicit):  # --url VAR: the variable's value, as db: and requires.database take it
        env, _ = profile_env()
        value = env.get(explicit)
        if not value:
            raise DbError(f"--url names the variable {explicit}, which is not set",
                          hint=f"define {explicit} in the profile's env or an env file, or pass a URL")
        return parse_url(value, project), explicit
    if explicit:
        text, source = pick_url({}, explicit)
        return parse_url(text, project), source
    window_db = None
    if console_env is not None:
        if console_env.get("DEVENV_DB_URL"):
            return parse_url(console_env["DEVENV_DB_URL"], project), "DEVENV_DB_URL"
        name = console_env.get("DEVENV_DB")
        if name and console_env.get(name):
            return parse_url(console_env[name], project), name
        window_db = name or None
    env, profile_db = profile_env()
    text, source = pick_url(env, None, window_db or profile_db)
    return parse_url(text, project), source
