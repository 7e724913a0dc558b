"""The JSON Schema of profile files, for editors (``# yaml-language-server: $schema=...``).

It mirrors the checks of :mod:`devenv.profile.validate` that a schema can express: known
keys only, types, enums, one of command / panes / db / logs per window, one
kind per probe. What it cannot express is left to ``devenv config``: duplicate
window names, ``after:`` naming unknown windows or forming a cycle, ``extends``
naming a profile that exists, a window list that is empty after merging, regular
expressions that Python cannot compile.

Values the loader reads as text also accept numbers (``port: 3000``,
``command: 42``), as the loader does.
"""

from __future__ import annotations

from typing import Any

from devenv.names import ENV_NAME as _ENV_NAME
from devenv.profile import tmuxopts
from devenv.profile.model import DEFAULT_MAX_RESTARTS, DEFAULT_WATCH_DEBOUNCE, HOOK_KEYS, LAYOUTS, PROBE_KINDS

_CTRL = "\\u0000-\\u001f\\u007f"

# a string that is not blank, or a number (the loader turns numbers into text)
TEXT: dict[str, Any] = {"type": ["string", "number"], "pattern": "\\S"}
# names: no control characters either
NAME: dict[str, Any] = {"type": ["string", "number"], "pattern": "\\S",
                        "not": {"type": "string", "pattern": f"[{_CTRL}]"}}
ENV_NAME = _ENV_NAME.pattern
PORT_NUMBER: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 65535}
_PORT = "0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# a port written as text: digits, or anything holding ${VAR} (checked once interpolated)
PORT_TEXT: dict[str, Any] = {"type": "string", "anyOf": [{"pattern": f"^{_PORT}$"}, {"pattern": "\\$\\{"}]}
PORT_LIST_TEXT: dict[str, Any] = {"type": "string", "anyOf": [{"pattern": f"^\\s*{_PORT}\\s*$"}, {"pattern": "\\$\\{"}]}


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {**TEXT, "description": description, **extra}


def _one_or_many(description: str, *, min_items: int = 0) -> dict[str, Any]:
    """A text or a list of texts (a lone number is not read as a one-item list)."""
    many: dict[str, Any] = {"type": "array", "items": TEXT}
    if min_items:
        many["minItems"] = min_items
    return {"description": description, "anyOf": [{"type": "string", "pattern": "\\S"}, many]}


ENV: dict[str, Any] = {
    "type": "object",
    "description": "Environment variables. ${VAR} and ${VAR:-default} are interpolated; $${ is a literal ${.",
    "propertyNames": {"pattern": ENV_NAME},
    "additionalProperties": {"type": ["string", "number", "boolean", "null"], "pattern": "^[^\\u0000]*$"},
}

PROBE: dict[str, Any] = {
    "type": "object",
    "description": "A readiness probe: exactly one of port, http, log, command, database.",
    "additionalProperties": False,
    "properties": {
        "port": {"description": "Ready when this TCP port accepts connections.",
                 "anyOf": [PORT_NUMBER, PORT_TEXT]},
        "http": _text("Ready when this URL answers with a status below 500."),
        "log": _text("Ready when the window's output matches this regular expression (Python syntax).",
                     format="regex"),
        "command": _text("Ready when this shell command exits 0."),
        "database": _text("Ready when this database (a URL, or the name of a variable holding one) answers."),
        "timeout": {"type": "number", "exclusiveMinimum": 0, "default": 60, "description": "Seconds."},
        "interval": {"type": "number", "exclusiveMinimum": 0, "default": 0.5, "description": "Seconds."},
    },
    "oneOf": [{"required": [kind]} for kind in PROBE_KINDS],
}

# a command: its text, or a list of lines (each typed in turn in an interactive pane)
LINES: dict[str, Any] = {"type": "array", "minItems": 1,
                         "items": {"type": ["string", "number"], "pattern": "\\S", "not": {"type": "string",
                                                                                       "pattern": "[\\n\\r]"}}}
COMMAND: dict[str, Any] = {"anyOf": [TEXT, LINES, {"type": "null"}]}


def _option_names(scopes: tuple[str, ...]) -> dict[str, Any]:
    names = sorted(n for n in tmuxopts.known() if tmuxopts.SCOPES[n] in scopes)
    names += sorted(a for a, n in tmuxopts.ALIASES.items() if tmuxopts.SCOPES[n] in scopes)
    arrays = "|".join(sorted(a for a in tmuxopts.ARRAYS if tmuxopts.SCOPES[a] in scopes))
    return {"anyOf": [{"enum": names}, {"pattern": "^@[A-Za-z0-9_.-]+$"}, {"pattern": f"^({arrays})\\[[0-9]+\\]$"}]}


def _options(description: str, scopes: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "object", "description": description, "propertyNames": _option_names(scopes),
            "additionalProperties": {"type": ["string", "number", "boolean"], "pattern": "^[^\\u0000\\n\\r]*$"}}


SESSION_OPTIONS = _options("tmux options set on this session only (window options: on each of its windows); "
                           "true / false are on / off. Never server options.", (tmuxopts.SESSION, tmuxopts.WINDOW))
WINDOW_OPTIONS = _options("tmux window (and pane) options set on this window only.", (tmuxopts.WINDOW,))

HOOKS: dict[str, Any] = {
    "type": "object",
    "description": "Shell commands run in the root with the profile's env: before_up in order before up "
                   "starts anything (a fresh build or a repair, not a plain reattach; the first failing stops up, "
                   "nothing started), after_down once every process of the session stopped (or, when it ended "
                   "another way, the next time devenv notices).",
    "additionalProperties": False,
    "properties": {key: {"anyOf": [{"type": "string", "pattern": "\\S"},
                                   {"type": "array", "items": {"type": ["string", "number"], "pattern": "\\S"}},
                                   {"type": "null"}]} for key in HOOK_KEYS},
}

PANE: dict[str, Any] = {
    "description": "A pane: its command (null: a plain shell; a list: its lines), or a mapping with command, "
                   "cwd, env, focus, title and interactive.",
    "anyOf": [
        {"type": ["string", "number", "null"]},
        LINES,
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "command": {**COMMAND, "description": "The pane's command (null: a shell; a list: its lines)."},
                "cwd": _text("Working directory, relative to the window's."),
                "env": ENV,
                "focus": {"type": "boolean", "description": "The window's active pane (one per window)."},
                "title": {**NAME, "description": "Shown in the pane's border (set for this session only)."},
                "interactive": {"type": "boolean", "description": "Override the window's interactive."},
            },
        },
    ],
}

_KINDS = ("command", "panes", "db", "logs")


def _present(key: str) -> dict[str, Any]:
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


STOP: dict[str, Any] = {
    "type": "object",
    "description": "How the window stops on down/restart: a signal or a command first, then SIGKILL after timeout.",
    "additionalProperties": False,
    "properties": {
        "signal": {"type": "string", "pattern": "^([Ss][Ii][Gg])?([Ii][Nn][Tt]|[Tt][Ee][Rr][Mm]|[Hh][Uu][Pp]|[Qq][Uu][Ii][Tt]|[Kk][Ii][Ll][Ll])$",
                   "description": "INT, TERM, HUP, QUIT or KILL (default: INT, then TERM, then KILL)."},
        "timeout": {"type": "number", "minimum": 0, "description": "Seconds before SIGKILL (default 10)."},
        "command": _text("A command that stops it (run with the window's env and cwd), instead of a signal."),
    },
    "not": {"required": ["signal", "command"]},
}

WATCH: dict[str, Any] = {
    "watch": _one_or_many("Files or globs (relative to the cwd, ** at any depth): when one changes, restart this "
                          "window (rerun this task: on success, what is after: it restarts). node_modules, .git, "
                          ".next, .devenv, __pycache__, .venv, dist, build and editors' temporary files are ignored."),
    "watch_ignore": _one_or_many("Globs (relative to the cwd) whose changes never restart it."),
    "watch_debounce": {"type": "number", "minimum": 0, "maximum": 60,
                       "description": "Seconds without a change before restarting (a burst of saves restarts "
                                      "once); default: the profile's watch_debounce, 0.3."},
}

TASK: dict[str, Any] = {
    "type": "object",
    "description": "A one-shot step: what is after: it starts once it exited 0.",
    "additionalProperties": False,
    "required": ["name", "command"],
    "properties": {
        "name": {**NAME, "description": "The task's name (windows and tasks share one name space)."},
        "command": {**COMMAND, "description": "The command, run with $SHELL -c (a list: its lines, in turn)."},
        "cwd": _text("Working directory, relative to root."),
        "env": ENV,
        "enabled": {"type": "boolean", "description": "false: leave this task out (e.g. in a child profile)."},
        "after": _one_or_many("Windows (their ready probe) or tasks (their success) to wait for first."),
        "inputs": _one_or_many("Files or globs (** at any depth): when none changed since the task last "
                               "succeeded, it is skipped.", min_items=1),
        **WATCH,
    },
}

WINDOW: dict[str, Any] = {
    "type": "object",
    "description": "A tmux window: one of command, panes, db or logs (none: a plain shell).",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {**NAME, "description": "The window's name (unique in the profile)."},
        "command": {**COMMAND, "description": "The command, run with $SHELL -c (a list: its lines, in turn)."},
        "cwd": {"anyOf": [TEXT, {"type": "null"}], "description": "Working directory, relative to root."},
        "env": ENV,
        "enabled": {"type": "boolean", "description": "false: leave this window out (e.g. in a child profile)."},
        "focus": {"type": "boolean", "description": "Select this window when attaching."},
        "layout": {"description": "A tmux layout name, or a layout string from `tmux list-windows`.",
                   "anyOf": [{"enum": list(LAYOUTS)}, {"type": "string", "pattern": "^[0-9a-f]{4},"},
                             {"type": "null"}]},
        "panes": {"type": "array", "minItems": 1, "items": PANE, "description": "Several panes in one window."},
        "ready": PROBE,
        "after": _one_or_many("Windows to wait for (their ready probe, else their process) before starting."),
        "restart": {"enum": ["no", "on-failure", "always", False, True],
                    "description": "Restart the command when it exits (no, on-failure, always)."},
        "max_restarts": {"type": "integer", "minimum": 0, "default": DEFAULT_MAX_RESTARTS},
        "db": {"anyOf": [TEXT, {"type": "null"}],
               "description": "A database console on this URL, or on the URL held by this variable."},
        "logs": _one_or_many("Files or globs to follow (relative to root).", min_items=1),
        "db_pool": {"description": "How many database connections each pane opens (its pool size; 0: none), "
                                   "for devenv doctor's prediction. A number, or ${VAR}.",
                    "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^\\s*[0-9]+\\s*$"},
                              {"type": "string", "pattern": "\\$\\{"}, {"type": "null"}]},
        "stop": {"anyOf": [STOP, {"type": "null"}]},
        "options": WINDOW_OPTIONS,
        "interactive": {"type": "boolean", "description": "Run the panes' commands in your interactive login "
                                                           "shell, as if typed; the pane stays at its prompt."},
        **WATCH,
    },
    "not": {"anyOf": [{"allOf": [_present(a), _present(b)]}
                      for i, a in enumerate(_KINDS) for b in _KINDS[i + 1:]]
            + [{"allOf": [_present(a), _present(k)]} for a in ("db_pool", "interactive", *WATCH)
               for k in ("db", "logs")]},
}

REQUIRES: dict[str, Any] = {
    "type": "object",
    "description": "Prerequisites checked by devenv up and devenv doctor.",
    "additionalProperties": False,
    "properties": {
        "commands": {"type": "array", "description": "Commands on PATH, with an optional version: node>=18.",
                     "items": {"type": ["string", "number"], "pattern":
                               "^\\s*[A-Za-z0-9_.+/-]+?\\s*((>=|<=|==|!=|>|<|~=)\\s*[0-9][0-9A-Za-z.]*)?\\s*$"}},
        "env": {"type": "array", "description": "Variables that must be set and not empty.",
                "items": {"type": "string", "pattern": ENV_NAME}},
        "ports": {"type": "array", "description": "TCP ports that must be free.",
                  "items": {"anyOf": [PORT_NUMBER, PORT_LIST_TEXT]}},
        "files": {"type": "array", "description": "Files or folders that must exist (relative to root).",
                  "items": {"anyOf": [TEXT, {"type": "object", "additionalProperties": False, "required": ["path"],
                                             "properties": {"path": TEXT, "hint": TEXT}}]}},
        "database": _text("A database that must answer: a URL, or the name of a variable holding one."),
        "checks": {"type": "array", "description": "Custom checks: a shell command that must exit 0.",
                   "items": {"type": "object", "additionalProperties": False, "required": ["name", "run"],
                             "properties": {"name": TEXT, "run": TEXT, "hint": TEXT}}},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://devenv.invalid/profile.schema.json",
    "title": "devenv profile",
    "description": "A devenv profile: the tmux session of a project's development environment.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "extends": {"type": ["string", "number"], "pattern": "^(?!\\.)[^/]*\\S[^/]*$",
                    "description": "The profile this one builds on (found in .devenv/, ~/.config/devenv/, devenv's)."},
        "session": {"description": "The tmux session name (default: the project folder's name).",
                    "anyOf": [{"type": "string", "pattern": "\\S", "not": {"pattern": f"[{_CTRL}:.]"}},
                              {"type": "integer"}]},
        "root": _text("The folder windows start in, relative to the project (default: .)."),
        "env_files": _one_or_many("The .env files to read, in order (default: .env, .env.local)."),
        "env": ENV,
        "windows": {"type": "array", "items": WINDOW, "description": "The windows, in order."},
        "tasks": {"type": "array", "items": TASK, "description": "One-shot steps (install, generate, migrate)."},
        "requires": REQUIRES,
        "hooks": HOOKS,
        "options": SESSION_OPTIONS,
        "status": {"type": "boolean", "default": True,
                   "description": "Show each window's state as a badge in tmux's status line (this session only)."},
        "watch_debounce": {"type": "number", "minimum": 0, "maximum": 60, "default": DEFAULT_WATCH_DEBOUNCE,
                           "description": "Seconds without a change before a watched window restarts (every "
                                          "window's and task's default)."},
    },
    # a profile that extends none must have windows of its own, not all disabled
    "if": {"not": {"required": ["extends"]}},
    "then": {"required": ["windows"], "properties": {"windows": {"contains": {
        "not": {"required": ["enabled"], "properties": {"enabled": {"const": False}}}}}}},
}


def schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of profile files."""
    return SCHEMA
