"""``down``, ``ps``, ``restart``: parse, call :mod:`devenv.lifecycle`, render."""

from __future__ import annotations

import click

from devenv.completion import complete_windows
from devenv.context import Options
from devenv.fmt import duration, size

_TIMEOUT = click.option("--timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
                        metavar="SECONDS", help="How long processes get to stop (SIGINT, then SIGTERM) before SIGKILL.")


def _procs(members) -> str:
    return ", ".join(f"{m.pid} {m.name}" for m in members)


def _by_window(members) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in members:
        out.setdefault(m.window, []).append(m)
    return out


def _render_report(report, indent: str = "  ") -> int:
    """Print what was stopped, killed, released; 1 when something survived."""
    for window, members in _by_window(report.stopped).items():
        click.echo(f"{indent}{window}: {_procs(members)}")
    if report.killed:
        click.echo(f"{indent}needed SIGKILL: " + ", ".join(f"{m.pid} {m.name} ({m.window})" for m in report.killed))
    released = set(report.released)
    if released:
        click.echo(f"{indent}released ports: " + ", ".join(
            f"{port} ({window})" for port, window in report.ports if port in released))
    held = [f"{port} ({window})" for port, window in report.ports if port not in released]
    if held:
        click.echo(f"{indent}still in use by another process: port " + ", ".join(held), err=True)
    if report.survivors:
        click.echo(f"warning: still running after SIGKILL: {_procs(report.survivors)}", err=True)
        return 1
    return 0


@click.command()
@_TIMEOUT
@click.pass_obj
def down(opts: Options, timeout: float) -> int:
    """Stop every process of the session (pane trees and escapees), then the session."""
    from devenv.lifecycle import down as do_down

    result = do_down(opts, timeout)
    count = len(result.report.stopped)
    if not result.running:
        click.echo(f"no session {result.session} running")
        if count:
            click.echo(f"stopped {count} leftover process{'es' if count != 1 else ''} of it:")
    else:
        click.echo(f"stopped session {result.session} ({count} process{'es' if count != 1 else ''})")
    return _render_report(result.report)


@click.command()
@_TIMEOUT
@click.argument("windows", nargs=-1, required=True, shell_complete=complete_windows)
@click.pass_obj
def restart(opts: Options, timeout: float, windows: tuple[str, ...]) -> int:
    """Restart WINDOWS: stop their process trees, run their commands again."""
    from devenv.lifecycle import restart as do_restart

    result = do_restart(opts, windows, timeout)
    count = len(result.report.stopped)
    click.echo(f"restarted {', '.join(result.windows)} in session {result.session} "
               f"(stopped {count} process{'es' if count != 1 else ''})")
    return _render_report(result.report)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of panes.")
@click.pass_obj
def ps(opts: Options, as_json: bool) -> None:
    """Show each pane's state, process, exit code, CPU, memory, ports, uptime and restarts."""
    import dataclasses
    import json

    from devenv.lifecycle import ps as do_ps

    rows = do_ps(opts)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows or ()], indent=2, ensure_ascii=False))
        return
    if rows is None:
        click.echo(f"no session {opts.profile().session} running")
        return
    table = [("WINDOW", "PANE", "STATE", "PID", "EXIT", "CPU%", "MEM", "PORTS", "UPTIME", "RESTARTS", "COMMAND")]
    for r in rows:
        table.append((r.window, str(r.pane), r.state, _opt(r.pid), _opt(r.exit_code),
                      f"{r.cpu_percent:.1f}" if r.pid else "-", size(r.rss_bytes) if r.rss_bytes else "-",
                      ",".join(map(str, r.ports)) or "-", duration(r.uptime_s) if r.uptime_s is not None else "-",
                      str(r.restarts), _short(r.command)))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])


def _opt(value: int | None) -> str:
    return "-" if value is None else str(value)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
