"""The watcher's work: what each window and task watches, what a batch of changes means, and doing it.

* **Targets** (:func:`targets`): each window or task with ``watch:`` (globs relative to its cwd,
  ``**`` at any depth, less ``watch_ignore`` and the default ignores), and the profile's env files.
* **Where to watch** (:func:`folders`): the folders the globs can match in, walked once with the
  ignored folders (node_modules, .git, ...) pruned, so that a project's dependencies cost no inotify
  watch; a folder that does not exist yet is watched for from its nearest existing parent.
* **Debouncing** (:class:`Debouncer`): a target acts once its files have been quiet for its
  ``watch_debounce``; what changes while it acts waits for the next round (one more restart).
* **Acting** (:class:`Actions`): a window restarts (its stop policy, then its command again, the
  reason printed in its pane); a task runs again and, once it succeeded, what is ``after:`` it
  restarts; a task that failed leaves them running and says so (its window, ``ps``, tmux's status
  line). A change of an env file restarts only the windows whose resolved environment changed
  (the drift rule of ``up``).

Imported by the watcher process only (:mod:`devenv.cli.watcher`), never on ``up``'s fast path.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from devenv.errors import DevenvError
from devenv.paths import SessionPaths
from devenv.profile import select
from devenv.profile.env import Resolved
from devenv.profile.model import WATCH_IGNORED_DIRS, WATCH_IGNORED_FILES, Pane
from devenv.session import records
from devenv.session.tmux import Tmux
from devenv.tuples import NamedTuple
from devenv.wait import wait_until

ENV_FILES = "__devenv_env"  # the target of the profile's env files
MAX_FOLDERS = 50_000  # a walk that finds more stops there (a glob over a huge tree)


# --------------------------------------------------------------------------- globs


def _translate(part: str) -> str:
    """One path component of a glob as a regular expression (``*``, ``?`` and ``[...]`` within it)."""
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = part.find("]", i + 2 if part[i + 1:i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = part[i + 1:end].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _is_glob(part: str) -> bool:
    return any(c in part for c in "*?[")


class Glob(NamedTuple):
    """One glob, made absolute: what it matches, the folder it starts at, whether it goes deeper."""

    text: str  # as written
    regex: re.Pattern[str]
    base: Path  # its literal folder: nothing outside can match
    deep: bool  # matches below ``base``'s own files (``**``, or folders in the glob)


def compile_glob(pattern: str, cwd: Path) -> Glob:
    """``pattern`` (relative to ``cwd``, or absolute) as a :class:`Glob`. A folder (``lib/`` or one that
    exists) means everything under it."""
    absolute = os.path.normpath(os.path.join(str(cwd), os.path.expanduser(pattern)))
    if pattern.endswith("/") or (not _is_glob(absolute) and os.path.isdir(absolute)):
        absolute = absolute.rstrip("/") + "/**"
    parts = absolute.split("/")[1:]
    literal: list[str] = []
    for part in parts:
        if _is_glob(part) or part == "**":
            break
        literal.append(part)
    rest = parts[len(literal):]
    if not rest:  # a file: its folder
        base, deep = Path("/", *literal[:-1]), False
    else:
        base, deep = Path("/", *literal), len(rest) > 1 or "**" in rest
    regex = "^"
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            regex += "(?:/[^/]+)+" if last else "(?:/[^/]+)*"  # last: anything under; else: any depth
        else:
            regex += "/" + _translate(part)
    return Glob(pattern, re.compile(regex + "$"), base, deep)


def ignored_name(path: str, base: Path) -> bool:
    """Whether ``path`` lies in an ignored folder under ``base`` or is an editor's temporary file."""
    rel = os.path.relpath(path, base)
    parts = rel.split(os.sep)
    if any(p in WATCH_IGNORED_DIRS for p in parts[:-1]):
        return True
    return any(fnmatch.fnmatchcase(parts[-1], pat) for pat in WATCH_IGNORED_FILES)


# --------------------------------------------------------------------------- targets


class Target(NamedTuple):
    name: str  # a window or task, or ENV_FILES
    cwd: Path
    globs: tuple[Glob, ...]
    ignores: tuple[Glob, ...]
    debounce: float
    task: bool = False

    def matches(self, path: str) -> bool:
        if self.name == ENV_FILES:
            return any(g.regex.match(path) for g in self.globs)
        for glob in self.globs:
            if glob.regex.match(path) and not ignored_name(path, glob.base):
                return not any(i.regex.match(path) for i in self.ignores)
        return False

    def shown(self, path: str) -> str:
        """A changed file as the user names it: relative to the cwd (or the full path, outside it)."""
        rel = os.path.relpath(path, self.cwd)
        return path if rel.startswith("..") else rel


def targets(resolved: Resolved) -> tuple[Target, ...]:
    """What is watched: each window and task with ``watch:``, then the env files (while anything is)."""
    profile = resolved.profile
    found: list[Target] = []
    for w in profile.windows:
        if not w.watch:
            continue
        cwd = resolved.pane_cwd(w, Pane(None))
        found.append(Target(w.name, cwd, tuple(compile_glob(g, cwd) for g in w.watch),
                            tuple(compile_glob(g, cwd) for g in w.watch_ignore), profile.debounce(w), w.task))
    if found and profile.env_files:
        globs = tuple(compile_glob(_escape(str(env_file(resolved, f))), resolved.project) for f in profile.env_files)
        found.append(Target(ENV_FILES, resolved.project, globs, (), profile.watch_debounce))
    return tuple(found)


def env_file(resolved: Resolved, name: str) -> Path:
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else resolved.project / path


def _escape(path: str) -> str:
    """A path as a glob matching only itself."""
    return re.sub(r"([*?\[])", r"[\1]", path)


def classify(found: Sequence[Target], paths: Iterable[str]) -> dict[str, set[str]]:
    """Changed paths by the target they concern (a path may concern several)."""
    out: dict[str, set[str]] = {}
    for path in paths:
        for target in found:
            if target.matches(path):
                out.setdefault(target.name, set()).add(path)
    return out


def folders(found: Sequence[Target]) -> tuple[str, ...]:
    """Every folder to watch (each on its own, not recursively): the globs' folders, walked below
    where a glob goes deeper, ignored folders pruned; a missing folder's nearest existing parent."""
    out: dict[str, None] = {}
    for target in found:
        for glob in target.globs:
            base = glob.base
            if not base.is_dir():
                probe = base
                while not probe.is_dir() and probe != probe.parent:
                    probe = probe.parent
                out[str(probe)] = None  # where it will appear: the watcher looks again then
                continue
            out[str(base)] = None
            if glob.deep:
                _walk(base, target, out)
    return tuple(out)


def _walk(base: Path, target: Target, out: dict[str, None]) -> None:
    for folder, dirs, _ in os.walk(base):
        dirs[:] = [d for d in dirs if d not in WATCH_IGNORED_DIRS
                   and not any(i.regex.match(os.path.join(folder, d)) for i in target.ignores)]
        out[folder] = None
        if len(out) >= MAX_FOLDERS:
            dirs[:] = []


# --------------------------------------------------------------------------- debouncing


class Debouncer:
    """Changes per target, each target due once it has been quiet for its debounce."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[set[str], float]] = {}

    def add(self, name: str, files: Iterable[str], now: float, quiet: float) -> None:
        known = self.pending.get(name, (set(), 0.0))[0]
        self.pending[name] = (known | set(files), now + quiet)

    def due(self, now: float) -> dict[str, set[str]]:
        ready = {n: files for n, (files, at) in self.pending.items() if at <= now}
        for name in ready:
            del self.pending[name]
        return ready

    def next_due(self) -> float | None:
        return min((at for _, at in self.pending.values()), default=None)


# --------------------------------------------------------------------------- acting


def changed(files: Iterable[str], target: Target | None, limit: int = 3) -> str:
    """``a.js changed``, ``a.js, b.js changed``, ``a.js, b.js, c.js and 2 more changed``."""
    names = sorted(target.shown(f) if target else f for f in files)
    text = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
    return f"{text} changed"


class Outcome(NamedTuple):
    """What one round did, for the log."""

    restarted: tuple[str, ...] = ()
    reran: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()  # tasks that failed (their dependents kept running)


Say = Callable[[str], None]


class Actions:
    """Restarting windows and rerunning tasks of one session, with a freshly resolved profile each time."""

    def __init__(self, tmux: Tmux, paths: SessionPaths, say: Say, task_timeout: float = 24 * 3600.0) -> None:
        self.tmux, self.paths, self.say, self.task_timeout = tmux, paths, say, task_timeout

    def act(self, resolved: Resolved, due: Mapping[str, set[str]], found: Sequence[Target]) -> Outcome:
        """Do what the changes of ``due`` (target -> files) call for."""
        profile = resolved.profile
        by_name = {t.name: t for t in found}
        live = self.tmux.session(profile.session)
        if live is None:
            return Outcome()
        present = set(live.windows())
        # a task reruns when it is part of the session (it ran, was skipped, or its window is there)
        tasks = [w.name for w in profile.windows if w.task and w.name in due
                 and (w.name in present or records.read_status(self.paths.prefix(w.name, 0)).word is not None)]
        # what follows a task that reruns waits for its result, and restarts with it
        following = set(select.dependents(profile, tasks))
        notices: dict[str, str] = {}
        for name, files in due.items():
            window = profile.window(name)
            if window is None or window.task or name not in present or name in following:
                continue
            notices[name] = f"restarting: {changed(files, by_name.get(name))}"
        if ENV_FILES in due:
            drifted = self.env_drift(resolved, present)
            if not drifted:
                self.say(f"{changed(due[ENV_FILES], by_name.get(ENV_FILES))}: no window's environment changed")
            for name, why in drifted.items():
                if name not in following:
                    what = changed(due[ENV_FILES], by_name.get(ENV_FILES))
                    notices.setdefault(name, f"restarting: {what} ({why})")
        restarted: list[str] = []
        if notices:
            restarted += self.restart(resolved, notices)
        reran, failed = [], []
        done: set[str] = set()
        for task in tasks:
            if task in done:
                continue  # a dependent of a task rerun before it: it ran again with it
            why = changed(due[task], by_name.get(task))
            ok = self.rerun(resolved, task, why)
            reran.append(task)
            if not ok:
                failed.append(task)
                continue
            after = self.followers(resolved, task)
            done |= set(after)
            if after:
                restarted += self.restart(resolved, {n: f"restarting: {task} ran again ({why})" for n in after})
        return Outcome(tuple(restarted), tuple(reran), tuple(failed))

    def env_drift(self, resolved: Resolved, present: set[str]) -> dict[str, str]:
        """The windows whose environment (as the env files and the profile define it) is not what they
        started with: window -> what changed (``env API_URL``)."""
        from devenv.ops.up import plan_context, read_definition
        from devenv.session import plan as planner

        ctx = plan_context(resolved, self.tmux)
        out: dict[str, str] = {}
        for w in resolved.profile.windows:
            if w.task or w.name not in present:
                continue
            old = read_definition(self.paths, w.name)
            if old is None:
                continue
            new = planner.definition(resolved, ctx, w)
            why = planner.drift({"env": old.get("env")}, {"env": new["env"]})
            if why:
                out[w.name] = why
        return out

    def restart(self, resolved: Resolved, notices: Mapping[str, str]) -> list[str]:
        from devenv.ops.restart import restart

        names = [w.name for w in resolved.profile.windows if w.name in notices]
        for name in names:
            self.say(f"{name}: {notices[name]}")
        try:
            restart(resolved, self.tmux, names, None, notices=notices, watched=True)
        except DevenvError as exc:
            self.say(f"could not restart {', '.join(names)}: {exc.message}")
            return []
        return names

    def rerun(self, resolved: Resolved, task: str, why: str) -> bool:
        """Run ``task`` again and wait for its end: True when it succeeded."""
        if not self.restart(resolved, {task: f"running again: {why}"}):
            return False
        prefix = self.paths.prefix(task, 0)

        def ended() -> records.Status | None:
            status = records.read_status(prefix)
            if status.word in (*records.TASK_SUCCESS, "failed", "exited"):
                return status
            if status.word == "running" and not status.alive:
                return records.Status("failed", "its process is gone")
            return None

        try:
            result = wait_until(ended, self.task_timeout, interval=0.05, max_interval=0.25)
        except TimeoutError:
            result = None
        status = result or records.Status("failed", f"still running after {self.task_timeout:g}s")
        if status.word in records.TASK_SUCCESS:
            self.say(f"{task}: done")
            return True
        self.say(f"{task}: {status}; what is after it keeps running")
        self.show_failure(resolved, task, str(status))
        return False

    def followers(self, resolved: Resolved, task: str) -> list[str]:
        """What is ``after:`` ``task`` (transitively) and belongs to the session: its windows, and the tasks
        that ran in it."""
        profile = resolved.profile
        live = self.tmux.session(profile.session)
        present = set(live.windows()) if live is not None else set()
        out = []
        for name in select.dependents(profile, [task]):
            window = profile.window(name)
            if window is None:
                continue
            ran = records.read_status(self.paths.prefix(name, 0)).word is not None
            if name in present or (window.task and ran):
                out.append(name)
        return out

    def show_failure(self, resolved: Resolved, task: str, status: str) -> None:
        """A failed rerun said in tmux's status line for a few seconds (the task's badge says it too:
        ✗ with its exit status, set by its runner)."""
        from devenv.session.plan import literal

        live = self.tmux.session(resolved.profile.session)
        if live is None:
            return
        text = f"devenv: task {task} {status}; what is after it keeps running"
        commands = [("display-message", "-d", "5000", "-t", live.target, literal(resolved.mask(text)))]
        try:
            self.tmux.apply(commands, session=live.target)
        except DevenvError:
            pass  # the message is a courtesy: the window and ps say it too
