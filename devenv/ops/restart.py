"""``restart``: stop some windows' process trees and marked processes, then start their commands again."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from devenv.errors import NoSession, UsageError
from devenv.ops.up import owned, plan_context
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Profile
from devenv.profile.validate import close_matches
from devenv.session import plan as planner
from devenv.session import procs, records
from devenv.session.tmux import Tmux


class RestartResult(NamedTuple):
    session: str
    windows: tuple[str, ...]
    report: procs.StopReport
    changes: tuple[str, ...]
    notes: tuple[str, ...] = ()


def check_windows(profile: Profile, names: Sequence[str]) -> tuple[str, ...]:
    """The names, deduplicated; an unknown one is a usage error (exit 2)."""
    known = [w.name for w in profile.windows]
    for name in names:
        if name not in known:
            close = close_matches(name, known)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (windows: {', '.join(known)})"
            raise UsageError(f"unknown window {name!r}{hint}")
    return tuple(dict.fromkeys(names))


def restart(resolved: Resolved, tmux: Tmux, names: Sequence[str], timeout: float) -> RestartResult:
    """Stop the windows' trees and marked processes, then start their commands again."""
    windows = check_windows(resolved.profile, names)
    session = resolved.profile.session
    paths = SessionPaths(tmux.name, session)
    notes: list[str] = []
    with records.session_lock(paths, notes=notes):
        live = owned(tmux.session(session), resolved, tmux)
        if live is None:
            raise NoSession(session, tmux.name)
        match = procs.mark_matcher(paths.label, session, windows=windows, project=str(resolved.project))
        scan = procs.scanner(procs.pane_roots(live, windows=windows), match, procs.protected())
        report = procs.stop(scan, timeout)
        live = tmux.session(session) or live
        the_plan = planner.respawn(resolved, plan_context(resolved, tmux), live, windows, os.urandom(4).hex())
        tmux.apply(the_plan.commands, session=live.target, windows=the_plan.windows, mask=resolved.mask)
    return RestartResult(session, windows, report, the_plan.changes, tuple(notes))
