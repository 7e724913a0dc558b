"""``down``: stop every process of the session (escalating), kill the session, forget runner records.

The scope is every pane tree and every process carrying the session's mark
(see :mod:`devenv.session.procs`), stopped under the session lock.
"""

from __future__ import annotations

from typing import NamedTuple

from devenv.paths import SessionPaths
from devenv.profile.model import Profile
from devenv.session import procs, records
from devenv.session.tmux import Tmux


class DownResult(NamedTuple):
    session: str
    running: bool  # the tmux session was running
    report: procs.StopReport


def down(profile: Profile, tmux: Tmux, timeout: float) -> DownResult:
    """Stop every process of ``profile``'s session, then the session itself."""
    session = profile.session
    paths = SessionPaths(tmux.socket, session)
    with records.session_lock(paths):
        live = tmux.session(session)
        known = {w.name for w in profile.windows} | (set(live.windows()) if live else set())
        match = procs.mark_matcher(paths.label, session, known=known)
        scan = procs.scanner(procs.pane_roots(live), match, procs.protected())
        report = procs.stop(scan, timeout)
        records.clear(paths)
        if live is not None:  # last: when down runs inside the session, this ends it too
            tmux.kill_session(session)
    return DownResult(session, live is not None, report)
