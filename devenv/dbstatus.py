"""What the database is doing: collect (PostgreSQL, SQLite), summarize, render.

``summarize`` is pure: rows of ``pg_stat_activity`` and ``pg_locks`` in, the
JSON-ready status out. ``render`` turns a status into text. ``Monitor`` keeps
one connection open for ``db top`` and reconnects when it breaks.

Counting: ``connections.total`` counts every client backend, devenv's own
connection included (that is what ``max_connections`` limits); the "longest
query" leaves devenv's own query out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.db import DbUrl, connect_postgres, open_sqlite
from devenv.errors import DbError
from devenv.fmt import duration, size

STATES = ("active", "idle", "idle in transaction", "idle in transaction (aborted)")
WARN_RATIO = 0.8  # connection-pool exhaustion signal

SETTINGS_SQL = """
select split_part(current_setting('server_version'), ' ', 1) as server_version,
       current_setting('max_connections')::int as max_connections,
       current_setting('idle_in_transaction_session_timeout') as idle_tx_timeout,
       pg_backend_pid() as own_pid
"""
# documented pg_stat_activity columns; client backends only
ACTIVITY_SQL = """
select pid, coalesce(application_name, '') as application_name, usename as user, state, wait_event_type,
       extract(epoch from now() - query_start)::float8 as query_s,
       extract(epoch from now() - state_change)::float8 as state_s,
       extract(epoch from now() - xact_start)::float8 as xact_s,
       left(query, 300) as query,
       case when wait_event_type = 'Lock' then pg_blocking_pids(pid) end as blocked_by
  from pg_stat_activity
 where backend_type = 'client backend'
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
    total, limit = len(rows), int(settings["max_connections"])
    active = [r for r in rows if r.get("state") == "active" and r["pid"] != own and r.get("query_s") is not None]
    idle_tx = [r for r in rows if (r.get("state") or "").startswith("idle in transaction")]
    longest = max(active, key=lambda r: r["query_s"], default=None)
    longest_tx = max(idle_tx, key=lambda r: r.get("state_s") or 0.0, default=None)
    waiting = [{**_session(r, r.get("query_s")), "blocked_by": list(r.get("blocked_by") or [])}
               for r in rows if r.get("wait_event_type") == "Lock"]
    locks = [{"pid": r["pid"], "application_name": r["application_name"], "key": r["key"], "mode": r["mode"],
              "granted": bool(r["granted"]), "state": r.get("state"), "seconds": round(r.get("state_s") or 0.0, 1)}
             for r in advisory]
    status: dict[str, Any] = {
        "ok": True,
        "server_version": settings.get("server_version"),
        "connections": {
            "total": total, "max": limit, "percent": round(100 * total / limit) if limit else 0,
            "warning": bool(limit) and total >= WARN_RATIO * limit,
            "by_state": by_state,
            "by_application": dict(sorted(by_app.items(), key=lambda kv: (-kv[1], kv[0]))),
            "by_application_state": app_states,
            "own_pid": own,
        },
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
    import sqlite3

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


class Monitor:
    """One database, one connection kept open and reused; reconnects after a failure."""

    def __init__(self, url: DbUrl, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.conn: Any = None

    def collect(self) -> dict[str, Any]:
        if self.url.scheme == "sqlite":
            return sqlite_status(self.url)
        import psycopg

        if self.conn is None or self.conn.closed:
            self.conn = connect_postgres(self.url, self.timeout)
            self.conn.execute("set statement_timeout = '5s'")
        try:
            return pg_status(self.conn)
        except psycopg.Error as exc:
            self.close()
            first = (str(exc).strip().splitlines() or ["query failed"])[0]
            raise DbError(f"lost the connection to {self.url.where}: {first}") from None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # closing a broken connection must not mask the real problem
                pass
            self.conn = None


def collect(url: DbUrl, timeout: float) -> dict[str, Any]:
    """A one-shot status (connects, queries, closes)."""
    monitor = Monitor(url, timeout)
    try:
        return monitor.collect()
    finally:
        monitor.close()


# --------------------------------------------------------------------------- render


def _query(text: str, width: int = 70) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _app(name: str) -> str:
    return name or "(none)"


def _who(item: Mapping[str, Any]) -> str:
    app = item["application_name"]
    return f"pid {item['pid']} ({app})" if app else f"pid {item['pid']}"


def render(status: Mapping[str, Any], compact: bool = False) -> list[str]:
    """The human report of a status, one string per line."""
    head = f"{status.get('url', '')}" + (f"  (from {status['source']})" if status.get("source") else "")
    if not status.get("ok"):
        return [head, f"not reachable: {status.get('error')}"]
    if "path" in status:
        tables = status["tables"]
        return [head, f"reachable  SQLite {status['sqlite_version']}  {status['path']}",
                f"size {size(status['size'])}  journal mode {status['journal_mode']}",
                f"tables ({len(tables)}): {', '.join(tables) if tables else 'none'}"]
    c = status["connections"]
    lines = [head, f"reachable  latency {status['latency_ms']:.1f} ms  PostgreSQL {status['server_version']}",
             f"connections {c['total']}/{c['max']} ({c['percent']}%) in use, this one included",
             "  " + "  ".join(f"{state} {n}" for state, n in c["by_state"].items())]
    if compact:
        apps = "  ".join(f"{_app(a)} {n}" for a, n in c["by_application"].items())
        lines.append(f"  by application: {apps}")
    else:
        lines += _app_table(c)
    if c["warning"]:
        top = next(iter(c["by_application"].items()), None)
        biggest = f"; the biggest holder is {_app(top[0])} with {top[1]}" if top else ""
        lines.append(f"warning: {c['total']}/{c['max']} connections in use ({c['percent']}% of max_connections): "
                     f"close to exhaustion{biggest}")
    locks = status["locks"]
    if locks["waiting"]:
        lines.append(f"waiting on locks: {len(locks['waiting'])}")
        for w in locks["waiting"][: 3 if compact else 10]:
            by = ", ".join(str(p) for p in w["blocked_by"]) or "?"
            lines.append(f"  {_who(w)} waiting {duration(w['seconds'])}, blocked by {by}: {_query(w['query'], 50)}")
    else:
        lines.append("waiting on locks: none")
    held = [a for a in locks["advisory"] if a["granted"]]
    if locks["advisory"]:
        lines.append(f"advisory locks: {len(held)} held, {len(locks['advisory']) - len(held)} waiting")
        for a in locks["advisory"][: 3 if compact else 10]:
            verb = "held by" if a["granted"] else "wanted by"
            lines.append(f"  key {a['key']} {verb} {_who(a)}, {a['state'] or '?'} {duration(a['seconds'])}")
    else:
        lines.append("advisory locks: none")
    q = status["longest_query"]
    if q:
        lines.append(f"longest query: {_who(q)} {duration(q['seconds'])}: {_query(q['query'])}")
    t = status["longest_idle_in_transaction"]
    if t:
        lines.append(f"longest idle in transaction: {_who(t)} idle {duration(t['seconds'])}, "
                     f"transaction open {duration(t['transaction_seconds'])}: {_query(t['query'], 50)}")
        if not compact and status.get("idle_in_transaction_session_timeout") in ("0", None):
            lines.append("  hint: idle_in_transaction_session_timeout is off; such sessions keep their "
                         "connections and locks until they commit")
    return lines


def _app_table(c: Mapping[str, Any]) -> list[str]:
    cols = ("active", "idle", "idle in transaction", "idle in transaction (aborted)")
    names = list(c["by_application"])
    width = max([len("application")] + [len(_app(n)) for n in names])
    lines = [f"  {'application':<{width}}  total  active  idle  idle in tx  aborted"]
    for name in names:
        per = c["by_application_state"].get(name, {})
        counts = [per.get(s, 0) for s in cols]
        lines.append(f"  {_app(name):<{width}}  {c['by_application'][name]:>5}  {counts[0]:>6}  {counts[1]:>4}"
                     f"  {counts[2]:>10}  {counts[3]:>7}")
    return lines


# --------------------------------------------------------------------------- terminal views: top, console

_HOME, _CLEAR_EOL, _CLEAR_EOS = "\x1b[H", "\x1b[K", "\x1b[J"


class _Stop(Exception):
    pass


def _raise_stop(_signum: int, _frame: object) -> None:
    raise _Stop()


def _size(out: Any) -> tuple[int, int]:
    """The terminal's real size (a stale $COLUMNS must not win after a resize)."""
    import os
    import shutil

    try:
        return tuple(os.get_terminal_size(out.fileno()))  # type: ignore[return-value]
    except (OSError, ValueError, AttributeError):
        return tuple(shutil.get_terminal_size())  # type: ignore[return-value]


def top_frame(status: Mapping[str, Any] | None, error: str | None, header: str, width: int,
              height: int) -> list[str]:
    """One screen of ``db top``: header, a reconnecting line when broken, the last status."""
    lines = [header]
    if error:
        lines.append(f"reconnecting: {error}")
        if status:
            lines.append(f"(last status, from {status.get('time', '?')})")
    if status:
        lines += render(status)[1:]
    return [ln[: max(width - 1, 10)] for ln in lines[: max(height - 1, 3)]]


def top(url: DbUrl, url_text: str, interval: float, out: Any, stdin: Any, mask: Any = str) -> int:
    """Refresh the status in place until q, Ctrl-C or SIGTERM; reads keys without blocking the refresh."""
    import os
    import select
    import signal

    from devenv.wait import sleep

    fd = stdin.fileno() if stdin is not None and stdin.isatty() else None
    is_tty = out.isatty()
    monitor = Monitor(url, max(1.0, min(interval, 3.0)))
    saved_term = None
    old_term = signal.signal(signal.SIGTERM, _raise_stop)
    status: dict[str, Any] | None = None
    try:
        if fd is not None:
            import termios
            import tty

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
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        signal.signal(signal.SIGTERM, old_term)
        monitor.close()
        if saved_term is not None:
            import termios

            termios.tcsetattr(fd, termios.TCSADRAIN, saved_term)
        if is_tty:
            out.write("\x1b[?25h\x1b[?1049l")
            out.flush()


def exec_top(url: DbUrl, label: str, interval: float) -> int:
    """Replace this process with a lean one running :func:`top` (no click, no profile loading).

    ``db top`` lives in a window for hours: the lean process keeps it under ~40 MB. The URL
    travels in the new process's environment (``DEVENV_DB_URL``), never on its argv.
    """
    import os
    import sys

    env = dict(os.environ)
    env["DEVENV_DB_URL"] = f"sqlite:///{url.path}" if url.scheme == "sqlite" else url.libpq_url(with_password=True)
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "devenv.dbstatus", "top", repr(interval), label]
    try:
        os.execve(sys.executable, argv, env)
    except OSError:  # cannot exec: run it here
        pass
    from devenv.secrets import Masker

    return top(url, label, interval, sys.stdout, sys.stdin, Masker([url.password or ""]))


def _main(argv: list[str]) -> int:
    """``python -m devenv.dbstatus top INTERVAL LABEL`` with the URL in $DEVENV_DB_URL."""
    import os
    import sys
    from pathlib import Path

    from devenv.db import parse_url
    from devenv.errors import DevenvError
    from devenv.secrets import Masker

    if len(argv) != 3 or argv[0] != "top":
        sys.stderr.write("usage: DEVENV_DB_URL=... python -m devenv.dbstatus top INTERVAL LABEL\n")
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
    out.write("\n".join(mask(ln) for ln in render(status, compact=True)[1:]) + "\n\n")
    out.flush()
    return True


def console(url: DbUrl, url_text: str, source: str, out: Any, mask: Any = str, timeout: float = 5.0) -> int:
    """Banner, then the shell; when it exits, offer a restart instead of leaving the window dead."""
    from devenv.db import run_shell

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
