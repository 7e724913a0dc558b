"""``db status`` and ``db top``: the server's view and the socket table's, reconciled.

The server's view (``pg_stat_activity`` by ``application_name``) needs a connection; the socket
view (:mod:`devenv.session.dbclients`: client ends of connections to the server, by window and
pane) does not. When the server refuses us for want of slots, the socket view alone answers
"who holds the pool" (``connected: false``, ``refused``: why). Each holder carries the server's
count for its ``PGAPPNAME`` when devenv is connected; applications the server shows but no local
process holds are listed as ``server_only`` (remote clients, or processes devenv may not see).
"""

from __future__ import annotations

import os
from typing import Any

from devenv.db.connect import ConnectError, connect_postgres
from devenv.db.status import pg_status, sqlite_status
from devenv.db.url import DbUrl
from devenv.errors import DbError
from devenv.session.dbclients import Holders, scan

SessionAt = tuple[str | None, str] | None  # (tmux socket, session) whose windows are named


def reconcile(status: dict[str, Any] | None, holders: Holders) -> dict[str, Any]:
    """The holders as JSON, each with the server's count for its application_name (when connected)."""
    out = holders.as_dict()
    if status is None:
        return out
    by_app = dict(status["connections"]["by_application"])
    if by_app.get("devenv"):
        by_app["devenv"] -= 1  # devenv's own connection is not among the holders
    seen: set[str] = set()
    for key in ("windows", "others"):
        for item in out[key]:
            app = item.get("appname")
            item["server"] = by_app.get(app) if app is not None else None
            if app is not None:
                seen.add(app)
    out["server_only"] = {app: n for app, n in by_app.items() if n and app not in seen}
    return out


def _holders(url: DbUrl, session_at: SessionAt) -> Holders:
    socket, session = session_at if session_at is not None else (None, None)
    return scan(url, socket, session)


def refused(url: DbUrl, exc: ConnectError, session_at: SessionAt) -> dict[str, Any]:
    """The status of a server that refused us for want of slots: who holds them, from the sockets."""
    holders = _holders(url, session_at)
    if not holders.total:
        raise DbError(f"{exc.message}; no process on this machine holds a connection to it"
                      + (f" ({holders.note})" if holders.note else ""), hint=exc.hint) from None
    return {"ok": True, "connected": False, "refused": exc.cause, "error": exc.message,
            "holders": reconcile(None, holders)}


def status(url: DbUrl, timeout: float, session_at: SessionAt = None) -> dict[str, Any]:
    """One look: connect (a refusal is an answer at once), query, name the holders, close.

    A full pool is answered from the socket table (``connected: false``); any other failure
    raises ConnectError / DbError.
    """
    if url.scheme == "sqlite":
        return sqlite_status(url)
    try:
        conn = connect_postgres(url, timeout, retry=False)
    except ConnectError as exc:
        if not exc.full:
            raise
        return refused(url, exc, session_at)
    try:
        result = pg_status(conn)
        result["holders"] = reconcile(result, _holders(url, session_at))  # while ours is open: it is left out
    finally:
        conn.close()
    return result


class Watch:
    """``db top``: one connection, opened once and kept; none in socket-only mode.

    When the server refuses us for want of slots, the watch stays socket-only (it does not take
    a slot the moment one frees) until :meth:`try_connect`. A connection that breaks is opened
    again at the next refresh (still one at a time).
    """

    def __init__(self, url: DbUrl, timeout: float, session_at: SessionAt = None) -> None:
        self.url = url
        self.timeout = timeout
        self.session_at = session_at
        self.conn: Any = None
        self.refusal: ConnectError | None = None  # socket-only mode: why

    @property
    def socket_only(self) -> bool:
        return self.refusal is not None

    def try_connect(self) -> None:
        """Leave socket-only mode: the next refresh tries to connect."""
        self.refusal = None

    def collect(self) -> dict[str, Any]:
        if self.url.scheme == "sqlite":
            return sqlite_status(self.url)
        import psycopg  # PostgreSQL only: a SQLite `db top` never loads it

        if self.conn is None and self.refusal is None:
            try:
                self.conn = connect_postgres(self.url, self.timeout, retry=False)
                self.conn.execute("set statement_timeout = '5s'")
            except ConnectError as exc:
                if not exc.full:
                    raise
                self.refusal = exc
        if self.conn is None:
            assert self.refusal is not None
            result = refused(self.url, self.refusal, self.session_at)
            result["connection"] = {"kept": False, "why": self.refusal.cause}
            return result
        try:
            result = pg_status(self.conn)
        except psycopg.Error as exc:
            self.close()
            first = (str(exc).strip().splitlines() or ["query failed"])[0]
            raise DbError(f"lost the connection to {self.url.where}: {first}") from None
        result["holders"] = reconcile(result, _holders(self.url, self.session_at))
        result["connection"] = {"kept": True, "backend_pid": result["connections"]["own_pid"], "pid": os.getpid()}
        return result

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # closing a broken connection must not mask the real problem
                pass
            self.conn = None
