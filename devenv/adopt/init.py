"""``devenv init``: a profile from what a project holds (package.json, Prisma, Procfile, .env files, logs).

:func:`init_profile` reads the project folder and plans the profile as plain
data with the reasons; :func:`init` renders it and checks that it loads.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.adopt.written import SCHEMA_FILE, SCHEMA_HEADER, Written, check_loads
from devenv.errors import ProfileError
from devenv.profile.dump import to_yaml
from devenv.profile.model import DEFAULT_ENV_FILES

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



def init(project: Path, name: str = "default") -> Written:
    """The profile text ``devenv init`` writes for ``project`` (checked to load)."""
    result = init_profile(project)
    header = [SCHEMA_HEADER,
              f"Written by devenv init from {', '.join(result.sources) or 'an empty project'}. Edit freely.",
              f"The schema next to this file comes from: devenv schema > .devenv/{SCHEMA_FILE}"]
    text = to_yaml(result.profile, header)
    check_loads(text, project, name)
    return Written(text, tuple(result.notes), tuple(w["name"] for w in result.profile["windows"]))
