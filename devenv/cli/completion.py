"""Shell completion (click's): profile names for ``-p``, window names for window arguments.

Enable it with one line in the shell's startup file::

    bash  ~/.bashrc                           eval "$(_DEVENV_COMPLETE=bash_source devenv)"
    zsh   ~/.zshrc                            eval "$(_DEVENV_COMPLETE=zsh_source devenv)"
    fish  ~/.config/fish/completions/devenv.fish   _DEVENV_COMPLETE=fish_source devenv | source

The callbacks never fail: a project or profile that cannot be read completes nothing.
"""

from __future__ import annotations

from typing import Any

import click
from click.shell_completion import CompletionItem


def _globals(ctx: click.Context) -> tuple[Any, Any, Any]:
    """The group's -C / -L / -p values as parsed so far (the group callback does not run while completing)."""
    params = ctx.find_root().params
    return params.get("project"), params.get("socket"), params.get("profile")


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Profile names found for the project (``-p``), with where each comes from."""
    try:  # imported here, not at import time: completion is a dependency of every command line
        from devenv.cli.options import Options
        from devenv.profile.load import available

        project, socket, _ = _globals(ctx)
        opts = Options.create(project, socket, None)
        rows = available(opts.project)
    except Exception:  # completion must never print a traceback
        return []
    items: dict[str, CompletionItem] = {}
    for name, where, _path, _shadowed in rows:
        if name.startswith(incomplete) and name not in items:
            items[name] = CompletionItem(name, help=f"{where} profile")
    return list(items.values())


def complete_windows(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Window names of the profile (``restart``, ``wait``, ``logs`` arguments), minus those already given."""
    try:
        from devenv.cli.options import Options

        project, socket, profile = _globals(ctx)
        windows = Options.create(project, socket, profile).profile().windows
    except Exception:  # completion must never print a traceback
        return []
    given = ctx.params.get(param.name or "") or ()
    if isinstance(given, str):
        given = (given,)
    return [CompletionItem(w.name, help=w.kind) for w in windows
            if w.name.startswith(incomplete) and w.name not in given]
