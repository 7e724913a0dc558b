"""What a Node project says about itself: package.json, its package manager, workspaces, Next.js, env reads.

Reading only: nothing is run. A file that cannot be read or parsed is a
:class:`~devenv.errors.ProfileError` naming it (one line, never a traceback).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

from devenv.errors import ProfileError
from devenv.profile.yamlsrc import read_text
from devenv.tuples import NamedTuple

MANAGERS = ("npm", "pnpm", "yarn", "bun")
LOCKFILES = (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"), ("bun.lock", "bun"),
             ("package-lock.json", "npm"))
# `pnpm X` / `yarn X` run the script X unless X is one of their own commands
OWN_COMMANDS = frozenset(
    "add audit bin cache config create dedupe deploy dlx env exec fetch import info init install i link list ls "
    "node npm outdated pack patch prune publish rebuild remove rm root run server set setup store test t unlink "
    "up update upgrade why workspace workspaces".split())
EXEC = {"npm": "npx", "pnpm": "pnpm exec", "yarn": "yarn", "bun": "bunx"}
SOURCE_EXTS = (".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".tsx", ".jsx")
SOURCE_DIRS = ("app", "src", "lib", "pages", "server", "workers", "worker", "jobs", "scripts")
SCAN_LIMIT = 400  # source files read at most per package (a light scan)
SERVER_PORTS = {"vite": "5173", "astro": "4321", "nuxt": "3000", "nuxi": "3000", "remix": "3000"}
_PORT_ARG = re.compile(r"(?:^|\s)(?:-p|--port)(?:\s+|=)([\"']?)(\d+|\$\{?PORT(?::-\d+)?\}?)\1(?=\s|$|[;&|)])")
_ENV_READ = re.compile(
    r"""(?:process\.env|Bun\.env|import\.meta\.env)(?:\.([A-Za-z_]\w*)|\[\s*["'`]([A-Za-z_]\w*)["'`]\s*\])"""
    r"""(?:\s*(\|\||\?\?)\s*(?:(["'`])([^"'`\n]*)\4|([\w.]+)))?""")


class Package(NamedTuple):
    """One package.json: ``dir`` is its folder relative to the project ("" for the root)."""

    dir: str
    data: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.data.get("name") or "")

    @property
    def file(self) -> str:
        return self.rel("package.json")

    @property
    def scripts(self) -> dict[str, str]:
        scripts = self.data.get("scripts")
        if not isinstance(scripts, dict):
            return {}
        return {str(k): v for k, v in scripts.items() if isinstance(v, str)}

    def dep(self, name: str) -> str | None:
        for key in ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies"):
            deps = self.data.get(key)
            if isinstance(deps, dict) and isinstance(deps.get(name), str):
                return str(deps[name])
        return None

    def rel(self, path: str) -> str:
        """``path`` (relative to this package) relative to the project."""
        return str(PurePosixPath(self.dir, path)) if self.dir else path


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object file, or None when it does not exist; anything else wrong is a ProfileError."""
    if not path.is_file():
        return None
    text = read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"cannot parse: {exc.msg} (column {exc.colno})", file=path, line=exc.lineno) from None
    if not isinstance(data, dict):
        raise ProfileError("not a JSON object", file=path)
    return data


def read_package(project: Path, rel: str = "") -> Package | None:
    data = read_json(project / rel / "package.json")
    return None if data is None else Package(rel, data)


def read_yaml(path: Path) -> Any:
    """A YAML file's data (compose, pnpm-workspace.yaml); a parse error names the file and line."""
    import yaml

    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(f"cannot parse: {problem}", file=path,
                           line=mark.line + 1 if mark is not None else None) from None


# --------------------------------------------------------------------------- package manager


class Manager(NamedTuple):
    name: str  # npm, pnpm, yarn, bun
    why: str

    def run(self, script: str) -> str:
        """The command that runs ``script``: ``pnpm dev``, ``yarn dev``, ``bun run dev``, ``npm run dev``."""
        quoted = shlex.quote(script)
        if self.name in ("npm", "bun") or script in OWN_COMMANDS:
            return f"{self.name} run {quoted}"
        return f"{self.name} {quoted}"

    def exec(self, tool: str) -> str:
        """A package's binary: ``npx prisma``, ``pnpm exec prisma``, ..."""
        return f"{EXEC[self.name]} {tool}"

    @property
    def install(self) -> str:
        return f"{self.name} install"


def package_manager(project: Path, pkg: Package) -> tuple[Manager, list[str]]:
    """From ``packageManager`` (or ``devEngines``) in package.json, else the lockfile; warnings when they disagree."""
    warnings: list[str] = []
    locks = [(lock, manager) for lock, manager in LOCKFILES if (project / lock).is_file()]
    declared, why = None, ""
    field = pkg.data.get("packageManager")
    if isinstance(field, str) and field.split("@")[0] in MANAGERS:
        declared = field.split("@")[0]
        why = f'packageManager "{field.split("+")[0]}" in package.json'
    engines = pkg.data.get("devEngines")
    wanted = engines.get("packageManager") if isinstance(engines, dict) else None
    wanted = wanted[0] if isinstance(wanted, list) and wanted else wanted
    if declared is None and isinstance(wanted, dict) and wanted.get("name") in MANAGERS:
        declared = str(wanted["name"])
        why = f"devEngines.packageManager in package.json ({declared})"
    if declared is not None:
        others = [lock for lock, manager in locks if manager != declared]
        if others:
            warnings.append(f"package.json declares {declared} but {others[0]} is present: using {declared}")
        return Manager(declared, why), warnings
    if locks:
        if len({m for _, m in locks}) > 1:
            warnings.append(f"several lockfiles ({', '.join(lock for lock, _ in locks)}): using {locks[0][0]}")
        return Manager(locks[0][1], locks[0][0]), warnings
    return Manager("npm", "no lockfile and no packageManager field: npm"), warnings


# --------------------------------------------------------------------------- workspaces


def workspace_patterns(project: Path, pkg: Package) -> tuple[list[str], str] | None:
    """The workspace globs and where they come from; None for a single package.

    A pnpm-workspace.yaml without ``packages:`` (create-next-app --use-pnpm writes one holding only
    ``allowBuilds:``) is not a monorepo.
    """
    ws_file = project / "pnpm-workspace.yaml"
    if ws_file.is_file():
        data = read_yaml(ws_file)
        packages = data.get("packages") if isinstance(data, dict) else None
        if isinstance(packages, list) and packages:
            return [str(p) for p in packages], "pnpm-workspace.yaml packages"
    field = pkg.data.get("workspaces")
    if isinstance(field, dict):
        field = field.get("packages")
    if isinstance(field, list) and field:
        return [str(p) for p in field], 'package.json "workspaces"'
    return None


def workspace_dirs(project: Path, patterns: list[str]) -> list[str]:
    """The folders (relative, sorted) the workspace globs match that hold a package.json."""
    include = [p for p in patterns if not p.startswith("!")]
    exclude = [p[1:] for p in patterns if p.startswith("!")]
    found: set[str] = set()
    for pattern in include:
        pattern = pattern.strip().removeprefix("./").rstrip("/")
        if not pattern or pattern.startswith("/") or ".." in PurePosixPath(pattern).parts:
            continue
        for path in project.glob(pattern):
            rel = path.relative_to(project).as_posix()
            if (path / "package.json").is_file() and "node_modules" not in rel.split("/") and rel != ".":
                found.add(rel)
    return sorted(d for d in found if not any(fnmatch(d, e.removeprefix("./").rstrip("/")) for e in exclude))


# --------------------------------------------------------------------------- Next.js


class NextApp(NamedTuple):
    version: str  # "16.4.3" (installed) or the range package.json asks for ("^15.0.0", "latest")
    major: int | None
    source: str  # where the version was read


def next_app(project: Path, pkg: Package) -> NextApp | None:
    """The Next.js version of a package that depends on ``next``: installed, else package.json's range."""
    spec = pkg.dep("next")
    if spec is None:
        return None
    for base in dict.fromkeys((pkg.dir, "")):  # the package's own node_modules, then the hoisted one
        installed = read_json(project / base / "node_modules" / "next" / "package.json")
        if installed is not None and isinstance(installed.get("version"), str):
            version = str(installed["version"])
            return NextApp(version, _major(version), str(PurePosixPath(base, "node_modules/next")))
    return NextApp(spec, _major(spec), pkg.file)


def _major(version: str) -> int | None:
    m = re.search(r"(\d+)", version)
    return int(m[1]) if m else None


def is_next_dev(script: str) -> bool:
    return re.search(r"(?:^|[\s;&|(])next\s+dev\b", script) is not None


def script_port(script: str) -> str | None:
    """The port a script passes its server (``-p 4000``, ``--port=${PORT:-3000}``): digits or ``${PORT...}``.

    The last ``-p`` wins, as with next dev.
    """
    found = _PORT_ARG.findall(script)
    if not found:
        return None
    value: str = found[-1][1]
    if value.isdigit():
        return value
    default = re.search(r":-(\d+)", value)
    return f"${{PORT:-{default[1]}}}" if default else "${PORT}"


def default_port(script: str) -> str | None:
    """The port a dev server listens on when the script gives none (Next reads $PORT, the others do not)."""
    if is_next_dev(script):
        return "${PORT:-3000}"
    words = script.split()
    return SERVER_PORTS.get(words[0]) if words else None


def health_route(app_dir: Path) -> tuple[str, str] | None:
    """(URL path, file) of a health route: ``app/api/health/route.ts``, ``pages/api/health.ts``, ``.../healthz``."""
    found: list[tuple[str, str]] = []
    for base in ("app", "src/app"):
        root = app_dir / base
        if not root.is_dir():
            continue
        for name in ("health", "healthz"):
            for route in root.glob(f"**/{name}/route.*"):
                if route.suffix not in SOURCE_EXTS:
                    continue
                parts = route.parent.relative_to(root).parts
                if any(p.startswith(("[", "_", "@")) for p in parts):
                    continue  # dynamic segments, private folders, parallel slots
                segments = [p for p in parts if not (p.startswith("(") and p.endswith(")"))]  # route groups
                found.append(("/" + "/".join(segments), route.relative_to(app_dir).as_posix()))
    for base in ("pages/api", "src/pages/api"):
        root = app_dir / base
        for name in ("health", "healthz"):
            for path in [*(root.glob(f"{name}.*")), *(root.glob(f"{name}/index.*"))]:
                if path.suffix in SOURCE_EXTS:
                    found.append((f"/api/{name}", path.relative_to(app_dir).as_posix()))
    if not found:
        return None
    return sorted(found, key=lambda f: (f[0] != "/api/health", len(f[0]), f[1]))[0]


def base_path(app_dir: Path) -> str:
    """next.config's ``basePath`` when it is a literal string, else ""."""
    for name in ("next.config.ts", "next.config.mjs", "next.config.js", "next.config.cjs", "next.config.mts"):
        path = app_dir / name
        if path.is_file():
            m = re.search(r"""\bbasePath\s*:\s*["'`](/[^"'`]*)["'`]""", read_text(path))
            return m[1].rstrip("/") if m else ""
    return ""


# --------------------------------------------------------------------------- source scans


class EnvRead(NamedTuple):
    name: str
    fallback: str | None  # the default the code gives (`process.env.X ?? "..."`), when it gives one


def env_reads(text: str) -> dict[str, EnvRead]:
    """The variables a JS/TS source reads (``process.env.X``, ``process.env["X"]``), with their code default."""
    out: dict[str, EnvRead] = {}
    for m in _ENV_READ.finditer(text):
        name = m[1] or m[2]
        fallback = m[5] if m[4] else m[6]
        if name not in out or (out[name].fallback is None and fallback is not None):
            out[name] = EnvRead(name, fallback)
    return out


def source_files(project: Path, pkg_dir: str) -> Iterator[Path]:
    """The package's own source files (a bounded walk of its usual folders, never node_modules)."""
    base = project / pkg_dir
    count = 0
    tops = [base / d for d in SOURCE_DIRS if (base / d).is_dir()]
    tops += [p for p in sorted(base.glob("*")) if p.is_file() and p.suffix in SOURCE_EXTS]
    for top in tops:
        paths = [top] if top.is_file() else sorted(top.rglob("*"))
        for path in paths:
            if count >= SCAN_LIMIT:
                return
            rel = path.relative_to(base).parts
            if path.suffix not in SOURCE_EXTS or "node_modules" in rel or any(p.startswith(".") for p in rel):
                continue
            if path.name.endswith(".d.ts") or not path.is_file():
                continue
            count += 1
            yield path


def read_source(path: Path) -> str:
    """A source file's text for a light scan: never an error (a binary or unreadable file reads as "")."""
    try:
        if path.stat().st_size > 512 * 1024:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def files_in(script: str, base: Path) -> list[str]:
    """The source files a command names that exist under ``base`` (``node scripts/worker.js`` -> the script)."""
    out = []
    for token in re.findall(r"[\w./@-]+\.(?:[cm]?[jt]s|[jt]sx)\b", script):
        if not token.startswith("-") and (base / token).is_file():
            out.append(token.removeprefix("./"))
    return out
