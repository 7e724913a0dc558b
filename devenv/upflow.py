"""What ``devenv up`` does and prints: checks, start or repair, wait, attach.

Shared by the click command (devenv/commands/up.py) and the fast path of
devenv/main.py, which runs the plain ``devenv [-C DIR] [-L SOCK] [-p NAME] up
[-d] [--no-check]`` without importing click (~100 ms on a small machine).
Nothing here imports click.
"""

from __future__ import annotations

import sys

from devenv.context import Options
from devenv.plan import LiveSession
from devenv.profile import Profile


def echo(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def run_up(opts: Options, *, detach: bool = False, dry_run: bool = False, no_check: bool = False,
           wait_ready: bool = False, timeout: float | None = None) -> int:
    from devenv import session

    resolved = opts.resolved()
    _note_shipped(resolved.profile)
    result = session.up(opts, dry_run=dry_run, check=None if no_check else lambda live: _check(opts, live))
    if dry_run:
        sys.stdout.write(result.script or "")
        echo(f"# dry run: {'would build' if result.created else 'would repair'} session {result.session}; "
             "nothing was run", err=True)
        return 0
    if result.created:
        echo(f"started session {result.session} ({len(result.changes)} windows)")
    elif result.changes:
        echo(f"repaired session {result.session}: " + "; ".join(result.changes))
    else:
        echo(f"session {result.session} is up to date")
    if wait_ready:
        from devenv.ready import wait_for_windows

        if not wait_for_windows(opts, resolved, None, timeout):
            return 1
    if not detach and session.can_attach():
        _attach(opts, result.session)
    return 0


def _attach(opts: Options, name: str) -> None:
    from devenv import session
    from devenv.errors import TmuxError

    if opts.tmux.attach_argv(name) is None:  # inside another tmux server: do not nest
        sock = f" -L {opts.socket}" if opts.socket else ""
        echo(f"(inside another tmux server: attach from outside with `tmux{sock} attach -t {name}`)", err=True)
        return
    try:
        session.attach(opts, name)
    except TmuxError as exc:  # the session is up: not attaching is no failure
        echo(f"note: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), err=True)


def _note_shipped(profile: Profile) -> None:
    """Say so when the profile is devenv's own demo: the project has none of that name."""
    from devenv.profile import shipped_dir

    if profile.file.resolve().is_relative_to(shipped_dir().resolve()):
        echo(f"note: using devenv's own profile {profile.name!r} ({profile.file}); "
             "`devenv init` writes one for this project", err=True)


def _check(opts: Options, live: LiveSession | None) -> None:
    """The prerequisite checks; ports held by the running session's own processes are no conflict."""
    from devenv.checks import render, run_checks
    from devenv.errors import CheckFailed

    resolved = opts.resolved()
    own = own_pids(opts) if live is not None else frozenset()
    failed = [r for r in run_checks(resolved, own_pids=own) if not r.ok]
    if failed:
        echo(render(failed, color=sys.stderr.isatty()), err=True)
        raise CheckFailed(f"{len(failed)} prerequisite check{'s' if len(failed) > 1 else ''} failed; nothing was "
                          "started", hint="fix them, or skip the checks with: devenv up --no-check")


def own_pids(opts: Options) -> frozenset[int]:
    """The running session's processes, looked up only when ports are checked: a port they hold is
    no conflict (``up`` on a running session, ``doctor``)."""
    resolved = opts.resolved()
    if not resolved.profile.requires.ports:
        return frozenset()
    from devenv.procs import session_pids

    return frozenset(session_pids(opts.socket, resolved.profile.session))
