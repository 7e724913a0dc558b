"""The interactive client (``devenv db shell``, the console): pgcli or psql, litecli or sqlite3.

Which client (:func:`find_client`): for a person at a terminal, pgcli and litecli when installed
(on PATH, or beside devenv's own interpreter: a venv, ``pipx inject devenv pgcli``), else psql and
sqlite3; for a script (stdin not a terminal), psql and sqlite3 first: their output and exit codes
are stable, and pgcli cannot read a script from a pipe. ``DEVENV_DB_CLIENT`` names the one to use
(``psql``, ``pgcli``, ``sqlite3``, ``litecli`` or a path); a name of the other database's family is
ignored. pgcli runs with ``--less-chatty`` (the console prints its own banner) and
``--single-connection`` (else it opens a second connection for its completions, which fails, with a
traceback in the pane, when the pool has one free slot). The user's own pgcli/litecli config
(pager, prompt, colours, history) applies: their pager is used only for results taller or wider
than the pane (pgcli 4's ``enable_pager``, litecli's default), so a small result never waits on it.
A SQLite file that does not exist is an error, not an empty database made by opening a console.

For PostgreSQL the password reaches the client through a pgpass file named by ``PGPASSFILE`` in
the client's environment only, never its command line:

* Linux: a 0600 file that has no name at all (``O_TMPFILE``; else created and unlinked at once),
  kept open by devenv and inherited by the client alone as ``PGPASSFILE=/dev/fd/N``. libpq
  ``stat()``s that path and opens it again, which Linux allows for an unlinked file (each open
  reads from the start; pgcli's second connection too). Nothing is ever left on disk, even when
  devenv is killed with SIGKILL: the file goes with the last descriptor.
* Elsewhere (``/dev/fd/N`` reopens share one offset there): a 0600 file in a private 0700 folder
  ``devenv-db-<pid>-*``, deleted when the client exits; the folders of dead devenv processes
  (a SIGKILL) are swept the next time a shell starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from devenv.db.url import DbUrl
from devenv.errors import DbError

PG_CLIENTS = ("pgcli", "psql")
SQLITE_CLIENTS = ("litecli", "sqlite3")
CHOICE = "DEVENV_DB_CLIENT"


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


def find_client(url: DbUrl, which: Callable[[str], str | None] = shutil.which, *, interactive: bool = True,
                choice: str | None = None, beside: str | None = None) -> str:
    """The best installed client for ``url``; DbError with an install hint when none is.

    ``interactive``: pgcli/litecli first, else psql/sqlite3 first. ``choice`` (``$DEVENV_DB_CLIENT``):
    that client only, when it is one of this database's family. Not on PATH (``which``), a client is
    looked for in ``beside`` (default: the folder of devenv's interpreter, where its pip puts scripts).
    """
    folder = os.path.dirname(sys.executable) if beside is None else beside

    def find(name: str) -> str | None:
        found = which(name)
        if found or os.sep in name:
            return found
        path = os.path.join(folder, name)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None

    names = PG_CLIENTS if url.scheme == "postgresql" else SQLITE_CLIENTS
    if choice and os.path.basename(choice) in names:
        path = find(choice)
        if path:
            return path
        raise DbError(f"{choice} (from ${CHOICE}) not found", hint=f"install it, or unset {CHOICE}")
    for name in names if interactive else names[::-1]:
        path = find(name)
        if path:
            return path
    if url.scheme == "postgresql":
        hint = ("install one: sudo apt-get install postgresql-client (psql), brew install libpq, "
                "or pipx install pgcli")
    else:
        hint = "install one: sudo apt-get install sqlite3, brew install sqlite, or pipx install litecli"
    raise DbError(f"no {' or '.join(names)} found on PATH", hint=hint)


def client_argv(client: str, url: DbUrl) -> list[str]:
    """The command line of ``client`` for ``url`` (never with the password).

    A SQLite file under the current folder is named relative to it (litecli's prompt is the path
    as given: ``.devenv/demo/demo.sqlite3>``, not a long absolute one).
    """
    if url.scheme == "sqlite":
        path = str(url.path)
        try:
            relative = os.path.relpath(path)
        except (OSError, ValueError):  # no current folder any more
            relative = path
        return [client, relative if not relative.startswith("..") else path]
    target = url.libpq_url(with_password=False)
    if os.path.basename(client).startswith("pgcli"):
        return [client, "--less-chatty", "--single-connection", target]
    return [client, target]


def temp_base() -> str:
    """Where the pgpass file goes: $XDG_RUNTIME_DIR when usable (a private tmpfs), else the temp folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return runtime
    return tempfile.gettempdir()


def _unlinked_file(base: str) -> int:
    """An open 0600 file with no name (Linux ``O_TMPFILE``; else created and unlinked at once)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if flag:
        try:
            return os.open(base, flag | os.O_RDWR, 0o600)
        except OSError:  # a filesystem without O_TMPFILE
            pass
    folder = tempfile.mkdtemp(prefix=f"devenv-db-{os.getpid()}-", dir=base)  # mode 0700
    path = os.path.join(folder, "pgpass")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    finally:
        with _ignored():
            os.unlink(path)
        with _ignored():
            os.rmdir(folder)
    return fd


@contextmanager
def _ignored() -> Iterator[None]:
    try:
        yield
    except OSError:
        pass


def fd_path(fd: int) -> str | None:
    """``/dev/fd/N`` when the system reopens it as a new file (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    for folder in ("/dev/fd", "/proc/self/fd"):
        if os.path.isdir(folder):
            return f"{folder}/{fd}"
    return None


def sweep_stale(base: str) -> None:
    """Remove the pgpass folders of devenv processes that are gone (a SIGKILL left them; not Linux)."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if not name.startswith("devenv-db-") or len(parts) < 4 or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # someone else's
        path = os.path.join(base, name)
        if os.path.isdir(path) and os.stat(path).st_uid == os.geteuid():
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def passfile(url: DbUrl, base: str | None = None, *,
             by_fd: bool | None = None) -> Iterator[tuple[dict[str, str], tuple[int, ...]]]:
    """(environment for the client, fds it must inherit) holding ``url``'s password for one run.

    ``by_fd``: the unlinked file passed as ``/dev/fd/N`` (default: on Linux), else the fallback
    file in a private folder (see the module's docstring).
    """
    content = (pgpass_line(url) + "\n" + pgpass_line(url, dbname="*") + "\n").encode()
    base = base or temp_base()
    if by_fd is None:
        by_fd = fd_path(0) is not None
    if by_fd:
        fd = _unlinked_file(base)
        try:
            os.write(fd, content)
            os.fchmod(fd, 0o600)
            yield {"PGPASSFILE": fd_path(fd) or f"/dev/fd/{fd}"}, (fd,)
        finally:
            os.close(fd)
        return
    sweep_stale(base)
    folder = tempfile.mkdtemp(prefix=f"devenv-db-{os.getpid()}-", dir=base)  # mode 0700
    path = os.path.join(folder, "pgpass")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        yield {"PGPASSFILE": path}, ()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _interactive() -> bool:
    try:
        return os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def run_shell(url: DbUrl, environ: Mapping[str, str] | None = None) -> int:
    """Run the client as a child and return its exit code.

    For PostgreSQL the password goes in a pgpass file named by ``PGPASSFILE`` in the client's
    environment only (see :func:`passfile`). SIGINT is ignored here while the client (which
    handles Ctrl-C itself) runs; SIGTERM and SIGHUP are forwarded. A missing SQLite file is a
    DbError (both clients would create it).
    """
    env = dict(os.environ if environ is None else environ)
    client = find_client(url, interactive=_interactive(), choice=env.get(CHOICE) or None)
    env.setdefault("PGAPPNAME", "devenv db shell")
    argv = client_argv(client, url)
    if url.scheme == "sqlite":
        if url.path is None or not url.path.is_file():
            raise DbError(f"no database file at {url.path}",
                          hint="create it first (your migrations do): opening a console does not make an empty one")
        return _run(argv, env, ())
    env.pop("PGPASSWORD", None)
    if not url.password:
        return _run(argv, env, ())
    with passfile(url) as (extra, fds):
        return _run(argv, {**env, **extra}, fds)


def _run(argv: list[str], env: Mapping[str, str], fds: tuple[int, ...]) -> int:
    saved: dict[int, Any] = {}
    received: list[int] = []
    try:
        proc = subprocess.Popen(argv, env=dict(env), pass_fds=fds)

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
    if received:  # we were told to stop too (devenv down, a closed window): die by that signal
        signal.signal(received[0], signal.SIG_DFL)
        os.kill(os.getpid(), received[0])
    return 128 - code if code < 0 else code
