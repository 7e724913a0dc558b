"""``devenv up`` without click: the everyday command line, and what ``up`` prints.

The plain ``devenv [-C DIR] [-L SOCK] [-p NAME] up [-d] [--no-check]`` is parsed here
(click alone costs ~50-100 ms of start-up, most of what ``up`` costs on a small
machine); :func:`run_up` is shared with the click ``up`` command. Nothing here
imports click, and a test (tests/test_imports.py) holds this path to what it may import.
"""

from __future__ import annotations

import os
import sys

from devenv.cli.options import Options
from devenv.errors import CheckFailed, TmuxError

_GLOBAL = {"-C": "project", "--project": "project", "-L": "socket", "--socket": "socket",
           "-p": "profile", "--profile": "profile"}
_UP_FLAGS = {"-d": "detach", "--detach": "detach", "--no-check": "no_check"}


def parse_fast(args: list[str]) -> tuple[dict[str, str], dict[str, bool]] | None:
    """The options of a plain ``up`` command line, or None for anything else (click parses that)."""
    glob: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i] in _GLOBAL:
        if i + 1 >= len(args) or args[i + 1].startswith("-") or _GLOBAL[args[i]] in glob:
            return None
        glob[_GLOBAL[args[i]]] = args[i + 1]
        i += 2
    if i >= len(args) or args[i] != "up":
        return None
    flags: dict[str, bool] = {}
    for arg in args[i + 1:]:
        if arg not in _UP_FLAGS:
            return None
        flags[_UP_FLAGS[arg]] = True
    return glob, flags


def run_fast(glob: dict[str, str], flags: dict[str, bool]) -> None:
    """Run a plain ``up`` and exit, without the interpreter's teardown."""
    from devenv.cli.guard import guarded

    def run() -> int:
        opts = Options.create(glob.get("project"), glob.get("socket"), glob.get("profile"))
        return run_up(opts, detach=flags.get("detach", False), no_check=flags.get("no_check", False))

    code = guarded(run)
    # Skip the interpreter's teardown (~20 ms): `up` has nothing left to clean up, and the
    # session's panes are starting on the same CPUs right now.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def run_ready() -> None:
    """``devenv _ready`` (started by the pane runner of a window with a ``ready:`` probe): wait for
    the probe in ``$DEVENV_AFTER``, then turn the pane's badge from ``starting`` to ``ready`` (only if
    it still says starting: the runner kills this process before it records another state)."""
    from devenv.readiness.waits import await_after

    code = await_after(os.environ.get("DEVENV_AFTER", ""), lambda line: None)
    pane = os.environ.get("TMUX_PANE", "")
    if code == 0 and pane.startswith("%") and pane[1:].isdigit():
        from devenv.session.badges import STATE_OPTION

        tmux = os.environ.get("DEVENV_TMUX") or "tmux"
        try:
            os.execvp(tmux, [tmux, "if-shell", "-F", "-t", pane, f"#{{==:#{{{STATE_OPTION}}},starting}}",
                             f"set-option -p -t {pane} {STATE_OPTION} ready"])
        except OSError:
            pass
    os._exit(code)


def echo(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def run_up(opts: Options, *, detach: bool = False, dry_run: bool = False, no_check: bool = False,
           wait_ready: bool = False, timeout: float | None = None, only: tuple[str, ...] = (),
           recreate: bool = True) -> int:
    """``up``: checks, start or repair, (wait), attach; and what it prints."""
    from devenv.ops import up as ops_up

    resolved = opts.resolved()
    if ops_up.is_shipped(resolved.profile):
        echo(f"note: using devenv's own profile {resolved.profile.name!r} ({resolved.profile.file}); "
             "`devenv init` writes one for this project", err=True)
    try:
        result = ops_up.up(resolved, opts.tmux, dry_run=dry_run, check=not no_check, only=only, recreate=recreate,
                           output=hook_line)
    except CheckFailed as exc:
        from devenv.cli.render import checklist

        echo(checklist(list(exc.results), color=sys.stderr.isatty()), err=True)
        raise
    if result.warnings:
        from devenv.cli.render import warnings

        for line in warnings(result.warnings):
            echo(line, err=True)
    if dry_run:
        sys.stdout.write(result.script or "")
        for change in result.changes:
            echo(f"# would have {change}", err=True)
        echo(f"# dry run: {'would build' if result.created else 'would repair'} session {result.session}; "
             "nothing was run", err=True)
        return 0
    for note in result.notes:
        echo(f"note: {note}", err=True)
    if result.created:
        windows = sum(c.startswith("started window ") for c in result.changes)
        tasks = sum(c.startswith("started task ") for c in result.changes)
        skipped = [c.split()[2] for c in result.changes if c.startswith("skipped task ")]
        what = [f"{windows} window{'s' if windows != 1 else ''}"] + ([f"{tasks} task{'s' if tasks != 1 else ''}"]
                                                                        if tasks else [])
        echo(f"started session {result.session} ({', '.join(what)})"
             + (f"; skipped {', '.join(skipped)} (inputs unchanged)" if skipped else ""))
    elif result.changes:
        echo(f"repaired session {result.session}: " + "; ".join(result.changes))
    else:
        echo(f"session {result.session} is up to date")
    if wait_ready:
        from devenv.cli.ready import wait_and_show

        wait_and_show(opts, None, timeout)
    if not detach and sys.stdin.isatty() and sys.stdout.isatty():
        attach(opts, result.session)
    return 0


def hook_line(kind: str, line: str) -> None:
    """A line a hook printed, shown with where it comes from."""
    echo(f"[{kind}] {line}", err=True)


def attach(opts: Options, session: str) -> None:
    """Attach after ``up``: a note instead of a failure when it cannot (the session is up)."""
    if opts.tmux.attach_argv(session) is None:  # inside another tmux server: do not nest
        sock = f" -L {opts.socket}" if opts.socket else ""
        echo(f"(inside another tmux server: attach from outside with `tmux{sock} attach -t {session}`)", err=True)
        return
    try:
        opts.tmux.attach(session)
    except TmuxError as exc:
        echo(f"note: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""), err=True)
