"""devenv init on the stacks people run today (tests/fixtures/init: real file shapes from create-next-app,
prisma init, pnpm, turbo): init, then doctor, then up -d --wait, through the real CLI on a private tmux
server, with stand-in node/npm/pnpm/next/tsx/docker (tests/standin.py) that start real listeners, and a real
PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devenv.profile.load import load_file
from devenv.profile.model import Profile
from devenv.wait import wait_until
from tests.conftest import REPO, Devenv, Result
from tests.pg import PgServer, _as_pg, find_pg_bin, free_port
from tests.standin import install

FIXTURES = REPO / "tests" / "fixtures" / "init"
LOCKS = ("package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock")


def copy_fixture(name: str, dest: Path, ports: dict[int, int] | None = None) -> Path:
    """A writable copy of a fixture; ``ports`` moves its fixed ports to free ones (tests may run side by side)."""
    shutil.copytree(FIXTURES / name, dest, copy_function=shutil.copyfile)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        if ports and path.is_file() and path.name not in LOCKS:
            text = path.read_text()
            for old, new in ports.items():
                text = re.sub(rf"(?<!\d){old}(?!\d)", str(new), text)
            path.write_text(text)
    (dest / "node_modules").mkdir(exist_ok=True)  # what the install hint does
    return dest


def set_env(path: Path, **values: str) -> None:
    """Set variables in a .env file, as a developer filling it in would."""
    lines = path.read_text().splitlines() if path.exists() else []
    for key, value in values.items():
        lines = [line for line in lines if not line.startswith(f"{key}=")] + [f'{key}="{value}"']
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def standins(tmp_path: Path, home: Path) -> dict[str, str]:
    bin_dir = install(tmp_path / "standin-bin")
    record = tmp_path / "record"
    record.mkdir()
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "STANDIN_RECORD": str(record)}


def profile_of(app: Path) -> Profile:
    return load_file(app / ".devenv" / "default.yaml", app)


def run(dv: Devenv, *args: str, env: dict[str, str], timeout: float = 60) -> Result:
    result = dv(*args, env=env, timeout=timeout)
    assert result.code == 0, f"devenv {' '.join(args)}: {result.out}{result.err}"
    return result


def init_doctor_up(dv: Devenv, env: dict[str, str]) -> Result:
    """What the issue asks for: init, then doctor, then up -d --wait, the profile untouched."""
    init = run(dv, "init", env=env)
    assert init.out.startswith("wrote .devenv/default.yaml (windows: ")
    assert "\ndetected:\n" in init.out and "next: devenv doctor" in init.out
    run(dv, "doctor", env=env)
    run(dv, "up", "-d", "--wait", "--timeout", "120", env=env, timeout=180)
    return init


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return int(resp.status)


def record(env: dict[str, str], name: str) -> dict[str, dict[str, object]]:
    path = Path(env["STANDIN_RECORD"]) / f"{name}.json"
    wait_until(path.exists, 30)
    data: dict[str, dict[str, object]] = json.loads(path.read_text())
    return data


def down(dv: Devenv, env: dict[str, str]) -> None:
    result = run(dv, "down", env=env)
    assert "stopped" in result.output.lower() or result.code == 0


@pytest.fixture(scope="module")
def relay_pgdata() -> Iterator[tuple[Path, Path]]:
    """A PostgreSQL data folder with the compose fixture's user, password and database (relay), not running:
    the stand-in `docker compose up db` runs its server."""
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL (initdb) is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="devenv-relay-"))
    data, pwfile = tmp / "data", tmp / "pw"
    pwfile.write_text("relay-dev-password\n")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(pwfile, "postgres")
    os.chmod(tmp, 0o700)
    subprocess.run(_as_pg([str(bindir / "initdb"), "-D", str(data), "-U", "relay", "-A", "scram-sha-256",
                           f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    port = free_port()
    opts = f"-c port={port} -c listen_addresses='' -c unix_socket_directories={tmp}"
    ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    subprocess.run(_as_pg([*ctl, "-o", opts, "-l", str(tmp / "log"), "start"]), check=True, capture_output=True)
    try:
        subprocess.run(_as_pg(["env", "PGPASSWORD=relay-dev-password", str(bindir / "createdb"), "-h", str(tmp),
                               "-p", str(port), "-U", "relay", "relay"]), check=True, capture_output=True)
    finally:
        subprocess.run(_as_pg([*ctl, "stop"]), check=True, capture_output=True)
    yield data, bindir
    shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- the fixtures, end to end


def test_next14_prisma5_npm(tmp_path: Path, socket: str, standins: dict[str, str], pg_server: PgServer) -> None:
    app = copy_fixture("next14-prisma5-npm", tmp_path / "acme")
    set_env(app / ".env", DATABASE_URL=pg_server.url, DIRECT_URL=pg_server.url)  # the developer's own database
    port = free_port()
    env = {**standins, "PORT": str(port)}
    dv = Devenv(app, socket)
    init = init_doctor_up(dv, env)

    profile = profile_of(app)
    web, worker = profile.window("web"), profile.window("worker-email")
    assert web is not None and worker is not None and profile.window("logs") is None  # Next 14 writes no log
    assert web.command == "npm run dev" and web.focus
    assert web.ready is not None and web.ready.target == "http://localhost:${PORT}/api/health"
    assert profile.env["PORT"] == "${PORT:-3000}" and profile.requires.ports == ("${PORT}",)
    assert worker.command == "npm run worker:email" and worker.after == ("web",) and worker.restart == "on-failure"
    assert worker.env == {"WORKER_API_URL": "http://localhost:${PORT}"}  # was http://localhost:3000
    assert profile.window("db") is not None and profile.window("db").db == "DIRECT_URL"  # type: ignore[union-attr]
    assert profile.requires.database == "DIRECT_URL"
    assert set(profile.requires.env) == {"DATABASE_URL", "DIRECT_URL"}  # the others have a default in the code
    assert {f.path: f.hint for f in profile.requires.files} == {"node_modules": "npm install"}
    assert "Next.js 14.2.35" in init.out and "package-lock.json" in init.out
    assert "EMAIL_WORKER_INTERVAL_MS" in init.out  # said to be optional, and why

    assert get(f"http://localhost:{port}/api/health") == 200
    assert record(env, "email-worker.js") == {
        "WORKER_API_URL": {"url": f"http://localhost:{port}/api/health", "status": 200}}
    down(dv, env)


def test_next16_prisma7_pnpm_compose(tmp_path: Path, socket: str, standins: dict[str, str],
                                     relay_pgdata: tuple[Path, Path]) -> None:
    web_port, pg_port, redis_port = free_port(), free_port(), free_port()
    app = copy_fixture("next16-prisma7-pnpm-compose", tmp_path / "relay",
                       {4000: web_port, 5433: pg_port, 6379: redis_port})
    data, bindir = relay_pgdata
    env = {**standins, "STANDIN_PGDATA": str(data), "STANDIN_PGBIN": str(bindir)}
    dv = Devenv(app, socket)
    init = init_doctor_up(dv, env)

    profile = profile_of(app)
    names = [w.name for w in profile.windows if not w.task]
    assert names == ["web", "queue", "postgres", "redis", "db", "logs"]
    web, queue = profile.window("web"), profile.window("queue")
    postgres, redis, db = profile.window("postgres"), profile.window("redis"), profile.window("db")
    assert web is not None and queue is not None and postgres is not None and redis is not None and db is not None
    assert web.command == "pnpm dev" and web.cwd is None  # pnpm-workspace.yaml holds only allowBuilds
    assert web.ready is not None and web.ready.target == f"http://localhost:{web_port}/api/health"
    assert web.after == ("prisma-generate", "prisma-migrate", "postgres", "redis")  # the tasks, then the services
    assert queue.command == "pnpm queue" and queue.after == ("web", "postgres", "redis")
    assert queue.restart == "on-failure" and not queue.env  # QUEUE_API_URL already points at the web port
    assert postgres.command == "docker compose up db"
    assert postgres.ready is not None and (postgres.ready.kind, postgres.ready.target) == ("database", "DIRECT_URL")
    assert redis.ready is not None and (redis.ready.kind, redis.ready.target) == ("port", str(redis_port))
    assert db.db == "DIRECT_URL" and db.after == ("postgres",)  # Prisma 7: prisma.config.ts datasource.url
    assert profile.requires.database is None  # a window starts the database
    assert profile.requires.ports == (web_port,)
    assert [str(c) for c in profile.requires.commands] == ["node", "pnpm", "docker"]
    assert profile.window("logs").logs == (".next/dev/logs/next-development.log",)  # type: ignore[union-attr]
    assert "SHADOW_DATABASE_URL" not in profile.requires.env and "DIRECT_URL" in profile.requires.env
    text = (app / ".devenv" / "default.yaml").read_text()
    assert "stop:\n    command: docker compose stop db\n" in text
    assert "- name: prisma-generate\n  command: pnpm exec prisma generate\n" in text
    assert "  command: pnpm exec prisma migrate deploy\n" in text
    assert profile.window("web").after[:2] == ("prisma-generate", "prisma-migrate")  # type: ignore[union-attr]
    assert 'prisma.config.ts datasource.url = env("DIRECT_URL")' in init.out

    assert get(f"http://localhost:{web_port}/api/health") == 200
    assert record(env, "queue.ts")["QUEUE_API_URL"]["status"] == 200
    logs = run(dv, "logs", "logs", "-n", "5", env=env)  # the logs window follows Next 16's dev log
    assert f"stand-in next dev on {web_port}" in logs.out
    down(dv, env)


def test_turbo_monorepo(tmp_path: Path, socket: str, standins: dict[str, str], pg_server: PgServer) -> None:
    web_port, api_port = free_port(), free_port()
    app = copy_fixture("turbo-monorepo", tmp_path / "acme", {3000: web_port, 4001: api_port})
    set_env(app / "packages" / "db" / ".env", DATABASE_URL=pg_server.url)
    dv = Devenv(app, socket)
    init_doctor_up(dv, standins)

    profile = profile_of(app)
    web, api = profile.window("web"), profile.window("api")
    assert web is not None and api is not None
    assert (web.command, web.cwd, api.command, api.cwd) == ("pnpm dev", "apps/web", "pnpm dev", "apps/api")
    assert web.focus and not api.focus
    assert web.ready is not None and web.ready.target == f"http://localhost:{web_port}/api/health"
    assert api.ready is not None and (api.ready.kind, api.ready.target) == ("port", str(api_port))
    assert profile.window("logs").logs == ("apps/web/.next/dev/logs/next-development.log",)  # type: ignore[union-attr]
    assert "packages/db/.env" in profile.env_files
    assert profile.window("db").db == "DATABASE_URL"  # type: ignore[union-attr]  # prisma7.config.ts
    assert profile.requires.database == "DATABASE_URL"
    assert [str(c) for c in profile.requires.commands] == ["node>=20", "pnpm"]

    assert get(f"http://localhost:{web_port}/api/health") == 200
    assert get(f"http://localhost:{api_port}/health") == 200
    assert (app / "apps" / "web" / ".next" / "dev" / "logs" / "next-development.log").is_file()
    down(dv, standins)


def test_procfile_app(tmp_path: Path, socket: str, standins: dict[str, str], pg_server: PgServer) -> None:
    app = copy_fixture("procfile-app", tmp_path / "ledger")
    set_env(app / ".env", DATABASE_URL=pg_server.url)
    port = free_port()
    env = {**standins, "PORT": str(port)}
    dv = Devenv(app, socket)
    init = init_doctor_up(dv, env)

    profile = profile_of(app)
    assert [w.name for w in profile.windows if not w.task] == ["web", "worker", "db"]  # no release window
    web, worker = profile.window("web"), profile.window("worker")
    assert web is not None and worker is not None
    assert web.command == "npm run dev"  # the Procfile's command, as written
    assert web.ready is not None and web.ready.target == "http://localhost:${PORT}/api/health"
    assert worker.command == "node worker.js" and worker.after == ("web",) and worker.restart == "on-failure"
    assert profile.requires.database == "DATABASE_URL" and profile.requires.ports == ("${PORT}",)
    assert "release (npx prisma migrate deploy) is a deploy step" in init.out

    assert get(f"http://localhost:{port}/api/health") == 200
    assert record(env, "worker.js") == {}
    down(dv, env)


def test_create_next_app(tmp_path: Path, socket: str, standins: dict[str, str]) -> None:
    app = copy_fixture("create-next-app-real", tmp_path / "nextapp")
    port = free_port()
    env = {**standins, "PORT": str(port)}
    dv = Devenv(app, socket)
    init_doctor_up(dv, env)

    profile = profile_of(app)
    web = profile.window("web")
    assert web is not None and web.ready is not None
    assert web.ready.target == "http://localhost:${PORT}/"  # no health route: the home page
    assert profile.window("db") is None and profile.requires.database is None
    assert get(f"http://localhost:{port}/") == 200
    down(dv, env)


# --------------------------------------------------------------------------- output and bad input


def test_stdout_summary_and_force(tmp_path: Path, home: Path) -> None:
    app = copy_fixture("next16-prisma7-pnpm-compose", tmp_path / "relay")
    dv = Devenv(app, None)
    shown = dv("init", "--stdout")
    assert shown.code == 0, shown.err
    data = yaml.safe_load(shown.out)  # stdout is the profile alone
    assert [w["name"] for w in data["windows"]] == ["web", "queue", "postgres", "redis", "db", "logs"]
    assert "detected:" in shown.err and "wrote" not in shown.err
    assert not (app / ".devenv").exists()

    written = dv("init")
    assert written.code == 0, written.err
    assert written.out.startswith("wrote .devenv/default.yaml (windows: web, queue, postgres, redis, db, logs) "
                                  "and .devenv/profile.schema.json (for editors)\n")
    assert "  package manager: pnpm (packageManager \"pnpm@10.34.8\" in package.json)\n" in written.out
    path = app / ".devenv" / "default.yaml"
    assert path.read_text() == shown.out

    path.write_text("windows: [{name: mine}]\n")
    refused = dv("init")
    assert refused.code == 1 and "already exists" in refused.err and "--force" in refused.err
    assert path.read_text() == "windows: [{name: mine}]\n"
    again = dv("init", "--stdout")  # printing never touches the file
    assert again.code == 0 and path.read_text() == "windows: [{name: mine}]\n"
    forced = dv("init", "--force")
    assert forced.code == 0 and path.read_text() == shown.out


@pytest.mark.parametrize(("name", "text", "wanted"), [
    ("package.json", '{"name": "x",\n  "scripts": {"dev": "next dev",}\n}\n', "package.json:2: cannot parse"),
    ("prisma.config.ts", b"export default \xff\xfe", "prisma.config.ts: not UTF-8 text"),
    ("prisma.config.ts", 'import { defineConfig } from "prisma/config";\nexport default defineConfig({\n'
                         '  datasource: {\n    url: env("DIRECT_URL"),\n', "prisma.config.ts:3: cannot read the config"),
    ("compose.yaml", "services:\n  db:\n    image: postgres:16\n   ports: [oops\n", "compose.yaml:4: cannot parse"),
    ("pnpm-workspace.yaml", "packages:\n  - 'apps/*\n", "pnpm-workspace.yaml"),
])
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, home: Path, name: str, text: str | bytes,
                                               wanted: str) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "app", "scripts": {"dev": "next dev"}, '
                                      '"dependencies": {"next": "16.4.3"}}\n')
    if isinstance(text, bytes):
        (app / name).write_bytes(text)
    else:
        (app / name).write_text(text)
    result = Devenv(app, None)("init")
    assert result.code == 2, result.output
    assert result.err.startswith(f"error: {app / name}") and wanted.split(":", 1)[-1].strip() in result.err
    assert wanted.split(":")[0] in result.err.splitlines()[0]
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) <= 2
    assert not (app / ".devenv").exists()


# --------------------------------------------------------------------------- what init reads


def init_stdout(app: Path) -> tuple[dict[str, object], str]:
    result = Devenv(app, None)("init", "--stdout")
    assert result.code == 0, result.err
    data: dict[str, object] = yaml.safe_load(result.out)
    return data, result.err


def windows_of(data: dict[str, object]) -> dict[str, dict[str, object]]:
    windows = data["windows"]
    assert isinstance(windows, list)
    return {w["name"]: w for w in windows}


def nextapp(tmp_path: Path, dev: str = "next dev", **extra: object) -> Path:
    app = tmp_path / "app"
    app.mkdir(exist_ok=True)
    pkg = {"name": "app", "scripts": {"dev": dev}, "dependencies": {"next": "16.4.3"}, **extra}
    (app / "package.json").write_text(json.dumps(pkg))
    return app


@pytest.mark.parametrize(("config_name", "body", "console"), [
    ("prisma7.config.ts", 'datasource: { url: process.env["DATABASE_URL"] }', "DATABASE_URL"),
    ("prisma.config.mjs", "datasource: {\n  // url: env('WRONG'),\n  url: env('DIRECT_URL'),\n}", "DIRECT_URL"),
    ("prisma.config.js", "datasource: { url: process.env.POSTGRES_URL_NON_POOLING, "
                         "shadowDatabaseUrl: env('SHADOW') }", "POSTGRES_URL_NON_POOLING"),
    ("prisma.config.ts", "datasource: { url: env<Env>(\"DIRECT_URL\") }", "DIRECT_URL"),
])
def test_prisma7_config_is_read_without_running_it(tmp_path: Path, home: Path, config_name: str, body: str,
                                                   console: str) -> None:
    app = nextapp(tmp_path)
    (app / config_name).write_text(
        'import { defineConfig, env } from "prisma/config";\n'
        f'export default defineConfig({{\n  schema: "db/schema.prisma",\n  {body},\n}});\n'
        'throw new Error("never executed");\n')
    (app / "db").mkdir()
    (app / "db" / "schema.prisma").write_text('datasource db {\n  provider = "postgresql"\n}\n')
    data, err = init_stdout(app)
    assert windows_of(data)["db"]["db"] == console
    assert data["requires"]["database"] == console  # type: ignore[index]
    assert f"{config_name} datasource.url" in err
    assert "- name: prisma-generate" in Devenv(app, None)("init", "--stdout").out
    assert "db/schema.prisma" in Devenv(app, None)("init", "--stdout").out  # the config's schema: path


def test_direct_url_set_but_unused_is_used_for_the_console(tmp_path: Path, home: Path) -> None:
    """The model user's problem: DIRECT_URL in the env files, the schema names only DATABASE_URL."""
    app = nextapp(tmp_path)
    (app / "prisma").mkdir()
    (app / "prisma" / "schema.prisma").write_text(
        'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL") // pooled\n}\n')
    (app / ".env").write_text("DATABASE_URL=postgresql://a@localhost:6543/a\nDIRECT_URL=postgresql://a@localhost/a\n")
    data, err = init_stdout(app)
    assert windows_of(data)["db"]["db"] == "DIRECT_URL"
    assert data["requires"]["database"] == "DIRECT_URL"  # type: ignore[index]
    assert "warning: DIRECT_URL is set but Prisma uses DATABASE_URL" in err


@pytest.mark.parametrize(("files", "manager_field", "command"), [
    ({"pnpm-lock.yaml": "lockfileVersion: '9.0'\n"}, None, "pnpm dev"),
    ({"yarn.lock": "# yarn lockfile v1\n"}, None, "yarn dev"),
    ({"bun.lock": '{"lockfileVersion": 2}\n'}, None, "bun run dev"),
    ({"bun.lockb": ""}, None, "bun run dev"),
    ({"package-lock.json": "{}\n"}, None, "npm run dev"),
    ({}, "pnpm@8.15.8+sha256.0123abcd", "pnpm dev"),
    ({"package-lock.json": "{}\n"}, "yarn@4.5.0", "yarn dev"),
])
def test_package_manager(tmp_path: Path, home: Path, files: dict[str, str], manager_field: str | None,
                         command: str) -> None:
    app = nextapp(tmp_path, **({"packageManager": manager_field} if manager_field else {}))
    for name, text in files.items():
        (app / name).write_text(text)
    data, err = init_stdout(app)
    assert windows_of(data)["web"]["command"] == command
    manager = command.split()[0]
    assert data["requires"]["commands"] == ["node", manager]  # type: ignore[index]
    assert data["requires"]["files"] == [{"path": "node_modules", "hint": f"{manager} install"}]  # type: ignore[index]
    if manager_field and files:
        assert "warning: package.json declares yarn but package-lock.json is present" in err


@pytest.mark.parametrize(("dev", "ready", "ports"), [
    ("next dev -p 4000", "http://localhost:4000/", [4000]),
    ("next dev --port=4100 --turbopack", "http://localhost:4100/", [4100]),
    ("next dev -p 4000 -p 4200", "http://localhost:4200/", [4200]),
    ("next dev -p ${PORT:-3300}", "http://localhost:${PORT}/", ["${PORT}"]),
    ("next dev", "http://localhost:${PORT}/", ["${PORT}"]),
])
def test_next_dev_port(tmp_path: Path, home: Path, dev: str, ready: str, ports: list[object]) -> None:
    data, _ = init_stdout(nextapp(tmp_path, dev))
    assert windows_of(data)["web"]["ready"] == {"http": ready, "timeout": 90}
    assert data["requires"]["ports"] == ports  # type: ignore[index]
    if "${PORT" in dev or dev == "next dev":
        assert data["env"]["PORT"] == ("${PORT:-3300}" if "3300" in dev else "${PORT:-3000}")  # type: ignore[index]


@pytest.mark.parametrize(("route", "path"), [
    ("app/api/health/route.ts", "/api/health"),
    ("src/app/api/health/route.js", "/api/health"),
    ("app/(ops)/healthz/route.ts", "/healthz"),
    ("pages/api/health.ts", "/api/health"),
    ("pages/api/health/index.js", "/api/health"),
])
def test_health_route(tmp_path: Path, home: Path, route: str, path: str) -> None:
    app = nextapp(tmp_path)
    (app / route).parent.mkdir(parents=True)
    (app / route).write_text("export async function GET() { return Response.json({ ok: true }) }\n")
    (app / "next.config.mjs").write_text("export default { basePath: '/console' };\n")
    data, err = init_stdout(app)
    assert windows_of(data)["web"]["ready"]["http"] == f"http://localhost:${{PORT}}/console{path}"  # type: ignore[index]
    assert f"(the health route {route})" in err


@pytest.mark.parametrize(("version", "logs"), [
    ("16.4.3", [".next/dev/logs/next-development.log"]),
    ("^15.0.0", None),
    ("14.2.35", None),
])
def test_next_log_file_by_version(tmp_path: Path, home: Path, version: str, logs: list[str] | None) -> None:
    app = nextapp(tmp_path, dependencies={"next": version})
    (app / ".next" / "server").mkdir(parents=True)  # build output: never a log folder
    data, err = init_stdout(app)
    assert windows_of(data).get("logs", {}).get("logs") == logs
    if logs is None:
        assert "writes no log file" in err


def test_installed_next_version_wins(tmp_path: Path, home: Path) -> None:
    app = nextapp(tmp_path, dependencies={"next": "latest"})
    (app / "node_modules" / "next").mkdir(parents=True)
    (app / "node_modules" / "next" / "package.json").write_text('{"name": "next", "version": "15.5.29"}')
    data, err = init_stdout(app)
    assert "Next.js 15.5.29 (node_modules/next)" in err and "logs" not in windows_of(data)


def test_workers_from_scripts_and_files(tmp_path: Path, home: Path) -> None:
    app = nextapp(tmp_path, "next dev -p 3100")
    pkg = json.loads((app / "package.json").read_text())
    pkg["scripts"].update({"jobs": "node workers/jobs.js", "queue:clear": "node scripts/clear.js",
                           "test:worker": "jest"})
    (app / "package.json").write_text(json.dumps(pkg))
    (app / "workers").mkdir()
    (app / "workers" / "jobs.js").write_text('require("./shared");\nconst u = process.env.JOBS_API_URL ?? '
                                             '"http://localhost:3000/api";\n')
    (app / "workers" / "shared.js").write_text("module.exports = {};\n")  # imported: a module, not a process
    (app / "workers" / "mailer.ts").write_text('const api = process.env.MAILER_API_URL || "http://127.0.0.1:3000";\n')
    (app / "scripts").mkdir()
    (app / "scripts" / "async-worker.mjs").write_text("const x = process.env.OTHER_URL || 'http://localhost:5000';\n")
    data, _ = init_stdout(app)
    windows = windows_of(data)
    assert set(windows) == {"web", "jobs", "mailer", "async-worker", "logs"}
    assert windows["jobs"] == {"name": "jobs", "command": "npm run jobs", "restart": "on-failure",
                               "env": {"JOBS_API_URL": "http://localhost:3100/api"}, "after": ["web"]}
    assert windows["mailer"]["command"] == "npx tsx workers/mailer.ts"
    assert windows["mailer"]["env"] == {"MAILER_API_URL": "http://localhost:3100"}  # was 3000, the web is on 3100
    assert windows["async-worker"]["command"] == "node scripts/async-worker.mjs"
    assert "env" not in windows["async-worker"]  # localhost:5000 is not the web


def test_compose_port_conflict_and_other_services(tmp_path: Path, home: Path) -> None:
    app = nextapp(tmp_path, "next dev -p 3000")
    (app / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: postgis/postgis:16-3.4\n    ports: ['127.0.0.1:${PGPORT:-5544}:5432']\n"
        "  cache:\n    image: valkey/valkey:8\n    ports: [{target: 6379, published: '6380'}]\n"
        "  mail:\n    image: axllent/mailpit\n    ports: ['3000:8025']\n")
    (app / ".env.local").write_text("DATABASE_URL=postgresql://u:p@localhost:5432/app\n")
    data, err = init_stdout(app)
    windows = windows_of(data)
    assert windows["postgres"]["command"] == "docker compose up db"
    assert windows["postgres"]["ready"] == {"port": 5544, "timeout": 180}  # the URL's port is not the published one
    assert windows["cache"]["ready"] == {"port": 6380, "timeout": 180}
    assert "mail" not in windows and "mail not started by devenv" in err
    assert "warning: port 3000 is used by both window web and docker-compose.yml service mail" in err
    assert "warning: DATABASE_URL points at port 5432 but docker-compose.yml publishes db on 5544" in err
    assert "database" not in data["requires"]  # type: ignore[operator]


def test_env_example_variables_are_required_with_a_copy_hint(tmp_path: Path, socket: str, home: Path) -> None:
    app = nextapp(tmp_path)
    (app / ".env.example").write_text("STRIPE_KEY=sk_test_xxx\nOPTIONAL_FLAG=\nPOLL_MS=500\n")
    (app / "lib").mkdir()
    (app / "lib" / "poll.ts").write_text("export const ms = Number(process.env.POLL_MS ?? 500);\n")
    (app / "node_modules").mkdir()
    dv = Devenv(app, socket)
    assert dv("init").code == 0
    assert profile_of(app).requires.env == ("STRIPE_KEY",)
    doctor = dv("doctor", env={"PORT": str(free_port())})
    assert doctor.code == 1
    assert "env STRIPE_KEY" in doctor.out and "cp .env.example .env and fill in the values" in doctor.out
    (app / ".env.local").write_text("OTHER=1\n")
    assert "add STRIPE_KEY=... to .env.local (it is in .env.example)" in dv("doctor").out
    (app / ".env.local").write_text("STRIPE_KEY=sk_test_mine\n")
    assert dv("doctor", env={"PORT": str(free_port())}).code == 0


def test_a_pnpm_workspace_without_packages_is_no_monorepo(tmp_path: Path, home: Path) -> None:
    app = nextapp(tmp_path, packageManager="pnpm@10.34.8")
    (app / "pnpm-workspace.yaml").write_text("allowBuilds:\n  sharp: false\n")
    (app / "apps" / "other").mkdir(parents=True)
    (app / "apps" / "other" / "package.json").write_text('{"name": "other", "scripts": {"dev": "vite"}}')
    data, err = init_stdout(app)
    assert list(windows_of(data)) == ["web", "logs"] and "monorepo" not in err
    (app / "package.json").write_text(json.dumps({"name": "app", "workspaces": ["apps/*"],
                                                  "scripts": {"dev": "turbo run dev"}}))
    data, err = init_stdout(app)
    windows = windows_of(data)
    assert windows["other"]["cwd"] == "apps/other" and windows["other"]["ready"] == {"port": 5173}
    assert 'package.json "workspaces"' in err



def test_monorepo_workers_of_two_packages_get_their_own_windows(tmp_path: Path, home: Path) -> None:
    app = tmp_path / "mono"
    for rel, pkg in {"": {"name": "mono", "workspaces": ["apps/*"]},
                     "apps/web": {"name": "@mono/web", "scripts": {"dev": "next dev", "worker": "node w.js"},
                                  "dependencies": {"next": "16.4.3"}},
                     "apps/api": {"name": "@mono/api", "scripts": {"worker": "node w.js"}}}.items():
        (app / rel).mkdir(parents=True, exist_ok=True)
        (app / rel / "package.json").write_text(json.dumps(pkg))
    data, _ = init_stdout(app)
    windows = windows_of(data)
    assert windows["worker"]["cwd"] == "apps/api" and windows["worker-2"]["cwd"] == "apps/web"
    assert windows["worker"]["after"] == windows["worker-2"]["after"] == ["web"]
    assert windows["web"]["env"] == {"PORT": "${WEB_PORT}"} and data["env"] == {"WEB_PORT": "${WEB_PORT:-3000}"}
    assert data["requires"]["ports"] == ["${WEB_PORT}"]  # type: ignore[index]
