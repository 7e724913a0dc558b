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
from devenv.session.live import SessionAt


def reconcile(status: dict[str, Any] | None, holders: Holders) -> dict[str, Any]:
    """The holders as JSON; when connected, each with the server's view of its connections.

    A connection is matched exactly: by the server process at the other end of the holder's socket
    (the socket table shows both ends when the server runs here), else by the server's
    ``client_addr:client_port``. Each holder
    gets ``server`` (how many of its connections the server shows) and ``server_names`` (the
    application_name they carry there); ``server_only`` counts, by application_name, the server's
    connections no local process holds (remote clients, or processes devenv may not see).
    """
    out = holders.as_dict()
    if status is None:
        return out
    from devenv.db.sockets import _ip

    backends = list(status.get("backends", []))
    by_pid = {b["pid"]: b for b in backends}
    by_tcp = {(_ip(b["client_addr"]), b["client_port"]): b for b in backends
              if b.get("client_addr") and (b.get("client_port") or -1) > 0}
    claimed: set[int] = set()
    items = [(h, d) for key, hs in (("windows", holders.mine), ("others", holders.others))
             for h, d in zip(hs, out[key], strict=True)]
    for holder, item in items:
        # the backend at the other end of the socket, else the server's client_addr:client_port
        matched = {pid: by_pid[pid] for pid in holder.backends if pid in by_pid}
        matched.update({by_tcp[ep]["pid"]: by_tcp[ep] for ep in holder.tcp if ep in by_tcp})
        claimed.update(matched)
        item["server"] = len(matched)
        item["server_names"] = sorted({b["application_name"] for b in matched.values()})
    left: dict[str, int] = {}
    for b in backends:
        if b["pid"] not in claimed:
            left[b["application_name"]] = left.get(b["application_name"], 0) + 1
    out["server_only"] = dict(sorted(left.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def _holders(url: DbUrl, session_at: SessionAt | None) -> Holders:
    return scan(url, session_at)


def refused(url: DbUrl, exc: ConnectError, session_at: SessionAt | None) -> dict[str, Any]:
    """The status of a server that refused us for want of slots: who holds them, from the sockets."""
    holders = _holders(url, session_at)
    if not holders.total:
        raise DbError(f"{exc.message}; no process on this machine holds a connection to it"
                      + (f" ({holders.note})" if holders.note else ""), hint=exc.hint) from None
    return {"ok": True, "connected": False, "refused": exc.cause, "error": exc.message,
            "holders": reconcile(None, holders)}


def status(url: DbUrl, timeout: float, session_at: SessionAt | None = None) -> dict[str, Any]:
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

    def __init__(self, url: DbUrl, timeout: float, session_at: SessionAt | None = None) -> None:
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
