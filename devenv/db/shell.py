"""The interactive client (``devenv db shell``): pgcli or psql, litecli or sqlite3.

For PostgreSQL the password reaches the client through a 0600 pgpass file in a
private folder, named by ``PGPASSFILE`` in the client's environment only, and
deleted when the client exits: never its command line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from devenv.db.url import DbUrl
from devenv.errors import DbError

PG_CLIENTS = ("pgcli", "psql")
SQLITE_CLIENTS = ("litecli", "sqlite3")



def pgpass_line(url: DbUrl, dbname: str | None = None) -> str:
    """``host:port:db:user:password`` with ``:`` and ``\\`` escaped; ``*`` for what is unset."""
    def esc(value: object) -> str:
        return str(value).replace("\\", "\\\\").replace(":", "\\:") if value not in (None, "") else "*"

    if url.password and ("\n" in url.password or "\r" in url.password):
        raise DbError("the database password contains a line break; a pgpass file cannot hold it")
    host = url.host
    if host and host.startswith("/"):
        host = "localhost"  # libpq matches socket connections against 'localhost'
    db = url.dbname if dbname is None else dbname
    return ":".join([esc(host), esc(url.port), esc(db), esc(url.user), esc(url.password)])


def find_client(url: DbUrl, which: Callable[[str], str | None] = shutil.which) -> str:
    """The best installed client for ``url``; DbError with an install hint when none is."""
    names = PG_CLIENTS if url.scheme == "postgresql" else SQLITE_CLIENTS
    for name in names:
        path = which(name)
        if path:
            return path
    if url.scheme == "postgresql":
        hint = ("install one: sudo apt-get install postgresql-client (psql), brew install libpq, "
                "or pipx install pgcli")
    else:
        hint = "install one: sudo apt-get install sqlite3, brew install sqlite, or pipx install litecli"
    raise DbError(f"no {' or '.join(names)} found on PATH", hint=hint)


def _private_dir() -> str:

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = runtime if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK) else None
    return tempfile.mkdtemp(prefix="devenv-db-", dir=base)  # mode 0700


def run_shell(url: DbUrl, environ: Mapping[str, str] | None = None) -> int:
    """Run the client as a child and return its exit code.

    For PostgreSQL the password goes in a 0600 pgpass file in a private
    directory, named by ``PGPASSFILE`` in the client's environment only, and
    deleted when the client exits. SIGINT is ignored here while the client
    (which handles Ctrl-C itself) runs; SIGTERM and SIGHUP are forwarded.
    """
    client = find_client(url)
    env = dict(os.environ if environ is None else environ)
    env.setdefault("PGAPPNAME", "devenv db shell")
    tmpdir = None
    if url.scheme == "sqlite":
        argv = [client, str(url.path)]
    else:
        argv = [client, url.libpq_url(with_password=False)]
        if url.password:
            tmpdir = _private_dir()
            passfile = os.path.join(tmpdir, "pgpass")
            fd = os.open(passfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(pgpass_line(url) + "\n" + pgpass_line(url, dbname="*") + "\n")
            env["PGPASSFILE"] = passfile
            env.pop("PGPASSWORD", None)
    saved: dict[int, Any] = {}
    received: list[int] = []
    try:
        proc = subprocess.Popen(argv, env=env)

        def forward(signum: int, _frame: object) -> None:
            received.append(signum)
            if proc.poll() is None:
                proc.send_signal(signum)

        saved[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for stop in (signal.SIGTERM, signal.SIGHUP):
            saved[stop] = signal.signal(stop, forward)
        code = proc.wait()
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if received:  # we were told to stop too (devenv down, a closed window): die by that signal
        signal.signal(received[0], signal.SIG_DFL)
        os.kill(os.getpid(), received[0])
    return 128 - code if code < 0 else code
