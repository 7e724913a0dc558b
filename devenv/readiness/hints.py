"""Fix hints: how to install a tool on this machine, how to create a well-known missing file (pure)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

# tool -> (brew, apt-get, dnf) package
PACKAGES: dict[str, tuple[str, str, str]] = {
    "tmux": ("tmux", "tmux", "tmux"),
    "node": ("node", "nodejs", "nodejs"),
    "npm": ("node", "npm", "npm"),
    "npx": ("node", "npm", "npm"),
    "psql": ("libpq", "postgresql-client", "postgresql"),
    "pg_dump": ("libpq", "postgresql-client", "postgresql"),
    "createdb": ("libpq", "postgresql-client", "postgresql"),
    "pg_isready": ("libpq", "postgresql-client", "postgresql"),
    "postgres": ("postgresql", "postgresql", "postgresql-server"),
    "pgcli": ("pgcli", "pgcli", "pgcli"),
    "sqlite3": ("sqlite", "sqlite3", "sqlite"),
    "mysql": ("mysql-client", "default-mysql-client", "mysql"),
    "redis-cli": ("redis", "redis-tools", "redis"),
    "redis-server": ("redis", "redis-server", "redis"),
    "git": ("git", "git", "git"),
    "make": ("make", "make", "make"),
    "curl": ("curl", "curl", "curl"),
    "jq": ("jq", "jq", "jq"),
    "python3": ("python", "python3", "python3"),
    "go": ("go", "golang", "golang"),
    "docker": ("--cask docker", "docker.io", "moby-engine"),
    "watchman": ("watchman", "watchman", "watchman"),
}
OTHER_HINTS = {
    "yarn": "corepack enable yarn (or npm install -g yarn)",
    "pnpm": "corepack enable pnpm (or npm install -g pnpm)",
    "bun": "curl -fsSL https://bun.sh/install | bash",
    "cargo": "install Rust with rustup: https://rustup.rs",
    "rustc": "install Rust with rustup: https://rustup.rs",
}


def parse_os_release(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip().strip("\"'")
    return out


def package_manager(platform: str, os_release: Mapping[str, str]) -> str | None:
    """``brew``, ``apt-get``, ``dnf`` or None for this machine."""
    if platform == "darwin":
        return "brew"
    ids = {os_release.get("ID", "").lower(), *os_release.get("ID_LIKE", "").lower().split()}
    if ids & {"debian", "ubuntu"}:
        return "apt-get"
    if ids & {"fedora", "rhel", "centos"}:
        return "dnf"
    return None


@lru_cache(maxsize=1)
def this_package_manager() -> str | None:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    return package_manager(sys.platform, parse_os_release(text))


def install_hint(tool: str, manager: str | None) -> str:
    """How to install ``tool`` with ``manager`` (see :func:`package_manager`)."""
    base = os.path.basename(tool)
    if base in OTHER_HINTS:
        return OTHER_HINTS[base]
    pkgs = PACKAGES.get(base)
    if pkgs is None or manager is None:
        return f"install {base} and make sure it is on PATH"
    if manager == "brew":
        extra = " && brew link --force libpq" if pkgs[0] == "libpq" else ""
        return f"brew install {pkgs[0]}{extra}"
    return f"sudo {manager} install {pkgs[1] if manager == 'apt-get' else pkgs[2]}"


# --------------------------------------------------------------------------- files


def relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` when it lies inside it, for messages."""
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def file_hint(root: Path, rel: str) -> str:
    """A specific fix for well-known missing files, else a generic one."""
    name = Path(rel).name
    if name == "node_modules":
        for lock, cmd in (("pnpm-lock.yaml", "pnpm install"), ("yarn.lock", "yarn install"),
                          ("bun.lockb", "bun install")):
            if (root / Path(rel).parent / lock).exists():
                return cmd
        return "npm install"
    if name in (".venv", "venv"):
        return f"python3 -m venv {rel} && {rel}/bin/pip install -r requirements.txt"
    if name == "vendor" and (root / "composer.json").exists():
        return "composer install"
    if name.startswith(".env"):
        example = root / Path(rel).parent / ".env.example"
        if example.exists():
            return f"cp {relative(root, example)} {rel} and fill in the values"
    return f"create {rel} (looked in {root})"
