"""``down``, ``ps``, ``restart``: parse, call :mod:`devenv.ops`, render."""

from __future__ import annotations

import json

import click

from devenv.cli.completion import complete_windows
from devenv.cli.options import Options
from devenv.cli.render import ps_table, stop_report
from devenv.errors import NoSession
from devenv.ops.down import down as stop_session
from devenv.ops.ps import ps as pane_rows
from devenv.ops.restart import restart as restart_windows
from devenv.session.procs import StopReport

_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
                        metavar="SECONDS", help="How long processes get to stop (SIGINT, then SIGTERM) before SIGKILL.")


@click.command()
@_TIMEOUT
@click.pass_obj
def down(opts: Options, timeout: float) -> int:
    """Stop every process of the session (pane trees and escapees), then the session."""
    result = stop_session(opts.profile(), opts.tmux, timeout)
    count = len(result.report.stopped)
    if not result.running:
        click.echo(NoSession(result.session, opts.socket).message)
        if count:
            click.echo(f"stopped {count} leftover process{'es' if count != 1 else ''} of it:")
    else:
        click.echo(f"stopped session {result.session} ({count} process{'es' if count != 1 else ''})")
    return _report(result.report)


@click.command()
@_TIMEOUT
@click.argument("windows", nargs=-1, required=True, shell_complete=complete_windows)
@click.pass_obj
def restart(opts: Options, timeout: float, windows: tuple[str, ...]) -> int:
    """Restart WINDOWS: stop their process trees, run their commands again."""
    result = restart_windows(opts.resolved(), opts.tmux, windows, timeout)
    count = len(result.report.stopped)
    click.echo(f"restarted {', '.join(result.windows)} in session {result.session} "
               f"(stopped {count} process{'es' if count != 1 else ''})")
    return _report(result.report)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of panes.")
@click.pass_obj
def ps(opts: Options, as_json: bool) -> None:
    """Show each pane's state, process, exit code, CPU, memory, ports, uptime and restarts."""
    rows = pane_rows(opts.resolved(), opts.tmux)
    if as_json:
        click.echo(json.dumps([r._asdict() for r in rows or ()], indent=2, ensure_ascii=False))
        return
    if rows is None:
        click.echo(NoSession(opts.profile().session, opts.socket).message)
        return
    for line in ps_table(rows):
        click.echo(line)


def _report(report: StopReport) -> int:
    """Print the stop report; 1 when something survived SIGKILL."""
    out, err = stop_report(report)
    for line in out:
        click.echo(line)
    for line in err:
        click.echo(line, err=True)
    return 1 if report.survivors else 0
