"""The command line: parse, call one core function, render. The only layer that prints or imports click.

:func:`main` sends a plain ``devenv [-C DIR] [-L SOCK] [-p NAME] up [-d] [--no-check]``,
``down [--timeout S]`` or ``restart WINDOW... [--with-dependents] [--timeout S]`` to the
click-free fast path (:mod:`devenv.cli.fast`), as it does the runner's ``_await``, and every
other command line to the click CLI (:mod:`devenv.cli.app`). Both report errors through :func:`devenv.cli.guard.guarded`.
This module imports nothing heavy: the fast path starts here.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """The ``devenv`` console script."""
    from devenv.cli.fast import parse_fast, run_fast

    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["_ready"]:  # the runner's, in the background of a pane: no click
        from devenv.cli.fast import run_ready

        run_ready()
    if args == ["_await"]:  # the pane runner's wait for `after:` (one per waiting window, all at once)
        from devenv.cli.fast import run_await

        run_await()
    fast = parse_fast(args)
    if fast is None:
        from devenv.cli.app import main as click_main

        click_main(args)
        return
    run_fast(fast)
