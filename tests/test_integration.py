"""The pieces together, as a user runs them: a profile with a server, a worker, a DB console
on a real PostgreSQL and a log window; up, ps, logs, db status, down."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil

from devenv.wait import wait_until
from tests.conftest import Devenv, gone, write_profile
from tests.pg import PgServer, free_port


def test_a_whole_environment_up_and_down(devenv: Devenv, project: Path, pg_server: PgServer) -> None:
    port = free_port()
    (project / ".env").write_text(f"DIRECT_URL={pg_server.url}\nDATABASE_URL=postgresql://nobody@127.0.0.1:1/x\n")
    write_profile(project, f"""\
session: whole
env:
  PORT: "{port}"
requires:
  env: [DIRECT_URL]
  database: DIRECT_URL
  ports: ["${{PORT}}"]
windows:
  - name: api
    command: exec {sys.executable} -m http.server "$PORT" --bind 127.0.0.1
    ready: {{port: "${{PORT}}", timeout: 20}}
  - name: worker
    after: [api]
    command: mkdir -p logs; while :; do echo "worker tick $PORT" >> logs/worker.log; sleep 1; done
  - name: db
    db: DIRECT_URL
  - name: logs
    logs: ["logs/*.log"]
""")
    up = devenv("up", "-d", "--wait", "--timeout", "30")
    assert up.code == 0, up.output
    assert "started session whole (4 windows)" in up.out

    # the console connected, labelled with its window (PGAPPNAME), and no argv holds the password
    status = devenv("db", "status", "--json")
    assert status.code == 0, status.output
    wait_until(lambda: "whole/db" in json.loads(devenv("db", "status", "--json").out)["connections"]
               ["by_application"], 20)
    for proc in psutil.process_iter(["cmdline"]):
        assert pg_server.password not in " ".join(proc.info["cmdline"] or [])
    assert pg_server.password not in status.output

    # the log window follows the worker's file
    wait_until(lambda: "worker tick" in devenv.tmux("capture-pane", "-p", "-t", "=whole:=logs"), 20)
    logs = devenv("logs", "api")
    assert logs.code == 0

    ps = json.loads(devenv("ps", "--json").out)
    states = {row["window"]: row["state"] for row in ps}
    assert states["api"] == "ready"
    api = next(row for row in ps if row["window"] == "api")
    assert port in api["ports"]
    pids = [row["pid"] for row in ps if row["pid"]]

    down = devenv("down", "--timeout", "5")
    assert down.code == 0, down.output
    assert str(port) in down.out  # the released port is reported
    assert devenv.tmux("list-sessions") == ""
    wait_until(lambda: all(gone(pid) for pid in pids), 10)
    # after down, the window's output is still there
    assert devenv("logs", "api").code == 0
