"""``devenv doctor``: run every prerequisite check, print a checklist, exit 1 if any fails."""

from __future__ import annotations

import json
import os
import sys

import click

from devenv.cli.options import Options
from devenv.cli.render import checklist
from devenv.errors import DevenvError
from devenv.readiness.prereqs import own_pids, run_checks
from devenv.session.live import SessionAt


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON list.")
@click.option("--db-timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, metavar="SECONDS",
              help="How long to wait for a database that is starting up (a refusal is an answer at once).")
@click.pass_obj
def doctor(opts: Options, as_json: bool, db_timeout: float) -> int:
    """Check prerequisites and say how to fix what fails.

    With a PostgreSQL server (requires.database, else DIRECT_URL or DATABASE_URL), it also predicts
    the connections the session will open (db_pool:, connection_limit=, Prisma's default pool) and
    warns when they exceed what the server allows.
    """
    resolved = opts.resolved()
    try:
        own = own_pids(resolved, opts.tmux.name)
    except DevenvError:  # tmux cannot say: no process counts as the session's
        own = frozenset()
    results = run_checks(resolved, own_pids=own, db_timeout=db_timeout, session_at=SessionAt(opts.tmux.name, resolved.profile.session, str(resolved.project)), predict=True)
    if as_json:
        click.echo(json.dumps([r._asdict() for r in results], indent=2))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(checklist(results, color=color), color=color)
    return 0 if all(r.ok for r in results) else 1
