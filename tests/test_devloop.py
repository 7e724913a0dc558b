"""The whole dev loop: tasks, drift, ordered shutdown, stop policies, exec, subsets, hooks.

Real tmux servers, real processes, and a real PostgreSQL run inside a window for the ordered stop.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from devenv.wait import wait_until
from tests.conftest import Devenv, gone, read_pid, write_profile

PY = sys.executable


def rows(devenv: Devenv) -> dict[str, dict[str, object]]:
    result = devenv("ps", "--json")
    return {r["window"]: r for r in json.loads(result.out)}


def windows(devenv: Devenv, session: str) -> list[str]:
    return devenv.tmux("list-windows", "-t", f"={session}", "-F", "#{window_name}").split()


# --------------------------------------------------------------------------- tasks

TASKS = """\
session: tasks
tasks:
  - name: gen
    command: echo "gen ran"; cat schema/*.prisma > out.txt; echo run >> gen.count
    inputs: ["schema/**/*.prisma"]
  - name: migrate
    command: 'echo migrating; test ! -f fail-migrate || {{ echo "boom: cannot migrate" >&2; exit 4; }}'
    after: [gen]
windows:
  - name: web
    command: echo "web up"; exec sleep 600
    after: [gen, migrate]
  - name: other
    command: exec sleep 600
"""


def test_a_task_runs_once_before_its_dependents_and_is_skipped_when_unchanged(devenv: Devenv, project: Path) -> None:
    (project / "schema" / "deep").mkdir(parents=True)
    (project / "schema" / "deep" / "a.prisma").write_text("model A {}\n")
    write_profile(project, TASKS.format())
    up = devenv("up", "-d", "--no-check", "--wait", "--timeout", "30")
    assert up.code == 0, up.output
    assert (project / "gen.count").read_text() == "run\n"
    ps = rows(devenv)
    assert ps["gen"]["kind"] == "task" and ps["gen"]["state"] == "done" and ps["web"]["kind"] == "window"
    assert "gen" not in windows(devenv, "tasks")  # a task's window closes once it succeeded
    assert "gen ran" in devenv("logs", "gen").out  # its output is kept
    again = devenv("up", "-d", "--no-check")  # a task that succeeded is never "repaired"
    assert again.code == 0 and "is up to date" in again.out, again.output
    assert devenv("down").code == 0
    fresh = devenv("up", "-d", "--no-check", "--wait", "--timeout", "30")  # inputs unchanged: skipped
    assert fresh.code == 0 and "skipped gen" in fresh.out, fresh.output
    assert rows(devenv)["gen"]["state"] == "skipped"
    assert (project / "gen.count").read_text() == "run\n"
    (project / "schema" / "deep" / "a.prisma").write_text("model A { id Int }\n")  # ** matches any depth
    changed = devenv("up", "-d", "--no-check", "--wait", "--timeout", "30")
    assert changed.code == 0, changed.output
    assert (project / "gen.count").read_text() == "run\nrun\n"  # rerun on a running session
    assert "web" in changed.out  # and what waits for it follows


def test_a_failed_task_holds_its_dependents_back_and_says_why(devenv: Devenv, project: Path) -> None:
    (project / "schema").mkdir()
    (project / "schema" / "a.prisma").write_text("model A {}\n")
    (project / "fail-migrate").touch()
    write_profile(project, TASKS.format())
    up = devenv("up", "-d", "--no-check", "--wait", "--timeout", "30")
    assert up.code == 1
    assert "migrate" in up.err and "boom: cannot migrate" in up.err  # the task's last lines
    ps = rows(devenv)
    assert ps["migrate"]["state"] == "failed" and ps["migrate"]["exit_code"] == 4
    assert ps["web"]["state"] == "failed" and ps["web"]["detail"] == "dependency migrate failed (exit 4)"
    assert "web up" not in devenv("logs", "web").out  # it never started
    (project / "fail-migrate").unlink()
    fixed = devenv("up", "-d", "--no-check", "--wait", "--timeout", "30")  # a failed task runs again
    assert fixed.code == 0, fixed.output
    wait_until(lambda: "web up" in devenv("logs", "web").out, 15)


# --------------------------------------------------------------------------- drift

DRIFT = """\
session: drift
env:
  PORT: "{port}"
windows:
  - name: web
    command: echo "web on $PORT as $ROLE"; exec sleep 600
    env: {{ROLE: "{role}"}}
  - name: worker
    command: {worker}
  - name: db
    command: exec sleep 600
    env: {{PORT: "5432"}}
"""


def test_a_changed_window_restarts_alone_and_says_why(devenv: Devenv, project: Path) -> None:
    write_profile(project, DRIFT.format(port="3000", role="a", worker="exec sleep 600"))
    assert devenv("up", "-d", "--no-check").code == 0

    def pids() -> dict[str, int]:
        return wait_until(lambda: (r := rows(devenv)) and all(r[w]["pid"] for w in r) and
                          {w: int(v["pid"]) for w, v in r.items()}, 10)

    first = pids()
    write_profile(project, DRIFT.format(port="3000", role="b", worker="exec sleep 600"))  # web's own env
    dry = devenv("up", "--dry-run")
    assert dry.code == 0 and "would have restarted web (config changed: env ROLE)" in dry.err, dry.output
    kept = devenv("up", "-d", "--no-check", "--no-recreate")
    assert kept.code == 0 and "not restarted (--no-recreate)" in kept.err
    up = devenv("up", "-d", "--no-check")
    assert up.code == 0 and "restarted web (config changed: env ROLE)" in up.out, up.output
    second = pids()
    assert second["web"] != first["web"]
    assert second["worker"] == first["worker"] and second["db"] == first["db"]  # the others keep their pids
    wait_until(lambda: "web on 3000 as b" in devenv("logs", "web").out, 10)
    write_profile(project, DRIFT.format(port="3100", role="b", worker="exec sleep 600"))  # every window's env...
    up = devenv("up", "-d", "--no-check")
    assert "restarted web (config changed: env PORT)" in up.out and "restarted worker" in up.out, up.output
    assert "db" not in up.out  # ...but db sets its own PORT: its environment did not change
    assert pids()["db"] == first["db"]
    write_profile(project, DRIFT.format(port="3100", role="b", worker="exec sleep 601"))
    assert "restarted worker (config changed: command)" in devenv("up", "-d", "--no-check").out
    # the environment devenv runs in is not the profile's: another shell restarts nothing
    other = devenv("up", "-d", "--no-check", env={"SOME_NEW_VARIABLE": "x", "LANG": "C"})
    assert "is up to date" in other.out, other.output


# --------------------------------------------------------------------------- ordered shutdown, stop policies


@pytest.mark.postgres
def test_down_stops_dependents_before_the_database_they_use(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    from tests.pg import PASSWORD, Cluster, _as_pg

    cluster = Cluster()
    try:
        server = cluster.start()  # create the table, then hand the server over to a window
        url = server.url
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("create table work (id int)")
        cluster.stop()
        postgres = " ".join(_as_pg([str(cluster.bindir / "postgres"), "-D", str(cluster.datadir), "-c",
                                    f"port={cluster.port}", "-c", "listen_addresses=127.0.0.1", "-c",
                                    f"unix_socket_directories={cluster.tmp}"]))
        worker = tmp_path / "worker.py"
        worker.write_text(
            "import os, signal, sys, psycopg\n"
            "conn = psycopg.connect(os.environ['DATABASE_URL'])\n"
            "conn.execute('insert into work values (1)')  # a transaction, open\n"
            "open(os.environ['READY'], 'w').write('1')\n"
            "def drain(*a):\n"
            "    conn.commit(); open(os.environ['DONE'], 'w').write('committed'); sys.exit(0)\n"
            "signal.signal(signal.SIGINT, drain)\n"
            "signal.pause()\n")
        write_profile(project, f"""\
session: ordered
env:
  DATABASE_URL: {url}
  READY: {tmp_path / "ready"}
  DONE: {tmp_path / "done"}
windows:
  - name: db
    command: exec {postgres}
    ready: {{database: DATABASE_URL, timeout: 30}}
    stop: {{signal: INT, timeout: 20}}
  - name: worker
    command: exec {PY} {worker}
    after: [db]
""")
        assert devenv("up", "-d", "--no-check").code == 0
        wait_until(lambda: (tmp_path / "ready").exists(), 40)
        down = devenv("down", timeout=60)
        assert down.code == 0, down.output
        assert (tmp_path / "done").read_text() == "committed"
        cluster.start()
        with psycopg.connect(url, password=PASSWORD) as conn:
            assert conn.execute("select count(*) from work").fetchone() == (1,)  # committed before db stopped
    finally:
        cluster.remove()


def test_stop_policies_signal_command_and_consoles(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    write_profile(project, f"""\
session: policies
windows:
  - name: termed
    command: trap 'echo term > {pids}/termed.sig; exit 0' TERM; trap '' INT; echo $$ > {pids}/termed; while :; do sleep 0.1; done
    stop: {{signal: TERM, timeout: 5}}
  - name: commanded
    command: trap '' INT TERM; echo $$ > {pids}/commanded; while :; do sleep 0.1; done
    stop: {{command: "echo stopping-$PORT > {pids}/command.ran; kill -9 $(cat {pids}/commanded)", timeout: 5}}
    env: {{PORT: "7777"}}
  - name: deaf
    command: trap '' INT TERM HUP; echo $$ > {pids}/deaf; while :; do sleep 0.1; done
    stop: {{signal: TERM, timeout: 0.5}}
  - name: logs
    logs: ["*.log"]
""")
    assert devenv("up", "-d", "--no-check").code == 0
    procs = {n: read_pid(pids / n) for n in ("termed", "commanded", "deaf")}
    down = devenv("down")
    assert down.code == 0, down.output
    assert (pids / "termed.sig").read_text() == "term\n"  # TERM, not INT
    assert (pids / "command.ran").read_text() == "stopping-7777\n"  # the window's env
    assert "needed SIGKILL" in down.out and "(deaf)" in down.out and "(logs)" not in down.out
    for pid in procs.values():
        wait_until(lambda p=pid: gone(p), 10)


def test_restart_globs_suggestions_and_dependents(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: globs\nwindows:\n  - name: db\n    command: exec sleep 600\n"
                           + "".join(f"  - name: worker{i}\n    command: exec sleep 600\n    after: [db]\n"
                                     for i in (1, 2, 3)))
    assert devenv("up", "-d", "--no-check").code == 0
    before = wait_until(lambda: (r := rows(devenv)) and all(v["pid"] for v in r.values()) and r, 15)
    result = devenv("restart", "worker*")
    assert result.code == 0 and "restarted worker1, worker2, worker3" in result.out, result.output
    unknown = devenv("restart", "worker")
    assert unknown.code == 2 and "'worker1'" in unknown.err and "'worker*'" in unknown.err
    after = wait_until(lambda: (r := rows(devenv)) and all(v["pid"] for v in r.values()) and r, 15)
    assert after["db"]["pid"] == before["db"]["pid"]
    alone = devenv("restart", "db")  # what waits for it is left alone...
    assert "restarted db " in alone.out
    assert rows(devenv)["worker1"]["pid"] == after["worker1"]["pid"]
    both = devenv("restart", "db", "--with-dependents")  # ...unless asked
    assert both.code == 0 and "restarted db, worker1, worker2, worker3" in both.out


# --------------------------------------------------------------------------- exec, subsets


def test_exec_runs_with_the_profile_environment(devenv: Devenv, project: Path) -> None:
    (project / "api").mkdir()
    (project / ".env").write_text("DATABASE_URL=postgresql://app:hunter2@localhost/app\n")
    write_profile(project, "windows:\n  - name: api\n    cwd: api\n    env: {ROLE: api}\n    command: sleep 1\n")
    out = devenv("exec", "--", "sh", "-c", "echo $DATABASE_URL")
    assert out.code == 0 and out.out == "postgresql://app:hunter2@localhost/app\n"  # no session needed
    assert devenv("exec", "--", "sh", "-c", "exit 7").code == 7
    win = devenv("exec", "-w", "api", "--", "sh", "-c", "echo $ROLE $(pwd)")
    assert win.out.split() == ["api", str(project / "api")]
    assert devenv("exec", "--", "no-such-command-x").code == 127


def test_up_with_names_starts_them_and_what_they_need(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: subset\ntasks:\n  - name: gen\n    command: echo ok\nwindows:\n"
                           "  - name: db\n    command: exec sleep 600\n  - name: web\n    command: exec sleep 600\n"
                           "    after: [db, gen]\n  - name: docs\n    command: exec sleep 600\n")
    up = devenv("up", "-d", "--no-check", "web")
    assert up.code == 0, up.output
    assert sorted(windows(devenv, "subset")) in (["db", "gen", "web"], ["db", "web"])
    rest = devenv("up", "-d", "--no-check")
    assert rest.code == 0 and "created window docs" in rest.out and "gen" not in rest.out, rest.output
    assert devenv("up", "-d", "--no-check", "nosuch").code == 2


# --------------------------------------------------------------------------- hooks


def test_hooks_before_up_aborts_after_down_runs_even_after_a_kill(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: hooked\nhooks:\n  before_up: ['echo checking', 'test ! -f no-vpn']\n"
                           "  after_down: ['echo cleaned >> cleaned.txt']\n"
                           "windows:\n  - name: w\n    command: exec sleep 600\n")
    (project / "no-vpn").touch()
    refused = devenv("up", "-d", "--no-check")
    assert refused.code == 1 and "[before_up] checking" in refused.err and "nothing was started" in refused.err
    assert devenv.tmux("list-sessions") == ""
    (project / "no-vpn").unlink()
    assert devenv("up", "-d", "--no-check").code == 0
    assert devenv("down").code == 0
    assert (project / "cleaned.txt").read_text() == "cleaned\n"
    assert devenv("up", "-d", "--no-check").code == 0
    devenv.tmux("kill-session", "-t", "=hooked")  # ended without down
    assert devenv("up", "-d", "--no-check").code == 0  # noticed: the owed after_down runs
    assert (project / "cleaned.txt").read_text() == "cleaned\ncleaned\n"
    assert devenv("down").code == 0
    assert (project / "cleaned.txt").read_text().count("cleaned") == 3


def test_hooks_run_in_the_profiles_root(devenv: Devenv, project: Path) -> None:
    """As the windows do (and as tmuxinator and tmuxp run theirs): a hook's folder is ``root``."""
    (project / "app").mkdir()
    write_profile(project, "session: rooted\nroot: app\nhooks:\n  before_up: ['pwd > up.txt']\n"
                           "  after_down: ['pwd > down.txt']\nwindows:\n  - name: w\n    command: exec sleep 600\n")
    assert devenv("up", "-d", "--no-check").code == 0
    assert devenv("down").code == 0
    for name in ("up.txt", "down.txt"):
        assert (project / "app" / name).read_text() == f"{project / 'app'}\n"


def test_a_failing_after_down_is_reported_after_everything_stopped(devenv: Devenv, project: Path,
                                                                   tmp_path: Path) -> None:
    pid = tmp_path / "w.pid"
    write_profile(project, f"session: failhook\nhooks:\n  after_down: ['exit 9']\nwindows:\n  - name: w\n"
                           f"    command: echo $$ > {pid}; exec sleep 600\n")
    assert devenv("up", "-d", "--no-check").code == 0
    process = read_pid(pid)
    down = devenv("down")
    assert down.code == 1 and "after_down hook 'exit 9' failed (exit 9)" in down.err
    assert gone(process) or wait_until(lambda: gone(process), 10)


def test_unknown_keys_and_bad_values_in_the_new_sections_are_profile_errors(devenv: Devenv, project: Path) -> None:
    for text, expect in (
        ("tasks:\n  - name: t\n", "tasks[0]: a task needs a command"),
        ("tasks:\n  - name: t\n    command: x\n    restart: always\n", "tasks[0].restart: unknown key"),
        ("windows:\n  - name: w\n    command: x\n    stop: {signal: USR9}\n", "stop.signal: must be one of"),
        ("windows:\n  - name: w\n    command: x\n    stop: {signal: INT, command: y}\n", "a signal or a command"),
        ("hooks:\n  before: [x]\n", "hooks.before: unknown key"),
        ("windows:\n  - name: w\n    command: x\ntasks:\n  - name: w\n    command: y\n", "share one name space"),
    ):
        write_profile(project, text if "windows" in text else text + "windows:\n  - name: a\n    command: x\n")
        result = devenv("config")
        assert result.code == 2 and expect in result.err, (text, result.err)


def test_the_schema_and_config_know_tasks(devenv: Devenv, project: Path) -> None:
    write_profile(project, TASKS.format())
    config = devenv("config")
    assert config.code == 0 and "tasks:" in config.out and "inputs:" in config.out
    schema = json.loads(devenv("schema").out)
    assert {"tasks", "hooks"} <= set(schema["properties"])
