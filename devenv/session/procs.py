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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

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
KILL_WAIT = 5.0  # how long SIGKILL may take to be reaped by the kernel


@dataclass(frozen=True)
class Member:
    """One process of the session."""

    pid: int
    name: str
    window: str
    pane: int | None  # position of the pane whose tree holds it; None for a marked escapee
    root: bool = False  # the pane's own process
    ppid: int | None = field(default=None, compare=False)  # its parent when the scan saw it (not its identity)


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


class Seen(NamedTuple):
    """One process as a snapshot saw it: what finding the session's processes needs, nothing more."""

    pid: int
    ppid: int
    name: str
    started: float  # start time (clock ticks since boot from /proc, else psutil's create_time)


@dataclass
class _Snapshot:
    procs: dict[int, Seen]
    children: dict[int, list[int]]
    marks: dict[int, tuple[str, str | None]]  # pid -> (mark, project)
    tmux: set[int]


def _proc_stat() -> list[Seen] | None:
    """Every live process from /proc/PID/stat (one small read each); None where there is no /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    found = []
    for entry in names:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        head, _, rest = data.rpartition(b")")
        fields = rest.split()
        if len(fields) < 20 or fields[0] in (b"Z", b"X"):  # zombies count as gone
            continue
        comm = head.partition(b"(")[2].decode("utf-8", "replace")
        found.append(Seen(int(entry), int(fields[1]), comm, float(fields[19])))
    return found


def _snapshot() -> _Snapshot:
    """One pass over every process: parents, marks, names. Zombies are left out."""
    snap = _Snapshot({}, {}, {}, set())
    seen = _proc_stat()
    if seen is None:  # no /proc (macOS): psutil
        seen = []
        for proc in psutil.process_iter(["ppid", "name", "status", "create_time"]):
            info = proc.info
            if info["status"] not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) and info["ppid"] is not None:
                seen.append(Seen(proc.pid, info["ppid"], info["name"] or "?", info["create_time"] or 0.0))
    for item in seen:
        snap.procs[item.pid] = item
        snap.children.setdefault(item.ppid, []).append(item.pid)
        if _is_tmux(item.name):
            snap.tmux.add(item.pid)
        mark, project = _mark_of(item.pid, item.started)
        if mark:
            snap.marks[item.pid] = (mark, project)
    return snap


# A process's environment is fixed when it starts: read each process's mark once
# (by pid and start time), so that the rescans of a stop read only new processes.
_MARKS: dict[int, tuple[float, str | None, str | None]] = {}


def _mark_of(pid: int, started: float) -> tuple[str | None, str | None]:
    """(DEVENV_MARK, DEVENV_PROJECT) of a process's environment."""
    known = _MARKS.get(pid)
    if known is not None and known[0] == started:
        return known[1], known[2]
    mark = project = None
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            data = fh.read()
        for item in data.split(b"\0"):
            if item.startswith(b"DEVENV_MARK="):
                mark = item[12:].decode("utf-8", "replace")
            elif item.startswith(b"DEVENV_PROJECT="):
                project = item[15:].decode("utf-8", "replace")
    except FileNotFoundError:
        try:
            environ = psutil.Process(pid).environ() or {}
            mark, project = environ.get(MARK), environ.get(PROJECT)
        except (psutil.Error, OSError):
            pass
    except OSError:
        pass
    _MARKS[pid] = (started, mark, project)
    return mark, project


def _process(seen: Seen) -> psutil.Process | None:
    """A psutil handle on a process found in a snapshot (only those that are the session's)."""
    try:
        return psutil.Process(seen.pid)
    except psutil.Error:
        return None


_HANDLES: dict[tuple[int, float], psutil.Process] = {}


def _handle(snap: _Snapshot, pid: int) -> psutil.Process | None:
    """The same psutil.Process for the same process across snapshots (a stop compares them)."""
    key = (pid, snap.procs[pid].started)
    if key not in _HANDLES:
        proc = _process(snap.procs[pid])
        if proc is None:
            return None
        _HANDLES[key] = proc
    return _HANDLES[key]


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
            proc = _handle(snap, pid)
            if proc is not None:
                seen = snap.procs[pid]
                found[pid] = (proc, Member(pid, seen.name or "?", window, pane, pid in roots, seen.ppid))

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
    first: dict[int, float] | None = None

    def scan(also: Mapping[int, Member]) -> dict[int, tuple[psutil.Process, Member]]:
        nonlocal first
        snap = _snapshot()
        if first is None:
            first = {pid: snap.procs[pid].started for pid in roots if pid in snap.procs}
        still = {pid: roots[pid] for pid, started in first.items()
                 if pid in snap.procs and snap.procs[pid].started == started}
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
    """Whether a pane's shell also gets SIGHUP (what tmux gives it when a pane closes).

    With SIGTERM always (an interactive shell ignores SIGINT and SIGTERM); with SIGINT
    when it is an idle shell (no children): nothing to interrupt, and a shell ignores SIGINT.
    """
    if name == "SIGKILL" or not _pane_shell(proc, member):
        return False
    if name == "SIGTERM":
        return True
    return member.name in _SHELLS and not _has_children(proc)


def _pane_shell(proc: psutil.Process, member: Member) -> bool:
    """A pane's own process that is not devenv's runner (which ends on INT/TERM by itself: a hangup
    would hit its command first), or the shell devenv's runner runs (an interactive pane's)."""
    if member.root:
        return not _is_runner(proc)
    if member.pane is None or member.name not in _SHELLS:
        return False
    try:
        if "-c" in proc.cmdline()[1:]:  # the runner's ``$SHELL -c COMMAND``: the command's, its own signals
            return False
        parent = psutil.Process(proc.ppid())
    except psutil.Error:
        return False
    return _is_runner(parent)


def _moves_on(proc: psutil.Process, member: Member, previous: str) -> bool:
    """Whether the process goes to its next step now: it ignores what it got (:func:`_deaf`), or it
    is a pane's shell left idle at its prompt once SIGINT ended what it ran (it ignores SIGINT)."""
    if _deaf(proc, member, previous):
        return True
    return previous == "SIGINT" and member.name in _SHELLS and _pane_shell(proc, member) and not _has_children(proc)


def _is_runner(proc: psutil.Process) -> bool:
    try:
        return any(arg.endswith("runner.sh") for arg in proc.cmdline())
    except psutil.Error:
        return False


_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "ash", "busybox", "nu",
                     "xonsh", "elvish", "-sh", "-bash", "-zsh", "-fish"})


def _has_children(proc: psutil.Process) -> bool:
    """From /proc/PID/task/PID/children where Linux has it (psutil's children() scans every process).
    A process gone has none."""
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            return bool(f.read().strip())
    except OSError:
        pass
    try:
        return bool(proc.children())
    except psutil.Error:
        return False


def _signal(proc: psutil.Process, member: Member, name: str) -> bool:
    """Send signal ``name`` (and SIGHUP, see :func:`_hangups`); continue a stopped process to see it.
    Whether it got a SIGHUP it heeds (one it does not ignore): it is then ending."""
    try:
        hangup = _hangups(proc, member, name)
        heard = hangup and not _ignores(proc, signal.SIGHUP)
        if not (hangup and name == "SIGINT"):  # an idle shell gets SIGHUP alone: SIGINT would race with it
            proc.send_signal(getattr(signal, name))
        if hangup:
            proc.send_signal(signal.SIGHUP)
        if name != "SIGKILL" and proc.status() == psutil.STATUS_STOPPED:
            proc.send_signal(signal.SIGCONT)
        return heard
    except psutil.Error:  # gone, or not ours to signal: it shows among the survivors
        return False


def _ignores(proc: psutil.Process, *signals: int) -> bool:
    """Whether the process ignores (SIG_IGN) every one of ``signals`` (Linux; False elsewhere)."""
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            ignored = next((int(line.split()[1], 16) for line in f if line.startswith("SigIgn:")), 0)
    except (OSError, ValueError, IndexError):
        return False
    return all(ignored >> (int(sig) - 1) & 1 for sig in signals)


def _deaf(proc: psutil.Process, member: Member, name: str) -> bool:
    """The process ignores (SIG_IGN) every signal it got at this stage: waiting is pointless (Linux)."""
    sent = [getattr(signal, name)] + ([signal.SIGHUP] if name == "SIGTERM" and _pane_shell(proc, member) else [])
    return _ignores(proc, *sent)


class Plan(NamedTuple):
    """How a window's processes are stopped: signals at offsets (seconds) from the window's start.

    The last step is SIGKILL. A process that ignores (SIG_IGN) the signal it just got moves on to
    the next step at once: waiting for it is pointless.
    """

    steps: tuple[tuple[float, str], ...]

    @classmethod
    def staged(cls, timeout: float) -> Plan:
        """The default: SIGINT; SIGTERM after a third of ``timeout``; SIGKILL after all of it."""
        return cls(((0.0, "SIGINT"), (timeout / 3, "SIGTERM"), (timeout, "SIGKILL")))

    @classmethod
    def signal_then_kill(cls, signame: str, timeout: float) -> Plan:
        return cls(((0.0, signame), (timeout, "SIGKILL")) if signame != "SIGKILL" else ((0.0, "SIGKILL"),))

    @classmethod
    def kill_after(cls, timeout: float) -> Plan:
        """After a stop command: nothing is sent until ``timeout``, then SIGKILL."""
        return cls(((timeout, "SIGKILL"),))

    @property
    def length(self) -> float:
        return self.steps[-1][0]


def stop(scan: Callable[[Mapping[int, Member]], dict[int, tuple[psutil.Process, Member]]],
         timeout: float, *, plan: Callable[[Member], Plan] | None = None,
         started: Callable[[str], None] | None = None, kill_wait: float = KILL_WAIT,
         waits_for: Callable[[str], Collection[str]] | None = None) -> StopReport:
    """Stop what ``scan`` finds, each window's processes on their window's plan (default: staged).

    ``scan(tracked)`` returns the processes to stop now (it gets those found before, so it can
    follow their children); it is called again while stopping, to catch processes forked while
    dying, and once more when everything seems gone. ``started(window)`` is called once per
    window when its stop begins (to run a stop command). ``waits_for(window)``: the windows that
    must be gone before this one's stop begins (what depends on it): an ordered shutdown in one
    pass. Returns as soon as everything is gone.
    """
    gate = waits_for or (lambda window: ())
    plan_of = plan or (lambda member: Plan.staged(timeout))
    tracked: dict[int, tuple[psutil.Process, Member]] = {}
    step: dict[int, int] = {}  # pid -> index of the next step
    # shells a hangup is ending: one may ignore SIGHUP while it exits (zsh), which is no deafness
    hung: set[int] = set()
    begun: dict[str, float] = {}  # window -> when its stop began
    plans: dict[str, Plan] = {}
    order: list[Member] = []
    killed: list[Member] = []
    ports_before: dict[int, set[int | None]] = {}
    last_scan = 0.0

    def rescan() -> int:
        """Take in processes not seen yet; how many there were."""
        nonlocal last_scan
        last_scan = time.monotonic()
        following = {pid: m for pid, (proc, m) in tracked.items() if _alive(proc)}
        fresh = {pid: pm for pid, pm in scan(following).items()
                 if pid not in tracked or tracked[pid][0] != pm[0]}
        if not tracked and fresh:
            ports_before.update(listeners(set(fresh)))
        for pid, (proc, member) in fresh.items():
            tracked[pid], step[pid] = (proc, member), 0
            order.append(member)
            plans.setdefault(member.window, plan_of(member))
        return len(fresh)

    def begin(now: float) -> None:
        """Windows whose dependents are all gone begin their stop."""
        alive = {m.window for proc, m in tracked.values() if _alive(proc)}
        for window in sorted(alive - set(begun)):
            if not set(gate(window)) & alive:
                begun[window] = now
                if started is not None:
                    started(window)

    def advance(now: float) -> None:
        """Send every process the steps now due on its window's plan."""
        begin(now)
        for pid, (proc, member) in list(tracked.items()):
            if member.window not in begun:
                continue
            steps = plans[member.window].steps
            while step[pid] < len(steps) and _alive(proc):
                at, signame = steps[step[pid]]
                previous = steps[step[pid] - 1][1] if step[pid] else None
                if begun[member.window] + at > now and not (previous and pid not in hung and
                                                             _moves_on(proc, member, previous)):
                    break
                if signame == "SIGKILL" and step[pid] > 0:  # an escalation, not a plan that kills at once
                    killed.append(member)
                if _signal(proc, member, signame):
                    hung.add(pid)
                step[pid] += 1

    def settled() -> bool:
        now = time.monotonic()
        if now - last_scan >= 0.1:
            rescan()
        advance(now)
        if any(_alive(proc) for proc, _ in tracked.values()):
            return False
        return rescan() == 0 and not any(_alive(proc) for proc, _ in tracked.values())

    rescan()
    advance(time.monotonic())
    if tracked:
        chain = 1 + max((len(set(gate(w))) for w in plans), default=0)  # windows stopped one after another
        budget = chain * max(p.length for p in plans.values()) + kill_wait
        try:
            wait_until(settled, budget, interval=0.01, max_interval=0.05)
        except TimeoutError:
            pass
    left = tuple(m for proc, m in tracked.values() if _alive(proc))
    windows_of: dict[int, str] = {m.pid: m.window for m in order}
    ports = tuple(sorted({(port, windows_of.get(min(p for p in pids if p is not None), "?"))
                          for port, pids in ports_before.items() if any(p is not None for p in pids)}))
    now_listening = listeners() if ports else {}
    released = tuple(sorted({port for port, _ in ports if port not in now_listening}))
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
