"""``down``: stop every process of the session (escalating), kill the session, forget runner records.

The scope is every pane tree (every window, hand-made ones too) and every process carrying the
session's mark and this project (see :mod:`devenv.session.procs`), stopped under the session lock.
Whatever happens to tmux or the state folder, the processes are stopped: a server that does not
answer is bypassed (its panes are found below its pid), a state folder that cannot be written only
costs a note. Another project's session of the same name is never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from devenv.errors import TmuxError
from devenv.paths import SessionPaths
from devenv.profile.model import Profile
from devenv.session import procs, records
from devenv.session.tmux import Tmux


class DownResult(NamedTuple):
    session: str
    running: bool  # this project's tmux session was running (and was killed)
    report: procs.StopReport
    notes: tuple[str, ...] = ()
    unanswered: str | None = None  # tmux did not answer: why (the processes were stopped without it)
    foreign: str | None = None  # a session of that name belongs to another project: whose (left alone)


def down(profile: Profile, project: Path, tmux: Tmux, timeout: float) -> DownResult:
    """Stop every process of ``profile``'s session for ``project``, then the session itself."""
    session = profile.session
    paths = SessionPaths(tmux.name, session)
    notes: list[str] = []
    unanswered = foreign = None
    with records.session_lock(paths, notes=notes):
        servers: set[int] = set()
        try:
            live = tmux.session(session)
        except TmuxError as exc:  # stopped or hung: find its panes below its pid instead
            live, unanswered = None, exc.message
            servers = procs.server_pids(str(tmux.socket_path()))
        if live is not None and not live.owned_by(project):
            foreign, live = live.project or "(not started by devenv)", None
        known = {w.name for w in profile.windows} | (set(live.windows()) if live else set())
        match = procs.mark_matcher(paths.label, session, known=known, project=str(project))
        scan = procs.scanner(procs.pane_roots(live), match, procs.protected(), servers=servers)
        report = procs.stop(scan, timeout)
        if unanswered is None:
            notes += remove_builds(tmux, paths, project, timeout)
        records.clear(paths, notes)
        if live is not None:  # last: when down runs inside the session, this ends it too
            tmux.kill_session_id(live.id)
    return DownResult(session, live is not None, report, tuple(notes), unanswered, foreign)


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
