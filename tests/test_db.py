"""devenv db: URL handling (unit), status/shell/top/console through the real CLI against a real
PostgreSQL (tests/pg.py, max_connections=20) and SQLite, in private tmux servers."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devenv.db.connect import classify, definite
from devenv.db.shell import pgpass_line
from devenv.db.status import summarize
from devenv.db.url import DbUrl, parse_url, pick_url
from devenv.errors import DbError, UsageError
from devenv.wait import wait_until
from tests.conftest import Devenv, write_profile
from tests.pg import PASSWORD, PgServer, free_port

PROFILE = "windows:\n  - name: sh\n    command: \"true\"\n"


# --------------------------------------------------------------------------- parse_url, pick_url (unit)


def test_prisma_params_are_stripped_and_password_kept_apart(tmp_path: Path) -> None:
    url = parse_url("postgresql://app:pw-123@localhost:6543/app?pgbouncer=true&connection_limit=5"
                    "&sslmode=require&schema=public&pool_timeout=10&statement_cache_size=0&socket_timeout=3",
                    tmp_path)
    assert (url.scheme, url.host, url.port, url.user, url.password, url.dbname) == (
        "postgresql", "localhost", 6543, "app", "pw-123", "app")
    assert url.params == (("sslmode", "require"),)
    assert set(url.stripped) == {"pgbouncer", "connection_limit", "schema", "pool_timeout",
                                 "statement_cache_size", "socket_timeout"}
    assert url.libpq_url() == "postgresql://app@localhost:6543/app?sslmode=require"
    assert url.libpq_url(with_password=True) == "postgresql://app:pw-123@localhost:6543/app?sslmode=require"
    assert url.masked() == "postgresql://app:****@localhost:6543/app?sslmode=require"
    assert "pw-123" not in repr(url)
    assert url.connect_kwargs() == {"sslmode": "require", "host": "localhost", "port": "6543", "user": "app",
                                    "dbname": "app"}


def test_postgres_url_variants(tmp_path: Path) -> None:
    url = parse_url("postgres://u:p%40ss%3Aw%5Cx@db.local/my%20db", tmp_path)
    assert (url.password, url.dbname, url.port) == ("p@ss:w\\x", "my db", None)
    assert pgpass_line(url) == "db.local:*:my db:u:p@ss\\:w\\\\x"
    assert url.where == "db.local:5432"
    v6 = parse_url("postgresql://u@[::1]:5433/db", tmp_path)
    assert (v6.host, v6.port, v6.where, v6.password) == ("::1", 5433, "[::1]:5433", None)
    assert v6.libpq_url() == "postgresql://u@[::1]:5433/db"
    sock = parse_url("postgresql:///db?host=/var/run/postgresql&password=x%2By+z", tmp_path)
    assert (sock.host, sock.password, sock.params) == ("/var/run/postgresql", "x+y+z", ())
    assert sock.libpq_url() == "postgresql:///db?host=/var/run/postgresql"
    assert pgpass_line(sock).startswith("localhost:*:db:*:")


def test_prisma_schema_becomes_the_search_path(tmp_path: Path) -> None:
    url = parse_url("postgresql://u@h/db?schema=my app&connection_limit=1", tmp_path)
    assert url.params == (("options", "-csearch_path=my\\ app"),)
    assert url.libpq_url() == "postgresql://u@h/db?options=-csearch_path%3Dmy%5C%20app"
    assert parse_url("postgresql://u@h/db?schema=public", tmp_path).params == ()


def test_sqlite_urls(tmp_path: Path) -> None:
    assert parse_url("sqlite:///data/dev.db", tmp_path).path == tmp_path / "data/dev.db"
    assert parse_url("sqlite:////abs/x.db", tmp_path).path == Path("/abs/x.db")
    assert parse_url("file:./dev.db", tmp_path).path == tmp_path / "dev.db"
    assert parse_url("file:dev.db?connection_limit=1", tmp_path).path == tmp_path / "dev.db"
    assert parse_url("file:/abs/y.db", tmp_path).path == Path("/abs/y.db")
    (tmp_path / "prisma").mkdir()
    (tmp_path / "prisma" / "p.db").write_bytes(b"")
    assert parse_url("file:./p.db", tmp_path).path == tmp_path / "prisma" / "p.db"  # Prisma's schema folder
    assert parse_url("file:./p.db", tmp_path).masked() == f"sqlite:///{tmp_path}/prisma/p.db"


@pytest.mark.parametrize(("text", "error", "words"), [
    ("postgresql://u:hunter2@h:abc/db", UsageError, "port 'abc'"),
    ("postgresql://u:hunter2@h:99999/db", UsageError, "99999"),
    ("localhost:5432/db", UsageError, "unsupported scheme"),
    ("db.example.com/app", UsageError, "no scheme"),
    ("sqlite://dev.db", UsageError, "sqlite:///"),
    ("file:", UsageError, "no database file"),
    ("postgresql://u:hunter2@h1,h2/db", UsageError, "several hosts"),
    ("mysql://root:hunter2@localhost/app", DbError, "not supported yet"),
    ("app:hunter2@localhost/app", UsageError, "unsupported scheme"),
    ("postgresql://h:0/db?password=hunter2", UsageError, "port '0'"),
])
def test_bad_urls(tmp_path: Path, text: str, error: type, words: str) -> None:
    with pytest.raises(error) as info:
        parse_url(text, tmp_path)
    assert words in info.value.message
    assert "hunter2" not in info.value.message


def test_pick_url_order() -> None:
    env = {"DATABASE_URL": "postgresql://pooled", "DIRECT_URL": "postgresql://direct", "MY_DB": "sqlite:///x"}
    assert pick_url(env) == ("postgresql://direct", "DIRECT_URL")
    assert pick_url({"DATABASE_URL": "postgresql://pooled", "DIRECT_URL": ""}) == ("postgresql://pooled",
                                                                                   "DATABASE_URL")
    assert pick_url(env, window_db="MY_DB") == ("sqlite:///x", "MY_DB")
    assert pick_url(env, window_db="postgresql://lit") == ("postgresql://lit", "db:")
    assert pick_url(env, "sqlite:///y", "MY_DB") == ("sqlite:///y", "--url")
    with pytest.raises(DbError, match="MISSING"):
        pick_url(env, window_db="MISSING")
    with pytest.raises(DbError, match="DIRECT_URL and DATABASE_URL"):
        pick_url({})


def test_classify_libpq_messages() -> None:
    url = DbUrl("postgresql", host="h", port=1, user="app")
    assert classify('connection to server at "h", port 1 failed: Connection refused\n\tIs the server running', url) \
        == ("connection refused (is PostgreSQL running on that port?)", True)
    assert classify('FATAL:  password authentication failed for user "app"', url)[0] == \
        "authentication failed for user 'app'"
    assert classify('FATAL:  database "nope" does not exist', url) == ("unknown database 'nope'", False)
    assert classify("timeout expired", url) == ("timed out", True)
    assert classify("FATAL:  sorry, too many clients already", url)[1] is True
    # psycopg resolves names itself, with its own wording
    assert classify("failed to resolve host 'no-such-host.invalid': [Errno -2] Name or service not known", url) \
        == ("unknown host", False)
    assert classify("failed to resolve host 'h': [Errno -3] Temporary failure in name resolution", url)[0] \
        == "unknown host"
    # a check answers at once for these; readiness waits keep retrying the retryable ones
    for message in ("Connection refused", "FATAL:  remaining connection slots are reserved for non-replication "
                    "superuser connections", "FATAL:  sorry, too many clients already",
                    "failed to resolve host 'x'"):
        assert definite(message), message
    assert not definite("timeout expired") and not definite("the database system is starting up")


def test_summarize_counts_states_and_finds_the_longest() -> None:
    def row(pid: int, app: str, state: str | None, q: float = 1.0, wait: str | None = None) -> dict:
        return {"pid": pid, "application_name": app, "user": "u", "state": state, "wait_event_type": wait,
                "query_s": q, "state_s": q, "xact_s": q + 1, "query": f"q{pid}", "blocked_by": [1] if wait else None}

    rows = [row(1, "devenv", "active", 99.0), row(2, "api", "active", 5.0), row(3, "api", "idle"),
            row(4, "worker", "idle in transaction", 30.0), row(5, "worker", "idle in transaction (aborted)", 40.0),
            row(6, "", None), row(7, "api", "active", 2.0, wait="Lock")]
    rows += [row(10 + i, "worker", "idle") for i in range(9)]
    status = summarize({"max_connections": 20, "own_pid": 1, "server_version": "16.4"}, rows,
                       [{"pid": 2, "application_name": "api", "key": "42", "mode": "ExclusiveLock",
                         "granted": True, "state": "active", "state_s": 3.0}])
    c = status["connections"]
    assert (c["total"], c["max"], c["percent"], c["warning"]) == (16, 20, 80, True)
    assert c["by_state"] == {"active": 3, "idle": 10, "idle in transaction": 1,
                             "idle in transaction (aborted)": 1, "unknown": 1}
    assert list(c["by_application"].items())[:2] == [("worker", 11), ("api", 3)]
    assert status["longest_query"]["pid"] == 2  # devenv's own query (pid 1) is left out
    assert status["longest_idle_in_transaction"]["pid"] == 5
    assert status["locks"]["waiting"][0]["blocked_by"] == [1]
    assert status["locks"]["advisory"][0]["key"] == "42"
    rows.pop()
    assert summarize({"max_connections": 20, "own_pid": 1}, rows, [])["connections"]["warning"] is False


# --------------------------------------------------------------------------- helpers


def no_password_in(text: str) -> bool:
    return PASSWORD not in text


def argv_of_tree(root: int) -> list[str]:
    """The command lines of ``root`` and all its descendants."""
    procs = [psutil.Process(root)]
    with contextlib.suppress(psutil.Error):
        procs += procs[0].children(recursive=True)
    lines = []
    for p in procs:
        with contextlib.suppress(psutil.Error):
            lines.append(" ".join(p.cmdline()))
    return lines


def use_direct_url(project: Path, url: str, database_url: str | None = None) -> None:
    write_profile(project, PROFILE)
    text = f"DIRECT_URL={url}\n"
    if database_url:
        text = f"DATABASE_URL={database_url}\n" + text
    (project / ".env").write_text(text)


@contextlib.contextmanager
def connections(pg: PgServer, apps: list[str]) -> Iterator[list]:
    """Open one autocommit connection per entry of ``apps`` (its application_name, '' for none)."""
    import psycopg

    conns = []
    try:
        for app in apps:
            conns.append(psycopg.connect(host=pg.host, port=pg.port, user=pg.user, password=pg.password,
                                         dbname=pg.dbname, application_name=app, autocommit=True))
        yield conns
    finally:
        for conn in conns:
            conn.close()


def others(conn) -> int:
    """Client backends other than ``conn``'s own."""
    return conn.execute("select count(*) from pg_stat_activity where backend_type = 'client backend'"
                        " and pid <> pg_backend_pid()").fetchone()[0]


RECORD_EXIT = """
import signal, subprocess, sys
# a wrapper that survives Ctrl-C, runs the command (SIGINT back to default) and records its exit code
signal.signal(signal.SIGINT, signal.SIG_IGN)
code = subprocess.call(sys.argv[2:], preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
open(sys.argv[1], "w").write(str(code))
"""


def devenv_backends(conn) -> list[int]:
    return [r[0] for r in conn.execute("select pid from pg_stat_activity where application_name = 'devenv'")]


def tmux_start(devenv: Devenv, home: Path, argv: list[str]) -> Path:
    """Run ``argv`` in window t:0 of the test's tmux server; returns the file its exit code goes to.

    (tmux 3.3's #{pane_dead_status} is sometimes left empty, so a wrapper records the code.)
    """
    (home / ".tmux.conf").write_text("set -g remain-on-exit on\n")
    wrapper = home / "record_exit.py"
    wrapper.write_text(RECORD_EXIT)
    code = home / f"exit-{devenv.socket}"
    command = shlex.join([sys.executable, str(wrapper), str(code), *argv])
    subprocess.run(["tmux", "-L", devenv.socket, "new-session", "-d", "-s", "t", "-x", "160", "-y", "50", command],
                   check=True, timeout=20)
    return code


def exit_code(path: Path) -> int:
    return int(wait_until(lambda: path.is_file() and path.read_text().strip(), 20))


def pane(devenv: Devenv) -> str:
    return devenv.tmux("capture-pane", "-p", "-t", "t:0")  # the screen, not the history


def wait_pane(devenv: Devenv, *words: str, timeout: float = 20) -> str:
    try:
        return wait_until(lambda: (lambda t: t if all(w in t for w in words) else None)(pane(devenv)), timeout)
    except TimeoutError:
        raise AssertionError(f"pane never showed {words}:\n{pane(devenv)}") from None


# --------------------------------------------------------------------------- status (PostgreSQL)


@pytest.mark.postgres
def test_status_shows_the_pool_and_warns_near_exhaustion(devenv: Devenv, pg_server: PgServer) -> None:
    use_direct_url(devenv.project, pg_server.url)
    apps = ["worker"] * 5 + ["api"] * 4 + ["migrate", "", ""]
    with connections(pg_server, apps) as conns:
        wait_until(lambda: others(conns[0]) == len(apps) - 1, 20)  # earlier tests' backends are gone
        conns[9].execute("select pg_advisory_lock(42)")
        conns[10].autocommit = False
        conns[10].execute("select 1")  # leaves it idle in transaction
        r = devenv("db", "status", "--json")
        assert r.code == 0, r.err
        status = json.loads(r.out)
        c = status["connections"]
        assert status["ok"] is True and status["source"] == "DIRECT_URL"
        assert c["max"] == 20 and c["total"] >= 12
        assert c["by_application"]["worker"] == 5 and c["by_application"]["api"] == 4
        assert c["by_state"]["idle in transaction"] >= 1
        assert "idle in transaction (aborted)" in c["by_state"]
        assert [(a["key"], a["application_name"], a["granted"]) for a in status["locks"]["advisory"]] == [
            ("42", "migrate", True)]
        assert status["locks"]["waiting"] == []
        assert status["url"] == f"postgresql://{pg_server.user}:****@{pg_server.host}:{pg_server.port}/postgres"
        assert status["server_version"] and status["latency_ms"] >= 0
        assert no_password_in(r.output)

        human = devenv("db", "status")
        assert human.code == 0, human.err
        assert "13/20 (65%)" in human.out
        assert "key 42 held by pid" in human.out and "(migrate" in human.out
        assert "longest idle in transaction" in human.out
        assert "warning" not in human.out
        assert no_password_in(human.output)

        with connections(pg_server, ["burst"] * 4):
            busy = devenv("db", "status")
            assert busy.code == 0, busy.err
            assert "17/20 (85%)" in busy.out
            assert "warning: 17/20 connections in use (85% of max_connections)" in busy.out
            assert json.loads(devenv("db", "status", "--json").out)["connections"]["warning"] is True


@pytest.mark.postgres
def test_an_exhausted_server_is_answered_from_the_socket_table(devenv: Devenv, pg_server: PgServer) -> None:
    import psycopg

    use_direct_url(devenv.project, pg_server.url)
    with connections(pg_server, ["hog"] * 17) as conns:
        wait_until(lambda: others(conns[0]) == 16, 20)  # earlier tests' backends are gone
        with contextlib.suppress(psycopg.OperationalError):  # take the superuser-reserved slots too
            for _ in range(3):
                conns.append(psycopg.connect(pg_server.url, application_name="hog", autocommit=True))
        assert len(conns) == 20
        start = time.monotonic()
        r = devenv("db", "status", "--timeout", "10")
        assert time.monotonic() - start < 5  # a refusal is an answer: no retrying
        j = devenv("db", "status", "--json")
    assert r.code == 0, r.output  # it answered the question: who holds the pool
    assert "the server refused us: too many connections" in r.out
    assert f"holders: python (pid {os.getpid()}) 20 (from sockets: the server refused us)" in r.out
    assert j.code == 0, j.output
    data = json.loads(j.out)
    assert (data["ok"], data["connected"]) == (True, False)
    assert [(o["pids"], o["connections"]) for o in data["holders"]["others"]] == [([os.getpid()], 20)]
    assert no_password_in(r.output + j.output)


@pytest.mark.postgres
def test_direct_url_is_used_before_database_url(devenv: Devenv, pg_server: PgServer) -> None:
    bad = f"postgresql://nobody:{PASSWORD}@127.0.0.1:{free_port()}/nope?pgbouncer=true&connection_limit=3"
    use_direct_url(devenv.project, pg_server.url + "?schema=public&connection_limit=2", database_url=bad)
    r = devenv("db", "status", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["source"] == "DIRECT_URL"
    assert no_password_in(r.output)


def test_unreachable_names_port_and_cause_within_the_timeout(devenv: Devenv) -> None:
    port = free_port()
    url = f"postgresql://app:not-the-pw@127.0.0.1:{port}/app"
    start = time.monotonic()
    r = devenv("db", "status", "--url", url, "--timeout", "3")
    assert r.code == 1
    assert time.monotonic() - start < 8
    assert f"127.0.0.1:{port}" in r.err and "refused" in r.err
    assert "not-the-pw" not in r.output
    j = devenv("db", "status", "--url", url, "--timeout", "1", "--json")
    assert j.code == 1
    data = json.loads(j.out)
    assert data["ok"] is False and "refused" in data["error"] and str(port) in data["error"]
    assert "not-the-pw" not in j.output


@pytest.mark.postgres
def test_auth_failure_and_unknown_database_are_named(devenv: Devenv, pg_server: PgServer) -> None:
    base = f"postgresql://{pg_server.user}:%s@{pg_server.host}:{pg_server.port}/%s"
    r = devenv("db", "status", "--url", base % ("wrong-pw", "postgres"), "--timeout", "3")
    assert r.code == 1 and "authentication failed" in r.err and "wrong-pw" not in r.output
    use_direct_url(devenv.project, base % (PASSWORD, "nope"))
    r = devenv("db", "status")
    assert r.code == 1 and "unknown database 'nope'" in r.err and no_password_in(r.output)


# --------------------------------------------------------------------------- SQLite


def test_sqlite_status_and_shell(devenv: Devenv) -> None:
    con = sqlite3.connect(devenv.project / "dev.db")
    con.execute("create table users (id integer primary key, name text)")
    con.execute("insert into users (name) values ('ada'), ('bob')")
    con.commit()
    con.close()
    write_profile(devenv.project, PROFILE)
    (devenv.project / ".env").write_text("DATABASE_URL=file:./dev.db?connection_limit=1\n")
    r = devenv("db", "status", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["ok"] is True and data["tables"] == ["users"] and data["journal_mode"] == "delete"
    assert data["path"] == str(devenv.project / "dev.db") and data["size"] > 0
    human = devenv("db", "status")
    assert "tables (1): users" in human.out and "journal mode delete" in human.out
    shell = devenv("db", "shell", input="select count(*) from users;\n")
    assert shell.code == 0, shell.err
    assert shell.out.strip() == "2"
    missing = devenv("db", "status", "--url", "sqlite:///nope.db")
    assert missing.code == 1 and "not found" in missing.err


def test_top_without_a_tty_refreshes_until_sigterm(devenv: Devenv) -> None:
    sqlite3.connect(devenv.project / "top.db").execute("create table jobs (id integer)").connection.close()
    proc = subprocess.Popen(devenv.argv("db", "top", "--url", "sqlite:///top.db", "--interval", "0.2"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("devenv db top  ") and "q: quit  sqlite:///" in first and "(--url)" in first
        seen = [first]
        wait_until(lambda: seen.append(proc.stdout.readline()) or sum("tables (1): jobs" in ln for ln in seen) >= 2,
                   20)  # refreshed at least twice
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "\x1b" not in "".join(seen) + out  # no escape sequences when not on a terminal


# --------------------------------------------------------------------------- shell


def files_under(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*"))


def client_of(pid: int) -> psutil.Process | None:
    """The client under ``pid`` once its exec is done (named psql while the kernel still loads it, its
    argv and environment read empty until then)."""
    kids = psutil.Process(pid).children(recursive=True)
    client = next((k for k in kids if k.name() in ("psql", "pgcli")), None)
    try:
        return client if client is not None and client.cmdline() else None
    except psutil.NoSuchProcess:
        return None


def passfile_of(client: psutil.Process) -> tuple[str, Path]:
    """(PGPASSFILE as the client got it, the /proc path of the open file it names)."""
    env = client.environ()
    assert "PGPASSWORD" not in env
    name = env["PGPASSFILE"]
    assert name.startswith("/dev/fd/") or name.startswith("/proc/self/fd/")
    return name, Path(f"/proc/{client.pid}/fd/{name.rsplit('/', 1)[1]}")


@pytest.mark.postgres
def test_shell_gets_the_password_through_an_unlinked_file_never_argv(devenv: Devenv, pg_server: PgServer,
                                                                     tmp_path: Path) -> None:
    use_direct_url(devenv.project, pg_server.url)
    runtime, tmp = tmp_path / "runtime", tmp_path / "tmp"
    runtime.mkdir()
    tmp.mkdir()
    proc = subprocess.Popen(devenv.argv("db", "shell"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "XDG_RUNTIME_DIR": str(runtime), "TMPDIR": str(tmp)})
    try:
        psql = wait_until(lambda: client_of(proc.pid), 20)
        for line in argv_of_tree(proc.pid):
            assert PASSWORD not in line
        assert "postgresql://" in " ".join(psql.cmdline())
        name, held = passfile_of(psql)
        assert os.readlink(held).endswith("(deleted)")  # it has no name: nothing on disk to find or leave
        assert stat.S_IMODE(held.stat().st_mode) == 0o600 and stat.S_ISREG(held.stat().st_mode)
        assert held.read_text().splitlines()[0] == (
            f"{pg_server.host}:{pg_server.port}:postgres:{pg_server.user}:{PASSWORD}")
        assert files_under(runtime, tmp) == []
        out, err = proc.communicate("select 'answer=' || 41 + 1;\n", timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "answer=42" in out  # psql read the password from /dev/fd/N
    assert files_under(runtime, tmp) == []
    assert no_password_in(out + err)


@pytest.mark.postgres
def test_a_killed_console_leaves_no_pgpass_file(devenv: Devenv, home: Path, pg_server: PgServer, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, tmp = tmp_path / "runtime", tmp_path / "tmp"
    runtime.mkdir()
    tmp.mkdir()
    monkeypatch.setenv("DEVENV_DB_URL", pg_server.url)  # the tmux server inherits this environment
    monkeypatch.setenv("DEVENV_DB_CLIENT", "psql")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TMPDIR", str(tmp))
    before = set(Path(tempfile.gettempdir()).glob("devenv-db-*"))
    code = tmux_start(devenv, home, [sys.executable, "-m", "devenv", "-C", str(devenv.project), "db", "console"])
    wait_pane(devenv, "devenv db console", "postgres=#")
    top = psutil.Process(int(devenv.tmux("display-message", "-p", "-t", "t:0", "#{pane_pid}").strip()))
    console = next(p for p in top.children(recursive=True) if p.cmdline()[1:3] == ["-m", "devenv"])
    psql = wait_until(lambda: client_of(console.pid), 20)
    _, held = passfile_of(psql)
    assert held.read_text().startswith(f"{pg_server.host}:{pg_server.port}:")
    console.kill()  # SIGKILL: no cleanup code runs
    wait_until(lambda: not console.is_running() or console.status() == psutil.STATUS_ZOMBIE, 10)
    assert files_under(runtime, tmp) == []
    assert set(Path(tempfile.gettempdir()).glob("devenv-db-*")) <= before  # nor in the system's temp folder
    psql.kill()
    exit_code(code)
    assert files_under(runtime, tmp) == []


def test_the_pgpass_fallback_is_private_and_swept(tmp_path: Path) -> None:
    """Where /dev/fd/N cannot be reopened (not Linux): a 0600 file in a 0700 folder, removed after the run;
    the folder a killed devenv left is swept by the next run."""
    from devenv.db.shell import passfile

    url = DbUrl("postgresql", host="h", port=5, user="u", password="pw:1", dbname="d")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"devenv-db-{dead.pid}-abcd"
    stale.mkdir(mode=0o700)
    (stale / "pgpass").write_text("h:5:d:u:old\n")
    alive = tmp_path / f"devenv-db-{os.getpid()}-efgh"
    alive.mkdir(mode=0o700)
    with passfile(url, str(tmp_path), by_fd=False) as (env, fds):
        path = Path(env["PGPASSFILE"])
        assert fds == ()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.read_text() == "h:5:d:u:pw\\:1\nh:5:*:u:pw\\:1\n"
        assert not stale.exists() and alive.exists()  # a running devenv's folder is left alone
    assert not path.exists() and not path.parent.exists()
    with passfile(url, str(tmp_path)) as (env, fds):  # the Linux way: no file in the folder at all
        assert env["PGPASSFILE"] == f"/dev/fd/{fds[0]}" and files_under(tmp_path) == [alive]
        assert os.read(os.open(env["PGPASSFILE"], os.O_RDONLY), 100).startswith(b"h:5:d:u:")


@pytest.mark.postgres
def test_shell_exits_with_the_client_code(devenv: Devenv, pg_server: PgServer) -> None:
    use_direct_url(devenv.project, pg_server.url + "?schema=app_schema&connection_limit=2&pool_timeout=5")
    r = devenv("db", "shell", input="show search_path;\n\\set ON_ERROR_STOP 1\nselect nonsense_column;\n")
    assert "app_schema" in r.out  # Prisma's schema= reached psql as the search_path
    assert r.code == 3  # psql's code for an error in a script with ON_ERROR_STOP
    assert "nonsense_column" in r.err and no_password_in(r.output)


def test_shell_without_a_client_says_how_to_install_one(devenv: Devenv, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    from devenv.db.shell import find_client

    with pytest.raises(DbError) as info:
        find_client(DbUrl("postgresql", host="h"), lambda _name: None, beside=str(empty))
    assert "no pgcli or psql found" in info.value.message and "apt-get install postgresql-client" in info.value.hint
    with pytest.raises(DbError, match="no litecli or sqlite3 found"):
        find_client(DbUrl("sqlite", path=empty / "x.db"), lambda _name: None, beside=str(empty))
    r = devenv("db", "shell", "--url", "postgresql://app@127.0.0.1:1/app",
               env={"PATH": str(empty), "DEVENV_DB_CLIENT": "psql"})  # (pgcli is beside devenv's python)
    assert r.code == 1
    assert "psql (from $DEVENV_DB_CLIENT) not found" in r.err and "unset DEVENV_DB_CLIENT" in r.err


# --------------------------------------------------------------------------- top and console in tmux


@pytest.mark.postgres
def test_top_in_tmux_shows_the_status_and_quits_on_q(devenv: Devenv, home: Path, pg_server: PgServer) -> None:
    use_direct_url(devenv.project, pg_server.url)
    cmd = [sys.executable, "-m", "devenv", "-C", str(devenv.project), "db", "top", "--interval", "0.5"]
    with connections(pg_server, ["worker"] * 3) as conns:
        code = tmux_start(devenv, home, cmd)
        text = wait_pane(devenv, "devenv db top", "/20 (", "worker", "q: quit")
        assert no_password_in(text)
        assert "****@" in text
        pid = int(devenv.tmux("display-message", "-p", "-t", "t:0", "#{pane_pid}").strip())
        for line in argv_of_tree(pid):
            assert PASSWORD not in line
        # one connection, kept open: kill it from the server side, top reconnects by itself
        admin = conns[0]
        top_pids = wait_until(lambda: devenv_backends(admin), 20)
        assert len(top_pids) == 1
        admin.execute("select pg_terminate_backend(%s)", top_pids)
        wait_until(lambda: (lambda now: now and now != top_pids)(devenv_backends(admin)), 20)
        wait_pane(devenv, "/20 (", "worker")
        devenv.tmux("send-keys", "-t", "t:0", "q")
        assert exit_code(code) == 0


def test_top_shows_reconnecting_when_the_database_is_down(devenv: Devenv, home: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "devenv", "-C", str(devenv.project), "db", "top",
           "--url", f"postgresql://app@127.0.0.1:{port}/app", "--interval", "0.5"]
    code = tmux_start(devenv, home, cmd)
    wait_pane(devenv, "reconnecting", f"127.0.0.1:{port}", "refused")
    devenv.tmux("send-keys", "-t", "t:0", "C-c")
    assert exit_code(code) == 0


@pytest.mark.postgres
def test_console_banner_shell_and_restart(devenv: Devenv, home: Path, pg_server: PgServer,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # the tmux server inherits this environment: the URL reaches the window without any argv
    monkeypatch.setenv("DEVENV_DB_URL", pg_server.url)
    monkeypatch.setenv("PGAPPNAME", "t/db")
    monkeypatch.setenv("DEVENV_DB_CLIENT", "psql")  # the fallback (pgcli is installed: see the pgcli tests)
    cmd = [sys.executable, "-m", "devenv", "-C", str(devenv.project), "db", "console"]
    code = tmux_start(devenv, home, cmd)
    wait_pane(devenv, "devenv db console", "(from DEVENV_DB_URL)", "connections", "/20 (", "postgres=#")
    pid = int(devenv.tmux("display-message", "-p", "-t", "t:0", "#{pane_pid}").strip())
    for line in argv_of_tree(pid):
        assert PASSWORD not in line
    devenv.tmux("send-keys", "-t", "t:0", "select application_name || '!' from pg_stat_activity"
                " where pid = pg_backend_pid() \\g", "Enter")  # (tmux reads a final ';' as a separator)
    wait_pane(devenv, "t/db!")
    devenv.tmux("send-keys", "-t", "t:0", "\\q", "Enter")
    wait_pane(devenv, "console exited; press Enter to restart, Ctrl-C to quit")
    devenv.tmux("send-keys", "-t", "t:0", "Enter")  # restart: the banner clears the screen, psql again
    wait_until(lambda: "console exited" not in pane(devenv) and "postgres=#" in pane(devenv), 20)
    devenv.tmux("send-keys", "-t", "t:0", "\\q", "Enter")
    wait_pane(devenv, "console exited; press Enter to restart")
    devenv.tmux("send-keys", "-t", "t:0", "C-c")
    assert exit_code(code) == 0
    assert no_password_in(pane(devenv))


def test_console_offers_a_retry_when_unreachable(devenv: Devenv, home: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("DEVENV_DB", "MY_DB")
    monkeypatch.setenv("MY_DB", f"postgresql://app:hidden-pw@127.0.0.1:{port}/app")
    cmd = [sys.executable, "-m", "devenv", "-C", str(devenv.project), "db", "console", "--timeout", "1"]
    code = tmux_start(devenv, home, cmd)
    text = wait_pane(devenv, "(from MY_DB)", "database not reachable", "refused", "retrying by itself in")
    assert "hidden-pw" not in text
    devenv.tmux("send-keys", "-t", "t:0", "Enter")
    wait_until(lambda: "retrying by itself in 2s" in pane(devenv) and "refused" in pane(devenv), 20)  # backoff
    devenv.tmux("send-keys", "-t", "t:0", "C-c")
    assert exit_code(code) == 0


def test_console_on_sqlite_stops_when_terminated(devenv: Devenv, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sqlite3.connect(devenv.project / "c.db").execute("create table notes (id integer)").connection.close()
    monkeypatch.setenv("DEVENV_DB_URL", "file:./c.db")
    monkeypatch.setenv("DEVENV_PROJECT", str(devenv.project))  # relative paths from the project, as in a window
    monkeypatch.setenv("DEVENV_DB_CLIENT", "sqlite3")  # the fallback (litecli is installed)
    code = tmux_start(devenv, home, [sys.executable, "-m", "devenv", "db", "console"])
    wait_pane(devenv, "devenv db console", "(from DEVENV_DB_URL)", "tables (1): notes", "sqlite>")
    top = psutil.Process(int(devenv.tmux("display-message", "-p", "-t", "t:0", "#{pane_pid}").strip()))
    console = next(p for p in top.children(recursive=True) if p.cmdline()[1:3] == ["-m", "devenv"])
    client = wait_until(lambda: console.children(), 20)[0]
    assert client.name() == "sqlite3"
    console.terminate()  # as `devenv down` would: the console passes it on and stops, no restart prompt
    assert exit_code(code) == -15
    assert not client.is_running() or client.status() == psutil.STATUS_ZOMBIE


# --------------------------------------------------------------------------- pgcli, litecli (installed by the test extra)


def test_the_client_is_pgcli_or_litecli_for_a_person_psql_or_sqlite3_for_a_script(tmp_path: Path) -> None:
    from devenv.db.shell import client_argv, find_client

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pgcli", "psql", "sqlite3"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)

    def which(name: str) -> str | None:
        return shutil.which(name, path=str(bin_dir))

    pg = DbUrl("postgresql", host="h", port=5, user="u", password="pw", dbname="d")
    lite = DbUrl("sqlite", path=tmp_path / "x.db")
    def find(url: DbUrl, **kw: object) -> str:
        return find_client(url, which, beside=str(bin_dir), **kw)  # type: ignore[arg-type]

    assert find(pg) == str(bin_dir / "pgcli")
    assert find(pg, interactive=False) == str(bin_dir / "psql")
    assert find(pg, choice="psql") == str(bin_dir / "psql")
    assert find(pg, choice="sqlite3") == str(bin_dir / "pgcli")  # another family's: ignored
    assert find(lite, choice="psql") == find(lite) == str(bin_dir / "sqlite3")
    with pytest.raises(DbError, match="litecli .from .DEVENV_DB_CLIENT. not found"):
        find(lite, choice="litecli")
    assert client_argv(str(bin_dir / "pgcli"), pg) == [str(bin_dir / "pgcli"), "--less-chatty",
                                                       "--single-connection", "postgresql://u@h:5/d"]
    assert client_argv("psql", pg) == ["psql", "postgresql://u@h:5/d"]
    here = DbUrl("sqlite", path=Path.cwd() / ".devenv" / "demo.sqlite3")
    assert client_argv("litecli", here) == ["litecli", os.path.join(".devenv", "demo.sqlite3")]  # a short prompt
    assert client_argv("sqlite3", lite) == ["sqlite3", str(tmp_path / "x.db")]  # outside the current folder
    # beside devenv's interpreter (its venv's bin) when not on PATH: the test extra installed them there
    venv_bin = Path(sys.executable).parent
    assert find_client(pg, lambda _name: None) == str(venv_bin / "pgcli")
    assert find_client(lite, lambda _name: None) == str(venv_bin / "litecli")


def client_in(devenv: Devenv, name: str) -> psutil.Process:
    """The pane's process running the script ``name`` (pgcli retitles itself: its name is no guide)."""
    top = psutil.Process(int(devenv.tmux("display-message", "-p", "-t", "t:0", "#{pane_pid}").strip()))

    def runs(proc: psutil.Process) -> bool:
        with contextlib.suppress(psutil.Error):
            return any(Path(arg).name == name for arg in proc.cmdline()[:2])
        return False

    return wait_until(lambda: next((p for p in top.children(recursive=True) if runs(p)), None), 20)


@pytest.mark.postgres
def test_console_runs_pgcli_with_the_password_outside_argv(devenv: Devenv, home: Path, pg_server: PgServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.pg import APP_PASSWORD

    monkeypatch.setenv("DEVENV_DB_URL", pg_server.app_url)  # the ordinary role
    monkeypatch.setenv("PGAPPNAME", "t/db")
    code = tmux_start(devenv, home, [sys.executable, "-m", "devenv", "-C", str(devenv.project), "db", "console"])
    wait_pane(devenv, "devenv db console", "(from DEVENV_DB_URL)", "connections", "app@127.0.0.1:postgres>")
    pgcli = client_in(devenv, "pgcli")
    assert "--single-connection" in pgcli.cmdline() and "--less-chatty" in pgcli.cmdline()
    # pgcli retitles itself (setproctitle), which overwrites what /proc shows of its environment:
    # the password reached it as the unlinked 0600 file it inherited (PGPASSFILE=/dev/fd/N), never argv
    fds = [f for f in Path(f"/proc/{pgcli.pid}/fd").iterdir() if os.readlink(f).endswith("(deleted)")]
    held = [f for f in fds if stat.S_ISREG(f.stat().st_mode) and stat.S_IMODE(f.stat().st_mode) == 0o600]
    assert [f.read_text().splitlines()[0] for f in held] == [
        f"{pg_server.host}:{pg_server.port}:postgres:app:{APP_PASSWORD}"]
    pids = [psutil.Process(int(devenv.tmux("display-message", "-p", "-t", "t:0", "#{pane_pid}").strip())).pid]
    for line in argv_of_tree(pids[0]):
        assert APP_PASSWORD not in line and PASSWORD not in line
    for proc in psutil.process_iter(["cmdline"]):  # nor any process of the machine
        assert APP_PASSWORD not in " ".join(proc.info["cmdline"] or [])
    devenv.tmux("send-keys", "-t", "t:0", "select application_name || '!' as who, count(*) over () as n"
                " from pg_stat_activity where usename = current_user", "Enter")
    text = wait_pane(devenv, "t/db!", "SELECT 1", "Time:")
    assert "Server: PostgreSQL" not in text and "Traceback" not in text  # --less-chatty; no second connection
    with connections(pg_server, ["test-admin"]) as (admin,):
        rows = admin.execute("select count(*) from pg_stat_activity where application_name = 't/db'").fetchone()
        assert rows == (1,)  # --single-connection: completions use the one connection
    devenv.tmux("send-keys", "-t", "t:0", "\\q", "Enter")
    text = wait_pane(devenv, "console exited; press Enter to restart, Ctrl-C to quit")
    assert "Goodbye!" not in text
    devenv.tmux("send-keys", "-t", "t:0", "C-c")
    assert exit_code(code) == 0
    assert APP_PASSWORD not in pane(devenv)


def test_console_runs_litecli_and_never_makes_a_missing_file(devenv: Devenv, home: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = devenv.project / "c.db"
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.executescript("create table notes (id integer, body text);"
                          "insert into notes values (1, 'first'), (2, 'second');")
        con.commit()
    monkeypatch.setenv("DEVENV_DB_URL", "file:./c.db")
    monkeypatch.setenv("DEVENV_PROJECT", str(devenv.project))
    code = tmux_start(devenv, home, [sys.executable, "-m", "devenv", "db", "console"])
    wait_pane(devenv, "devenv db console", "tables (1): notes", f"{db}>")
    client_in(devenv, "litecli")
    devenv.tmux("send-keys", "-t", "t:0", "select body || '!' as b from notes where id = 2", "Enter")
    wait_pane(devenv, "second!", "1 row in set")
    devenv.tmux("send-keys", "-t", "t:0", "quit", "Enter")
    wait_pane(devenv, "console exited; press Enter to restart, Ctrl-C to quit")
    devenv.tmux("send-keys", "-t", "t:0", "C-c")
    assert exit_code(code) == 0


def test_a_console_on_a_missing_sqlite_file_does_not_create_it(devenv: Devenv, home: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    missing = devenv.project / "later.db"
    r = devenv("db", "shell", "--url", "sqlite:///later.db")
    assert r.code == 1 and f"no database file at {missing}" in r.err and "does not make" in r.err
    monkeypatch.setenv("DEVENV_DB_URL", "sqlite:///later.db")
    monkeypatch.setenv("DEVENV_PROJECT", str(devenv.project))
    code = tmux_start(devenv, home, [sys.executable, "-m", "devenv", "db", "console"])
    wait_pane(devenv, "database not reachable", "retrying by itself in")
    devenv.tmux("send-keys", "-t", "t:0", "s", "Enter")  # open the shell anyway: still no file made
    wait_pane(devenv, f"error: no database file at {missing}")
    assert not missing.exists()
    with contextlib.closing(sqlite3.connect(missing)) as con:  # the app makes it: the console opens by itself
        con.execute("create table t (x)")
    wait_pane(devenv, "tables (1): t", f"{missing}>")
    devenv.tmux("send-keys", "-t", "t:0", "quit", "Enter")
    wait_pane(devenv, "console exited")
    devenv.tmux("send-keys", "-t", "t:0", "C-c")
    assert exit_code(code) == 0
