"""Profiles: find them, load them, merge their ``extends`` chain, build the immutable records.

The records live in :mod:`devenv.profile.model`, the per-file validation in
:mod:`devenv.profile.validate`. Every error is a ``ProfileError`` naming the
file, the line and the key. Values are kept raw here (``${VAR}`` untouched):
interpolation happens after merging, in :mod:`devenv.profile.env`, against the
layered environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from devenv.errors import ProfileError
from devenv.paths import config_home
from devenv.profile.model import (
    BUILD_PREFIX,
    DEFAULT_ENV_FILES,
    DEFAULT_MAX_RESTARTS,
    DEFAULT_WATCH_DEBOUNCE,
    Hooks,
    Origin,
    Profile,
    Requires,
    Window,
)
from devenv.profile.validate import close_matches, valid_profile_name, validate
from devenv.profile.yamlsrc import Key, Source, parse, read_text
from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

# --------------------------------------------------------------------------- finding


def shipped_dir() -> Path:
    """devenv's own profiles: installed as ``devenv/shipped_profiles``, the repository's ``profiles/`` in a checkout."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "shipped_profiles"
    return installed if installed.is_dir() else package.parent / "profiles"


def search_dirs(project: Path) -> list[tuple[str, Path]]:
    return [("project", project / ".devenv"), ("user", config_home()), ("devenv", shipped_dir())]


def _candidates(name: str, project: Path) -> Iterable[tuple[str, Path]]:
    """Every ``name.yaml``/``name.yml`` that exists, first match first. Whatever the path is (a folder,
    a FIFO, a link to nothing), it is the profile: reading it says what is wrong, never a fallback."""
    for where, folder in search_dirs(project):
        for ext in (".yaml", ".yml"):
            path = folder / f"{name}{ext}"
            if os.path.lexists(path):
                yield where, path


def find(name: str, project: Path, skip: Iterable[Path] = ()) -> Path | None:
    skipped = {p.resolve() for p in skip}
    for _, path in _candidates(name, project):
        if path.resolve() not in skipped:
            return path
    return None


def default_name(project: Path, explicit: str | None = None) -> str:
    """``-p``, else ``$DEVENV_PROFILE``, else ``$USER`` when such a profile exists here, else default."""
    if explicit:
        return explicit
    if os.environ.get("DEVENV_PROFILE"):
        return os.environ["DEVENV_PROFILE"]
    user = os.environ.get("USER") or os.environ.get("LOGNAME")
    if user and valid_profile_name(user):
        for where, _ in _candidates(user, project):
            if where in ("project", "user"):
                return user
    return "default"


def available(project: Path) -> list[tuple[str, str, Path, bool]]:
    """Every profile found: (name, where, path, shadowed by an earlier one)."""
    seen: set[str] = set()
    found = []
    for where, folder in search_dirs(project):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                found.append((path.stem, where, path, path.stem in seen))
                seen.add(path.stem)
    return found


def load(project: Path, name: str | None = None) -> Profile:
    """Find profile ``name`` (see :func:`default_name`), merge its ``extends`` chain, validate."""
    project = project.resolve()
    name = default_name(project, name)
    if not valid_profile_name(name):
        raise ProfileError(f"invalid profile name {name!r}")
    path = find(name, project)
    if path is None:
        known = sorted({n for n, *_ in available(project)})
        hint = close_matches(name, known, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else (f"; found: {', '.join(known)}" if known else "")
        dirs = ", ".join(str(d) for _, d in search_dirs(project))
        raise ProfileError(f"profile {name!r} not found in {dirs}{extra}")
    return load_file(path, project, name)


def load_file(path: Path, project: Path, name: str | None = None) -> Profile:
    """Load the profile in ``path`` (following ``extends``) for ``project``."""
    project = project.resolve()
    chain: list[tuple[Source, dict[str, Any]]] = []
    current: Path | None = path
    names: list[str] = [name or path.stem]
    while current is not None:
        source = _read(current)
        raw = validate(source)
        chain.append((source, raw))
        parent = raw.get("extends")
        if parent is None:
            break
        names.append(parent)
        # A profile extending its own name means the next one of that name
        # (a project default.yaml may extend the user's or devenv's default).
        current = find(parent, project, skip=[source.file])
        if current is None:
            raise source.error(("extends",), f"profile {parent!r} not found")
        if current.resolve() in {s.file.resolve() for s, _ in chain}:
            raise source.error(("extends",), "extends cycle: " + " -> ".join(names))
    return _build(chain, project, names[0])


def _read(path: Path) -> Source:
    source = parse(read_text(path), path)
    if source.data is None:
        source.data = {}
    if not isinstance(source.data, dict):
        raise source.error((), "a profile must be a mapping of keys (session, env, windows, ...)")
    return source


# --------------------------------------------------------------------------- merge and build


def _build(chain: list[tuple[Source, dict[str, Any]]], project: Path, name: str) -> Profile:
    """Merge parent-first, child last, then check cross-references."""
    origins: dict[str, Origin] = {}
    env: dict[str, str] = {}
    scalars: dict[str, Any] = {}
    requires: dict[str, Any] = {}
    hooks: dict[str, tuple[str, ...]] = {}
    options: dict[str, str] = {}
    windows: dict[str, dict[str, Any]] = {}  # windows and tasks: one name space
    order: list[str] = []
    win_src: dict[str, tuple[Source, Key]] = {}

    def note(src: Source, path: Key, key: str) -> None:
        origins[key] = Origin(src.file, src.line(path))

    for src, raw in reversed(chain):
        for key in ("session", "root", "env_files", "status", "watch_debounce"):
            if key in raw:
                scalars[key] = raw[key]
                note(src, (key,), key)
        for key, value in raw.get("env", {}).items():
            env[key] = value
            note(src, ("env", key), f"env.{key}")
        for key, value in raw.get("requires", {}).items():
            requires[key] = value
            note(src, ("requires", key), f"requires.{key}")
        for key, value in raw.get("hooks", {}).items():
            hooks[key] = value
            note(src, ("hooks", key), f"hooks.{key}")
        for key, value in raw.get("options", {}).items():
            options[key] = value
            note(src, ("options", key), f"options.{key}")
        for win in [*raw.get("windows", []), *raw.get("tasks", [])]:
            wname = win["name"]
            path = win["_path"]
            section = "tasks" if win.get("task") else "windows"
            if wname in windows and bool(windows[wname].get("task")) != bool(win.get("task")):
                raise src.error(path + ("name",), f"{wname!r} is a {'window' if win.get('task') else 'task'} in "
                                f"{windows[wname]['_file']}: a child profile cannot turn one into the other")
            if wname in windows:
                merged = windows[wname]
                for key, value in win.items():
                    if key in ("env", "options"):
                        merged[key] = {**merged.get(key, {}), **value}
                    elif key in ("command", "panes", "db", "logs"):
                        for other in ("command", "panes", "db", "logs"):
                            merged.pop(other, None)
                        merged[key] = value
                    else:
                        merged[key] = value
            else:
                windows[wname] = {**win, "_file": src.file}
                order.append(wname)
            win_src[wname] = (src, path)
            for key in win:
                if key != "_path":
                    note(src, path + (key,), f"{section}.{wname}.{key}")
            for sub in ("env", "options"):
                for key in win.get(sub, {}):
                    note(src, path + (sub, key), f"{section}.{wname}.{sub}.{key}")
            note(src, path, f"{section}.{wname}")

    built: list[Window] = []
    focus_seen = False
    for wname in order:
        w = windows[wname]
        if not w.get("enabled", True):
            continue
        built.append(Window(
            name=wname, command=w.get("command"), cwd=w.get("cwd"), env=w.get("env", {}),
            focus=w.get("focus", False), layout=w.get("layout"), panes=w.get("panes", ()),
            ready=w.get("ready"), after=w.get("after", ()), restart=w.get("restart", "no"),
            max_restarts=w.get("max_restarts", DEFAULT_MAX_RESTARTS), db=w.get("db"), logs=w.get("logs", ()),
            db_pool=w.get("db_pool"), stop=w.get("stop"), task=w.get("task", False), inputs=w.get("inputs", ()),
            options=w.get("options", {}), interactive=w.get("interactive", False),
            watch=w.get("watch", ()), watch_ignore=w.get("watch_ignore", ()), watch_debounce=w.get("watch_debounce"),
        ))
        focus_seen = focus_seen or w.get("focus", False)

    profile = Profile(
        name=name,
        file=chain[0][0].file,
        chain=tuple(src.file for src, _ in chain),
        session=scalars.get("session") or default_session(project),
        root=scalars.get("root", "."),
        env_files=scalars.get("env_files", DEFAULT_ENV_FILES),
        status=scalars.get("status", True),
        env=env,
        windows=tuple(w for w in built if not w.task) + tuple(w for w in built if w.task),  # tasks last
        requires=Requires(**requires),
        origins=origins,
        hooks=Hooks(**hooks),
        options=options,
        watch_debounce=scalars.get("watch_debounce", DEFAULT_WATCH_DEBOUNCE),
    )
    if not any(not w.task for w in profile.windows):
        raise ProfileError("the profile has no windows", file=profile.file, key="windows")
    _check_after(profile)
    return profile


def default_session(project: Path) -> str:
    """The project folder's name, with what tmux would rewrite in a session name made ``_``."""
    name = re.sub(r"[:.$\\\s]", "_", project.name) or "devenv"
    return "_" + name if name.startswith(BUILD_PREFIX) else name


def _check_after(profile: Profile) -> None:
    names = {w.name for w in profile.windows}
    for w in profile.windows:
        for dep in w.after:
            if dep == w.name:
                raise profile.error(f"{w.key}.after", f"a {'task' if w.task else 'window'} cannot wait for itself")
            if dep not in names:
                close = close_matches(dep, sorted(names), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise profile.error(f"{w.key}.after", f"unknown window {dep!r}{hint}")
    # cycle detection, depth-first
    deps = {w.name: w.after for w in profile.windows}
    keys = {w.name: w.key for w in profile.windows}
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for dep in deps[name]:
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep] if dep in stack else [name, dep]
                raise profile.error(f"{keys[name]}.after", "after cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, stack + [dep])
        state[name] = 2

    for w in profile.windows:
        if w.name not in state:
            visit(w.name, [w.name])
