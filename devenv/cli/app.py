"""The click CLI: the group, its global options, and the table of commands.

Commands live in ``devenv/cli/<module>.py`` and are imported only when run,
so ``devenv --version`` pays only for what it uses.
"""

from __future__ import annotations

import importlib
import sys

import click
from click.shell_completion import CompletionItem

from devenv import __version__
from devenv.cli.completion import complete_profiles
from devenv.cli.guard import ReaderGone, guarded, quiet_stdout

# command name -> (module under devenv.cli, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "up": ("up", "up", "Start, reattach to or repair the session."),
    "attach": ("up", "attach", "Attach to the running session."),
    "down": ("lifecycle", "down", "Stop every process of the session, then the session."),
    "ps": ("lifecycle", "ps", "Show each pane's process, state, ports and resources."),
    "restart": ("lifecycle", "restart", "Restart windows: stop their process trees, run them again."),
    "exec": ("lifecycle", "exec_", "Run a command with the profile's environment (and a window's)."),
    "doctor": ("doctor", "doctor", "Check prerequisites and say how to fix what fails."),
    "config": ("up", "config", "Show the resolved profile (secrets masked)."),
    "ls": ("up", "ls", "List the profiles found, and where each comes from."),
    "logs": ("logs", "logs", "Show or follow window output and log files."),
    "db": ("db", "db", "Database console and pool diagnostics."),
    "wait": ("ready", "wait", "Wait until windows are ready."),
    "import": ("adopt", "import_", "Convert a tmuxinator or tmuxp config to a devenv profile."),
    "init": ("adopt", "init", "Write .devenv/default.yaml from what the project contains."),
    "freeze": ("adopt", "freeze", "Write the running session as a profile."),
    "schema": ("adopt", "schema", "Print the JSON Schema of profiles."),
}
HIDDEN: dict[str, tuple[str, str]] = {
    "_await": ("ready", "await_"),  # used inside windows with `after:`
}


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # click would make it exit 1: the reader being done is no error
            raise ReaderGone() from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name) or HIDDEN.get(name)
        if entry is None:
            return None
        module = importlib.import_module(f"devenv.cli.{entry[0]}")
        command: click.Command = getattr(module, entry[1])
        return command

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Complete command names from the table, without importing every command module."""
        names = [CompletionItem(n, help=h) for n, (_, _, h) in COMMANDS.items() if n.startswith(incomplete)]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help lists every command without importing them all.
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "--project", metavar="DIR", help="Project root (default: the current directory).")
@click.option("-L", "--socket", metavar="NAME", help="tmux socket name (default: $DEVENV_TMUX_SOCKET, else tmux's default).")
@click.option("-p", "--profile", metavar="NAME", shell_complete=complete_profiles, help="Profile name (default: $DEVENV_PROFILE, else $USER's, else default).")
@click.version_option(__version__, "-V", "--version", prog_name="devenv")
@click.pass_context
def cli(ctx: click.Context, project: str | None, socket: str | None, profile: str | None) -> None:
    """devenv: the project's whole development environment in tmux, with one command."""
    from devenv.cli.options import Options  # not at import time: `devenv --version` stays light

    ctx.obj = Options.create(project, socket, profile)


def main(argv: list[str] | None = None) -> None:
    """Run the click CLI; errors are rendered by :func:`devenv.cli.guard.guarded`, click's own here."""

    def run() -> int:
        try:
            rv = cli.main(args=argv, prog_name="devenv", standalone_mode=False)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            return 130
        except click.ClickException as exc:  # one line, as devenv's own errors
            click.echo(f"error: {exc.format_message()}", err=True)
            if isinstance(exc, click.UsageError):
                where = exc.ctx.command_path if exc.ctx is not None else "devenv"
                click.echo(f"hint: {where} --help", err=True)
            return exc.exit_code
        return rv if isinstance(rv, int) else 0

    code = guarded(run)
    try:
        sys.stdout.flush()  # here, not at exit: a reader that went away is no error
    except BrokenPipeError:
        quiet_stdout()
    sys.exit(code)
