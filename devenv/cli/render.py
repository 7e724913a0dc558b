"""Every screen: the checklist, the stop report, the ps table, wait progress, db status, log lines.

Functions here build text (and the two live views, :class:`Progress` and
:class:`Printer`, write to the stream they are given); nothing here imports click,
so the click-free paths (``up``, ``db top``) can use it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from devenv.fmt import duration, size
from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the lean `db top` process and `up`'s failures import this module
    from typing import IO, Any

    from devenv.logs import Line
    from devenv.ops.ps import PaneRow
    from devenv.readiness.prereqs import CheckResult
    from devenv.readiness.waits import Watch
    from devenv.session.procs import Member, StopReport

_GREEN, _RED, _YELLOW, _BOLD, _RESET = "\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"


# --------------------------------------------------------------------------- doctor, up


def _can_encode(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def checklist(results: Sequence[CheckResult], *, color: bool, unicode: bool | None = None) -> str:
    """The checklist: mark, check, what was found, and a hint under each failure or warning."""
    if unicode is None:
        unicode = _can_encode("✓✗⚠")
    good, bad, warn = ("✓", "✗", "⚠") if unicode else ("ok", "XX", "!!")
    width = min(max((len(r.name) for r in results), default=0), 32)
    lines = []
    for r in results:
        mark = warn if r.warn else good if r.ok else bad
        if color:
            mark = (f"{_YELLOW}{_BOLD}{warn}{_RESET}" if r.warn else f"{_GREEN}{good}{_RESET}" if r.ok
                    else f"{_RED}{_BOLD}{bad}{_RESET}")
        lines.append(f"{mark} {r.name.ljust(width)}  {r.detail}")
        if r.hint:
            hint = f"hint: {r.hint}"
            lines.append("    " + (f"{_YELLOW}{hint}{_RESET}" if color else hint))
    failed = sum(not r.ok for r in results)
    warned = sum(r.warn for r in results)
    note = f", {warned} warning{'s' if warned != 1 else ''}" if warned else ""
    lines.append(f"{failed} of {len(results)} checks failed{note}" if failed
                 else f"all {len(results)} checks passed{note}")
    return "\n".join(lines)


def warnings(results: Sequence[CheckResult]) -> list[str]:
    """One line per warning (``up`` goes on, and says what it saw)."""
    out = []
    for r in results:
        if r.warn:
            out.append(f"warning: {r.name}: {r.detail}")
            if r.hint:
                out.append(f"  hint: {r.hint}")
    return out


# --------------------------------------------------------------------------- down, restart, ps


def _procs(members: Iterable[Member]) -> str:
    return ", ".join(f"{m.pid} {m.name}" for m in members)


def _by_window(members: Iterable[Member]) -> dict[str, list[Member]]:
    from devenv.session.watcher import WATCHER

    out: dict[str, list[Member]] = {}
    for m in members:
        out.setdefault("(watcher)" if m.window == WATCHER else m.window, []).append(m)
    return out


def stop_report(report: StopReport, indent: str = "  ") -> tuple[list[str], list[str]]:
    """What was stopped, killed, released: (lines for stdout, lines for stderr)."""
    out: list[str] = []
    err: list[str] = []
    for window, members in _by_window(report.stopped).items():
        out.append(f"{indent}{window}: {_procs(members)}")
    if report.killed:
        out.append(f"{indent}needed SIGKILL: " + ", ".join(f"{m.pid} {m.name} ({m.window})" for m in report.killed))
    released = set(report.released)
    if released:
        out.append(f"{indent}released ports: " + ", ".join(
            f"{port} ({window})" for port, window in report.ports if port in released))
    held = [f"{port} ({window})" for port, window in report.ports if port not in released]
    if held:
        err.append(f"{indent}still in use by another process: port " + ", ".join(held))
    if report.survivors:
        err.append(f"warning: still running after SIGKILL: {_procs(report.survivors)}")
    return out, err


_STATE_COLORS = {"ready": _GREEN, "running": _GREEN, "starting": _YELLOW, "waiting": _YELLOW, "failed": _RED,
                 "orphaned": _RED}


def _state_color(row: PaneRow) -> str | None:
    if row.state == "exited":
        return _RED if row.exit_code else None
    return _STATE_COLORS.get(row.state)


def ps_table(rows: Sequence[PaneRow], *, color: bool = False, width: int | None = None) -> list[str]:
    """The ``ps`` table, one line per pane; ``width``: the command cut to fit (the lines too, at worst)."""
    table = [("WINDOW", "PANE", "STATE", "PID", "EXIT", "CPU%", "MEM", "PORTS", "UPTIME", "RESTARTS", "COMMAND")]
    for r in rows:
        table.append((r.window, str(r.pane), r.state, _opt(r.pid), _opt(r.exit_code),
                      f"{r.cpu_percent:.1f}" if r.pid else "-", size(r.memory_bytes) if r.memory_bytes else "-",
                      ",".join(map(str, r.ports)) or "-", duration(r.uptime_s) if r.uptime_s is not None else "-",
                      str(r.restarts), f"[{r.detail}] {r.command}" if r.detail else r.command))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    lines = []
    for i, row in enumerate(table):
        cells = [cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)]
        head = "  ".join(cells) + "  "
        room = 60 if width is None else width - len(head)
        if room < 8:  # too narrow even for the fixed columns: plain, cut
            lines.append((head + row[-1])[:width])
            continue
        code = _state_color(rows[i - 1]) if color and i else None
        if code:
            cells[2] = code + cells[2] + _RESET  # padded first: the columns stay aligned
        line = "  ".join(cells) + "  " + _short(row[-1], room)
        lines.append(_BOLD + line + _RESET if color and not i else line)
    return lines


def ps_frame(rows: Sequence[PaneRow], header: str, note: str | None, width: int, height: int, *,
             color: bool = False) -> list[str]:
    """One screen of ``ps --watch``: the header, a note (no session), the table; cut to width and height."""
    lines = [header[:width]]
    if note is not None:
        lines.append(note[:width])
    if rows:
        table = ps_table(rows, color=color, width=width)
        room = max(height - 1 - len(lines), 2)
        if len(table) > room:
            hidden = len(table) - room + 1
            table = table[: room - 1] + [f"... {hidden} more pane{'s' if hidden != 1 else ''}"[:width]]
        lines += table
    return lines


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


# --------------------------------------------------------------------------- wait


class Progress:
    """Live lines per window on a terminal; plain lines for final states otherwise."""

    def __init__(self, watches: Sequence[Watch], stream: IO[str], started: float) -> None:
        self.watches = watches
        self.stream = stream
        self.started = started
        self.tty = stream.isatty()
        self.drawn = 0
        self.width = max((len(w.name) for w in watches), default=0)

    def line(self, w: Watch) -> str:
        now = w.done_at if w.done_at is not None else time.monotonic()
        took = f"{now - self.started:.1f}s"
        if w.state == "ready":
            return f"{w.name}: ready ({took})"
        if w.state in ("failed", "timeout"):
            return f"{w.name}: {w.detail}"
        if w.state == "waiting":
            return f"{w.name}: {w.detail} ({took})"
        return f"{w.name}: {w.state if w.state == 'starting' else 'waiting'} ({took}) {w.doing}"

    def changed(self, w: Watch) -> None:
        """Off a terminal, one line per window once it is ready (what is not is told once, at the end)."""
        if not self.tty and w.state == "ready":
            self.stream.write(self.line(w) + "\n")
            self.stream.flush()

    def draw(self) -> None:
        if not self.tty:
            return
        cols = shutil.get_terminal_size((100, 20)).columns
        text = f"\x1b[{self.drawn}F" if self.drawn else ""
        for w in self.watches:
            text += "\r\x1b[2K" + self.line(w)[: max(cols - 1, 20)] + "\n"
        self.drawn = len(self.watches)
        self.stream.write(text)
        self.stream.flush()


# --------------------------------------------------------------------------- db




def _query(text: str, width: int = 70) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _app(name: str) -> str:
    return name or "(none)"


def _who(item: Mapping[str, Any]) -> str:
    app = item["application_name"]
    return f"pid {item['pid']} ({app})" if app else f"pid {item['pid']}"


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def ties(names: Sequence[str], n: int) -> str:
    """``the biggest holder is X with 5``, or ``the biggest holders are X, Y and Z with 5 each``."""
    if not names:
        return ""
    if len(names) == 1:
        return f"the biggest holder is {names[0]} with {n}"
    return f"the biggest holders are {_and(list(names))} with {n} each"


def holders_line(h: Mapping[str, Any], limit: int = 12) -> str:
    """``worker.0 5, worker.1 5, web 2; outside the session: psql (pid 4711) 1``."""
    mine = [f"{w['label']} {w['connections']}" for w in h["windows"]]
    text = ", ".join(mine[:limit] + ([f"{len(mine) - limit} more"] if len(mine) > limit else []))
    if h["others"]:
        outside = ", ".join(f"{o['label']} {o['connections']}" for o in h["others"][:limit])
        where = "outside the session: " if h.get("session") is not None and mine else ""
        text += ("; " if text else "") + where + outside
    if h.get("unowned"):
        text += ("; " if text else "") + f"{h['unowned']} by processes devenv may not see"
    return text or "none on this machine"


def _biggest_holders(h: Mapping[str, Any]) -> tuple[list[str], int]:
    items = list(h["windows"]) + list(h["others"])
    top = max((i["connections"] for i in items), default=0)
    return [i["label"] for i in items if i["connections"] == top and top], top


def _holders_table(h: Mapping[str, Any]) -> list[str]:
    rows = [(i["label"], str(i["connections"]), "-" if i.get("server") is None else str(i["server"]),
             ", ".join(_app(n) for n in i.get("server_names") or []) or i.get("appname") or "-")
            for i in list(h["windows"]) + list(h["others"])]
    if not rows:
        return ["  no process on this machine holds a connection"]
    header = ("holder", "sockets", "server", "application_name")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(3)]
    lines = [f"  {header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:>{widths[2]}}  {header[3]}"]
    for r in rows:
        lines.append(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}")
    if h.get("unowned"):
        lines.append(f"  {h['unowned']} held by processes devenv may not see")
    return lines


def _ordinary(c: Mapping[str, Any]) -> str:
    """For a superuser's view: what an ordinary role (the app's, usually) may use."""
    cap = c.get("capacity") or {}
    held = int(cap.get("superuser_reserved") or 0) + int(cap.get("reserved_connections") or 0)
    return f" (an ordinary role may use {c['max'] - held}: {held} reserved)" if held else ""


def db_status(status: Mapping[str, Any], compact: bool = False) -> list[str]:
    """The human report of a status, one string per line."""
    head = f"{status.get('url', '')}" + (f"  (from {status['source']})" if status.get("source") else "")
    if not status.get("ok"):
        return [head, f"not reachable: {status.get('error')}"]
    if "path" in status:
        tables = status["tables"]
        return [head, f"reachable  SQLite {status['sqlite_version']}  {status['path']}",
                f"size {size(status['size'])}  journal mode {status['journal_mode']}",
                f"tables ({len(tables)}): {', '.join(tables) if tables else 'none'}"]
    holders = status.get("holders")
    if not status.get("connected", True):
        lines = [head, f"the server refused us: {status.get('refused')}"]
        if holders is not None:
            lines.append(f"holders: {holders_line(holders)} (from sockets: the server refused us)")
            names, n = _biggest_holders(holders)
            lines.append(f"  {holders['total']} connections held from this machine" + (f"; {ties(names, n)}" if names else ""))
            if holders.get("note"):
                lines.append(f"  (incomplete: {holders['note']})")
        return lines
    c = status["connections"]
    usable, limit, reserved = c.get("usable", c["max"]), c["max"], c.get("reserved", 0)
    lines = [head, f"reachable  latency {status['latency_ms']:.1f} ms  PostgreSQL {status['server_version']}",
             f"connections {c['total']}/{usable} ({c['percent']}%) in use, this one included"
             + (f" (max_connections {limit}, {reserved} reserved)" if reserved else _ordinary(c)),
             "  " + "  ".join(f"{state} {n}" for state, n in c["by_state"].items())]
    if c.get("hidden"):
        lines.append(f"  ({c['hidden']} of other roles, whose state this role may not see: grant it "
                     "pg_read_all_stats to see them)")
    if compact:
        apps = "  ".join(f"{_app(a)} {n}" for a, n in c["by_application"].items())
        lines.append(f"  by application: {apps}")
        if holders is not None:
            lines.append(f"  by window (sockets): {holders_line(holders)}")
    else:
        lines += _app_table(c)
        if holders is not None:
            lines.append("holders (the socket table's count, and the server's for the same connections):")
            lines += _holders_table(holders)
            if holders.get("server_only"):
                lines.append("  not seen in this machine's socket table: " + ", ".join(
                    f"{_app(a)} {n}" for a, n in holders["server_only"].items()))
            if holders.get("note"):
                lines.append(f"  (incomplete: {holders['note']})")
    if c["warning"]:
        big = c.get("biggest") or {}
        names = [_app(n) for n in big.get("names", [])]
        biggest = f"; {ties(names, big.get('count', 0))}" if names else ""
        of = "of max_connections" if not reserved else f"of the {usable} usable: max_connections {limit}, {reserved} reserved"
        lines.append(f"warning: {c['total']}/{usable} connections in use ({c['percent']}% {of}): "
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


def connection_line(status: Mapping[str, Any] | None) -> str | None:
    """``db top``'s own connection: one kept open, or none (socket-only)."""
    conn = (status or {}).get("connection")
    if not conn:
        return None
    if conn.get("kept"):
        return f"devenv's connection: one, kept open (server pid {conn.get('backend_pid')}), counted above"
    return (f"devenv's connection: none, socket-only (the server refused us: {conn.get('why')}); "
            "c: try to connect")


def top_frame(status: Mapping[str, Any] | None, error: str | None, header: str, width: int,
              height: int) -> list[str]:
    """One screen of ``db top``: header, its own connection, a reconnecting line when broken, the last status."""
    lines = [header]
    if error:
        lines.append(f"reconnecting: {error}")
        if status:
            lines.append(f"(last status, from {status.get('time', '?')})")
    elif (own := connection_line(status)) is not None:
        lines.append(own)
    if status:
        lines += db_status(status)[1:]
    return [ln[: max(width - 1, 10)] for ln in lines[: max(height - 1, 3)]]


# --------------------------------------------------------------------------- logs


COLORS = (36, 33, 32, 35, 34, 31, 96, 93, 92, 95, 94, 91)


def color_of(label: str) -> int:
    """A stable ANSI colour for a source label."""
    import zlib

    return COLORS[zlib.crc32(label.encode()) % len(COLORS)]


class Printer:
    """Writes lines with an aligned, optionally coloured ``label | `` prefix; flushes each batch."""

    def __init__(self, stream: IO[str], *, prefix: bool = True, color: bool = False,
                 mask: Callable[[str], str] | None = None) -> None:
        self.stream = stream
        self.prefix = prefix
        self.color = color
        self.mask = mask
        self.width = 0

    def format(self, label: str, line: str) -> str:
        if self.mask is not None:
            line = self.mask(line)
        if not self.prefix:
            return line
        self.width = max(self.width, len(label))
        head = f"{label:<{self.width}} |"
        if self.color:
            head = f"\x1b[{color_of(label)}m{head}\x1b[0m"
        return f"{head} {line}" if line else head

    def __call__(self, batch: list[Line]) -> None:
        if self.prefix and batch:
            self.width = max(self.width, *(len(label) for label, _ in batch))
        text = "".join(self.format(label, line) + "\n" for label, line in batch)
        buffer = getattr(self.stream, "buffer", None)
        if buffer is not None:
            self.stream.flush()
            buffer.write(text.encode(getattr(self.stream, "encoding", None) or "utf-8", "replace"))
            buffer.flush()
        else:
            self.stream.write(text)
            self.stream.flush()


def use_color(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
