"""The one place where errors become what the user sees: lines on stderr and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from devenv.errors import DevenvError, render, render_internal


class ReaderGone(Exception):
    """The reader of stdout went away (``devenv config | head -1``): not an error."""


def quiet_stdout() -> None:
    """The reader of stdout went away: say nothing more, and no error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def guarded(run: Callable[[], int]) -> int:
    """Run a command; turn every error into lines on stderr and an exit code. Never a traceback."""
    try:
        return run()
    except DevenvError as exc:
        sys.stderr.write("".join(line + "\n" for line in render(exc)))
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except (BrokenPipeError, ReaderGone):  # `devenv config | head -1`: the reader is done, which is no error
        quiet_stdout()
        return 0
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("DEVENV_DEBUG"):
            raise
        sys.stderr.write(render_internal(exc) + "\n")
        return 1
