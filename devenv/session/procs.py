"""The processes of a session, found with psutil: collect, stop with escalation, ports, resources.

A session's processes are the process trees of its panes plus every process
whose environment carries the session's mark (``DEVENV_MARK=<label>/<session>/<window>``,
set on every pane by :mod:`devenv.session.plan`), which finds the ones that ``setsid``
or double-forked out of the tree. Never in the set: devenv itself and its
ancestors, tmux servers and clients, and processes started by a tmux server
that are not our panes (another server's panes or ``pipe-pane`` jobs can
inherit a mark from the environment the server was started in).

Nothing here sleeps a fixed time: a stop waits on its processes' pidfds (woken the moment one
exits; elsewhere it polls) and ends as soon as everything is gone. Zombies count as gone.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

import psutil

from devenv.paths import socket_label
from devenv.session.tmux import Tmux
from devenv.tuples import TYPE_CHECKING, NamedTuple
from devenv.wait import sleep, until_exit

if TYPE_CHECKING:
    from devenv.session.live import LiveSession

K = TypeVar("K")

MARK = "DEVENV_MARK"
PROJECT = "DEVENV_PROJECT"
Matcher = Callable[[str | None, str | None], str | None]  # (mark, project) -> its window, None when not ours
KILL_WAIT = 5.0  # how long SIGKILL may take to be reaped by the kernel


class Member(NamedTuple):
    """One process of the session. Equal members are the same process in the same place, whatever
    its parent was when a scan saw it (a process whose parent died is reparented)."""

    pid: int
    name: str
    window: str
    pane: int | None  # position of the pane whose tree holds it; None for a marked escapee
    root: bool = False  # the pane's own process
    ppid: int | None = None  # its parent when the scan saw it (not its identity)

    def identity(self) -> tuple[int, str, str, int | None, bool]:
        return self.pid, self.name, self.window, self.pane, self.root

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Member) and self.identity() == other.identity()

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.identity())


class StopReport(NamedTuple):
    stopped: tuple[Member, ...]  # every process signalled, in the order found
    killed: tuple[Member, ...]  # those that needed SIGKILL
    survivors: tuple[Member, ...]  # alive even after SIGKILL (uninterruptible, or not ours to signal)
    ports: tuple[tuple[int, str], ...]  # (port, window) listened on before the stop
    released: tuple[int, ...]  # of those ports, the ones nobody listens on any more


class Usage(NamedTuple):
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
    """One process as a snapshot saw it: what finding the session's processes and ``ps`` need, nothing more."""

    pid: int
    ppid: int
    name: str
    started: float  # start time (clock ticks since boot from /proc, else psutil's create_time)
    cpu: float = 0.0  # CPU seconds used so far (user + system)
    age: float = 0.0  # seconds since it started, at the snapshot
    rss: int = 0  # resident bytes


class Snapshot(NamedTuple):
    """One pass over the process table (its dicts are filled in place while it is made)."""

    procs: dict[int, Seen]
    children: dict[int, list[int]]
    marks: dict[int, tuple[str, str | None]]  # pid -> (mark, project), filled by _marks as asked
    tmux: set[int]


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _uptime() -> float | None:
    """Seconds since boot, the clock /proc's start times count on; None where there is no /proc."""
    try:
        with open("/proc/uptime", "rb") as fh:
            return float(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_stat(pid: int | str, uptime: float) -> Seen | None:
    """One process from /proc/PID/stat (one small read); None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    head, _, rest = data.rpartition(b")")
    fields = rest.split()  # fields[i] is stat field i + 3 (man 5 proc)
    if len(fields) < 22 or fields[0] in (b"Z", b"X"):  # zombies count as gone
        return None
    comm = head.partition(b"(")[2].decode("utf-8", "replace")
    started = float(fields[19])
    return Seen(int(pid), int(fields[1]), comm, started, (int(fields[11]) + int(fields[12])) / _TICK,
                max(uptime - started / _TICK, 0.0), int(fields[21]) * _PAGE)


def _proc_stat() -> list[Seen] | None:
    """Every live process from /proc/PID/stat (one small read each); None where there is no /proc."""
    uptime = _uptime()
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    if uptime is None:
        return None
    found = []
    for entry in names:
        if entry.isdigit():
            seen = _read_stat(entry, uptime)
            if seen is not None:
                found.append(seen)
    return found


def _psutil_seen(proc: psutil.Process, info: Mapping[str, Any]) -> Seen | None:
    """A :class:`Seen` from psutil's fields (where there is no /proc)."""
    if info["status"] in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) or info["ppid"] is None:
        return None
    cpu = info.get("cpu_times")
    mem = info.get("memory_info")
    created = info["create_time"] or 0.0
    return Seen(proc.pid, info["ppid"], info["name"] or "?", created, (cpu.user + cpu.system) if cpu else 0.0,
                max(time.time() - created, 0.0) if created else 0.0, mem.rss if mem else 0)


_PSUTIL_FIELDS = ["ppid", "name", "status", "create_time", "cpu_times", "memory_info"]


def snapshot() -> Snapshot:
    """One pass over every process: parents, names, CPU time, memory (marks are read when asked, by
    :func:`collect`, only for processes outside the panes' trees). Zombies are left out."""
    snap = Snapshot({}, {}, {}, set())
    seen = _proc_stat()
    if seen is None:  # no /proc (macOS): psutil
        seen = [s for s in (_psutil_seen(p, p.info) for p in psutil.process_iter(_PSUTIL_FIELDS)) if s is not None]
    for item in seen:
        snap.procs[item.pid] = item
        snap.children.setdefault(item.ppid, []).append(item.pid)
        if _is_tmux(item.name):
            snap.tmux.add(item.pid)
    return snap


def _marks(snap: Snapshot, known: Collection[int]) -> dict[int, tuple[str, str | None]]:
    """pid -> (mark, project) of the snapshot's processes but ``known`` ones (already found in a pane's
    tree: their mark changes nothing); each environment is read once per process."""
    for pid, item in snap.procs.items():
        if pid in known or pid in snap.marks:
            continue
        mark, project = _mark_of(pid, item.started)
        if mark:
            snap.marks[pid] = (mark, project)
    return snap.marks


def reread(seen: Iterable[Seen]) -> dict[int, Seen]:
    """The same processes read again (each still running since the same start): a second CPU reading."""
    uptime = _uptime()
    out: dict[int, Seen] = {}
    for before in seen:
        if uptime is not None:
            now = _read_stat(before.pid, uptime)
        else:
            try:
                proc = psutil.Process(before.pid)
                with proc.oneshot():
                    now = _psutil_seen(proc, proc.as_dict(_PSUTIL_FIELDS))
            except psutil.Error:
                now = None
        if now is not None and now.started == before.started:
            out[before.pid] = now
    return out


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


def _handle(snap: Snapshot, pid: int) -> psutil.Process | None:
    """The same psutil.Process for the same process across snapshots (a stop compares them)."""
    key = (pid, snap.procs[pid].started)
    if key not in _HANDLES:
        proc = _process(snap.procs[pid])
        if proc is None:
            return None
        _HANDLES[key] = proc
    return _HANDLES[key]


def _tree(snap: Snapshot, pid: int) -> list[int]:
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
            snap: Snapshot | None = None, servers: Collection[int] = ()) -> dict[int, tuple[psutil.Process, Member]]:
    """The processes of the session: pane trees (``roots``: pane pid -> (window, pane)), marked ones,
    and the descendants of ``also`` (processes found earlier, whose children may have lost the tree).

    ``servers``: pids of the session's own tmux server, when it cannot be asked for its panes
    (stopped, hung): marked processes below it are the session's.
    """
    snap = snap or snapshot()
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
        for pid, (mark, project) in list(_marks(snap, found).items()):
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
        snap = snapshot()
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


def _hangups(proc: psutil.Process, member: Member, name: str, shell: bool) -> bool:
    """Whether a pane's shell (``shell``: :func:`_pane_shell`) also gets SIGHUP (what tmux gives it
    when a pane closes).

    With SIGTERM always (an interactive shell ignores SIGINT and SIGTERM); with SIGINT
    when it is an idle shell (no children): nothing to interrupt, and a shell ignores SIGINT.
    """
    if name == "SIGKILL" or not shell:
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
        shell = name != "SIGKILL" and _pane_shell(proc, member)
        hangup = _hangups(proc, member, name, shell)
        heard = hangup and not _ignores(proc, signal.SIGHUP)
        # an idle shell gets SIGHUP alone, and the shell of an interactive pane no SIGINT at all (its
        # children get theirs): it only redraws its prompt, and a hangup sent while it does is lost
        if not (name == "SIGINT" and (hangup or (shell and not member.root))):
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


RESCAN = 0.1  # seconds between scans while stopping: catches what a dying process forks


def _watch(pidfds: dict[int, int], proc: psutil.Process) -> None:
    """Open a pidfd on ``proc`` (kept in ``pidfds``), checking it is still that process once open."""
    old = pidfds.pop(proc.pid, None)
    if old is not None:  # the pid was reused: that descriptor is the old process's
        os.close(old)
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or gone already
        return
    if _alive(proc):
        pidfds[proc.pid] = fd
    else:
        os.close(fd)


def _wait(settled: Callable[[], bool], budget: float, watched: Callable[[], list[int] | None]) -> None:
    """Call ``settled`` until it is true or ``budget`` passes. Between calls, wait for one of the
    processes to exit (their pidfds) for at most the rescan interval; without pidfds, poll (10 ms
    growing to 50 ms)."""
    deadline = time.monotonic() + budget
    delay = 0.01
    while not settled():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        fds = watched()
        if fds is not None:
            until_exit(fds, min(RESCAN, remaining))
        else:
            until_exit((), min(delay, remaining))
            delay = min(delay * 1.5, 0.05)


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
    pidfds: dict[int, int] = {}  # pid -> a descriptor that wakes the wait when it exits (Linux >= 5.3)
    last_scan = 0.0
    last_alive: set[int] = set()

    def living() -> set[int]:
        """The tracked processes still alive: read once a round, every step of the round uses it."""
        nonlocal last_alive
        last_alive = {pid for pid, (proc, _) in tracked.items() if _alive(proc)}
        return set(last_alive)

    def rescan(alive: set[int] | None = None) -> int:
        """Take in processes not seen yet; how many there were."""
        nonlocal last_scan
        last_scan = time.monotonic()
        alive = living() if alive is None else alive
        following = {pid: tracked[pid][1] for pid in alive}
        fresh = {pid: pm for pid, pm in scan(following).items()
                 if pid not in tracked or tracked[pid][0] != pm[0]}
        if not tracked and fresh:
            ports_before.update(_ports_of(set(fresh)))
        alive.update(fresh)
        for pid, (proc, member) in fresh.items():
            tracked[pid], step[pid] = (proc, member), 0
            order.append(member)
            plans.setdefault(member.window, plan_of(member))
            _watch(pidfds, proc)
        return len(fresh)

    def watched() -> list[int] | None:
        """The pidfds of the processes alive at the last look; None when one of them has none."""
        fds = [pidfds.get(pid) for pid in last_alive]
        return None if None in fds else [fd for fd in fds if fd is not None]

    def begin(now: float, alive: set[int]) -> None:
        """Windows whose dependents are all gone begin their stop."""
        windows = {tracked[pid][1].window for pid in alive}
        for window in sorted(windows - set(begun)):
            if not set(gate(window)) & windows:
                begun[window] = now
                if started is not None:
                    started(window)

    def advance(now: float, alive: set[int]) -> None:
        """Send every process the steps now due on its window's plan."""
        begin(now, alive)
        for pid in [pid for pid in tracked if pid in alive]:  # in the order found: a tree's top first
            proc, member = tracked[pid]
            if member.window not in begun:
                continue
            steps = plans[member.window].steps
            known = True  # alive at the start of this round
            while step[pid] < len(steps) and (known or _alive(proc)):
                known = False
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
        alive = living()
        if alive and now - last_scan >= RESCAN:
            rescan(alive)
        advance(now, alive)
        if alive:
            return False
        return rescan(alive) == 0 and not living()  # nothing was forked while dying

    alive = living()
    rescan(alive)
    advance(time.monotonic(), alive)
    if tracked:
        chain = 1 + max((len(set(gate(w))) for w in plans), default=0)  # windows stopped one after another
        budget = chain * max(p.length for p in plans.values()) + kill_wait
        try:
            _wait(settled, budget, watched)
        finally:
            for fd in pidfds.values():
                os.close(fd)
    left = tuple(m for proc, m in tracked.values() if _alive(proc))
    windows_of: dict[int, str] = {m.pid: m.window for m in order}
    ports = tuple(sorted({(port, windows_of.get(min(p for p in pids if p is not None), "?"))
                          for port, pids in ports_before.items() if any(p is not None for p in pids)}))
    now_listening = listen_ports() if ports else set()
    released = tuple(sorted({port for port, _ in ports if port not in now_listening}))
    return StopReport(tuple(order), tuple(dict.fromkeys(killed)), left, ports, released)


# --------------------------------------------------------------------------- resources


class CpuMeter:
    """CPU % of processes from their cumulative CPU times (user + system), read in a snapshot.

    The first reading gives each process's average since it started (its CPU time over its age,
    as ps(1) shows it): no second reading, no sleep. Kept across the frames of ``ps --watch``, each
    reading is the next one's start: CPU % between frames, still without sleeping. A process
    started since the last reading counts from its start.
    """

    def __init__(self) -> None:
        self.times: dict[tuple[int, float], float] = {}  # (pid, start time) -> CPU seconds at ``at``
        self.at: float | None = None  # monotonic clock of the last reading

    def read(self, seen: Iterable[Seen]) -> dict[int, float]:
        """pid -> CPU % since the last reading (since the process started, without one)."""
        now = time.monotonic()
        times: dict[tuple[int, float], float] = {}
        out: dict[int, float] = {}
        for item in seen:
            key = (item.pid, item.started)
            times[key] = item.cpu
            before = self.times.get(key)
            if before is not None and self.at is not None and now > self.at:
                out[item.pid] = max(item.cpu - before, 0.0) / (now - self.at) * 100
            else:  # first seen: over its whole life
                out[item.pid] = item.cpu / item.age * 100 if item.age > 0 else 0.0
        self.times, self.at = times, now
        return out


def usage(groups: Mapping[K, Iterable[int]], snap: Snapshot, *, meter: CpuMeter | None = None,
          sample: float = 0.0) -> dict[K, Usage]:
    """CPU %, memory and listening ports of each group of pids, from the snapshot ``snap``.

    CPU %: each process's average since it started; with a ``meter`` that read before (``ps
    --watch``), since that reading; with ``sample`` > 0 (``ps --cpu``), over a window of that many
    seconds, the one path that sleeps.
    """
    members = {key: [pid for pid in pids if pid in snap.procs] for key, pids in groups.items()}
    seen = {pid: snap.procs[pid] for pids in members.values() for pid in pids}
    meter = meter or CpuMeter()
    if sample > 0 and seen:
        seen = sample_cpu(seen, meter, sample)
    cpu_of = meter.read(seen.values())
    ports = listening(set(seen)) if seen else {}
    port_of: dict[int, set[int]] = {}
    for port, holders in ports.items():
        for pid in holders:
            if pid is not None:
                port_of.setdefault(pid, set()).add(port)
    out: dict[K, Usage] = {}
    for key, pids in members.items():
        cpu, rss, pss, held = 0.0, 0, 0, set()
        for pid in pids:
            if pid not in cpu_of:
                continue
            cpu += cpu_of[pid]
            rss += seen[pid].rss
            pss += proportional_size(pid, seen[pid].rss)
            held |= port_of.get(pid, set())
        out[key] = Usage(round(cpu, 1), rss, tuple(sorted(held)), pss)
    return out


def sample_cpu(seen: Mapping[int, Seen], meter: CpuMeter, window: float) -> dict[int, Seen]:
    """Read, wait ``window`` seconds, read again: the processes as the second reading saw them."""
    meter.read(seen.values())
    sleep(window)  # a measurement window, not a wait for a condition
    return reread(seen.values())


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


def listening(pids: Collection[int]) -> dict[int, set[int | None]]:
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


def _ports_of(pids: Collection[int]) -> dict[int, set[int | None]]:
    """:func:`listening`, never failing: a stop reports ports as a help."""
    try:
        return listening(pids)
    except (psutil.Error, OSError):
        return {}


def listen_ports() -> set[int]:
    """Every TCP port something listens on (the kernel's listening table alone, no process read)."""
    try:
        return set(_listen_inodes().values())
    except (OSError, AttributeError, ValueError):
        try:
            return set(listeners())
        except (psutil.Error, OSError):
            return set()


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
