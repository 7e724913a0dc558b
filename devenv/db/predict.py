"""How many connections a session will open to a server, before anything runs (``doctor``).

Counted: every pane with a command (devenv's own ``db:`` and ``logs:`` windows are not) whose
environment holds a URL of that server. Each pane opens, first found:

1. the window's ``db_pool:`` (``0``: it opens none);
2. the URL's ``connection_limit`` parameter (Prisma's convention);
3. when the project uses Prisma (``prisma`` or ``@prisma/client`` in a package.json, or a
   ``schema.prisma``): Prisma's default pool, physical cores × 2 + 1;
4. else it is unknown: listed, not counted.

A pane whose only URL of that server is ``DIRECT_URL`` while ``DATABASE_URL`` points elsewhere (a
pooler) opens none: Prisma uses the direct URL for migrations only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from devenv.db.url import DbUrl, parse_url, query_value
from devenv.errors import DevenvError
from devenv.profile.env import Resolved
from devenv.tuples import NamedTuple

_SCHEMES = ("postgres://", "postgresql://")
_LOCAL = frozenset({"localhost", "127.0.0.1", "::1"})


class Share(NamedTuple):
    """What one pane will open."""

    window: str
    pane: int | None  # None: the window has one pane
    connections: int | None  # None: unknown
    why: str  # "db_pool: 5", "connection_limit=5 in DATABASE_URL", ...

    @property
    def label(self) -> str:
        return self.window if self.pane is None else f"{self.window}.{self.pane}"


class Prediction(NamedTuple):
    shares: tuple[Share, ...]
    cores: int

    @property
    def total(self) -> int:
        return sum(s.connections or 0 for s in self.shares)

    @property
    def unknown(self) -> tuple[Share, ...]:
        return tuple(s for s in self.shares if s.connections is None)

    @property
    def counted(self) -> tuple[Share, ...]:
        return tuple(s for s in self.shares if s.connections is not None)


def server_key(url: DbUrl) -> tuple[str, int]:
    """One spelling for a server: local hosts and socket folders are all 'local'."""
    host = (url.host or "").lower()
    local = not host or host.startswith("/") or host in _LOCAL or host.startswith("127.")
    return ("local" if local else host, url.port or 5432)


def physical_cores() -> int:
    """Physical cores (Prisma's default pool counts them), else logical ones."""
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


def prisma_default(cores: int) -> int:
    return cores * 2 + 1


@lru_cache(maxsize=64)
def _uses_prisma_here(folder: Path) -> bool:
    if (folder / "prisma" / "schema.prisma").is_file() or (folder / "schema.prisma").is_file():
        return True
    try:
        data = json.loads((folder / "package.json").read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    for key in ("dependencies", "devDependencies"):
        deps = data.get(key)
        if isinstance(deps, dict) and ("prisma" in deps or "@prisma/client" in deps):
            return True
    return False


def uses_prisma(*folders: Path) -> bool:
    return any(_uses_prisma_here(Path(os.path.normpath(f))) for f in folders)


def _urls_of(env: Mapping[str, str], server: tuple[str, int], project: Path) -> tuple[list[str], list[str]]:
    """(variables holding a URL of ``server``, variables holding a PostgreSQL URL of another)."""
    here: list[str] = []
    elsewhere: list[str] = []
    for name, value in sorted(env.items()):
        if not value.lower().startswith(_SCHEMES):
            continue
        try:
            url = parse_url(value, project)
        except DevenvError:
            continue
        (here if server_key(url) == server else elsewhere).append(name)
    return here, elsewhere


def _share(resolved: Resolved, window_name: str, index: int, several: bool, server: tuple[str, int],
           cores: int) -> Share | None:
    window = resolved.profile.window(window_name)
    assert window is not None
    env = resolved.window_env(window_name, index)
    pane = index if several else None
    here, elsewhere = _urls_of(env, server, resolved.project)
    if not here:
        return None
    if window.pool_size is not None:
        return Share(window_name, pane, window.pool_size, f"db_pool: {window.pool_size}")
    if here == ["DIRECT_URL"] and "DATABASE_URL" in elsewhere:
        return Share(window_name, pane, 0, "only DIRECT_URL points here (Prisma uses it for migrations)")
    for name in (["DATABASE_URL"] if "DATABASE_URL" in here else []) + here:
        limit = query_value(env[name], "connection_limit")
        if limit is not None and limit.isdigit():
            return Share(window_name, pane, int(limit), f"connection_limit={limit} in {name}")
    spec = window.pane_specs()[index]
    if uses_prisma(resolved.pane_cwd(window, spec), resolved.root, resolved.project):
        return Share(window_name, pane, prisma_default(cores),
                     f"Prisma's default pool: {cores} physical core{'s' if cores != 1 else ''} × 2 + 1")
    return Share(window_name, pane, None, f"unknown: {'/'.join(here)} is set; give the window db_pool:")


def predict(resolved: Resolved, server: DbUrl, cores: int | None = None) -> Prediction:
    """What each pane of the session will open to ``server``'s server (see the module's rules)."""
    key = server_key(server)
    cores = cores or physical_cores()
    shares: list[Share] = []
    for window in resolved.profile.windows:
        if window.kind in ("db", "logs"):
            continue  # devenv's own: a console opens one on demand, a follower none
        specs = window.pane_specs()
        for index, spec in enumerate(specs):
            if spec.command is None:
                continue  # a plain shell
            share = _share(resolved, window.name, index, len(specs) > 1, key, cores)
            if share is not None:
                shares.append(share)
    return Prediction(tuple(shares), cores)


def describe(prediction: Prediction, limit: int = 8) -> str:
    """``web 5 (Prisma's default pool: ...), worker.0 5 (db_pool: 5); unknown: jobs``."""
    parts = [f"{s.label} {s.connections} ({s.why})" for s in prediction.counted[:limit]]
    if len(prediction.counted) > limit:
        parts.append(f"{len(prediction.counted) - limit} more")
    text = ", ".join(parts)
    if prediction.unknown:
        text += ("; " if text else "") + "not counted (unknown pool size): " + ", ".join(
            s.label for s in prediction.unknown)
    return text
