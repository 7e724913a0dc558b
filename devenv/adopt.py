"""Adoption: a profile from what a project contains (``init``) or from a running session (``freeze``).

The planning parts are pure (data in, profile data and notes out); the edges
that read the project folder, tmux and /proc are small and separate. Rendering
and the "never overwrite" rule are shared with ``import`` (see
:mod:`devenv.importers` for the converters).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.errors import DevenvError, ProfileError
from devenv.profile import DEFAULT_ENV_FILES, DEFAULT_MAX_RESTARTS, Profile, window_to_dict

SCHEMA_FILE = "profile.schema.json"
SCHEMA_HEADER = f"yaml-language-server: $schema=./{SCHEMA_FILE}"

# --------------------------------------------------------------------------- rendering and writing


def render(profile: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """Profile data as YAML text, with ``# header`` lines first."""
    import yaml

    body = yaml.safe_dump(dict(profile), sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    return "".join(f"# {line}\n" if line else "#\n" for line in header) + body


def check_loads(text: str, project: Path, name: str = "default") -> Profile:
    """Load ``text`` as the profile would be loaded: proof that what we write is valid."""
    import tempfile

    from devenv.profile import load_file

    with tempfile.TemporaryDirectory(prefix="devenv-") as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return load_file(path, project, name)


@dataclass(frozen=True)
class Written:
    """A profile ready to print or write, and what the user should know about it."""

    text: str
    notes: tuple[str, ...]
    windows: tuple[str, ...]
    mask: Callable[[str], str] | None = None  # masks the known secret values when printed


def import_file(path: Path, project: Path) -> tuple[Written, str]:
    """Convert the tmuxinator / tmuxp config ``path``; returns the profile and the format's name."""
    from devenv.importers import convert

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=path) from None
    result = convert(text, path, project)
    rendered = render(result.profile, [f"imported from {path.name} ({result.kind}) by devenv import"])
    try:
        check_loads(rendered, project)
    except ProfileError as exc:
        raise ProfileError(f"cannot convert: the result would be invalid ({exc.message})", file=path) from None
    return Written(rendered, tuple(result.notes), tuple(w["name"] for w in result.profile["windows"])), result.kind


def write_new(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``path`` (atomically), refusing to replace an existing file unless ``force``."""
    if path.exists() and not force:
        raise DevenvError(f"{path} already exists; not overwriting it", hint="add --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- init

WORKER = re.compile(r"worker|queue|jobs?\b|consumer", re.I)
NOT_A_PROCESS = re.compile(r"(^|[:_-])(test|tests|build|lint|typecheck|format|check|e2e)([:_-]|$)", re.I)
STUDIO = re.compile(r"(^|:)studio$|prisma studio", re.I)
LOG_DIRS = ("logs", "log", ".next/server")
ENV_ORDER = (".env", ".env.development", ".env.local", ".env.development.local")
NOT_ENV = re.compile(r"\.(example|sample|template|dist|defaults?|test|production|prod|ci)(\.|$)", re.I)
SERVER_PORTS = {"next": "3000", "vite": "5173", "nuxt": "3000", "astro": "4321", "remix": "3000"}


@dataclass
class Init:
    profile: dict[str, Any]
    sources: list[str] = field(default_factory=list)  # the files the profile was built from
    notes: list[str] = field(default_factory=list)


def init_profile(project: Path) -> Init:
    """A profile for ``project`` from package.json, prisma/schema.prisma, Procfile, .env* files, log folders."""
    result = Init({})
    windows: list[dict[str, Any]] = []
    requires: dict[str, Any] = {}
    pkg = _read_json(project / "package.json")
    procfile = next((project / n for n in ("Procfile.dev", "Procfile") if (project / n).is_file()), None)
    if pkg is not None:
        result.sources.append("package.json")
        name = str(pkg.get("name") or "").split("/")[-1].lstrip("@")
        session = re.sub(r"[:.\s]", "_", name)
        if session:
            result.profile["session"] = session
        manager = package_manager(project, pkg)
        requires["commands"] = ["node", manager]
        requires["files"] = [{"path": "node_modules", "hint": f"{manager} install"}]
        if procfile is None:
            scripts = pkg.get("scripts")
            windows += _script_windows(scripts if isinstance(scripts, dict) else {}, manager, result)
    if procfile is not None:
        result.sources.append(procfile.name)
        windows += procfile_windows(procfile.read_text(encoding="utf-8", errors="replace"))
    db = _db_window(project, pkg, result)
    if db is not None:
        windows.append(db[0])
        requires.setdefault("env", []).extend(db[1])
    env_files = _env_files(project)
    result.sources += [f for f in env_files if (project / f).is_file()]
    if (project / ".env.example").is_file():
        requires.setdefault("files", []).append(
            {"path": ".env", "hint": "cp .env.example .env and fill in the values"})
    logs = [f"{d}/*.log" for d in LOG_DIRS if (project / d).is_dir()]
    if logs:
        windows.append({"name": "logs", "logs": logs})
        result.sources += [d + "/" for d in LOG_DIRS if (project / d).is_dir()]
    if not any(w.get("command") or w.get("db") for w in windows):
        result.notes.append("found no server, worker, Procfile or database to run: added a shell window; "
                            "edit the profile to add your commands")
        windows.insert(0, {"name": "shell"})
    if not any(w.get("focus") for w in windows):
        windows[0]["focus"] = True
    result.profile["env_files"] = env_files
    if requires:
        result.profile["requires"] = requires
    result.profile["windows"] = _unique(windows)
    return result


def package_manager(project: Path, pkg: Mapping[str, Any]) -> str:
    declared = str(pkg.get("packageManager") or "").split("@")[0]
    if declared in ("npm", "pnpm", "yarn", "bun"):
        return declared
    for lock, manager in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"),
                          ("bun.lock", "bun")):
        if (project / lock).exists():
            return manager
    return "npm"


def _script_windows(scripts: Mapping[str, Any], manager: str, result: Init) -> list[dict[str, Any]]:
    windows: list[dict[str, Any]] = []
    run = f"{manager} run"
    server = "dev" if "dev" in scripts else ("start" if "start" in scripts else None)
    if server is not None:
        win: dict[str, Any] = {"name": "server", "command": f"{run} {server}", "focus": True}
        port = server_port(str(scripts[server]))
        if port is not None:
            win["ready"] = {"port": int(port) if port.isdigit() else port}
        windows.append(win)
    for name, text in scripts.items():
        if WORKER.search(name) and not NOT_A_PROCESS.search(name) and not STUDIO.search(str(text)):
            win = {"name": re.sub(r"[:\s]+", "-", name), "command": f"{run} {shlex.quote(name)}",
                   "restart": "on-failure"}
            if server is not None:
                win["after"] = ["server"]
            windows.append(win)
    studio = [n for n, t in scripts.items() if STUDIO.search(n) or STUDIO.search(str(t))]
    if studio:
        result.notes.append(f"script {studio[0]!r} (Prisma Studio) not used: the db window is devenv's console")
    return windows


def server_port(script: str) -> str | None:
    """The port a dev-server script listens on: ``-p 3000``, ``--port=${PORT:-3000}``, or the tool's default."""
    m = re.search(r"(?:^|\s)(?:-p|--port)(?:\s+|=)(\"?)(\d+|\$\{?PORT(?::-\d+)?\}?)\1(?:\s|$)", script)
    if m:
        value = m[2]
        if value.isdigit():
            return value
        default = re.search(r":-(\d+)", value)
        return f"${{PORT:-{default[1]}}}" if default else "${PORT}"
    first = script.split()[0] if script.split() else ""
    return SERVER_PORTS.get(first)


def procfile_windows(text: str) -> list[dict[str, Any]]:
    """One window per Procfile process (``name: command``); ``release`` is a deploy step, not a process."""
    windows = []
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if m and m[1] != "release":
            windows.append({"name": m[1], "command": m[2].strip()})
    return windows


def _db_window(project: Path, pkg: Mapping[str, Any] | None, result: Init) -> tuple[dict[str, Any], list[str]] | None:
    schema_path = project / "prisma" / "schema.prisma"
    custom = ((pkg or {}).get("prisma") or {}).get("schema") if isinstance((pkg or {}).get("prisma"), dict) else None
    if custom and (project / str(custom)).is_file():
        schema_path = project / str(custom)
    if schema_path.is_file():
        text = schema_path.read_text(encoding="utf-8", errors="replace")
        result.sources.append(str(schema_path.relative_to(project)))
        block = re.search(r"datasource\s+\w+\s*\{(.*?)\}", text, re.S)
        body = block[1] if block else text
        provider = re.search(r'provider\s*=\s*"(\w+)"', body)
        if provider and provider[1] not in ("postgresql", "postgres", "sqlite", "cockroachdb"):
            result.notes.append(f"prisma datasource {provider[1]!r}: no db window (devenv's console speaks "
                                "PostgreSQL and SQLite)")
            return None
        url = re.search(r'\burl\s*=\s*env\(\s*"(\w+)"\s*\)', body)
        direct = re.search(r'\bdirectUrl\s*=\s*env\(\s*"(\w+)"\s*\)', body)
        names = [m[1] for m in (url, direct) if m]
        if direct:
            return {"name": "db", "db": direct[1]}, names
        if "directUrl" in body:
            return {"name": "db", "db": "DIRECT_URL"}, names + ["DIRECT_URL"]
        return {"name": "db", "db": url[1] if url else "DATABASE_URL"}, names or ["DATABASE_URL"]
    for name in (*ENV_ORDER, ".env.example"):
        path = project / name
        if path.is_file() and re.search(r"^\s*(export\s+)?DATABASE_URL\s*=", path.read_text(errors="replace"), re.M):
            return {"name": "db", "db": "DATABASE_URL"}, ["DATABASE_URL"]
    return None


def _env_files(project: Path) -> list[str]:
    """``.env`` and ``.env.local`` always (missing ones are skipped), plus the other local .env files found."""
    found = [f for f in ENV_ORDER if f in DEFAULT_ENV_FILES or (project / f).is_file()]
    extra = sorted(p.name for p in project.glob(".env.*")
                   if p.is_file() and p.name not in ENV_ORDER and not NOT_ENV.search(p.name[4:]))
    return found + extra


def _unique(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for win in windows:
        base, n = win["name"], 2
        while win["name"] in seen:
            win["name"] = f"{base}-{n}"
            n += 1
        seen.add(win["name"])
    return windows


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot parse: {exc}", file=path) from None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- freeze

FREEZE_FORMAT = "\t".join(["#{window_index}", "#{window_name}", "#{window_layout}", "#{window_active}",
                           "#{pane_index}", "#{pane_pid}", "#{pane_dead}", "#{pane_current_path}",
                           "#{pane_current_command}", "#{pane_start_command}"])
SHELLS = {"sh", "bash", "zsh", "fish", "dash", "ksh", "mksh", "tcsh", "csh", "ash", "nu", "xonsh", "elvish"}
# what freeze reads from a devenv pane's environment: the command and its policy, never other values
PANE_KEYS = ("DEVENV_CMD", "DEVENV_DB", "DEVENV_DB_URL", "DEVENV_RESTART", "DEVENV_MAX_RESTARTS", "DEVENV_AFTER")
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


def parse_panes(text: str) -> list[FrozenPane]:
    """Rows of ``list-panes -F FREEZE_FORMAT`` (without the /proc facts)."""
    panes = []
    for line in text.splitlines():
        parts = line.split("\t", 9)
        if len(parts) != 10:
            continue
        widx, name, layout, active, pidx, pid, dead, path, current, start = parts
        panes.append(FrozenPane(int(widx), name, layout, active == "1", int(pidx),
                                int(pid) if pid.isdigit() else None, dead == "1", path, current, _unquote(start)))
    return panes


def _unquote(start: str) -> str:
    """tmux shows a pane's start command in double quotes."""
    if len(start) >= 2 and start[0] == start[-1] == '"':
        return start[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return start


def freeze(opts: Any, session: str | None) -> Written:
    """Freeze ``session`` (default: the profile's) of ``opts`` (a :class:`devenv.context.Options`)."""
    from devenv.errors import UsageError

    base = None
    try:
        base = opts.profile()
    except ProfileError as exc:
        if session is None:
            raise UsageError(f"cannot load the profile, so which session to freeze is unknown: "
                             f"{exc.format_message()}", hint="name it: devenv freeze --session NAME") from None
    if base is not None and session not in (None, base.session):
        base = None  # another session: the profile says nothing about it
    name: str = session or base.session  # type: ignore[union-attr]
    root, mask = opts.project, None
    if base is not None:
        try:
            root, mask = opts.resolved().root, opts.resolved().mask
        except ProfileError:
            root = (opts.project / base.root).resolve()
    profile, notes = freeze_profile(name, read_session(opts.tmux, name), root, base)
    text = render(profile, [f"frozen from the running session {name} by devenv freeze"])
    check_loads(text, opts.project)
    return Written(text, tuple(notes), tuple(w["name"] for w in profile["windows"]), mask)


def init(project: Path, name: str = "default") -> Written:
    """The profile text ``devenv init`` writes for ``project`` (checked to load)."""
    result = init_profile(project)
    header = [SCHEMA_HEADER,
              f"Written by devenv init from {', '.join(result.sources) or 'an empty project'}. Edit freely.",
              f"The schema next to this file comes from: devenv schema > .devenv/{SCHEMA_FILE}"]
    text = render(result.profile, header)
    check_loads(text, project, name)
    return Written(text, tuple(result.notes), tuple(w["name"] for w in result.profile["windows"]))


def read_session(tmux: Any, session: str) -> list[FrozenPane]:
    """The panes of ``session`` with what /proc tells about each (the I/O edge of freeze)."""
    import dataclasses

    proc = tmux.run("list-panes", "-s", "-t", f"={session}", "-F", FREEZE_FORMAT, check=False)
    if proc.returncode != 0:
        where = f" on socket {tmux.socket!r}" if tmux.socket else ""
        raise DevenvError(f"no session {session!r} is running{where}",
                          hint="start it (devenv up), or name another one with --session NAME")
    return [dataclasses.replace(p, **_process_facts(p)) for p in parse_panes(proc.stdout)]


def _process_facts(pane: FrozenPane) -> dict[str, Any]:
    import psutil

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
            commands = [_command(p, spec, notes) for p in group]
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


def _command(pane: FrozenPane, spec: Any, notes: list[str]) -> str | None:
    """The pane's command: devenv's record, the profile's, tmux's start command, or the foreground program."""
    if pane.runner:
        if "DEVENV_CMD" in pane.env:
            return pane.env["DEVENV_CMD"]
        if spec is not None and pane.index < len(spec.pane_specs()):
            return spec.pane_specs()[pane.index].command
        notes.append(f"{pane.window}.{pane.index}: a devenv pane whose process is gone: command unknown, "
                     "written as a shell")
        return None
    if pane.start:
        return pane.start
    if pane.current and pane.current not in SHELLS:
        return pane.foreground or pane.current
    return None


def _special(pane: FrozenPane, spec: Any, notes: list[str]) -> dict[str, Any] | None:
    """A devenv db console or log follower window, written back as ``db:`` / ``logs:``."""
    if spec is not None and (spec.db is not None or spec.logs):
        return {"db": spec.db} if spec.db is not None else {"logs": list(spec.logs)}
    if not pane.runner:
        return None
    if pane.env.get("DEVENV_DB"):
        return {"db": pane.env["DEVENV_DB"]}
    if pane.env.get("DEVENV_DB_URL"):
        from devenv.secrets import mask_url

        url = pane.env["DEVENV_DB_URL"]
        if mask_url(url) != url:
            notes.append(f"{pane.window}: the database URL's password is masked: put the URL in .env and "
                         "name its variable in db:")
        return {"db": mask_url(url)}
    m = _LOGS_CMD.search(pane.env.get("DEVENV_CMD", ""))
    if m:
        return {"logs": shlex.split(m["globs"])}
    return None


def _policy(pane: FrozenPane, spec: Any) -> dict[str, Any]:
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
