"""The processes of a session, found with psutil: collect, stop with escalation, ports, resources.

A session's processes are the process trees of its panes plus every process
whose environment carries the session's mark (``DEVENV_MARK=<label>/<session>/<window>``,
set on every pane by :mod:`devenv.session.plan`), which finds the ones that ``setsid``
or double-forked out of the tree. Never in the set: devenv itself and its
ancestors, tmux servers and clients, and processes started by a tmux server
that are not our panes (another server's panes or ``pipe-pane`` jobs can
inherit a mark from the environment the server was started in).

Nothing here sleeps a fixed time: waits poll with :func:`devenv.wait.wait_until`
and end as soon as everything is gone. Zombies count as gone.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import psutil

from devenv.paths import socket_label
from devenv.session.tmux import Tmux
from devenv.wait import sleep, wait_until

if TYPE_CHECKING:
    from devenv.session.live import LiveSession

K = TypeVar("K")

MARK = "DEVENV_MARK"
PROJECT = "DEVENV_PROJECT"
Matcher = Callable[[str | None, str | None], str | None]  # (mark, project) -> its window, None when not ours
STAGES: tuple[tuple[str, float | None], ...] = (("SIGINT", 1 / 3), ("SIGTERM", 2 / 3), ("SIGKILL", None))
KILL_WAIT = 5.0  # how long SIGKILL may take to be reaped by the kernel


@dataclass(frozen=True)
class Member:
    """One process of the session."""

    pid: int
    name: str
    window: str
    pane: int | None  # position of the pane whose tree holds it; None for a marked escapee
    root: bool = False  # the pane's own process


@dataclass(frozen=True)
class StopReport:
    stopped: tuple[Member, ...]  # every process signalled, in the order found
    killed: tuple[Member, ...]  # those that needed SIGKILL
    survivors: tuple[Member, ...]  # alive even after SIGKILL (uninterruptible, or not ours to signal)
    ports: tuple[tuple[int, str], ...]  # (port, window) listened on before the stop
    released: tuple[int, ...]  # of those ports, the ones nobody listens on any more


@dataclass(frozen=True)
class Usage:
    cpu_percent: float
    rss_bytes: int  # summed: shared pages count once per process
    ports: tuple[int, ...]
    memory_bytes: int = 0  # proportional set size, summed (shared pages split between their users)


# --------------------------------------------------------------------------- marks


def mark_matcher(label: str, session: str, windows: Collection[str] | None = None,
                 known: Collection[str] = (), project: str | None = None) -> Matcher:
    """A function: (mark, project) -> window name when the mark is of this session (and of ``windows``
    if given) and, when ``project`` is given, the process carries that project too.

    The match is exact on ``<label>/<session>/``: a mark of session ``ab`` is
    not one of ``a``. Names may hold ``/``, so a rest that holds one (``a`` +
    ``b/w`` could be session ``a/b``) counts only when ``known`` lists it. Two
    projects may give their sessions one name: the project tells them apart.
    """
    prefix = f"{label}/{session}/"
    chosen = None if windows is None else frozenset(windows)
    known_set = frozenset(known)

    def match(mark: str | None, owner: str | None = None) -> str | None:
        if not mark or not mark.startswith(prefix):
            return None
        if project is not None and owner is not None and owner != project:
            return None
        window = mark[len(prefix):]
        if chosen is not None:
            return window if window in chosen else None
        if not window or ("/" in window and window not in known_set):
            return None
        return window

    return match


def protected() -> frozenset[int]:
    """devenv itself and all its ancestors: never signalled (down may run inside a window)."""
    pids = {os.getpid(), 0, 1}
    try:
        pids.update(p.pid for p in psutil.Process().parents())
    except psutil.Error:
        pids.add(os.getppid())
    return frozenset(pids)


def _is_tmux(name: str | None) -> bool:
    return bool(name) and (name == "tmux" or name.startswith("tmux:"))  # type: ignore[union-attr]


# --------------------------------------------------------------------------- collecting


@dataclass
class _Snapshot:
    procs: dict[int, psutil.Process]
    children: dict[int, list[int]]
    marks: dict[int, tuple[str, str | None]]  # pid -> (mark, project)
    tmux: set[int]


def _snapshot() -> _Snapshot:
    """One pass over every process: parents, marks, names. Zombies are left out."""
    snap = _Snapshot({}, {}, {}, set())
    for proc in psutil.process_iter(["ppid", "name", "status", "create_time"]):
        info = proc.info
        if info["status"] in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) or info["ppid"] is None:
            continue
        snap.procs[proc.pid] = proc
        snap.children.setdefault(info["ppid"], []).append(proc.pid)
        if _is_tmux(info["name"]):
            snap.tmux.add(proc.pid)
        mark, project = _mark_of(proc, info["create_time"])
        if mark:
            snap.marks[proc.pid] = (mark, project)
    return snap


# A process's environment is fixed when it starts: read each process's mark once
# (by pid and start time), so that the rescans of a stop read only new processes.
_MARKS: dict[int, tuple[float | None, str | None, str | None]] = {}


def _mark_of(proc: psutil.Process, started: float | None) -> tuple[str | None, str | None]:
    """(DEVENV_MARK, DEVENV_PROJECT) of a process's environment."""
    known = _MARKS.get(proc.pid)
    if known is not None and known[0] == started and started is not None:
        return known[1], known[2]
    try:
        environ = proc.environ() or {}
    except (psutil.Error, OSError):
        environ = {}
    mark, project = environ.get(MARK), environ.get(PROJECT)
    _MARKS[proc.pid] = (started, mark, project)
    return mark, project


def _tree(snap: _Snapshot, pid: int) -> list[int]:
    """``pid`` and its descendants; a tmux server or client is not followed (its panes are not ours)."""
    out: dict[int, None] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in snap.procs and current not in out and current not in snap.tmux:
            out[current] = None
            todo.extend(snap.children.get(current, ()))
    return list(out)


def collect(roots: Mapping[int, tuple[str, int]], match: Matcher | None, *,
            exclude: Collection[int] = (), also: Mapping[int, Member] | None = None,
            snap: _Snapshot | None = None, servers: Collection[int] = ()) -> dict[int, tuple[psutil.Process, Member]]:
    """The processes of the session: pane trees (``roots``: pane pid -> (window, pane)), marked ones,
    and the descendants of ``also`` (processes found earlier, whose children may have lost the tree).

    ``servers``: pids of the session's own tmux server, when it cannot be asked for its panes
    (stopped, hung): marked processes below it are the session's.
    """
    snap = snap or _snapshot()
    parents = {child: parent for parent, kids in snap.children.items() for child in kids}
    found: dict[int, tuple[psutil.Process, Member]] = {}

    def add(top: int, window: str, pane: int | None) -> None:
        for pid in _tree(snap, top):
            if pid in exclude or pid in found:
                continue
            proc = snap.procs[pid]
            found[pid] = (proc, Member(pid, proc.info["name"] or "?", window, pane, pid in roots))

    for pid, (window, pane) in roots.items():
        add(pid, window, pane)
    def under_other_tmux(pid: int) -> bool:
        seen: set[int] = set()
        while pid in parents and pid not in seen:
            seen.add(pid)
            pid = parents[pid]
            if pid in snap.tmux:
                return pid not in servers
        return False

    if match is not None:
        for pid, (mark, project) in snap.marks.items():
            marked = match(mark, project)
            # Our panes are found as roots. Below another tmux server, a marked process is that server's
            # pane or job, whose mark came from the environment that server was started in.
            if marked is not None and pid not in found and not under_other_tmux(pid):
                add(pid, marked, None)
    for pid, member in (also or {}).items():
        if pid in snap.procs:
            add(pid, member.window, member.pane)
    return found


def scanner(roots: Mapping[int, tuple[str, int]], match: Matcher | None, exclude: Collection[int] = (),
            servers: Collection[int] = ()) -> Callable[[Mapping[int, Member]], dict[int, tuple[psutil.Process, Member]]]:
    """A ``scan`` for :func:`stop`: pane trees as first seen (a pid reused later is not taken), marks."""
    first: dict[int, psutil.Process] | None = None

    def scan(also: Mapping[int, Member]) -> dict[int, tuple[psutil.Process, Member]]:
        nonlocal first
        snap = _snapshot()
        if first is None:
            first = {pid: snap.procs[pid] for pid in roots if pid in snap.procs}
        still = {pid: roots[pid] for pid, proc in first.items() if snap.procs.get(pid) == proc}
        return collect(still, match, exclude=exclude, also=also, snap=snap, servers=servers)

    return scan


def pane_roots(live: LiveSession | None, windows: Collection[str] | None = None) -> dict[int, tuple[str, int]]:
    """pane pid -> (window, pane position) for the live panes that still run.

    Every window of the session, a hand-made one sharing a profile window's name too; with
    ``windows``, only the profile's windows of those names.
    """
    roots: dict[int, tuple[str, int]] = {}
    if live is None:
        return roots
    chosen = live.all_windows() if windows is None else [(n, ps) for n, ps in live.windows().items() if n in windows]
    for name, panes in chosen:
        for position, pane in enumerate(panes):
            if pane.pid and not pane.dead:
                roots[pane.pid] = (name, position)
    return roots


def server_pids(socket_path: str) -> set[int]:
    """The pid of the tmux server listening on ``socket_path`` (to find its panes when it does not answer)."""
    try:
        conns = psutil.net_connections(kind="unix")
    except (psutil.Error, OSError):
        return set()
    # a Unix socket's laddr is its path (a str), whatever psutil's type for inet sockets says
    return {c.pid for c in conns if c.pid is not None and str(c.laddr) == socket_path}


def session_pids(socket: str | None, session: str, project: str | None = None) -> set[int]:
    """Every pid of the running session: its pane trees and the processes marked with it."""
    tmux = Tmux(socket)
    live = tmux.session(session)
    known = set(live.windows()) if live else set()
    match = mark_matcher(socket_label(tmux.name), session, known=known, project=project)
    return set(collect(pane_roots(live), match))


# --------------------------------------------------------------------------- ports


def listeners(pids: Collection[int] | None = None) -> dict[int, set[int | None]]:
    """TCP port -> pids listening on it: the one scan of listening sockets.

    Only ``pids`` when given; without them, a listener whose pid cannot be seen counts as None.
    """
    conns: list[tuple[Any, str, int | None]]
    try:
        conns = [(c.laddr, c.status, c.pid) for c in psutil.net_connections(kind="tcp")]
    except psutil.AccessDenied:  # macOS without root: ask each process we may see
        conns = []
        for each in pids or psutil.pids():
            try:
                proc = psutil.Process(each)
                conns += [(c.laddr, c.status, each) for c in proc.net_connections(kind="tcp")]
            except (psutil.Error, OSError):
                continue
    out: dict[int, set[int | None]] = {}
    for laddr, status, pid in conns:
        if status == psutil.CONN_LISTEN and laddr and (pids is None or pid in pids):
            out.setdefault(laddr.port, set()).add(pid)
    return out


# --------------------------------------------------------------------------- stopping


def _alive(proc: psutil.Process) -> bool:

    try:
        return proc.is_running() and proc.status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _hangups(proc: psutil.Process, member: Member, name: str) -> bool:
    """Whether a pane's own process also gets SIGHUP (what tmux gives it when a pane closes).

    With SIGTERM always (an interactive shell ignores SIGINT and SIGTERM); with SIGINT
    when it is an idle shell (a shell with no children, not devenv's runner): nothing to
    interrupt, and a shell ignores SIGINT.
    """
    if not member.root or name == "SIGKILL":
        return False
    if name == "SIGTERM":
        return True
    return (member.name in _SHELLS and not _has_children(proc)
            and not any(arg.endswith("runner.sh") for arg in proc.cmdline()))


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "ash", "busybox", "nu",
                     "xonsh", "elvish", "-sh", "-bash", "-zsh", "-fish"})


def _has_children(proc: psutil.Process) -> bool:
    """From /proc/PID/task/PID/children where Linux has it (psutil's children() scans every process)."""
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            return bool(f.read().strip())
    except OSError:
        return bool(proc.children())


def _signal(proc: psutil.Process, member: Member, name: str) -> None:
    """Send signal ``name`` (and SIGHUP, see :func:`_hangups`); continue a stopped process to see it."""
    try:
        hangup = _hangups(proc, member, name)
        if not (hangup and name == "SIGINT"):  # an idle shell gets SIGHUP alone: SIGINT would race with it
            proc.send_signal(getattr(signal, name))
        if hangup:
            proc.send_signal(signal.SIGHUP)
        if name != "SIGKILL" and proc.status() == psutil.STATUS_STOPPED:
            proc.send_signal(signal.SIGCONT)
    except psutil.Error:  # gone, or not ours to signal: it shows among the survivors
        pass


def _deaf(proc: psutil.Process, member: Member, name: str) -> bool:
    """The process ignores (SIG_IGN) every signal it got at this stage: waiting is pointless (Linux)."""
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            ignored = next((int(line.split()[1], 16) for line in f if line.startswith("SigIgn:")), 0)
    except (OSError, ValueError, IndexError):
        return False
    sent = [getattr(signal, name)] + ([signal.SIGHUP] if name == "SIGTERM" and member.root else [])
    return all(ignored >> (int(sig) - 1) & 1 for sig in sent)


def stop(scan: Callable[[Mapping[int, Member]], dict[int, tuple[psutil.Process, Member]]],
         timeout: float, *, kill_wait: float = KILL_WAIT) -> StopReport:
    """Stop what ``scan`` finds: SIGINT, wait up to a third of ``timeout``; SIGTERM, wait the rest; SIGKILL.

    ``scan(tracked)`` returns the processes to stop now (it gets those found
    before, so it can follow their children). It is called again at each stage
    and whenever everything seems gone, to catch processes forked while dying.
    A stage ends early when everything left ignores its signal.
    """
    tracked: dict[int, tuple[psutil.Process, Member]] = {}
    order: list[Member] = []
    killed: list[Member] = []
    ports_before: dict[int, set[int | None]] = {}

    def rescan(sig: str) -> int:
        """Find processes not seen yet and send them ``sig``; how many there were."""
        following = {pid: m for pid, (proc, m) in tracked.items() if _alive(proc)}
        fresh = {pid: pm for pid, pm in scan(following).items()
                 if pid not in tracked or tracked[pid][0] != pm[0]}
        if not tracked and fresh:
            ports_before.update(listeners(set(fresh)))
        for pid, (proc, member) in fresh.items():
            tracked[pid] = (proc, member)
            order.append(member)
            if sig == "SIGKILL":
                killed.append(member)
            _signal(proc, member, sig)
        return len(fresh)

    def alive() -> list[tuple[psutil.Process, Member]]:
        return [pm for pm in tracked.values() if _alive(pm[0])]

    for sig, share in STAGES:
        survivors = alive()
        if sig == "SIGKILL":
            killed.extend(m for _, m in survivors)
        for proc, member in survivors:
            _signal(proc, member, sig)
        if rescan(sig) == 0 and not survivors:
            break
        budget = kill_wait if share is None else timeout * share

        def settled(sig: str = sig, last: bool = share is None) -> bool:
            left = alive()
            if left:
                return not last and all(_deaf(p, m, sig) for p, m in left)
            return rescan(sig) == 0

        try:
            wait_until(settled, budget, interval=0.02, max_interval=0.1)
        except TimeoutError:
            pass
        if not alive() and rescan(sig) == 0:
            break

    left = tuple(m for _, m in alive())
    windows_of: dict[int, str] = {m.pid: m.window for m in order}
    ports = tuple(sorted({(port, windows_of.get(min(p for p in pids if p is not None), "?"))
                          for port, pids in ports_before.items() if any(p is not None for p in pids)}))
    now = listeners() if ports else {}
    released = tuple(sorted({port for port, _ in ports if port not in now}))
    return StopReport(tuple(order), tuple(dict.fromkeys(killed)), left, ports, released)


# --------------------------------------------------------------------------- resources


class CpuMeter:
    """CPU % of processes between two readings of their cumulative CPU times (user + system).

    Kept across the frames of ``ps --watch``: each frame's reading is the next one's start, so
    no frame sleeps to measure. A process started since the last reading counts from its start.
    """

    def __init__(self) -> None:
        self.times: dict[tuple[int, float], float] = {}  # (pid, start time) -> CPU seconds at ``at``
        self.at: float | None = None  # wall clock of the last reading

    def read(self, procs: Iterable[psutil.Process]) -> dict[int, float]:
        """pid -> CPU % since the last reading (0 for a process first seen when there was none)."""
        now = time.time()
        times: dict[tuple[int, float], float] = {}
        out: dict[int, float] = {}
        for proc in procs:
            try:
                with proc.oneshot():
                    started = proc.create_time()
                    cpu = proc.cpu_times()
            except psutil.Error:
                continue
            key = (proc.pid, started)
            times[key] = used = cpu.user + cpu.system
            before = self.times.get(key)
            since = self.at if before is not None else (started if self.at is not None else None)
            if since is None or now <= since:
                out[proc.pid] = 0.0
            else:
                out[proc.pid] = max(used - (before or 0.0), 0.0) / (now - since) * 100
        self.times, self.at = times, now
        return out


def usage(groups: Mapping[K, Iterable[psutil.Process]], interval: float = 0.2,
          meter: CpuMeter | None = None) -> dict[K, Usage]:
    """CPU %, RSS and listening ports of each group of processes.

    CPU % is over ``interval`` (sampled: a sleep), or, with a ``meter`` that has read before, since
    that reading (no sleep).
    """
    members = {key: [p for p in procs] for key, procs in groups.items()}
    everyone = [p for procs in members.values() for p in procs]
    meter = meter or CpuMeter()
    if meter.at is None and everyone and interval > 0:
        meter.read(everyone)
        sleep(interval)  # a measurement window, not a wait for a condition
    cpu_of = meter.read(everyone)
    ports = _listening({p.pid for p in everyone}) if everyone else {}
    port_of: dict[int, set[int]] = {}
    for port, pids in ports.items():
        for pid in pids:
            if pid is not None:
                port_of.setdefault(pid, set()).add(port)
    out: dict[K, Usage] = {}
    for key, procs in members.items():
        cpu, rss, pss, held = 0.0, 0, 0, set()
        for proc in procs:
            if proc.pid not in cpu_of:
                continue
            try:
                resident = proc.memory_info().rss
            except psutil.Error:
                continue
            cpu += cpu_of[proc.pid]
            rss += resident
            pss += proportional_size(proc.pid, resident)
            held |= port_of.get(proc.pid, set())
        out[key] = Usage(round(cpu, 1), rss, tuple(sorted(held)), pss)
    return out


def _listen_inodes() -> dict[int, int]:
    """inode -> port of every listening TCP socket (IPv4 and IPv6), from the kernel's ``sock_diag``.

    A dump of the LISTEN state walks only the listening table: ~0.04 ms, where reading
    ``/proc/net/tcp`` walks the whole connection hash (~1.3 ms a family, however few sockets).
    OSError where there is no such netlink family (not Linux, a locked-down container).
    """
    import socket
    import struct

    out: dict[int, int] = {}
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4) as nl:  # type: ignore[attr-defined,unused-ignore]
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), 1):
            # inet_diag_req_v2: family, protocol, ext, pad, states (1 << TCP_LISTEN), an empty sockid
            req = struct.pack("=BBBBI48x", family, socket.IPPROTO_TCP, 0, 0, 1 << 10)
            # nlmsghdr: length, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, pid
            nl.send(struct.pack("=IHHII", 16 + len(req), 20, 0x301, seq, 0) + req)
            done = False
            while not done:
                buf = nl.recv(65536)
                if not buf:
                    break
                off = 0
                while off + 16 <= len(buf):
                    length, kind = struct.unpack_from("=IH", buf, off)
                    if kind == 3:  # NLMSG_DONE
                        done = True
                        break
                    if kind == 2:  # NLMSG_ERROR
                        raise OSError(-struct.unpack_from("=i", buf, off + 16)[0], "sock_diag")
                    # inet_diag_msg: the sockid's source port (big-endian) at 4, the inode at 68
                    out[struct.unpack_from("=I", buf, off + 84)[0]] = struct.unpack_from(">H", buf, off + 20)[0]
                    off += max((length + 3) & ~3, 16)
    return out


def _listening(pids: Collection[int]) -> dict[int, set[int | None]]:
    """:func:`listeners` of ``pids`` only, reading just their descriptors (Linux; elsewhere :func:`listeners`).

    The listening sockets' inodes (``sock_diag``), matched against the ``socket:[inode]``
    descriptors of ``pids``: psutil's scan reads every process's descriptors and the whole
    connection table, which a ``ps --watch`` frame cannot afford.
    """
    try:
        inodes = _listen_inodes()
    except (OSError, AttributeError, ValueError):
        return listeners(pids)
    out: dict[int, set[int | None]] = {}
    for pid in pids:
        try:
            entries = os.scandir(f"/proc/{pid}/fd")
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    target = os.readlink(entry.path)
                except OSError:
                    continue
                if target.startswith("socket:["):
                    port = inodes.get(int(target[8:-1]))
                    if port is not None:
                        out.setdefault(port, set()).add(pid)
    return out


def proportional_size(pid: int, fallback: int) -> int:
    """A process's PSS from /proc/PID/smaps_rollup (Linux 4.14+): its share of the pages it uses.

    ``fallback`` (its RSS) where the kernel does not say.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return fallback
