"""Readiness: each probe against real things, ``devenv _await`` as a process, and ``up --wait``,
``wait``, ``after:`` and ``restart:`` end to end in a private tmux server."""

from __future__ import annotations

import http.server
import io
import json
import os
import signal
import socket as _socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.cli.render import Progress
from devenv.paths import SessionPaths, pane_stem
from devenv.profile.model import Probe
from devenv.readiness.probes import LogWatch, probe_command, probe_database, probe_http, probe_ok, probe_port
from devenv.readiness.waits import Watch
from devenv.session import records
from devenv.wait import wait_until
from tests.conftest import Devenv, write_profile
from tests.pg import PASSWORD, free_port

PY = sys.executable


# --------------------------------------------------------------------------- port


@pytest.fixture
def listening() -> Iterator[int]:
    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_probe_connects_to_a_listening_socket(listening: int) -> None:
    ok, detail = probe_port(str(listening))
    assert ok, detail
    assert probe_ok(Probe("port", str(listening)), log_paths=[], env={})


def test_port_probe_fails_on_a_closed_port() -> None:
    port = free_port()
    assert probe_port(str(port)) == (False, "connection refused")


def test_port_probe_tries_ipv6_localhost() -> None:
    try:
        s = _socket.socket(_socket.AF_INET6)
        s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with s:
        s.listen()
        assert probe_port(str(s.getsockname()[1]))[0]


# --------------------------------------------------------------------------- http


class _Handler(http.server.BaseHTTPRequestHandler):
    codes = {"/ok": 200, "/created": 201, "/moved": 302, "/missing": 404, "/boom": 500}

    def do_GET(self) -> None:  # noqa: N802
        code = self.codes.get(self.path, 404)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://127.0.0.1:1/nowhere")  # never followed
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path, ready, shown", [
    ("/ok", True, "HTTP 200"), ("/created", True, "HTTP 201"), ("/moved", True, "HTTP 302"),
    ("/missing", False, "HTTP 404"), ("/boom", False, "HTTP 500"),
])
def test_http_probe_wants_2xx_or_3xx(http_server: str, path: str, ready: bool, shown: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # a proxy in the environment must not be used for localhost
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert probe_http(http_server + path) == (ready, shown)


def test_http_probe_fails_when_nothing_listens() -> None:
    ok, detail = probe_http(f"http://127.0.0.1:{free_port()}/health")
    assert not ok and "refused" in detail


# --------------------------------------------------------------------------- log


def test_log_probe_matches_a_line_of_terminal_output(tmp_path: Path) -> None:
    log = tmp_path / "api.0.log"
    log.write_bytes(b"\x1b[1mstarting\x1b[0m\r\n[devenv] api is ready (1.0s)\r\n")
    probe = Probe("log", r"ready on port \d+")
    assert not probe_ok(probe, log_paths=[log], env={})
    assert not probe_ok(Probe("log", "api is ready"), log_paths=[log], env={})  # devenv's own lines never count
    with open(log, "ab") as fh:
        fh.write(b"\x1b[32mready\x1b[0m on port \x1b[1m3000\x1b[0m\r\n")
    assert probe_ok(probe, log_paths=[tmp_path / "missing.log", log], env={})


def test_log_watch_reads_only_new_output_and_restarts_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "w.0.log"
    log.write_text("ready (an earlier run)\n")
    pattern = __import__("re").compile("ready")
    watch = LogWatch(log, start=log.stat().st_size)
    assert watch.search(pattern) is None
    with open(log, "a") as fh:
        fh.write("still booting\nrea")
    assert watch.search(pattern) is None
    with open(log, "a") as fh:
        fh.write("dy now\n")
    assert watch.search(pattern) == "ready now"
    log.write_text("ready again\n")  # truncated (rotated in place): read from the start
    assert watch.search(pattern) == "ready again"


def test_log_watch_for_run_skips_a_previous_run(tmp_path: Path) -> None:
    prefix = tmp_path / "api.0"
    log = Path(f"{prefix}.log")
    log.write_text("listening (previous run)\n")
    Path(f"{prefix}.status").write_text("exited 1\n")
    watch = LogWatch.for_run(log, prefix)
    pattern = __import__("re").compile("listening")
    assert watch.search(pattern) is None
    with open(log, "a") as fh:
        fh.write("listening (this run)\n")
    assert watch.search(pattern) == "listening (this run)"
    Path(f"{prefix}.status").write_text(f"running {os.getpid()}\n")
    assert LogWatch.for_run(log, prefix).search(pattern) == "listening (previous run)"


# --------------------------------------------------------------------------- command


def test_command_probe_runs_in_the_root_with_the_environment(tmp_path: Path) -> None:
    (tmp_path / "marker").write_text("x")
    env = {"PATH": os.environ["PATH"], "WANT": "yes"}
    assert probe_command('test -f marker && test "$WANT" = yes', env, tmp_path) == (True, "exit 0")
    ok, detail = probe_command("echo nope >&2; exit 3", env, tmp_path)
    assert (ok, detail) == (False, "exit 3: nope")
    assert not probe_ok(Probe("command", "test -f marker"), log_paths=[], env=env, cwd=tmp_path / "..")


def test_command_probe_is_killed_at_its_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    ok, detail = probe_command(f"echo $$ > {pidfile}; exec sleep 30", {"PATH": os.environ["PATH"]}, tmp_path, 0.5)
    assert not ok and "timed out" in detail
    assert time.monotonic() - start < 5
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# --------------------------------------------------------------------------- database


@pytest.mark.postgres
def test_database_probe_postgres(pg_url: str) -> None:
    assert probe_database(pg_url, {}, None, 5) == (True, "database answers")
    assert probe_database("DATABASE_URL", {"DATABASE_URL": pg_url}, None, 5)[0]
    assert probe_ok(Probe("database", "DATABASE_URL"), log_paths=[], env={"DATABASE_URL": pg_url}, timeout=5)
    wrong = pg_url.replace(PASSWORD, "wrong-pw-xyz")
    ok, detail = probe_database(wrong, {}, None, 5)
    assert not ok and "authentication failed" in detail
    assert "wrong-pw-xyz" not in detail and PASSWORD not in detail


def test_database_probe_refused_and_unset() -> None:
    ok, detail = probe_database(f"postgresql://u:hunter2pw@127.0.0.1:{free_port()}/db", {}, None, 1)
    assert not ok and "refused" in detail and "hunter2pw" not in detail
    assert probe_database("DATABASE_URL", {}, None, 1) == (False, "DATABASE_URL is not set")


def test_database_probe_sqlite(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "dev.db")
    con.execute("create table t (x)")
    con.close()
    assert probe_database("sqlite:///dev.db", {}, tmp_path, 1)[0]
    assert probe_database("file:./dev.db", {}, tmp_path, 1)[0]
    ok, detail = probe_database("sqlite:///other.db", {}, tmp_path, 1)
    assert not ok and "not found" in detail


# --------------------------------------------------------------------------- progress rendering


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _watch(name: str, state_: str, detail: str = "", done: float | None = None) -> Watch:
    w = Watch(name, Probe("port", "3000"), (), {}, None, 60, 0.5, "port 3000")
    w.state, w.detail, w.done_at = state_, detail, done
    return w


def test_progress_rewrites_lines_on_a_terminal_and_prints_plain_lines_otherwise() -> None:
    watches = [_watch("api", "starting", "port 3000: connection refused"), _watch("worker", "waiting", "waiting")]
    tty = _Tty()
    progress = Progress(watches, tty, time.monotonic())
    progress.draw()
    watches[0].state, watches[0].done_at = "ready", progress.started + 2.1
    progress.draw()
    text = tty.getvalue()
    assert "api: starting" in text and "\x1b[2F" in text and "api: ready (2.1s)" in text
    plain = io.StringIO()
    progress = Progress(watches, plain, watches[0].done_at - 2.1)
    progress.draw()
    progress.changed(watches[1])
    progress.changed(watches[0])
    assert plain.getvalue() == "api: ready (2.1s)\n"


# --------------------------------------------------------------------------- devenv _await as a process


def _await_proc(spec: list[dict], tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    full = {**os.environ, "DEVENV_AFTER": json.dumps(spec), "DEVENV_PROJECT": str(tmp_path), **(env or {})}
    return subprocess.Popen([PY, "-m", "devenv", "_await"], env=full, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_await_exits_cleanly_on_sigterm_and_stays_small(tmp_path: Path) -> None:
    import psutil

    port = free_port()
    spec = [{"window": "api", "state": str(tmp_path / "api.0"), "kind": "port", "target": str(port),
             "timeout": 120, "interval": 0.5}]
    proc = _await_proc(spec, tmp_path)
    try:
        first = proc.stdout.readline()
        assert first.strip() == f"[devenv] waiting for api: port {port} ..."
        rss = psutil.Process(proc.pid).memory_info().rss
        assert rss < 40 * 1024 * 1024, rss
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err and err == ""


def test_await_times_out_masking_secrets(tmp_path: Path) -> None:
    url = f"postgresql://app:topsecretpw@127.0.0.1:{free_port()}/app"
    spec = [{"window": "db", "state": str(tmp_path / "db.0"), "kind": "database", "target": url,
             "timeout": 1, "interval": 0.2}]
    proc = _await_proc(spec, tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "waiting for db: database postgresql://app:****@127.0.0.1" in out
    assert "db not ready after 1s" in out and "not starting" in out
    assert "topsecretpw" not in out + err


def test_await_fails_at_once_when_the_dependency_fails(tmp_path: Path) -> None:
    spec = [{"window": "api", "state": str(tmp_path / "api.0"), "kind": "http",
             "target": f"http://127.0.0.1:{free_port()}/", "timeout": 120, "interval": 0.3}]
    proc = _await_proc(spec, tmp_path)
    try:
        assert "waiting for api" in proc.stdout.readline()
        Path(tmp_path / "api.0.status").write_text("failed exited 1 after 5 restarts\n")
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1
    assert "api failed (exited 1 after 5 restarts); not starting" in out


def test_await_without_a_probe_waits_for_the_process_running(tmp_path: Path) -> None:
    spec = [{"window": "db", "state": str(tmp_path / "db.0"), "kind": "running", "target": "db",
             "timeout": 60, "interval": 0.1}]
    proc = _await_proc(spec, tmp_path)
    try:
        assert "waiting for db: its process running" in proc.stdout.readline()
        Path(tmp_path / "db.0.status").write_text(f"running {os.getpid()}\n")
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "[devenv] db is ready" in out


def test_await_rejects_a_bad_spec(tmp_path: Path) -> None:
    proc = subprocess.run([PY, "-m", "devenv", "_await"], env={**os.environ, "DEVENV_AFTER": "[{]"},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "DEVENV_AFTER is not JSON" in proc.stdout


# --------------------------------------------------------------------------- end to end in tmux

API = """
import socket, sys, time
time.sleep(2)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
with open("api.ts", "w") as fh:
    fh.write(repr(time.time()))
print("\\x1b[32mlistening\\x1b[0m on", sys.argv[1], flush=True)
while True:
    c, _ = s.accept()
    c.close()
"""

WORKER = """
import socket, sys, time
now = time.time()
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
    up = True
except OSError:
    up = False
with open("worker.ts", "w") as fh:
    fh.write(repr((now, up)))
time.sleep(300)
"""


def _status(devenv: Devenv, session: str, window: str) -> str:
    return records.read_pane_state(SessionPaths(devenv.socket, session), window, 0).status or ""


def _status_line(devenv: Devenv, session: str, window: str) -> str:
    path = SessionPaths(devenv.socket, session).dir / f"{pane_stem(window, 0)}.status"
    return path.read_text().strip() if path.exists() else ""


def test_up_wait_starts_the_worker_only_once_the_api_listens(devenv: Devenv, project: Path) -> None:
    port = free_port()
    (project / "api.py").write_text(API)
    (project / "worker.py").write_text(WORKER)
    write_profile(project, f"""
session: order
env: {{PORT: "{port}"}}
windows:
  - name: api
    command: {PY} api.py $PORT
    ready: {{port: "${{PORT}}", timeout: 30, interval: 0.2}}
  - name: logged
    command: {PY} -c "import time; time.sleep(1); print('Server ready', flush=True); time.sleep(300)"
    ready: {{log: "Server ready", timeout: 30}}
  - name: worker
    command: {PY} worker.py $PORT
    after: [api]
""")
    start = time.monotonic()
    result = devenv("up", "-d", "--no-check", "--wait")
    assert result.code == 0, result.output
    assert probe_port(str(port))[0], "up --wait returned before the port was open"
    assert time.monotonic() - start >= 2
    assert "api: ready" in result.out and "logged: ready" in result.out
    api_ts = float(wait_until(lambda: (project / "api.ts").exists() and (project / "api.ts").read_text(), 10))
    worker = wait_until(lambda: (project / "worker.ts").exists() and (project / "worker.ts").read_text(), 15)
    worker_ts, connected = eval(worker)  # noqa: S307 - our own repr
    assert connected, "worker started before the api accepted connections"
    assert worker_ts >= api_ts
    pane = devenv.tmux("capture-pane", "-p", "-t", "=order:=worker")
    assert f"[devenv] waiting for api: port {port} ..." in pane and "[devenv] api is ready" in pane

    waited = devenv("wait", "api", "worker", "--timeout", "10")
    assert waited.code == 0, waited.output
    assert "api: ready" in waited.out and "worker: ready" in waited.out


def test_up_wait_times_out_naming_the_window(devenv: Devenv, project: Path) -> None:
    port = free_port()
    write_profile(project, f"""
session: never
windows:
  - name: web
    command: echo booting the web server; sleep 300
    ready: {{port: {port}}}
  - name: fine
    command: sleep 300
""")
    start = time.monotonic()
    result = devenv("up", "-d", "--no-check", "--wait", "--timeout", "3")
    took = time.monotonic() - start
    assert result.code == 1, result.output
    assert took < 15
    assert f"web: not ready after 3s (port {port}: connection refused)" in result.err
    assert "booting the web server" in result.err
    assert "error: not ready: web" in result.err


def test_up_wait_reports_a_crashed_window_at_once(devenv: Devenv, project: Path) -> None:
    write_profile(project, f"""
session: crash
windows:
  - name: api
    command: echo cannot find module express; exit 3
    ready: {{http: "http://127.0.0.1:{free_port()}/health", timeout: 60}}
""")
    start = time.monotonic()
    result = devenv("up", "-d", "--no-check", "--wait")
    assert result.code == 1, result.output
    assert time.monotonic() - start < 20
    assert "api: exited 3" in result.err and "cannot find module express" in result.err


def test_wait_command_errors(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: waits\nwindows:\n  - {name: a, command: sleep 300}\n")
    result = devenv("wait", "a")
    assert result.code == 1 and "no session waits running" in result.err
    assert devenv("up", "-d", "--no-check").code == 0
    result = devenv("wait", "b")
    assert result.code == 2 and "no window 'b'" in result.err
    result = devenv("wait", "a", "--timeout", "10")
    assert result.code == 0 and "a: ready" in result.out


def test_dependency_never_ready_fails_the_dependent_window(devenv: Devenv, project: Path) -> None:
    write_profile(project, f"""
session: dep
windows:
  - name: api
    command: sleep 300
    ready: {{port: {free_port()}, timeout: 2}}
  - name: worker
    command: echo SHOULD-NOT-RUN; sleep 300
    after: [api]
""")
    assert devenv("up", "-d", "--no-check").code == 0
    wait_until(lambda: _status(devenv, "dep", "worker") == "failed", 20)
    assert _status_line(devenv, "dep", "worker").startswith("failed dependency api not ready")  # and why
    pane = devenv.tmux("capture-pane", "-p", "-t", "=dep:=worker")
    assert "[devenv] api not ready after 2s" in pane and "not starting" in pane
    assert "SHOULD-NOT-RUN" not in pane


def test_restart_on_failure_backs_off_and_gives_up(devenv: Devenv, project: Path) -> None:
    write_profile(project, """
session: crashy
windows:
  - name: flaky
    command: echo crashing now; exit 4
    restart: on-failure
    max_restarts: 2
""")
    start = time.monotonic()
    assert devenv("up", "-d", "--no-check").code == 0
    wait_until(lambda: _status(devenv, "crashy", "flaky") == "failed", 20)
    assert time.monotonic() - start >= 3  # backoff: 1 s, then 2 s
    pane_state = records.read_pane_state(SessionPaths(devenv.socket, "crashy"), "flaky", 0)
    assert pane_state.restarts == 2 and pane_state.exit_code == 4
    log = SessionPaths(devenv.socket, "crashy").log("flaky", 0)
    text = wait_until(lambda: "gave up" in log.read_text() and log.read_text(), 10)
    assert text.count("crashing now") == 3
    assert "restart 1/2 in 1s" in text and "restart 2/2 in 2s" in text
    assert "gave up after 2 restarts" in text
    result = devenv("wait", "flaky", "--timeout", "10")
    assert result.code == 1 and "flaky: failed" in result.err
