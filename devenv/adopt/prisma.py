"""Prisma's database URLs, read statically: ``schema.prisma`` (Prisma 5/6) and ``prisma.config.ts`` (Prisma 7).

Prisma 7 moved the URLs out of the schema into its config file
(``prisma.config.ts`` for 7.0-7.9, ``prisma7.config.ts`` from 7.10; also
``.js``/``.mjs``/...), shaped ``defineConfig({schema, migrations: {path},
datasource: {url: env("DIRECT_URL"), shadowDatabaseUrl: ...}})``. The config
is TypeScript: it is read as text, never executed. Its ``datasource.url`` is
the URL Migrate uses, the direct one (Prisma's docs put the old ``directUrl``
there).
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from devenv.adopt.node import read_package
from devenv.errors import ProfileError
from devenv.profile.yamlsrc import read_text
from devenv.tuples import NamedTuple

CONFIG_EXTS = ("ts", "mts", "cts", "js", "mjs", "cjs")
# the 7.10 loader's order: prisma7.config.*, .config/prisma7.*, then the legacy names
CONFIG_NAMES = tuple(
    [f"prisma7.config.{e}" for e in CONFIG_EXTS] + [f".config/prisma7.{e}" for e in CONFIG_EXTS]
    + [f"prisma.config.{e}" for e in CONFIG_EXTS] + [f".config/prisma.{e}" for e in CONFIG_EXTS]
    + [f".config/prisma.config.{e}" for e in CONFIG_EXTS])
CONSOLE_PROVIDERS = ("postgresql", "postgres", "cockroachdb", "sqlite")
_VALUE = (r"""(?:env(?:<[^>]*>)?\(\s*["'`](?P<env>\w+)["'`]\s*\)"""
          r"""|process\.env\.(?P<dot>\w+)|process\.env\[\s*["'`](?P<idx>\w+)["'`]\s*\])""")


class Prisma(NamedTuple):
    """What Prisma says about the database of one package (paths relative to the project)."""

    dir: str  # the package folder ("" for the root)
    schema: str | None
    config: str | None
    provider: str | None
    url: str | None  # the variable holding the URL (schema `url`, config `datasource.url`)
    direct: str | None  # schema `directUrl` (config `directUrl`, which Prisma 7's types do not have)
    shadow: str | None
    migrations: str | None  # the migrations folder, when it exists
    said: tuple[str, ...]  # how each variable was found, for the summary
    notes: tuple[str, ...]

    @property
    def migrate_url(self) -> str | None:
        """The URL Migrate connects with: the direct one."""
        return self.direct or self.url

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(p for p in (self.schema, self.config) if p)


def find_prisma(project: Path, dirs: list[str]) -> Prisma | None:
    """The first package (of ``dirs``, in order) with a Prisma config or schema."""
    for rel in dirs:
        found = read_prisma(project, rel)
        if found is not None:
            return found
    return None


def read_prisma(project: Path, rel: str) -> Prisma | None:
    base = project / rel
    config = next((base / n for n in CONFIG_NAMES if (base / n).is_file()), None)
    said: list[str] = []
    notes: list[str] = []
    url = direct = shadow = None
    schema_rel: str | None = None
    migrations_rel: str | None = None
    if config is not None:
        cfg = read_config(config)
        here = config.parent
        name = _rel(project, config)
        if cfg.schema:
            schema_rel = _rel(project, here / cfg.schema)
        if cfg.migrations:
            migrations_rel = _rel(project, here / cfg.migrations)
        url, direct, shadow = cfg.url, cfg.direct, cfg.shadow
        for key, var, how in cfg.found:
            said.append(f"{name} datasource.{key} = {how}")
            if key == "directUrl":
                notes.append(f"{name}: datasource.directUrl is not a Prisma 7 setting (its datasource has url and "
                             f"shadowDatabaseUrl); read as the direct URL {var}")
        notes += [f"{name}: {n}" for n in cfg.notes]
    schema = _schema_path(project, base, schema_rel)
    if config is None and schema is None:
        return None
    provider = None
    if schema is not None:
        text = _schema_text(schema)
        block = re.search(r"datasource\s+\w+\s*\{(.*?)\}", _strip_prisma_comments(text), re.S)
        body = block[1] if block else ""
        m = re.search(r'\bprovider\s*=\s*"(\w+)"', body)
        provider = m[1] if m else None
        name = _rel(project, schema)
        for key in ("url", "directUrl", "shadowDatabaseUrl"):
            found = re.search(rf'\b{key}\s*=\s*env\(\s*"(\w+)"\s*\)', body)
            if found is None:
                if re.search(rf'\b{key}\s*=\s*"', body):
                    notes.append(f"{name}: datasource {key} is a literal URL: devenv reads URLs from variables only")
                continue
            var = found[1]
            if key == "url" and url is None:
                url = var
            elif key == "directUrl" and direct is None:
                direct = var
            elif key == "shadowDatabaseUrl" and shadow is None:
                shadow = var
            else:
                continue
            said.append(f'{name} datasource {key} = env("{var}")')
        if config is not None and re.search(r"\b(url|directUrl)\s*=", body):
            notes.append(f"{name} still sets url/directUrl in its datasource: Prisma 7 rejects that (P1012); "
                         "the URLs belong in the config's datasource")
        if migrations_rel is None and (schema.parent / "migrations").is_dir():
            migrations_rel = _rel(project, schema.parent / "migrations")
    if migrations_rel is not None and not (project / migrations_rel).is_dir():
        migrations_rel = None
    return Prisma(rel, _rel(project, schema) if schema else None, _rel(project, config) if config else None,
                  provider, url, direct, shadow, migrations_rel, tuple(said), tuple(notes))


class Config(NamedTuple):
    schema: str | None
    migrations: str | None
    url: str | None
    direct: str | None
    shadow: str | None
    found: tuple[tuple[str, str, str], ...]  # (key, variable, the expression as written)
    notes: tuple[str, ...]


def read_config(path: Path) -> Config:
    """The parts of a Prisma config devenv needs, read from its text (the file is never executed)."""
    text = strip_js_comments(read_text(path))
    notes: list[str] = []
    datasource = _object(text, "datasource", path)
    migrations = _object(text, "migrations", path)
    rest = text
    for body in (datasource, migrations):
        if body:
            rest = rest.replace(body, "")
    schema = _string(rest, "schema")
    migrations_path = _string(migrations, "path") if migrations else None
    values: dict[str, tuple[str, str]] = {}
    if datasource is None:
        notes.append("no datasource: the database URL is not in the config")
    else:
        for key in ("url", "directUrl", "shadowDatabaseUrl"):
            m = re.search(rf"(?<![\w$.]){key}\s*:\s*", datasource)
            if m is None:
                continue
            value = re.match(_VALUE, datasource[m.end():])
            if value is None:
                expr = datasource[m.end():].split(",")[0].split("\n")[0].strip()
                notes.append(f"datasource.{key} is `{expr[:60]}`: not an env(\"NAME\") or process.env.NAME "
                             "devenv can read without running the file")
                continue
            var = value["env"] or value["dot"] or value["idx"]
            values[key] = (var, " ".join(value[0].split()))
    found = tuple((k, v[0], v[1]) for k, v in values.items())
    return Config(schema, migrations_path, values.get("url", ("", ""))[0] or None,
                  values.get("directUrl", ("", ""))[0] or None, values.get("shadowDatabaseUrl", ("", ""))[0] or None,
                  found, tuple(notes))


def strip_js_comments(text: str) -> str:
    """``text`` without ``//`` and ``/* */`` comments; strings (which may hold ``//``) are kept."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'`":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            out.append(" ")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _object(text: str, key: str, path: Path) -> str | None:
    """The body of ``key: { ... }`` (braces matched, strings skipped); a ProfileError when it never closes."""
    m = re.search(rf"(?<![\w$.]){key}\s*:\s*\{{", text)
    if m is None:
        return None
    depth, i = 1, m.end()
    while i < len(text):
        c = text[i]
        if c in "\"'`":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[m.end():i]
        i += 1
    line = text.count("\n", 0, m.start()) + 1
    raise ProfileError(f"cannot read the config: `{key}: {{` is never closed", file=path, line=line)


def _string(text: str, key: str) -> str | None:
    m = re.search(rf"""(?<![\w$.]){key}\s*:\s*(["'`])([^"'`]+)\1""", text)
    return m[2] if m else None


def _schema_path(project: Path, base: Path, configured: str | None) -> Path | None:
    if configured is not None:
        path = project / configured
        return path if path.exists() else None
    pkg = read_package(project, base.relative_to(project).as_posix() if base != project else "")
    field = pkg.data.get("prisma") if pkg is not None else None
    if isinstance(field, dict) and isinstance(field.get("schema"), str) and (base / field["schema"]).exists():
        return base / str(field["schema"])
    for candidate in ("prisma/schema.prisma", "schema.prisma", "prisma/schema"):
        if (base / candidate).exists():
            return base / candidate
    return None


def _schema_text(path: Path) -> str:
    """A schema file's text, or every ``.prisma`` file of a schema folder (``prismaSchemaFolder``)."""
    if path.is_dir():
        return "\n".join(read_text(p) for p in sorted(path.rglob("*.prisma")))
    return read_text(path)


def _strip_prisma_comments(text: str) -> str:
    """The schema without ``//`` comments (a ``//`` inside a string, as in a URL, is kept)."""
    lines = []
    for line in text.splitlines():
        quoted = False
        for i, c in enumerate(line):
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                quoted = not quoted
            elif not quoted and line.startswith("//", i):
                line = line[:i]
                break
        lines.append(line)
    return "\n".join(lines)


def _rel(project: Path, path: Path) -> str:
    try:
        return PurePosixPath(path.resolve().relative_to(project.resolve())).as_posix()
    except ValueError:
        return str(path)
