"""``restart``: stop some windows (their trees and marked processes, by their stop policies), then
start their commands again. What waits for them is left alone, unless ``with_dependents``: then it
is stopped first and started again too."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from devenv.errors import NoSession
from devenv.ops.down import stop_windows
from devenv.ops.up import owned, plan_context, record_definitions
from devenv.paths import SessionPaths
from devenv.profile import select
from devenv.profile.env import Resolved
from devenv.profile.model import Profile
from devenv.session import plan as planner
from devenv.session import procs, records
from devenv.session.tmux import Tmux
from devenv.tuples import NamedTuple


class RestartResult(NamedTuple):
    session: str
    windows: tuple[str, ...]
    report: procs.StopReport
    changes: tuple[str, ...]
    notes: tuple[str, ...] = ()


def check_windows(profile: Profile, names: Sequence[str]) -> tuple[str, ...]:
    """The windows ``names`` (globs allowed) match, deduplicated; an unknown one is a usage error (exit 2)."""
    return select.expand(profile, names)


def restart(resolved: Resolved, tmux: Tmux, names: Sequence[str], timeout: float | None,
            with_dependents: bool = False, notices: Mapping[str, str] | None = None,
            watched: bool = False) -> RestartResult:
    """Stop the windows' processes, then start their commands again (a task: run it again).

    ``notices``: window -> a line its panes print first (why it restarts). ``watched``: the watcher
    restarts them (counted apart: ``ps`` shows them, ``max_restarts`` does not count them).
    """
    profile = resolved.profile
    windows = check_windows(profile, names)
    if with_dependents:
        windows = tuple(w.name for w in profile.windows if w.name in set(windows) | set(select.dependents(
            profile, windows)))
    session = profile.session
    paths = SessionPaths(tmux.name, session)
    notes: list[str] = []
    with records.SessionLock(paths, notes=notes):
        live = owned(tmux.session(session), resolved, tmux)
        if live is None:
            raise NoSession(session, tmux.name)
        report = stop_windows(profile, resolved, paths, resolved.project, live, windows, timeout)
        live = tmux.session(session) or live
        ctx = plan_context(resolved, tmux)
        ctx = ctx._replace(inputs=_task_inputs(resolved, ctx, windows), notices=dict(notices or {}))
        for name in windows:
            window = profile.window(name)
            if window is not None and window.task:  # its dependents wait for this run, not the last one
                Path(f"{paths.prefix(name, 0)}.status").unlink(missing_ok=True)
        the_plan = planner.respawn(resolved, ctx, live, windows, os.urandom(4).hex())
        tmux.apply(the_plan.commands, session=live.target, windows=the_plan.windows, mask=resolved.mask)
        record_definitions(resolved, ctx, paths, windows, notes)
        if watched:
            for name in windows:
                window = profile.window(name)
                if window is not None:
                    records.count_watched(paths, name, len(window.pane_specs()))
    return RestartResult(session, windows, report, the_plan.changes, tuple(notes))


def _task_inputs(resolved: Resolved, ctx: planner.Context, names: Sequence[str]) -> dict[str, str]:
    """The inputs digest of each task among ``names``: recorded when it succeeds (as ``up`` does)."""
    from devenv.ops.tasks import inputs_digest

    tasks = [resolved.profile.window(n) for n in names]
    return {t.name: inputs_digest(resolved, ctx, t) for t in tasks if t is not None and t.task and t.inputs}
