"""``wait`` and the hidden ``_await`` (run by the pane runner for windows with ``after:``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import click

from devenv.cli.completion import complete_windows
from devenv.cli.options import Options
from devenv.cli.render import Progress
from devenv.errors import Timeout
from devenv.paths import SessionPaths
from devenv.readiness.waits import wait_for_windows, window_watches


def wait_and_show(opts: Options, names: Sequence[str] | None, timeout: float | None) -> None:
    """Wait for windows, showing progress; raise Timeout after naming what is not ready, with its last output."""
    resolved = opts.resolved()
    watches = window_watches(resolved, SessionPaths(opts.tmux.name, resolved.profile.session), names)
    progress = Progress(watches, sys.stdout, time.monotonic())
    try:
        wait_for_windows(resolved, opts.tmux, names, timeout, watches=watches, changed=progress.changed,
                         tick=progress.draw, tick_every=0.2 if progress.tty else 0.5)
    except Timeout as exc:
        for name, why, output in exc.not_ready:
            if not progress.tty:  # on a terminal the live lines show it already
                click.echo(f"{name}: {why}", err=True)
            if output:
                click.echo(f"  last output of {name}:", err=True)
                for text in output:
                    click.echo(f"  | {text}", err=True)
        raise


@click.command()
@click.argument("windows", nargs=-1, metavar="[WINDOW]...", shell_complete=complete_windows)
@click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="S",
              help="Give up after S seconds (default: each window's probe timeout).")
@click.pass_obj
def wait(opts: Options, windows: tuple[str, ...], timeout: float | None) -> None:
    """Wait until WINDOWs are ready (default: every window with a ready probe).

    A window with a `ready:` probe is ready when the probe succeeds; one without
    when its process runs. Exit 0 when all are ready, 1 when one fails or times out.
    """
    wait_and_show(opts, list(windows) or None, timeout)


@click.command("_await", hidden=True)
def await_() -> int:
    """Wait for the dependencies in $DEVENV_AFTER (run inside a window, before its command).

    The runner's plain ``devenv _await`` goes to :func:`devenv.cli.fast.run_await` (no click);
    this is the same wait for a command line with global options."""
    import os

    from devenv.readiness.probes import OWN_LINE
    from devenv.readiness.waits import await_after

    def say(line: str) -> None:
        click.echo(f"{OWN_LINE}{line}")

    return await_after(os.environ.get("DEVENV_AFTER", ""), say)
