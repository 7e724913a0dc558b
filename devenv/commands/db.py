"""``devenv db``: shell, status, top, console. Which database: see :func:`target`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

import click

from devenv.context import Options
from devenv.db import DbUrl
from devenv.errors import DevenvError

URL_HELP = "Database URL (default: the db: window's, else DIRECT_URL, else DATABASE_URL)."


def _profile_env(opts: Options) -> tuple[Mapping[str, str], str | None]:
    """(layered env, the first db: window's value); without any profile, the default env files."""
    from devenv.errors import ProfileError
    from devenv.profile import DEFAULT_ENV_FILES, default_name, find

    try:
        resolved = opts.resolved()
    except ProfileError:
        if opts.profile_name or find(default_name(opts.project), opts.project) is not None:
            raise
        from devenv.envfiles import Layer, Resolver, base_environment, read_env_file

        layers = [Layer(base_environment(), {}, literal=True)]
        layers += [read_env_file(p) for p in (opts.project / n for n in DEFAULT_ENV_FILES) if p.is_file()]
        return Resolver(layers).flatten(), None
    window_db = next((w.db for w in resolved.profile.windows if w.db), None)
    return resolved.env, window_db


def target(opts: Options, explicit: str | None, console: bool = False) -> tuple[DbUrl, str]:
    """(parsed URL, where it came from). Console: --url, $DEVENV_DB_URL, $DEVENV_DB, then the profile."""
    from devenv.db import parse_url, pick_url

    if console and not explicit:
        if os.environ.get("DEVENV_DB_URL"):
            return parse_url(os.environ["DEVENV_DB_URL"], opts.project), "DEVENV_DB_URL"
        name = os.environ.get("DEVENV_DB")
        if name and os.environ.get(name):
            return parse_url(os.environ[name], opts.project), name
        if name:
            env, _ = _profile_env(opts)
            text, source = pick_url(env, window_db=name)
            return parse_url(text, opts.project), source
    if explicit:
        text, source = pick_url({}, explicit)
    else:
        env, window_db = _profile_env(opts)
        text, source = pick_url(env, None, window_db)
    return parse_url(text, opts.project), source


def _masker(url: DbUrl | None):
    from devenv.secrets import Masker

    return Masker([url.password] if url and url.password else [])


@click.group("db")
def db() -> None:
    """Database console and pool diagnostics (PostgreSQL, SQLite)."""


@db.command()
@click.option("--url", metavar="URL", help=URL_HELP)
@click.pass_obj
def shell(opts: Options, url: str | None) -> int:
    """Open pgcli/psql or litecli/sqlite3 on it.

    The password reaches the client through a temporary 0600 PGPASSFILE, never its command line.
    """
    from devenv.db import run_shell

    parsed, _ = target(opts, url)
    return run_shell(parsed)


@db.command()
@click.option("--url", metavar="URL", help=URL_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to keep retrying the connection.")
@click.pass_obj
def status(opts: Options, url: str | None, as_json: bool, timeout: float) -> int:
    """Reachability, connections in use, locks.

    Connections are counted against max_connections (a warning at 80 %), by state and by
    application_name (each window sets PGAPPNAME), with the sessions waiting on locks, the
    advisory locks, the longest query and the longest idle-in-transaction session.
    """
    from devenv import dbstatus

    parsed: DbUrl | None = None
    try:
        parsed, source = target(opts, url)
        result = {"ok": True, "url": parsed.masked(), "source": source, **dbstatus.collect(parsed, timeout)}
    except DevenvError as exc:
        if not as_json:
            raise
        mask = _masker(parsed)
        error = {"ok": False, "url": parsed.masked() if parsed else None, "error": mask(exc.message)}
        click.echo(json.dumps({**error, "hint": exc.hint} if exc.hint else error, indent=2))
        return exc.exit_code
    mask = _masker(parsed)
    click.echo(mask(json.dumps(result, indent=2) if as_json else "\n".join(dbstatus.render(result))))
    return 0


@db.command()
@click.option("--url", metavar="URL", help=URL_HELP)
@click.option("--interval", type=click.FloatRange(min=0.2), default=2.0, show_default=True,
              help="Seconds between refreshes.")
@click.pass_obj
def top(opts: Options, url: str | None, interval: float) -> int:
    """The status, refreshed until q or Ctrl-C.

    One connection is kept open and reused; when it breaks, a "reconnecting" line says why.
    """
    from devenv import dbstatus

    parsed, source = target(opts, url)
    return dbstatus.exec_top(parsed, f"{parsed.masked()} ({source})", interval)


@db.command()
@click.option("--url", metavar="URL", help="Database URL (default: $DEVENV_DB_URL, $DEVENV_DB, the profile's).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds to keep retrying the connection for the banner.")
@click.pass_obj
def console(opts: Options, url: str | None, timeout: float) -> int:
    """What a db: window runs: status, then shell.

    A compact status banner, then the shell as `db shell` runs it; when the shell exits, Enter
    starts it again and Ctrl-C quits.
    """
    from devenv import dbstatus

    parsed, source = target(opts, url, console=True)
    return dbstatus.console(parsed, parsed.masked(), source, sys.stdout, _masker(parsed), timeout)
