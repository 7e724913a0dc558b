"""Prerequisites for ``doctor`` and ``up``: is it there, is it free? Each names the problem and the fix.

``run_checks`` builds one small function per check (tmux, commands, env, ports,
files, window cwds, database, custom checks), runs them concurrently and
returns ``CheckResult`` records in a stable order, every text masked. The pure
helpers (version parsing, error classification) are at module level so they
can be tested alone; fix hints are :mod:`devenv.readiness.hints`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection, Mapping
from functools import partial
from pathlib import Path

from devenv.fmt import duration
from devenv.names import is_env_name
from devenv.readiness.hints import file_hint, install_hint, relative, this_package_manager
from devenv.secrets import mask_url
from devenv.session.live import SessionAt
from devenv.spawn import run_process, which
from devenv.tuples import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Any

    from devenv.profile.env import Resolved

TMUX_MIN = (3, 2)
DEFAULT_DB_TIMEOUT = 5.0
DEFAULT_CHECK_TIMEOUT = 30.0
VERSION_TIMEOUT = 5.0
_VERSION = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?:\.(\d+))?")
_CONSTRAINT = r"^(>=|<=|==|!=|~=|>|<)\s*(\d+(?:\.\d+)*)"  # compiled at its first use (re's cache)


class CheckResult(NamedTuple):
    name: str  # e.g. "command node>=18", "port 3000", "env DATABASE_URL", "database DIRECT_URL", "tmux"
    ok: bool
    detail: str  # what was found (masked)
    hint: str | None = None  # how to fix (None when ok, unless a warning)
    warn: bool = False  # passed, but worth a look (ok is True): nothing is blocked


def _ok(name: str, detail: str) -> CheckResult:
    return CheckResult(name, True, detail, None)


def _warn(name: str, detail: str, hint: str | None) -> CheckResult:
    return CheckResult(name, True, detail, hint, True)


def _fail(name: str, detail: str, hint: str | None) -> CheckResult:
    return CheckResult(name, False, detail, hint)


# --------------------------------------------------------------------------- versions


def parse_version(text: str) -> tuple[int, ...] | None:
    """The first X.Y[.Z] number in ``text`` (``v20.11.1`` -> (20, 11, 1))."""
    m = _VERSION.search(text)
    return tuple(int(g) for g in m.groups() if g is not None) if m else None


def parse_constraint(text: str) -> tuple[str, tuple[int, ...]]:
    """``">=18"`` -> (">=", (18,)). Raises ValueError when it is not a constraint."""
    m = re.match(_CONSTRAINT, text.strip())
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


# --------------------------------------------------------------------------- tmux and commands


def _run_version(path: str, env: Mapping[str, str] | None, flag: str = "--version") -> str:
    """What ``path flag`` prints (stdout and stderr); TimeoutError after VERSION_TIMEOUT."""
    proc = run_process([path, flag], None, VERSION_TIMEOUT, env=None if env is None else dict(env))
    return (proc.stdout + proc.stderr).strip()


def tmux_usable() -> CheckResult:
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
    from devenv.paths import cache_home, private_file

    cache = cache_home() / "tmux-version"
    try:
        cached_key, _, cached = cache.read_text().partition("\n")
        if cached_key == key and cached:
            return cached
    except OSError:
        pass
    out = _run_version(path, None, "-V")
    try:
        private_file(cache, f"{key}\n{out}".encode())
    except OSError:
        pass
    return out


def command_found(name: str, constraint: str | None, env: Mapping[str, str]) -> CheckResult:
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
    from devenv.profile.env import read_env_file

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
            return relative(resolved.root, Path(origin.file)) + (f":{origin.line}" if origin.line else "")
    return "environment"


def env_set(resolved: Resolved, name: str) -> CheckResult:
    label = f"env {name}"
    files = resolved.profile.env_files
    where = files[-1] if files else ".env"
    if name not in resolved.env:
        return _fail(label, "not set", example_hint(resolved, name)
                     or f"add {name}=... to {where} (or set it in the profile's env:)")
    source = env_source(resolved, name)
    if not resolved.env[name]:
        return _fail(label, f"empty (set in {source})", f"give {name} a value in {where}")
    return _ok(label, f"set in {source}")


EXAMPLE_FILES = (".env.example", ".env.sample", ".env.template")


def example_hint(resolved: Resolved, name: str) -> str | None:
    """Copy the example: when an ``.env.example`` beside the profile's env files lists ``name``."""
    root = resolved.project  # env files are relative to the project
    folders = dict.fromkeys(Path(f).parent for f in resolved.profile.env_files if not Path(f).is_absolute())
    for folder in folders or {Path("."): None}:
        for example_name in EXAMPLE_FILES:
            example = root / folder / example_name
            try:
                listed = re.search(rf"^\s*(?:export\s+)?{re.escape(name)}\s*=", example.read_text(errors="replace"), re.M)
            except OSError:
                continue
            if not listed:
                continue
            mine = [f for f in resolved.profile.env_files if Path(f).parent == folder]
            existing = [f for f in mine if (root / f).is_file()]
            shown = relative(root, example)
            if existing:
                return f"add {name}=... to {existing[-1]} (it is in {shown})"
            target = mine[0] if mine else str(folder / ".env")
            return f"cp {shown} {target} and fill in the values"
    return None


def file_exists(root: Path, rel: str, hint: str | None) -> CheckResult:
    path = Path(os.path.expanduser(rel))
    path = path if path.is_absolute() else root / path
    if path.exists():
        return _ok(f"file {rel}", "found" + ("" if not path.is_dir() else " (folder)"))
    return _fail(f"file {rel}", f"{path} not found", hint or file_hint(root, rel))


def dir_exists(resolved: Resolved, label: str, path: Path, key: str) -> CheckResult:
    if path.is_dir():
        return _ok(label, relative(resolved.root, path))
    what = "is not a folder" if path.exists() else "does not exist"
    origin = resolved.profile.origin(key)
    return _fail(label, f"{path} {what}", f"create it (mkdir -p {_quote(str(path))}) or fix {key} ({origin})")


def cwd_checks(resolved: Resolved) -> list[tuple[str, Callable[[], CheckResult]]]:
    """The project root (when the profile moves it) and every window and pane cwd."""
    from devenv.profile.model import Pane

    out: list[tuple[str, Callable[[], CheckResult]]] = []
    if resolved.root != resolved.project:
        out.append(("root", partial(dir_exists, resolved, "root", resolved.root, "root")))
    for w in resolved.profile.windows:
        if w.cwd:
            label = f"cwd {w.name}"
            out.append((label, partial(dir_exists, resolved, label, resolved.pane_cwd(w, Pane(None)),
                                       f"{w.key}.cwd")))
        for i, pane in enumerate(w.panes):
            if pane.cwd:
                label = f"cwd {w.name}.{i}"
                out.append((label, partial(dir_exists, resolved, label, resolved.pane_cwd(w, pane),
                                           f"{w.key}.panes")))
    return out


# --------------------------------------------------------------------------- ports


class Holder(NamedTuple):
    pid: int | None
    text: str  # "pid 123 node (node server.js), running for 2h 3m"
    environ: Mapping[str, str]


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
    from devenv.names import unquote

    socket = environ.get("DEVENV_TMUX_SOCKET") or unquote(label)
    argv = ["devenv"]
    if environ.get("DEVENV_PROJECT"):
        argv += ["-C", environ["DEVENV_PROJECT"]]
    if socket != "default":
        argv += ["-L", socket]
    if environ.get("DEVENV_PROFILE"):
        argv += ["-p", environ["DEVENV_PROFILE"]]
    return f"devenv session {session!r} (window {window!r})", " ".join(_quote(a) for a in argv + ["down"])


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


def port_free(port: int, own: bool, own_pids: frozenset[int], mask: Callable[[str], str],
              holders_of: Callable[[], Mapping[int, set[int | None]]]) -> CheckResult:
    """Free, held by this session (passes), or held by someone we name (and maybe another devenv session).

    ``own``: the session's own processes listen on it (from their descriptors: no probe). A free
    port costs one bind; only a busy one asks ``holders_of`` (the system's socket table, scanned
    once for every port check) who holds it.
    """
    import errno

    label = f"port {port}"
    if own:
        return _ok(label, "held by this session")
    exc = bind_error(port)
    if exc is None:
        return _ok(label, "free")
    if exc.errno == errno.EACCES:
        return _fail(label, f"cannot bind port {port}: permission denied", "use a port above 1023")
    holders = holders_of().get(port, set())
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
    return _fail(label, "in use by a process devenv cannot identify (permission denied)",
                 f"find it with `sudo lsof -i :{port}` and stop it")


class _Once:
    """A value computed at most once, by whichever thread asks first (the others wait for it)."""

    def __init__(self, compute: Callable[[], Mapping[int, set[int | None]]]) -> None:
        import threading

        self.compute, self.lock = compute, threading.Lock()
        self.value: Mapping[int, set[int | None]] | None = None

    def __call__(self) -> Mapping[int, set[int | None]]:
        with self.lock:
            if self.value is None:
                try:
                    self.value = self.compute()
                except Exception:  # psutil cannot list sockets here: no holder can be named
                    self.value = {}
            return self.value


# --------------------------------------------------------------------------- database


def _postgres_reachable(label: str, url: str, resolved: Resolved, timeout: float, source: str,
                        session_at: SessionAt | None) -> CheckResult:
    """Connect (devenv.db: password as a keyword, never on an argv). A definite answer (refused,
    unknown host, a full pool) comes at once; only a server starting up is waited for, up to ``timeout``.

    A full pool names its holders (from the socket table); held by this session alone, it is a
    warning: the session's own load must not block repairing it.
    """
    from devenv.db.connect import ConnectError, connect_postgres, hint
    from devenv.db.url import parse_url
    from devenv.errors import DbError, UsageError

    try:
        parsed = parse_url(url, resolved.project)
    except (DbError, UsageError) as exc:
        return _fail(label, exc.message, f"fix the database URL {source}")
    where = f"{parsed.where}/{parsed.dbname or ''}"
    try:
        conn = connect_postgres(parsed, timeout, retry=False)
    except ConnectError as exc:
        if exc.full:
            return _pool_full(label, where, exc.cause, parsed, session_at)
        return _fail(label, f"{where}: {exc.cause}", hint(exc.cause, parsed, source))
    except DbError as exc:
        return _fail(label, f"{where}: {exc.message}", f"check the database URL {source}")
    with conn:
        v = conn.info.server_version
    version = f"PostgreSQL {v // 10000}.{v % 10000}" if v >= 100000 else f"PostgreSQL {v}"
    return _ok(label, f"{where} reachable ({version})")


def _pool_full(label: str, where: str, cause: str, url: Any, session_at: SessionAt | None) -> CheckResult:
    """The server refused us for want of slots: who holds them, and whether it is this session alone."""
    from devenv.session.dbclients import scan, summary

    try:
        holders = scan(url, session_at)
    except Exception as exc:  # the socket table is a help, never a failure of its own
        return _fail(label, f"{where}: {cause}", f"some process holds every connection ({exc}); stop idle "
                     "workers or lower their pool sizes (db_pool:, connection_limit=)")
    held = summary(holders)
    if holders.all_mine:
        per_window: dict[str, int] = {}
        for h in holders.mine:
            per_window[h.window or h.label] = per_window.get(h.window or h.label, 0) + h.connections
        biggest = max(per_window, key=lambda w: per_window[w])
        return _warn(label, f"{where}: the pool is full, held by this session: {held}",
                     "this session's own windows hold every connection: lower their pool sizes "
                     f"(db_pool:, connection_limit=), or restart the biggest holder: devenv restart {_quote(biggest)}")
    if holders.others:
        pids = " ".join(str(p) for h in holders.others for p in h.pids)
        marked = next((h.mark for h in holders.others if h.mark), None)
        stop = f"stop what you do not need (kill {pids})" + (f"; some belong to the devenv session {marked.split('/')[1]!r}"
                                                             if marked and marked.count("/") >= 2 else "")
        return _fail(label, f"{where}: {cause}; held by {held}",
                     f"{stop}, or lower the pool sizes (db_pool:, connection_limit=)")
    return _fail(label, f"{where}: {cause}; no process here holds a connection ({holders.note or 'remote clients'})",
                 "the server's connections are held elsewhere: see pg_stat_activity as a superuser, or raise "
                 "max_connections")


def _sqlite_usable(label: str, url: str, root: Path) -> CheckResult:
    rest = url.split(":", 1)[1]
    rest = rest[3:] if rest.startswith("///") else rest.lstrip("/")
    if rest in ("", ":memory:"):
        return _ok(label, "in-memory database")
    path = Path(rest) if url.startswith("sqlite:////") else root / rest
    if path.is_file():
        return _ok(label, f"{relative(root, path)} found")
    if path.parent.is_dir():
        return _ok(label, f"{relative(root, path)} will be created")
    return _fail(label, f"folder {path.parent} does not exist", f"mkdir -p {_quote(str(path.parent))}")


def _tcp_reachable(label: str, url: str, timeout: float) -> CheckResult:
    from devenv.db.connect import tcp_reachable

    ok, found = tcp_reachable(url, timeout)
    if ok or found.startswith("no port"):
        return _ok(label, found if ok else f"not checked: {found}")
    return _fail(label, found, f"start the database on {found.split(': ')[0]}")


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "::"})
_DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306, "redis": 6379,
                  "mongodb": 27017, "sqlserver": 1433}


def local_port(url: str) -> int | None:
    """The TCP port of a database URL served on this machine (localhost, 127.x, ::1); else None."""
    from urllib.parse import parse_qs, urlsplit

    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.split("+")[0].lower())
    except ValueError:
        return None
    if "host" in parse_qs(parts.query) or not (host in _LOCAL_HOSTS or host.startswith("127.")):
        return None
    return port


def database_url(resolved: Resolved, spec: str) -> str:
    """``spec``'s URL: the variable's value when it names one."""
    return resolved.env.get(spec, "") if is_env_name(spec) else spec


def database_reachable(resolved: Resolved, spec: str, timeout: float, session_at: SessionAt | None = None,
                       own_ports: Collection[int] = ()) -> CheckResult:
    """The database answers. ``own_ports``: ports the running session's own processes listen on; a
    database served there is the session's own (its db window), answered without connecting."""
    var = spec if is_env_name(spec) else None
    url = database_url(resolved, spec)
    label = f"database {var or mask_url(spec).split('?')[0]}"
    if not url:
        where = resolved.profile.env_files[-1] if resolved.profile.env_files else ".env"
        return _fail(label, f"{var} is not set", f"add {var}=postgresql://user:password@host:5432/db to {where}")
    port = local_port(url) if own_ports else None
    if port is not None and port in own_ports:
        return _ok(label, f"port {port} is served by this session's own processes (not probed)")
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        source = f"in {var} ({env_source(resolved, var)})" if var else "in the URL"
        return _postgres_reachable(label, url, resolved, timeout, source, session_at)
    if scheme == "sqlite":
        return _sqlite_usable(label, url, resolved.root)
    return _tcp_reachable(label, url, timeout)


def _server_url(resolved: Resolved) -> tuple[str, str] | None:
    """(URL, its name) of the session's PostgreSQL server: requires.database, else DIRECT_URL, DATABASE_URL."""
    spec = resolved.profile.requires.database
    candidates = [spec] if spec else ["DIRECT_URL", "DATABASE_URL"]
    for name in candidates:
        url = resolved.env.get(name, "") if is_env_name(name) else name
        if url.split(":", 1)[0].lower() in ("postgres", "postgresql"):
            return url, name if is_env_name(name) else mask_url(name).split("?")[0]
    return None


def database_pool(resolved: Resolved, timeout: float) -> CheckResult | None:
    """The prediction: the connections the session may open against what the server allows the URL's role.

    None when no window holds a URL of the session's server.
    """
    from devenv.db.connect import ConnectError, connect_postgres
    from devenv.db.predict import describe, predict
    from devenv.db.status import capacity
    from devenv.db.url import parse_url
    from devenv.errors import DbError, UsageError

    found = _server_url(resolved)
    if found is None:
        return None
    text, name = found
    label = "database pool"
    try:
        url = parse_url(text, resolved.project)
    except (DbError, UsageError):
        return None  # the database check names a bad URL
    prediction = predict(resolved, url)
    if not prediction.shares:
        return None
    shares = describe(prediction)
    opens = f"the session may open {prediction.total} connection{'s' if prediction.total != 1 else ''}"
    if prediction.unknown:
        opens += f" (and {len(prediction.unknown)} pane{'s' if len(prediction.unknown) != 1 else ''} of unknown pool size)"
    try:
        conn = connect_postgres(url, timeout, retry=False)
    except (ConnectError, DbError) as exc:
        cause = getattr(exc, "cause", exc.message)
        return _ok(label, f"{opens} to {name}; the server's capacity is unknown ({cause}): {shares}")
    from psycopg.rows import dict_row

    with conn:
        from devenv.db.status import SETTINGS_SQL

        settings = conn.cursor(row_factory=dict_row).execute(SETTINGS_SQL).fetchone()
    cap = capacity(settings)
    allows = f"the server allows {cap['usable']}"
    if cap["reserved"]:
        allows += f" (max_connections {cap['max']}, {cap['reserved']} reserved)"
    else:
        allows += f" (max_connections {cap['max']})"
    if prediction.total > cap["usable"]:
        return _warn(label, f"{opens}; {allows}: {shares}",
                     "lower the pool sizes (db_pool:, connection_limit= in the URL; db_pool: 0 for a window "
                     "that opens none), or give the app a pooler in DATABASE_URL (e.g. pgbouncer) and keep "
                     "DIRECT_URL for migrations")
    return _ok(label, f"{opens}; {allows}: {shares}")


# --------------------------------------------------------------------------- custom checks


def custom_check(resolved: Resolved, name: str, run: str, hint: str | None, timeout: float) -> CheckResult:
    """A ``checks:`` entry: ``sh -c run`` in the project root must exit 0."""
    from devenv.spawn import run_shell

    if not resolved.root.is_dir():
        return _fail(name, f"project root {resolved.root} does not exist", None)
    result = run_shell(run, resolved.env, resolved.root, timeout, stdout=True)
    if result.returncode is None:
        return _fail(name, f"`{run}` timed out after {timeout:g}s", hint or f"run `{run}` to see why it hangs")
    last = result.last_line[:200]
    if result.returncode == 0:
        return _ok(name, last or "exit 0")
    detail = f"exit {result.returncode}" + (f": {last}" if last else "")
    return _fail(name, detail, hint or f"run `{run}` to see why")


# --------------------------------------------------------------------------- running


def plan_checks(resolved: Resolved, own_pids: frozenset[int], db_timeout: float,
                check_timeout: float, session_at: SessionAt | None = None,
                predict: bool = False) -> list[tuple[str, Callable[[], CheckResult | None]]]:
    """(name, function) for every check, in display order."""
    req = resolved.profile.requires
    env = resolved.env
    tasks: list[tuple[str, Callable[[], CheckResult | None]]] = [("tmux", tmux_usable)]
    tasks += [(f"command {c}", partial(command_found, c.name, c.constraint, env)) for c in req.commands]
    tasks += [(f"env {n}", partial(env_set, resolved, n)) for n in req.env]
    own_ports = _own_ports(own_pids) if own_pids and (req.ports or req.database) else {}
    if req.ports:
        from devenv.session.procs import listeners

        holders = _Once(listeners)
        tasks += [(f"port {p}", partial(port_free, p, p in own_ports, own_pids, resolved.mask, holders))
                  for p in req.ports]
    tasks += [(f"file {f.path}", partial(file_exists, resolved.root, f.path, f.hint)) for f in req.files]
    tasks += cwd_checks(resolved)
    if req.database:
        tasks.append((f"database {req.database}",
                      partial(database_reachable, resolved, req.database, db_timeout, session_at, set(own_ports))))
    if predict:
        tasks.append(("database pool", partial(database_pool, resolved, db_timeout)))
    tasks += [(c.name, partial(custom_check, resolved, c.name, c.run, c.hint, check_timeout)) for c in req.checks]
    return tasks


def _own_ports(own_pids: frozenset[int]) -> Mapping[int, set[int | None]]:
    """The TCP ports the session's own processes listen on, from their descriptors (no socket-table scan)."""
    from devenv.session.procs import listening

    try:
        return listening(own_pids)
    except Exception:  # the process table cannot say: the checks probe instead
        return {}


def run_checks(resolved: Resolved, *, own_pids: frozenset[int] = frozenset(), db_timeout: float = DEFAULT_DB_TIMEOUT,
               check_timeout: float = DEFAULT_CHECK_TIMEOUT, session_at: SessionAt | None = None,
               predict: bool = False) -> list[CheckResult]:
    """Run every check concurrently; results in profile order, every text masked.

    ``own_pids``: the running session's processes; a port they hold is not a conflict. ``session_at``:
    (tmux socket, session) of the session that may be running (a full database pool held by its
    windows is a warning); None when none runs.
    ``predict``: also compare the connections the session may open with the server's capacity (doctor).
    """
    tasks = plan_checks(resolved, frozenset(own_pids), db_timeout, check_timeout, session_at, predict)
    results: list[CheckResult | None] = [None] * len(tasks)

    def run(i: int) -> None:
        try:
            results[i] = tasks[i][1]()
        except Exception as exc:  # a broken check is a failed check, never a traceback
            results[i] = _fail(tasks[i][0], f"the check itself failed: {exc}", None)

    if len(tasks) <= 1:  # (tmux alone) no threads, nor threading to import
        for i in range(len(tasks)):
            run(i)
    else:  # one thread a check (the first runs here): a slow database check does not hold up the others
        import threading

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(1, len(tasks))]
        for thread in threads:
            thread.start()
        run(0)
        for thread in threads:
            thread.join()
    mask = resolved.mask
    return [r._replace(name=mask(r.name), detail=mask(r.detail), hint=mask(r.hint) if r.hint else None)
            for r in results if r is not None]


def own_pids(resolved: Resolved, socket: str | None) -> frozenset[int]:
    """The running session's processes, looked up only when ports or a database on this machine are
    checked: a port they hold is no conflict, a database they serve is there (``up`` on a running
    session, ``doctor``)."""
    req = resolved.profile.requires
    if not req.ports and not (req.database and local_port(database_url(resolved, req.database))):
        return frozenset()
    from devenv.session.procs import session_pids

    return frozenset(session_pids(socket, resolved.profile.session, str(resolved.project)))


def _quote(word: str) -> str:
    """shlex.quote, imported only when a hint needs it (a failed check)."""
    import shlex

    return shlex.quote(word)
