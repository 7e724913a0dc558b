"""What the database is doing: collect (PostgreSQL, SQLite) and summarize.

``summarize`` is pure: rows of ``pg_stat_activity`` and ``pg_locks`` in, the
JSON-ready status out (the CLI renders it); ``pg_status`` queries an open
connection. Who holds the connections by window, and ``db top``'s kept
connection, are :mod:`devenv.ops.dbstatus`'s.

Counting: ``connections.total`` counts every client backend, devenv's own
connection included (that is what ``max_connections`` limits); the "longest
query" leaves devenv's own query out. Capacity is what the URL's role may use:
``max_connections`` less the slots reserved for superusers
(``superuser_reserved_connections``) and, from PostgreSQL 16, for roles with
``pg_use_reserved_connections`` (``reserved_connections``); the percentage and
the warning are against it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.db.connect import open_sqlite
from devenv.db.url import DbUrl

STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)")
WARN_RATIO = 0.8  # connection-pool exhaustion signal

SETTINGS_SQL = """
select split_part(current_setting('server_version'), ' ', 1) as server_version,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int as superuser_reserved,
       coalesce(current_setting('reserved_connections', true)::int, 0) as reserved,
       coalesce((select rolsuper from pg_roles where rolname = current_user), false) as is_superuser,
       case when current_setting('server_version_num')::int >= 160000
            then pg_has_role(current_user, 'pg_use_reserved_connections', 'USAGE') else false end as use_reserved,
       current_setting('idle_in_transaction_session_timeout') as idle_tx_timeout,
       pg_backend_pid() as own_pid
"""
# documented pg_stat_activity columns; client backends only. Without pg_read_all_stats, another role's
# sessions show no backend_type (nor state, query, client_addr): those connected to a database count
# (they hold slots; an autovacuum worker of the moment would be counted too) as ``hidden``.
ACTIVITY_SQL = """
select pid, coalesce(application_name, '') as application_name, usename as user, state, wait_event_type,
       backend_type is null as hidden,
       host(client_addr) as client_addr, client_port,
       extract(epoch from now() - query_start)::float8 as query_s,
       extract(epoch from now() - state_change)::float8 as state_s,
       extract(epoch from now() - xact_start)::float8 as xact_s,
       left(query, 300) as query,
       case when wait_event_type = 'Lock' then pg_blocking_pids(pid) end as blocked_by
  from pg_stat_activity
 where backend_type = 'client backend' or (backend_type is null and datid is not null)
"""
# objsubid 1: one int8 key (classid high half, objid low half); 2: two int4 keys
ADVISORY_SQL = """
select l.pid, coalesce(a.application_name, '') as application_name, a.state, l.mode, l.granted,
       case l.objsubid when 1 then ((l.classid::bigint << 32) | l.objid::bigint)::text
                       when 2 then l.classid::text || ',' || l.objid::text end as key,
       extract(epoch from now() - a.state_change)::float8 as state_s
  from pg_locks l join pg_stat_activity a using (pid)
 where l.locktype = 'advisory'
 order by l.granted desc, l.pid
"""


# --------------------------------------------------------------------------- summarize (pure)


def _session(row: Mapping[str, Any], seconds: float | None) -> dict[str, Any]:
    return {"pid": row["pid"], "application_name": row["application_name"], "user": row.get("user"),
            "state": row.get("state"), "seconds": round(seconds or 0.0, 1), "query": row.get("query") or ""}


def capacity(settings: Mapping[str, Any]) -> dict[str, Any]:
    """How many connections the URL's role may open: max_connections less what is reserved from it."""
    limit = int(settings["max_connections"])
    su_reserved = int(settings.get("superuser_reserved") or 0)
    reserved = int(settings.get("reserved") or 0)
    if settings.get("is_superuser"):
        role, usable = "superuser", limit
    elif settings.get("use_reserved"):
        role, usable = "pg_use_reserved_connections", limit - su_reserved
    else:
        role, usable = "ordinary", limit - su_reserved - reserved
    return {"max": limit, "usable": max(usable, 0), "reserved": limit - max(usable, 0),
            "superuser_reserved": su_reserved, "reserved_connections": reserved, "role": role}


def biggest(counts: Mapping[str, int]) -> tuple[list[str], int]:
    """(every name with the highest count, that count): ties are ties."""
    top = max(counts.values(), default=0)
    return sorted(name for name, n in counts.items() if n == top and top), top


def summarize(settings: Mapping[str, Any], activity: Iterable[Mapping[str, Any]],
              advisory: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The status of a PostgreSQL server from its settings, activity and advisory-lock rows."""
    rows = list(activity)
    own = settings.get("own_pid")
    by_state: dict[str, int] = dict.fromkeys(STATES, 0)
    by_app: dict[str, int] = {}
    app_states: dict[str, dict[str, int]] = {}
    for row in rows:
        state = row.get("state") or "unknown"  # NULL when we may not see other roles' sessions
        by_state[state] = by_state.get(state, 0) + 1
        app = row["application_name"]
        by_app[app] = by_app.get(app, 0) + 1
        per = app_states.setdefault(app, {})
        per[state] = per.get(state, 0) + 1
    cap = capacity(settings)
    total, usable = len(rows), cap["usable"]
    active = [r for r in rows if r.get("state") == "active" and r["pid"] != own and r.get("query_s") is not None]
    idle_tx = [r for r in rows if (r.get("state") or "").startswith("idle in transaction")]
    longest = max(active, key=lambda r: r["query_s"], default=None)
    longest_tx = max(idle_tx, key=lambda r: r.get("state_s") or 0.0, default=None)
    waiting = [{**_session(r, r.get("query_s")), "blocked_by": list(r.get("blocked_by") or [])}
               for r in rows if r.get("wait_event_type") == "Lock"]
    locks = [{"pid": r["pid"], "application_name": r["application_name"], "key": r["key"], "mode": r["mode"],
              "granted": bool(r["granted"]), "state": r.get("state"), "seconds": round(r.get("state_s") or 0.0, 1)}
             for r in advisory]
    peers: dict[str, int] = {}  # who holds connections, devenv's own left out
    for row in rows:
        if row["pid"] != own:
            peers[row["application_name"]] = peers.get(row["application_name"], 0) + 1
    names, top = biggest(peers)
    status: dict[str, Any] = {
        "ok": True,
        "connected": True,
        "server_version": settings.get("server_version"),
        "connections": {
            "total": total, "max": cap["max"], "usable": usable, "reserved": cap["reserved"],
            "capacity": cap,
            "percent": round(100 * total / usable) if usable else 100,
            "warning": total >= WARN_RATIO * usable,
            "by_state": by_state,
            "by_application": dict(sorted(by_app.items(), key=lambda kv: (-kv[1], kv[0]))),
            "by_application_state": app_states,
            "biggest": {"names": names, "count": top},
            "hidden": sum(bool(r.get("hidden")) for r in rows),  # other roles' sessions, details not visible
            "own_pid": own,
        },
        "backends": [{"pid": r["pid"], "application_name": r["application_name"], "client_addr": r.get("client_addr"),
                      "client_port": r.get("client_port")} for r in rows if r["pid"] != own],
        "locks": {"waiting": waiting, "advisory": locks},
        "longest_query": _session(longest, longest["query_s"]) if longest else None,
        "longest_idle_in_transaction": None,
        "idle_in_transaction_session_timeout": settings.get("idle_tx_timeout"),
    }
    if longest_tx:
        status["longest_idle_in_transaction"] = {**_session(longest_tx, longest_tx.get("state_s")),
                                                 "transaction_seconds": round(longest_tx.get("xact_s") or 0.0, 1)}
    return status


# --------------------------------------------------------------------------- collect (I/O)


def pg_status(conn: Any) -> dict[str, Any]:
    """Query an open (autocommit) connection: latency, settings, activity, advisory locks."""
    from psycopg.rows import dict_row

    start = time.perf_counter()
    conn.execute("select 1").fetchone()
    latency = (time.perf_counter() - start) * 1000
    cur = conn.cursor(row_factory=dict_row)
    settings = cur.execute(SETTINGS_SQL).fetchone()
    activity = cur.execute(ACTIVITY_SQL).fetchall()
    advisory = cur.execute(ADVISORY_SQL).fetchall()
    status = summarize(settings, activity, advisory)
    status["latency_ms"] = round(latency, 2)
    return status


def sqlite_status(url: DbUrl) -> dict[str, Any]:
    """File, size, tables and journal mode of a SQLite database (opened read-only)."""
    assert url.path is not None
    con = open_sqlite(url)
    try:
        tables = [r[0] for r in con.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")]
        journal = con.execute("pragma journal_mode").fetchone()[0]
    finally:
        con.close()
    size = url.path.stat().st_size
    wal = url.path.with_name(url.path.name + "-wal")
    return {"ok": True, "path": str(url.path), "size": size + (wal.stat().st_size if wal.exists() else 0),
            "tables": tables, "journal_mode": journal, "sqlite_version": sqlite3.sqlite_version}
