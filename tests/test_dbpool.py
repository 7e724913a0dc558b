"""The database pool when it matters, against the real PostgreSQL of tests/pg.py (max_connections=20,
3 reserved for superusers; the ordinary role ``app`` may open 17) with real client processes holding
real connections in the session's windows: who holds a full pool (from the socket table), truthful
capacity, doctor's prediction, up's repair under our own load, db top's one connection, the console
that connects by itself once its database starts."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devenv.db.predict import physical_cores, prisma_default
from devenv.db.status import capacity, summarize
from devenv.wait import wait_until
from tests.conftest import Devenv, write_profile
from tests.pg import Cluster, PgServer

pytestmark = pytest.mark.postgres

# A client process as an app's pool is: N connections to $DIRECT_URL (psycopg; PGAPPNAME from the pane),
# over TCP, or over the server's Unix socket when a folder is given; holds them until killed.
HOLD = """
import os, signal, sys
import psycopg
n, socket_dir = int(sys.argv[1]), (sys.argv[2] if len(sys.argv) > 2 else None)
extra = {"host": socket_dir} if socket_dir else {}
conns = [psycopg.connect(os.environ["DIRECT_URL"], **extra) for _ in range(n)]
print(f"holding {n}", flush=True)
signal.pause()
"""


def hold(project: Path, n: int, socket_dir: Path | None = None) -> str:
    (project / "hold.py").write_text(HOLD)
    return f"exec {sys.executable} hold.py {n}" + (f" {socket_dir}" if socket_dir else "")


def backends(admin, user: str = "app") -> int:
    return admin.execute("select count(*) from pg_stat_activity where backend_type = 'client backend'"
                         " and usename = %s", (user,)).fetchone()[0]


def app_backends(pg: PgServer) -> int:
    """The ordinary role's connections, seen through a superuser connection opened for the look and closed
    (so that the test process holds none while devenv looks at the socket table)."""
    import psycopg

    with psycopg.connect(pg.url, autocommit=True, application_name="test-admin") as admin:
        return backends(admin)


@contextlib.contextmanager
def admin_of(pg: PgServer) -> Iterator:
    """A superuser connection (it may use the reserved slots): the test's own view of the server."""
    import psycopg

    with psycopg.connect(pg.url, autocommit=True, application_name="test-admin") as conn:
        wait_until(lambda: backends(conn) == 0, 20)  # earlier tests' app connections are gone
        yield conn


@contextlib.contextmanager
def app_connections(pg: PgServer, n: int, app: str = "outsider") -> Iterator[list]:
    import psycopg

    conns = [psycopg.connect(pg.app_url, application_name=app, autocommit=True) for _ in range(n)]
    try:
        yield conns
    finally:
        for conn in conns:
            conn.close()


def pane_pid(devenv: Devenv, target: str) -> int:
    return int(devenv.tmux("display-message", "-p", "-t", target, "#{pane_pid}").strip())


def screen(devenv: Devenv, target: str) -> str:
    return devenv.tmux("capture-pane", "-p", "-t", target)


def wait_screen(devenv: Devenv, target: str, *words: str, timeout: float = 20) -> str:
    try:
        return wait_until(lambda: (lambda t: t if all(w in t for w in words) else None)(screen(devenv, target)),
                          timeout)
    except TimeoutError:
        raise AssertionError(f"{target} never showed {words}:\n{screen(devenv, target)}") from None


def ps_states(devenv: Devenv) -> dict[str, str]:
    return {f"{r['window']}.{r['pane']}": r["state"] for r in json.loads(devenv("ps", "--json").out)}


# --------------------------------------------------------------------------- capacity (pure)


def test_capacity_is_what_the_role_may_open() -> None:
    pg15 = {"max_connections": 20, "superuser_reserved": 3, "reserved": 0}
    assert capacity({**pg15, "is_superuser": False})["usable"] == 17
    assert capacity({**pg15, "is_superuser": True})["usable"] == 20
    pg16 = {"max_connections": 20, "superuser_reserved": 3, "reserved": 2}
    assert capacity({**pg16, "is_superuser": False, "use_reserved": False})["usable"] == 15
    assert capacity({**pg16, "is_superuser": False, "use_reserved": True})["usable"] == 17
    rows = [{"pid": i, "application_name": f"w{i % 3}", "state": "idle"} for i in range(12)]
    status = summarize({**pg15, "is_superuser": False, "own_pid": 99}, rows, [])
    c = status["connections"]
    assert (c["total"], c["usable"], c["reserved"], c["percent"], c["warning"]) == (12, 17, 3, 71, False)
    assert c["biggest"] == {"names": ["w0", "w1", "w2"], "count": 4}  # ties are ties


# --------------------------------------------------------------------------- a full pool, named by window


def test_a_full_pool_is_named_by_window_and_pane_and_up_still_repairs(devenv: Devenv, project: Path,
                                                                       pg_server: PgServer) -> None:
    (project / ".env").write_text(f"DIRECT_URL={pg_server.app_url}\nSUPER_URL={pg_server.url}\n")
    write_profile(project, f"""\
session: pool
requires:
  database: DIRECT_URL
windows:
  - name: web
    command: {hold(project, 2, pg_server.socket_dir)}
    db_pool: 2
  - name: worker
    panes: ["{hold(project, 5)}", "{hold(project, 5)}", "{hold(project, 5)}"]
    db_pool: 5
  - name: tail
    command: exec sleep 600
""")
    wait_until(lambda: app_backends(pg_server) == 0, 20)  # earlier tests' connections are gone
    up = devenv("up", "-d")
    assert up.code == 0, up.output
    wait_until(lambda: app_backends(pg_server) == 17, 30)  # every slot an ordinary role may use

    # the server refuses devenv: the socket table names every holder, by window and pane
    start = time.monotonic()
    r = devenv("db", "status")
    assert time.monotonic() - start < 5
    assert r.code == 0, r.output
    assert "the server refused us: too many connections" in r.out
    assert ("holders: worker.0 5, worker.1 5, worker.2 5, web 2 (from sockets: the server refused us)"
            in r.out), r.out
    assert "the biggest holders are worker.0, worker.1 and worker.2 with 5 each" in r.out
    data = json.loads(devenv("db", "status", "--json").out)
    assert data["connected"] is False and data["holders"]["others"] == []
    assert {(w["label"], w["connections"], w["appname"]) for w in data["holders"]["windows"]} == {
        ("worker.0", 5, "pool/worker.0"), ("worker.1", 5, "pool/worker.1"), ("worker.2", 5, "pool/worker.2"),
        ("web", 2, "pool/web")}  # web's are Unix-socket connections, found through their peers

    # a superuser still gets in: the server's view and the socket view agree, pane by pane
    both = json.loads(devenv("db", "status", "--url", "SUPER_URL", "--json").out)
    assert both["connected"] is True
    assert {w["label"]: (w["connections"], w["server"]) for w in both["holders"]["windows"]} == {
        "worker.0": (5, 5), "worker.1": (5, 5), "worker.2": (5, 5), "web": (2, 2)}
    assert both["connections"]["usable"] == 20  # a superuser's capacity

    # doctor: the pool is full, held by this session alone: a warning naming the holders
    doctor = devenv("doctor")
    assert doctor.code == 0, doctor.output
    line = next(ln for ln in doctor.out.splitlines() if "database DIRECT_URL" in ln)
    assert line.startswith("⚠") and "the pool is full, held by this session: worker.0 5, worker.1 5, " \
        "worker.2 5, web 2" in line
    assert "check the database URL" not in doctor.out
    assert "or restart the biggest holder: devenv restart worker" in doctor.out

    # a crashed window is repaired despite the session's own load: a warning, not a failed check
    tail = pane_pid(devenv, "=pool:=tail")
    psutil.Process(tail).children()[0].kill()
    wait_until(lambda: devenv.tmux("display-message", "-p", "-t", "=pool:=tail", "#{pane_dead}").strip() == "1", 20)
    repair = devenv("up", "-d")
    assert repair.code == 0, repair.output
    assert "repaired session pool: restarted tail" in repair.out
    assert "warning: database DIRECT_URL:" in repair.err and "held by this session" in repair.err

    # someone outside the session takes the slots a worker gave back: doctor fails, naming it
    worker2 = psutil.Process(pane_pid(devenv, "=pool:=worker.2"))
    next(p for p in worker2.children(recursive=True) if "hold.py" in " ".join(p.cmdline())).kill()
    wait_until(lambda: app_backends(pg_server) == 12, 20)
    with app_connections(pg_server, 5):
        doctor = devenv("doctor", "--json")
        assert doctor.code == 1
        res = next(r for r in json.loads(doctor.out) if r["name"] == "database DIRECT_URL")
        assert not res["ok"] and not res["warn"]
        assert "worker.0 5, worker.1 5, web 2; outside the session: python" in res["detail"]
        assert f"(pid {os.getpid()}) 5" in res["detail"] and f"kill {os.getpid()}" in res["hint"]
        blocked = devenv("up", "-d")
        assert blocked.code == 1 and "1 prerequisite check failed" in blocked.err
    assert pg_server.app_password not in doctor.output + r.output + repair.output


def test_capacity_accounts_for_reserved_slots_and_ties(devenv: Devenv, project: Path, pg_server: PgServer) -> None:
    write_profile(project, "windows: [{name: sh, command: 'true'}]\n")
    (project / ".env").write_text(f"APP_URL={pg_server.app_url}\n")
    with admin_of(pg_server), app_connections(pg_server, 4, "w1"), app_connections(pg_server, 4, "w2"), \
            app_connections(pg_server, 4, "w3"):
        r = devenv("db", "status", "--url", "APP_URL")  # a variable's name, as db: and requires.database take
        assert r.code == 0, r.output
        # 12 app + devenv's own + the test's superuser connection: 14 of the 17 an ordinary role may use
        assert "connections 14/17 (82%) in use, this one included (max_connections 20, 3 reserved)" in r.out, r.out
        assert ("warning: 14/17 connections in use (82% of the 17 usable: max_connections 20, 3 reserved): "
                "close to exhaustion; the biggest holders are w1, w2 and w3 with 4 each") in r.out
        data = json.loads(devenv("db", "status", "--url", "APP_URL", "--json").out)
        assert data["source"] == "APP_URL"
        assert data["connections"]["capacity"]["role"] == "ordinary"
        others = {o["label"]: o["connections"] for o in data["holders"]["others"]}
        assert others == {f"python (pid {os.getpid()})": 13}  # every socket of this process, the admin's too
        assert data["holders"]["server_only"] == {}
    missing = devenv("db", "status", "--url", "NO_SUCH_VAR")
    assert missing.code == 1 and "NO_SUCH_VAR, which is not set" in missing.err


# --------------------------------------------------------------------------- doctor's prediction


def test_doctor_predicts_exhaustion_before_anything_runs(devenv: Devenv, project: Path, pg_server: PgServer) -> None:
    (project / "package.json").write_text('{"dependencies": {"@prisma/client": "^6.0.0"}}\n')
    (project / ".env").write_text(f"DATABASE_URL={pg_server.app_url}?connection_limit=9\n"
                                  f"DIRECT_URL={pg_server.app_url}\nWORKER_POOL=4\n")
    write_profile(project, """\
session: predict
requires: {database: DIRECT_URL}
windows:
  - {name: web, command: npm run dev}
  - {name: worker, panes: [node a.js, node b.js], db_pool: "${WORKER_POOL}"}
  - {name: cron, command: node cron.js, env: {DATABASE_URL: "${DIRECT_URL}"}}
  - {name: quiet, command: node tool.js, db_pool: 0}
  - {name: shell, panes: [null]}
  - {name: db, db: DIRECT_URL}
  - {name: logs, logs: ["*.log"]}
""")
    cores = physical_cores()
    total = 9 + 4 + 4 + prisma_default(cores)
    r = devenv("doctor")
    assert devenv.tmux("list-sessions") == ""  # nothing ran
    line = next(ln for ln in r.out.splitlines() if "database pool" in ln)
    expected = f"the session may open {total} connections; the server allows 17 (max_connections 20, 3 reserved)"
    assert expected in line, r.out
    assert line.startswith("⚠" if total > 17 else "✓")
    assert "web 9 (connection_limit=9 in DATABASE_URL)" in line and "worker.0 4 (db_pool: 4)" in line
    assert f"cron {prisma_default(cores)} (Prisma's default pool: {cores} physical core" in line
    assert "quiet 0 (db_pool: 0)" in line
    assert "shell" not in line and "logs" not in line and " db " not in line  # devenv's own, and a plain shell
    if total > 17:
        assert "hint: lower the pool sizes (db_pool:, connection_limit= in the URL; db_pool: 0" in r.out
        assert r.code == 0  # a warning: nothing is blocked

    # over the limit for sure: a bigger worker pool
    (project / ".env").write_text(f"DATABASE_URL={pg_server.app_url}?connection_limit=9\n"
                                  f"DIRECT_URL={pg_server.app_url}\nWORKER_POOL=8\n")
    over = json.loads(devenv("doctor", "--json").out)
    pool = next(x for x in over if x["name"] == "database pool")
    assert pool["warn"] is True and pool["ok"] is True
    assert f"may open {9 + 16 + prisma_default(cores)} connections; the server allows 17" in pool["detail"]

    # no Prisma: an unknown pool size is listed, not counted; the app on a pooler counts nothing here
    (project / "package.json").unlink()
    (project / ".env").write_text(f"DATABASE_URL=postgresql://app@127.0.0.1:6543/pooled\n"
                                  f"DIRECT_URL={pg_server.app_url}\nWORKER_POOL=2\n")
    unknown = next(x for x in json.loads(devenv("doctor", "--json").out) if x["name"] == "database pool")
    assert unknown["warn"] is False
    assert "the session may open 4 connections (and 1 pane of unknown pool size)" in unknown["detail"]
    assert "web 0 (only DIRECT_URL points here" in unknown["detail"]
    assert "not counted (unknown pool size): cron" in unknown["detail"]


def test_refusal_and_unknown_host_are_definite_answers_for_checks(devenv: Devenv, project: Path) -> None:
    write_profile(project, "requires: {database: DIRECT_URL}\nwindows: [{name: a, command: 'sleep 1'}]\n")
    for url, cause in (("postgresql://app:pw@127.0.0.1:1/app", "refused"),
                       ("postgresql://app:pw@no-such-host.invalid:5432/app", "unknown host")):
        (project / ".env").write_text(f"DIRECT_URL={url}\n")
        start = time.monotonic()
        r = devenv("doctor", "--db-timeout", "30")
        assert time.monotonic() - start < 5, "a check must not retry a definite answer"
        assert r.code == 1 and cause in r.out
        start = time.monotonic()
        up = devenv("up", "-d")
        assert time.monotonic() - start < 5 and up.code == 1 and cause in up.err


# --------------------------------------------------------------------------- db top: one connection, or none


def devenv_backends(admin) -> list[int]:
    return [r[0] for r in admin.execute("select pid from pg_stat_activity where application_name = 'devenv'")]


def test_top_keeps_one_connection_or_none_and_says_so(devenv: Devenv, project: Path, pg_server: PgServer) -> None:
    write_profile(project, "windows: [{name: sh, command: 'true'}]\n")
    (project / ".env").write_text(f"DIRECT_URL={pg_server.app_url}\n")
    (Path(os.environ["HOME"]) / ".tmux.conf").write_text("set -g remain-on-exit on\n")
    top = [sys.executable, "-m", "devenv", "-C", str(project), "db", "top", "--interval", "0.3"]
    with admin_of(pg_server) as admin:
        with app_connections(pg_server, 16, "hog") as hogs:  # with the test's superuser: 17, the pool is full
            devenv.tmux("new-session", "-d", "-s", "t", "-x", "200", "-y", "50", " ".join(top))
            text = wait_screen(devenv, "t:0", "socket-only", "holders:", f"python (pid {os.getpid()}) 17",
                               "c: connect")
            assert "devenv's connection: none" in text
            hogs.pop().close()
            hogs.pop().close()  # two slots free now: top must not take one by itself
            first = screen(devenv, "t:0").splitlines()[0]
            wait_until(lambda: screen(devenv, "t:0").splitlines()[0] != first, 10)  # refreshed since
            wait_screen(devenv, "t:0", f"python (pid {os.getpid()}) 15")
            assert devenv_backends(admin) == [] and "socket-only" in screen(devenv, "t:0")
            devenv.tmux("send-keys", "-t", "t:0", "c")  # asked to: it connects, once
            text = wait_screen(devenv, "t:0", "devenv's connection: one, kept open (server pid")
            kept = devenv_backends(admin)
            assert len(kept) == 1 and f"(server pid {kept[0]})" in text
            for _ in range(3):  # refreshes reuse it
                first = screen(devenv, "t:0").splitlines()[0]
                wait_until(lambda first=first: screen(devenv, "t:0").splitlines()[0] != first, 10)
            assert devenv_backends(admin) == kept
        devenv.tmux("send-keys", "-t", "t:0", "q")
        wait_until(lambda: devenv_backends(admin) == [], 10)


# --------------------------------------------------------------------------- the console waits by itself


def test_console_connects_by_itself_once_its_database_starts(devenv: Devenv, project: Path) -> None:
    cluster = Cluster()  # initdb'd, not running yet
    try:
        server_url = f"postgresql://{cluster.user}:s3cret-pw-4711@127.0.0.1:{cluster.port}/postgres"
        (project / ".env").write_text(f"DIRECT_URL={server_url}\n")
        write_profile(project, "session: cons\nenv: {DEVENV_DB_CLIENT: psql}\n"  # psql: the fallback
                      "windows:\n  - {name: db, db: DIRECT_URL}\n")
        assert devenv("up", "-d").code == 0
        wait_screen(devenv, "=cons:=db", "database not reachable", "refused", "retrying by itself in")
        wait_until(lambda: ps_states(devenv) == {"db.0": "waiting"}, 20)
        assert "s3cret-pw-4711" not in screen(devenv, "=cons:=db")
        cluster.start()  # nobody touches the console
        wait_screen(devenv, "=cons:=db", "connections", "postgres=#", timeout=30)
        assert ps_states(devenv) == {"db.0": "running"}
        down = devenv("down", "--timeout", "5")
        assert down.code == 0, down.output
    finally:
        cluster.remove()


def test_console_is_waiting_while_the_pool_is_full(devenv: Devenv, project: Path, pg_server: PgServer) -> None:
    (project / ".env").write_text(f"DIRECT_URL={pg_server.app_url}\n")
    write_profile(project, "session: full\nwindows:\n  - {name: db, db: DIRECT_URL}\n")
    with admin_of(pg_server), app_connections(pg_server, 16, "hog") as hogs:
        assert devenv("up", "-d").code == 0
        wait_screen(devenv, "=full:=db", "the server refused us", f"python (pid {os.getpid()}) 17",
                    "retrying by itself")
        wait_until(lambda: ps_states(devenv) == {"db.0": "waiting"}, 20)
        hogs[0].close()  # one slot frees: pgcli (installed by the test extra) takes it, and only it
        text = wait_screen(devenv, "=full:=db", "app@127.0.0.1:postgres>", timeout=30)
        assert ps_states(devenv) == {"db.0": "running"}
        devenv.tmux("send-keys", "-t", "=full:=db", "select 'one ' || 'slot' as s", "Enter")
        text = wait_screen(devenv, "=full:=db", "one slot", "SELECT 1")
        assert "Traceback" not in text and "too many clients" not in text  # no second connection for completions
