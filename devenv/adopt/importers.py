"""Convert tmuxinator and tmuxp configs into devenv profile data.

Pure functions: text in, a :class:`Conversion` out (the profile as plain data
plus notes naming everything that could not be converted). Nothing is dropped
silently: every key devenv has no equivalent for becomes a note.

Commands that tmuxinator and tmuxp *type* into a shell become one shell command
per pane, joined with ``"; "`` so that later commands run as if typed even when
an earlier one fails. ``pre_window`` / ``pre`` / ``shell_command_before`` come
first. A pane with only such "before" commands runs them and then the user's
shell (``exec "${SHELL:-/bin/sh}"``); a pane with nothing at all is a plain shell.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.adopt.written import Written, check_loads
from devenv.errors import ProfileError
from devenv.names import ENV_NAME
from devenv.profile.dump import to_yaml
from devenv.profile.model import LAYOUTS
from devenv.profile.validate import TOP_KEYS
from devenv.profile.yamlsrc import Key, Source, dotted, parse
from devenv.secrets import is_secret_key, secret_values

SHELL_AFTER = 'exec "${SHELL:-/bin/sh}"'
LAYOUT_STRING = re.compile(r"^[0-9a-f]{4},")
# shell functions that only exist in interactive shells (devenv runs commands with $SHELL -c)
_INTERACTIVE_ONLY = re.compile(r"^\s*(nvm|rvm|rbenv shell|pyenv shell|pyenv activate|conda activate|workon|chruby)\b")


@dataclass
class Conversion:
    kind: str  # "tmuxinator" or "tmuxp"
    profile: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class _Pane:
    commands: list[str]
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class _Window:
    name: str
    panes: list[_Pane]
    prefix: list[str] = field(default_factory=list)
    layout: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    focus: bool = False


class _Notes:
    """Collects what could not be converted, as ``file:line: key: what``."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.items: list[tuple[int, str]] = []
        self.secrets: list[str] = []  # names of secret variables left out

    def add(self, path: Key, what: str) -> None:
        line = self.src.line(path)
        where = f"{self.src.file.name}:{line}: " if line else f"{self.src.file.name}: "
        key = dotted(path)
        text = where + (f"{key}: " if key else "") + what
        if all(text != t for _, t in self.items):
            self.items.append((line or 0, text))

    def sorted(self) -> list[str]:
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]


# --------------------------------------------------------------------------- entry point


def convert(text: str, file: Path, project: Path | None = None) -> Conversion:
    """Detect the format of ``text`` (read from ``file``) and convert it."""
    text, placeholders, erb = _strip_erb(text)
    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProfileError(f"invalid JSON: {exc}", file=file) from None
        src = Source(file, _restore(data, placeholders))
        data = src.data
    else:
        src = parse(text, file)
        src.data = data = _restore(src.data, placeholders)
    if not isinstance(data, dict):
        raise ProfileError("not a tmuxinator or tmuxp config (expected a mapping with windows)", file=file)
    notes = _Notes(src)
    for line, what in erb:
        notes.items.append((line, f"{file.name}:{line}: {what}" if line else f"{file.name}: {what}"))
    windows = data.get("windows")
    if set(data) <= set(TOP_KEYS) and isinstance(windows, list) and windows and all(
            isinstance(w, dict) and "name" in w for w in windows):
        raise ProfileError("this is a devenv profile already: copy it to .devenv/default.yaml", file=file)
    kind = detect(data)
    if kind is None:
        raise ProfileError("not a tmuxinator or tmuxp config: found neither tmuxp's session_name / window_name "
                           "nor tmuxinator's name / root / windows of `- name: command`", file=file)
    converted = _tmuxp(data, notes) if kind == "tmuxp" else _tmuxinator(data, notes)
    profile: dict[str, Any] = {}
    session = data.get("session_name") if kind == "tmuxp" else data.get("name", data.get("project_name"))
    if session is not None and str(session).strip():
        clean = re.sub(r"[:.\x00-\x1f\x7f]", "_", str(session).strip())
        if clean != str(session).strip():
            notes.add(("session_name" if kind == "tmuxp" else "name",), f"session renamed {clean!r} "
                      "(tmux session names cannot hold ':' or '.')")
        profile["session"] = clean
    root_key = "start_directory" if kind == "tmuxp" else ("root" if "root" in data else "project_root")
    root = data.get(root_key)
    if root is not None and str(root).strip():
        root_text = _root(str(root), project, file.parent if kind == "tmuxp" else None)
        if root_text != ".":
            profile["root"] = root_text
    env = data.get("environment") if kind == "tmuxp" else None
    if env is not None:
        profile["env"] = _env(env, ("environment",), notes)
    profile["windows"] = _finish(converted, notes, profile)
    if not profile.get("env"):
        profile.pop("env", None)
    return Conversion(kind, profile, notes.sorted())


def detect(data: dict[str, Any]) -> str | None:
    """``"tmuxp"``, ``"tmuxinator"`` or None."""
    windows = data.get("windows", data.get("tabs"))
    if "session_name" in data or "start_directory" in data or "shell_command_before" in data:
        return "tmuxp"
    if isinstance(windows, list) and any(isinstance(w, dict) and "window_name" in w for w in windows):
        return "tmuxp"
    tmuxinator_keys = ("name", "project_name", "root", "project_root", "pre_window", "tabs", "on_project_start",
                       "startup_window", "tmux_options")
    if any(k in data for k in tmuxinator_keys):
        return "tmuxinator"
    if isinstance(windows, list) and windows and all(isinstance(w, (dict, str)) for w in windows):
        if all(isinstance(w, dict) and len(w) == 1 for w in windows):
            return "tmuxinator"
    return None


# --------------------------------------------------------------------------- ERB (tmuxinator)

_ERB = re.compile(r"<%(?P<kind>[=#-]?)(?P<body>.*?)-?%>")
_ENV_REF = re.compile(r"""^ENV(?:\[\s*(["'])(?P<name>\w+)\1\s*\]|\.fetch\(\s*(["'])(?P<name2>\w+)\3"""
                      r"""\s*(?:,\s*(["'])(?P<default>[^"']*)\5\s*)?\))(?:\s*\|\|\s*(["'])(?P<or>[^"']*)\7)?$""")

# tmuxinator's `key=value` settings and positional arguments: variables under devenv
_ARG_REF = re.compile(r"""^@(?:settings\[\s*(?:["':])?(?P<name>[A-Za-z_]\w*)["']?\s*\]|args\[\s*(?P<index>\d+)\s*\])$""")


def _strip_erb(text: str) -> tuple[str, dict[str, str], list[tuple[int, str]]]:
    """Replace ERB tags before YAML parsing; returns (text, placeholders, notes).

    An output tag becomes a YAML-neutral placeholder, put back by :func:`_restore`
    after parsing: ``<%= ENV["X"] %>`` as ``${X}``, ``<%= @settings["k"] %>`` as
    ``${k}``, anything else as itself (noted). Code tags are noted and removed.
    """
    notes: list[tuple[int, str]] = []
    table: dict[str, str] = {}
    lines = []
    for number, line in enumerate(text.split("\n"), 1):
        def sub(m: re.Match[str], number: int = number) -> str:
            body = m["body"].strip()
            if m["kind"] == "#":
                return ""
            if m["kind"] != "=":
                notes.append((number, f"ERB code {m.group(0)!r} not converted: removed (every branch is kept)"))
                return ""
            ref, arg = _ENV_REF.match(body), _ARG_REF.match(body)
            if ref:
                name = ref["name"] or ref["name2"]
                default = ref["default"] if ref["default"] is not None else ref["or"]
                value = f"${{{name}:-{default}}}" if default is not None else f"${{{name}}}"
            elif arg:
                name = arg["name"] or f"ARG{arg['index']}"
                notes.append((number, f"ERB {m.group(0)!r} became ${{{name}}}: set {name} in the environment "
                                      "or in .env"))
                value = f"${{{name}}}"
            else:
                notes.append((number, f"ERB {m.group(0)!r} not converted: left as is, edit it"))
                value = m.group(0)
            key = f"DEVENVERB{len(table)}X"
            table[key] = value
            return key

        new = _ERB.sub(sub, line)
        if new.strip() or not line.strip():
            lines.append(new)
        else:
            lines.append("")  # a line that held only removed tags (kept blank: line numbers stay right)
    if "<%" in "\n".join(lines):
        notes.append((0, "ERB tags spanning lines not converted"))
    return "\n".join(lines), table, notes


def _restore(data: Any, table: dict[str, str]) -> Any:
    """Put the values of ERB placeholders back into parsed data."""
    if not table:
        return data
    if isinstance(data, str):
        for key, value in table.items():
            data = data.replace(key, value)
        return data
    if isinstance(data, list):
        return [_restore(item, table) for item in data]
    if isinstance(data, dict):
        return {_restore(k, table): _restore(v, table) for k, v in data.items()}
    return data


# --------------------------------------------------------------------------- tmuxinator


_TMUXINATOR_IGNORED = {
    "on_project_start": "hook", "on_project_first_start": "hook", "on_project_restart": "hook",
    "on_project_exit": "hook", "on_project_stop": "hook", "pre": "project hook (deprecated on_project_start)",
    "post": "hook", "tmux_options": "tmux option", "cli_args": "tmux option", "tmux_command": "tmux command",
    "socket_name": "tmux socket (use devenv -L NAME)", "socket_path": "tmux socket", "attach": "attach setting "
    "(use devenv up -d)", "startup_pane": "startup pane", "enable_pane_titles": "pane titles",
    "pane_title_position": "pane titles", "pane_title_format": "pane titles",
}
_TMUXINATOR_KNOWN = {"name", "project_name", "root", "project_root", "windows", "tabs", "pre_window", "pre_tab",
                     "rbenv", "rvm", "startup_window"}


def _tmuxinator(data: dict[str, Any], notes: _Notes) -> list[_Window]:
    for key in data:
        if key in _TMUXINATOR_IGNORED:
            notes.add((key,), f"{_TMUXINATOR_IGNORED[key]} not converted")
        elif key not in _TMUXINATOR_KNOWN:
            notes.add((key,), "unknown key not converted")
    prefix: list[str] = []
    if data.get("rbenv"):
        prefix.append(f"rbenv shell {data['rbenv']}")
    if data.get("rvm"):
        prefix.append(f"rvm use {data['rvm']}")
    pre_key = "pre_window" if "pre_window" in data else "pre_tab"
    prefix += _commands(data.get(pre_key), (pre_key,), notes)
    wkey = "windows" if "windows" in data else "tabs"
    items = data.get(wkey) or []
    if not isinstance(items, list):
        raise notes.src.error((wkey,), "must be a list of windows")
    windows: list[_Window] = []
    for i, item in enumerate(items):
        path: Key = (wkey, i)
        if isinstance(item, str):
            windows.append(_Window(item, [_Pane([])], list(prefix)))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            raise notes.src.error(path, "a tmuxinator window is `- name: command` or `- name: {panes: ...}`")
        ((name, body),) = item.items()
        path = path + (name,)
        win = _Window(str(name), [], list(prefix))
        if isinstance(body, dict):
            for key in body:
                if key not in ("root", "layout", "panes", "pre", "synchronize"):
                    notes.add(path + (key,), "unknown window key not converted")
            if "synchronize" in body:
                notes.add(path + ("synchronize",), "synchronized panes not converted")
            win.prefix += _commands(body.get("pre"), path + ("pre",), notes)
            if body.get("root") is not None:
                win.cwd = _cwd(str(body["root"]))
            win.layout = _layout(body.get("layout"), path + ("layout",), notes)
            panes = body.get("panes")
            if panes is None:
                win.panes = [_Pane([])]
            elif not isinstance(panes, list):
                win.panes = [_Pane(_commands(panes, path + ("panes",), notes))]
            else:
                win.panes = [_tmuxinator_pane(p, path + ("panes", j), notes) for j, p in enumerate(panes)]
                win.panes = win.panes or [_Pane([])]
        else:
            win.panes = [_Pane(_commands(body, path, notes))]
        windows.append(win)
    start = data.get("startup_window")
    if start is not None:
        _focus(windows, start, notes)
    return windows


def _tmuxinator_pane(item: Any, path: Key, notes: _Notes) -> _Pane:
    if isinstance(item, dict):
        if len(item) == 1:  # {pane_title: [commands]}
            ((title, cmds),) = item.items()
            notes.add(path + (title,), "pane title not kept (devenv panes have no titles)")
            return _Pane(_commands(cmds, path + (title,), notes))
        notes.add(path, "pane mapping not converted (expected {pane_title: [commands]})")
        return _Pane([])
    return _Pane(_commands(item, path, notes))


def _focus(windows: list[_Window], start: Any, notes: _Notes) -> None:
    named = [w for w in windows if w.name == str(start)]
    if named:
        named[0].focus = True
    elif isinstance(start, int) and not isinstance(start, bool) and 0 <= start < len(windows):
        windows[start].focus = True
        notes.add(("startup_window",), f"window index {start} read with tmux's default base-index 0: "
                  f"focus on {windows[start].name!r}")
    else:
        notes.add(("startup_window",), f"no window {start!r}: not converted")


# --------------------------------------------------------------------------- tmuxp


_TMUXP_IGNORED = {"before_script": "before_script (runs once before the windows)", "options": "tmux options",
                  "global_options": "tmux options", "plugins": "plugins", "suppress_history": "suppress_history",
                  "config": "tmux config file", "socket_name": "tmux socket (use devenv -L NAME)",
                  "workspace_builder": "workspace builder", "workspace_builder_options": "workspace builder"}
_TMUXP_KNOWN = {"session_name", "start_directory", "windows", "shell_command_before", "environment"}
_WIN_IGNORED = {"options": "tmux window options", "options_after": "tmux window options",
                "window_index": "window index", "window_shell": "window shell", "suppress_history":
                "suppress_history", "clear": "clear"}
_PANE_IGNORED = {"focus": "pane focus", "suppress_history": "suppress_history"}
_BLANK = ("blank", "pane")


def _tmuxp(data: dict[str, Any], notes: _Notes) -> list[_Window]:
    for key in data:
        if key in _TMUXP_IGNORED:
            notes.add((key,), f"{_TMUXP_IGNORED[key]} not converted")
        elif key not in _TMUXP_KNOWN:
            notes.add((key,), "unknown key not converted")
    prefix = _commands(data.get("shell_command_before"), ("shell_command_before",), notes)
    items = data.get("windows") or []
    if not isinstance(items, list):
        raise notes.src.error(("windows",), "must be a list of windows")
    windows: list[_Window] = []
    for i, item in enumerate(items):
        path: Key = ("windows", i)
        if not isinstance(item, dict):
            raise notes.src.error(path, "a tmuxp window is a mapping with window_name and panes")
        for key in item:
            if key in _WIN_IGNORED:
                notes.add(path + (key,), f"{_WIN_IGNORED[key]} not converted")
            elif key not in ("window_name", "layout", "start_directory", "shell_command_before", "panes", "focus",
                             "environment"):
                notes.add(path + (key,), "unknown window key not converted")
        name = item.get("window_name")
        win = _Window("" if name is None else str(name), [], prefix + _commands(
            item.get("shell_command_before"), path + ("shell_command_before",), notes))
        win.layout = _layout(item.get("layout"), path + ("layout",), notes)
        if item.get("start_directory") is not None:
            win.cwd = _cwd(str(item["start_directory"]))
        if item.get("environment") is not None:
            win.env = _env(item["environment"], path + ("environment",), notes)
        win.focus = item.get("focus") in (True, "true", "True")
        panes = item.get("panes")
        if panes is None:
            panes = [None]
        if not isinstance(panes, list):
            raise notes.src.error(path + ("panes",), "must be a list of panes")
        win.panes = [_tmuxp_pane(p, path + ("panes", j), notes) for j, p in enumerate(panes)] or [_Pane([])]
        windows.append(win)
    return windows


def _tmuxp_pane(item: Any, path: Key, notes: _Notes) -> _Pane:
    if item is None or (isinstance(item, str) and item.strip() in ("", *_BLANK)):
        return _Pane([])
    if not isinstance(item, dict):
        return _Pane(_commands(item, path, notes))
    for key in item:
        if key in _PANE_IGNORED:
            notes.add(path + (key,), f"{_PANE_IGNORED[key]} not converted")
        elif key not in ("shell_command", "shell_command_before", "start_directory", "environment", "sleep_before",
                         "sleep_after", "enter", "cmd"):
            notes.add(path + (key,), "unknown pane key not converted")
    before = _commands(item.get("shell_command_before"), path + ("shell_command_before",), notes)
    if "shell_command" in item:
        own = _commands(item["shell_command"], path + ("shell_command",), notes)
        if own and item.get("sleep_before"):
            own.insert(0, f"sleep {item['sleep_before']}")
        if own and item.get("sleep_after"):
            own.append(f"sleep {item['sleep_after']}")
        if item.get("enter") is False:
            notes.add(path + ("enter",), "enter: false (typed, not run) not converted: the commands are left out")
            own = []
    else:  # a bare {cmd: ..., enter: ..., sleep_before: ...}
        own = _commands([item], path, notes) if "cmd" in item else []
    pane = _Pane(before + own if own else ([*before, SHELL_AFTER] if before else []))
    if item.get("start_directory") is not None:
        pane.cwd = _cwd(str(item["start_directory"]))
    if item.get("environment") is not None:
        pane.env = _env(item["environment"], path + ("environment",), notes)
    return pane


# --------------------------------------------------------------------------- shared pieces


def _commands(value: Any, path: Key, notes: _Notes) -> list[str]:
    """A command, a list of commands, or tmuxp ``{cmd: ...}`` items, as a flat list of strings."""
    if value is None:
        return []
    if isinstance(value, bool):
        notes.add(path, f"not a command: {value!r}")
        return []
    if isinstance(value, (str, int, float)):
        text = str(value).strip()
        if text and _INTERACTIVE_ONLY.match(text):
            notes.add(path, f"{text.split()[0]!r} is a shell function of interactive shells; devenv runs commands "
                      "with $SHELL -c (no ~/.bashrc): it may fail")
        return [text] if text else []
    if isinstance(value, list):
        out: list[str] = []
        for j, item in enumerate(value):
            if isinstance(item, dict):
                if item.get("enter") is False:
                    notes.add(path + (j, "enter"), "enter: false (typed, not run) not converted: left out")
                    continue
                for key in item:
                    if key not in ("cmd", "enter", "sleep_before", "sleep_after"):
                        notes.add(path + (j, key), "unknown command key not converted")
                if item.get("sleep_before"):
                    out.append(f"sleep {item['sleep_before']}")
                out += _commands(item.get("cmd"), path + (j, "cmd"), notes)
                if item.get("sleep_after"):
                    out.append(f"sleep {item['sleep_after']}")
            else:
                out += _commands(item, path + (j,), notes)
        return out
    notes.add(path, "not a command or a list of commands: not converted")
    return []


def _layout(value: Any, path: Key, notes: _Notes) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if text in LAYOUTS or LAYOUT_STRING.match(text):
        return text
    notes.add(path, f"layout {text!r} not converted (known: {', '.join(LAYOUTS)}, or a tmux layout string)")
    return None


def _shell_vars(text: str) -> str:
    """``$VAR`` -> ``${VAR}`` (devenv interpolates only the braced form); a leading ``~`` -> ``${HOME}``."""
    text = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", r"${\1}", text)
    if text == "~" or text.startswith("~/"):
        text = "${HOME}" + text[1:]
    return text


def _cwd(text: str) -> str | None:
    text = _shell_vars(text.strip())
    return None if text in ("", ".", "./") else text


def _root(text: str, project: Path | None, base: Path | None) -> str:
    """The profile's root: relative to the project when it lies inside it.

    ``base``: the folder that ``./``-relative paths start from (tmuxp: the config's folder).
    """
    text = text.strip()
    if "$" in text:
        return _shell_vars(text)
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        if base is None or not text.startswith("."):
            return os.path.normpath(text)
        path = base / path
    if project is not None:
        try:
            rel = path.resolve().relative_to(project.resolve())
        except ValueError:
            return text if not path.is_absolute() or text.startswith("~") else str(path.resolve())
        return rel.as_posix()
    return text


def _env(value: Any, path: Key, notes: _Notes) -> dict[str, str]:
    """Environment values; secrets are not copied (they belong in .env.local), but required."""
    if not isinstance(value, dict):
        notes.add(path, "environment must be a mapping: not converted")
        return {}
    out: dict[str, str] = {}
    for key, val in value.items():
        key = str(key)
        if not ENV_NAME.match(key):
            notes.add(path + (key,), "not a valid variable name: not converted")
            continue
        text = "" if val is None else ("true" if val is True else "false" if val is False else str(val))
        if is_secret_key(key) or secret_values({key: text}):
            notes.add(path + (key,), "a secret: its value was not copied; put it in .env.local "
                      "(listed in requires.env)")
            notes.secrets.append(key)
            continue
        out[key] = text
    return out


def _finish(windows: list[_Window], notes: _Notes, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """devenv window mappings: unique names, one command or panes, secrets listed in requires.env."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, win in enumerate(windows):
        name = re.sub(r"[\x00-\x1f\x7f]", " ", win.name).strip() or f"window{i}"
        base, n = name, 2
        while name in seen:
            name = f"{base}-{n}"
            n += 1
        if name != win.name:
            notes.add(("windows", i), f"window {win.name!r} named {name!r} (devenv window names are unique "
                      "and not empty)")
        seen.add(name)
        d: dict[str, Any] = {"name": name}
        panes = [_pane_command(win.prefix, p) for p in win.panes]
        if len(win.panes) == 1 and not win.panes[0].cwd and not win.panes[0].env:
            if panes[0] is not None:
                d["command"] = panes[0]
        else:
            d["panes"] = [cmd if not (p.cwd or p.env) else
                          {k: v for k, v in (("command", cmd), ("cwd", p.cwd), ("env", p.env)) if v}
                          for p, cmd in zip(win.panes, panes, strict=True)]
        if win.layout:
            d["layout"] = win.layout
        if win.cwd:
            d["cwd"] = win.cwd
        if win.env:
            d["env"] = win.env
        if win.focus:
            d["focus"] = True
        out.append(d)
    if not out:
        notes.add(("windows",), "no windows: wrote one shell window")
        out.append({"name": "shell"})
    if notes.secrets:
        profile.setdefault("requires", {})["env"] = list(dict.fromkeys(notes.secrets))
    return out


def _pane_command(prefix: list[str], pane: _Pane) -> str | None:
    if not pane.commands:
        return "; ".join([*prefix, SHELL_AFTER]) if prefix else None
    return "; ".join([*prefix, *pane.commands])


def import_file(path: Path, project: Path) -> tuple[Written, str]:
    """Convert the tmuxinator / tmuxp config ``path``; returns the profile and the format's name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=path) from None
    result = convert(text, path, project)
    rendered = to_yaml(result.profile, [f"imported from {path.name} ({result.kind}) by devenv import"])
    try:
        check_loads(rendered, project)
    except ProfileError as exc:
        raise ProfileError(f"cannot convert: the result would be invalid ({exc.message})", file=path) from None
    return Written(rendered, tuple(result.notes), tuple(w["name"] for w in result.profile["windows"])), result.kind
