"""Who holds the database's connections, by window and pane of the session.

The socket table (:mod:`devenv.db.sockets`) gives the pids holding connections to the server;
the session's processes (:mod:`devenv.session.procs`: pane trees, and marked processes that
left them) give each pid its window and pane. Panes are named ``window.N`` in a window of
several panes, ``window`` alone otherwise; processes outside the session by their name and pid.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.db.sockets import SocketView, clients
from devenv.db.url import DbUrl
from devenv.paths import socket_label
from devenv.session.live import SessionAt
from devenv.tuples import NamedTuple


class Holder(NamedTuple):
    label: str  # "worker.1", "web", or "psql (pid 4711)" outside the session
    window: str | None  # None: not a process of this session
    pane: int | None  # None: the whole window (a process that left its pane's tree)
    connections: int
    pids: tuple[int, ...]
    appname: str | None  # PGAPPNAME in the holders' environment (what pg_stat_activity shows by default)
    mark: str | None = None  # outside the session: the DEVENV_MARK of another session's window
    tcp: tuple[tuple[str, int], ...] = ()  # the client ends (address, port) of its TCP connections
    backends: tuple[int, ...] = ()  # the server process at the other end of each connection (0: not seen)
    unix: int = 0  # how many of them are over the Unix socket

    def as_dict(self) -> dict[str, Any]:
        out = self._asdict()
        out["tcp"] = [f"{ip}:{port}" for ip, port in self.tcp]
        return out


class Holders(NamedTuple):
    session: str | None  # the running session the windows belong to (None: none runs, or none was asked)
    mine: tuple[Holder, ...]  # this session's windows and panes, most connections first
    others: tuple[Holder, ...]  # processes outside the session
    unowned: int  # connections whose process devenv may not see
    complete: bool
    note: str = ""

    @property
    def total(self) -> int:
        return sum(h.connections for h in self.mine + self.others) + self.unowned

    @property
    def all_mine(self) -> bool:
        """Every connection seen is held by this session's processes (and there is at least one)."""
        return bool(self.mine) and not self.others and not self.unowned

    def as_dict(self) -> dict[str, Any]:
        return {"source": "sockets", "session": self.session, "windows": [h.as_dict() for h in self.mine],
                "others": [h.as_dict() for h in self.others], "unowned": self.unowned, "total": self.total,
                "complete": self.complete, "note": self.note}


def _proc_facts(pid: int) -> tuple[str, Mapping[str, str]]:
    """(process name, its environment), as far as they can be read."""
    import psutil

    try:
        proc = psutil.Process(pid)
        name = proc.name()
    except psutil.Error:
        return "?", {}
    try:
        environ: Mapping[str, str] = proc.environ()
    except (psutil.Error, OSError):
        environ = {}
    return name, environ


def _sorted(groups: Mapping[str, list[Any]]) -> tuple[Holder, ...]:
    return tuple(sorted((g[0] for g in groups.values()), key=lambda h: (-h.connections, h.label)))


def attribute(view: SocketView, at: SessionAt | None) -> Holders:
    """The socket view by window and pane of the session ``at`` names (when it runs)."""
    from devenv.session import procs
    from devenv.session.tmux import Tmux

    members: dict[int, procs.Member] = {}
    several: set[str] = set()
    live = None
    session = at.session if at is not None else None
    if at is not None and view.counts:
        tmux = Tmux(at.socket)
        try:
            live = tmux.session(at.session)
        except Exception:  # tmux cannot say: nobody is the session's
            live = None
        if live is not None and at.project is not None and not live.owned_by(at.project):
            live = None  # another project's session of that name: none of its windows are ours
        windows = live.windows() if live is not None else {}
        several = {name for name, panes in windows.items() if len(panes) > 1}
        match = procs.mark_matcher(socket_label(tmux.name), at.session, known=set(windows), project=at.project)
        found = procs.collect(procs.pane_roots(live), match, exclude={os.getpid()})
        members = {pid: member for pid, (_, member) in found.items()}
    mine: dict[str, list[Any]] = {}
    others: dict[str, list[Any]] = {}
    for pid, count in sorted(view.counts.items()):
        name, environ = _proc_facts(pid)
        appname = environ.get("PGAPPNAME")
        keys = view.sockets.get(pid, ())
        tcp = tuple(sorted(k[1] for k in keys if k[0] == "tcp"))
        backends = tuple(sorted(k[2] for k in keys))
        unix = sum(k[0] == "unix" for k in keys)
        member = members.get(pid)
        if member is not None:
            pane = member.pane if member.window in several else None
            label = member.window if pane is None else f"{member.window}.{pane}"
            group, holder = mine, Holder(label, member.window, pane, count, (pid,), appname, None, tcp, backends, unix)
        else:
            label = f"{name} (pid {pid})"
            group, holder = others, Holder(label, None, None, count, (pid,), appname, environ.get("DEVENV_MARK"),
                                           tcp, backends, unix)
        if label in group:
            first = group[label][0]
            group[label][0] = first._replace(connections=first.connections + count, pids=first.pids + (pid,),
                                             appname=first.appname or appname, tcp=first.tcp + tcp,
                                             backends=first.backends + backends, unix=first.unix + unix)
        else:
            group[label] = [holder]
    running = session if live is not None else None  # "outside the session" only when one runs
    return Holders(running, _sorted(mine), _sorted(others), view.unowned, view.complete, view.note)


def scan(url: DbUrl, at: SessionAt | None, exclude: Iterable[int] = ()) -> Holders:
    """Who holds connections to ``url``'s server now, by window; devenv itself (and ``exclude``) left out."""
    view = clients(url, exclude={os.getpid(), *exclude})
    return attribute(view, at)


def summary(holders: Holders, limit: int = 12) -> str:
    """``worker.0 5, worker.1 5, web 2; outside the session: psql (pid 4711) 1`` (ties stay ties)."""
    parts = [f"{h.label} {h.connections}" for h in holders.mine[:limit]]
    if len(holders.mine) > limit:
        parts.append(f"{len(holders.mine) - limit} more windows")
    text = ", ".join(parts)
    if holders.others:
        outside = ", ".join(f"{h.label} {h.connections}" for h in holders.others[:limit])
        more = f", {len(holders.others) - limit} more" if len(holders.others) > limit else ""
        where = "outside the session: " if holders.session is not None else ""
        text += ("; " if text else "") + f"{where}{outside}{more}"
    if holders.unowned:
        text += ("; " if text else "") + f"{holders.unowned} by processes devenv may not see"
    return text or "no process here holds a connection"
