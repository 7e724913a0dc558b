"""Prerequisite checks: `devenv doctor` as a user runs it, and the pure helpers of devenv.readiness.prereqs and hints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devenv.cli.render import checklist
from devenv.profile.env import resolve
from devenv.profile.load import load
from devenv.readiness import hints
from devenv.readiness import prereqs as checks
from devenv.readiness.prereqs import CheckResult
from tests.conftest import write_profile
from tests.pg import PgServer, free_port

WINDOW = 'windows: [{name: a, command: "sleep 100"}]\n'


def by_name(out: str) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(out)}


def resolved_for(project: Path):
    return resolve(load(project), project)


# --------------------------------------------------------------------------- a process holding a port

LISTENER = """
import os, signal, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen()
print(s.getsockname()[1], flush=True)
signal.pause()
"""


@pytest.fixture
def listen() -> Iterator[Callable[..., tuple[int, int]]]:
    """Start a python process listening on a free port: returns (pid, port); killed by pid at the end."""
    procs: list[subprocess.Popen] = []

    def start(env: dict[str, str] | None = None) -> tuple[int, int]:
        proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True,
                                env={**os.environ, **(env or {})})
        procs.append(proc)
        line = proc.stdout.readline()  # printed once the socket listens
        assert line.strip().isdigit(), f"listener did not start: {line!r}"
        return proc.pid, int(line)

    yield start
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- commands and tmux


def test_missing_command_fails_naming_it_and_the_hint(devenv, project):
    write_profile(project, WINDOW + 'requires: {commands: [sh, devenv-no-such-tool]}\n')
    r = devenv("doctor")
    assert r.code == 1, r.output
    assert "command devenv-no-such-tool" in r.out
    assert "not found on PATH" in r.out
    assert "hint: install devenv-no-such-tool and make sure it is on PATH" in r.out
    assert "1 of 3 checks failed" in r.out
    assert "command sh " in r.out and "tmux 3." in r.out  # the passing ones are listed too


def test_all_pass_exits_0(devenv, project):
    write_profile(project, WINDOW + 'requires: {commands: [sh]}\n')
    r = devenv("doctor")
    assert r.code == 0, r.output
    assert "all 2 checks passed" in r.out


def test_version_constraints_through_the_cli(devenv, project, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("oldtool", "oldtool v1.4.2 (build 7)"), ("newtool", "newtool 20.11.1"),
                       ("weirdtool", "weird build without numbers")):
        tool = bindir / name
        tool.write_text(f"#!/bin/sh\necho '{text}'\n")
        tool.chmod(0o755)
    write_profile(project, WINDOW + 'requires: {commands: ["oldtool>=2", "newtool>=18", "weirdtool>=1"]}\n')
    r = devenv("doctor", "--json", env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    assert r.code == 1
    res = by_name(r.out)
    assert res["command newtool>=18"]["ok"] and res["command newtool>=18"]["detail"].startswith("20.11.1 at ")
    old = res["command oldtool>=2"]
    assert not old["ok"] and "found 1.4.2" in old["detail"] and "need >=2" in old["detail"]
    weird = res["command weirdtool>=1"]
    assert not weird["ok"] and "weird build without numbers" in weird["detail"]


def test_tmux_is_always_checked(devenv, project):
    write_profile(project, WINDOW)
    res = by_name(devenv("doctor", "--json").out)
    assert res["tmux"]["ok"] and res["tmux"]["detail"].startswith("tmux ")


@pytest.mark.parametrize("text,expected", [
    ("v20.11.1", (20, 11, 1)), ("tmux 3.3a", (3, 3)), ("psql (PostgreSQL) 15.5 (Debian 15.5-0+deb12u1)", (15, 5)),
    ("git version 2.39.2", (2, 39, 2)), ("npm 10", None), ("weird", None), ("tmux next-3.4", (3, 4)),
])
def test_parse_version(text, expected):
    assert checks.parse_version(text) == expected


@pytest.mark.parametrize("found,constraint,ok", [
    ((20, 11, 1), ">=18", True), ((16, 3), ">=18", False), ((18,), ">=18", True), ((18, 0, 1), ">18", True),
    ((18,), ">18", False), ((17, 9), "<18", True), ((18, 2), "<=18.2", True), ((18, 2, 1), "<=18.2", False),
    ((18, 4, 2), "==18", True), ((19, 0), "==18", False), ((18, 4), "!=18", False), ((20, 1), "!=18", True),
    ((3, 3), "~=3.2", True), ((4, 0), "~=3.2", False), ((3, 1), "~=3.2", False),
])
def test_satisfies(found, constraint, ok):
    op, want = checks.parse_constraint(constraint)
    assert checks.satisfies(found, op, want) is ok


def test_parse_constraint_rejects_garbage():
    with pytest.raises(ValueError):
        checks.parse_constraint("about 18")


def test_install_hints_are_os_aware():
    debian = hints.parse_os_release('PRETTY_NAME="Debian GNU/Linux 12"\nID=debian\n')
    ubuntu = hints.parse_os_release('ID=ubuntu\nID_LIKE=debian\n')
    fedora = hints.parse_os_release('ID=fedora\n')
    assert hints.package_manager("linux", debian) == "apt-get"
    assert hints.package_manager("linux", ubuntu) == "apt-get"
    assert hints.package_manager("linux", fedora) == "dnf"
    assert hints.package_manager("darwin", {}) == "brew"
    assert hints.package_manager("linux", {"ID": "gentoo"}) is None
    assert hints.install_hint("node", "apt-get") == "sudo apt-get install nodejs"
    assert hints.install_hint("node", "brew") == "brew install node"
    assert hints.install_hint("psql", "apt-get") == "sudo apt-get install postgresql-client"
    assert hints.install_hint("psql", "brew").startswith("brew install libpq")
    assert hints.install_hint("sqlite3", "dnf") == "sudo dnf install sqlite"
    assert hints.install_hint("tmux", None) == "install tmux and make sure it is on PATH"


# --------------------------------------------------------------------------- env


def test_variable_set_only_in_env_local_passes(devenv, project):
    write_profile(project, WINDOW + "requires: {env: [DIRECT_URL, EMPTY_ONE, MISSING_ONE]}\n")
    (project / ".env.local").write_text("DIRECT_URL=postgresql://u:pw-in-env-local@localhost/db\nEMPTY_ONE=\n")
    r = devenv("doctor", "--json")
    assert r.code == 1
    res = by_name(r.out)
    assert res["env DIRECT_URL"]["ok"] and ".env.local" in res["env DIRECT_URL"]["detail"]
    assert not res["env EMPTY_ONE"]["ok"] and "empty" in res["env EMPTY_ONE"]["detail"]
    assert not res["env MISSING_ONE"]["ok"] and "MISSING_ONE=" in res["env MISSING_ONE"]["hint"]
    assert "pw-in-env-local" not in r.output


# --------------------------------------------------------------------------- ports


def test_busy_port_names_its_holder(devenv, project, listen):
    pid, port = listen()
    free = free_port()
    write_profile(project, WINDOW + f"requires: {{ports: [{port}, {free}]}}\n")
    r = devenv("doctor")
    assert r.code == 1, r.output
    line = next(line for line in r.out.splitlines() if f"port {port}" in line)
    assert f"pid {pid}" in line and "python" in line and "running for" in line
    assert f"kill {pid}" in r.out
    res = by_name(devenv("doctor", "--json").out)
    assert res[f"port {free}"]["ok"]
    assert not res[f"port {port}"]["ok"] and f"pid {pid}" in res[f"port {port}"]["detail"]


def test_port_held_by_another_devenv_session_suggests_down(devenv, project, listen):
    pid, port = listen(env={"DEVENV_MARK": "other-sock/webapp/api", "DEVENV_PROJECT": "/srv/other project"})
    write_profile(project, WINDOW + f"requires: {{ports: [{port}]}}\n")
    res = by_name(devenv("doctor", "--json").out)[f"port {port}"]
    assert not res["ok"]
    assert "devenv session 'webapp'" in res["detail"] and f"pid {pid}" in res["detail"]
    assert "devenv -C '/srv/other project' -L other-sock down" in res["hint"]


def test_port_held_by_this_session_passes(home, project, listen):
    pid, port = listen()
    write_profile(project, WINDOW + f"requires: {{ports: [{port}]}}\n")
    resolved = resolved_for(project)
    [_, mine] = checks.run_checks(resolved, own_pids=frozenset({pid}))
    assert mine == CheckResult(f"port {port}", True, "held by this session", None)
    [_, theirs] = checks.run_checks(resolved)
    assert not theirs.ok and f"pid {pid}" in theirs.detail


def test_durations_and_sizes():
    from devenv.fmt import duration, size

    assert duration(5) == "5.0s"
    assert duration(125) == "2m5s"
    assert duration(3 * 3600 + 60 * 4) == "3h4m"
    assert duration(86400 * 2) == "2d"
    assert size(1536) == "1.5 KiB" and size(12) == "12 B"


# --------------------------------------------------------------------------- files and cwds


def test_files_check_with_npm_install_hint(devenv, project):
    write_profile(project, WINDOW + 'requires: {files: [node_modules, package.json, '
                                    '{path: prisma/schema.prisma, hint: "run from the repo root"}]}\n')
    (project / "package.json").write_text("{}")
    r = devenv("doctor", "--json")
    assert r.code == 1
    res = by_name(r.out)
    assert not res["file node_modules"]["ok"] and res["file node_modules"]["hint"] == "npm install"
    assert res["file package.json"]["ok"]
    assert res["file prisma/schema.prisma"]["hint"] == "run from the repo root"
    (project / "pnpm-lock.yaml").write_text("")
    assert by_name(devenv("doctor", "--json").out)["file node_modules"]["hint"] == "pnpm install"
    (project / "node_modules").mkdir()
    assert by_name(devenv("doctor", "--json").out)["file node_modules"]["ok"]


def test_missing_window_cwd_fails(devenv, project):
    (project / "web").mkdir()
    write_profile(project, "windows:\n"
                           "  - {name: api, command: x, cwd: services/api}\n"
                           "  - {name: web, command: x, cwd: web}\n"
                           "  - {name: split, panes: [{command: x, cwd: web}, {command: y, cwd: gone}]}\n")
    r = devenv("doctor")
    assert r.code == 1
    res = by_name(devenv("doctor", "--json").out)
    assert not res["cwd api"]["ok"] and str(project / "services" / "api") in res["cwd api"]["detail"]
    assert "windows.api.cwd" in res["cwd api"]["hint"] and "default.yaml:2" in res["cwd api"]["hint"]
    assert res["cwd web"]["ok"] and res["cwd split.0"]["ok"]
    assert not res["cwd split.1"]["ok"]


# --------------------------------------------------------------------------- custom checks


def test_custom_checks_pass_and_fail_with_hint(devenv, project):
    (project / "app").mkdir()
    write_profile(project, 'root: app\n' + WINDOW + """requires:
  checks:
    - {name: env and cwd, run: 'test "$FROM_ENV_FILE" = yes && pwd'}
    - {name: migrations applied, run: "echo checking; echo 2 migrations pending >&2; exit 3", hint: "npx prisma migrate dev"}
    - {name: no hint, run: "false"}
""")
    (project / ".env.local").write_text("FROM_ENV_FILE=yes\n")
    r = devenv("doctor")
    assert r.code == 1
    assert "hint: npx prisma migrate dev" in r.out
    res = by_name(devenv("doctor", "--json").out)
    assert res["env and cwd"] == {"name": "env and cwd", "ok": True, "detail": str(project / "app"), "hint": None,
                                  "warn": False}
    assert res["migrations applied"]["detail"] == "exit 3: 2 migrations pending"
    assert res["no hint"]["hint"] == "run `false` to see why"


def test_custom_check_timeout_kills_it(home, project):
    write_profile(project, WINDOW + "requires: {checks: [{name: hangs, run: 'sleep 60'}]}\n")
    start = time.monotonic()
    [_, result] = checks.run_checks(resolved_for(project), check_timeout=0.5)
    assert time.monotonic() - start < 10
    assert not result.ok and "timed out after 0.5s" in result.detail


def test_checks_run_concurrently(home, project):
    write_profile(project, WINDOW + "requires:\n  checks:\n" + "".join(
        f"    - {{name: slow{i}, run: 'sleep 1.5'}}\n" for i in range(3)))
    start = time.monotonic()
    results = checks.run_checks(resolved_for(project))
    assert all(r.ok for r in results)
    assert time.monotonic() - start < 4.0  # 4.5 s one after the other


# --------------------------------------------------------------------------- database


def pg_url(server: PgServer, *, password: str | None = None, dbname: str | None = None, port: int | None = None,
           query: str = "") -> str:
    return (f"postgresql://{server.user}:{password or server.password}@{server.host}:{port or server.port}/"
            f"{dbname or server.dbname}{query}")


def db_profile(project: Path, url: str) -> None:
    write_profile(project, WINDOW + "requires: {database: DIRECT_URL}\n")
    (project / ".env.local").write_text(f"DIRECT_URL={url}\n")


@pytest.mark.postgres
def test_database_reachable(devenv, project, pg_server):
    db_profile(project, pg_url(pg_server, query="?schema=public&connection_limit=5&pgbouncer=true&connect_timeout=5"))
    r = devenv("doctor")
    assert r.code == 0, r.output
    assert f"{pg_server.host}:{pg_server.port}/postgres reachable (PostgreSQL " in r.out
    assert pg_server.password not in r.output


@pytest.mark.postgres
def test_database_refused_is_quick_and_masked(devenv, project, pg_server):
    port = free_port()
    db_profile(project, pg_url(pg_server, port=port))
    start = time.monotonic()
    r = devenv("doctor", "--db-timeout", "20")  # a refusal is an answer: no retrying until the timeout
    assert time.monotonic() - start < 5
    assert r.code == 1
    line = next(line for line in r.out.splitlines() if "database DIRECT_URL" in line)
    assert f"127.0.0.1:{port}" in line and "refused" in line
    assert pg_server.password not in r.output


@pytest.mark.postgres
def test_database_wrong_password(devenv, project, pg_server):
    db_profile(project, pg_url(pg_server, password="not-the-pw-123"))
    r = devenv("doctor", "--json")
    res = by_name(r.out)["database DIRECT_URL"]
    assert r.code == 1 and not res["ok"]
    assert "authentication failed" in res["detail"] and f"{pg_server.host}:{pg_server.port}" in res["detail"]
    assert "not-the-pw-123" not in r.output and pg_server.password not in r.output


@pytest.mark.postgres
def test_database_unknown_database(devenv, project, pg_server):
    db_profile(project, pg_url(pg_server, dbname="no_such_db"))
    res = by_name(devenv("doctor", "--json").out)["database DIRECT_URL"]
    assert not res["ok"] and "unknown database" in res["detail"] and "createdb" in res["hint"]


@pytest.mark.postgres
def test_database_literal_url_is_masked_in_the_name(home, project, pg_server):
    write_profile(project, WINDOW + f"requires: {{database: '{pg_url(pg_server)}'}}\n")
    [_, result] = checks.run_checks(resolved_for(project))
    assert result.ok, result
    assert pg_server.password not in result.name and "****" in result.name


@pytest.fixture
def tcp_answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs the checks' TCP pre-check was asked about; the driver must never be reached."""
    import psycopg

    from devenv.db import connect

    asked: list[str] = []
    real = connect.tcp_answer

    def spy(url, timeout=connect.CONNECT_TIMEOUT):  # type: ignore[no-untyped-def]
        asked.append(url.where)
        return real(url, timeout)

    def driver(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the driver was asked after a definite TCP answer")

    monkeypatch.setattr(connect, "tcp_answer", spy)
    monkeypatch.setattr(psycopg, "connect", driver)
    return asked


@pytest.mark.parametrize("host, cause", [("127.0.0.1", "connection refused"), ("no-such-host.invalid", "unknown host")])
def test_a_refused_or_unknown_database_is_answered_in_one_attempt(home, project, tcp_answers, host, cause):
    """One TCP connect per check (the database, the pool prediction), no driver, no retry, whatever --db-timeout."""
    port = free_port()
    db_profile(project, f"postgresql://app:pw-0815@{host}:{port}/app")
    results = {r.name: r for r in checks.run_checks(resolved_for(project), db_timeout=30, predict=True)}
    db = results["database DIRECT_URL"]
    assert not db.ok and cause in db.detail and f"{host}:{port}" in db.detail and "pw-0815" not in db.detail
    assert sorted(tcp_answers) == [f"{host}:{port}"] * 2  # the check and the prediction, once each


def test_a_database_the_session_serves_is_answered_from_its_processes(home, project, listen, tcp_answers):
    pid, port = listen()
    db_profile(project, f"postgresql://app:pw@localhost:{port}/app")
    [_, db] = checks.run_checks(resolved_for(project), own_pids=frozenset({pid}))
    assert db.ok and f"port {port} is served by this session" in db.detail
    assert tcp_answers == []  # not probed


def test_up_on_a_complete_session_runs_no_checks_and_a_repair_does(devenv, project):
    """The checks guard what starts: attaching to a complete session never waits for (or fails on) them."""
    write_profile(project, """session: gated
requires:
  checks: [{name: gate, run: "test -e gate-open", hint: "open the gate"}]
windows:
  - {name: a, command: exec sleep 1000}
  - {name: b, command: "read line"}
""")
    (project / "gate-open").write_text("")
    assert devenv("up", "-d").code == 0
    (project / "gate-open").unlink()
    complete = devenv("up", "-d")
    assert complete.code == 0 and "is up to date" in complete.out, complete.output
    devenv.tmux("send-keys", "-t", "=gated:=b", "Enter")  # b exits: the next up repairs it
    def b_exited() -> bool:
        return "b 1" in devenv.tmux("list-panes", "-s", "-t", "=gated", "-F", "#{window_name} #{pane_dead}")

    from devenv.wait import wait_until

    wait_until(b_exited, 20)
    repair = devenv("up", "-d")
    assert repair.code == 1 and "gate" in repair.err and "open the gate" in repair.err, repair.output
    (project / "gate-open").write_text("")
    again = devenv("up", "-d")
    assert again.code == 0 and "repaired session gated" in again.out, again.output


def test_database_variable_not_set(devenv, project):
    write_profile(project, WINDOW + "requires: {database: DIRECT_URL}\n")
    res = by_name(devenv("doctor", "--json").out)["database DIRECT_URL"]
    assert not res["ok"] and res["detail"] == "DIRECT_URL is not set"


def test_sqlite_database(home, project):
    write_profile(project, WINDOW + "requires: {database: 'sqlite:///data/dev.db'}\n")
    [_, missing] = checks.run_checks(resolved_for(project))
    assert not missing.ok and "mkdir -p" in missing.hint
    (project / "data").mkdir()
    [_, fine] = checks.run_checks(resolved_for(project))
    assert fine.ok and "will be created" in fine.detail


# --------------------------------------------------------------------------- rendering


def test_render_marks_colors_and_ascii_fallback():
    results = [CheckResult("tmux", True, "tmux 3.3a", None), CheckResult("port 3000", False, "in use", "kill 1")]
    text = checklist(results, color=False, unicode=True)
    assert text.splitlines() == ["✓ tmux       tmux 3.3a", "✗ port 3000  in use", "    hint: kill 1",
                                 "1 of 2 checks failed"]
    plain = checklist(results, color=False, unicode=False)
    assert plain.isascii() and plain.startswith("ok tmux") and "XX port 3000" in plain
    assert "\x1b[" in checklist(results, color=True, unicode=True)


def test_a_warning_passes_with_its_own_mark_and_hint():
    results = [CheckResult("tmux", True, "tmux 3.3a", None),
               CheckResult("database pool", True, "may open 23; allows 17", "lower the pools", True)]
    text = checklist(results, color=False, unicode=True)
    assert text.splitlines() == ["✓ tmux           tmux 3.3a", "⚠ database pool  may open 23; allows 17",
                                 "    hint: lower the pools", "all 2 checks passed, 1 warning"]
    assert "!! database pool" in checklist(results, color=False, unicode=False)


def test_doctor_ascii_fallback_when_stdout_cannot_encode(devenv, project):
    write_profile(project, WINDOW)
    r = devenv("doctor", env={"PYTHONIOENCODING": "ascii"})
    assert r.code == 0 and r.out.startswith("ok tmux"), r.output


def test_old_tmux_fails_with_upgrade_hint(devenv, project, tmp_path):
    bindir = tmp_path / "oldtmux"
    bindir.mkdir()
    (bindir / "tmux").write_text("#!/bin/sh\necho 'tmux 3.1c'\n")
    (bindir / "tmux").chmod(0o755)
    write_profile(project, WINDOW)
    r = devenv("doctor", "--json", env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    assert r.code == 1
    res = by_name(r.out)["tmux"]
    assert not res["ok"] and "tmux 3.1c" in res["detail"] and ">= 3.2" in res["detail"]
    assert res["hint"].startswith("upgrade tmux: ")
