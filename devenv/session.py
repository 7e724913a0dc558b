"""``up``: start the session whole, or repair it; then attach.

One round-trip to learn what runs, one to apply the plan, under a lock per
(socket, session) so concurrent ``up``/``down`` are serialized.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from devenv import plan as planner
from devenv import state
from devenv.context import Options
from devenv.envfiles import Resolved
from devenv.errors import TmuxError
from devenv.tmux import render

RUNNER = Path(__file__).resolve().parent / "runner.sh"


class UpResult(NamedTuple):
    session: str
    created: bool  # a new session was built
    changes: tuple[str, ...]
    script: str | None = None  # the rendered (masked) script, for --dry-run
    focus: str | None = None


def plan_context(opts: Options, resolved: Resolved) -> planner.Context:
    return planner.Context(
        socket_label=state.socket_label(opts.socket),
        state_dir=state.session_dir(opts.socket, resolved.profile.session),
        runner=RUNNER,
        python=sys.executable,
        tmux=opts.tmux.binary,
        profile_name=resolved.profile.name,
        socket=opts.socket,
    )


def make_plan(ctx: planner.Context, resolved: Resolved, live: planner.LiveSession | None) -> planner.Plan:
    build_id = os.urandom(4).hex()
    if live is None:
        return planner.cold(resolved, ctx, build_id)
    return planner.reconcile(resolved, ctx, recorded_exits(ctx.socket, live), build_id)


def recorded_exits(socket: str | None, live: planner.LiveSession) -> planner.LiveSession:
    """Dead panes with the exit code their runner recorded (tmux 3.3 sometimes loses it)."""
    where = {p.pane_id: (name, i) for name, ps in live.windows().items() for i, p in enumerate(ps)}
    panes = []
    for pane in live.panes:
        if pane.dead and pane.pane_id in where:
            code = state.read_pane_state(socket, live.name, *where[pane.pane_id]).exit_code
            if code is not None:
                pane = pane._replace(dead_status=code)
        panes.append(pane)
    return live._replace(panes=tuple(panes))


def up(opts: Options, *, dry_run: bool = False,
       check: Callable[[planner.LiveSession | None], None] | None = None) -> UpResult:
    """Start or repair the session of ``opts``' profile (attaching is the caller's).

    Under the session lock: learn what runs (one tmux round-trip), run ``check``
    (the prerequisite checks, which may raise), plan, apply (one round-trip).
    """
    resolved = opts.resolved()
    tmux = opts.tmux
    session = resolved.profile.session
    ctx = plan_context(opts, resolved)
    if dry_run:
        live = tmux.session(session)
        the_plan = make_plan(ctx, resolved, live)
        script = resolved.mask(render(the_plan.commands, one_line=False)) if the_plan.commands else ""
        return UpResult(session, live is None, the_plan.changes, script, the_plan.focus)
    with state.session_lock(opts.socket, session):
        live = tmux.session(session)
        if check is not None:
            check(live)
        the_plan = make_plan(ctx, resolved, live)
        if live is None:
            state.new_session(opts.socket, session)
        tmux.apply(the_plan.commands, cleanup_session=the_plan.build_name, mask=resolved.mask)
    return UpResult(session, live is None, the_plan.changes, None, the_plan.focus)


def attach(opts: Options, session: str) -> None:
    """Replace this process with tmux attached to ``session`` (switch-client inside tmux)."""
    tmux = opts.tmux
    if not tmux.has_session(session):
        raise TmuxError(f"no session {session!r} is running" + (f" on socket {opts.socket!r}" if opts.socket else ""),
                        hint="start it with: devenv up")
    argv = tmux.attach_argv(session)
    if argv is None:
        sock = f" -L {opts.socket}" if opts.socket else ""
        raise TmuxError("already inside another tmux server; not nesting",
                        hint=f"attach from outside tmux: tmux{sock} attach -t {session}")
    sys.stdout.flush()
    if "switch-client" in argv:  # inside tmux: switch this client, keep the shell
        proc = tmux.run(*argv[argv.index("switch-client"):], check=False)
        if proc.returncode != 0:
            raise TmuxError(f"cannot switch to session {session!r}: {proc.stderr.strip()}",
                            hint=f"it is running; switch with: tmux switch-client -t {session}")
        return
    os.execvp(argv[0], argv)


def can_attach() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
