"""``up``: start the session whole, or repair it; ``attach``.

One round-trip to learn what runs, the prerequisite checks, one round-trip to
apply the plan, under a lock per (socket, session) so concurrent ``up``/``down``
are serialized.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from devenv.errors import CheckFailed, ForeignSession, NoSession
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Profile
from devenv.session import plan as planner
from devenv.session import records
from devenv.session.live import LiveSession, SessionAt
from devenv.session.tmux import Tmux, to_script
from devenv.tuples import TYPE_CHECKING, NamedTuple

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
        colour=not os.environ.get("NO_COLOR"),  # https://no-color.org: set and not empty
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


class Decisions(NamedTuple):
    """What ``up`` decided before planning: which tasks to skip or run, which windows to restart."""

    skip: frozenset[str]  # tasks not to run: done (and their inputs unchanged)
    run: tuple[str, ...]  # tasks to run (again)
    inputs: dict[str, str]  # task -> its inputs digest
    restart: dict[str, str]  # running window -> why it restarts ("config changed: env PORT")
    rebuild: frozenset[str] = frozenset()  # of those, the windows made anew (their panes or options changed)


def decide(resolved: Resolved, ctx: planner.Context, paths: SessionPaths, live: LiveSession | None) -> Decisions:
    """Tasks: skip one whose inputs are as at its last success (or, on a running session, one that is
    done); run it otherwise. Windows (running sessions): restart each whose definition changed since
    it started, and each that waits for a task that runs again."""
    profile = resolved.profile
    if profile.tasks:  # (json and glob: only for a profile with tasks)
        from devenv.ops.tasks import inputs_digest, last_success, status
    windows = live.windows() if live is not None else {}
    skip: set[str] = set()
    run: list[str] = []
    digests: dict[str, str] = {}
    for task in profile.tasks:
        if task.inputs:
            digests[task.name] = inputs_digest(resolved, ctx, task)
        unchanged = not task.inputs or digests[task.name] == last_success(paths, task.name)
        if task.name in windows:  # running, or failed and kept: the repair decides
            continue
        word = status(paths, task.name) if live is not None else None
        if task.inputs and unchanged and (live is None or word in records.TASK_SUCCESS):
            skip.add(task.name)
        elif live is not None and not task.inputs and word in records.TASK_SUCCESS:
            skip.add(task.name)  # done in this session: never "repaired"
        else:
            run.append(task.name)
    restart: dict[str, str] = {}
    rebuild: set[str] = set()
    if live is not None:
        for w in profile.windows:
            panes = windows.get(w.name)
            if w.task or not panes or any(p.dead for p in panes):
                continue
            old = read_definition(paths, w.name)
            why = planner.drift(old, planner.definition(resolved, ctx, w)) if old is not None else None
            if why:
                restart[w.name] = f"config changed: {why}"
                if planner.rebuilds(why):
                    rebuild.add(w.name)
        if run:  # tasks that run again restart the running windows that wait for them
            from devenv.profile.select import dependents

            rerun = [t for t in run if last_success(paths, t) is not None or status(paths, t) is not None]
            for name in dependents(profile, rerun):
                window = profile.window(name)
                if window is not None and not window.task and name in windows and name not in restart:
                    restart[name] = f"{', '.join(rerun)} runs again"
    return Decisions(frozenset(skip), tuple(run), digests, restart, frozenset(rebuild))


def read_definition(paths: SessionPaths, window: str) -> dict[str, object] | None:
    """What ``window`` was last started with (None: no record, or one that cannot be read)."""
    import marshal

    try:
        raw = Path(f"{paths.prefix(window, 0)}.def").read_bytes()
    except OSError:
        return None
    try:
        data = marshal.loads(raw)
    except (ValueError, EOFError, TypeError):
        try:  # written by an earlier devenv: JSON
            import json

            data = json.loads(raw)
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def record_definitions(resolved: Resolved, ctx: planner.Context, paths: SessionPaths, names: object,
                       notes: list[str]) -> None:
    """Write what each of the windows ``names`` was (re)started with: drift is measured against it.
    (marshal: built in, where json costs ~1.5 ms of `up` to import; the record is devenv's own,
    private, and read back only by :func:`read_definition`.)"""
    import marshal

    from devenv.paths import private_file

    for name in names:  # type: ignore[attr-defined]
        window = resolved.profile.window(name)
        if window is None or window.task:
            continue
        try:
            private_file(Path(f"{paths.prefix(name, 0)}.def"), marshal.dumps(planner.definition(resolved, ctx, window)))
        except (OSError, ValueError) as exc:  # ValueError: a value marshal cannot write (a bug: say it, run on)
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            notes.append(f"cannot record {name}'s definition in {paths.dir} ({why}): "
                         "a change to it will not restart it")
            return


def up(resolved: Resolved, tmux: Tmux, *, dry_run: bool = False, check: bool = True,
       only: tuple[str, ...] = (), recreate: bool = True, timeout: float | None = None,
       output: Callable[[str, str], None] | None = None) -> UpResult:
    """Start or repair the session of ``resolved``'s profile (attaching is the caller's).

    Under the session lock: learn what runs (one tmux round-trip), run the prerequisite checks
    (unless ``check`` is false; CheckFailed names the failed ones; on a running session only when
    something will start: they guard starts, and a complete session attaches at once), decide the
    tasks and what drifted,
    run the ``before_up`` hooks when something will start (``output`` shows their lines), stop what
    restarts, plan, apply (one round-trip). ``only``: just those windows and tasks (globs allowed)
    and what they wait for; a later plain ``up`` adds the rest. ``timeout``: for stopping what restarts.
    """
    from devenv.profile import select

    say = output or (lambda kind, line: None)
    chosen = resolved
    if only:
        names = select.needs(resolved.profile, select.expand(resolved.profile, only, "window or task"))
        chosen = resolved._replace(profile=select.only(resolved.profile, names))
    session = resolved.profile.session
    paths = SessionPaths(tmux.name, session)
    ctx = plan_context(resolved, tmux)
    notes: list[str] = []
    warned: tuple[CheckResult, ...] = ()
    lock = records.SessionLock(paths, notes=notes, take=not dry_run)
    with lock:
        live = owned(tmux.session(session), resolved, tmux)
        if live is None and not dry_run and resolved.profile.hooks.after_down and _owed(paths):
            # the last session ended without down (killed, say): its after_down hooks are owed
            from devenv.ops import hooks

            failed = hooks.after_down(resolved, paths, say)
            if failed is not None:
                notes.append(f"after_down hook {failed.command!r} of the last session failed (exit {failed.code})")
        if check and not dry_run and live is None:
            warned = check_prerequisites(resolved, tmux, live)
        if live is None and not dry_run and any(owner == str(resolved.project) and target == session
                                                for _, owner, target in tmux.builds()):
            from devenv.ops.down import remove_builds  # psutil: only when a build was cut short

            notes += remove_builds(tmux, paths, resolved.project)
        decided = decide(chosen, ctx, paths, live)
        ctx = ctx._replace(skip=decided.skip, inputs=decided.inputs)
        the_plan = make_plan(ctx, chosen, live)
        restarts = tuple(decided.restart) if recreate else ()
        changes = list(the_plan.changes) + [f"restarted {n} ({why})" for n, why in decided.restart.items()
                                             if recreate]
        if not recreate:
            notes += [f"{n}: {why}; not restarted (--no-recreate)" for n, why in decided.restart.items()]
        if dry_run:
            script = resolved.mask(to_script(the_plan.commands, one_line=False)) if the_plan.commands else ""
            return UpResult(session, live is None, tuple(changes), script, the_plan.focus)
        starts = bool(the_plan.commands) or bool(restarts)
        if check and live is not None and starts:  # the checks guard what starts: on a complete session, nothing
            warned = check_prerequisites(resolved, tmux, live)
        if starts and resolved.profile.hooks.before_up:
            from devenv.ops import hooks

            hooks.before_up(resolved, say)
        if live is None:
            records.new_session(paths, resolved.project, notes)
            if resolved.profile.hooks.after_down:
                from devenv.ops import hooks

                hooks.mark_started(paths, notes)
        for name in decided.skip - set(live.windows() if live else ()):
            _put(paths, name, "skipped" if name in decided.inputs else "done", notes)
        for name in decided.run:
            Path(f"{paths.prefix(name, 0)}.status").unlink(missing_ok=True)  # not the last run's "done"
        commands = list(the_plan.commands)
        making = the_plan.windows
        if restarts and live is not None:
            from devenv.ops.down import stop_windows

            stop_windows(resolved.profile, resolved, paths, resolved.project, live, restarts, timeout)
            live = tmux.session(session) or live
            again = planner.respawn(chosen, ctx, live, restarts, os.urandom(4).hex(), rebuild=decided.rebuild)
            commands += again.commands
            making += again.windows
        # what each window runs with now; a drifted one left running (--no-recreate) keeps its old record
        def record() -> None:
            record_definitions(chosen, ctx, paths, [w.name for w in chosen.profile.windows
                                                    if w.name not in decided.restart or recreate], notes)

        # a cold build writes them while tmux builds (a failed build leaves no session: a new one clears
        # them); a repair only once tmux made its changes
        tmux.apply(commands, cleanup_session=the_plan.build_name, session=live.target if live else None,
                   windows=making, mask=resolved.mask, meanwhile=record if live is None else None)
        if live is not None:
            record()
        watched = watch(resolved, paths, tmux, notes)
        if watched and live is not None:
            changes.append(watched)
    return UpResult(session, live is None, tuple(changes), None, the_plan.focus, tuple(notes), warned)


def watch(resolved: Resolved, paths: SessionPaths, tmux: Tmux, notes: list[str]) -> str | None:
    """The session's watcher, when a window or task has ``watch:`` (see :mod:`devenv.session.watcher`)."""
    if not resolved.profile.watches and not paths.watcher_lock.exists():
        return None  # (nothing to watch, and no watcher of an earlier profile to stop)
    from devenv.session import watcher
    try:
        return watcher.ensure(resolved, paths, sys.executable, tmux.socket)
    except OSError as exc:
        notes.append(f"cannot start the watcher ({exc.strerror or exc}): watched files restart nothing")
        return None


def _owed(paths: SessionPaths) -> bool:
    return (paths.dir / records.STARTED).exists()


def _put(paths: SessionPaths, task: str, word: str, notes: list[str]) -> None:
    try:
        records.put_status(paths.prefix(task, 0), word)
    except OSError as exc:
        notes.append(f"cannot record task {task} as {word} ({exc.strerror})")


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
