"""``devenv doctor``: run every prerequisite check, print a checklist, exit 1 if any fails."""

from __future__ import annotations

import os
import sys

import click

from devenv.context import Options


def _own_pids(opts: Options) -> frozenset[int]:
    """The running session's processes (see devenv.upflow.own_pids); none when tmux cannot say."""
    from devenv.errors import DevenvError
    from devenv.upflow import own_pids

    try:
        return own_pids(opts)
    except DevenvError:
        return frozenset()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the results as a JSON list.")
@click.option("--db-timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, metavar="SECONDS",
              help="How long to keep retrying the database check.")
@click.pass_obj
def doctor(opts: Options, as_json: bool, db_timeout: float) -> int:
    """Check prerequisites and say how to fix what fails."""
    import json

    from devenv.checks import render, run_checks

    results = run_checks(opts.resolved(), own_pids=_own_pids(opts), db_timeout=db_timeout)
    if as_json:
        click.echo(json.dumps([r._asdict() for r in results], indent=2))
    else:
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render(results, color=color), color=color)
    return 0 if all(r.ok for r in results) else 1
