"""``ps``: one row per pane of the running session: state, process, exit code, resources, ports."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import psutil

from devenv.errors import DevenvError
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Window
from devenv.readiness.probes import probe_ok
from devenv.session import procs, records, watcher
from devenv.session.live import LivePane
from devenv.session.plan import interactive
from devenv.session.tmux import Tmux
from devenv.tuples import NamedTuple


class PaneRow(NamedTuple):
    window: str
    pane: int  # position in the window, 0-based (as in the state files)
    state: str  # running | exited | waiting | failed | starting | ready | orphaned
    pid: int | None  # the command's pid (the runner's child), else the pane's
    exit_code: int | None
    cpu_percent: float
    rss_bytes: int  # resident memory of the pane's whole tree, summed (shared pages count once per process)
    ports: tuple[int, ...]
    uptime_s: float | None
    restarts: int
    command: str  # masked
    memory_bytes: int = 0  # the tree's proportional set size (shared pages split): what it really costs
    kind: str = "window"  # window | task (a task: waiting, running, done, failed or skipped) | watcher
    detail: str = ""  # why it failed ("dependency migrate failed (exit 1)"), as its runner recorded


class PsResult(NamedTuple):
    running: bool  # the session runs; else ``rows`` are processes of it that outlived it ("orphaned")
    rows: tuple[PaneRow, ...]


_SHELL_SYNTAX = frozenset(";&|<>()$`{}\n*?[]~\\'\"")
_KEYWORDS = frozenset({"while", "until", "for", "if", "case", "select", "function", "time", "!", "{", "[[", "(("})


def is_simple(command: str) -> bool:
    """Whether ``$SHELL -c command`` runs one program (which is then what to show), not shell code."""
    words = command.split()
    return bool(words) and not any(c in _SHELL_SYNTAX for c in command) and words[0] not in _KEYWORDS \
        and "=" not in words[0]


def _command_proc(pane_proc: psutil.Process,
                  children: Mapping[int, list[psutil.Process]] | None = None) -> psutil.Process:
    """The user's command: the runner's (oldest) child when the pane runs devenv's runner.

    That child is ``$SHELL -c COMMAND``. A shell that did not exec a simple command (dash) has
    that command as its only child, which is shown instead; shell code (a loop, a pipeline) is the
    shell itself, whatever short-lived child it has now. ``children``: pid -> children, from the
    scan already made (psutil's ``children()`` reads every process of the system again).
    """
    def kids_of(proc: psutil.Process) -> list[psutil.Process]:
        return list(children.get(proc.pid, ())) if children is not None else proc.children()

    try:
        if not any(arg.endswith("runner.sh") for arg in pane_proc.cmdline()):
            return pane_proc
        kids = sorted(kids_of(pane_proc), key=lambda p: p.create_time())
        if not kids:
            return pane_proc
        shell = kids[0]
        argv = shell.cmdline()
        inner = kids_of(shell)
        if argv[1:2] == ["-c"] and len(argv) > 2 and is_simple(argv[2]) and len(inner) == 1:
            return inner[0]
        return shell
    except psutil.Error:
        return pane_proc


def _at_prompt(pid: int, members: Mapping[int, tuple[Any, procs.Member]],
               children: Mapping[int, list[psutil.Process]]) -> str:
    """What an interactive pane's shell runs: ``bash`` at its prompt, ``bash: npm run dev`` running it."""
    found = members.get(pid)
    if found is None:
        return ""
    try:
        name = found[0].name()
        kids = sorted(children.get(pid, ()), key=lambda p: p.create_time())
    except psutil.Error:
        return ""
    running = _cmdline(kids[-1]) if kids else ""
    return f"{name}: {running}" if running else name


def _cmdline(proc: psutil.Process | None) -> str:
    if proc is None:
        return ""
    try:
        return " ".join(" ".join(proc.cmdline()).split())
    except psutil.Error:
        return ""


def ps(resolved: Resolved, tmux: Tmux, meter: procs.CpuMeter | None = None, sample: float = 0.0) -> PsResult:
    """A row per pane of the running session, every window of it (hand-made ones too).

    When the session is not running, the rows are its processes that still run ("orphaned":
    their tmux server was killed, say). ForeignSession when the name is another project's.
    Everything comes from one pass over the process table; nothing sleeps. CPU % is each
    process's average since it started; with a ``meter`` kept across calls (``ps --watch``),
    since the previous call; with ``sample`` > 0 (``ps --cpu``), over that many seconds.
    """
    from devenv.ops.up import owned

    session = resolved.profile.session
    paths = SessionPaths(tmux.name, session)
    live = owned(tmux.session(session), resolved, tmux)
    by_window = live.windows() if live is not None else {}
    match = procs.mark_matcher(paths.label, session, known=set(by_window) | {w.name for w in resolved.profile.windows},
                               project=str(resolved.project))
    snap = procs.snapshot()
    members = procs.collect(procs.pane_roots(live), match, exclude={os.getpid()}, snap=snap)
    groups: dict[tuple[str, int], list[int]] = {}
    children: dict[int, list[psutil.Process]] = {}  # within the session: a pane's tree is all there
    for proc, member in members.values():  # a window's escapees count in its first pane
        groups.setdefault((member.window, member.pane or 0), []).append(member.pid)
        children.setdefault(member.ppid if member.ppid is not None else -1, []).append(proc)
    if os.getppid() in members:  # ps runs in a window of the session (left out of the members)
        children.setdefault(os.getppid(), []).append(psutil.Process())
    ages = {pid: seen.age for pid, seen in snap.procs.items() if pid in members}
    if live is None:
        return PsResult(False, tuple(_orphan(member, ages, resolved, proc) for proc, member in members.values()))
    usage = procs.usage(groups, snap, meter=meter, sample=sample)
    watchers = [member for _, member in members.values() if member.window == watcher.WATCHER]
    ready: dict[str, bool] = {}
    rows: list[PaneRow] = []
    for name, panes in live.all_windows():
        ours = by_window.get(name) == panes  # the first window of a name is the profile's
        window = resolved.profile.window(name) if ours else None
        for position, pane in enumerate(panes):
            recorded = records.read_pane_state(paths, name, position) if ours else records.PaneState(None, None, None, 0)
            specs = window.pane_specs() if window else ()
            command = (specs[position].command or "") if position < len(specs) else ""
            status, pid, uptime = _pane_status(pane, recorded, members, children, ages)
            if pid is not None:
                shown = _cmdline(members.get(pid, (None,))[0] or _process(pid))
                if window is not None and position < len(specs) and interactive(window, specs[position]):
                    shown = _at_prompt(pid, members, children) or shown
                command = shown or command
            if status == "running" and window is not None and window.ready is not None:
                if name not in ready:
                    ready[name] = _probe(window, paths, resolved)
                status = "ready" if ready[name] else "starting"
            use = usage.get((name, position)) if ours else None
            use = use or procs.Usage(0.0, 0, ())
            kind = "task" if window is not None and window.task else "window"
            rows.append(PaneRow(name, position, status, pid, _exit_code(status, pane, recorded), use.cpu_percent,
                                use.rss_bytes, use.ports, uptime, recorded.restarts + recorded.watched,
                                resolved.mask(command),
                                use.memory_bytes, kind, recorded.detail if status == "failed" else ""))
    rows += [_watcher_row(member, ages, usage, resolved) for member in watchers]
    for task in resolved.profile.tasks:  # a task done (its window closed), skipped, or not started yet
        if task.name not in by_window:
            recorded = records.read_pane_state(paths, task.name, 0)
            state = recorded.status if recorded.status in ("done", "skipped", "failed") else "waiting"
            rows.append(PaneRow(task.name, 0, state, None, recorded.exit_code if state == "failed" else None, 0.0,
                                0, (), None, recorded.watched, resolved.mask(task.command or ""), 0, "task",
                                recorded.detail if state == "failed" else ""))
    return PsResult(True, tuple(rows))


WATCHER_ROW = "(watcher)"  # the watcher's row: no window of the profile is named so in ps


def _watcher_row(member: procs.Member, ages: Mapping[int, float], usage: Mapping[tuple[str, int], procs.Usage],
                 resolved: Resolved) -> PaneRow:
    """The session's watcher (restarts on file changes): what it watches, its resources."""
    use = usage.get((member.window, 0)) or procs.Usage(0.0, 0, ())
    watched = [w.name for w in resolved.profile.windows if w.watch]
    detail = "watching " + ", ".join(watched) if watched else "nothing to watch"
    return PaneRow(WATCHER_ROW, 0, "running", member.pid, None, use.cpu_percent, use.rss_bytes, (),
                   _uptime(ages, member.pid), 0, "devenv watcher", use.memory_bytes, "watcher", detail)


def _uptime(ages: Mapping[int, float], pid: int) -> float | None:
    """A process's age from the snapshot, as ps shows it (None: the snapshot did not see it)."""
    age = ages.get(pid)
    return None if age is None else round(age, 1)


def _orphan(member: procs.Member, ages: Mapping[int, float], resolved: Resolved, proc: psutil.Process) -> PaneRow:
    """A process of the session that outlived it, as a row of its window."""
    mine = member.window == watcher.WATCHER
    return PaneRow(WATCHER_ROW if mine else member.window, member.pane or 0, "orphaned", member.pid, None, 0.0, 0,
                   (), _uptime(ages, member.pid), 0, resolved.mask(_cmdline(proc)),
                   kind="watcher" if mine else "window")


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _pane_status(pane: LivePane, recorded: records.PaneState, members: Mapping[int, tuple[Any, procs.Member]],
                 children: Mapping[int, list[psutil.Process]] | None = None,
                 ages: Mapping[int, float] | None = None) -> tuple[str, int | None, float | None]:
    """(state, pid of the command, its uptime) of one pane, from tmux and what the runner recorded."""
    if pane.dead:
        return ("failed" if recorded.status == "failed" else "exited"), None, None
    status = recorded.status if recorded.status in ("waiting", "failed", "exited") else "running"
    found = members.get(pane.pid or -1)
    if found is None:
        return status, pane.pid, None
    proc = _command_proc(found[0], children)
    if ages is not None and proc.pid in ages:
        return status, proc.pid, round(ages[proc.pid], 1)
    try:
        return status, proc.pid, round(max(time.time() - proc.create_time(), 0.0), 1)
    except psutil.Error:
        return status, proc.pid, None


def _exit_code(status: str, pane: LivePane, recorded: records.PaneState) -> int | None:
    """The runner's record first (tmux 3.3a sometimes loses a dead pane's status), tmux's as a fallback."""
    if status not in ("exited", "failed"):
        return None
    if recorded.status in ("exited", "failed") and recorded.exit_code is not None:
        return recorded.exit_code
    return pane.dead_status if pane.dead_status is not None else recorded.exit_code


def _probe(window: Window, paths: SessionPaths, resolved: Resolved) -> bool:
    assert window.ready is not None
    try:
        return probe_ok(window.ready, log_paths=paths.window_logs(window.name),
                        env=resolved.window_env(window.name, 0), timeout=0.5,
                        cwd=resolved.pane_cwd(window, window.pane_specs()[0]))
    except (DevenvError, OSError):
        return False
