"""The demo's two programs, run by the shipped profile (profiles/default.yaml).

``python -m devenv.demo api``: a small HTTP API on ``$DEMO_PORT`` with ``/health``.
``python -m devenv.demo worker``: calls ``$API_URL/health`` every few seconds, records each
call in the SQLite database of ``$DATABASE_URL`` and appends a line to ``$DEMO_LOG``.
Both stop cleanly on Ctrl-C / SIGTERM. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def _stop_on_term() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def api() -> None:
    port = int(os.environ.get("DEMO_PORT", "8765"))
    started = time.time()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path.rstrip("/") in ("", "/health", "/api/health"):
                body = json.dumps({"ok": True, "uptime_s": round(time.time() - started, 1)}).encode()
                self.send_response(200)
            else:
                body = json.dumps({"error": "not found"}).encode()
                self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            print(f"{datetime.now():%H:%M:%S} api: {format % args}", flush=True)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    stop = _stop_on_term()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    print(f"api: listening on http://127.0.0.1:{port}/health", flush=True)
    stop.wait()
    server.shutdown()
    print("api: stopped", flush=True)


def _sqlite_path(url: str) -> Path:
    for prefix in ("sqlite:///", "sqlite://", "file:"):
        if url.startswith(prefix):
            return Path(url[len(prefix):])
    raise SystemExit(f"worker: DATABASE_URL must be a sqlite URL, not {url.split(':')[0]}:...")


def worker() -> None:
    api_url = os.environ.get("API_URL", "http://127.0.0.1:8765").rstrip("/")
    db_path = _sqlite_path(os.environ.get("DATABASE_URL", "sqlite:///.devenv/demo.sqlite3"))
    log_path = Path(os.environ.get("DEMO_LOG", ".devenv/demo/worker.log"))
    interval = float(os.environ.get("DEMO_INTERVAL", "5"))
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE IF NOT EXISTS calls (at TEXT, url TEXT, status INTEGER, body TEXT)")
    stop = _stop_on_term()
    print(f"worker: calling {api_url}/health every {interval:g}s, recording in {db_path}", flush=True)
    while not stop.is_set():
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:
                status, body = response.status, response.read().decode()
        except OSError as exc:
            status, body = 0, str(exc)
        db.execute("INSERT INTO calls VALUES (?, ?, ?, ?)", (at, api_url, status, body))
        db.commit()
        line = f"{at} GET {api_url}/health -> {status} {body}"
        print(f"worker: {line}", flush=True)
        with log_path.open("a") as log:
            log.write(line + "\n")
        stop.wait(interval)
    print("worker: stopped", flush=True)


def main(argv: list[str]) -> None:
    programs = {"api": api, "worker": worker}
    if len(argv) != 1 or argv[0] not in programs:
        raise SystemExit("usage: python -m devenv.demo api|worker")
    programs[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
