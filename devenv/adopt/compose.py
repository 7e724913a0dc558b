"""docker compose files, read for their database services (postgres, mysql, redis) and published ports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from devenv.adopt.node import read_yaml
from devenv.errors import ProfileError
from devenv.tuples import NamedTuple

# Compose's own order of preference
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
KINDS = (("postgres", re.compile(r"postgres|postgis|timescale|pgvector|supabase/postgres")),
         ("mysql", re.compile(r"mysql|mariadb|percona")),
         ("redis", re.compile(r"redis|valkey|keydb|dragonfly")))
CONTAINER_PORTS = {"postgres": 5432, "mysql": 3306, "redis": 6379}


class Published(NamedTuple):
    host: int | None  # None: Compose picks a free host port
    container: int


class Service(NamedTuple):
    name: str
    image: str
    kind: str | None  # postgres, mysql, redis; None for anything else
    ports: tuple[Published, ...]

    @property
    def port(self) -> int | None:
        """The host port the database is published on (its well-known container port's)."""
        if self.kind is None:
            return None
        want = CONTAINER_PORTS[self.kind]
        for p in self.ports:
            if p.container == want and p.host is not None:
                return p.host
        return next((p.host for p in self.ports if p.host is not None), None)


class Compose(NamedTuple):
    file: str
    services: tuple[Service, ...]

    @property
    def databases(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.kind is not None)


def read_compose(project: Path) -> Compose | None:
    path = next((project / n for n in COMPOSE_FILES if (project / n).is_file()), None)
    if path is None:
        return None
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ProfileError("not a compose file (expected a mapping with services:)", file=path)
    services = data.get("services") or {}
    if not isinstance(services, dict):
        raise ProfileError("services: must be a mapping", file=path)
    out = []
    for name, spec in services.items():
        if not isinstance(spec, dict):
            continue
        image = str(spec.get("image") or "")
        base = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        kind = next((k for k, pattern in KINDS if pattern.search(base.lower())), None) if image else None
        out.append(Service(str(name), image, kind, tuple(_ports(spec.get("ports")))))
    return Compose(path.name, tuple(out))


def _ports(value: Any) -> list[Published]:
    out: list[Published] = []
    for entry in value if isinstance(value, list) else []:
        if isinstance(entry, dict):
            target, published = _number(entry.get("target")), _number(entry.get("published"))
            if target is not None:
                out.append(Published(published, target))
            continue
        text = _interpolate(str(entry)).split("/")[0]
        if "-" in text:
            continue  # port ranges
        host_part, _, container = text.rpartition(":")
        port = _number(container)
        if port is None:
            continue
        host = host_part.rpartition(":")[2] if host_part else ""
        out.append(Published(_number(host) if host else None, port))
    return out


def _interpolate(text: str) -> str:
    """``${VAR:-5433}`` -> its default (Compose's own variables are not known here)."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m[1] or "", text)


def _number(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None
