"""Validation of one profile file: YAML data -> plain dicts holding only known keys.

Each file of an ``extends`` chain is validated on its own, so that every error
points into the right file and line; :mod:`devenv.profile.load` then merges them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from devenv.names import ENV_NAME
from devenv.profile import tmuxopts
from devenv.profile.model import (
    BUILD_PREFIX,
    HOOK_KEYS,
    LAYOUTS,
    PROBE_KINDS,
    CommandReq,
    CustomCheck,
    FileReq,
    Pane,
    Probe,
    StopSpec,
)
from devenv.profile.yamlsrc import Key, Source
from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def valid_profile_name(name: str) -> bool:
    return bool(name) and "/" not in name and not name.startswith(".")


def close_matches(word: str, candidates: Iterable[str], n: int = 1) -> list[str]:
    """Did-you-mean suggestions (difflib is imported only when there is an error to report)."""
    import difflib

    return difflib.get_close_matches(word, list(candidates), n=n)


SESSION_REWRITES = frozenset(":.$\\")  # tmux stores ':' and '.' as '_', '$' as '\\$', '\\' as '\\\\'
TOP_KEYS = ("extends", "session", "root", "env_files", "env", "windows", "tasks", "requires", "hooks", "options",
            "status", "watch_debounce")
WATCH_KEYS = ("watch", "watch_ignore", "watch_debounce")
WINDOW_KEYS = ("name", "command", "cwd", "env", "enabled", "focus", "layout", "panes", "ready", "after",
               "restart", "max_restarts", "db", "logs", "db_pool", "stop", "options", "interactive", *WATCH_KEYS)
TASK_KEYS = ("name", "command", "cwd", "env", "enabled", "after", "inputs", *WATCH_KEYS)
STOP_KEYS = ("signal", "timeout", "command")
STOP_SIGNALS = ("INT", "TERM", "HUP", "QUIT", "KILL")
PANE_KEYS = ("command", "cwd", "env", "focus", "title", "interactive")
PROBE_KEYS = PROBE_KINDS + ("timeout", "interval")
REQUIRES_KEYS = ("commands", "env", "ports", "files", "database", "checks")


def _unknown(src: Source, path: Key, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            close = close_matches(key, allowed, n=1)
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
    if "\0" in text:
        raise src.error(path, "must not contain a NUL character (nothing after it would be seen)")
    return text


def _bool(src: Source, path: Key, value: Any) -> bool:
    if not isinstance(value, bool):
        raise src.error(path, f"must be true or false, not {_type(value)}")
    return value


def _number(src: Source, path: Key, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise src.error(path, f"must be a number, not {_type(value)}")
    if not math.isfinite(value):
        raise src.error(path, f"must be a finite number, not {value}")
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


def _command(src: Source, path: Key, value: Any) -> str:
    """A command: a string, or a list of lines (kept joined by newlines, each line typed in turn)."""
    if not isinstance(value, list):
        return _str(src, path, value)
    if not value:
        raise src.error(path, "must list at least one line")
    lines = []
    for i, line in enumerate(value):
        text = _str(src, path + (i,), line)
        if "\n" in text or "\r" in text:
            raise src.error(path + (i,), "a line of a command must not contain a line break (write each line as "
                            "its own item)")
        lines.append(text)
    return "\n".join(lines)


def _options(src: Source, path: Key, value: Any, *, window: bool) -> dict[str, str]:
    """tmux options: known session / window option names (never server ones), scalar values."""
    data = _mapping(src, path, value)
    out: dict[str, str] = {}
    for name, val in data.items():
        key = path + (name,)
        try:
            _, scope = tmuxopts.parse(name)
        except ValueError as exc:
            close = close_matches(name, tmuxopts.known(), n=1) if "unknown" in str(exc) else []
            raise src.error(key, str(exc) + (f" (did you mean {close[0]!r}?)" if close else "")) from None
        if window and scope == tmuxopts.SESSION:
            raise src.error(key, f"{name!r} is a session option: set it in the profile's top-level options")
        if val is None or isinstance(val, (list, dict)):
            raise src.error(key, f"must be a string, a number or true/false, not {_type(val)}")
        text = tmuxopts.value_text(val)
        if any(c in text for c in "\0\n\r"):
            raise src.error(key, "must not contain a NUL character or a line break")
        out[name] = text
    return out


def _hooks(src: Source, path: Key, value: Any) -> dict[str, tuple[str, ...]]:
    data = _mapping(src, path, value)
    _unknown(src, path, data, HOOK_KEYS)
    out: dict[str, tuple[str, ...]] = {}
    for key, item in data.items():
        if item is None:
            out[key] = ()
        elif isinstance(item, list):
            out[key] = tuple(_str(src, path + (key, i), c) for i, c in enumerate(item))
        else:
            out[key] = (_str(src, path + (key,), item),)
    return out


def _name_text(src: Source, path: Key, value: Any, what: str) -> str:
    text = _str(src, path, value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise src.error(path, f"{what} must not contain control characters")
    return text


def _member_name(src: Source, path: Key, value: Any, what: str) -> str:
    """A window's or task's name: names starting with devenv's prefix are its own (the watcher's mark)."""
    text = _name_text(src, path, value, what)
    if text.startswith(BUILD_PREFIX):
        raise src.error(path, f"names starting with {BUILD_PREFIX!r} are devenv's own")
    return text


def _debounce(src: Source, path: Key, value: Any) -> float:
    seconds = _number(src, path, value, positive=False)
    if not 0 <= seconds <= 60:
        raise src.error(path, "must be between 0 and 60 seconds")
    return seconds


def _watch(src: Source, path: Key, data: Mapping[str, Any], into: dict[str, Any]) -> None:
    """``watch`` / ``watch_ignore`` (a glob or a list of globs; ``[]``: none) and ``watch_debounce``."""
    for key in ("watch", "watch_ignore"):
        if key not in data:
            continue
        value = data[key]
        items = [] if value is None else [value] if isinstance(value, str) else _list(src, path + (key,), value)
        globs = []
        for i, item in enumerate(items):
            glob = _str(src, path + (key, i), item)
            if "\n" in glob or "\r" in glob:
                raise src.error(path + (key, i), "a glob must not contain a line break")
            globs.append(glob)
        into[key] = tuple(globs)
    if "watch_debounce" in data:
        into["watch_debounce"] = _debounce(src, path + ("watch_debounce",), data["watch_debounce"])


def validate(src: Source) -> dict[str, Any]:
    """One file's data as plain dicts of known keys; a ProfileError at the first wrong value."""
    data = src.data
    _unknown(src, (), data, TOP_KEYS)
    out: dict[str, Any] = {}
    if "extends" in data:
        name = _str(src, ("extends",), data["extends"])
        if not valid_profile_name(name):
            raise src.error(("extends",), f"invalid profile name {name!r}")
        out["extends"] = name
    if "session" in data:
        session = _name_text(src, ("session",), data["session"], "a session name")
        bad = sorted({c for c in session if c in SESSION_REWRITES})
        if bad:  # tmux would store another name, which devenv could not find again
            raise src.error(("session",), "a tmux session name cannot contain "
                            + " or ".join(repr(c) for c in bad) + " (tmux rewrites them)")
        if session.startswith(BUILD_PREFIX):
            raise src.error(("session",), f"session names starting with {BUILD_PREFIX!r} are devenv's own")
        out["session"] = session
    if "root" in data:
        out["root"] = _str(src, ("root",), data["root"])
    if "status" in data:
        out["status"] = _bool(src, ("status",), data["status"])
    if "env_files" in data:
        files = data["env_files"]
        if isinstance(files, str):
            files = [files]
        out["env_files"] = tuple(_str(src, ("env_files", i), f) for i, f in enumerate(_list(src, ("env_files",), files)))
    if "env" in data:
        out["env"] = _env(src, ("env",), data["env"])
    if "requires" in data:
        out["requires"] = _requires(src, ("requires",), data["requires"])
    if "hooks" in data:
        out["hooks"] = _hooks(src, ("hooks",), data["hooks"])
    if "options" in data:
        out["options"] = _options(src, ("options",), data["options"], window=False)
    if "watch_debounce" in data:
        out["watch_debounce"] = _debounce(src, ("watch_debounce",), data["watch_debounce"])
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
    if "tasks" in data:
        tasks = _list(src, ("tasks",), data["tasks"])
        names: dict[str, int] = {}
        out["tasks"] = []
        for i, item in enumerate(tasks):
            task = _task(src, ("tasks", i), item)
            if task["name"] in names:
                raise src.error(("tasks", i, "name"),
                                f"duplicate task name {task['name']!r} (also tasks[{names[task['name']]}])")
            if task["name"] in seen:
                raise src.error(("tasks", i, "name"),
                                f"{task['name']!r} names a window too (windows[{seen[task['name']]}]): tasks and "
                                "windows share one name space (for after:)")
            names[task["name"]] = i
            out["tasks"].append(task)
    return out


def _task(src: Source, path: Key, item: Any) -> dict[str, Any]:
    """A one-shot step: a command that must exit 0 before what is ``after:`` it starts."""
    if isinstance(item, str):
        raise src.error(path, "a task must be a mapping with a name and a command (e.g. {name: migrate, command: ...})")
    data = _mapping(src, path, item)
    _unknown(src, path, data, TASK_KEYS)
    if "name" not in data:
        raise src.error(path, "a task needs a name")
    task: dict[str, Any] = {"name": _member_name(src, path + ("name",), data["name"], "a task name"), "_path": path,
                            "task": True}
    if data.get("command") is None:
        raise src.error(path, "a task needs a command")
    task["command"] = _command(src, path + ("command",), data["command"])
    if data.get("cwd") is not None:
        task["cwd"] = _str(src, path + ("cwd",), data["cwd"])
    if "env" in data:
        task["env"] = _env(src, path + ("env",), data["env"])
    if "enabled" in data:
        task["enabled"] = _bool(src, path + ("enabled",), data["enabled"])
    if "after" in data:
        task["after"] = _names(src, path + ("after",), data["after"])
    if "inputs" in data:
        task["inputs"] = _names(src, path + ("inputs",), data["inputs"], what="file or glob")
    _watch(src, path, data, task)
    return task


def _names(src: Source, path: Key, value: Any, what: str = "name") -> tuple[str, ...]:
    """A string or a list of strings."""
    items = [value] if isinstance(value, str) else _list(src, path, value)
    if not items and what != "name":
        raise src.error(path, f"must list at least one {what}")
    return tuple(_str(src, path + (i,), a) for i, a in enumerate(items))


def _stop(src: Source, path: Key, item: Any) -> StopSpec:
    data = _mapping(src, path, item)
    _unknown(src, path, data, STOP_KEYS)
    signal = None
    if "signal" in data:
        text = _str(src, path + ("signal",), data["signal"]).strip().upper().removeprefix("SIG")
        if text not in STOP_SIGNALS:
            raise src.error(path + ("signal",), f"must be one of {', '.join(STOP_SIGNALS)}, not {data['signal']!r}")
        signal = text
    command = _str(src, path + ("command",), data["command"]) if data.get("command") is not None else None
    if signal is not None and command is not None:
        raise src.error(path + ("command",), "a stop policy has a signal or a command, not both")
    timeout = None
    if "timeout" in data:
        timeout = _number(src, path + ("timeout",), data["timeout"], positive=False)
        if timeout < 0:
            raise src.error(path + ("timeout",), "must be 0 or more seconds")
    return StopSpec(signal, timeout, command)


def _window(src: Source, path: Key, item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        raise src.error(path, "a window must be a mapping with at least a name (e.g. {name: web, command: ...})")
    data = _mapping(src, path, item)
    _unknown(src, path, data, WINDOW_KEYS)
    if "name" not in data:
        raise src.error(path, "a window needs a name")
    win: dict[str, Any] = {"name": _member_name(src, path + ("name",), data["name"], "a window name"),
                           "_path": path}
    for key in ("cwd", "layout", "db"):
        if key in data and data[key] is not None:
            win[key] = _str(src, path + (key,), data[key])
    if data.get("command") is not None:
        win["command"] = _command(src, path + ("command",), data["command"])
    if "layout" in win and win["layout"] not in LAYOUTS and not re.match(r"^[0-9a-f]{4},", win["layout"]):
        close = close_matches(win["layout"], LAYOUTS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (one of {', '.join(LAYOUTS)})"
        raise src.error(path + ("layout",), f"unknown layout {win['layout']!r}{hint}")
    if "env" in data:
        win["env"] = _env(src, path + ("env",), data["env"])
    for key in ("enabled", "focus", "interactive"):
        if key in data:
            win[key] = _bool(src, path + (key,), data[key])
    if "options" in data:
        win["options"] = _options(src, path + ("options",), data["options"], window=True)
    if "panes" in data:
        panes = _list(src, path + ("panes",), data["panes"])
        if not panes:
            raise src.error(path + ("panes",), "must list at least one pane")
        win["panes"] = tuple(_pane(src, path + ("panes", i), p) for i, p in enumerate(panes))
        focused = [i for i, p in enumerate(win["panes"]) if p.focus]
        if len(focused) > 1:
            raise src.error(path + ("panes", focused[1], "focus"),
                            f"only one pane of a window has focus (also panes[{focused[0]}])")
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
    if data.get("db_pool") is not None:
        win["db_pool"] = _db_pool(src, path + ("db_pool",), data["db_pool"])
    if data.get("stop") is not None:
        win["stop"] = _stop(src, path + ("stop",), data["stop"])
    _watch(src, path, data, win)
    kinds = [k for k in ("command", "panes", "db", "logs") if k in win]
    if len(kinds) > 1:
        raise src.error(path + (kinds[1],), f"a window has one of command, panes, db or logs; this one has {' and '.join(kinds)}")
    for key in ("db_pool", "interactive", *WATCH_KEYS):
        if key in win and kinds and kinds[0] in ("db", "logs"):
            raise src.error(path + (key,), f"only windows that run commands take {key} (this is a {kinds[0]}: window)")
    return win


def _db_pool(src: Source, path: Key, value: Any) -> str:
    """How many connections each pane opens: a whole number >= 0, or text holding ``${VAR}``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and (re.fullmatch(r"\s*[0-9]+\s*", value) or "${" in value):
        return value.strip()
    raise src.error(path, f"must be a whole number >= 0 or ${{VAR}}, not {value!r}")


def _pane(src: Source, path: Key, item: Any) -> Pane:
    if isinstance(item, (str, int, float)) and not isinstance(item, bool):
        return Pane(str(item))
    if item is None:
        return Pane(None)
    if isinstance(item, list):
        return Pane(_command(src, path, item))
    data = _mapping(src, path, item)
    _unknown(src, path, data, PANE_KEYS)
    command = _command(src, path + ("command",), data["command"]) if data.get("command") is not None else None
    cwd = _str(src, path + ("cwd",), data["cwd"]) if "cwd" in data else None
    env = _env(src, path + ("env",), data["env"]) if "env" in data else {}
    focus = _bool(src, path + ("focus",), data["focus"]) if "focus" in data else False
    title = _name_text(src, path + ("title",), data["title"], "a pane title") if data.get("title") is not None else None
    interactive = _bool(src, path + ("interactive",), data["interactive"]) if "interactive" in data else None
    return Pane(command, cwd, env, focus, title, interactive)


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
        ports: list[int | str] = []  # a "${VAR}" port is checked once interpolated
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
