"""``down``: stop every process of the session, dependents first, each window by its stop policy;
kill the session; run the ``after_down`` hooks; forget runner records.

The scope is every pane tree (every window, hand-made ones too) and every process carrying the
session's mark and this project (see :mod:`devenv.session.procs`), stopped under the session lock.
Windows stop in groups: every window that is ``after:`` another has stopped before that one gets
its first signal; the windows of a group stop in parallel. Whatever happens to tmux or the state
folder, the processes are stopped: a server that does not answer is bypassed (its panes are found
below its pid), a state folder that cannot be written only costs a note. Another project's session
of the same name is never touched.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path

from devenv.errors import TmuxError
from devenv.ops import hooks
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Profile, Window
from devenv.session import procs, records
from devenv.session.live import LiveSession
from devenv.session.tmux import Tmux
from devenv.tuples import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import subprocess

DEFAULT_STOP_TIMEOUT = 10.0


class DownResult(NamedTuple):
    session: str
    running: bool  # this project's tmux session was running (and was killed)
    report: procs.StopReport
    notes: tuple[str, ...] = ()
    unanswered: str | None = None  # tmux did not answer: why (the processes were stopped without it)
    foreign: str | None = None  # a session of that name belongs to another project: whose (left alone)
    hook_failed: hooks.HookResult | None = None  # an after_down hook that failed


# --------------------------------------------------------------------------- stop policies


def stop_order(profile: Profile) -> list[list[str]]:
    """The profile's windows and tasks in stop groups: a group's members wait for nothing later ones
    wait for... that is, every dependent comes in an earlier group than what it depends on."""
    dependents: dict[str, set[str]] = {w.name: set() for w in profile.windows}
    for w in profile.windows:
        for dep in w.after:
            dependents.setdefault(dep, set()).add(w.name)
    level: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str] = frozenset()) -> int:
        if name not in level:
            later = [depth(d, seen | {name}) for d in dependents.get(name, ()) if d not in seen]
            level[name] = 1 + max(later, default=-1)
        return level[name]

    for w in profile.windows:
        depth(w.name)
    groups: dict[int, list[str]] = {}
    for w in profile.windows:
        groups.setdefault(level[w.name], []).append(w.name)
    return [groups[k] for k in sorted(groups)]


def own_console(window: Window | None) -> bool:
    """devenv's own db console or log follower: nothing to lose, stopped at once."""
    return window is not None and (window.db is not None or bool(window.logs))


def plan_for(window: Window | None, timeout: float | None) -> procs.Plan:
    """How ``window``'s processes stop; ``timeout`` (``--timeout``) overrides the window's."""
    spec = window.stop if window is not None else None
    if spec is None:
        if own_console(window):
            return procs.Plan.signal_then_kill("SIGKILL", 0)
        return procs.Plan.staged(timeout if timeout is not None else DEFAULT_STOP_TIMEOUT)
    limit = timeout if timeout is not None else spec.timeout if spec.timeout is not None else DEFAULT_STOP_TIMEOUT
    if spec.command is not None:
        return procs.Plan.kill_after(limit)
    return procs.Plan.signal_then_kill(f"SIG{spec.signal}", limit) if spec.signal else procs.Plan.staged(limit)


class Policies:
    """Each window's stop plan, and its stop command run once when its stop begins."""

    def __init__(self, profile: Profile, resolved: Resolved | None, timeout: float | None) -> None:
        self.profile, self.resolved, self.timeout = profile, resolved, timeout
        self.commands: list[subprocess.Popen[bytes]] = []
        self.begun: set[str] = set()  # windows whose stop command ran (once, whatever the passes)

    def plan(self, member: procs.Member) -> procs.Plan:
        return plan_for(self.profile.window(member.window), self.timeout)

    def started(self, name: str) -> None:
        window = self.profile.window(name)
        if window is None or window.stop is None or window.stop.command is None or name in self.begun:
            return
        self.begun.add(name)
        import subprocess  # here: most downs run no stop command

        env = dict(self.resolved.window_env(name) if self.resolved is not None else os.environ)
        for key in (procs.MARK, procs.PROJECT):  # the stop command is no process of the session
            env.pop(key, None)
        cwd = self.resolved.pane_cwd(window, window.pane_specs()[0]) if self.resolved is not None else None
        try:
            self.commands.append(subprocess.Popen(["/bin/sh", "-c", window.stop.command], env=env, cwd=cwd,
                                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL, start_new_session=True))
        except OSError:
            pass  # it could not run: the plan's SIGKILL still comes

    def finish(self, limit: float = 5.0) -> None:
        """Give the stop commands a moment to end, then end them (they are ours)."""
        import subprocess

        for proc in self.commands:
            try:
                proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.commands.clear()


def stop_windows(profile: Profile, resolved: Resolved | None, paths: SessionPaths, project: Path,
                 live: LiveSession | None, names: Collection[str] | None, timeout: float | None,
                 servers: Collection[int] = ()) -> procs.StopReport:
    """Stop the processes of ``names`` (None: the whole session) in one pass, dependents first.

    A window's stop begins once everything that waits for it (``after:``, transitively) is gone;
    windows the profile does not know (made by hand) begin at once.
    """
    from devenv.profile.select import dependents

    policies = Policies(profile, resolved, timeout)
    every = names is None
    wanted = {w.name for w in profile.windows} if every else set(names or ())
    known = {w.name for w in profile.windows} | (set(live.windows()) if live else set())
    roots = procs.pane_roots(live) if every else procs.pane_roots(live, windows=wanted)
    match = (procs.mark_matcher(paths.label, paths.session, known=known, project=str(project)) if every else
             procs.mark_matcher(paths.label, paths.session, windows=wanted, project=str(project)))
    waiting = {w.name: set(dependents(profile, [w.name])) & (known if every else wanted) for w in profile.windows}
    scan = procs.scanner(roots, match, procs.protected(), servers=servers)
    report = procs.stop(scan, timeout or DEFAULT_STOP_TIMEOUT, plan=policies.plan, started=policies.started,
                        waits_for=lambda window: waiting.get(window, ()))
    policies.finish()
    return report


def merge(reports: Sequence[procs.StopReport]) -> procs.StopReport:
    def join(field: str) -> tuple[procs.Member, ...]:
        return tuple(dict.fromkeys(m for r in reports for m in getattr(r, field)))

    ports = tuple(sorted({p for r in reports for p in r.ports}))
    released = tuple(sorted({p for r in reports for p in r.released}))
    return procs.StopReport(join("stopped"), join("killed"), join("survivors"), ports, released)


# --------------------------------------------------------------------------- down


def down(profile: Profile, project: Path, tmux: Tmux, timeout: float | None,
         resolved: Resolved | None = None, output: hooks.Output | None = None) -> DownResult:
    """Stop every process of ``profile``'s session for ``project``, then the session itself.

    ``timeout``: overrides every window's stop timeout. ``resolved``: the profile with its
    environment (stop commands and after_down hooks need it; without it they do not run).
    """
    session = profile.session
    paths = SessionPaths(tmux.name, session)
    notes: list[str] = []
    unanswered = foreign = None
    failed = None
    with records.SessionLock(paths, notes=notes):
        servers: set[int] = set()
        try:
            live = tmux.session(session)
        except TmuxError as exc:  # stopped or hung: find its panes below its pid instead
            live, unanswered = None, exc.message
            servers = procs.server_pids(str(tmux.socket_path()))
        if live is not None and not live.owned_by(project):
            foreign, live = live.project or "(not started by devenv)", None
        report = stop_windows(profile, resolved, paths, project, live, None, timeout, servers)
        if unanswered is None:
            notes += remove_builds(tmux, paths, project, timeout or 5.0)
        records.clear(paths, notes)
        if live is not None:  # last of tmux: when down runs inside the session, this ends it too
            tmux.kill_session_id(live.id)
        if foreign is None and profile.hooks.after_down and hooks.owed(paths):
            if resolved is None:
                notes.append("after_down hooks not run: the profile's environment cannot be resolved")
            else:
                failed = hooks.after_down(resolved, paths, output or (lambda kind, line: None))
        elif foreign is None:
            (paths.dir / records.STARTED).unlink(missing_ok=True)
    return DownResult(session, live is not None, report, tuple(notes), unanswered, foreign, failed)


def remove_builds(tmux: Tmux, paths: SessionPaths, project: Path, timeout: float = 5.0) -> list[str]:
    """Stop and remove sessions of ours still under a temporary build name (a build cut short)."""
    notes = []
    for sid, owner, target in tmux.builds():
        if owner != str(project) or target != paths.session:
            continue
        live = tmux.session_by_id(sid, sid)
        report = procs.stop(procs.scanner(procs.pane_roots(live), None, procs.protected()), timeout)
        tmux.kill_session_id(sid)
        notes.append(f"removed a session left half-built by an interrupted build ({len(report.stopped)} "
                     f"process{'es' if len(report.stopped) != 1 else ''} stopped)")
    return notes

