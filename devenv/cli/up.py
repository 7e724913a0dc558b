"""``up``, ``attach``, ``config``, ``ls``."""

from __future__ import annotations

import click
import yaml

from devenv.cli.completion import complete_windows
from devenv.cli.fast import run_up
from devenv.cli.options import Options
from devenv.ops.up import attach as attach_session
from devenv.profile.dump import to_dict
from devenv.profile.env import Resolved, read_env_file
from devenv.profile.load import available, default_name
from devenv.secrets import mask_value


@click.command()
@click.option("-d", "--detach", is_flag=True, help="Do not attach after starting.")
@click.option("--dry-run", is_flag=True, help="Print the tmux commands that would run (secrets masked); run nothing.")
@click.option("--no-check", is_flag=True, help="Skip the prerequisite checks.")
@click.option("--wait", "wait_ready", is_flag=True, help="Block until every window with a ready probe is ready.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="S",
              help="With --wait: give up after S seconds (default: each probe's own timeout).")
@click.option("--no-recreate", is_flag=True, help="Only create and repair: leave windows whose config changed running.")
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=complete_windows)
@click.pass_obj
def up(opts: Options, detach: bool, dry_run: bool, no_check: bool, wait_ready: bool, timeout: float | None,
       no_recreate: bool, names: tuple[str, ...]) -> int:
    """Start the session, or reattach to it, repairing missing or exited windows.

    NAMEs (windows or tasks, shell-style globs allowed): start only those and what they wait for;
    a later plain `up` adds the rest. On a running session, windows whose configuration changed
    since they started are restarted (unless --no-recreate).
    """
    return run_up(opts, detach=detach, dry_run=dry_run, no_check=no_check, wait_ready=wait_ready, timeout=timeout,
                  only=names, recreate=not no_recreate)


@click.command()
@click.pass_obj
def attach(opts: Options) -> None:
    """Attach to the running session (switch-client inside tmux)."""
    attach_session(opts.tmux, opts.profile().session)


@click.command()
@click.pass_obj
def config(opts: Options) -> None:
    """Print the resolved profile as YAML, secrets masked."""
    resolved = opts.resolved()
    profile = resolved.profile
    data = to_dict(profile)
    data["root"] = str(resolved.root)
    shown = {k: mask_value(k, resolved.env[k]) for k in _profile_keys(resolved)}
    if shown:
        data["env"] = shown
    for window in data["windows"]:
        if "env" in window:
            window["env"] = {k: mask_value(k, resolved.window_env(window["name"])[k]) for k in window["env"]}
    header = [f"# profile {profile.name}: " + " <- ".join(str(p) for p in profile.chain)]
    if resolved.env_files:
        header.append("# env files: " + ", ".join(str(p) for p in resolved.env_files))
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
    click.echo("\n".join(header) + "\n" + resolved.mask(text), nl=False)


def _profile_keys(resolved: Resolved) -> list[str]:

    keys: dict[str, None] = {}
    for path in resolved.env_files:
        keys.update(dict.fromkeys(read_env_file(path).values))
    keys.update(dict.fromkeys(resolved.profile.env))
    return list(keys)


@click.command("ls")
@click.pass_obj
def ls(opts: Options) -> None:
    """List the profiles found, and where each comes from."""
    chosen = default_name(opts.project, opts.profile_name)
    rows = available(opts.project)
    if not rows:
        click.echo("no profiles found")
        return
    width = max(len(name) for name, *_ in rows)
    for name, where, path, shadowed in rows:
        mark = "*" if name == chosen and not shadowed else " "
        note = "  (shadowed)" if shadowed else ""
        click.echo(f"{mark} {name:<{width}}  {where:<7}  {path}{note}")
