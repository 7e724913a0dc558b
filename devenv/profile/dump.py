"""A profile back as plain data in profile-file shape, and as YAML text (``config``, ``freeze``, ``init``, ``import``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from devenv.profile.model import DEFAULT_MAX_RESTARTS, DEFAULT_WATCH_DEBOUNCE, Pane, Profile, Window


def to_dict(profile: Profile) -> dict[str, Any]:
    """The profile as plain data, in profile-file shape (for ``config`` and ``freeze``)."""
    out: dict[str, Any] = {"session": profile.session, "root": profile.root,
                           "env_files": list(profile.env_files)}
    if profile.env:
        out["env"] = dict(profile.env)
    if not profile.status:
        out["status"] = False
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
    out["windows"] = [window_to_dict(w) for w in profile.windows if not w.task]
    if profile.tasks:
        out["tasks"] = [window_to_dict(w) for w in profile.tasks]
    hooks = {k: list(v) for k, v in profile.hooks._asdict().items() if v}
    if hooks:
        out["hooks"] = hooks
    if profile.options:
        out["options"] = dict(profile.options)
    if profile.watch_debounce != DEFAULT_WATCH_DEBOUNCE:
        out["watch_debounce"] = profile.watch_debounce
    return out


def window_to_dict(w: Window) -> dict[str, Any]:
    d: dict[str, Any] = {"name": w.name}
    if w.command is not None:
        d["command"] = command_value(w.command)
    if w.interactive:
        d["interactive"] = True
    if w.panes:
        d["panes"] = [pane_to_dict(p) for p in w.panes]
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
    if w.db_pool is not None:
        d["db_pool"] = int(w.db_pool) if w.db_pool.isdigit() else w.db_pool
    if w.inputs:
        d["inputs"] = list(w.inputs)
    if w.stop is not None:
        d["stop"] = {k: v for k, v in w.stop._asdict().items() if v is not None}
    if w.options:
        d["options"] = dict(w.options)
    if w.watch:
        d["watch"] = list(w.watch)
    if w.watch_ignore:
        d["watch_ignore"] = list(w.watch_ignore)
    if w.watch_debounce is not None:
        d["watch_debounce"] = w.watch_debounce
    return d


def command_value(command: str) -> str | list[str]:
    """A command as written: a list of lines when it has several (none blank), else its text."""
    lines = command.split("\n")
    return lines if len(lines) > 1 and all(line.strip() for line in lines) else command


def pane_to_dict(p: Pane) -> Any:
    """A pane: its command alone when that is all it has, else a mapping."""
    command = None if p.command is None else command_value(p.command)
    if p.cwd is None and not p.env and not p.focus and p.title is None and p.interactive is None:
        return command
    d: dict[str, Any] = {}
    for key, value in (("command", command), ("cwd", p.cwd), ("env", dict(p.env)), ("title", p.title)):
        if value:
            d[key] = value
    if p.focus:
        d["focus"] = True
    if p.interactive is not None:
        d["interactive"] = p.interactive
    return d


def to_yaml(data: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """Profile data as YAML text, with ``# header`` lines first."""
    import yaml

    body = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    return "".join(f"# {line}\n" if line else "#\n" for line in header) + body
