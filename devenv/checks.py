"""Prerequisite checks for ``doctor`` and ``up``: each names the problem and says how to fix it.

``run_checks`` builds one small function per check (tmux, commands, env, ports,
files, window cwds, database, custom checks), runs them concurrently and
returns ``CheckResult`` records in a stable order, every text masked. The pure
helpers (version parsing, install hints, URL clean-up, error classification)
are at module level so they can be tested alone.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from devenv.fmt import duration
from devenv.secrets import mask_url
from devenv.tmux import run_process, which

if TYPE_CHECKING:
    from devenv.envfiles import Resolved


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)

TMUX_MIN = (3, 2)
DEFAULT_DB_TIMEOUT = 5.0
DEFAULT_CHECK_TIMEOUT = 30.0
VERSION_TIMEOUT = 5.0
_VERSION = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?")
_CONSTRAINT = re.compile(r"^(>=|<=|==|!=|~=|>|<)\s*(\d+(?:\.\d+)*)")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CheckResult(NamedTuple):
    name: str  # e.g. "command node>=18", "port 3000", "env DATABASE_URL", "database DIRECT_URL", "tmux"
    ok: bool
    detail: str  # what was found (masked)
    hint: str | None = None  # how to fix (None when ok)


def _ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, True, detail, None)


def _fail(name: str, detail: str, hint: str | None) -> CheckResult:
    return CheckResult(name, False, detail, hint)


# --------------------------------------------------------------------------- versions


def parse_version(text: str) -> tuple[int, ...] | None:
    """The first X.Y[.Z] number in ``text`` (``v20.11.1`` -> (20, 11, 1))."""
    m = _VERSION.search(text)
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def parse_constraint(text: str) -> tuple[str, tuple[int, ...]]:
    """``">=18"`` -> (">=", (18,)). Raises ValueError when it is not a constraint."""
    m = _CONSTRAINT.match(text.strip())
    if not m:
        raise ValueError(f"not a version constraint: {text!r}")
    return m[1], tuple(int(p) for p in m[2].split("."))


def satisfies(found: tuple[int, ...], op: str, want: tuple[int, ...]) -> bool:
    """Numeric tuple compare; ``==``/``!=`` compare the components given (``==18`` matches 18.x)."""
    if op in ("==", "!="):
        return (found[:len(want)] + (0,) * (len(want) - len(found)) == want) == (op == "==")
    if op == "~=":  # compatible release: >= want, same leading components
        head = want[:-1] if len(want) > 1 else want
        return satisfies(found, ">=", want) and satisfies(found, "==", head)
    width = max(len(found), len(want))
    a, b = found + (0,) * (width - len(found)), want + (0,) * (width - len(want))
    return {">=": a >= b, ">": a > b, "<=": a <= b, "<": a < b}[op]


def show_version(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


# --------------------------------------------------------------------------- install hints

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


# --------------------------------------------------------------------------- tmux and commands


def _run_version(path: str, env: Mapping[str, str] | None, flag: str = "--version") -> str:
    """What ``path flag`` prints (stdout and stderr); TimeoutError after VERSION_TIMEOUT."""
    proc = run_process([path, flag], None, VERSION_TIMEOUT, env=None if env is None else dict(env))
    return (proc.stdout + proc.stderr).strip()


def check_tmux() -> CheckResult:
    path = which("tmux")
    if path is None:
        return _fail("tmux", "not found on PATH", install_hint("tmux", this_package_manager()))
    try:
        out = _tmux_version(path)
    except (OSError, TimeoutError) as exc:
        return _fail("tmux", f"{path} -V failed: {exc}", install_hint("tmux", this_package_manager()))
    version = parse_version(out)
    if version is None:
        if "master" in out or "next" in out:
            return _ok("tmux", f"{out} (development build)")
        return _fail("tmux", f"cannot read the version from {out!r}", None)
    if version < TMUX_MIN:
        return _fail("tmux", f"{out}: devenv needs tmux >= {show_version(TMUX_MIN)} (new-session -e)",
                     "upgrade tmux: " + install_hint("tmux", this_package_manager()))
    return _ok("tmux", out)


def _tmux_version(path: str) -> str:
    """``tmux -V``, remembered per binary (path, size, mtime): every `up` asks, the answer rarely changes."""
    st = os.stat(path)
    key = f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
    from devenv.state import cache_home

    cache = cache_home() / "tmux-version"
    try:
        cached_key, _, cached = cache.read_text().partition("\n")
        if cached_key == key and cached:
            return cached
    except OSError:
        pass
    out = _run_version(path, None, "-V")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(f"{key}\n{out}")
    except OSError:
        pass
    return out


def check_command(name: str, constraint: str | None, env: Mapping[str, str]) -> CheckResult:
    label = f"command {name}{constraint or ''}"
    path = which(name, path=env.get("PATH", os.defpath)) if "/" not in name else (
        name if os.access(name, os.X_OK) else None)
    if path is None:
        return _fail(label, "not found on PATH", install_hint(name, this_package_manager()))
    if not constraint:
        return _ok(label, path)
    op, want = parse_constraint(constraint)
    try:
        out = _run_version(path, env)
    except TimeoutError:
        return _fail(label, f"{name} --version did not answer within {VERSION_TIMEOUT:g}s", None)
    except OSError as exc:
        return _fail(label, f"{path} --version failed: {exc.strerror or exc}", None)
    found = parse_version(out)
    if found is None:
        first = out.splitlines()[0][:120] if out else "(nothing)"
        return _fail(label, f"cannot read a version from `{name} --version`: {first}",
                     f"make sure {path} is the {name} you expect")
    if not satisfies(found, op, want):
        return _fail(label, f"found {show_version(found)} at {path}, need {constraint}",
                     f"install {name}{constraint}: " + install_hint(name, this_package_manager()))
    return _ok(label, f"{show_version(found)} at {path}")


# --------------------------------------------------------------------------- env, files, cwds


def env_source(resolved: Resolved, name: str) -> str:
    """Where ``name`` was set: ``profile (file:line)``, an env file, or ``environment``."""
    from devenv.envfiles import read_env_file

    profile = resolved.profile
    if name in profile.env:
        return f"profile env ({profile.origin(f'env.{name}')})"
    for path in reversed(resolved.env_files):
        try:
            layer = read_env_file(path)
        except Exception:  # the source is a nicety, never a failure
            continue
        if name in layer.values:
            origin = layer.origins[name]
            return _rel(resolved.root, Path(origin.file)) + (f":{origin.line}" if origin.line else "")
    return "environment"


def check_env(resolved: Resolved, name: str) -> CheckResult:
    label = f"env {name}"
    files = resolved.profile.env_files
    where = files[-1] if files else ".env"
    if name not in resolved.env:
        return _fail(label, "not set", f"add {name}=... to {where} (or set it in the profile's env:)")
    source = env_source(resolved, name)
    if not resolved.env[name]:
        return _fail(label, f"empty (set in {source})", f"give {name} a value in {where}")
    return _ok(label, f"set in {source}")


def _rel(root: Path, path: Path) -> str:
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
            return f"cp {_rel(root, example)} {rel} and fill in the values"
    return f"create {rel} (looked in {root})"


def check_file(root: Path, rel: str, hint: str | None) -> CheckResult:
    path = Path(os.path.expanduser(rel))
    path = path if path.is_absolute() else root / path
    if path.exists():
        return _ok(f"file {rel}", "found" + ("" if not path.is_dir() else " (folder)"))
    return _fail(f"file {rel}", f"{path} not found", hint or file_hint(root, rel))


def check_dir(resolved: Resolved, label: str, path: Path, key: str) -> CheckResult:
    if path.is_dir():
        return _ok(label, _rel(resolved.root, path))
    what = "is not a folder" if path.exists() else "does not exist"
    origin = resolved.profile.origin(key)
    return _fail(label, f"{path} {what}", f"create it (mkdir -p {_shell_quote(str(path))}) or fix {key} ({origin})")


def cwd_checks(resolved: Resolved) -> list[tuple[str, Callable[[], CheckResult]]]:
    """The project root (when the profile moves it) and every window and pane cwd."""
    from devenv.profile import Pane

    out: list[tuple[str, Callable[[], CheckResult]]] = []
    if resolved.root != resolved.project:
        out.append(("root", lambda: check_dir(resolved, "root", resolved.root, "root")))
    for w in resolved.profile.windows:
        if w.cwd:
            label, path = f"cwd {w.name}", resolved.pane_cwd(w, Pane(None))
            out.append((label, lambda w=w, label=label, p=path: check_dir(resolved, label, p, f"windows.{w.name}.cwd")))
        for i, pane in enumerate(w.panes):
            if pane.cwd:
                label, path = f"cwd {w.name}.{i}", resolved.pane_cwd(w, pane)
                out.append((label, lambda w=w, label=label, p=path: check_dir(
                    resolved, label, p, f"windows.{w.name}.panes")))
    return out


# --------------------------------------------------------------------------- ports


class Holder(NamedTuple):
    pid: int | None
    text: str  # "pid 123 node (node server.js), running for 2h 3m"
    environ: Mapping[str, str]


def listeners() -> dict[int, set[int | None]]:
    """TCP port -> pids listening on it (None when the pid cannot be seen)."""
    import psutil

    out: dict[int, set[int | None]] = {}
    try:
        conns = [(c.laddr, c.status, c.pid) for c in psutil.net_connections(kind="tcp")]
    except psutil.AccessDenied:  # macOS without root: look at the processes we may see
        conns = []
        for proc in psutil.process_iter():
            try:
                get = getattr(proc, "net_connections", None) or proc.connections
                conns += [(c.laddr, c.status, proc.pid) for c in get(kind="tcp")]
            except (psutil.Error, OSError):
                continue
    for laddr, status, pid in conns:
        if status == psutil.CONN_LISTEN and laddr:
            out.setdefault(laddr.port, set()).add(pid)
    return out


def describe_holder(pid: int, mask: Callable[[str], str]) -> Holder:
    import psutil

    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            name = proc.name()
            age = duration(time.time() - proc.create_time())
            try:
                cmd = " ".join(" ".join(proc.cmdline()).split())  # one line, even for `python -c` scripts
            except psutil.AccessDenied:
                cmd = ""
            try:
                environ = proc.environ()
            except (psutil.AccessDenied, OSError):
                environ = {}
    except psutil.NoSuchProcess:
        return Holder(pid, f"pid {pid} (exited since)", {})
    except psutil.AccessDenied:
        return Holder(pid, f"pid {pid} (details not readable: permission denied)", {})
    cmd = mask(mask_url(cmd))
    cmd = cmd if len(cmd) <= 100 else cmd[:97] + "..."
    return Holder(pid, f"pid {pid} {name}" + (f" ({cmd})" if cmd else "") + f", running for {age}", environ)


def devenv_down_hint(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(what session, how to stop it) when a process was started by a devenv session."""
    mark = environ.get("DEVENV_MARK")
    if not mark or mark.count("/") < 2:
        return None
    label, session, window = mark.split("/", 2)
    from devenv.state import unquote

    socket = environ.get("DEVENV_TMUX_SOCKET") or unquote(label)
    argv = ["devenv"]
    if environ.get("DEVENV_PROJECT"):
        argv += ["-C", environ["DEVENV_PROJECT"]]
    if socket != "default":
        argv += ["-L", socket]
    if environ.get("DEVENV_PROFILE"):
        argv += ["-p", environ["DEVENV_PROFILE"]]
    return f"devenv session {session!r} (window {window!r})", " ".join(_shell_quote(a) for a in argv + ["down"])


def bind_error(port: int) -> OSError | None:
    """Try to bind the port on IPv4 and IPv6; the error when it is taken."""
    import errno
    import socket

    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue
        with s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                s.bind((host, port))
            except OSError as exc:
                if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                    continue
                return exc
    return None


def check_port(port: int, holders: set[int | None], own_pids: frozenset[int],
               mask: Callable[[str], str]) -> CheckResult:
    """Free, held by this session (passes), or held by someone we name (and maybe another devenv session)."""
    import errno

    label = f"port {port}"
    known = {p for p in holders if p is not None}
    if known and known <= own_pids:
        return _ok(label, "held by this session")
    others = sorted(known - own_pids)
    if others:
        found = [describe_holder(pid, mask) for pid in others]
        detail = "in use by " + "; ".join(h.text for h in found)
        for h in found:
            marked = devenv_down_hint(h.environ)
            if marked:
                return _fail(label, f"{detail}; it belongs to {marked[0]}",
                             f"stop that session: {marked[1]} (or kill {h.pid})")
        return _fail(label, detail, f"stop it (kill {' '.join(map(str, others))}) or free port {port}")
    if None in holders:
        return _fail(label, "in use by a process devenv cannot identify (permission denied)",
                     f"find it with `sudo lsof -i :{port}` and stop it")
    exc = bind_error(port)
    if exc is None:
        return _ok(label, "free")
    if exc.errno == errno.EACCES:
        return _fail(label, f"cannot bind port {port}: permission denied", "use a port above 1023")
    return _fail(label, "in use by a process devenv cannot identify (permission denied)",
                 f"find it with `sudo lsof -i :{port}` and stop it")


# --------------------------------------------------------------------------- database


def check_postgres(label: str, url: str, resolved: Resolved, timeout: float, source: str) -> CheckResult:
    """Connect (devenv.db: password as a keyword, never on an argv), retrying with backoff until ``timeout``."""
    from devenv.db import connect_postgres, parse_url
    from devenv.errors import DbError, UsageError

    try:
        parsed = parse_url(url, resolved.project)
    except (DbError, UsageError) as exc:
        return _fail(label, exc.message, f"fix the database URL {source}")
    try:
        conn = connect_postgres(parsed, timeout)
    except DbError as exc:
        cause = exc.message.split(": ", 1)[-1]
        return _fail(label, f"{parsed.where}/{parsed.dbname or ''}: {cause}", _db_hint(cause, parsed, source))
    with conn:
        v = conn.info.server_version
    version = f"PostgreSQL {v // 10000}.{v % 10000}" if v >= 100000 else f"PostgreSQL {v}"
    return _ok(label, f"{parsed.where}/{parsed.dbname or ''} reachable ({version})")


def _db_hint(cause: str, url, source: str) -> str:
    host, _, port = url.where.rpartition(":")
    user = f" -U {_shell_quote(url.user)}" if url.user else ""
    if "refused" in cause or "socket" in cause:
        return f"start the database on {url.where}, or fix the host/port {source}"
    if "timed out" in cause:
        return f"is the database on {url.where} up and reachable? (check host, port, firewall {source})"
    if cause.startswith("unknown database"):
        return (f"create it: createdb -h {host} -p {port}{user} {url.dbname} "
                "(or run your migrations, e.g. npx prisma migrate dev)")
    if cause.startswith(("authentication failed", "unknown user")):
        return f"check the user and password {source}"
    if cause == "unknown host":
        return f"fix the host name {source}"
    return f"check the database URL {source}"


def check_sqlite(label: str, url: str, root: Path) -> CheckResult:
    rest = url.split(":", 1)[1]
    rest = rest[3:] if rest.startswith("///") else rest.lstrip("/")
    if rest in ("", ":memory:"):
        return _ok(label, "in-memory database")
    path = Path(rest) if url.startswith("sqlite:////") else root / rest
    if path.is_file():
        return _ok(label, f"{_rel(root, path)} found")
    if path.parent.is_dir():
        return _ok(label, f"{_rel(root, path)} will be created")
    return _fail(label, f"folder {path.parent} does not exist", f"mkdir -p {_shell_quote(str(path.parent))}")


def check_tcp(label: str, url: str, timeout: float) -> CheckResult:
    from devenv.db import tcp_reachable

    ok, found = tcp_reachable(url, timeout)
    if ok or found.startswith("no port"):
        return _ok(label, found if ok else f"not checked: {found}")
    return _fail(label, found, f"start the database on {found.split(': ')[0]}")


def check_database(resolved: Resolved, spec: str, timeout: float) -> CheckResult:
    var = spec if _VAR_NAME.match(spec) else None
    url = resolved.env.get(spec, "") if var else spec
    label = f"database {var or mask_url(spec).split('?')[0]}"
    if not url:
        where = resolved.profile.env_files[-1] if resolved.profile.env_files else ".env"
        return _fail(label, f"{var} is not set", f"add {var}=postgresql://user:password@host:5432/db to {where}")
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        source = f"in {var} ({env_source(resolved, var)})" if var else "in the URL"
        return check_postgres(label, url, resolved, timeout, source)
    if scheme == "sqlite":
        return check_sqlite(label, url, resolved.root)
    return check_tcp(label, url, timeout)


# --------------------------------------------------------------------------- custom checks


def check_custom(resolved: Resolved, name: str, run: str, hint: str | None, timeout: float) -> CheckResult:
    if not resolved.root.is_dir():
        return _fail(name, f"project root {resolved.root} does not exist", None)
    import signal
    import subprocess

    proc = subprocess.Popen(["sh", "-c", run], cwd=resolved.root, env=dict(resolved.env), text=True,
                            errors="replace", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return _fail(name, f"`{run}` timed out after {timeout:g}s", hint or f"run `{run}` to see why it hangs")
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    last = lines[-1][:200] if lines else ""
    if proc.returncode == 0:
        return _ok(name, last or "exit 0")
    detail = f"exit {proc.returncode}" + (f": {last}" if last else "")
    return _fail(name, detail, hint or f"run `{run}` to see why")


# --------------------------------------------------------------------------- running and rendering


def plan_checks(resolved: Resolved, own_pids: frozenset[int], db_timeout: float,
                check_timeout: float) -> list[tuple[str, Callable[[], CheckResult]]]:
    """(name, function) for every check, in display order."""
    req = resolved.profile.requires
    env = resolved.env
    tasks: list[tuple[str, Callable[[], CheckResult]]] = [("tmux", check_tmux)]
    tasks += [(f"command {c}", lambda c=c: check_command(c.name, c.constraint, env)) for c in req.commands]
    tasks += [(f"env {n}", lambda n=n: check_env(resolved, n)) for n in req.env]
    if req.ports:
        try:
            holders = listeners()
        except Exception:  # psutil cannot list sockets here: the bind probe still tells busy from free
            holders = {}
        tasks += [(f"port {p}", lambda p=p: check_port(p, holders.get(p, set()), own_pids, resolved.mask))
                  for p in req.ports]
    tasks += [(f"file {f.path}", lambda f=f: check_file(resolved.root, f.path, f.hint)) for f in req.files]
    tasks += cwd_checks(resolved)
    if req.database:
        database = req.database
        tasks.append((f"database {database}", lambda: check_database(resolved, database, db_timeout)))
    tasks += [(c.name, lambda c=c: check_custom(resolved, c.name, c.run, c.hint, check_timeout)) for c in req.checks]
    return tasks


def run_checks(resolved: Resolved, *, own_pids: frozenset[int] = frozenset(), db_timeout: float = DEFAULT_DB_TIMEOUT,
               check_timeout: float = DEFAULT_CHECK_TIMEOUT) -> list[CheckResult]:
    """Run every check concurrently; results in profile order, every text masked.

    ``own_pids``: the running session's processes; a port they hold is not a conflict.
    """
    import threading

    tasks = plan_checks(resolved, frozenset(own_pids), db_timeout, check_timeout)
    results: list[CheckResult | None] = [None] * len(tasks)

    def run(i: int) -> None:
        try:
            results[i] = tasks[i][1]()
        except Exception as exc:  # a broken check is a failed check, never a traceback
            results[i] = _fail(tasks[i][0], f"the check itself failed: {exc}", None)

    # one thread a check (the first runs here): a slow database check does not hold up the others
    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(1, len(tasks))]
    for thread in threads:
        thread.start()
    if tasks:
        run(0)
    for thread in threads:
        thread.join()
    mask = resolved.mask
    return [CheckResult(mask(r.name), r.ok, mask(r.detail), mask(r.hint) if r.hint else None)
            for r in results if r is not None]


def _can_encode(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def render(results: list[CheckResult], *, color: bool, unicode: bool | None = None) -> str:
    """The checklist: mark, check, what was found, and a hint under each failure."""
    import click

    if unicode is None:
        unicode = _can_encode("✓✗")
    good, bad = ("✓", "✗") if unicode else ("ok", "XX")
    width = min(max((len(r.name) for r in results), default=0), 32)
    lines = []
    for r in results:
        mark = click.style(good, fg="green") if r.ok else click.style(bad, fg="red", bold=True)
        if not color:
            mark = good if r.ok else bad
        lines.append(f"{mark} {r.name.ljust(width)}  {r.detail}")
        if r.hint:
            hint = f"hint: {r.hint}"
            lines.append("    " + (click.style(hint, fg="yellow") if color else hint))
    failed = sum(not r.ok for r in results)
    lines.append(f"{failed} of {len(results)} checks failed" if failed else f"all {len(results)} checks passed")
    return "\n".join(lines)


__all__ = ["CheckResult", "run_checks", "render", "parse_version", "parse_constraint", "satisfies",
           "install_hint", "package_manager"]
