"""A throwaway PostgreSQL server: initdb + pg_ctl in a temp dir on a free port.

Runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses
root). Session-scoped: one server for the whole run, stopped at the end; it has
``max_connections=20`` (3 reserved for superusers) and an ordinary role ``app``
(``PgServer.app_url``), which may open 17. ``Cluster`` makes another one, for a
test that starts (or stops) its own server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket as _socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "s3cret-pw-4711"
APP_PASSWORD = "app-pw-0815"


def find_pg_bin() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    datadir: Path
    app_user: str = "app"
    app_password: str = APP_PASSWORD

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    @property
    def app_url(self) -> str:
        """An ordinary (not superuser) role: it may use max_connections less the reserved slots."""
        return f"postgresql://{self.app_user}:{self.app_password}@{self.host}:{self.port}/{self.dbname}"

    @property
    def socket_dir(self) -> Path:
        return self.datadir.parent


def _as_pg(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Cluster:
    """A PostgreSQL cluster in a temp dir (initdb'd, not started): ``start`` and ``stop`` it."""

    def __init__(self) -> None:
        bindir = find_pg_bin()
        if bindir is None:
            pytest.skip("PostgreSQL (initdb) is not installed")
        self.bindir = bindir
        self.tmp = Path(tempfile.mkdtemp(prefix="devenv-pg-"))
        self.datadir = self.tmp / "data"
        pwfile = self.tmp / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres")
            shutil.chown(pwfile, "postgres")
        os.chmod(self.tmp, 0o700)
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
        subprocess.run(_as_pg([str(bindir / "initdb"), "-D", str(self.datadir), "-U", self.user, "-A",
                               "scram-sha-256", f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8"]),
                       check=True, capture_output=True)
        self.port = free_port()

    def start(self) -> PgServer:
        opts = (f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.tmp} "
                "-c max_connections=20 -c fsync=off")
        subprocess.run(_as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", opts, "-l",
                               str(self.tmp / "log"), "-w", "-t", "60", "start"]), check=True, capture_output=True)
        return PgServer("127.0.0.1", self.port, self.user, PASSWORD, "postgres", self.datadir)

    def stop(self) -> None:
        subprocess.run(_as_pg([str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w",
                               "stop"]), capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    cluster = Cluster()
    try:
        server = cluster.start()
        import psycopg

        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(f"create role {server.app_user} login password '{server.app_password}'")
        yield server
    finally:
        cluster.remove()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    return pg_server.url
