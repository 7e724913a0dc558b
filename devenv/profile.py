"""Profiles: find, load, merge ``extends``, validate into immutable records (NamedTuples: cheap to define, which
matters for start-up time).

Every error is a ``ProfileError`` naming the file, the line and the key.
Values are kept raw here (``${VAR}`` untouched): interpolation happens after
merging, in :mod:`devenv.envfiles`, against the layered environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from devenv.errors import ProfileError
from devenv.yamlsrc import Key, Source, dotted, parse, read_text

_EMPTY: Mapping[str, str] = MappingProxyType({})  # the shared empty mapping of immutable records
RestartPolicy = Literal["no", "on-failure", "always"]
ProbeKind = Literal["port", "http", "log", "command", "database"]
PROBE_KINDS: tuple[str, ...] = ("port", "http", "log", "command", "database")
DEFAULT_ENV_FILES = (".env", ".env.local")
DEFAULT_MAX_RESTARTS = 5
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LAYOUTS = ("even-horizontal", "even-vertical", "main-horizontal", "main-vertical", "tiled")


# --------------------------------------------------------------------------- model


class Probe(NamedTuple):
    """A readiness probe: ``{port: 3000}``, ``{http: URL}``, ``{log: REGEX}``, ..."""

    kind: ProbeKind
    target: str
    timeout: float = 60.0
    interval: float = 0.5

    def describe(self) -> str:
        return f"{self.kind} {self.target}"


class Pane(NamedTuple):
    command: str | None
    cwd: str | None = None
    env: Mapping[str, str] = _EMPTY


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

    @property
    def kind(self) -> str:
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
    origins: Mapping[str, Origin] = _EMPTY

    def window(self, name: str) -> Window | None:
        return next((w for w in self.windows if w.name == name), None)

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


# --------------------------------------------------------------------------- finding


def _close(word: str, candidates, n: int = 1) -> list[str]:
    """Did-you-mean suggestions (difflib is imported only when there is an error to report)."""
    import difflib

    return difflib.get_close_matches(word, list(candidates), n=n)


def shipped_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "profiles"
    return packaged if packaged.is_dir() else here.parent / "profiles"


def user_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "devenv"


def search_dirs(project: Path) -> list[tuple[str, Path]]:
    return [("project", project / ".devenv"), ("user", user_dir()), ("devenv", shipped_dir())]


def _candidates(name: str, project: Path) -> Iterable[tuple[str, Path]]:
    for where, folder in search_dirs(project):
        for ext in (".yaml", ".yml"):
            path = folder / f"{name}{ext}"
            if path.is_file():
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
    if user and _valid_name(user):
        for where, _ in _candidates(user, project):
            if where in ("project", "user"):
                return user
    return "default"


def _valid_name(name: str) -> bool:
    return bool(name) and "/" not in name and not name.startswith(".")


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
    if not _valid_name(name):
        raise ProfileError(f"invalid profile name {name!r}")
    path = find(name, project)
    if path is None:
        known = sorted({n for n, *_ in available(project)})
        hint = _close(name, known, n=1)
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
        raw = _validate(source)
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


# --------------------------------------------------------------------------- validation
#
# Each file is validated on its own (so errors point into the right file), into
# plain dicts holding only known keys; the chain is then merged and built.

TOP_KEYS = ("extends", "session", "root", "env_files", "env", "windows", "requires")
WINDOW_KEYS = ("name", "command", "cwd", "env", "enabled", "focus", "layout", "panes", "ready", "after",
               "restart", "max_restarts", "db", "logs")
PANE_KEYS = ("command", "cwd", "env")
PROBE_KEYS = PROBE_KINDS + ("timeout", "interval")
REQUIRES_KEYS = ("commands", "env", "ports", "files", "database", "checks")


def _unknown(src: Source, path: Key, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            close = _close(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(allowed)})"
            raise src.error(path + (key,), f"unknown key{hint}")


def _mapping(src: Source, path: Key, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise src.error(path, f"must be a mapping, not {_type(value)}")
    return value


def _list(src: Source, path: Key, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise src.error(path, f"must be a list, not {_type(value)}")
    return value


def _str(src: Source, path: Key, value: Any, *, empty: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise src.error(path, f"must be a string, not {_type(value)}")
    text = str(value)
    if not empty and not text.strip():
        raise src.error(path, "must not be empty")
    return text


def _bool(src: Source, path: Key, value: Any) -> bool:
    if not isinstance(value, bool):
        raise src.error(path, f"must be true or false, not {_type(value)}")
    return value


def _number(src: Source, path: Key, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise src.error(path, f"must be a number, not {_type(value)}")
    if positive and value <= 0:
        raise src.error(path, "must be greater than 0")
    return float(value)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _env(src: Source, path: Key, value: Any) -> dict[str, str]:
    data = _mapping(src, path, value)
    out = {}
    for key, val in data.items():
        if not ENV_NAME.match(key):
            raise src.error(path + (key,), "not a valid environment variable name")
        if val is None:
            val = ""
        if isinstance(val, bool):
            val = "true" if val else "false"
        val = _str(src, path + (key,), val, empty=True)
        if "\0" in val:
            raise src.error(path + (key,), "must not contain a NUL character")
        out[key] = val
    return out


def _name_text(src: Source, path: Key, value: Any, what: str) -> str:
    text = _str(src, path, value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise src.error(path, f"{what} must not contain control characters")
    return text


def _validate(src: Source) -> dict[str, Any]:
    data = src.data
    _unknown(src, (), data, TOP_KEYS)
    out: dict[str, Any] = {}
    if "extends" in data:
        name = _str(src, ("extends",), data["extends"])
        if not _valid_name(name):
            raise src.error(("extends",), f"invalid profile name {name!r}")
        out["extends"] = name
    if "session" in data:
        session = _name_text(src, ("session",), data["session"], "a session name")
        if any(c in session for c in ":."):
            raise src.error(("session",), "a tmux session name cannot contain ':' or '.'")
        out["session"] = session
    if "root" in data:
        out["root"] = _str(src, ("root",), data["root"])
    if "env_files" in data:
        files = data["env_files"]
        if isinstance(files, str):
            files = [files]
        out["env_files"] = tuple(_str(src, ("env_files", i), f) for i, f in enumerate(_list(src, ("env_files",), files)))
    if "env" in data:
        out["env"] = _env(src, ("env",), data["env"])
    if "requires" in data:
        out["requires"] = _requires(src, ("requires",), data["requires"])
    if "windows" in data:
        windows = _list(src, ("windows",), data["windows"])
        seen: dict[str, int] = {}
        out["windows"] = []
        for i, item in enumerate(windows):
            win = _window(src, ("windows", i), item)
            if win["name"] in seen:
                raise src.error(("windows", i, "name"),
                                f"duplicate window name {win['name']!r} (also windows[{seen[win['name']]}])")
            seen[win["name"]] = i
            out["windows"].append(win)
    return out


def _window(src: Source, path: Key, item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        raise src.error(path, "a window must be a mapping with at least a name (e.g. {name: web, command: ...})")
    data = _mapping(src, path, item)
    _unknown(src, path, data, WINDOW_KEYS)
    if "name" not in data:
        raise src.error(path, "a window needs a name")
    win: dict[str, Any] = {"name": _name_text(src, path + ("name",), data["name"], "a window name"),
                           "_path": path}
    for key in ("command", "cwd", "layout", "db"):
        if key in data and data[key] is not None:
            win[key] = _str(src, path + (key,), data[key])
    if "layout" in win and win["layout"] not in LAYOUTS and not re.match(r"^[0-9a-f]{4},", win["layout"]):
        close = _close(win["layout"], LAYOUTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (one of {', '.join(LAYOUTS)})"
        raise src.error(path + ("layout",), f"unknown layout {win['layout']!r}{hint}")
    if "env" in data:
        win["env"] = _env(src, path + ("env",), data["env"])
    for key in ("enabled", "focus"):
        if key in data:
            win[key] = _bool(src, path + (key,), data[key])
    if "panes" in data:
        panes = _list(src, path + ("panes",), data["panes"])
        if not panes:
            raise src.error(path + ("panes",), "must list at least one pane")
        win["panes"] = tuple(_pane(src, path + ("panes", i), p) for i, p in enumerate(panes))
    if "ready" in data:
        win["ready"] = _probe(src, path + ("ready",), data["ready"])
    if "after" in data:
        after = data["after"]
        if isinstance(after, str):
            after = [after]
        win["after"] = tuple(_str(src, path + ("after", i), a) for i, a in enumerate(_list(src, path + ("after",), after)))
    if "restart" in data:
        policy = data["restart"]
        if policy is False:
            policy = "no"
        if policy is True:
            policy = "always"
        if policy not in ("no", "on-failure", "always"):
            raise src.error(path + ("restart",), f"must be no, on-failure or always, not {policy!r}")
        win["restart"] = policy
    if "max_restarts" in data:
        value = data["max_restarts"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise src.error(path + ("max_restarts",), "must be a whole number >= 0")
        win["max_restarts"] = value
    if "logs" in data:
        logs = data["logs"]
        if isinstance(logs, str):
            logs = [logs]
        logs = _list(src, path + ("logs",), logs)
        if not logs:
            raise src.error(path + ("logs",), "must list at least one file or glob")
        win["logs"] = tuple(_str(src, path + ("logs", i), g) for i, g in enumerate(logs))
    kinds = [k for k in ("command", "panes", "db", "logs") if k in win]
    if len(kinds) > 1:
        raise src.error(path + (kinds[1],), f"a window has one of command, panes, db or logs; this one has {' and '.join(kinds)}")
    return win


def _pane(src: Source, path: Key, item: Any) -> Pane:
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return Pane(str(item))
    if item is None:
        return Pane(None)
    data = _mapping(src, path, item)
    _unknown(src, path, data, PANE_KEYS)
    command = _str(src, path + ("command",), data["command"]) if data.get("command") is not None else None
    cwd = _str(src, path + ("cwd",), data["cwd"]) if "cwd" in data else None
    env = _env(src, path + ("env",), data["env"]) if "env" in data else {}
    return Pane(command, cwd, env)


def _probe(src: Source, path: Key, item: Any) -> Probe:
    data = _mapping(src, path, item)
    _unknown(src, path, data, PROBE_KEYS)
    kinds = [k for k in PROBE_KINDS if k in data]
    if len(kinds) != 1:
        raise src.error(path, f"a probe needs exactly one of {', '.join(PROBE_KINDS)}")
    kind = kinds[0]
    target = _str(src, path + (kind,), data[kind])
    if kind == "port" and "${" not in target:
        if not target.isdigit() or not 0 < int(target) < 65536:
            raise src.error(path + (kind,), f"not a TCP port: {target!r}")
    if kind == "log":
        try:
            re.compile(target)
        except re.error as exc:
            raise src.error(path + (kind,), f"invalid regular expression: {exc}") from None
    timeout = _number(src, path + ("timeout",), data["timeout"]) if "timeout" in data else 60.0
    interval = _number(src, path + ("interval",), data["interval"]) if "interval" in data else 0.5
    return Probe(kind, target, timeout, interval)  # type: ignore[arg-type]


def _requires(src: Source, path: Key, item: Any) -> dict[str, Any]:
    data = _mapping(src, path, item)
    _unknown(src, path, data, REQUIRES_KEYS)
    out: dict[str, Any] = {}
    if "commands" in data:
        cmds = []
        for i, c in enumerate(_list(src, path + ("commands",), data["commands"])):
            text = _str(src, path + ("commands", i), c).strip()
            m = re.match(r"^([A-Za-z0-9_.+/-]+?)\s*((?:>=|<=|==|!=|>|<|~=)\s*[0-9][0-9A-Za-z.]*)?$", text)
            if not m:
                raise src.error(path + ("commands", i), f"expected a command with an optional version like 'node>=18', not {text!r}")
            cmds.append(CommandReq(m[1], m[2].replace(" ", "") if m[2] else None))
        out["commands"] = tuple(cmds)
    if "env" in data:
        names = []
        for i, n in enumerate(_list(src, path + ("env",), data["env"])):
            name = _str(src, path + ("env", i), n)
            if not ENV_NAME.match(name):
                raise src.error(path + ("env", i), f"not a valid environment variable name: {name!r}")
            names.append(name)
        out["env"] = tuple(names)
    if "ports" in data:
        ports = []
        for i, p in enumerate(_list(src, path + ("ports",), data["ports"])):
            if isinstance(p, str) and "${" in p:
                ports.append(p)  # checked once interpolated
                continue
            if isinstance(p, str) and p.strip().isdigit():
                p = int(p)
            if isinstance(p, bool) or not isinstance(p, int) or not 0 < p < 65536:
                raise src.error(path + ("ports", i), f"not a TCP port: {p!r}")
            ports.append(p)
        out["ports"] = tuple(ports)
    if "files" in data:
        files = []
        for i, f in enumerate(_list(src, path + ("files",), data["files"])):
            if isinstance(f, dict):
                _unknown(src, path + ("files", i), f, ("path", "hint"))
                if "path" not in f:
                    raise src.error(path + ("files", i), "needs a path")
                hint = _str(src, path + ("files", i, "hint"), f["hint"]) if "hint" in f else None
                files.append(FileReq(_str(src, path + ("files", i, "path"), f["path"]), hint))
            else:
                files.append(FileReq(_str(src, path + ("files", i), f)))
        out["files"] = tuple(files)
    if "database" in data:
        out["database"] = _str(src, path + ("database",), data["database"])
    if "checks" in data:
        checks = []
        for i, c in enumerate(_list(src, path + ("checks",), data["checks"])):
            cp = path + ("checks", i)
            c = _mapping(src, cp, c)
            _unknown(src, cp, c, ("name", "run", "hint"))
            for req in ("name", "run"):
                if req not in c:
                    raise src.error(cp, f"a check needs {req!r}")
            hint = _str(src, cp + ("hint",), c["hint"]) if "hint" in c else None
            checks.append(CustomCheck(_str(src, cp + ("name",), c["name"]), _str(src, cp + ("run",), c["run"]), hint))
        out["checks"] = tuple(checks)
    return out


# --------------------------------------------------------------------------- merge and build


def _build(chain: list[tuple[Source, dict[str, Any]]], project: Path, name: str) -> Profile:
    """Merge parent-first, child last, then check cross-references."""
    origins: dict[str, Origin] = {}
    env: dict[str, str] = {}
    scalars: dict[str, Any] = {}
    requires: dict[str, Any] = {}
    windows: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    win_src: dict[str, tuple[Source, Key]] = {}

    def note(src: Source, path: Key, key: str) -> None:
        origins[key] = Origin(src.file, src.line(path))

    for src, raw in reversed(chain):
        for key in ("session", "root", "env_files"):
            if key in raw:
                scalars[key] = raw[key]
                note(src, (key,), key)
        for key, value in raw.get("env", {}).items():
            env[key] = value
            note(src, ("env", key), f"env.{key}")
        for key, value in raw.get("requires", {}).items():
            requires[key] = value
            note(src, ("requires", key), f"requires.{key}")
        for win in raw.get("windows", []):
            wname = win["name"]
            path = win["_path"]
            if wname in windows:
                merged = windows[wname]
                for key, value in win.items():
                    if key == "env":
                        merged["env"] = {**merged.get("env", {}), **value}
                    elif key in ("command", "panes", "db", "logs"):
                        for other in ("command", "panes", "db", "logs"):
                            merged.pop(other, None)
                        merged[key] = value
                    else:
                        merged[key] = value
            else:
                windows[wname] = dict(win)
                order.append(wname)
            win_src[wname] = (src, path)
            for key in win:
                if key != "_path":
                    note(src, path + (key,), f"windows.{wname}.{key}")
            for key in win.get("env", {}):
                note(src, path + ("env", key), f"windows.{wname}.env.{key}")
            note(src, path, f"windows.{wname}")

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
        ))
        focus_seen = focus_seen or w.get("focus", False)

    profile = Profile(
        name=name,
        file=chain[0][0].file,
        chain=tuple(src.file for src, _ in chain),
        session=scalars.get("session") or default_session(project),
        root=scalars.get("root", "."),
        env_files=scalars.get("env_files", DEFAULT_ENV_FILES),
        env=env,
        windows=tuple(built),
        requires=Requires(**requires),
        origins=origins,
    )
    if not profile.windows:
        raise ProfileError("the profile has no windows", file=profile.file, key="windows")
    _check_after(profile)
    return profile


def default_session(project: Path) -> str:
    name = re.sub(r"[:.\s]", "_", project.name) or "devenv"
    return name


def _check_after(profile: Profile) -> None:
    names = {w.name for w in profile.windows}
    for w in profile.windows:
        for dep in w.after:
            if dep == w.name:
                raise profile.error(f"windows.{w.name}.after", "a window cannot wait for itself")
            if dep not in names:
                close = _close(dep, sorted(names), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise profile.error(f"windows.{w.name}.after", f"unknown window {dep!r}{hint}")
    # cycle detection, depth-first
    deps = {w.name: w.after for w in profile.windows}
    state: dict[str, int] = {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for dep in deps[name]:
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep] if dep in stack else [name, dep]
                raise profile.error(f"windows.{name}.after", "after cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, stack + [dep])
        state[name] = 2

    for w in profile.windows:
        if w.name not in state:
            visit(w.name, [w.name])


def to_dict(profile: Profile) -> dict[str, Any]:
    """The profile as plain data, in profile-file shape (for ``config`` and ``freeze``)."""
    out: dict[str, Any] = {"session": profile.session, "root": profile.root,
                           "env_files": list(profile.env_files)}
    if profile.env:
        out["env"] = dict(profile.env)
    req = profile.requires
    r: dict[str, Any] = {}
    if req.commands:
        r["commands"] = [str(c) for c in req.commands]
    if req.env:
        r["env"] = list(req.env)
    if req.ports:
        r["ports"] = list(req.ports)
    if req.files:
        r["files"] = [f.path if f.hint is None else {"path": f.path, "hint": f.hint} for f in req.files]
    if req.database:
        r["database"] = req.database
    if req.checks:
        r["checks"] = [{"name": c.name, "run": c.run, **({"hint": c.hint} if c.hint else {})} for c in req.checks]
    if r:
        out["requires"] = r
    out["windows"] = [window_to_dict(w) for w in profile.windows]
    return out


def window_to_dict(w: Window) -> dict[str, Any]:
    d: dict[str, Any] = {"name": w.name}
    if w.command is not None:
        d["command"] = w.command
    if w.panes:
        d["panes"] = [p.command if (p.cwd is None and not p.env) else
                      {k: v for k, v in (("command", p.command), ("cwd", p.cwd), ("env", dict(p.env))) if v}
                      for p in w.panes]
    if w.layout:
        d["layout"] = w.layout
    if w.db is not None:
        d["db"] = w.db
    if w.logs:
        d["logs"] = list(w.logs)
    if w.cwd:
        d["cwd"] = w.cwd
    if w.env:
        d["env"] = dict(w.env)
    if w.focus:
        d["focus"] = True
    if w.ready:
        probe: dict[str, Any] = {w.ready.kind: int(w.ready.target) if w.ready.target.isdigit() else w.ready.target}
        if w.ready.timeout != 60.0:
            probe["timeout"] = w.ready.timeout
        if w.ready.interval != 0.5:
            probe["interval"] = w.ready.interval
        d["ready"] = probe
    if w.after:
        d["after"] = list(w.after)
    if w.restart != "no":
        d["restart"] = w.restart
    if w.max_restarts != DEFAULT_MAX_RESTARTS:
        d["max_restarts"] = w.max_restarts
    return d


__all__ = ["Profile", "Window", "Pane", "Probe", "Requires", "CommandReq", "FileReq", "CustomCheck",
           "load", "load_file", "find", "available", "default_name", "to_dict", "dotted"]
