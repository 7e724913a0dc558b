"""``exec``: a one-off command with the profile's layered environment (and a window's, with its folder).

No session is needed. The values reach the command through its environment only, never its argv.
"""

from __future__ import annotations

from pathlib import Path

from devenv.errors import UsageError
from devenv.profile import select
from devenv.profile.env import Resolved


def environment(resolved: Resolved, window: str | None) -> tuple[dict[str, str], Path]:
    """(environment, folder) a command gets: the profile's, or ``window``'s (its pane 0)."""
    if window is None:
        env, cwd = dict(resolved.env), resolved.root
    else:
        name = select.expand(resolved.profile, [window])[0]
        spec = resolved.profile.window(name)
        if spec is None:  # expand raised already for a name that is not there
            raise UsageError(f"unknown window {window!r}")
        env, cwd = dict(resolved.window_env(name)), resolved.pane_cwd(spec, spec.pane_specs()[0])
    env["DEVENV_PROJECT"] = str(resolved.project)
    env.setdefault("PGAPPNAME", f"{resolved.profile.session}/exec")
    return env, cwd
