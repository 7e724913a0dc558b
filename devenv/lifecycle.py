"""``down``, ``restart`` and ``ps``: the session's processes, stopped or shown. No click here.

``down`` and ``restart`` stop a scope (every pane tree and marked process of the
session, or of some windows) with :func:`devenv.procs.stop`, under the session
lock, then kill the session or respawn the windows. ``ps`` describes each pane.
"""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

from devenv import procs, state
from devenv.context import Options
from devenv.errors import DevenvError, UsageError


@dataclass(frozen=True)
class DownResult:
    session: str
    running: bool  # the tmux session was running
    report: procs.StopReport


@dataclass(frozen=True)
class RestartResult:
    session: str
    windows: tuple[str, ...]
    report: procs.StopReport
    changes: tuple[str, ...]


@dataclass(frozen=True)
class PaneRow:
    window: str
    pane: int  # position in the window, 0-based (as in the state files)
    state: str  # running | exited | waiting | failed | starting | ready
    pid: int | None  # the command's pid (the runner's child), else the pane's
    exit_code: int | None
    cpu_percent: float
    rss_bytes: int  # of the pane's whole tree (a window's escapees count in its first pane)
    ports: tuple[int, ...]
    uptime_s: float | None
    restarts: int
    command: str  # masked


def _label(opts: Options) -> str:
    return state.socket_label(opts.socket)


def _live(opts: Options, session: str):
    return opts.tmux.session(session)


# --------------------------------------------------------------------------- down


def down(opts: Options, timeout: float) -> DownResult:
    """Stop every process of the session (escalating), kill the session, forget runner status."""
    profile = opts.profile()
    session = profile.session
    tmux = opts.tmux
    with state.session_lock(opts.socket, session):
        live = _live(opts, session)
        known = {w.name for w in profile.windows} | (set(live.windows()) if live else set())
        match = procs.mark_matcher(_label(opts), session, known=known)
        scan = procs.scanner(procs.pane_roots(live), match, procs.protected())
        report = procs.stop(scan, timeout)
        state.clear_pane_status(opts.socket, session)
        if live is not None:  # last: when down runs inside the session, this ends it too
            tmux.kill_session(session)
    return DownResult(session, live is not None, report)


# --------------------------------------------------------------------------- restart


def check_windows(opts: Options, names: Sequence[str]) -> tuple[str, ...]:
    """The names, deduplicated; an unknown one is a usage error (exit 2)."""
    profile = opts.profile()
    known = [w.name for w in profile.windows]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (windows: {', '.join(known)})"
            raise UsageError(f"unknown window {name!r}{hint}")
    return tuple(dict.fromkeys(names))


def restart(opts: Options, names: Sequence[str], timeout: float) -> RestartResult:
    """Stop the windows' trees and marked processes, then start their commands again."""
    from devenv import plan as planner
    from devenv.session import plan_context

    windows = check_windows(opts, names)
    resolved = opts.resolved()
    session = resolved.profile.session
    tmux = opts.tmux
    with state.session_lock(opts.socket, session):
        live = _live(opts, session)
        if live is None:
            raise DevenvError(f"no session {session} running" + (f" on socket {opts.socket!r}" if opts.socket else ""),
                              hint="start it with: devenv up")
        match = procs.mark_matcher(_label(opts), session, windows=windows)
        scan = procs.scanner(procs.pane_roots(live, windows=windows), match, procs.protected())
        report = procs.stop(scan, timeout)
        live = _live(opts, session) or live
        the_plan = planner.respawn(resolved, plan_context(opts, resolved), live, windows)
        tmux.apply(the_plan.commands, mask=resolved.mask)
    return RestartResult(session, windows, report, the_plan.changes)


# --------------------------------------------------------------------------- ps


def _probe_ok():
    try:
        from devenv.ready import probe_ok
    except ImportError:  # readiness not available: show "running"
        return None
    return probe_ok


def _command_proc(pane_proc):
    """The user's command: the runner's (oldest) child when the pane runs devenv's runner.

    That child is ``$SHELL -c COMMAND``; a shell that did not exec a simple
    command (dash) has that command as its only child, which is shown instead.
    """
    import psutil

    try:
        if not any(arg.endswith("runner.sh") for arg in pane_proc.cmdline()):
            return pane_proc
        kids = sorted(pane_proc.children(), key=lambda p: p.create_time())
        if not kids:
            return pane_proc
        shell = kids[0]
        inner = shell.children()
        if shell.cmdline()[1:2] == ["-c"] and len(inner) == 1:
            return inner[0]
        return shell
    except psutil.Error:
        return pane_proc


def _cmdline(proc) -> str:
    import psutil

    if proc is None:
        return ""
    try:
        return " ".join(" ".join(proc.cmdline()).split())
    except psutil.Error:
        return ""


def ps(opts: Options, interval: float = 0.2) -> tuple[PaneRow, ...] | None:
    """A row per pane of the running session; None when it is not running."""
    resolved = opts.resolved()
    session = resolved.profile.session
    live = _live(opts, session)
    if live is None:
        return None
    by_window = live.windows()
    match = procs.mark_matcher(_label(opts), session, known=set(by_window))
    members = procs.collect(procs.pane_roots(live), match, exclude={os.getpid()})
    groups: dict[tuple[str, int], list] = {}
    for proc, member in members.values():  # a window's escapees count in its first pane
        groups.setdefault((member.window, member.pane or 0), []).append(proc)
    usage = procs.usage(groups, interval)
    probe_ok = _probe_ok()
    ready: dict[str, bool] = {}
    rows: list[PaneRow] = []
    for name, panes in by_window.items():
        window = resolved.profile.window(name)
        for position, pane in enumerate(panes):
            recorded = state.read_pane_state(opts.socket, session, name, position)
            specs = window.pane_specs() if window else ()
            command = (specs[position].command or "") if position < len(specs) else ""
            status, pid, uptime = _pane_status(pane, recorded, members)
            if pid is not None:
                command = _cmdline(members.get(pid, (None,))[0] or _process(pid)) or command
            if status == "running" and window is not None and window.ready is not None and probe_ok:
                if name not in ready:
                    ready[name] = _probe(probe_ok, window, opts, session, resolved)
                status = "ready" if ready[name] else "starting"
            use = usage.get((name, position)) or procs.Usage(0.0, 0, ())
            rows.append(PaneRow(name, position, status, pid, _exit_code(status, pane, recorded), use.cpu_percent,
                                use.rss_bytes, use.ports, uptime, recorded.restarts, resolved.mask(command)))
    return tuple(rows)


def _process(pid: int):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _pane_status(pane, recorded: state.PaneState, members) -> tuple[str, int | None, float | None]:
    """(state, pid of the command, its uptime) of one pane, from tmux and what the runner recorded."""
    import psutil

    if pane.dead:
        return ("failed" if recorded.status == "failed" else "exited"), None, None
    status = recorded.status if recorded.status in ("waiting", "failed", "exited") else "running"
    found = members.get(pane.pid or -1)
    if found is None:
        return status, pane.pid, None
    proc = _command_proc(found[0])
    try:
        return status, proc.pid, round(max(time.time() - proc.create_time(), 0.0), 1)
    except psutil.Error:
        return status, proc.pid, None


def _exit_code(status: str, pane, recorded: state.PaneState) -> int | None:
    """The runner's record first (tmux 3.3a sometimes loses a dead pane's status), tmux's as a fallback."""
    if status not in ("exited", "failed"):
        return None
    if recorded.status in ("exited", "failed") and recorded.exit_code is not None:
        return recorded.exit_code
    return pane.dead_status if pane.dead_status is not None else recorded.exit_code


def _probe(probe_ok, window, opts: Options, session: str, resolved) -> bool:
    try:
        return bool(probe_ok(window.ready, log_paths=state.window_logs(opts.socket, session, window.name),
                             env=resolved.window_env(window.name, 0), timeout=0.5,
                             cwd=resolved.pane_cwd(window, window.pane_specs()[0])))
    except (DevenvError, OSError):
        return False
