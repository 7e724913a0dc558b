"""``devenv db``: shell, status, top, console. Which database: see :func:`target`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

import click

from devenv.cli.dbviews import console as run_console
from devenv.cli.dbviews import exec_top
from devenv.cli.options import Options
from devenv.cli.render import db_status
from devenv.db import url
from devenv.db.shell import run_shell
from devenv.db.url import DbUrl
from devenv.errors import DevenvError, ProfileError
from devenv.ops import dbstatus
from devenv.profile.env import default_env
from devenv.profile.load import default_name, find
from devenv.secrets import Masker
from devenv.session.live import SessionAt

URL_HELP = ("Database URL, or the name of a variable holding one (default: the db: window's, else DIRECT_URL, "
            "else DATABASE_URL).")


def _profile_env(opts: Options) -> tuple[Mapping[str, str], str | None]:
    """(layered env, the first db: window's value); with no profile at all, the default env files'."""
    try:
        resolved = opts.resolved()
    except ProfileError:
        if opts.profile_name or find(default_name(opts.project), opts.project) is not None:
            raise
        return default_env(opts.project), None
    return resolved.env, next((w.db for w in resolved.profile.windows if w.db), None)


def session_at(opts: Options) -> SessionAt | None:
    """The session whose windows name the holders of connections; None without a profile."""
    try:
        return SessionAt(opts.tmux.name, opts.resolved().profile.session, str(opts.project))
    except ProfileError:
        return None


def target(opts: Options, explicit: str | None, console: bool = False) -> tuple[DbUrl, str]:
    """(parsed URL, where it came from); see :func:`devenv.db.url.target`."""
    return url.target(lambda: _profile_env(opts), explicit, opts.project, console_env=os.environ if console else None)


def _masker(url: DbUrl | None) -> Masker:

    return Masker([url.password] if url and url.password else [])


@click.group("db")
def db() -> None:
    """Database console and pool diagnostics (PostgreSQL, SQLite)."""


@db.command()
@click.option("--url", metavar="URL|VAR", help=URL_HELP)
@click.pass_obj
def shell(opts: Options, url: str | None) -> int:
    """Open pgcli/psql or litecli/sqlite3 on it.

    The password never reaches a command line: on Linux the client gets PGPASSFILE=/dev/fd/N, an
    unlinked 0600 file only it holds open (nothing is left on disk, even if devenv is killed);
    elsewhere a 0600 file in a private folder, deleted when the client exits.
    """
    parsed, _ = target(opts, url)
    return run_shell(parsed)


@db.command()
@click.option("--url", metavar="URL|VAR", help=URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (for scripts).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait for a server that is starting up (a refusal is an answer at once).")
@click.pass_obj
def status(opts: Options, url: str | None, as_json: bool, timeout: float) -> int:
    """Reachability, connections in use and who holds them, locks.

    Connections are counted against what the URL's role may use (max_connections less the slots
    reserved for superusers; a warning at 80 %), by state and by application_name (each pane sets
    PGAPPNAME), and by window and pane from the system's socket table, with the sessions waiting on
    locks, the advisory locks, the longest query and the longest idle-in-transaction session.
    When the server refuses us for want of slots, the socket table alone names the holders (exit 0).
    """
    parsed: DbUrl | None = None
    try:
        parsed, source = target(opts, url)
        where = session_at(opts) if parsed.scheme == "postgresql" else None
        result = {"ok": True, "url": parsed.masked(), "source": source, **dbstatus.status(parsed, timeout, where)}
    except DevenvError as exc:
        if not as_json:
            raise
        mask = _masker(parsed)
        error = {"ok": False, "url": parsed.masked() if parsed else None, "error": mask(exc.message)}
        click.echo(json.dumps({**error, "hint": mask(exc.hint)} if exc.hint else error, indent=2))
        return exc.exit_code
    mask = _masker(parsed)
    click.echo(mask(json.dumps(result, indent=2) if as_json else "\n".join(db_status(result))))
    return 0


@db.command()
@click.option("--url", metavar="URL|VAR", help=URL_HELP)
@click.option("--interval", type=click.FloatRange(min=0.2), default=2.0, show_default=True,
              help="Seconds between refreshes.")
@click.pass_obj
def top(opts: Options, url: str | None, interval: float) -> int:
    """The status, refreshed until q or Ctrl-C.

    One connection is opened once and kept (the screen says so); when it breaks, a "reconnecting"
    line says why. When the server refuses it for want of slots, top stays socket-only: it names
    the holders from the socket table and holds no connection until you press c.
    """
    parsed, source = target(opts, url)
    where = session_at(opts) if parsed.scheme == "postgresql" else None
    return exec_top(parsed, f"{parsed.masked()} ({source})", interval, where)


@db.command()
@click.option("--url", metavar="URL|VAR",
              help="Database URL or variable (default: $DEVENV_DB_URL, $DEVENV_DB, the profile's).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to wait for a server that is starting up, per attempt.")
@click.pass_obj
def console(opts: Options, url: str | None, timeout: float) -> int:
    """What a db: window runs: status, then shell.

    A compact status banner, then the shell as `db shell` runs it; when the shell exits, Enter
    starts it again and Ctrl-C quits. While the database is down it retries by itself with
    backoff (ps shows the window `waiting`) and opens the shell as soon as the database answers.
    """
    parsed, source = target(opts, url, console=True)
    where = session_at(opts) if parsed.scheme == "postgresql" else None
    return run_console(parsed, parsed.masked(), source, sys.stdout, _masker(parsed), timeout, where)
