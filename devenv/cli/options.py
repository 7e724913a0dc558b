"""What every command shares: the project, the tmux socket, the profile name.

``Options`` is built once by the CLI group from the global options and passed
to the command bodies as ``ctx.obj``. Loading is lazy and cached.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from devenv.profile.env import Resolved, resolve
from devenv.profile.load import load
from devenv.profile.model import Profile
from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:
    from devenv.session.tmux import Tmux


class Options:
    """The global options; what they lead to (profile, environment, tmux) is loaded once, on demand."""

    def __init__(self, project: Path, socket: str | None = None, profile_name: str | None = None) -> None:
        self.project = project
        self.socket = socket  # None: tmux's default server
        self.profile_name = profile_name
        self._cache: dict[str, object] = {}

    def __repr__(self) -> str:
        return f"Options(project={self.project!r}, socket={self.socket!r}, profile_name={self.profile_name!r})"

    @classmethod
    def create(cls, project: str | None, socket: str | None, profile: str | None) -> Options:
        path = Path(project or os.environ.get("DEVENV_PROJECT") or ".").expanduser().resolve()
        if not path.is_dir():
            from devenv.errors import UsageError

            raise UsageError(f"project directory not found: {path}")
        socket = socket or os.environ.get("DEVENV_TMUX_SOCKET") or None
        return cls(path, socket, profile)

    def profile(self) -> Profile:
        if "profile" not in self._cache:
            self._cache["profile"] = load(self.project, self.profile_name)
        return self._cache["profile"]  # type: ignore[return-value]

    def resolved(self) -> Resolved:
        if "resolved" not in self._cache:
            self._cache["resolved"] = resolve(self.profile(), self.project)
        return self._cache["resolved"]  # type: ignore[return-value]

    @cached_property
    def tmux(self) -> Tmux:
        from devenv.session.tmux import Tmux

        return Tmux(self.socket)
