"""Convert tmuxinator and tmuxp configs into devenv profile data, by each tool's own rules.

Pure functions: text in, a :class:`Conversion` out (the profile as plain data plus notes naming
everything that could not be converted, one line per kind of loss). Nothing is dropped silently.

tmuxinator and tmuxp *type* commands into an interactive shell, so every pane that had commands
becomes an ``interactive: true`` pane whose ``command`` is the list of lines typed, in the order the
tool types them; a pane with nothing typed is a plain shell. Where the tools resolve something at
load time, so does the import: tmuxinator (3.x, as its templates do) uses ``tabs`` over ``windows``,
``project_root`` over ``root``, ``project_name`` over ``name``, one of ``rbenv`` / ``rvm`` /
``pre_tab`` / ``pre_window``, a window's ``pre`` joined with `` && ``; tmuxp (1.7x, its loader's
``expand`` and ``trickle``) expands ``~``, ``$VAR`` and ``${VAR}`` in ``session_name``,
``window_name``, start directories and environment values (``${PWD}`` is the folder ``import`` runs
in), resolves ``./`` paths as tmuxp does, orders windows by ``window_index``, and leaves the last pane
of a window active unless one has ``focus``.

Values of the wrong type are a ``ProfileError`` naming the file, the line and the key.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.adopt.written import Written, check_loads
from devenv.errors import ProfileError
from devenv.names import ENV_NAME
from devenv.profile import tmuxopts
from devenv.profile.dump import to_yaml
from devenv.profile.model import LAYOUTS
from devenv.profile.validate import TOP_KEYS
from devenv.profile.yamlsrc import Key, Source, dotted, parse_foreign
from devenv.secrets import is_secret_key, secret_values

LAYOUT_STRING = re.compile(r"^[0-9a-f]{4},")
AUTO_NAME = {"automatic-rename": "on"}
# a typed line that starts another shell or a remote one: what the original typed after it went into that
NESTED = re.compile(r"^\s*(ssh|mosh|su|vagrant\s+ssh|(docker|podman|kubectl)\s+(exec|run)\s.*-\w*[it]|"
                    r"(poetry|pipenv)\s+shell|nix-shell|nix\s+develop|sudo\s+(-\w*[is]|su)|bash|zsh|fish|sh)(\s|$)")
TYPES_EXIT = re.compile(r"(^|;|&&)\s*exit(\s+\d+)?\s*$")  # a typed line that ends its shell  # a window without a name: tmux names it after what runs in it


@dataclass
class Conversion:
    kind: str  # "tmuxinator" or "tmuxp"
    profile: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class _Pane:
    lines: list[str]  # typed into the pane's shell, in order
    cwd: str | None = None  # as the tool resolved it: absolute, or relative to the project
    env: dict[str, str] | None = None  # None: the window's
    focus: bool = False
    title: str | None = None
    shell: str | None = None  # tmuxp's shell / window_shell: the pane's program instead of a shell


@dataclass
class _Window:
    name: str | None  # None: tmux's automatic name
    panes: list[_Pane]
    layout: str | None = None
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    focus: bool = False
    options: dict[str, str] = field(default_factory=dict)


class _Notes:
    """What could not be converted, one line per kind: ``file:line: key: what`` and where else."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.kinds: dict[str, tuple[int, str, list[int]]] = {}  # kind -> (first line, text, other lines)
        self.secrets: list[str] = []  # names of secret variables left out

    def add(self, path: Key, what: str, kind: str | None = None) -> None:
        line = self.src.line(path) or 0
        kind = kind or what
        if kind in self.kinds:
            first, text, more = self.kinds[kind]
            if line != first and line not in more:
                more.append(line)
            return
        where = f"{self.src.file.name}:{line}: " if line else f"{self.src.file.name}: "
        key = dotted(path)
        self.kinds[kind] = (line, where + (f"{key}: " if key else "") + what, [])

    def raw(self, line: int, what: str) -> None:
        where = f"{self.src.file.name}:{line}: " if line else f"{self.src.file.name}: "
        self.kinds.setdefault(f"raw:{line}:{what}", (line, where + what, []))

    def sorted(self) -> list[str]:
        out = []
        for _, text, more in sorted(self.kinds.values(), key=lambda item: item[0]):
            if more:
                shown = ", ".join(str(n) for n in sorted(more)[:8]) + (", ..." if len(more) > 8 else "")
                text += f" ({len(more) + 1} places; also line{'s' if len(more) > 1 else ''} {shown})"
            out.append(text)
        return out


# --------------------------------------------------------------------------- entry point


def convert(text: str, file: Path, project: Path | None = None,
            environ: Mapping[str, str] | None = None) -> Conversion:
    """Detect the format of ``text`` (read from ``file``) and convert it.

    ``project``: the folder ``import`` runs in (relative paths, ``${PWD}``); ``environ``: the
    environment tmuxp would expand variables from (default: this process's, with that ``PWD``).
    """
    project = (project or Path.cwd()).resolve()
    env = dict(os.environ if environ is None else environ)
    env["PWD"] = str(project)
    text, placeholders, erb = _strip_erb(text)
    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProfileError(f"invalid JSON: {exc}", file=file) from None
        src = Source(file, _restore(data, placeholders))
        data = src.data
    else:
        src = parse_foreign(text, file)
        src.data = data = _restore(src.data, placeholders)
    if not isinstance(data, dict):
        raise ProfileError("not a tmuxinator or tmuxp config (expected a mapping with windows)", file=file)
    notes = _Notes(src)
    for line, what in erb:
        notes.raw(line, what)
    for path in src.duplicates:
        notes.add(path, "given twice: the last one is kept (as the original tool does)", kind="duplicate")
    windows = data.get("windows")
    if set(data) <= set(TOP_KEYS) and isinstance(windows, list) and windows and all(
            isinstance(w, dict) and "name" in w for w in windows):
        raise ProfileError("this is a devenv profile already: copy it to .devenv/default.yaml", file=file)
    kind = detect(data)
    if kind is None:
        raise ProfileError("not a tmuxinator or tmuxp config: found neither tmuxp's session_name / window_name "
                           "nor tmuxinator's name / root / windows of `- name: command`", file=file)
    profile: dict[str, Any] = {}
    converter = _Tmuxp(data, notes, project, file.parent.resolve(), env) if kind == "tmuxp" else \
        _Tmuxinator(data, notes, project, env.get("HOME"))
    converted = converter.convert(profile)
    profile["windows"] = _finish(converted, notes, profile, project, converter.root, env.get("HOME"))
    return Conversion(kind, _ordered(profile), notes.sorted())


def _ordered(profile: dict[str, Any]) -> dict[str, Any]:
    order = ("session", "root", "env", "requires", "hooks", "options", "windows")
    return {k: profile[k] for k in order if profile.get(k)} | {"windows": profile["windows"]}


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
            elif re.fullmatch(r"""(["'])[^"'#\\]*\1""", body):  # a literal string
                value = body[1:-1]
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


# --------------------------------------------------------------------------- shared checks


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _scalar(notes: _Notes, path: Key, value: Any, what: str) -> str:
    """A name, path or command: a string or a number, else a profile error naming the key."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise notes.src.error(path, f"must be a string ({what}), not {_type(value)}")
    return str(value)


def _lines(notes: _Notes, path: Key, value: Any, what: str = "a command") -> list[str]:
    """A command or a list of commands, as lines (``None`` items are skipped)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        if item is None:
            continue
        text = _scalar(notes, path + (i,) if isinstance(value, list) else path, item, what).strip()
        if text:
            out.extend(text.splitlines())
    return out


def _layout(value: Any, path: Key, notes: _Notes) -> str | None:
    if value is None:
        return None
    text = _scalar(notes, path, value, "a layout").strip()
    if text in LAYOUTS or LAYOUT_STRING.match(text):
        return text
    notes.add(path, f"layout {text!r} not converted (known: {', '.join(LAYOUTS)}, or a tmux layout string): "
              "tmux's default splits instead")
    return None


def _options(value: Any, path: Key, notes: _Notes, expand: Any = None, *, level: str) -> dict[str, str]:
    """tmux options devenv can set (session and window ones, on this session only); others noted."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise notes.src.error(path, f"must be a mapping of tmux options, not {_type(value)}")
    out: dict[str, str] = {}
    for name, val in value.items():
        key = path + (str(name),)
        if val is None or isinstance(val, (list, dict)):
            raise notes.src.error(key, f"must be a string, a number or true/false, not {_type(val)}")
        try:
            _, scope = tmuxopts.parse(str(name))
        except ValueError as exc:
            notes.add(key, f"not converted: {exc}")
            continue
        if level == "window" and scope == tmuxopts.SESSION:
            notes.add(key, "a session option set on a window: set on the session instead", kind="session-option")
            scope = "move"
        text = tmuxopts.value_text(val)
        if expand is not None:
            expanded = expand(text, key)
            if expanded is None:
                notes.add(key, "not converted: its value names a variable that is not set here")
                continue
            text = expanded
        out[("^" if scope == "move" else "") + str(name)] = text
    return out


def _env(value: Any, path: Key, notes: _Notes, expand: Any = None) -> dict[str, str]:
    """Environment values; secrets are not copied (they belong in .env.local), but required."""
    if not isinstance(value, dict):
        raise notes.src.error(path, f"environment must be a mapping, not {_type(value)}")
    out: dict[str, str] = {}
    for key, val in value.items():
        key = str(key)
        if not ENV_NAME.match(key):
            notes.add(path + (key,), "not a valid variable name: not converted")
            continue
        if isinstance(val, (list, dict)):
            raise notes.src.error(path + (key,), f"must be a string, not {_type(val)}")
        text = "" if val is None else ("true" if val is True else "false" if val is False else str(val))
        if expand is not None:
            text = expand(text, path + (key,))
        if is_secret_key(key) or secret_values({key: text}):
            notes.add(path + (key,), "a secret: its value was not copied; put it in .env.local "
                      "(listed in requires.env)", kind="secret")
            notes.secrets.append(key)
            continue
        out[key] = _literal(text)
    return out


def _literal(text: str) -> str:
    """A value devenv interpolates (env, root, cwd) that must stay as it is: ``${`` escaped."""
    return text.replace("${", "$${")


# --------------------------------------------------------------------------- tmuxinator


_TMUXINATOR_IGNORED = {
    "on_project_restart": "hook (run when tmuxinator attaches to a running session: devenv has none)",
    "on_project_exit": "hook (run when the tmux client detaches: devenv has none)",
    "post": "hook (deprecated on_project_exit: devenv has none)",
    "tmux_options": "tmux command-line option", "cli_args": "tmux command-line option",
    "tmux_command": "tmux command", "socket_name": "tmux socket (use devenv -L NAME)", "socket_path": "tmux socket",
    "attach": "attach setting (use devenv up -d)", "tmux_detached": "attach setting (use devenv up -d)",
}
# template.erb: cd root; on_project_start (every start, a reattach too); when the session is new: pre
# (deprecated), on_project_first_start. template-stop.erb: on_project_stop, then kill-session. A list: "; ".
_NEW_SESSION_ONLY = "tmuxinator runs it when the session is new; devenv's before_up also before a repair"
_TMUXINATOR_BEFORE_UP = (
    ("on_project_start", "tmuxinator runs it at every start, a reattach too; devenv's before_up runs when up "
                         "starts something (a new session or a repair)"),
    ("pre", _NEW_SESSION_ONLY),
    ("on_project_first_start", _NEW_SESSION_ONLY))
_TMUXINATOR_AFTER_DOWN = ("on_project_stop", "tmuxinator runs it before the session is killed; devenv's "
                                             "after_down once everything has stopped")
_TMUXINATOR_KNOWN = {"name", "project_name", "root", "project_root", "windows", "tabs", "pre_window", "pre_tab",
                     "on_project_start", "pre", "on_project_first_start", "on_project_stop",
                     "rbenv", "rvm", "startup_window", "startup_pane", "enable_pane_titles", "pane_title_position",
                     "pane_title_format"}


class _Tmuxinator:
    """tmuxinator 3.x: lib/tmuxinator/project.rb, window.rb, pane.rb and assets/template.erb."""

    def __init__(self, data: dict[str, Any], notes: _Notes, project: Path, home: str | None) -> None:
        self.data, self.notes, self.project, self.home = data, notes, project, home
        self.root = project  # the session's folder

    def convert(self, profile: dict[str, Any]) -> list[_Window]:
        data, notes = self.data, self.notes
        for key in data:
            if key in _TMUXINATOR_IGNORED:
                notes.add((key,), f"{_TMUXINATOR_IGNORED[key]} not converted")
            elif key not in _TMUXINATOR_KNOWN:
                notes.add((key,), "unknown key not converted")
        # project.rb: project_name || name, project_root || root
        name_key = "project_name" if data.get("project_name") else "name"
        for other, used in (("name", "project_name"), ("root", "project_root"), ("windows", "tabs")):
            if data.get(used) and data.get(other):
                notes.add((other,), f"tmuxinator uses {used} over {other}: {other} left out")
        name = data.get(name_key)
        if name is not None and name != "":
            profile["session"] = _scalar(notes, (name_key,), name, "the project name")
        root_key = "project_root" if data.get("project_root") else "root"
        root = data.get(root_key)
        if root is not None and root != "":
            text = _scalar(notes, (root_key,), root, "a folder")
            self.root = _expand_path(text, self.project, self.home)
        self._hooks(profile)
        prefix = self._pre_window()
        wkey = "tabs" if data.get("tabs") else "windows"
        items = data.get(wkey) or []
        if not isinstance(items, list):
            raise notes.src.error((wkey,), f"must be a list of windows, not {_type(items)}")
        windows = [self._window(item, (wkey, i), prefix) for i, item in enumerate(items)]
        self._titles(windows, profile)
        start = data.get("startup_window")
        if start is not None:
            _focus_window(windows, start, ("startup_window",), notes)
        pane = data.get("startup_pane")
        if pane is not None:
            target = next((w for w in windows if w.focus), windows[0] if windows else None)
            if isinstance(pane, int) and not isinstance(pane, bool) and target and 0 <= pane < len(target.panes):
                for p in target.panes:
                    p.focus = False
                target.panes[pane].focus = True
            else:
                notes.add(("startup_pane",), f"no pane {pane!r} in the startup window: not converted")
        return windows

    def _hook(self, key: str) -> str | None:
        """hooks/project.rb: a hook's shell text (a list joined with '; '), None when empty."""
        value = self.data.get(key)
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, list):
            return "; ".join(_scalar(self.notes, (key, i), v, "a command") for i, v in enumerate(value)
                             if v is not None) or None
        return _scalar(self.notes, (key,), value, "a command")

    def _hooks(self, profile: dict[str, Any]) -> None:
        """The project hooks with a devenv equivalent (run in ``root``, as tmuxinator runs them), each
        difference in when they run said once."""
        hooks: dict[str, list[str]] = {}
        for key, why in _TMUXINATOR_BEFORE_UP:
            command = self._hook(key)
            if command is not None:
                hooks.setdefault("before_up", []).append(command)
                self.notes.add((key,), f"converted to hooks.before_up: {why}")
        key, why = _TMUXINATOR_AFTER_DOWN
        command = self._hook(key)
        if command is not None:
            hooks["after_down"] = [command]
            self.notes.add((key,), f"converted to hooks.after_down: {why}")
        if hooks:
            profile["hooks"] = hooks

    def _pre_window(self) -> list[str]:
        """project.rb pre_window: rbenv, else rvm, else pre_tab, else pre_window (a list joined with '; ')."""
        data, notes = self.data, self.notes
        chain = [("rbenv", "rbenv shell {}"), ("rvm", "rvm use {}"), ("pre_tab", "{}"), ("pre_window", "{}")]
        used = next((k for k, _ in chain if data.get(k)), None)
        for key, _ in chain:
            if data.get(key) and key != used:
                notes.add((key,), f"tmuxinator uses {used} before {key}: {key} left out")
        if used is None:
            return []
        value = data[used]
        if isinstance(value, list):
            value = "; ".join("" if v is None else _scalar(notes, (used,), v, "a command") for v in value)
        text = _scalar(notes, (used,), value, "a command")
        return [dict(chain)[used].format(text)]

    def _window(self, item: Any, path: Key, prefix: list[str]) -> _Window:
        notes = self.notes
        if isinstance(item, str):  # `- name`: a window of that name with nothing typed
            return _Window(item, [_Pane(list(prefix))])
        if not isinstance(item, dict) or len(item) != 1:
            raise notes.src.error(path, "a tmuxinator window is `- name: command` or `- name: {panes: ...}`")
        ((name, body),) = item.items()
        path = path + ("~" if name is None else str(name),)
        if name is not None and not isinstance(name, str):
            raise notes.src.error(path, f"a window name must be a string, not {_type(name)}")
        win = _Window(name, [])
        if not isinstance(body, dict):  # window.rb build_commands: a string or a list of them
            if body is not None and not isinstance(body, (str, list)):
                notes.add(path, f"{_type(body)} is not a command: tmuxinator types nothing", kind="not-command")
                body = None
            win.panes = [_Pane(prefix + _lines(notes, path, body))]
            return win
        for key in body:
            if key not in ("root", "layout", "panes", "pre", "synchronize"):
                notes.add(path + (key,), "unknown window key not converted")
        if body.get("root"):
            win.cwd = str(_expand_path(_scalar(notes, path + ("root",), body["root"], "a folder"), self.project,
                                       self.home))
        if body.get("synchronize") in (True, "before", "after"):
            win.options["synchronize-panes"] = "on"
        panes = body.get("panes")
        pre = self._pre(body.get("pre"), path + ("pre",))
        if panes is None or panes == []:
            if pre:
                notes.add(path + ("pre",), "tmuxinator types a window's pre only in its panes: this window "
                          "has none, left out (as tmuxinator does)")
            win.panes = [_Pane(list(prefix))]
            win.layout = _layout(body.get("layout"), path + ("layout",), notes)
            return win
        items = panes if isinstance(panes, list) else [panes]
        win.panes = [self._pane(p, path + ("panes", j) if isinstance(panes, list) else path + ("panes",),
                                prefix + pre) for j, p in enumerate(items)]
        # the template selects each window's first pane: devenv's default
        # each pane is followed by `select-layout tiled`, then the window's layout (none: tiled again)
        win.layout = _layout(body.get("layout"), path + ("layout",), notes) or ("tiled" if len(items) > 1 else None)
        return win

    def _pre(self, value: Any, path: Key) -> list[str]:
        """window.rb pre: a list joined with ' && ', typed before each pane's commands."""
        if value is None:
            return []
        if isinstance(value, list):
            if any(v is None for v in value):
                self.notes.add(path, "an empty item: tmuxinator joins it in as ' && ' (the shell then waits for "
                               "more); left out", kind="pre-empty")
            parts = [_scalar(self.notes, path + (i,), v, "a command") for i, v in enumerate(value) if v is not None]
            return [" && ".join(parts)] if parts else []
        return _lines(self.notes, path, value)

    def _pane(self, item: Any, path: Key, prefix: list[str]) -> _Pane:
        if isinstance(item, dict):  # {title: commands}
            if len(item) != 1:
                raise self.notes.src.error(path, "a tmuxinator pane is a command, a list of them or "
                                           "{title: commands}")
            ((title, cmds),) = item.items()
            pane = _Pane(prefix + _lines(self.notes, path + (str(title),), cmds))
            pane.title = None if title is None else str(title)
            return pane
        return _Pane(prefix + _lines(self.notes, path, item))

    def _titles(self, windows: list[_Window], profile: dict[str, Any]) -> None:
        """Pane titles are set; the pane border shows them only with enable_pane_titles."""
        data = self.data
        titled = any(p.title is not None for w in windows for p in w.panes)
        options: dict[str, str] = {}
        if data.get("enable_pane_titles"):
            position = data.get("pane_title_position")
            options["pane-border-status"] = position if position in ("top", "bottom") else "top"
            if data.get("pane_title_format"):
                options["pane-border-format"] = _scalar(self.notes, ("pane_title_format",),
                                                        data["pane_title_format"], "a format")
        elif titled:
            options["pane-border-status"] = "off"  # tmuxinator sets titles, and shows them only when asked
        if options:
            profile["options"] = {**profile.get("options", {}), **options}


def _focus_window(windows: list[_Window], start: Any, path: Key, notes: _Notes) -> None:
    named = [w for w in windows if w.name == str(start)]
    if named:
        named[0].focus = True
    elif isinstance(start, int) and not isinstance(start, bool) and 0 <= start < len(windows):
        windows[start].focus = True
        notes.add(path, f"window index {start} read with tmux's default base-index 0: "
                  f"focus on {windows[start].name or f'window {start}'!r}")
    else:
        notes.add(path, f"no window {start!r}: not converted")


# --------------------------------------------------------------------------- tmuxp


_TMUXP_IGNORED = {"options": None, "global_options": None, "environment": None, "before_script": None,
                  "plugins": "plugins not converted", "suppress_history": None,
                  "config": "tmux config file (tmuxp -f) not converted", "socket_name": "tmux socket not "
                  "converted (use devenv -L NAME)", "workspace_builder": "workspace builder not converted",
                  "workspace_builder_options": "workspace builder not converted",
                  "on_project_start": "hook (newer tmuxp) not converted", "on_project_exit": "hook (newer tmuxp) "
                  "not converted", "on_project_restart": "hook (newer tmuxp) not converted",
                  "on_project_stop": "hook (newer tmuxp) not converted",
                  "enable_pane_titles": None, "pane_title_position": None, "pane_title_format": None}
_TMUXP_KNOWN = {"session_name", "start_directory", "windows", "shell_command_before"}
_WIN_KEYS = {"window_name", "layout", "start_directory", "shell_command_before", "shell_command_after", "panes",
             "focus", "environment", "options", "options_after", "window_index", "window_shell",
             "suppress_history", "synchronize", "clear", "if"}
_PANE_KEYS = {"shell_command", "shell_command_before", "start_directory", "environment", "sleep_before",
              "sleep_after", "enter", "cmd", "focus", "suppress_history", "shell", "title", "if"}
_BLANK = (None, "blank", "pane", "")


class _Tmuxp:
    """tmuxp 1.7x: workspace/loader.py (expand, trickle) and workspace/builder/classic.py."""

    def __init__(self, data: dict[str, Any], notes: _Notes, project: Path, config_dir: Path,
                 environ: dict[str, str]) -> None:
        self.data, self.notes, self.project, self.config_dir, self.environ = data, notes, project, config_dir, environ
        self.root = project  # the session's folder
        self.missing: list[str] = []  # variables the last expand found unset

    def expand(self, text: str, path: Key) -> str:
        """loader.expandshell: ``os.path.expandvars(os.path.expanduser(value))`` with the import's environment."""
        if text.startswith("~"):
            head, sep, tail = text.partition("/")
            home = self.environ.get("HOME") if head == "~" else os.path.expanduser(head)
            if home and not home.startswith("~"):
                text = home + sep + tail
        missing: list[str] = []

        def var(m: re.Match[str]) -> str:
            name = m[1] or m[2]
            if name in self.environ:
                return self.environ[name]
            missing.append(name)
            return m[0]

        text = re.sub(r"\$(?:(\w+)|\{([^}]*)\})", var, text)
        self.missing = missing
        for name in missing:
            self.notes.add(path, f"${name} is not set here: left as written (tmuxp expands it when it loads)",
                           kind=f"unset:{name}")
        return text

    def path(self, value: Any, path: Key, parent: str | None) -> str:
        """loader.expand of a start_directory: expanded; ``.``-relative to ``parent`` (else the config's folder)."""
        text = self.expand(_scalar(self.notes, path, value, "a folder"), path)
        if text.startswith("."):
            base = Path(parent) if parent is not None else self.config_dir
            text = str((base / text).resolve(strict=False))
        return text

    def convert(self, profile: dict[str, Any]) -> list[_Window]:
        data, notes = self.data, self.notes
        for key in data:
            if key in _TMUXP_KNOWN or (key in _TMUXP_IGNORED and _TMUXP_IGNORED[key] is None):
                continue
            notes.add((key,), _TMUXP_IGNORED.get(key) or "unknown key not converted")
        if "suppress_history" in data:
            notes.add(("suppress_history",), "suppress_history not converted", kind="suppress_history")
        name = data.get("session_name")
        if name is not None and name != "":
            profile["session"] = self.expand(_scalar(notes, ("session_name",), name, "the session name"),
                                             ("session_name",))
        session_dir = None
        if data.get("start_directory") is not None:
            session_dir = self.path(data["start_directory"], ("start_directory",), None)
            self.root = _abs(session_dir, self.project, self.environ.get("HOME"))
        if data.get("environment") is not None:
            profile["env"] = _env(data["environment"], ("environment",), notes, self._expand_env(self.config_dir))
        self._session_options(profile)
        if data.get("before_script") is not None:
            script = self.expand(_scalar(notes, ("before_script",), data["before_script"], "before_script"),
                                 ("before_script",))
            if script.startswith("."):
                script = str(self.config_dir / script)
            # builder: run (no shell: shlex.split) in the session's start_directory; a failure stops the build
            argv = shlex.split(script)
            if argv and argv[0].startswith("/"):
                argv[0] = _rel_command(Path(argv[0]), self.root, self.project)
            profile["hooks"] = {"before_up": [shlex.join(argv)]}
        prefix = _cmds(self, data.get("shell_command_before"), ("shell_command_before",))
        items = data.get("windows") or []
        if not isinstance(items, list):
            raise notes.src.error(("windows",), f"must be a list of windows, not {_type(items)}")
        windows = [self._window(item, ("windows", i), prefix, session_dir, profile) for i, item in enumerate(items)]
        for win in [w for w in windows if w.focus][:-1]:  # the builder selects each in turn: the last stays
            win.focus = False
        return self._by_index(windows, items)

    def _expand_env(self, base: Path, *, options: bool = False) -> Any:
        """loader.expand of environment and option values: expanded, ``.``-relative to ``base``."""
        def expand(text: str, path: Key) -> str | None:
            text = self.expand(text, path)
            if options and self.missing:
                return None  # tmux would refuse the literal ${VAR} (tmuxp fails there)
            return str(base / text) if text.startswith(".") else text
        return expand

    def _session_options(self, profile: dict[str, Any]) -> None:
        data, notes = self.data, self.notes
        expand = self._expand_env(self.config_dir, options=True)
        options = _options(data.get("options"), ("options",), notes, expand, level="session")
        glob = _options(data.get("global_options"), ("global_options",), notes, expand, level="session")
        if glob:
            notes.add(("global_options",), "set on this session only (devenv never sets tmux options globally)")
        merged = {**glob, **options}
        if data.get("enable_pane_titles"):  # newer tmuxp: every window's border shows its panes' titles
            position = data.get("pane_title_position")
            merged["pane-border-status"] = position if position in ("top", "bottom") else "top"
            merged["pane-border-format"] = str(data.get("pane_title_format") or "#{pane_index}: #{pane_title}")
        if merged:
            profile["options"] = merged

    def _window(self, item: Any, path: Key, prefix: list[str], session_dir: str | None,
                profile: dict[str, Any]) -> _Window:
        notes = self.notes
        if not isinstance(item, dict):
            raise notes.src.error(path, f"a tmuxp window is a mapping with window_name and panes, not {_type(item)}")
        for key in item:
            if key not in _WIN_KEYS:
                notes.add(path + (key,), "unknown window key not converted")
        name = item.get("window_name")
        win = _Window(None if name is None else self.expand(_scalar(notes, path + ("window_name",), name,
                                                                    "a window name"), path + ("window_name",)), [])
        # loader.expand: ./ is relative to the session's start_directory; trickle: relative ones join it
        own = item.get("start_directory")
        raw = None  # the window's start_directory after expand, before trickle (./ panes start there)
        if own is not None:
            raw = text = self.path(own, path + ("start_directory",), session_dir if str(own).startswith(".") and
                                   session_dir is not None else None)
            if session_dir and not text.startswith(("~", "/")):
                text = str(Path(session_dir) / text)
            win.cwd = text
        elif session_dir:
            win.cwd = session_dir
        win.layout = _layout(item.get("layout"), path + ("layout",), notes)
        if item.get("environment") is not None:
            win.env = _env(item["environment"], path + ("environment",), notes, self._expand_env(self.project))
        win.focus = bool(item.get("focus"))
        expand = self._expand_env(self.project, options=True)
        options = _options(item.get("options"), path + ("options",), notes, expand, level="window")
        options.update(_options(item.get("options_after"), path + ("options_after",), notes, expand,
                                level="window"))
        for key in [k for k in options if k.startswith("^")]:
            profile.setdefault("options", {})[key[1:]] = options.pop(key)
        if item.get("synchronize") in (True, "before", "after"):
            options["synchronize-panes"] = "on"
        win.options = options
        if "if" in item:
            notes.add(path + ("if",), "tmuxp 1.7 builds the window whatever the condition (newer tmuxp may "
                      "leave it out): kept", kind="if")
        for key, what in (("suppress_history", "suppress_history not converted"),
                          ("clear", "clear not converted")):
            if key in item:
                notes.add(path + (key,), what, kind=key)
        if "window_index" in item:
            notes.add(path + ("window_index",), "devenv numbers windows in order: the windows are in tmux's "
                      "order (by window_index), the numbers themselves are not kept", kind="window_index")
        before = prefix + _cmds(self, item.get("shell_command_before"), path + ("shell_command_before",))
        after = _cmds(self, item.get("shell_command_after"), path + ("shell_command_after",))
        panes = item.get("panes")
        if panes is None:
            panes = [None]
        if not isinstance(panes, list):
            raise notes.src.error(path + ("panes",), f"must be a list of panes, not {_type(panes)}")
        win.panes = [self._pane(p, path + ("panes", j), before, after, raw) for j, p in enumerate(panes)]
        if not win.panes:
            win.panes = [_Pane(list(before))]
        shell = item.get("window_shell")
        if shell is not None:
            text = _scalar(notes, path + ("window_shell",), shell, "window_shell")
            for p in win.panes:
                p.shell = p.shell or text
        for p in win.panes:
            if p.shell is not None and p.lines:
                notes.add(path, "commands typed into a pane's shell / window_shell program (not a shell) not "
                          "converted", kind="typed-into-program")
                p.lines = []
        # builder: each split is made active; a pane with focus is selected at the end (the last one wins)
        focused = [p for p in win.panes if p.focus]
        for p in win.panes:
            p.focus = False
        (focused[-1] if focused else win.panes[-1]).focus = True
        return win

    def _pane(self, item: Any, path: Key, before: list[str], after: list[str], raw: str | None) -> _Pane:
        notes = self.notes
        if not isinstance(item, dict):  # loader.expand_cmd: a string, a list, or blank
            if isinstance(item, str) and item.strip() in _BLANK:
                return _Pane(before + after if before or after else [])
            return _Pane(before + _cmds(self, item, path) + after)
        for key in item:
            if key not in _PANE_KEYS:
                notes.add(path + (key,), "unknown pane key not converted")
        pane_before = _cmds(self, item.get("shell_command_before"), path + ("shell_command_before",))
        own = item.get("shell_command", [item] if "cmd" in item else None)
        if isinstance(own, str) and own.strip() in _BLANK or own in ([None], ["blank"], ["pane"]):
            own = None
        lines = _cmds(self, own, path + ("shell_command",), pane=item)
        pane = _Pane(before + pane_before + lines + after)
        if item.get("start_directory") is not None:
            # loader.expand: ./ relative to the window's start_directory as written; others as they are
            # (tmux then takes a relative one from the folder tmuxp runs in)
            pane.cwd = self.path(item["start_directory"], path + ("start_directory",), raw
                                 if str(item["start_directory"]).startswith(".") and raw else None)
        if item.get("environment") is not None:
            pane.env = _env(item["environment"], path + ("environment",), notes, self._expand_env(self.project))
        pane.focus = bool(item.get("focus"))
        if item.get("title") is not None:
            pane.title = _scalar(notes, path + ("title",), item["title"], "a title")
        if item.get("shell") is not None:
            pane.shell = _scalar(notes, path + ("shell",), item["shell"], "shell")
        for key, what, kind in (("if", "tmuxp 1.7 builds the pane whatever the condition (newer tmuxp may leave "
                                 "it out): kept", "if"), ("suppress_history", "suppress_history not converted",
                                                         "suppress_history")):
            if key in item:
                notes.add(path + (key,), what, kind=kind)
        return pane

    def _by_index(self, windows: list[_Window], items: list[Any]) -> list[_Window]:
        """tmux's order: a window_index where given, else the first free index (base-index 0)."""
        used: dict[int, _Window] = {}
        for win, item in zip(windows, items, strict=True):
            wanted = item.get("window_index") if isinstance(item, dict) else None
            if wanted is not None:
                try:
                    index = int(wanted)
                except (TypeError, ValueError):
                    raise self.notes.src.error(("windows", items.index(item), "window_index"),
                                               f"must be a number, not {wanted!r}") from None
            else:
                index = next(i for i in range(len(items) + len(used) + 1) if i not in used)
            if index in used:
                raise self.notes.src.error(("windows", items.index(item), "window_index"),
                                           f"index {index} is taken already (tmux would refuse it)")
            used[index] = win
        return [used[i] for i in sorted(used)]


def _cmds(tp: _Tmuxp, value: Any, path: Key, pane: dict[str, Any] | None = None) -> list[str]:
    """tmuxp commands (loader.expand_cmd): a string, a list of strings or ``{cmd, enter, sleep_before,
    sleep_after}``; as the builder types them, ``enter`` and the sleeps carry on to the next command."""
    notes = tp.notes
    if value is None:
        return []
    if isinstance(value, dict):
        value = value.get("shell_command", [value] if "cmd" in value else [])
        path = path + ("shell_command",)
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    pane = pane or {}
    enter, before, after = pane.get("enter", True), pane.get("sleep_before"), pane.get("sleep_after")
    for j, item in enumerate(items):
        where = path + (j,) if isinstance(value, list) else path
        spec = item if isinstance(item, dict) else {"cmd": item}
        for key in spec:
            if key not in ("cmd", "enter", "sleep_before", "sleep_after"):
                notes.add(where + (key,), "unknown command key not converted")
        enter = spec.get("enter", enter)
        before = spec.get("sleep_before", before)
        after = spec.get("sleep_after", after)
        if spec.get("cmd") is None:
            continue
        text = _scalar(notes, where + ("cmd",) if isinstance(item, dict) else where, spec["cmd"], "a command")
        if enter is False:
            notes.add(where, "enter: false (typed, not run) not converted: left out", kind="enter")
            continue
        if before:
            out.append(f"sleep {before}")
        out += [line for line in text.splitlines() if line.strip()]
        if after:
            out.append(f"sleep {after}")
    return out


# --------------------------------------------------------------------------- paths


def _expanduser(text: str, home: str | None) -> str:
    if home and (text == "~" or text.startswith("~/")):
        return home + text[1:]
    return os.path.expanduser(text)


def _expand_path(text: str, base: Path, home: str | None) -> Path:
    """Ruby's File.expand_path: ``~`` expanded, relative to ``base`` (where tmuxinator runs)."""
    path = Path(_expanduser(text.strip(), home))
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def _abs(text: str, project: Path, home: str | None) -> Path:
    """A path as tmux takes it: ``~`` expanded, relative to the folder the tool ran in."""
    path = Path(_expanduser(text, home))
    return Path(os.path.normpath(path if path.is_absolute() else project / path))


def _rel(path: Path, base: Path, home: str | None = None) -> str:
    """A folder for the profile: relative to ``base`` when inside it, else ``${HOME}/...`` when in the home
    folder, else absolute (devenv interpolates folders: a literal ``${`` is escaped)."""
    try:
        rel = path.relative_to(base).as_posix()
        return "." if rel in ("", ".") else _literal(rel)
    except ValueError:
        pass
    if home:
        try:
            rel = path.relative_to(Path(home)).as_posix()
            return "${HOME}" + ("" if rel in ("", ".") else "/" + _literal(rel))
        except ValueError:
            pass
    return _literal(str(path))


def _rel_command(path: Path, root: Path, project: Path) -> str:
    """A script's path for a hook run in ``root``: relative when it lies in the project."""
    try:
        path.relative_to(project)
    except ValueError:
        return str(path)
    rel = Path(os.path.relpath(path, root)).as_posix()
    return rel if rel.startswith("../") else "./" + rel


# --------------------------------------------------------------------------- profile


def _finish(windows: list[_Window], notes: _Notes, profile: dict[str, Any], project: Path, root: Path,
            home: str | None) -> list[dict[str, Any]]:
    """devenv window mappings: unique names, commands as lines, folders relative to the root."""
    session = profile.get("session")
    if session is not None:
        clean = re.sub(r"[:.$\\\x00-\x1f\x7f]", "_", session)
        if clean != session:
            notes.add(("session_name",) if "session_name" in notes.src.data else ("name",),
                      f"session named {clean!r} (tmux session names cannot hold ':', '.', '$' or '\\')")
        profile["session"] = clean if clean.strip() else None
    if root != project:
        profile["root"] = _rel(root, project, home)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, win in enumerate(windows):
        name = win.name
        options = dict(win.options)
        if name is None:
            options = {**AUTO_NAME, **options}
            name = f"window{i}"
        clean = re.sub(r"[\x00-\x1f\x7f]", " ", name)
        base, n = clean if clean.strip() else f"window{i}", 2
        clean = base
        while clean in seen:
            clean = f"{base}-{n}"
            n += 1
        if win.name is not None and clean != win.name and base == win.name and \
                not {"automatic-rename", "automatic-rename-format"} & set(options):
            # a second window of that name: unique in the profile, shown by tmux as the original showed it
            # (devenv finds its windows by the name it recorded with them, not by what tmux shows)
            options.update({"automatic-rename": "on", "automatic-rename-format": win.name.replace("#", "##")})
            notes.add(("windows", i), f"window {win.name!r} named {clean!r} in the profile (devenv window names "
                      f"are unique); tmux still shows it as {win.name!r}", kind=f"rename:{i}")
        elif win.name is not None and clean != win.name:
            notes.add(("windows", i), f"window {win.name!r} named {clean!r} (devenv window names are unique and "
                      "not empty)", kind=f"rename:{i}")
        seen.add(clean)
        for p in win.panes:
            nested = next((line for line in p.lines[:-1] if NESTED.match(line)), None)
            if nested is not None:
                notes.add(("windows", i), f"the lines typed after `{nested.strip()}` went into that program under "
                          "the original tool; devenv runs them in your shell once it exits", kind="nested")
            if any(TYPES_EXIT.search(line) for line in p.lines):
                notes.add(("windows", i), "a pane types `exit`: its shell ends there; the original tool then "
                          "loses the pane (and a window whose last pane it is), devenv keeps it, ended",
                          kind="exit")
        d: dict[str, Any] = {"name": clean}
        wdir = _abs(win.cwd, project, home) if win.cwd else root
        if wdir != root:
            d["cwd"] = _rel(wdir, root, home)
        if any(p.lines for p in win.panes):
            d["interactive"] = True
        if len(win.panes) < 2 or win.panes[0].focus or not any(p.focus for p in win.panes):
            for p in win.panes:  # the first pane is the active one unless another has focus
                p.focus = False
        panes = [_pane_dict(p, wdir, project, home, d.get("interactive", False)) for p in win.panes]
        if len(panes) == 1 and not isinstance(panes[0], dict):
            if panes[0] is not None:
                d["command"] = panes[0]
        else:
            d["panes"] = panes
        if win.layout and len(win.panes) > 1:
            d["layout"] = win.layout
        if win.env:
            d["env"] = win.env
        if win.focus:
            d["focus"] = True
        if options:
            d["options"] = options
        out.append(d)
    _spread_pane_env(out, windows)
    if not out:
        notes.add(("windows",), "no windows: wrote one shell window")
        out.append({"name": "shell"})
    if notes.secrets:
        profile.setdefault("requires", {})["env"] = list(dict.fromkeys(notes.secrets))
    return out


def _spread_pane_env(out: list[dict[str, Any]], windows: list[_Window]) -> None:
    """tmuxp: a pane's environment replaces its window's (it is not merged over it)."""
    for d, win in zip(out, windows, strict=True):
        if not win.env or not any(p.env is not None for p in win.panes) or "panes" not in d:
            continue
        env = d.pop("env")
        panes = []
        for p, spec in zip(win.panes, d["panes"], strict=True):
            if p.env is None:
                spec = {"command": spec} if not isinstance(spec, dict) else spec
                spec["env"] = env
                spec = {k: v for k, v in spec.items() if v is not None}
            panes.append(spec)
        d["panes"] = panes


def _pane_dict(p: _Pane, wdir: Path, project: Path, home: str | None, interactive: bool) -> Any:
    command: Any = None
    if p.shell is not None:
        command = p.shell
    elif p.lines:
        command = p.lines[0] if len(p.lines) == 1 else list(p.lines)
    spec: dict[str, Any] = {"command": command}
    if p.cwd is not None:
        pdir = _abs(p.cwd, project, home)
        if pdir != wdir:
            spec["cwd"] = _rel(pdir, wdir, home)
    if p.env is not None:
        spec["env"] = p.env
    if p.title is not None:
        spec["title"] = p.title
    if p.focus:
        spec["focus"] = True
    if p.shell is not None and interactive:
        spec["interactive"] = False
    if list(spec) == ["command"]:
        return command
    return {k: v for k, v in spec.items() if v is not None}


def import_file(path: Path, project: Path, environ: Mapping[str, str] | None = None) -> tuple[Written, str]:
    """Convert the tmuxinator / tmuxp config ``path``; returns the profile and the format's name."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=path) from None
    result = convert(text, path, project, environ)
    rendered = to_yaml(result.profile, [f"imported from {path.name} ({result.kind}) by devenv import"])
    try:
        check_loads(rendered, project)
    except ProfileError as exc:
        raise ProfileError(f"cannot convert: the result would be invalid ({exc.message})", file=path) from None
    return Written(rendered, tuple(result.notes), tuple(w["name"] for w in result.profile["windows"])), result.kind
