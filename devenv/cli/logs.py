"""``logs``: show or follow window output and log files (see :mod:`devenv.logs`)."""

from __future__ import annotations

import re
import select
import signal
import sys
from collections.abc import Callable

import click

from devenv.cli.completion import complete_windows
from devenv.cli.guard import quiet_stdout
from devenv.cli.options import Options
from devenv.cli.render import Printer, use_color
from devenv.errors import DevenvError, ProfileError, UsageError
from devenv.logs import Follower, follow, glob_source, sources_for
from devenv.paths import SessionPaths
from devenv.secrets import mask_url
from devenv.tuples import TYPE_CHECKING
from devenv.wait import Stopped
from devenv.wait import sleep as pause

if TYPE_CHECKING:
    from devenv.cli.render import Printer
    from devenv.logs import Follower, Line, LogSource


class _Lines(click.ParamType):  # type: ignore[type-arg]
    name = "N"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, int) or value is None:
            return value
        if str(value).lower() == "all":
            return None
        if str(value).isdigit():
            return int(value)
        self.fail(f"{value!r} is not a number of lines (or 'all')", param, ctx)


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...", shell_complete=complete_windows)
@click.option("-f", "--follow", is_flag=True, help="Keep following: new lines, new files, truncation, rotation.")
@click.option("-n", "--lines", type=_Lines(), default="10", show_default=True,
              help="Show the last N lines of each file first ('all': everything).")
@click.option("--grep", metavar="REGEX", help="Only lines matching REGEX (Python syntax).")
@click.option("--no-prefix", is_flag=True, help="Do not prefix lines with their source.")
@click.pass_obj
def logs(opts: Options, sources: tuple[str, ...], follow: bool, lines: int | None, grep: str | None,
         no_prefix: bool) -> int:
    """Show window output and log files; SOURCE is a window name or a file glob.

    Without SOURCE: the captured output of every window (the files of `logs:`
    windows). Globs are relative to the profile root. Reads files only: works
    without a running session, after `down` or a crash.
    """
    pattern = _compile(grep)
    found, mask, hint = _sources(opts, sources)
    follower = Follower(found, lines=lines, grep=pattern)
    printer = Printer(sys.stdout, prefix=not no_prefix, color=use_color(sys.stdout), mask=mask)
    try:
        if follow:
            return _follow(follower, printer)
        return _show(follower, printer, explicit=bool(sources), hint=hint)
    except BrokenPipeError:
        quiet_stdout()
        return 0
    finally:
        follower.close()


def _compile(grep: str | None) -> re.Pattern[str] | None:
    if grep is None:
        return None
    try:
        return re.compile(grep)
    except re.error as exc:
        raise UsageError(f"invalid --grep regular expression {grep!r}: {exc}") from None


def _sources(opts: Options, names: tuple[str, ...]) -> tuple[list[LogSource], Callable[[str], str], str]:
    """What to follow (see :func:`devenv.logs.sources_for`), the masker, and a hint naming the windows.

    Without a loadable profile, every name is a glob relative to the project.
    """
    try:
        profile = opts.profile()
    except ProfileError as exc:
        if not names:
            raise
        return [glob_source(n, opts.project) for n in names], mask_url, f"the profile could not be loaded: {exc}"
    try:
        resolved = opts.resolved()
        root, mask = resolved.root, resolved.mask
    except ProfileError:
        root, mask = opts.project, mask_url
    found = sources_for(profile, root, SessionPaths(opts.tmux.name, profile.session), names, opts.project)
    windows = ", ".join(w.name for w in profile.windows)
    return found, mask, f"windows of profile {profile.name!r}: {windows}"


def _show(follower: Follower, printer: Printer, *, explicit: bool, hint: str) -> int:
    batch = follower.initial(include_partial=True)
    missing = follower.sources_without_files()
    messages = [f"no output captured for window {s.name!r} yet" if s.window else f"no file matches {s.name!r}"
                for s in missing]
    if explicit and len(missing) == len(follower.sources):
        globs = any(not s.window for s in missing)
        raise DevenvError("; ".join(messages), hint=hint if globs else "start the session with: devenv up")
    _notes(follower)
    for message in messages:
        _note(message)
    if batch:
        printer(batch)
    return 0


def _follow(follower: Follower, printer: Printer) -> int:

    state = {"stopped": False, "sleeping": False}

    def on_signal(signum: int, frame: object) -> None:
        state["stopped"] = True
        if state["sleeping"]:
            raise Stopped

    def sleep(seconds: float) -> None:

        if _reader_gone():
            state["stopped"] = True  # `devenv logs -f | head`: head is done
            return
        state["sleeping"] = True
        try:
            if not state["stopped"]:
                pause(seconds)
        finally:
            state["sleeping"] = False

    def emit(batch: list[Line]) -> None:
        printer(batch)
        _notes(follower)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        batch = follower.initial()
        for source in follower.sources_without_files():
            _note(f"waiting for output of window {source.name!r}" if source.window
                  else f"waiting for files matching {source.name!r}")
        if batch:
            emit(batch)
        follow(follower, emit, stop=lambda: state["stopped"], sleep=sleep)
    except Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _notes(follower: Follower) -> None:
    for note in follower.notes:
        _note(note)
    follower.notes.clear()


def _note(text: str) -> None:
    click.echo(f"devenv logs: {text}", err=True)


def _reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it (checked while idle)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)  # only errors and hang-ups are reported
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, ValueError, OSError):
        return False
