"""``up``, ``down`` and ``restart`` without click: the everyday command lines, and what they print.

The plain ``devenv [-C DIR] [-L SOCK] [-p NAME] up [-d] [--no-check]``, ``... down [--timeout S]``
and ``... restart WINDOW... [--with-dependents] [--timeout S]`` are parsed here (click alone
costs ~50-100 ms of start-up, most of what ``up`` costs on a small machine); :func:`run_up`,
:func:`run_down` and :func:`run_restart` are shared with the click commands. Nothing here imports click, and a test (tests/test_imports.py) holds ``up``'s
path to what it may import.
"""

from __future__ import annotations

import os
import sys

from devenv.cli.options import Options
from devenv.errors import CheckFailed, TmuxError
from devenv.tuples import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from devenv.session.procs import StopReport

_GLOBAL = {"-C": "project", "--project": "project", "-L": "socket", "--socket": "socket",
           "-p": "profile", "--profile": "profile"}
_UP_FLAGS = {"-d": "detach", "--detach": "detach", "--no-check": "no_check"}


class FastLine(NamedTuple):
    """A command line the fast path runs: ``up [-d] [--no-check]``, ``down [--timeout S]`` or
    ``restart WINDOW... [--with-dependents] [--timeout S]``."""

    verb: str  # up | down | restart
    glob: dict[str, str]  # the global options given: project, socket, profile
    flags: dict[str, bool]  # the flags given (up: detach, no_check; restart: with_dependents)
    timeout: float | None = None  # down's and restart's --timeout
    names: tuple[str, ...] = ()  # restart's windows


def parse_fast(args: list[str]) -> FastLine | None:
    """The options of a plain ``up``, ``down`` or ``restart`` command line, or None for anything else
    (click parses that, and says what is wrong with it)."""
    glob: dict[str, str] = {}
    i = 0
    while i < len(args) and args[i] in _GLOBAL:
        if i + 1 >= len(args) or args[i + 1].startswith("-") or _GLOBAL[args[i]] in glob:
            return None
        glob[_GLOBAL[args[i]]] = args[i + 1]
        i += 2
    if i >= len(args) or args[i] not in ("up", "down", "restart"):
        return None
    verb, rest = args[i], args[i + 1:]
    if verb == "up":
        flags: dict[str, bool] = {}
        for arg in rest:
            if arg not in _UP_FLAGS:
                return None
            flags[_UP_FLAGS[arg]] = True
        return FastLine("up", glob, flags)
    names: list[str] = []
    timeout: float | None = None
    flags = {}
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--timeout" or arg.startswith("--timeout="):
            text = arg.partition("=")[2] if "=" in arg else (rest[j + 1] if j + 1 < len(rest) else None)
            j += 1 if "=" in arg else 2
            value = _seconds(text)
            if value is None or timeout is not None:
                return None
            timeout = value
        elif verb == "restart" and arg == "--with-dependents" and not flags:
            flags["with_dependents"] = True
            j += 1
        elif verb == "restart" and not arg.startswith("-"):
            names.append(arg)
            j += 1
        else:
            return None
    if verb == "restart" and not names:
        return None
    return FastLine(verb, glob, flags, timeout, tuple(names))


def _seconds(text: str | None) -> float | None:
    """A ``--timeout`` value: a finite number >= 0; None for anything else."""
    try:
        value = float(text) if text is not None else -1.0
    except ValueError:
        return None
    return value if 0 <= value < float("inf") else None


def run_fast(line: FastLine) -> None:
    """Run a plain ``up``, ``down`` or ``restart`` and exit, without the interpreter's teardown."""
    from devenv.cli.guard import guarded

    def run() -> int:
        opts = Options.create(line.glob.get("project"), line.glob.get("socket"), line.glob.get("profile"))
        if line.verb == "down":
            return run_down(opts, line.timeout)
        if line.verb == "restart":
            return run_restart(opts, line.names, line.timeout, line.flags.get("with_dependents", False))
        return run_up(opts, detach=line.flags.get("detach", False), no_check=line.flags.get("no_check", False))

    _exit(guarded(run))


def _exit(code: int) -> None:
    """Exit at once: the interpreter's teardown (~15-20 ms) has nothing to clean up here, and (up) the
    session's panes are starting on the same CPUs right now, (_await) a window's command is waiting."""
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


def run_await() -> None:
    """The hidden ``_await`` (the pane runner, before a window with ``after:`` starts): wait for the
    dependencies in ``$DEVENV_AFTER``, saying progress in the pane; its exit code is the runner's answer."""
    from devenv.cli.guard import guarded
    from devenv.readiness.probes import OWN_LINE
    from devenv.readiness.waits import await_after

    def say(line: str) -> None:
        echo(f"{OWN_LINE}{line}")

    _exit(guarded(lambda: await_after(os.environ.get("DEVENV_AFTER", ""), say)))


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


def run_down(opts: Options, timeout: float | None) -> int:
    """``down``: stop everything, kill the session, and what it prints."""
    from devenv.errors import NoSession, ProfileError
    from devenv.ops.down import down as stop_session

    try:
        resolved = opts.resolved()
    except ProfileError:  # down still stops everything; stop commands and after_down need the env
        resolved = None
    result = stop_session(opts.profile(), opts.project, opts.tmux, timeout, resolved, hook_line)
    count = len(result.report.stopped)
    processes = f"{count} process{'es' if count != 1 else ''}"
    if result.unanswered:
        echo(f"error: {result.unanswered}; stopped {processes} of session {result.session} without it", err=True)
    elif result.foreign:
        echo(f"session {result.session} on {opts.tmux.label} belongs to another project "
             f"({result.foreign}): left it alone")
        if count:
            echo(f"stopped {processes} of this project's left over:")
    elif not result.running:
        echo(NoSession(result.session, opts.tmux.name).message)
        if count:
            echo(f"stopped {count} leftover process{'es' if count != 1 else ''} of it:")
    else:
        echo(f"stopped session {result.session} ({processes})")
    notes(result.notes)
    code = report_stop(result.report)
    if result.hook_failed is not None:
        echo(f"error: after_down hook {result.hook_failed.command!r} failed "
             f"(exit {result.hook_failed.code}); everything was stopped", err=True)
        return 1
    return 1 if result.unanswered else code


def run_restart(opts: Options, names: tuple[str, ...], timeout: float | None, with_dependents: bool) -> int:
    """``restart``: stop the windows' process trees, start them again, and what it prints."""
    from devenv.ops.restart import restart as restart_windows

    result = restart_windows(opts.resolved(), opts.tmux, names, timeout, with_dependents)
    count = len(result.report.stopped)
    echo(f"restarted {', '.join(result.windows)} in session {result.session} "
         f"(stopped {count} process{'es' if count != 1 else ''})")
    notes(result.notes)
    return report_stop(result.report)


def notes(lines: tuple[str, ...]) -> None:
    for note in lines:
        echo(f"note: {note}", err=True)


def report_stop(report: StopReport) -> int:
    """Print the stop report; 1 when something survived SIGKILL."""
    from devenv.cli.render import stop_report

    out, err = stop_report(report)
    for line in out:
        echo(line)
    for line in err:
        echo(line, err=True)
    return 1 if report.survivors else 0
