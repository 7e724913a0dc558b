"""``import``, ``init``, ``freeze``, ``schema``: adopting devenv in one command.

Relative FILE / OUT paths are taken from the project folder (``-C``), like
every other path devenv reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from devenv.adopt.importers import import_file
from devenv.adopt.written import SCHEMA_FILE, Written, write_new
from devenv.cli.options import Options
from devenv.errors import DevenvError, ProfileError, UsageError
from devenv.profile.schema import schema as profile_schema
from devenv.secrets import mask_url

_OUT = click.option("-o", "--output", metavar="OUT", type=click.Path(dir_okay=False),
                    help="Write the profile to OUT instead of printing it.")
_FORCE = click.option("--force", is_flag=True, help="Replace OUT if it exists.")


def _path(opts: Options, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else opts.project / path


def _refuse(path: Path | None, force: bool) -> None:
    """Fail before doing any work when the output exists (and --force is not given)."""
    if path is not None and not force and path.exists():

        raise DevenvError(f"{path} already exists; not overwriting it", hint="add --force to replace it")


def _emit(written: Written, out: Path | None, force: bool, what: str) -> None:
    """Print the profile (secrets masked: URL passwords, known secret values), or write it to OUT as is."""
    for note in written.notes:
        click.echo(f"warning: {note}", err=True)
    if out is None:
        shown = mask_url(written.mask(written.text) if written.mask else written.text)
        click.echo(shown, nl=False)
        if shown != written.text:
            click.echo("warning: secrets are masked (****) in what is printed; write the profile with -o OUT",
                       err=True)
        return
    write_new(out, written.text, force=force)
    click.echo(f"wrote {out} ({what}: {', '.join(written.windows)})", err=True)


@click.command("import")
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False))
@_OUT
@_FORCE
@click.pass_obj
def import_(opts: Options, file: str, output: str | None, force: bool) -> None:
    """Convert a tmuxinator or tmuxp config (YAML, or tmuxp JSON) to a devenv profile.

    Prints the profile, or writes it to OUT (e.g. .devenv/default.yaml). Whatever
    has no devenv equivalent (hooks, tmux options, ERB code, ...) is listed on stderr.
    Relative FILE and OUT paths start from the project folder (-C).
    """
    out = _path(opts, output) if output else None
    _refuse(out, force)
    written, kind = import_file(_path(opts, file), opts.project)
    _emit(written, out, force, f"from {kind}")


@click.command()
@click.option("--stdout", "to_stdout", is_flag=True, help="Print the profile instead of writing it.")
@click.option("--force", is_flag=True, help="Replace an existing profile.")
@click.pass_obj
def init(opts: Options, to_stdout: bool, force: bool) -> None:
    """Write .devenv/default.yaml (or -p NAME's) from what the project holds, and say why.

    Reads package.json (scripts, package manager, workspaces, Next.js), Prisma's schema
    and config, compose.yaml, a Procfile and .env files; never runs them. Also writes
    .devenv/profile.schema.json for editors. With --stdout the profile goes to stdout
    and the summary to stderr; nothing is written.
    """
    from devenv.adopt.init import init as init_profile
    from devenv.profile.schema import schema

    target = opts.project / ".devenv" / f"{opts.profile_name or 'default'}.yaml"
    if not to_stdout:
        _refuse(target, force)
    result = init_profile(opts.project, target.stem)
    written = result.written
    if to_stdout:
        click.echo(mask_url(written.text), nl=False)
    else:
        write_new(target, written.text, force=force)
        write_new(target.with_name(SCHEMA_FILE), json.dumps(schema(), indent=2) + "\n", force=True)
    summary = [] if to_stdout else [f"wrote {_shown(opts, target)} (windows: {', '.join(written.windows)}) "
                                    f"and {_shown(opts, target.with_name(SCHEMA_FILE))} (for editors)"]
    summary += ["detected:"] + [f"  {what}: {why}" for what, why in result.detected]
    summary += [f"note: {n}" for n in written.notes] + [f"warning: {w}" for w in result.warnings]
    if not to_stdout:
        summary.append("next: devenv doctor (what the profile requires), then devenv up")
    for line in summary:
        click.echo(mask_url(line), err=to_stdout)


def _shown(opts: Options, path: Path) -> str:
    try:
        return str(path.relative_to(opts.project))
    except ValueError:
        return str(path)


@click.command()
@click.option("-s", "--session", "session_name", metavar="NAME",
              help="The session to freeze (default: the profile's session).")
@_OUT
@_FORCE
@click.pass_obj
def freeze(opts: Options, session_name: str | None, output: str | None, force: bool) -> None:
    """Write the running session (windows, panes, layouts, commands, folders) as a profile.

    Environment values are never written.
    """
    out = _path(opts, output) if output else None
    _refuse(out, force)
    _emit(_freeze(opts, session_name), out, force, "windows")


def _freeze(opts: Options, session: str | None) -> Written:
    """Freeze ``session``, or the profile's; the profile (when it is that session's) supplies what tmux cannot."""
    from devenv.adopt.freeze import freeze

    base = None
    try:
        base = opts.profile()
    except ProfileError as exc:
        if session is None:
            raise UsageError(f"cannot load the profile, so which session to freeze is unknown: "
                             f"{exc.format_message()}", hint="name it: devenv freeze --session NAME") from None
    if base is not None and session not in (None, base.session):
        base = None  # another session: the profile says nothing about it
    name = session if session is not None else base.session if base is not None else ""
    root, mask = opts.project, None
    if base is not None:
        try:
            root, mask = opts.resolved().root, opts.resolved().mask
        except ProfileError:
            root = (opts.project / base.root).resolve()
    return freeze(opts.tmux.name, name, base, root, opts.project, mask)


@click.command()
def schema() -> None:
    """Print the JSON Schema of profiles (for editors: # yaml-language-server: $schema=FILE)."""
    click.echo(json.dumps(profile_schema(), indent=2))
