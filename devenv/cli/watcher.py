"""The session's watcher, as a process: ``python -m devenv.cli.watcher`` (``up`` starts it; see
:mod:`devenv.session.watcher`). No click.

Everything comes from its environment (``DEVENV_PROJECT``, ``DEVENV_PROFILE``,
``DEVENV_TMUX_SOCKET``, and the mark that lets ``down`` and ``ps`` find it). It watches through
inotify (watchfiles' Rust notifier: no polling of files; asleep until something changes, bar a
look every few seconds at whether its session still exists), one folder at a time, ignored folders
never entered. A save by rename (vim, JetBrains' safe write) is a change of the folder's entry, so
it is seen like any other. Each round loads the profile again, so what restarts runs what the
profile says now. Its lines (one per action, timestamped) go to ``watcher.log`` in the state folder.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from devenv.cli.options import Options
from devenv.errors import DevenvError, render_internal
from devenv.errors import render as render_error
from devenv.ops import watch
from devenv.paths import SessionPaths
from devenv.session import watcher
from devenv.wait import Stopped, stopped_by

ALIVE_EVERY = 10.0  # seconds between looks at whether the session still exists
STEP_MS = 50  # quiet time that ends a burst of file events (the debounce comes on top)
ADDED, DELETED = 1, 3  # watchfiles' Change values


def say(line: str) -> None:
    sys.stdout.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    sys.stdout.flush()


class Notifier:
    """The inotify watches on a set of folders (each on its own), replaced when that set changes."""

    def __init__(self, folders: tuple[str, ...]) -> None:
        from watchfiles._rust_notify import RustNotify

        self._make = RustNotify
        self.polling = False  # inotify refused (its watch limit reached): the folders are polled instead
        self.folders = folders
        self.notify = self._open(folders)

    def _open(self, folders: tuple[str, ...]):  # type: ignore[no-untyped-def]
        for _ in range(3):
            try:  # (debug, force_polling, poll_delay_ms, recursive, ignore_permission_denied)
                return self._make(list(folders), False, self.polling, 500, False, True)
            except FileNotFoundError:  # one went away meanwhile: without it
                folders = tuple(f for f in folders if os.path.isdir(f))
            except OSError as exc:
                if self.polling:
                    raise
                say(f"inotify refused to watch {len(folders)} folders ({exc}): polling them every 0.5 s instead "
                    "(raise fs.inotify.max_user_watches, or watch fewer folders)")
                self.polling = True
        return self._make([f for f in folders if os.path.isdir(f)], False, self.polling, 500, False, True)

    def replace(self, folders: tuple[str, ...]) -> None:
        """Watch ``folders`` instead: the new watches first, so that no change falls between."""
        if folders == self.folders:
            return
        old, self.notify, self.folders = self.notify, self._open(folders), folders
        old.close()

    def wait(self, timeout: float) -> set[tuple[int, str]] | None:
        """Changes within ``timeout`` seconds (an empty set: none); None when a signal came."""
        raw = self.notify.watch(STEP_MS * 2, STEP_MS, max(1, int(timeout * 1000)), None)
        if raw == "signal":
            return None
        return raw if isinstance(raw, set) else set()


def needs_rescan(changes: set[tuple[int, str]], folders: tuple[str, ...]) -> bool:
    """A folder appeared (or a watched one went away): the folders to watch may be others now."""
    watched = set(folders)
    return any((kind == ADDED and os.path.isdir(path)) or (kind == DELETED and path in watched)
               for kind, path in changes)


def files_in(folders: set[str]) -> set[str]:
    """The files directly in ``folders`` (new ones: what was written there before they were watched)."""
    found: set[str] = set()
    for folder in folders:
        try:
            with os.scandir(folder) as entries:
                found.update(e.path for e in entries if e.is_file(follow_symlinks=False))
        except OSError:
            continue
    return found


def run(opts: Options) -> int:
    resolved = opts.resolved()
    tmux = opts.tmux
    paths = SessionPaths(tmux.name, resolved.profile.session)
    lock = watcher.hold_lock(paths)
    if lock is None:
        return 0  # another watcher serves this session
    digest = watcher.spec_digest(resolved)
    if digest is None:
        return 0
    found = watch.targets(resolved)
    notifier = Notifier(watch.folders(found))
    watcher.write_record(paths, digest)
    names = [t.name for t in found if t.name != watch.ENV_FILES]
    say(f"watching {', '.join(names)} ({len(notifier.folders)} folders)"
        + (f" and {', '.join(resolved.profile.env_files)}" if resolved.profile.env_files else ""))
    actions = watch.Actions(tmux, paths, say)
    by_name = {t.name: t for t in found}
    pending = watch.Debouncer()
    alive_at = time.monotonic() + ALIVE_EVERY
    while True:
        now = time.monotonic()
        due_at = pending.next_due()
        changes = notifier.wait(min(alive_at, due_at if due_at is not None else alive_at) - now)
        if changes is None:
            return 0
        now = time.monotonic()
        changed = {path for _, path in changes}
        if changes and needs_rescan(changes, notifier.folders):
            before = set(notifier.folders)
            notifier.replace(watch.folders(found))
            changed |= files_in(set(notifier.folders) - before)  # made before their folder was watched
        for name, files in watch.classify(found, changed).items():
            pending.add(name, files, now, by_name[name].debounce)
        due = pending.due(now)
        if due:
            act(opts, actions, due, found)
        if time.monotonic() >= alive_at:
            if not tmux.has_session(resolved.profile.session):
                say("the session is gone: stopping")
                return 0
            alive_at = time.monotonic() + ALIVE_EVERY


def act(opts: Options, actions: watch.Actions, due: dict[str, set[str]], found: tuple[watch.Target, ...]) -> None:
    """One round, with the profile as it is now (a profile that does not load: said, nothing done)."""
    fresh = Options(opts.project, opts.socket, opts.profile_name)
    try:
        resolved = fresh.resolved()
    except DevenvError as exc:
        say(f"not acting on {', '.join(sorted(due))}: {' '.join(render_error(exc))}")
        return
    try:
        actions.act(resolved, due, found)
    except DevenvError as exc:
        say(resolved.mask(" ".join(render_error(exc))))
    except Exception as exc:  # a bug must not end the watching: said, and the next change is acted on
        say(resolved.mask(render_internal(exc)))


def main() -> int:
    opts = Options.create(None, None, os.environ.get("DEVENV_PROFILE") or None)
    try:
        with stopped_by(signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            return run(opts)
    except Stopped:
        return 0
    except DevenvError as exc:
        say(" ".join(render_error(exc)))
        return exc.exit_code
    except OSError as exc:
        say(f"error: cannot watch: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
