"""``wait`` and the hidden ``_await`` (run by the pane runner for windows with ``after:``)."""

from __future__ import annotations

import click

from devenv.completion import complete_windows
from devenv.context import Options


@click.command()
@click.argument("windows", nargs=-1, metavar="[WINDOW]...", shell_complete=complete_windows)
@click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="S",
              help="Give up after S seconds (default: each window's probe timeout).")
@click.pass_obj
def wait(opts: Options, windows: tuple[str, ...], timeout: float | None) -> int:
    """Wait until WINDOWs are ready (default: every window with a ready probe).

    A window with a `ready:` probe is ready when the probe succeeds; one without
    when its process runs. Exit 0 when all are ready, 1 when one fails or times out.
    """
    from devenv.ready import wait_for_windows

    ok = wait_for_windows(opts, opts.resolved(), list(windows) or None, timeout)
    return 0 if ok else 1


@click.command("_await", hidden=True)
def await_() -> int:
    """Wait for the dependencies in $DEVENV_AFTER (run inside a window, before its command)."""
    import os
    import sys

    from devenv.ready import await_after

    return await_after(os.environ.get("DEVENV_AFTER", ""), sys.stdout)
