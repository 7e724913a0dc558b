"""``devenv freeze``: the running session as a profile.

:func:`read_session` reads the panes through libtmux (made for exactly this, and
freeze is not on a hot path) plus what /proc tells about each; the planning part,
:func:`freeze_profile`, is pure.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libtmux
import psutil
from libtmux.exc import LibTmuxException

from devenv.adopt.written import Written, check_loads
from devenv.errors import NoSession
from devenv.names import unquote
from devenv.profile.dump import to_yaml, window_to_dict
from devenv.profile.model import DEFAULT_ENV_FILES, DEFAULT_MAX_RESTARTS, Profile, Window
from devenv.secrets import mask_url

SHELLS = {"sh", "bash", "zsh", "fish", "dash", "ksh", "mksh", "tcsh", "csh", "ash", "nu", "xonsh", "elvish"}
# what freeze reads from a devenv pane's environment: the command and its policy, never other values
PANE_KEYS = ("DEVENV_CMD", "DEVENV_DB", "DEVENV_DB_URL", "DEVENV_RESTART", "DEVENV_MAX_RESTARTS", "DEVENV_AFTER",
             "DEVENV_INTERACTIVE")
_LOGS_CMD = re.compile(r"-m devenv logs -f -- (?P<globs>.*)$")


@dataclass(frozen=True)
class FrozenPane:
    """One live pane, as tmux and /proc describe it."""

    window_index: int
    window: str
    layout: str
    active: bool
    index: int
    pid: int | None
    dead: bool
    path: str  # pane_current_path
    current: str  # pane_current_command
    start: str  # pane_start_command
    env: Mapping[str, str] = field(default_factory=dict)  # PANE_KEYS found in the pane process's environment
    cwd: str | None = None  # the pane process's working directory
    foreground: str | None = None  # command line of the foreground program (when not a shell)

    @property
    def runner(self) -> bool:
        """Started by devenv through its pane runner."""
        return "runner.sh" in self.start


def _unquote(start: str) -> str:
    """tmux shows a pane's start command in double quotes."""
    if len(start) >= 2 and start[0] == start[-1] == '"':
        return start[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return start


def read_session(socket: str | None, session: str) -> list[FrozenPane]:
    """The panes of ``session`` (through libtmux) with what /proc tells about each: the I/O edge of freeze."""
    try:
        found = libtmux.Server(socket_name=socket).sessions.get(session_name=session, default=None)
        windows = found.windows if found is not None else []
        # the names devenv gave its windows (tmux may show others: automatic-rename)
        listed = found.cmd("list-windows", "-F", "#{window_id}\t#{@devenv_window}").stdout if found else []
        recorded = {wid: unquote(name) for wid, _, name in (line.partition("\t") for line in listed) if name}
        panes = [FrozenPane(int(w.window_index or "0"), recorded.get(w.window_id or "", w.window_name or ""),
                            w.window_layout or "",
                            w.window_active == "1", int(p.pane_index or "0"),
                            int(p.pane_pid or "") if (p.pane_pid or "").isdigit() else None, p.pane_dead == "1",
                            p.pane_current_path or "", p.pane_current_command or "",
                            _unquote(p.pane_start_command or ""))
                 for w in windows for p in w.panes]
    except LibTmuxException:
        found = None
    if found is None:
        raise NoSession(session, socket)
    return [dataclasses.replace(p, **_process_facts(p)) for p in panes]


def _process_facts(pane: FrozenPane) -> dict[str, Any]:

    facts: dict[str, Any] = {}
    if pane.pid is None or pane.dead:
        return facts
    try:
        proc = psutil.Process(pane.pid)
        facts["cwd"] = proc.cwd()
        if pane.runner:
            environ = proc.environ()
            facts["env"] = {k: environ[k] for k in PANE_KEYS if k in environ}
        if pane.current and pane.current not in SHELLS:
            for child in [proc, *proc.children(recursive=True)]:
                if child.name() == pane.current:
                    facts["foreground"] = shlex.join(child.cmdline())
    except (psutil.Error, OSError):
        pass
    return facts


def freeze_profile(session: str, panes: Sequence[FrozenPane], root: Path, base: Profile | None = None,
                   home: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """The profile that would rebuild these panes: windows, panes, layouts, commands, working directories."""
    notes: list[str] = []
    home = home or Path(os.path.expanduser("~"))
    by_window: dict[int, list[FrozenPane]] = {}
    for pane in panes:
        by_window.setdefault(pane.window_index, []).append(pane)
    windows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index in sorted(by_window):
        group = sorted(by_window[index], key=lambda p: p.index)
        first = group[0]
        name = first.window.strip() or f"window{index}"
        base_name, n = name, 2
        while name in seen:
            name = f"{base_name}-{n}"
            n += 1
        if name != first.window:
            notes.append(f"window {first.window!r} (index {index}) written as {name!r}: names must be unique")
        seen.add(name)
        spec = base.window(first.window) if base is not None else None
        win: dict[str, Any] = {"name": name}
        cwds = [_relative(p.cwd or p.path, root, home) for p in group]
        special = _special(first, spec, notes) if len(group) == 1 else None
        if special:
            win.update(special)
        else:
            commands: list[Any] = [_command(p, spec, notes) for p in group]
            if any(p.env.get("DEVENV_INTERACTIVE") for p in group):  # the lines typed into its shell
                win["interactive"] = True
                commands = [c.split("\n") if c is not None and "\n" in c else c for c in commands]
            if len(group) == 1:
                if commands[0] is not None:
                    win["command"] = commands[0]
            elif len(set(cwds)) == 1:
                win["panes"] = commands
            else:
                win["panes"] = [{k: v for k, v in (("command", c), ("cwd", d)) if v is not None} or None
                                for c, d in zip(commands, cwds, strict=True)]
            if len(group) > 1:
                win["layout"] = first.layout
        if len(set(cwds)) == 1 and cwds[0] is not None:
            win["cwd"] = cwds[0]
        if first.active:
            win["focus"] = True
        win.update(_policy(first, spec))
        windows.append(win)
    names = {w["name"] for w in windows}
    for win in windows:
        if "after" in win:
            win["after"] = [a for a in win["after"] if a in names and a != win["name"]]
            if not win["after"]:
                del win["after"]
    profile: dict[str, Any] = {"session": session}
    if base is not None and base.root not in (".", "./"):
        profile["root"] = base.root
    if base is not None and tuple(base.env_files) != DEFAULT_ENV_FILES:
        profile["env_files"] = list(base.env_files)
    profile["windows"] = windows
    return profile, notes


def _command(pane: FrozenPane, spec: Window | None, notes: list[str]) -> str | None:
    """The pane's command: devenv's record, the profile's, tmux's start command, or the foreground program."""
    if pane.runner:
        if "DEVENV_CMD" in pane.env:
            return pane.env["DEVENV_CMD"]
        if spec is not None and pane.index < len(spec.pane_specs()):
            command: str | None = spec.pane_specs()[pane.index].command
            return command
        notes.append(f"{pane.window}.{pane.index}: a devenv pane whose process is gone: command unknown, "
                     "written as a shell")
        return None
    if pane.start:
        return pane.start
    if pane.current and pane.current not in SHELLS:
        return pane.foreground or pane.current
    return None


def _special(pane: FrozenPane, spec: Window | None, notes: list[str]) -> dict[str, Any] | None:
    """A devenv db console or log follower window, written back as ``db:`` / ``logs:``."""
    if spec is not None and (spec.db is not None or spec.logs):
        return {"db": spec.db} if spec.db is not None else {"logs": list(spec.logs)}
    if not pane.runner:
        return None
    if pane.env.get("DEVENV_DB"):
        return {"db": pane.env["DEVENV_DB"]}
    if pane.env.get("DEVENV_DB_URL"):

        url = pane.env["DEVENV_DB_URL"]
        if mask_url(url) != url:
            notes.append(f"{pane.window}: the database URL's password is masked: put the URL in .env and "
                         "name its variable in db:")
        return {"db": mask_url(url)}
    m = _LOGS_CMD.search(pane.env.get("DEVENV_CMD", ""))
    if m:
        return {"logs": shlex.split(m["globs"])}
    return None


def _policy(pane: FrozenPane, spec: Window | None) -> dict[str, Any]:
    """Restart policy and ``after:`` from devenv's pane environment; the ready probe from the profile."""
    out: dict[str, Any] = {}
    if spec is not None and spec.ready is not None:
        out["ready"] = window_to_dict(spec)["ready"]
    restart = pane.env.get("DEVENV_RESTART")
    if restart in ("on-failure", "always"):
        out["restart"] = restart
        limit = pane.env.get("DEVENV_MAX_RESTARTS", "")
        if limit.isdigit() and int(limit) != DEFAULT_MAX_RESTARTS:
            out["max_restarts"] = int(limit)
    if pane.env.get("DEVENV_AFTER"):
        try:
            deps = [str(d["window"]) for d in json.loads(pane.env["DEVENV_AFTER"]) if isinstance(d, dict)]
        except (ValueError, KeyError, TypeError):
            deps = []
        if deps:
            out["after"] = deps
    return out


def _relative(path: str | None, root: Path, home: Path) -> str | None:
    """A working directory as a profile writes it: relative to root, under ${HOME}, or absolute."""
    if not path:
        return None
    p = Path(os.path.normpath(path))
    for anchor, prefix in ((root, None), (home, "${HOME}")):
        try:
            rel = p.relative_to(anchor)
        except ValueError:
            continue
        if prefix is None:
            return None if str(rel) == "." else rel.as_posix()
        return prefix if str(rel) == "." else f"{prefix}/{rel.as_posix()}"
    return str(p)


def freeze(socket: str | None, session: str, base: Profile | None, root: Path, project: Path,
           mask: Callable[[str], str] | None = None) -> Written:
    """The running ``session`` as a profile; ``base``: the profile it was started from, when known."""
    profile, notes = freeze_profile(session, read_session(socket, session), root, base)
    text = to_yaml(profile, [f"frozen from the running session {session} by devenv freeze"])
    check_loads(text, project)
    return Written(text, tuple(notes), tuple(w["name"] for w in profile["windows"]), mask)
