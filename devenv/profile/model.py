"""The profile's records: immutable (NamedTuples: cheap to define, which matters for start-up time).

Built by :mod:`devenv.profile.load` from validated YAML; values are raw (``${VAR}`` untouched)
until :mod:`devenv.profile.env` resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from devenv.errors import ProfileError
from devenv.tuples import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Literal

    RestartPolicy = Literal["no", "on-failure", "always"]
    ProbeKind = Literal["port", "http", "log", "command", "database"]

_EMPTY: Mapping[str, str] = MappingProxyType({})  # the shared empty mapping of immutable records
_NO_ORIGINS: Mapping[str, Origin] = MappingProxyType({})
PROBE_KINDS: tuple[str, ...] = ("port", "http", "log", "command", "database")
DEFAULT_ENV_FILES = (".env", ".env.local")
DEFAULT_MAX_RESTARTS = 5
BUILD_PREFIX = "__devenv_"  # the temporary name of a session being built (never a profile's)
LAYOUTS = ("even-horizontal", "even-vertical", "main-horizontal", "main-vertical", "tiled")
DEFAULT_WATCH_DEBOUNCE = 0.3  # seconds of quiet after a change before a watched window restarts
# never watched, under a watched folder (a glob's own folder, named in it, still is): dependencies, VCS,
# build output and caches (folders), editors' temporary files (names)
WATCH_IGNORED_DIRS = frozenset({"node_modules", ".git", ".hg", ".svn", ".next", ".nuxt", ".svelte-kit", ".turbo",
                                ".cache", ".parcel-cache", ".vite", ".devenv", "__pycache__", ".venv", "venv",
                                ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", "dist", "build", "out",
                                "coverage", ".idea", ".vscode", ".terraform"})
WATCH_IGNORED_FILES = ("*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913", "*___jb_tmp___", "*___jb_old___",
                       ".DS_Store", "*.pyc", "*.tmp")


# --------------------------------------------------------------------------- model


class Probe(NamedTuple):
    """A readiness probe: ``{port: 3000}``, ``{http: URL}``, ``{log: REGEX}``, ..."""

    kind: ProbeKind
    target: str
    timeout: float = 60.0
    interval: float = 0.5


class Pane(NamedTuple):
    """One pane. ``command`` written as a list of lines is kept as those lines joined by newlines."""

    command: str | None
    cwd: str | None = None
    env: Mapping[str, str] = _EMPTY
    focus: bool = False  # the window's active pane
    title: str | None = None  # shown in the pane's border (pane-border-status, for this session only)
    interactive: bool | None = None  # None: the window's

    @property
    def lines(self) -> tuple[str, ...]:
        """The command's lines (typed one by one into an interactive pane)."""
        return () if self.command is None else tuple(self.command.split("\n"))


class StopSpec(NamedTuple):
    """How a window stops: a signal or a command first, then SIGKILL after ``timeout`` seconds."""

    signal: str | None = None  # INT | TERM | HUP | QUIT | KILL
    timeout: float | None = None  # None: the default (10 s; down --timeout overrides)
    command: str | None = None  # run (window env and cwd) instead of a signal


class Hooks(NamedTuple):
    """Shell commands run around the session (``sh -c``, in the profile's root, in order)."""

    before_up: tuple[str, ...] = ()  # run in order before up starts anything; the first failure aborts up
    after_down: tuple[str, ...] = ()  # run once every process of the session has stopped


class Window(NamedTuple):
    name: str
    command: str | None = None
    cwd: str | None = None
    env: Mapping[str, str] = _EMPTY
    focus: bool = False
    layout: str | None = None
    panes: tuple[Pane, ...] = ()
    ready: Probe | None = None
    after: tuple[str, ...] = ()
    restart: RestartPolicy = "no"
    max_restarts: int = DEFAULT_MAX_RESTARTS
    db: str | None = None
    logs: tuple[str, ...] = ()
    db_pool: str | None = None  # connections each pane opens: digits, or "${VAR}" until resolved
    stop: StopSpec | None = None
    task: bool = False  # a one-shot step (profile `tasks:`): done when it exits 0, never restarted
    inputs: tuple[str, ...] = ()  # a task's input globs: unchanged since its last success, it is skipped
    # tmux options set on this window only (after the session's own window options), name -> value
    options: Mapping[str, str] = _EMPTY
    # the panes run the user's interactive login shell, which runs the command's lines as if typed
    # and stays at its prompt (a pane's own ``interactive`` wins)
    interactive: bool = False
    # restart the window (rerun the task) when files matching these globs change (relative to its cwd)
    watch: tuple[str, ...] = ()
    watch_ignore: tuple[str, ...] = ()  # globs (relative to its cwd) whose changes never count
    watch_debounce: float | None = None  # seconds of quiet before acting; None: the profile's

    @property
    def layout_given(self) -> bool:
        """Whether the profile names a layout; without one, the panes are split as tmux splits them by
        default (each new pane halves the one before it, as tmuxp leaves them)."""
        return self.layout is not None

    def pane_interactive(self, pane: Pane) -> bool:
        return self.interactive if pane.interactive is None else pane.interactive

    @property
    def focus_pane(self) -> int | None:
        """The index of the pane with ``focus: true`` (None: the first pane stays active)."""
        return next((i for i, p in enumerate(self.panes) if p.focus), None)

    @property
    def pool_size(self) -> int | None:
        """``db_pool`` as a number (resolved profiles only); None when not set."""
        return int(self.db_pool) if self.db_pool is not None and self.db_pool.isascii() and self.db_pool.isdigit() else None

    @property
    def key(self) -> str:
        """Its key path in the profile, for messages: ``windows.web`` or ``tasks.migrate``."""
        return f"{'tasks' if self.task else 'windows'}.{self.name}"

    @property
    def kind(self) -> str:
        if self.task:
            return "task"
        if self.db is not None:
            return "db"
        if self.logs:
            return "logs"
        if self.panes:
            return "panes"
        return "command"

    def pane_specs(self) -> tuple[Pane, ...]:
        """The panes of this window; a single-command window has one."""
        if self.panes:
            return self.panes
        return (Pane(self.command, None, {}),)


class CommandReq(NamedTuple):
    name: str
    constraint: str | None = None  # e.g. ">=18"

    def __str__(self) -> str:
        return self.name + (self.constraint or "")


class FileReq(NamedTuple):
    path: str
    hint: str | None = None


class CustomCheck(NamedTuple):
    name: str
    run: str
    hint: str | None = None


class Requires(NamedTuple):
    commands: tuple[CommandReq, ...] = ()
    env: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()  # may hold "${VAR}" strings until resolved
    files: tuple[FileReq, ...] = ()
    database: str | None = None
    checks: tuple[CustomCheck, ...] = ()


HOOK_KEYS = ("before_up", "after_down")


class Origin(NamedTuple):
    file: Path
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


class Profile(NamedTuple):
    name: str
    file: Path
    chain: tuple[Path, ...]  # the file and every file it extends, child first
    session: str
    root: str
    env_files: tuple[str, ...]
    env: Mapping[str, str]
    windows: tuple[Window, ...]
    requires: Requires
    origins: Mapping[str, Origin] = _NO_ORIGINS
    hooks: Hooks = Hooks()
    # tmux options set on this session only (session options on it, window options on each of its
    # windows), name -> value: never globally
    options: Mapping[str, str] = _EMPTY
    status: bool = True  # each window's state as a badge in tmux's status line (this session only)
    watch_debounce: float = DEFAULT_WATCH_DEBOUNCE  # the default of every window's and task's watch_debounce

    @property
    def tasks(self) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if w.task)

    def window(self, name: str) -> Window | None:
        return next((w for w in self.windows if w.name == name), None)

    @property
    def watches(self) -> bool:
        """Whether a window or task has ``watch:``: the session then has a watcher."""
        return any(w.watch for w in self.windows)

    def debounce(self, window: Window) -> float:
        return self.watch_debounce if window.watch_debounce is None else window.watch_debounce

    def origin(self, key: str) -> Origin:
        """Where ``key`` (a dotted path like ``windows.api.env.PORT``) was written."""
        probe = key
        while probe:
            if probe in self.origins:
                return self.origins[probe]
            probe = probe.rpartition(".")[0]
        return Origin(self.file, None)

    def error(self, key: str, message: str) -> ProfileError:
        origin = self.origin(key)
        return ProfileError(message, file=origin.file, line=origin.line, key=key)
