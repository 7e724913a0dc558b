"""``up``: start the session whole, or repair it; ``attach``.

One round-trip to learn what runs, the prerequisite checks, one round-trip to
apply the plan, under a lock per (socket, session) so concurrent ``up``/``down``
are serialized.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from devenv.errors import CheckFailed, ForeignSession, NoSession
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Profile
from devenv.session import plan as planner
from devenv.session import records
from devenv.session.live import LiveSession, SessionAt
from devenv.session.tmux import Tmux, to_script

if TYPE_CHECKING:
    from devenv.readiness.prereqs import CheckResult

RUNNER = Path(__file__).resolve().parent.parent / "session" / "runner.sh"


class UpResult(NamedTuple):
    session: str
    created: bool  # a new session was built
    changes: tuple[str, ...]
    script: str | None = None  # the rendered (masked) script, for --dry-run
    focus: str | None = None
    notes: tuple[str, ...] = ()  # what the user should know (a state folder that cannot be written, ...)
    warnings: tuple[CheckResult, ...] = ()  # checks that passed with a warning


def plan_context(resolved: Resolved, tmux: Tmux) -> planner.Context:
    """What the plan needs to know of the world: paths, the Python, the tmux binary."""
    paths = SessionPaths(tmux.name, resolved.profile.session)
    return planner.Context(
        socket_label=paths.label,
        state_dir=paths.dir,
        runner=RUNNER,
        python=sys.executable,
        tmux=tmux.binary,
        profile_name=resolved.profile.name,
        socket=tmux.name,
    )


def make_plan(ctx: planner.Context, resolved: Resolved, live: LiveSession | None) -> planner.Plan:
    build_id = os.urandom(4).hex()
    if live is None:
        return planner.cold(resolved, ctx, build_id)
    paths = SessionPaths(ctx.socket, live.name)
    return planner.reconcile(resolved, ctx, recorded_exits(paths, live), build_id, unlogged(paths, resolved, live))


def unlogged(paths: SessionPaths, resolved: Resolved, live: LiveSession) -> frozenset[str]:
    """Running panes of the profile's windows whose log file is gone (the state folder was removed)."""
    gone = set()
    for name, panes in live.windows().items():
        window = resolved.profile.window(name)
        for j, pane in enumerate(panes[: len(window.pane_specs())] if window else ()):
            if not pane.dead and not os.path.exists(paths.log(name, j)):
                gone.add(pane.pane_id)
    return frozenset(gone)


def recorded_exits(paths: SessionPaths, live: LiveSession) -> LiveSession:
    """Dead panes with the exit code their runner recorded (tmux 3.3 sometimes loses it)."""
    where = {p.pane_id: (name, i) for name, ps in live.windows().items() for i, p in enumerate(ps)}
    panes = []
    for pane in live.panes:
        if pane.dead and pane.pane_id in where:
            code = records.read_pane_state(paths, *where[pane.pane_id]).exit_code
            if code is not None:
                pane = pane._replace(dead_status=code)
        panes.append(pane)
    return live._replace(panes=tuple(panes))


def check_prerequisites(resolved: Resolved, tmux: Tmux, live: LiveSession | None) -> tuple[CheckResult, ...]:
    """The prerequisite checks; the warnings when none failed.

    Ports held by the running session's own processes are no conflict, and a database pool it
    fills itself is a warning: its own load must not block repairing it.
    """
    from devenv.readiness.prereqs import own_pids, run_checks

    own = own_pids(resolved, tmux.name) if live is not None else frozenset()
    running = SessionAt(tmux.name, resolved.profile.session, str(resolved.project)) if live is not None else None
    results = run_checks(resolved, own_pids=own, session_at=running)
    failed = [r for r in results if not r.ok]
    if failed:
        raise CheckFailed(f"{len(failed)} prerequisite check{'s' if len(failed) > 1 else ''} failed; nothing was "
                          "started", results=failed, hint="fix them, or skip the checks with: devenv up --no-check")
    return tuple(r for r in results if r.warn)


def up(resolved: Resolved, tmux: Tmux, *, dry_run: bool = False, check: bool = True) -> UpResult:
    """Start or repair the session of ``resolved``'s profile (attaching is the caller's).

    Under the session lock: learn what runs (one tmux round-trip), run the
    prerequisite checks (unless ``check`` is false; CheckFailed names the failed
    ones), plan, apply (one round-trip).
    """
    session = resolved.profile.session
    paths = SessionPaths(tmux.name, session)
    ctx = plan_context(resolved, tmux)
    notes: list[str] = []
    if dry_run:
        live = owned(tmux.session(session), resolved, tmux)
        the_plan = make_plan(ctx, resolved, live)
        script = resolved.mask(to_script(the_plan.commands, one_line=False)) if the_plan.commands else ""
        return UpResult(session, live is None, the_plan.changes, script, the_plan.focus)
    warned: tuple[CheckResult, ...] = ()
    with records.session_lock(paths, notes=notes):
        live = owned(tmux.session(session), resolved, tmux)
        if check:
            warned = check_prerequisites(resolved, tmux, live)
        if live is None and any(owner == str(resolved.project) and target == session
                                for _, owner, target in tmux.builds()):
            from devenv.ops.down import remove_builds  # psutil: only when a build was cut short

            notes += remove_builds(tmux, paths, resolved.project)
        the_plan = make_plan(ctx, resolved, live)
        if live is None:
            records.new_session(paths, resolved.project, notes)
        tmux.apply(the_plan.commands, cleanup_session=the_plan.build_name, session=live.target if live else None,
                   windows=the_plan.windows, mask=resolved.mask)
    return UpResult(session, live is None, the_plan.changes, None, the_plan.focus, tuple(notes), warned)


def owned(live: LiveSession | None, resolved: Resolved, tmux: Tmux) -> LiveSession | None:
    """``live`` when it is this project's session; ForeignSession when the name is taken by another."""
    if live is not None and not live.owned_by(resolved.project):
        raise ForeignSession(live.name, live.project, tmux.label)
    return live


def attach(tmux: Tmux, session: str) -> None:
    """Replace this process with tmux attached to ``session`` (switch-client inside tmux)."""
    if not tmux.has_session(session):
        raise NoSession(session, tmux.name)
    tmux.attach(session)


def is_shipped(profile: Profile) -> bool:
    """Whether the profile is devenv's own demo (the project has none of that name)."""
    from devenv.profile.load import shipped_dir

    return profile.file.resolve().is_relative_to(shipped_dir().resolve())
