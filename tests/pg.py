"""A throwaway PostgreSQL server: initdb + pg_ctl in a temp dir on a free port.

Runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses
root). Session-scoped: one server for the whole run, stopped at the end.
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

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"


def _as_pg(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL (initdb) is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="devenv-pg-"))
    datadir = tmp / "data"
    pwfile = tmp / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres")
        shutil.chown(pwfile, "postgres")
    os.chmod(tmp, 0o700)
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    subprocess.run(_as_pg([str(bindir / "initdb"), "-D", str(datadir), "-U", user, "-A", "scram-sha-256",
                           f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8"]),
                   check=True, capture_output=True)
    port = free_port()
    opts = f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={tmp} -c max_connections=20 -c fsync=off"
    subprocess.run(_as_pg([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(tmp / "log"), "-w",
                           "-t", "60", "start"]), check=True, capture_output=True)
    server = PgServer("127.0.0.1", port, user, PASSWORD, "postgres", datadir)
    try:
        yield server
    finally:
        subprocess.run(_as_pg([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    return pg_server.url
