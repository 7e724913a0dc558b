"""``down``, ``ps``, ``restart``: parse, call :mod:`devenv.ops`, render."""

from __future__ import annotations

import json

import click

from devenv.cli.completion import complete_windows
from devenv.cli.options import Options
from devenv.cli.render import ps_frame, ps_table, use_color
from devenv.errors import NoSession, UsageError

_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
                        help="How long processes get to stop before SIGKILL, for every window (default: each "
                             "window's stop: timeout, else 10; SIGINT, then SIGTERM at a third).")


@click.command()
@_TIMEOUT
@click.pass_obj
def down(opts: Options, timeout: float | None) -> int:
    """Stop every process of the session (pane trees and escapees), dependents first, then the session."""
    from devenv.cli.fast import run_down

    return run_down(opts, timeout)


@click.command()
@_TIMEOUT
@click.option("--with-dependents", is_flag=True, help="Also restart what waits for them (after:), stopped first.")
@click.argument("windows", nargs=-1, required=True, shell_complete=complete_windows)
@click.pass_obj
def restart(opts: Options, timeout: float | None, with_dependents: bool, windows: tuple[str, ...]) -> int:
    """Restart WINDOWS (shell-style globs allowed: 'worker*'): stop their process trees, run them again."""
    from devenv.cli.fast import run_restart

    return run_restart(opts, windows, timeout, with_dependents)


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
@click.option("--cpu", "cpu", type=click.FloatRange(min=0.05, max=60), is_flag=False, flag_value=0.5, default=None,
              metavar="[SECONDS]", help="CPU % over a sampling window of SECONDS (default 0.5) instead of each "
                                        "process's average since it started.")
@click.pass_obj
def ps(opts: Options, as_json: bool, watch: bool, interval: float, cpu: float | None) -> int:
    """Show each pane's state, process, exit code, CPU, memory, ports, uptime and restarts.

    CPU % is each process's average since it started (nothing is sampled: ps answers at once);
    --cpu measures it over a short window, --watch between frames.
    """
    if watch:
        if as_json:
            raise UsageError("--watch and --json do not go together")
        if cpu is not None:
            raise UsageError("--watch measures CPU between frames: --cpu does not go with it")
        return _watch(opts, interval)
    from devenv.ops.ps import ps as pane_rows

    result = pane_rows(opts.resolved(), opts.tmux, sample=cpu or 0.0)
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
    from devenv.ops.ps import ps as pane_rows
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
