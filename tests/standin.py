"""Stand-ins for node, npm, pnpm, yarn, bun, next, tsx and docker: real processes of our own, for machines
without a Node app's dependencies or a docker engine.

``install(bin_dir)`` writes one small wrapper per tool into ``bin_dir``; put it first on PATH. What they do:

* ``npx TOOL ARGS``: runs TOOL. ``npm|pnpm|yarn|bun [run] SCRIPT [-- ARGS]``: run package.json's SCRIPT with ``sh -c`` (as the real ones
  do, so ``next``/``tsx`` below run next); ``exec TOOL`` runs TOOL; ``install`` creates node_modules.
* ``next dev [-p N]``: an HTTP server on N (else $PORT, else 3000) answering ``/`` and the app's health route
  (when its file exists: app/api/health/route.*, pages/api/health.*) with 200, anything else 404; Next 16+
  (from package.json) also writes ``.next/dev/logs/next-development.log`` as next dev does.
* ``node FILE`` / ``tsx [watch] [--env-file=F] FILE``: a file that calls ``.listen(`` is served on $PORT
  (``/health`` answers 200); any other file is a worker: it GETs ``<URL>/api/health`` for every variable
  ending in ``_URL`` that points at localhost over http, records what it got in ``$STANDIN_RECORD/<file>.json``,
  and runs until stopped.
* ``docker compose up SERVICE``: reads the compose file; a postgres image runs the real PostgreSQL server of
  ``$STANDIN_PGDATA`` on the published port, a redis image a TCP listener answering ``+PONG``;
  ``docker compose stop`` exits 0.
* ``prisma generate`` / ``prisma migrate deploy``: say so and exit 0 (Prisma 7's engine cannot be had here).
* ``--version`` answers like the real tool.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import socketserver
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOOLS = ("node", "npm", "npx", "pnpm", "yarn", "bun", "next", "tsx", "docker", "prisma")
VERSIONS = {"node": "v20.20.2", "npm": "11.19.1", "npx": "11.19.1", "pnpm": "10.34.8", "yarn": "1.22.22", "bun": "1.2.0",
            "next": "Next.js v16.4.3", "prisma": "prisma 7.10.1", "tsx": "tsx v4.23.15", "docker": "Docker version 27.5.1, build standin"}
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def install(bin_dir: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve()
    for tool in TOOLS:
        path = bin_dir / tool
        path.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(here))} {tool} \"$@\"\n")
        path.chmod(0o755)
    return bin_dir


def forever() -> None:
    threading.Event().wait()


def serve_http(port: int, routes: set[str], banner: list[str]) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            ok = path in routes
            body = json.dumps({"ok": ok, "path": path}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            print(f" GET {path} {200 if ok else 404}", flush=True)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    for line in banner:
        print(line, flush=True)
    server.serve_forever()


def package_json() -> dict[str, object]:
    path = Path("package.json")
    return json.loads(path.read_text()) if path.is_file() else {}


def run_script(tool: str, args: list[str]) -> None:
    if not args:
        sys.exit(f"{tool} (stand-in): what to run?")
    if args[0] == "install":
        Path("node_modules").mkdir(exist_ok=True)
        return
    if tool == "npx":
        os.execvp(args[0], args)
    if args[0] == "exec":
        os.execvp(args[1], args[1:])
    if args[0] == "run":
        args = args[1:]
    name, extra = args[0], [a for a in args[1:] if a != "--"]
    scripts = package_json().get("scripts") or {}
    assert isinstance(scripts, dict)
    if name not in scripts:
        sys.exit(f'{tool} (stand-in): no script "{name}" in {Path.cwd()}/package.json')
    command = " ".join([scripts[name], *map(shlex.quote, extra)])
    print(f"> {command}", flush=True)
    os.execvp("sh", ["sh", "-c", command])


def next_dev(args: list[str]) -> None:
    if not args or args[0] != "dev":
        sys.exit("next (stand-in): only `next dev`")
    port = int(os.environ.get("PORT") or 3000)
    for i, arg in enumerate(args):
        if arg in ("-p", "--port") and i + 1 < len(args):
            port = int(args[i + 1])
        elif arg.startswith("--port="):
            port = int(arg.split("=", 1)[1])
    routes = {"/"}
    if list(Path(".").glob("app/api/health/route.*")) or list(Path(".").glob("src/app/api/health/route.*")) \
            or list(Path(".").glob("pages/api/health.*")) or list(Path(".").glob("src/pages/api/health.*")):
        routes.add("/api/health")
    deps = package_json().get("dependencies") or {}
    version = str(deps.get("next", "16")) if isinstance(deps, dict) else "16"
    major = int(re.search(r"\d+", version)[0]) if re.search(r"\d+", version) else 16  # type: ignore[index]
    if major >= 16:
        log = Path(".next/dev/logs/next-development.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(json.dumps({"timestamp": "00:00:00.001", "source": "Server", "level": "LOG",
                                   "message": f"stand-in next dev on {port}"}) + "\n")
    serve_http(port, routes, [f"▲ Next.js {version} (stand-in)", f"- Local:         http://localhost:{port}",
                              "✓ Ready in 5ms"])


def load_env_file(path: Path) -> None:
    for line in path.read_text().splitlines():
        m = re.match(r"^\s*([A-Za-z_]\w*)\s*=\s*(.*)$", line)
        if m and m[1] not in os.environ:
            os.environ[m[1]] = m[2].strip().strip("\"'")


def run_file(tool: str, args: list[str]) -> None:
    files = []
    for arg in args:
        if arg.startswith("--env-file="):
            load_env_file(Path(arg.split("=", 1)[1]))
        elif not arg.startswith("-") and arg != "watch":
            files.append(arg)
    if not files:
        sys.exit(f"{tool} (stand-in): no file to run")
    source = Path(files[0])
    text = source.read_text()
    if ".listen(" in text:
        port = int(os.environ["PORT"])
        serve_http(port, {"/health"}, [f"{source} (stand-in) listening on http://localhost:{port}"])
        return
    got: dict[str, dict[str, object]] = {}
    for name, value in sorted(os.environ.items()):
        if name.endswith("_URL") and re.match(r"^http://(localhost|127\.0\.0\.1):\d+", value):
            url = value.rstrip("/") + "/api/health"
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError as exc:
                status = str(exc)
            got[name] = {"url": url, "status": status}
    record = os.environ.get("STANDIN_RECORD")
    if record:
        out = Path(record) / f"{source.name}.json"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(got))
        tmp.replace(out)
    print(f"{source} (stand-in worker): {got}", flush=True)
    forever()


def docker(args: list[str]) -> None:
    if args[:1] != ["compose"]:
        sys.exit("docker (stand-in): only `docker compose`")
    rest = args[1:]
    if rest[:1] == ["stop"]:
        return
    if rest[:1] != ["up"] or len(rest) < 2:
        sys.exit("docker (stand-in): only `docker compose up SERVICE` and `docker compose stop`")
    import yaml

    compose = next((Path(n) for n in COMPOSE_FILES if Path(n).is_file()), None)
    if compose is None:
        sys.exit("docker (stand-in): no compose file")
    service = yaml.safe_load(compose.read_text())["services"][rest[-1]]
    published = int(str(service["ports"][0]).split(":")[-2])
    image = service["image"]
    if "postgres" in image:
        data = os.environ["STANDIN_PGDATA"]
        bindir = os.environ["STANDIN_PGBIN"]
        cmd = [f"{bindir}/postgres", "-D", data, "-p", str(published), "-c", "listen_addresses=127.0.0.1",
               "-k", str(Path(data).parent)]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        print(f"{image} (stand-in): {' '.join(cmd)}", flush=True)
        os.execvp(cmd[0], cmd)
    if "redis" in image:
        class Pong(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while self.rfile.readline():
                    self.wfile.write(b"+PONG\r\n")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            address_family = socket.AF_INET

        with Server(("127.0.0.1", published), Pong) as server:
            print(f"{image} (stand-in): ready to accept connections on {published}", flush=True)
            server.serve_forever()
    sys.exit(f"docker (stand-in): no stand-in for image {image}")


def main() -> None:
    tool, args = sys.argv[1], sys.argv[2:]
    if args[:1] in (["--version"], ["-v"]):
        print(VERSIONS[tool])
        return
    if tool in ("npm", "npx", "pnpm", "yarn", "bun"):
        run_script(tool, args)
    elif tool == "next":
        next_dev(args)
    elif tool in ("node", "tsx"):
        run_file(tool, args)
    elif tool == "docker":
        docker(args)
    elif tool == "prisma":
        print(f"stand-in prisma {' '.join(args)}", flush=True)


if __name__ == "__main__":
    main()
