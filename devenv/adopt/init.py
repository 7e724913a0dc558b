"""``devenv init``: a profile from what a project says (package.json, workspaces, Next.js, Prisma, compose,
a Procfile, .env files), with what was detected and why.

:func:`plan` reads the project into a :class:`Plan` (the profile as plain data,
the reasons, the warnings); :func:`init` renders it, checks that it loads and
returns an :class:`InitResult`. Nothing is run: files are read, never executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from devenv.adopt.compose import Compose, read_compose
from devenv.adopt.node import (
    Manager,
    Package,
    default_port,
    env_reads,
    files_in,
    health_route,
    is_next_dev,
    next_app,
    package_manager,
    read_package,
    read_source,
    script_port,
    source_files,
    workspace_dirs,
    workspace_patterns,
)
from devenv.adopt.node import base_path as next_base_path
from devenv.adopt.prisma import CONSOLE_PROVIDERS, Prisma, find_prisma
from devenv.adopt.written import SCHEMA_FILE, SCHEMA_HEADER, Written, check_loads
from devenv.profile.dump import to_yaml
from devenv.profile.env import read_env_file
from devenv.profile.model import DEFAULT_ENV_FILES
from devenv.profile.yamlsrc import read_text
from devenv.tuples import NamedTuple

WORKER = re.compile(r"worker|queue|jobs?\b|consumer", re.I)
NOT_A_PROCESS = re.compile(r"(^|[:_-])(test|tests|build|lint|typecheck|format|check|e2e|clear|clean|reset)([:_-]|$)",
                           re.I)
STUDIO = re.compile(r"(^|:)studio$|prisma studio", re.I)
DB_SERVER = re.compile(r"^\s*(?:exec\s+)?(?:postgres\b|pg_ctl\b.*\bstart\b|docker[- ]compose\b.*\bup\b|"
                       r"docker\s+compose\b.*\bup\b)")
RUN_SCRIPT = re.compile(r"^\s*(npm|pnpm|yarn|bun)\s+(?:run\s+)?([\w:.@/-]+)\s*(.*)$")
LOCAL_URL = re.compile(r"^(https?)://(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]):(\d+)(.*)$")
ENV_ORDER = (".env", ".env.development", ".env.local", ".env.development.local")  # Next's, lowest first
EXAMPLES = (".env.example", ".env.sample", ".env.template")
LOG_DIRS = ("logs", "log")
NEXT_LOG = ".next/dev/logs/next-development.log"  # Next 16+; Next 14/15 write no log file
RESERVED = ("db", "logs")  # window names init gives itself
HTTP_TIMEOUT = 90  # a dev server compiles the route on its first request
COMPOSE_TIMEOUT = 180  # the first `docker compose up` may pull the image


class Port(NamedTuple):
    ref: str  # what profile values say: "4000" or "${PORT}"
    number: int  # what it is when nothing overrides it
    why: str


@dataclass
class Plan:
    """The profile being built, as plain data, and what the user should hear about it."""

    project: Path
    session: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    requires: dict[str, Any] = field(default_factory=dict)
    windows: list[dict[str, Any]] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    detected: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)  # pending: the dev-loop issue's tasks
    stops: dict[str, dict[str, Any]] = field(default_factory=dict)  # pending: stop policies, per window
    web: str | None = None
    web_port: Port | None = None
    web_is_next: bool = False
    servers: list[str] = field(default_factory=list)  # windows the app and workers start after
    db_server: str | None = None  # the window that starts the database
    workers: list[tuple[dict[str, Any], list[str], str]] = field(default_factory=list)  # (window, files, dir)
    ports: list[tuple[int, str]] = field(default_factory=list)  # (port, who listens), for conflicts
    values: dict[str, str] = field(default_factory=dict)  # variables of the env files, for reading URLs
    example: dict[str, str] = field(default_factory=dict)  # variables of the .env.example files

    def say(self, what: str, why: str) -> None:
        self.detected.append((what, why))

    def source(self, name: str) -> None:
        if name not in self.sources:
            self.sources.append(name)

    def add_require(self, key: str, *values: Any) -> None:
        items = self.requires.setdefault(key, [])
        for value in values:
            if value not in items:
                items.append(value)

    def value(self, name: str) -> str | None:
        """A variable's value from the env files, else from the example (for ports and hosts, not secrets)."""
        return self.values.get(name) or self.example.get(name) or None


class InitResult(NamedTuple):
    written: Written
    detected: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]


# --------------------------------------------------------------------------- reading the project


def plan(project: Path) -> Plan:
    """Read ``project`` into a plan: windows, requires, env, and the reasons for each."""
    p = Plan(project)
    pkg = read_package(project)
    procfile = next((project / n for n in ("Procfile.dev", "Procfile") if (project / n).is_file()), None)
    dirs = [""]
    manager = None
    if pkg is not None:
        p.source("package.json")
        name = re.sub(r"[:.\s]", "_", pkg.name.split("/")[-1].lstrip("@"))
        if name:
            p.session = name
        manager, warnings = package_manager(project, pkg)
        p.warnings += warnings
        p.say("package manager", f"{manager.name} ({manager.why})")
        node = pkg.data.get("engines", {}).get("node") if isinstance(pkg.data.get("engines"), dict) else None
        wanted = f"node{node.replace(' ', '')}" if isinstance(node, str) and re.match(r"^>=\s*\d+(\.\d+)*$", node) \
            else "node"
        p.add_require("commands", wanted, manager.name)
        p.add_require("files", {"path": "node_modules", "hint": manager.install})
        ws = workspace_patterns(project, pkg)
        if ws is not None:
            dirs += workspace_dirs(project, ws[0])
            turbo = " and turbo.json (Turborepo)" if (project / "turbo.json").is_file() else ""
            p.say("monorepo", f"{ws[1]}{turbo}: {', '.join(dirs[1:]) or 'no package matches'}")
    prisma = find_prisma(project, dirs)
    _env_files(p, prisma)
    compose = read_compose(project)
    if procfile is not None:
        p.source(procfile.name)
        _procfile(p, procfile, pkg, manager)
    elif pkg is not None and manager is not None and len(dirs) > 1:
        _monorepo(p, pkg, dirs[1:], manager)
    elif pkg is not None and manager is not None:
        _single(p, pkg, manager)
    if compose is not None:
        p.source(compose.file)
        _compose(p, compose, prisma)
    _database(p, prisma, manager)
    _bind_worker_urls(p)
    _wire_after(p)
    _required_env(p, dirs, prisma)
    _logs(p, dirs)
    _port_conflicts(p)
    if not any(w.get("command") or w.get("db") for w in p.windows):
        p.notes.append("found no server, worker, Procfile or database to run: added a shell window; "
                       "edit the profile to add your commands")
        p.windows.insert(0, {"name": "shell"})
    if not any(w.get("focus") for w in p.windows):
        focus = next((w for w in p.windows if w["name"] == p.web), p.windows[0])
        focus["focus"] = True
    return p


def _env_files(p: Plan, prisma: Prisma | None) -> None:
    """.env and .env.local always (missing files are skipped), .env.development(.local) when present, in Next's
    order; in a monorepo also the .env of the package holding Prisma (Prisma 7 loads no .env itself)."""
    files = [f for f in ENV_ORDER if f in DEFAULT_ENV_FILES or (p.project / f).is_file()]
    if prisma is not None and prisma.dir:
        files.append(str(PurePosixPath(prisma.dir, ".env")))
    p.env_files = files
    present = [f for f in files if (p.project / f).is_file()]
    for name in present:
        p.source(name)
        p.values.update(read_env_file(p.project / name).values)
    extra = ""
    if prisma is not None and prisma.dir:
        extra = f"; {prisma.dir}/.env because Prisma's URLs live there (every window sees its variables)"
    p.say("env_files", f"{', '.join(files)} (present: {', '.join(present) or 'none'}){extra}")
    for folder in dict.fromkeys(["", prisma.dir if prisma is not None else ""]):
        example = _example(p.project, folder)
        if example is not None:
            p.source(str(PurePosixPath(folder, example.name)) if folder else example.name)
            for key, value in read_env_file(example).values.items():
                p.example.setdefault(key, value)


def _example(project: Path, folder: str) -> Path | None:
    return next((project / folder / n for n in EXAMPLES if (project / folder / n).is_file()), None)


def _single(p: Plan, pkg: Package, manager: Manager) -> None:
    scripts = pkg.scripts
    server = "dev" if "dev" in scripts else ("start" if "start" in scripts else None)
    if server is not None:
        _server(p, pkg, "web", manager.run(server), scripts[server], f'package.json script "{server}"',
                monorepo=False)
    _workers(p, pkg, manager)


def _monorepo(p: Plan, root: Package, dirs: list[str], manager: Manager) -> None:
    """One window per workspace package with a ``dev`` script, in its folder."""
    apps = 0
    for rel in dirs:
        pkg = read_package(p.project, rel)
        if pkg is None:
            continue
        p.source(pkg.file)
        if "dev" in pkg.scripts:
            name = (pkg.name.split("/")[-1] or PurePosixPath(rel).name).strip() or PurePosixPath(rel).name
            _server(p, pkg, _free_name(p, _window_name(name)), manager.run("dev"), pkg.scripts["dev"],
                    f'{pkg.file} script "dev"', monorepo=True)
            apps += 1
        _workers(p, pkg, manager)
    if "dev" in root.scripts and apps:
        p.notes.append(f'root script "dev" ({root.scripts["dev"]}) not used: one window per package instead, '
                       "each in its folder")


def _procfile(p: Plan, path: Path, pkg: Package | None, manager: Manager | None) -> None:
    """One window per Procfile process, with what init infers for its kind (ready, after, restart)."""
    for line in read_text(path).splitlines():
        m = re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line.strip())
        if not m:
            continue
        name, command = m[1], m[2].strip()
        if name == "release":
            p.notes.append(f"{path.name}: release ({command}) is a deploy step, not a process: no window")
            continue
        script = _script_of(command, pkg)
        text = f"{command} {script}" if script else command
        where = f"{path.name} {name}"
        if DB_SERVER.match(command):
            p.windows.append({"name": name, "command": command})
            p.servers.append(name)
            if re.search(r"\b(postgres|pg_ctl)\b", command):
                p.db_server = name
            p.say(name, f"{where}: starts a database; the app and workers start after it")
        elif name == "web" or is_next_dev(text) or script_port(text) is not None:
            _server(p, pkg or Package("", {}), name, command, script or command, where, monorepo=False)
        elif WORKER.search(name) or WORKER.search(command):
            win = {"name": name, "command": command, "restart": "on-failure"}
            p.windows.append(win)
            p.workers.append((win, files_in(text, p.project), ""))
            p.say(name, f"{where}: a worker (its name): after the web window, restart on failure")
        else:
            p.windows.append({"name": name, "command": command})
            p.say(name, where)


def _script_of(command: str, pkg: Package | None) -> str | None:
    """The package.json script a command runs (``npm run dev`` -> ``next dev --turbopack``)."""
    m = RUN_SCRIPT.match(command)
    if m is None or pkg is None:
        return None
    script = pkg.scripts.get(m[2])
    return f"{script} {m[3]}".strip() if script is not None else None


def _server(p: Plan, pkg: Package, name: str, command: str, script: str, where: str, *, monorepo: bool) -> None:
    """A dev server window: its port, a readiness probe, its logs, ``requires.ports``."""
    win: dict[str, Any] = {"name": name, "command": command}
    if pkg.dir:
        win["cwd"] = pkg.dir
    nxt = next_app(p.project, pkg) if is_next_dev(script) or script.strip().startswith("next ") else None
    reasons = [where]
    if nxt is not None:
        reasons.insert(0, f"Next.js {nxt.version} ({nxt.source})")
    port = _port(p, pkg, name, command, script, win, monorepo=monorepo)
    if port is not None:
        p.add_require("ports", int(port.ref) if port.ref.isdigit() else port.ref)
        p.ports.append((port.number, f"window {name}"))
        reasons.append(port.why)
        if nxt is not None:
            route = health_route(p.project / pkg.dir)
            path = next_base_path(p.project / pkg.dir) + (route[0] if route else "/")
            win["ready"] = {"http": f"http://localhost:{port.ref}{path}", "timeout": HTTP_TIMEOUT}
            reasons.append(f"ready when http://localhost:{port.ref}{path} answers "
                           + (f"(the health route {pkg.rel(route[1])})" if route else "(no health route found)"))
        else:
            win["ready"] = {"port": int(port.ref) if port.ref.isdigit() else port.ref}
            reasons.append(f"ready when port {port.ref} accepts connections")
    if nxt is not None:
        if nxt.major is None or nxt.major >= 16:
            p.logs.append(pkg.rel(NEXT_LOG))
        else:
            p.notes.append(f"Next.js {nxt.major} writes no log file (only Next 16+ writes {NEXT_LOG}): "
                           f"its output is kept by devenv (devenv logs {name})")
    if p.web is None or (nxt is not None and not p.web_is_next):
        p.web, p.web_port, p.web_is_next = name, port, nxt is not None
    p.windows.append(win)
    p.say(name, "; ".join(reasons))


def _port(p: Plan, pkg: Package, name: str, command: str, script: str, win: dict[str, Any], *,
          monorepo: bool) -> Port | None:
    """The port a server listens on; a ``${PORT:-N}`` port becomes a profile variable everything else uses."""
    text, why = script_port(command), "from the command"
    if text is None:
        text, why = script_port(script), f"from the script ({script})"
    if text is None:
        text, why = default_port(script), "next dev's default: 3000, or $PORT"
    if text is None:
        found = _package_port(p, pkg)
        if found is None:
            return None
        text, why = found
    if text.isdigit():
        return Port(text, int(text), f"port {text}, {why}")
    default = re.search(r":-(\d+)", text)
    number = int(default[1]) if default else 3000
    if not monorepo and "PORT" not in p.env:
        p.env["PORT"] = f"${{PORT:-{number}}}"
        return Port("${PORT}", number, f"port ${{PORT:-{number}}}, {why}")
    var = re.sub(r"\W", "_", name).upper() + "_PORT"
    p.env[var] = f"${{{var}:-{number}}}"
    win["env"] = {"PORT": f"${{{var}}}"}
    return Port(f"${{{var}}}", number, f"port ${{{var}:-{number}}} passed as PORT, {why}")


def _package_port(p: Plan, pkg: Package) -> tuple[str, str] | None:
    """PORT from a package's own env files or example (a server that loads them itself, `--env-file=.env`)."""
    for name in (*reversed(ENV_ORDER), *EXAMPLES):
        path = p.project / pkg.dir / name
        if path.is_file():
            value = read_env_file(path).values.get("PORT", "")
            if value.isdigit():
                return value, f"from PORT in {pkg.rel(name)}"
    return None


def _workers(p: Plan, pkg: Package, manager: Manager) -> None:
    """Scripts named worker*/queue*/jobs* and files under scripts/*worker* or workers/ that no script runs."""
    base = p.project / pkg.dir
    scripts = pkg.scripts
    for name, text in scripts.items():
        if name in ("dev", "start") or not WORKER.search(name) or NOT_A_PROCESS.search(name) \
                or STUDIO.search(name) or STUDIO.search(text):
            continue
        win: dict[str, Any] = {"name": _free_name(p, _window_name(name)), "command": manager.run(name),
                               "restart": "on-failure"}
        if pkg.dir:
            win["cwd"] = pkg.dir
        p.windows.append(win)
        p.workers.append((win, files_in(text, base), pkg.dir))
        p.say(win["name"], f'{pkg.file} script "{name}" (a worker by its name): after the web window, '
                           "restart on failure")
    for name, text in scripts.items():
        if STUDIO.search(name) or STUDIO.search(text):
            p.notes.append(f'script "{name}" (Prisma Studio) not used: the db window is devenv\'s console')
            break
    run = " ".join(scripts.values())
    candidates = [*sorted(base.glob("scripts/*worker*")), *sorted(base.glob("workers/*"))]
    for path in candidates:
        rel = path.relative_to(base).as_posix()
        if not path.is_file() or path.suffix not in (".js", ".mjs", ".cjs", ".ts", ".mts") \
                or path.name.endswith(".d.ts") or re.search(r"\.(test|spec)\.", path.name):
            continue
        if rel in run or path.name in run or _imported(path):
            continue
        runner = "node" if path.suffix in (".js", ".mjs", ".cjs") else manager.exec("tsx")
        win = {"name": _free_name(p, _window_name(path.stem)), "command": f"{runner} {rel}", "restart": "on-failure"}
        if pkg.dir:
            win["cwd"] = pkg.dir
        p.windows.append(win)
        p.workers.append((win, [rel], pkg.dir))
        p.say(win["name"], f"{pkg.rel(rel)} (a worker file no script runs): after the web window, "
                           "restart on failure")


def _imported(path: Path) -> bool:
    """A sibling imports this file (``import "./env"``): a module, not a process."""
    pattern = re.compile(rf"""["']\./{re.escape(path.stem)}(?:\.\w+)?["']""")
    return any(pattern.search(read_source(other)) for other in path.parent.iterdir()
               if other != path and other.is_file())


def _compose(p: Plan, compose: Compose, prisma: Prisma | None) -> None:
    """A window per database service: ``docker compose up SERVICE``, a readiness probe, a stop policy."""
    others = [s.name for s in compose.services if s.kind is None]
    for service in compose.services:
        p.ports += [(pub.host, f"{compose.file} service {service.name}") for pub in service.ports if pub.host]
    if others:
        p.notes.append(f"{compose.file}: {', '.join(others)} not started by devenv (only database services get a "
                       "window): run them with docker compose up -d")
    if not compose.databases:
        return
    p.add_require("commands", "docker")
    running = " ".join(w.get("command", "") for w in p.windows)
    var = _url_var(p, prisma)
    for service in compose.databases:
        if re.search(rf"docker[- ]compose\b.*\bup\b.*\b{re.escape(service.name)}\b", running):
            continue  # a Procfile entry starts it already
        name = _free_name(p, service.name if service.name not in RESERVED else service.kind or service.name)
        win: dict[str, Any] = {"name": name, "command": f"docker compose up {service.name}"}
        why = f"{compose.file} service {service.name} ({service.image})"
        url_port = _url_port(p.value(var)) if var else None
        if service.kind == "postgres" and var and service.port and url_port == service.port:
            win["ready"] = {"database": var, "timeout": COMPOSE_TIMEOUT}
            why += f": ready when {var} answers (its port {service.port} is the one published)"
        elif service.port:
            win["ready"] = {"port": service.port, "timeout": COMPOSE_TIMEOUT}
            why += f": ready when port {service.port} accepts connections"
            if service.kind == "postgres" and var and url_port is not None:
                p.warnings.append(f"{var} points at port {url_port} but {compose.file} publishes {service.name} on "
                                  f"{service.port}")
        else:
            why += ": publishes no port, so no readiness probe"
        if service.kind == "postgres" and p.db_server is None:
            p.db_server = name
        p.windows.append(win)
        p.servers.append(name)
        p.stops[name] = {"command": f"docker compose stop {service.name}"}
        p.say(name, why)


def _url_var(p: Plan, prisma: Prisma | None) -> str | None:
    """The variable holding the direct database URL: Prisma's, or DIRECT_URL / DATABASE_URL from the env files."""
    declared = set(p.values) | set(p.example)
    if prisma is not None and prisma.migrate_url:
        if prisma.direct is None and prisma.migrate_url != "DIRECT_URL" and "DIRECT_URL" in declared:
            return "DIRECT_URL"
        return prisma.migrate_url
    return next((v for v in ("DIRECT_URL", "DATABASE_URL") if v in declared), None)


def _url_port(url: str | None) -> int | None:
    if not url or "://" not in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if port is None and parts.scheme in ("postgres", "postgresql"):
        return 5432
    return port


def _database(p: Plan, prisma: Prisma | None, manager: Manager | None) -> None:
    """The console window on the direct URL; ``requires.database`` when no window starts the database."""
    var = _url_var(p, prisma)
    if prisma is not None:
        for source in (prisma.config, prisma.schema):
            if source:
                p.source(source)
        p.notes += prisma.notes
        _prisma_tasks(p, prisma, manager)
    if var is None:
        if prisma is not None:
            p.notes.append("Prisma found, but no variable naming its database URL: no db window")
        return
    for name in (prisma.url, prisma.direct) if prisma is not None else ():
        if name:
            p.add_require("env", name)
    p.add_require("env", var)
    if prisma is not None:
        said = "; ".join(s for s in prisma.said if re.search(rf"\b{var}\b", s)) or f"Prisma reads {prisma.migrate_url}"
        if var == prisma.migrate_url:
            why = f"{said}: the URL Migrate uses" + (" (the direct one, not the pooled DATABASE_URL)"
                                                      if var != "DATABASE_URL" else "")
        else:
            why = f"{said}; {var} is set too: the console uses it (a pooled URL breaks admin work)"
            p.warnings.append(f"{var} is set but Prisma uses {prisma.migrate_url}; the console and requires.database "
                              f"use {var}")
        if prisma.provider and prisma.provider not in CONSOLE_PROVIDERS:
            p.notes.append(f"Prisma provider {prisma.provider!r}: no db window (devenv's console speaks PostgreSQL "
                           "and SQLite)")
            var_only = True
        else:
            var_only = False
    else:
        why, var_only = f"{var} in the env files", False
    server = next((w for w in p.windows if w["name"] == p.db_server), None)
    if server is not None and "ready" not in server:
        server["ready"] = {"database": var, "timeout": COMPOSE_TIMEOUT}
        p.say(f"{server['name']} ready", f"when {var} answers")
    if not var_only:
        win: dict[str, Any] = {"name": _free_name(p, "db"), "db": var}
        p.windows.append(win)
        p.say(win["name"], f"database console on {var}: {why}")
        if p.db_server:
            win["after"] = [p.db_server]
    if p.db_server is None:
        p.requires["database"] = var
        p.say("requires.database", f"{var}: no window starts the database, so it must be reachable")
    else:
        p.say("requires.database", f"none: window {p.db_server} starts the database (the app waits for it instead)")


def _prisma_tasks(p: Plan, prisma: Prisma, manager: Manager | None) -> None:
    """``prisma generate`` (inputs: the schema) and, with migrations, ``prisma migrate deploy`` once the database
    is ready: tasks the app's windows wait for (skipped while their inputs are unchanged)."""
    run = manager.exec("prisma") if manager is not None else "npx prisma"
    generate: dict[str, Any] = {"name": "prisma-generate", "run": f"{run} generate", "inputs": list(prisma.inputs)}
    if prisma.dir:
        generate["cwd"] = prisma.dir
    p.tasks.append(generate)
    if prisma.migrations:
        migrate: dict[str, Any] = {"name": "prisma-migrate", "run": f"{run} migrate deploy",
                                   "inputs": [f"{prisma.migrations}/**"]}
        if prisma.dir:
            migrate["cwd"] = prisma.dir
        if p.db_server:
            migrate["after"] = [p.db_server]
        p.tasks.append(migrate)


def _bind_worker_urls(p: Plan) -> None:
    """A worker's URL variable that points at localhost:3000 (or the web's default port) follows the web's port."""
    port = p.web_port
    if p.web is None or port is None:
        return
    for win, files, folder in p.workers:
        for rel in files:
            reads = env_reads(read_source(p.project / folder / rel))
            for name, read in reads.items():
                value = p.values.get(name) or read.fallback or p.example.get(name)
                m = LOCAL_URL.match(value or "")
                if m is None or int(m[3]) not in (3000, port.number):
                    continue
                bound = f"{m[1]}://localhost:{port.ref}{m[4]}"
                if port.ref.isdigit() and int(m[3]) == port.number:
                    continue  # already the web's port
                win.setdefault("env", {})[name] = bound
                p.say(f"{win['name']} env", f"{name} ({value}, read in {rel}) bound to the web window's port: {bound}")


def _wire_after(p: Plan) -> None:
    for win in p.windows:
        if win["name"] in p.servers or "db" in win or "command" not in win:
            continue
        worker = any(win is w for w, _, _ in p.workers)
        after = [p.web] if worker and p.web and p.web != win["name"] else []
        after += [s for s in p.servers if s != win["name"]]
        if after:
            win["after"] = list(dict.fromkeys(after))


def _required_env(p: Plan, dirs: list[str], prisma: Prisma | None) -> None:
    """The example's variables the profile's env files must set: not those empty there, nor those the code
    reads with a default (``process.env.X ?? 2000``)."""
    if not p.example:
        return
    scanned: dict[str, bool] = {}  # name -> every read has a default
    for folder in dirs:
        for path in source_files(p.project, folder):
            for name, read in env_reads(read_source(path)).items():
                scanned[name] = scanned.get(name, True) and read.fallback is not None
    empty = [k for k, v in p.example.items() if not v.strip()]
    defaulted = [k for k, v in p.example.items() if v.strip() and scanned.get(k)]
    needed = [k for k in p.example if k not in empty and k not in defaulted]
    p.add_require("env", *needed)
    why = "from the example"
    if empty:
        why += f"; optional (empty in the example): {', '.join(empty)}"
    if defaulted:
        why += f"; optional (the code has a default): {', '.join(defaulted)}"
    p.say("requires.env", f"{', '.join(p.requires.get('env', [])) or 'none'} ({why})")
    for folder in dirs[1:]:
        example = _example(p.project, folder)
        if example is not None and (prisma is None or folder != prisma.dir):
            p.notes.append(f"{folder}/{example.name}: {folder} loads its own env files (devenv does not check them)")


def _logs(p: Plan, dirs: list[str]) -> None:
    for folder in dirs:
        for d in LOG_DIRS:
            if (p.project / folder / d).is_dir():
                p.logs.append(str(PurePosixPath(folder, d, "*.log")) if folder else f"{d}/*.log")
    if p.logs:
        p.windows.append({"name": _free_name(p, "logs"), "logs": list(dict.fromkeys(p.logs))})
        p.say("logs", ", ".join(p.logs) + (" (Next 16's dev log: server console and browser logs, emptied at "
                                            "every start)" if any(g.endswith(NEXT_LOG) for g in p.logs) else ""))


def _port_conflicts(p: Plan) -> None:
    seen: dict[int, str] = {}
    for port, who in p.ports:
        if port in seen and seen[port] != who:
            p.warnings.append(f"port {port} is used by both {seen[port]} and {who}")
        seen.setdefault(port, who)


def _window_name(name: str) -> str:
    return re.sub(r"[:\s/]+", "-", name).strip("-") or "window"


def _free_name(p: Plan, name: str) -> str:
    taken = {w["name"] for w in p.windows}
    base, n = name, 2
    while name in taken:
        name = f"{base}-{n}"
        n += 1
    return name


# --------------------------------------------------------------------------- the text


def profile_data(p: Plan) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if p.session:
        data["session"] = p.session
    data["env_files"] = p.env_files
    if p.env:
        data["env"] = p.env
    if p.requires:
        data["requires"] = p.requires
    tasks = [{"name": t["name"], "command": t["run"], **{k: v for k, v in t.items() if k not in ("name", "run")}}
             for t in p.tasks]
    names = [t["name"] for t in tasks]
    def app(win: dict[str, Any]) -> bool:
        return bool(win.get("command")) and win["name"] not in p.stops and win["name"] != p.db_server

    apps = {w["name"] for w in p.windows if app(w)}
    windows = []
    for win in p.windows:
        win = dict(win)
        if win["name"] in p.stops:  # a compose service: stopped by compose, not by a signal
            win["stop"] = p.stops[win["name"]]
        elif names and app(win) and not apps & set(win.get("after", [])):
            # the app starts once the tasks succeeded (a worker after the web waits for them through it)
            win["after"] = [*names, *win.get("after", [])]
        windows.append(win)
    data["windows"] = windows
    if tasks:
        data["tasks"] = tasks
    return data


def render(p: Plan) -> str:

    header = [SCHEMA_HEADER,
              f"Written by devenv init from {', '.join(p.sources) or 'an empty project'}. Edit freely.",
              f"The schema next to this file comes from: devenv schema > .devenv/{SCHEMA_FILE}"]
    return to_yaml(profile_data(p), header)


def init(project: Path, name: str = "default") -> InitResult:
    """The profile ``devenv init`` writes for ``project`` (checked to load), and what was detected and why."""
    p = plan(project)
    text = render(p)
    check_loads(text, project, name)
    pending_what = [w for w, there in (("the prisma tasks", p.tasks), ("the compose stop policies", p.stops)) if there]
    if pending_what:
        p.notes.append(f"{' and '.join(pending_what)} are written commented out: this devenv has no tasks or stop "
                       "policies yet (the dev-loop issue)")
    written = Written(text, tuple(p.notes), tuple(w["name"] for w in p.windows))
    return InitResult(written, tuple(p.detected), tuple(p.warnings))
