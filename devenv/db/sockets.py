"""Who holds connections to a database server, from the operating system's socket table.

No connection to the server is needed, so this answers even when the pool is full. A client
connection is the client end of a TCP connection to the server's address and port, or of a Unix
socket connection to its ``.s.PGSQL.<port>`` file:

* TCP: ``psutil.net_connections`` (pid of every established socket; macOS without root: each
  of the ``candidates`` asked in turn).
* Unix sockets: the client end has no path (neither ``/proc/net/unix`` nor psutil shows which
  server it talks to); the peer is only in the kernel's ``sock_diag`` netlink (what ``ss -xp``
  reads). The server's accepted sockets name the path and their peer's inode; the inodes are
  mapped to pids through ``/proc/<pid>/fd``. Linux only; elsewhere Unix clients are not seen,
  and the result says so.

A local server (loopback or a socket directory) is found on both transports: its TCP port and its
``.s.PGSQL.<port>`` socket, when the same process listens on both.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import sys
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from devenv.db.url import DbUrl
from devenv.tuples import NamedTuple

DEFAULT_SOCKET_DIRS = ("/var/run/postgresql", "/run/postgresql", "/tmp")


class SocketView(NamedTuple):
    """The client ends of connections to one server, by process."""

    counts: Mapping[int, int]  # pid -> connections it holds
    unowned: int  # connections whose process devenv may not see
    complete: bool  # False: part of the table could not be read (see ``note``)
    note: str = ""
    # pid -> its connections: ("tcp", (its address, its port), backend) or ("unix", its socket inode,
    # backend); backend: the server process at the other end (0 when not on this machine or not seen)
    sockets: Mapping[int, tuple[tuple[str, Any, int], ...]] = {}

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.unowned


# --------------------------------------------------------------------------- where the server is


def _ip(text: str) -> str:
    """An address in one spelling (``::ffff:127.0.0.1`` is ``127.0.0.1``)."""
    try:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def _is_loopback(text: str) -> bool:
    try:
        return ipaddress.ip_address(_ip(text)).is_loopback
    except ValueError:
        return False


class Endpoint(NamedTuple):
    """Where a URL's server listens: TCP addresses and port, and/or socket files."""

    port: int
    addresses: frozenset[str]  # TCP; empty for a socket URL
    sockets: tuple[str, ...]  # socket file candidates; empty for a remote host
    local: bool


def endpoint(url: DbUrl, environ: Mapping[str, str] | None = None) -> Endpoint:
    """The server of ``url``, as libpq finds it (no host: ``$PGHOST``, else the default socket folder)."""
    env = os.environ if environ is None else environ
    pgport = env.get("PGPORT", "")
    port = url.port or (int(pgport) if pgport.isdigit() else 5432)
    host = url.host or env.get("PGHOST") or None
    name = f".s.PGSQL.{port}"
    if host is None or host.startswith("/"):
        dirs = (host,) if host else DEFAULT_SOCKET_DIRS
        return Endpoint(port, frozenset(), tuple(os.path.join(d, name) for d in dirs), True)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = frozenset(_ip(str(info[4][0])) for info in infos)
    except OSError:
        addresses = frozenset()
    local = bool(addresses) and all(_is_loopback(a) for a in addresses)
    return Endpoint(port, addresses, (), local)


# --------------------------------------------------------------------------- TCP

Row = tuple[Any, Any, str, "int | None"]  # (laddr, raddr, status, pid) of one TCP socket


def _tcp_table(candidates: Collection[int]) -> tuple[list[Row], str]:
    """(every TCP socket, why incomplete)."""
    import psutil

    try:
        return [(c.laddr, c.raddr, c.status, c.pid) for c in psutil.net_connections(kind="tcp")], ""
    except psutil.AccessDenied:  # macOS without root: ask each process we may
        conns: list[Row] = []
        for pid in candidates:
            try:
                conns += [(c.laddr, c.raddr, c.status, pid) for c in psutil.Process(pid).net_connections("tcp")]
            except (psutil.Error, OSError):
                continue
        return conns, "the system's socket table is not readable here: only this session's processes were asked"


def _tcp_clients(table: list[Row], port: int, addresses: frozenset[str], loopback: bool) -> dict[Any, set[int | None]]:
    """client socket -> pids holding it, for established connections to ``addresses`` (any loopback
    address when ``loopback``) on ``port``. A key is ``("tcp", (address, port), backend)``: the server
    process at the other end when it is on this machine and visible (else 0)."""
    server_ends = {(_ip(raddr.ip), raddr.port): pid for laddr, raddr, status, pid in table
                   if status == "ESTABLISHED" and raddr and laddr and laddr.port == port and pid}
    out: dict[Any, set[int | None]] = {}
    for laddr, raddr, status, pid in table:
        if status != "ESTABLISHED" or not raddr or raddr.port != port or (laddr and laddr.port == port):
            continue  # (a local port equal to the server's: the server's own end of a connection)
        ip = _ip(raddr.ip)
        if ip in addresses or (loopback and _is_loopback(ip)):
            end = (_ip(laddr.ip), laddr.port)
            out.setdefault(("tcp", end, server_ends.get(end, 0)), set()).add(pid)
    return out


def _listeners(table: list[Row], port: int) -> set[int]:
    return {pid for laddr, _, status, pid in table if status == "LISTEN" and laddr and laddr.port == port and pid}


# --------------------------------------------------------------------------- Unix sockets (Linux)

_NETLINK_SOCK_DIAG, _SOCK_DIAG_BY_FAMILY = 4, 20
_NLM_F_REQUEST, _NLM_F_DUMP = 0x1, 0x300
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_UDIAG_SHOW_NAME, _UDIAG_SHOW_PEER = 0x1, 0x4
_UNIX_DIAG_NAME, _UNIX_DIAG_PEER = 0, 2
_TCP_LISTEN = 10


class UnixSocket(NamedTuple):
    path: str | None
    peer: int | None
    listening: bool


def unix_sockets() -> dict[int, UnixSocket]:
    """inode -> (bound path, peer inode, listening) for every AF_UNIX socket (Linux sock_diag)."""
    req = struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, _UDIAG_SHOW_NAME | _UDIAG_SHOW_PEER,
                      0xFFFFFFFF, 0xFFFFFFFF)
    header = struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST | _NLM_F_DUMP, 1, 0)
    out: dict[int, UnixSocket] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as nl:  # type: ignore[attr-defined,unused-ignore]
        nl.sendall(header + req)
        while True:
            buf = nl.recv(1 << 16)
            if not buf:
                return out
            off = 0
            while off + 16 <= len(buf):
                length, kind = struct.unpack_from("=IH", buf, off)
                if kind == _NLMSG_DONE:
                    return out
                if kind == _NLMSG_ERROR:
                    raise OSError(-struct.unpack_from("=i", buf, off + 16)[0], "sock_diag")
                _family, _type, state, _pad, inode = struct.unpack_from("=BBBBI", buf, off + 16)
                path: str | None = None
                peer: int | None = None
                attr = off + 32
                while attr + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", buf, attr)
                    if alen < 4:
                        break
                    data = buf[attr + 4:attr + alen]
                    if atype == _UNIX_DIAG_NAME and data[:1] != b"\0":  # abstract names are not files
                        path = data.rstrip(b"\0").decode(errors="replace")
                    elif atype == _UNIX_DIAG_PEER and len(data) >= 4:
                        peer = struct.unpack("=I", data[:4])[0]
                    attr += (alen + 3) & ~3
                out[inode] = UnixSocket(path, peer, state == _TCP_LISTEN)
                off += (length + 3) & ~3


def inode_owners(wanted: Collection[int]) -> tuple[dict[int, set[int]], bool]:
    """({socket inode: pids holding it}, whether every process's fds could be read)."""
    owners: dict[int, set[int]] = {}
    complete = True
    if not wanted:
        return owners, complete
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fd_dir = f"/proc/{name}/fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            complete = False
            continue
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inode = int(link[8:-1])
                if inode in wanted:
                    owners.setdefault(inode, set()).add(int(name))
    return owners, complete


def _unix_clients(ep: Endpoint, tcp_listeners: set[int]) -> tuple[dict[Any, set[int | None]], set[int], str]:
    """(client inode -> pids holding it, pids listening on the socket files, why incomplete)."""
    if not sys.platform.startswith("linux"):
        return {}, set(), "Unix-socket clients are only seen on Linux"
    try:
        table = unix_sockets()
    except OSError as exc:
        return {}, set(), f"the Unix-socket table is not readable ({exc.strerror or exc})"
    suffix = f"/.s.PGSQL.{ep.port}"
    if ep.sockets:
        paths = {os.path.normpath(p) for p in ep.sockets}
    else:  # a loopback URL: the same server's socket file, wherever its folder is
        paths = {s.path for s in table.values() if s.listening and s.path and s.path.endswith(suffix)}
    listeners = {inode: s for inode, s in table.items() if s.listening and s.path in paths}
    accepted = {inode: s for inode, s in table.items() if not s.listening and s.path in paths and s.peer}
    wanted = {s.peer for s in accepted.values() if s.peer is not None} | set(listeners) | set(accepted)
    owners, complete = inode_owners(wanted)
    if not ep.sockets:
        # only the socket files of the process that listens on the URL's TCP port
        mine = {s.path for inode, s in listeners.items() if owners.get(inode, set()) & tcp_listeners}
        accepted = {i: s for i, s in accepted.items() if s.path in mine}
    serving = {pid for inode in listeners for pid in owners.get(inode, ())}
    out: dict[Any, set[int | None]] = {}
    for inode, s in accepted.items():
        assert s.peer is not None
        held: set[int | None] = set(owners.get(s.peer, ()))
        backend = min(owners.get(inode, {0}))  # the server process on the other end (0: not seen)
        out[("unix", s.peer, backend)] = held or {None}
    return out, serving, "" if complete else "some processes' sockets are not readable (permission denied)"


# --------------------------------------------------------------------------- together


def clients(url: DbUrl, *, exclude: Iterable[int] = (), candidates: Collection[int] = (),
            environ: Mapping[str, str] | None = None) -> SocketView:
    """The processes holding connections to ``url``'s server (``exclude``: never counted, e.g. devenv).

    ``candidates``: the processes to ask one by one where the system-wide table is closed (macOS).
    """
    ep = endpoint(url, environ)
    notes: list[str] = []
    table: list[Row] = []
    if ep.addresses or ep.local:
        table, note = _tcp_table(candidates)
        notes.append(note)
    found = _tcp_clients(table, ep.port, ep.addresses, ep.local) if ep.addresses else {}
    if ep.local:
        tcp_listeners = _listeners(table, ep.port)
        unix, serving, note = _unix_clients(ep, tcp_listeners)
        found.update(unix)
        notes.append(note)
        if ep.sockets and serving & tcp_listeners:  # a socket URL: the same server's loopback TCP clients
            found.update(_tcp_clients(table, ep.port, frozenset(), True))
    skip = set(exclude)
    counts: dict[int, int] = {}
    sockets: dict[int, list[tuple[str, Any, int]]] = {}
    unowned = 0
    for key, pids in found.items():
        known = sorted(p for p in pids if p is not None)
        if not known:
            unowned += 1
            continue
        if skip & set(known):
            continue
        pid = known[0]  # a socket shared after a fork counts once, for the oldest holder
        counts[pid] = counts.get(pid, 0) + 1
        sockets.setdefault(pid, []).append(key)
    text = "; ".join(n for n in notes if n)
    return SocketView(counts, unowned, not text, text, {pid: tuple(keys) for pid, keys in sockets.items()})
