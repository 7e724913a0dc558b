"""``down``, ``ps``, ``restart``: parse, call :mod:`devenv.ops`, render."""

from __future__ import annotations

import json

import click

from devenv.cli.completion import complete_windows
from devenv.cli.options import Options
from devenv.cli.render import ps_frame, ps_table, stop_report, use_color
from devenv.errors import NoSession, UsageError
from devenv.ops.down import down as stop_session
from devenv.ops.ps import ps as pane_rows
from devenv.ops.restart import restart as restart_windows
from devenv.session.procs import StopReport

_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
                        help="How long processes get to stop before SIGKILL, for every window (default: each "
                             "window's stop: timeout, else 10; SIGINT, then SIGTERM at a third).")


@click.command()
@_TIMEOUT
@click.pass_obj
def down(opts: Options, timeout: float | None) -> int:
    """Stop every process of the session (pane trees and escapees), dependents first, then the session."""
    from devenv.cli.fast import hook_line
    from devenv.errors import ProfileError

    try:
        resolved = opts.resolved()
    except ProfileError:  # down still stops everything; stop commands and after_down need the env
        resolved = None
    result = stop_session(opts.profile(), opts.project, opts.tmux, timeout, resolved, hook_line)
    count = len(result.report.stopped)
    processes = f"{count} process{'es' if count != 1 else ''}"
    if result.unanswered:
        click.echo(f"error: {result.unanswered}; stopped {processes} of session {result.session} without it",
                   err=True)
    elif result.foreign:
        click.echo(f"session {result.session} on {opts.tmux.label} belongs to another project "
                   f"({result.foreign}): left it alone")
        if count:
            click.echo(f"stopped {processes} of this project's left over:")
    elif not result.running:
        click.echo(NoSession(result.session, opts.tmux.name).message)
        if count:
            click.echo(f"stopped {count} leftover process{'es' if count != 1 else ''} of it:")
    else:
        click.echo(f"stopped session {result.session} ({processes})")
    _notes(result.notes)
    code = _report(result.report)
    if result.hook_failed is not None:
        click.echo(f"error: after_down hook {result.hook_failed.command!r} failed "
                   f"(exit {result.hook_failed.code}); everything was stopped", err=True)
        return 1
    return 1 if result.unanswered else code


@click.command()
@_TIMEOUT
@click.option("--with-dependents", is_flag=True, help="Also restart what waits for them (after:), stopped first.")
@click.argument("windows", nargs=-1, required=True, shell_complete=complete_windows)
@click.pass_obj
def restart(opts: Options, timeout: float | None, with_dependents: bool, windows: tuple[str, ...]) -> int:
    """Restart WINDOWS (shell-style globs allowed: 'worker*'): stop their process trees, run them again."""
    result = restart_windows(opts.resolved(), opts.tmux, windows, timeout, with_dependents)
    count = len(result.report.stopped)
    click.echo(f"restarted {', '.join(result.windows)} in session {result.session} "
               f"(stopped {count} process{'es' if count != 1 else ''})")
    _notes(result.notes)
    return _report(result.report)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-w", "--window", metavar="WINDOW", shell_complete=complete_windows,
              help="With this window's environment and folder (default: the profile's, in its root).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_obj
def exec_(opts: Options, window: str | None, command: tuple[str, ...]) -> int:
    """Run COMMAND with the profile's environment: `devenv exec -- npx prisma migrate dev`.

    Its stdin, stdout and stderr are yours, its exit code is returned; the values reach it through
    its environment only. No session is needed.
    """
    import os

    from devenv.ops.exec import environment

    env, cwd = environment(opts.resolved(), window)
    argv = list(command[1:] if command[:1] == ("--",) else command)
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise click.UsageError(f"cannot enter {cwd}: {exc.strerror}") from None
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        click.echo(f"error: exec: {argv[0]}: command not found", err=True)
        return 127
    except OSError as exc:
        click.echo(f"error: exec: {argv[0]}: {exc.strerror or exc}", err=True)
        return 126


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of panes.")
@click.option("-w", "--watch", is_flag=True, help="Refresh the table in place until q or Ctrl-C.")
@click.option("--interval", type=click.FloatRange(min=0.2), default=2.0, show_default=True, metavar="SECONDS",
              help="With --watch: seconds between refreshes.")
@click.pass_obj
def ps(opts: Options, as_json: bool, watch: bool, interval: float) -> int:
    """Show each pane's state, process, exit code, CPU, memory, ports, uptime and restarts."""
    if watch:
        if as_json:
            raise UsageError("--watch and --json do not go together")
        return _watch(opts, interval)
    result = pane_rows(opts.resolved(), opts.tmux)
    if as_json:
        click.echo(json.dumps([r._asdict() for r in result.rows], indent=2, ensure_ascii=False))
        return 0 if result.running or not result.rows else 1
    if not result.running:
        click.echo(NoSession(opts.profile().session, opts.tmux.name).message)
        if not result.rows:
            return 0
        click.echo(f"but {len(result.rows)} of its processes still run (devenv down stops them):")
    for line in ps_table(result.rows):
        click.echo(line)
    return 0 if result.running else 1


def _watch(opts: Options, interval: float) -> int:
    """``ps --watch``: a frame every ``interval`` (CPU % over the time between frames), q or Ctrl-C quits.

    The profile is resolved once; each frame asks tmux and the process table again. A session
    that is not running (yet, or any more) is said, and watched for.
    """
    import signal
    import sys
    import time

    from devenv.cli.screen import Screen
    from devenv.session.procs import CpuMeter
    from devenv.wait import Stopped, stopped_by

    resolved = opts.resolved()
    session = resolved.profile.session
    meter = CpuMeter()
    color = use_color(sys.stdout)
    try:
        with stopped_by(signal.SIGTERM), Screen(sys.stdout, sys.stdin) as screen:
            while True:
                started = time.monotonic()
                result = pane_rows(resolved, opts.tmux, meter=meter)
                note = None
                if not result.running:
                    note = NoSession(session, opts.tmux.name).message
                    if result.rows:
                        note += f"; {len(result.rows)} of its processes still run (devenv down stops them)"
                cols, rows = screen.size()
                header = (f"devenv ps  {session} on {opts.tmux.label}  {time.strftime('%H:%M:%S')}  "
                          f"every {interval:g}s  q: quit")
                screen.draw(ps_frame(result.rows, header, note, cols, rows, color=color and screen.tty))
                keys = screen.wait(max(interval - (time.monotonic() - started), interval / 4))  # a slow frame: still a pause
                if keys is None or any(k in keys for k in "qQ\x04"):
                    return 0
    except (KeyboardInterrupt, Stopped):
        return 0


def _notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        click.echo(f"note: {note}", err=True)


def _report(report: StopReport) -> int:
    """Print the stop report; 1 when something survived SIGKILL."""
    out, err = stop_report(report)
    for line in out:
        click.echo(line)
    for line in err:
        click.echo(line, err=True)
    return 1 if report.survivors else 0
