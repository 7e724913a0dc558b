"""The ``devenv`` entry point.

The everyday ``devenv [-C DIR] [-L SOCK] [-p NAME] up [-d] [--no-check]`` runs
without importing click (about 100 ms of start-up on a small machine: most of
what `up` costs); every other command line goes to the click CLI in
:mod:`devenv.cli`, which parses it fully. Both call the same core
(:func:`devenv.upflow.run_up`) and report errors the same way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from devenv.errors import DevenvError

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


def show(exc: DevenvError) -> None:
    from devenv.secrets import mask_url

    sys.stderr.write(f"error: {mask_url(exc.format_message())}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")


def guarded(run: Callable[[], int]) -> int:
    """Run a command; turn every error into one line on stderr and an exit code. Never a traceback."""
    try:
        return run()
    except DevenvError as exc:
        show(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 1
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("DEVENV_DEBUG"):
            raise
        from devenv.secrets import mask_url

        sys.stderr.write(f"error: internal error: {type(exc).__name__}: {mask_url(str(exc))} "
                         "(run with DEVENV_DEBUG=1 for the traceback)\n")
        return 1


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    fast = parse_fast(args)
    if fast is None:
        from devenv.cli import main as click_main

        click_main(args)
        return
    glob, flags = fast

    def run() -> int:
        from devenv.context import Options
        from devenv.upflow import run_up

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


if __name__ == "__main__":
    main()
