"""Layered environment: devenv's own < env_files < profile env < window env < pane env.

``${VAR}`` and ``${VAR:-default}`` (also ``${VAR-default}``) are resolved after
merging, against the layered environment, so a child profile that overrides a
variable changes every value built from it. A reference of a variable to itself
(``PATH: ${PATH}:bin``) means the value from the layer below. ``$${`` writes a
literal ``${``. Cycles are profile errors naming where the value was written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from devenv.errors import ProfileError
from devenv.names import ENV_NAME
from devenv.profile.model import DEFAULT_ENV_FILES, Origin, Pane, Probe, Profile, Window
from devenv.profile.yamlsrc import read_text
from devenv.secrets import Masker, secret_values
from devenv.tuples import NamedTuple

# Variables of devenv's own environment that must not leak into windows.
SKIP_BASE = {"TMUX", "TMUX_PANE", "PWD", "OLDPWD", "SHLVL", "_", "COLUMNS", "LINES", "TERM", "TERM_PROGRAM",
             "TERM_PROGRAM_VERSION", "DEVENV_MARK", "DEVENV_STATE", "DEVENV_AFTER", "DEVENV_READY", "PGAPPNAME", "DEVENV_DB",
             "DEVENV_DB_URL"}


class Layer(NamedTuple):
    """One layer of variables; ``literal`` layers are never interpolated."""

    values: Mapping[str, str]
    origins: Mapping[str, Origin]
    literal: bool = False
    name: str = ""


def base_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k not in SKIP_BASE and ENV_NAME.match(k) and "\n" not in v}


# --------------------------------------------------------------------------- .env files


def read_env_file(path: Path) -> Layer:
    """Parse one .env file with python-dotenv's parser; a bad line is a profile error."""
    from dotenv.parser import parse_stream

    text = read_text(path)
    import io

    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    literal_keys: set[str] = set()
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            first = binding.original.string.strip().splitlines()[0] if binding.original.string.strip() else ""
            raise ProfileError(f"cannot parse {first[:60]!r} (expected KEY=value)", file=path,
                               line=binding.original.line)
        if binding.key is None:
            continue
        if not ENV_NAME.match(binding.key):
            raise ProfileError(f"not a valid variable name: {binding.key!r}", file=path, line=binding.original.line)
        values[binding.key] = binding.value or ""
        origins[binding.key] = Origin(path, binding.original.line)
        if re.match(r"^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.]*\s*=\s*'", binding.original.string):
            literal_keys.add(binding.key)
        else:
            literal_keys.discard(binding.key)
    # single-quoted values are literal, as in the shell and in python-dotenv
    for key in literal_keys:
        values[key] = values[key].replace("${", "$${")
    return Layer(values, origins, name=str(path))


# --------------------------------------------------------------------------- interpolation

_REF = re.compile(r"\$\$\{|\$\{")


def _split_ref(text: str, start: int, where: str) -> tuple[str, str | None, str, int]:
    """Parse ``${NAME}``, ``${NAME:-default}`` or ``${NAME-default}`` starting after ``${``.

    Returns (name, operator or None, default, index after the closing brace).
    """
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text[start:])
    if not m:
        raise ValueError(f"bad variable reference in {where}: expected a name after '${{'")
    name = m.group(0)
    i = start + len(name)
    if i < len(text) and text[i] == "}":
        return name, None, "", i + 1
    for op in (":-", "-"):
        if text.startswith(op, i):
            j = i + len(op)
            depth = 1
            k = j
            while k < len(text):
                if text.startswith("${", k):
                    depth += 1
                    k += 2
                    continue
                if text[k] == "}":
                    depth -= 1
                    if depth == 0:
                        return name, op, text[j:k], k + 1
                k += 1
            raise ValueError(f"unclosed '${{' in {where}")
    raise ValueError(f"bad variable reference in {where}: only ${{VAR}} and ${{VAR:-default}} are supported")


class Resolver:
    """Resolves a stack of layers lazily, detecting cycles."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self._cache: dict[tuple[int, str], str] = {}
        self._active: list[tuple[int, str]] = []

    def top(self, name: str, below: int | None = None) -> tuple[int, str] | None:
        """(layer index, raw value) of the highest layer (under ``below``) defining ``name``."""
        start = len(self.layers) - 1 if below is None else below - 1
        for i in range(start, -1, -1):
            if name in self.layers[i].values:
                return i, self.layers[i].values[name]
        return None

    def value(self, name: str, below: int | None = None) -> str | None:
        found = self.top(name, below)
        if found is None:
            return None
        return self.resolve_at(found[0], name)

    def resolve_at(self, index: int, name: str) -> str:
        key = (index, name)
        if key in self._cache:
            return self._cache[key]
        layer = self.layers[index]
        raw = layer.values[name]
        if layer.literal:
            return raw
        if key in self._active:
            cycle = [n for _, n in self._active[self._active.index(key):]] + [name]
            raise self._error(index, name, "variable reference cycle: " + " -> ".join(cycle))
        self._active.append(key)
        try:
            result = self.expand(raw, self_name=name, self_index=index, where=name)
        except ValueError as exc:
            raise self._error(index, name, str(exc)) from None
        finally:
            self._active.pop()
        self._cache[key] = result
        return result

    def expand(self, text: str, *, self_name: str | None = None, self_index: int | None = None,
               where: str = "value") -> str:
        out = []
        pos = 0
        for m in _REF.finditer(text):
            if m.start() < pos:
                continue
            out.append(text[pos:m.start()])
            if m.group(0) == "$${":
                out.append("${")
                pos = m.end()
                continue
            name, op, default, pos = _split_ref(text, m.end(), where)
            if name == self_name:
                val = self.value(name, below=self_index)
            else:
                val = self.value(name)
            if op == ":-" and not val:
                val = self.expand(default, self_name=self_name, self_index=self_index, where=where)
            elif op == "-" and val is None:
                val = self.expand(default, self_name=self_name, self_index=self_index, where=where)
            out.append(val or "")
        out.append(text[pos:])
        return "".join(out)

    def flatten(self) -> dict[str, str]:
        names: dict[str, None] = {}
        for layer in self.layers:
            names.update(dict.fromkeys(layer.values))
        return {n: self.value(n) or "" for n in names}

    def _error(self, index: int, name: str, message: str) -> ProfileError:
        origin = self.layers[index].origins.get(name)
        if origin is None:
            return ProfileError(message, key=name)
        return ProfileError(message, file=origin.file, line=origin.line, key=name)


# --------------------------------------------------------------------------- the resolved profile


class Resolved(NamedTuple):
    """A profile with its environment layered and every interpolated field resolved."""

    profile: Profile  # root, cwd, probe targets, db and requires.database interpolated
    project: Path
    root: Path
    env: Mapping[str, str]  # devenv's own < env files < profile env, resolved
    window_envs: Mapping[str, tuple[Mapping[str, str], ...]]  # per window, per pane: full env
    secrets: Masker
    env_files: tuple[Path, ...]  # the env files that exist and were read
    file_keys: frozenset[str] = frozenset()  # the keys the env files and the profile's env define

    def window_env(self, window: str, pane: int = 0) -> Mapping[str, str]:
        return self.window_envs[window][pane]

    def own_keys(self, window: str, pane: int = 0) -> frozenset[str]:
        """The keys of a pane's environment that the project defines (env files, profile, window,
        pane), as opposed to those inherited from devenv's own environment."""
        w = self.profile.window(window)
        keys = set(self.file_keys)
        if w is not None:
            keys |= set(w.env)
            if pane < len(w.panes):
                keys |= set(w.panes[pane].env)
        return frozenset(keys)

    def pane_cwd(self, window: Window, pane: Pane) -> Path:
        path = self.root
        if window.cwd:
            path = path / window.cwd
        if pane.cwd:
            path = path / pane.cwd
        return Path(os.path.normpath(path))

    def mask(self, text: str) -> str:
        return self.secrets(text)


def resolve(profile: Profile, project: Path, environ: Mapping[str, str] | None = None) -> Resolved:
    project = project.resolve()
    base = base_environment(environ)
    layers = [Layer(base, {}, literal=True, name="environment")]
    read: list[Path] = []
    for name in profile.env_files:
        path = Path(os.path.expanduser(name))
        path = path if path.is_absolute() else project / path
        if path.is_file():
            layers.append(read_env_file(path))
            read.append(path)
    layers.append(Layer(profile.env, {k: profile.origin(f"env.{k}") for k in profile.env}, name="profile"))
    resolver = Resolver(layers)
    env = resolver.flatten()

    def expand(text: str | None, key: str, extra: Mapping[str, str] | None = None) -> str | None:
        if text is None:
            return None
        r = resolver if extra is None else Resolver([Layer(env, {}, literal=True), Layer(extra, {}, literal=True)])
        try:
            return r.expand(text, where=key)
        except ValueError as exc:
            raise profile.error(key, str(exc)) from None

    root_text = expand(profile.root, "root") or "."
    root = Path(os.path.expanduser(root_text))
    root = Path(os.path.normpath(root if root.is_absolute() else project / root))

    windows = []
    window_envs: dict[str, tuple[Mapping[str, str], ...]] = {}
    for w in profile.windows:
        w_layer = Layer(w.env, {k: profile.origin(f"{w.key}.env.{k}") for k in w.env})
        w_env = Resolver([Layer(env, {}, literal=True), w_layer]).flatten()
        panes = []
        envs = []
        for p in w.panes:
            p_layer = Layer(p.env, {k: profile.origin(f"{w.key}.panes") for k in p.env})
            envs.append(Resolver([Layer(w_env, {}, literal=True), p_layer]).flatten() if p.env else w_env)
            panes.append(p._replace(cwd=expand(p.cwd, f"{w.key}.panes", envs[-1])))
        if not w.panes:
            envs.append(w_env)
        ready = w.ready
        if ready is not None:
            target = expand(ready.target, f"{w.key}.ready", w_env) or ""
            if ready.kind == "port" and (not target.isdigit() or not 0 < int(target) < 65536):
                raise profile.error(f"{w.key}.ready", f"not a TCP port: {target!r}")
            ready = Probe(ready.kind, target, ready.timeout, ready.interval)
        db_pool = expand(w.db_pool, f"{w.key}.db_pool", w_env)
        if db_pool is not None and not re.fullmatch(r"\s*[0-9]+\s*", db_pool):
            raise profile.error(f"{w.key}.db_pool", f"must be a whole number >= 0, not {db_pool!r}")
        windows.append(w._replace(
            db_pool=None if db_pool is None else str(int(db_pool)),
            cwd=expand(w.cwd, f"{w.key}.cwd", w_env), panes=tuple(panes), ready=ready,
            db=expand(w.db, f"{w.key}.db", w_env),
            logs=tuple(expand(g, f"{w.key}.logs", w_env) or "" for g in w.logs),
            watch=tuple(expand(g, f"{w.key}.watch", w_env) or "" for g in w.watch),
            watch_ignore=tuple(expand(g, f"{w.key}.watch_ignore", w_env) or "" for g in w.watch_ignore),
        ))
        window_envs[w.name] = tuple(envs)
    ports = []
    for port in profile.requires.ports:
        text = expand(str(port), "requires.ports") or ""
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise profile.error("requires.ports", f"not a TCP port: {text!r}")
        ports.append(int(text))
    requires = profile.requires._replace(database=expand(profile.requires.database, "requires.database"),
                                   ports=tuple(ports))
    resolved_profile = profile._replace(root=str(root), windows=tuple(windows), requires=requires)

    secrets: set[str] = set()
    secret_env: dict[str, str] = {}
    for layer in layers[1:]:
        secret_env.update({k: env.get(k, "") for k in layer.values})
    for pane_envs in window_envs.values():
        for e in pane_envs:
            secret_env.update({k: v for k, v in e.items() if k not in base or v != base.get(k)})
    secrets |= secret_values(secret_env)
    file_keys = frozenset(k for layer in layers[1:] for k in layer.values)
    return Resolved(resolved_profile, project, root, env, window_envs, Masker(secrets), tuple(read), file_keys)


def default_env(project: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """devenv's own environment under the default env files of ``project``: for commands run without a profile."""
    layers = [Layer(base_environment(environ), {}, literal=True)]
    layers += [read_env_file(p) for p in (project / n for n in DEFAULT_ENV_FILES) if p.is_file()]
    return Resolver(layers).flatten()
