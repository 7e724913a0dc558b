"""Readiness: probes, and waiting until windows are ready.

Probes make one quick attempt each and say why they failed:

* ``port: N``: a TCP connect on localhost (127.0.0.1, then ::1);
* ``http: URL``: any 2xx/3xx answer (redirects are not followed; no proxy for localhost);
* ``log: REGEX``: a line of the window's own output matches (ANSI escapes stripped;
  devenv's own ``[devenv] ...`` lines never count);
* ``command: CMD``: ``sh -c CMD`` exits 0 (in the profile root, with the window's environment);
* ``database: URL-or-VARIABLE``: connects and runs a trivial query (PostgreSQL, SQLite; other
  schemes: a TCP connect to their host and port).

A window without a probe is ready once its process runs (or ran and exited 0).

Waiting happens in two places: :func:`await_after` runs inside a window with
``after:`` (``devenv _await``, reading everything from ``$DEVENV_AFTER``: no
profile is loaded), and :func:`wait_for_windows` serves ``up --wait`` and
``devenv wait``. Both poll a list of :class:`Watch` at the probes' intervals.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from devenv.errors import DevenvError, UsageError
from devenv.profile import Probe
from devenv.secrets import mask_url

if TYPE_CHECKING:
    from devenv.context import Options
    from devenv.envfiles import Resolved

Result = tuple[bool, str]  # (ready, why not / what answered)
OWN_LINE = "[devenv] "  # lines devenv itself prints into windows: never matched by log probes
LOG_SCAN_LIMIT = 64 << 20  # bytes of a log one attempt reads at most
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"}


# --------------------------------------------------------------------------- probes: one attempt each


def check_port(target: str, timeout: float = 0.5) -> Result:
    """A TCP connect to ``target`` on 127.0.0.1, then ::1."""
    import socket

    port = int(target)
    why = "connection refused"
    for host in ("127.0.0.1", "::1"):
        try:
            with socket.create_connection((host, port), timeout=min(timeout, 1.0)):
                return True, "accepts connections"
        except TimeoutError:
            why = "timed out"
        except OSError as exc:
            if host == "127.0.0.1":
                why = exc.strerror.lower() if exc.strerror else "connection refused"
    return False, why


def check_http(url: str, timeout: float = 2.0) -> Result:
    """A GET answered with 2xx or 3xx (redirects not followed)."""
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    handlers: list[urllib.request.BaseHandler] = [NoRedirect()]
    if host in _LOCAL or host.startswith("127."):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # local dev servers use self-signed certificates
        handlers += [urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(urllib.request.Request(url, headers={"User-Agent": "devenv"}),
                         timeout=min(timeout, 3.0)) as resp:
            return True, f"HTTP {resp.status}"
    except urllib.error.HTTPError as exc:
        exc.close()
        return 300 <= exc.code < 400, f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = exc.reason
        text = getattr(reason, "strerror", None) or str(reason)
        return False, str(text).lower()
    except (OSError, ValueError) as exc:
        return False, str(exc) or type(exc).__name__


def check_command(command: str, env: Mapping[str, str], cwd: Path | str | None, timeout: float = 5.0) -> Result:
    """``sh -c command`` exits 0 within ``timeout`` (its process group is killed otherwise)."""
    import subprocess

    try:
        proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        return False, f"cannot run: {exc.strerror or exc}"
    try:
        _, err = proc.communicate(timeout=max(timeout, 0.1))
    except subprocess.TimeoutExpired:
        return False, f"timed out after {timeout:g}s"
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
    if proc.returncode == 0:
        return True, "exit 0"
    last = next((ln.strip() for ln in reversed(err.decode("utf-8", "replace").splitlines()) if ln.strip()), "")
    return False, f"exit {proc.returncode}" + (f": {last[:200]}" if last else "")


def check_database(target: str, env: Mapping[str, str], cwd: Path | str | None, timeout: float = 2.0) -> Result:
    """Connect and run a trivial query; ``target`` is a URL or the name of a variable holding one."""
    url = env.get(target, "") if _VAR.match(target) else target
    if not url:
        return False, f"{target} is not set"
    from devenv import db

    base = Path(cwd) if cwd is not None else Path.cwd()
    try:
        parsed = db.parse_url(url, base)
    except DevenvError as exc:
        if "://" in url and url.split(":", 1)[0].lower() not in ("postgres", "postgresql", "sqlite", "file"):
            return db.tcp_reachable(url, timeout)
        return False, mask_url(exc.message)
    try:
        db.ping(parsed, max(timeout, 0.5))
    except DevenvError as exc:
        return False, _hide(exc.message, parsed.password)
    except Exception as exc:  # a driver error we did not classify: not ready, say why
        return False, _hide(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                            parsed.password)
    return True, "database answers"


def _hide(text: str, password: str | None) -> str:
    if password:
        text = text.replace(password, "****")
    return mask_url(text)


class LogWatch:
    """Matches lines of one pane log incrementally, from byte ``start`` on.

    A file that shrinks or is replaced (rotated) is read again from its start.
    """

    def __init__(self, path: Path, start: int = 0) -> None:
        self.path = path
        self.pos = start
        self.carry = b""
        self.inode: int | None = None

    @classmethod
    def for_run(cls, path: Path, state_prefix: Path) -> LogWatch:
        """Only the output of the pane's current (or next) run.

        The size is taken before the status is read: when the runner does not
        say ``running`` yet, everything the new run prints comes after it. When
        it runs already, its output starts where the runner noted it
        (``<state>.logstart``), or, without that note, at the log's start.
        """
        try:
            st = os.stat(path)
            size, inode = st.st_size, st.st_ino
        except OSError:
            size, inode = 0, None
        status = read_status(state_prefix)
        start = size
        if status.word == "running":
            try:
                start = min(int(Path(f"{state_prefix}.logstart").read_text().strip() or 0), size)
            except (OSError, ValueError):
                start = 0
        watch = cls(path, start)
        watch.inode = inode
        return watch

    def search(self, pattern: re.Pattern[str], limit: int = LOG_SCAN_LIMIT) -> str | None:
        """The first new line ``pattern`` matches, or None."""
        from devenv.logs import clean_line

        try:
            fh = open(self.path, "rb")
        except OSError:
            return None
        with fh:
            st = os.fstat(fh.fileno())
            if (self.inode is not None and st.st_ino != self.inode) or st.st_size < self.pos:
                self.pos, self.carry = 0, b""
            self.inode = st.st_ino
            fh.seek(self.pos)
            data = fh.read(limit)
        self.pos += len(data)
        lines = (self.carry + data).split(b"\n")
        self.carry = lines[-1][-65536:]
        for raw in lines:
            text = clean_line(raw.decode("utf-8", "replace"))
            if not text.startswith(OWN_LINE) and pattern.search(text):
                return text.strip()
        return None


def attempt(probe: Probe, *, logs: Sequence[LogWatch], env: Mapping[str, str], cwd: Path | str | None,
            timeout: float) -> Result:
    """One attempt of ``probe``: (ready, detail)."""
    if probe.kind == "port":
        return check_port(probe.target, timeout)
    if probe.kind == "http":
        return check_http(probe.target, timeout)
    if probe.kind == "command":
        return check_command(probe.target, env, cwd, timeout)
    if probe.kind == "database":
        return check_database(probe.target, env, cwd, timeout)
    if probe.kind == "log":
        pattern = re.compile(probe.target)
        for watch in logs:
            line = watch.search(pattern)
            if line is not None:
                return True, f"log: {line[:120]}"
        return False, "no line matches yet"
    return False, f"unknown probe kind {probe.kind!r}"


def probe_ok(probe: Probe, *, log_paths: list[Path], env: Mapping[str, str], timeout: float = 0.5,
             cwd: Path | str | None = None) -> bool:
    """One quick attempt of ``probe`` (log probes read the whole of ``log_paths``)."""
    return attempt(probe, logs=[LogWatch(p) for p in log_paths], env=env, cwd=cwd, timeout=timeout)[0]


def describe(probe: Probe | None, mask: Callable[[str], str] = mask_url) -> str:
    """What a probe checks, for people (secrets masked)."""
    if probe is None:
        return "its process running"
    if probe.kind == "port":
        return f"port {probe.target}"
    if probe.kind == "http":
        return mask(probe.target)
    if probe.kind == "log":
        return f"output matching /{probe.target}/"
    if probe.kind == "command":
        return mask(f"`{probe.target}` succeeding")
    return f"database {mask(probe.target)}"


# --------------------------------------------------------------------------- runner status


@dataclass(frozen=True)
class Status:
    """One pane runner's ``<state>.status``: word (waiting|running|exited|failed|None), rest, mtime."""

    word: str | None
    rest: str = ""
    mtime: float = 0.0

    @property
    def alive(self) -> bool:
        """``running <pid>`` with that process still there."""
        if self.word != "running":
            return False
        if not self.rest.isdigit():
            return True
        try:
            os.kill(int(self.rest), 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True

    def __str__(self) -> str:
        return f"{self.word} {self.rest}".strip() if self.word else "not started"


def read_status(prefix: Path) -> Status:
    path = Path(f"{prefix}.status")
    try:
        with open(path) as fh:
            text = fh.read().strip()
            mtime = os.fstat(fh.fileno()).st_mtime
    except OSError:
        return Status(None)
    word, _, rest = text.partition(" ")
    return Status(word or None, rest, mtime)


def ran(statuses: Sequence[Status]) -> bool:
    """Every runner pane runs (or ran and exited 0): readiness of a window without a probe."""
    return all(s.alive or (s.word == "exited" and s.rest == "0") for s in statuses)


# --------------------------------------------------------------------------- watching


FINAL = ("ready", "failed", "timeout")


@dataclass
class Watch:
    """One thing being waited for: a window's probe, or its process running."""

    name: str
    probe: Probe | None
    states: tuple[Path, ...]  # runner state prefixes of the window's panes (pane 0 first)
    env: Mapping[str, str]
    cwd: Path | str | None
    timeout: float | None  # from when the window stops waiting for its own dependencies; None: no own limit
    interval: float
    label: str  # describe(probe), masked
    logs: list[LogWatch] = field(default_factory=list)
    state: str = "pending"  # pending | waiting | starting | ready | failed | timeout
    detail: str = ""
    clock: float | None = None  # when its own timeout started counting
    deadline: float | None = None  # an overall limit (monotonic), besides its own timeout
    done_at: float | None = None
    next_at: float = 0.0

    def step(self, now: float, crashed: str | None = None) -> bool:
        """Advance; True when the state changed."""
        if self.state in FINAL:
            return False
        before = (self.state, self.detail)
        if crashed:
            self._finish("failed", crashed, now)
            return True
        statuses = [read_status(p) for p in self.states]
        if statuses and statuses[0].word == "waiting":
            self.state, self.detail, self.clock = "waiting", "waiting for its dependencies", None
            return before != (self.state, self.detail)
        if self.clock is None:
            self.clock = now
        if now >= self.next_at:
            self.next_at = now + self.interval
            if self.probe is None:
                ok, detail = ran(statuses), (str(statuses[0]) if statuses else "running")
            else:
                ends = [t for t in (self.deadline, None if self.timeout is None else self.clock + self.timeout)
                        if t is not None]
                remaining = min(ends) - now if ends else 5.0
                ok, detail = attempt(self.probe, logs=self.logs, env=self.env, cwd=self.cwd,
                                     timeout=max(0.5, min(5.0, remaining)))
            if ok:
                self._finish("ready", detail, time.monotonic())
                return True
            self.state, self.detail = "starting", detail
        if self.timeout is not None and time.monotonic() - self.clock >= self.timeout:
            self.expire(self.timeout)
            return True
        return before != (self.state, self.detail)

    def expire(self, after: float) -> None:
        self._finish("timeout", f"not ready after {after:g}s ({self.doing})", time.monotonic())

    @property
    def doing(self) -> str:
        """What it is waiting for and, once tried, the last answer."""
        if self.state == "waiting":
            return self.detail
        return f"{self.label}: {self.detail}" if self.detail else self.label

    def _finish(self, state: str, detail: str, now: float) -> None:
        self.state, self.detail, self.done_at = state, detail, now

    @property
    def final(self) -> bool:
        return self.state in FINAL


def run(watches: Sequence[Watch], *, deadline: float | None, limit: float | None,
        crashes: Callable[[], Mapping[str, str]], changed: Callable[[Watch], None],
        tick: Callable[[], None] | None = None, tick_every: float = 0.5) -> bool:
    """Poll ``watches`` until all are final (or ``deadline`` passes); True when all are ready."""
    from devenv.wait import sleep

    while True:
        now = time.monotonic()
        crashed = crashes()
        for w in watches:
            if not w.final and w.step(now, crashed.get(w.name)):
                changed(w)
        if deadline is not None and time.monotonic() >= deadline:
            for w in watches:
                if not w.final:
                    w.expire(limit or 0)
                    changed(w)
        if tick is not None:
            tick()
        pending = [w for w in watches if not w.final]
        if not pending:
            return all(w.state == "ready" for w in watches)
        wake = min([w.next_at for w in pending] + [now + tick_every] + ([deadline] if deadline else []))
        sleep(max(0.02, wake - time.monotonic()))


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop(signum)


# --------------------------------------------------------------------------- inside a window: devenv _await


def parse_after(text: str) -> list[dict[str, object]]:
    """``$DEVENV_AFTER`` as a list of dependency specs; UsageError when malformed."""
    import json

    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"DEVENV_AFTER is not JSON: {exc}") from None
    if not isinstance(data, list) or not all(
            isinstance(d, dict) and isinstance(d.get("window"), str) and isinstance(d.get("state"), str)
            and d.get("kind") in ("port", "http", "log", "command", "database", "running") for d in data):
        raise UsageError("DEVENV_AFTER must be a list of {window, state, kind, target, timeout, interval}")
    return data


def after_watches(spec: Sequence[Mapping[str, object]], env: Mapping[str, str]) -> list[Watch]:
    from devenv.secrets import Masker, secret_values

    mask = Masker(secret_values(env))
    watches = []
    for item in spec:
        prefix = Path(str(item["state"]))
        kind = str(item["kind"])
        probe = None if kind == "running" else Probe(kind, str(item.get("target", "")))  # type: ignore[arg-type]
        logs = [LogWatch.for_run(Path(f"{prefix}.log"), prefix)] if kind == "log" else []
        cwd = str(item["root"]) if item.get("root") else None
        watches.append(Watch(str(item["window"]), probe, (prefix,), env, cwd, float(item.get("timeout", 60)),  # type: ignore[arg-type]
                             float(item.get("interval", 0.5)), describe(probe, mask), logs))  # type: ignore[arg-type]
    return watches


def await_after(text: str, out: IO[str], env: Mapping[str, str] | None = None) -> int:
    """Wait for the dependencies in ``text`` (``$DEVENV_AFTER``); print progress to ``out``.

    0: all ready; 1: one is not ready in time or failed; 128+N on signal N.
    A dependency whose runner reports ``failed`` after we started waiting
    fails the wait at once; an older status may be the previous run's.
    """
    env = dict(os.environ if env is None else env)
    try:
        watches = after_watches(parse_after(text), env)
    except UsageError as exc:
        print(f"{OWN_LINE}error: {exc.message}", file=out, flush=True)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _raise_stop)
    started_wall, started = time.time(), time.monotonic()
    last_note = {w.name: started for w in watches}

    def say(line: str) -> None:
        print(f"{OWN_LINE}{line}", file=out, flush=True)

    def crashes() -> dict[str, str]:
        found = {}
        for w in watches:
            status = read_status(w.states[0])
            if status.word == "failed" and status.mtime >= started_wall:
                found[w.name] = f"{w.name} failed ({status.rest})"
        return found

    def changed(w: Watch) -> None:
        if w.state == "ready":
            say(f"{w.name} is ready ({w.done_at - started:.1f}s)")  # type: ignore[operator]
        elif w.state == "failed":
            say(f"{w.detail}; not starting")
        elif w.state == "timeout":
            say(f"{w.name} {w.detail}; not starting")

    def tick() -> None:
        now = time.monotonic()
        for w in watches:
            if not w.final and now - last_note[w.name] >= 10:
                last_note[w.name] = now
                say(f"still waiting for {w.name} ({now - started:.0f}s): {w.doing}")

    try:
        for w in watches:
            say(f"waiting for {w.name}: {w.label} ...")
        ok = run(watches, deadline=None, limit=None, crashes=crashes, changed=changed, tick=tick, tick_every=1.0)
    except _Stop as stop:
        return 128 + stop.signum
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
    return 0 if ok else 1


# --------------------------------------------------------------------------- up --wait, devenv wait


def window_watches(opts: Options, resolved: Resolved, names: Sequence[str] | None) -> list[Watch]:
    from devenv import state

    profile = resolved.profile
    if names is None:
        windows = [w for w in profile.windows if w.ready is not None]
    else:
        unknown = [n for n in names if profile.window(n) is None]
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], [w.name for w in profile.windows], n=1)
            raise UsageError(f"no window {unknown[0]!r} in profile {profile.name!r}"
                             + (f" (did you mean {close[0]!r}?)" if close else ""))
        windows = [profile.window(n) for n in dict.fromkeys(names)]  # type: ignore[misc]
    folder = state.session_dir(opts.socket, profile.session)
    watches = []
    for w in windows:
        # panes with a command run the runner (db: and logs: windows run devenv's own command)
        runner_panes = [i for i, p in enumerate(w.pane_specs())
                        if p.command is not None or w.db is not None or w.logs]
        prefixes = tuple(folder / state.pane_stem(w.name, i) for i in runner_panes)
        logs = ([LogWatch.for_run(Path(f"{p}.log"), p) for p in prefixes]
                if w.ready is not None and w.ready.kind == "log" else [])
        probe = w.ready
        watches.append(Watch(w.name, probe, prefixes, resolved.window_env(w.name), resolved.root,
                             probe.timeout if probe else 60.0, probe.interval if probe else 0.2,
                             describe(probe, resolved.mask), logs))
    return watches


def _crash_checker(opts: Options, session: str, watches: Sequence[Watch]) -> Callable[[], Mapping[str, str]]:
    """Windows whose panes died with a failure (one tmux round-trip, at most every 0.5 s)."""
    from devenv import state

    folder = state.session_dir(opts.socket, session)
    cache: dict[str, object] = {"at": -1.0, "found": {}}

    def check() -> Mapping[str, str]:
        now = time.monotonic()
        if now - cache["at"] < 0.5:  # type: ignore[operator]
            return cache["found"]  # type: ignore[return-value]
        live = opts.tmux.session(session)
        found: dict[str, str] = {}
        panes = live.windows() if live is not None else {}
        for w in watches:
            if live is None:
                found[w.name] = "the session ended"
            elif w.name not in panes:
                found[w.name] = "the window is gone"
            else:
                for i, pane in enumerate(panes[w.name]):
                    status = read_status(folder / state.pane_stem(w.name, i))
                    if pane.dead and (status.word == "failed" or (pane.dead_status or 0) != 0
                                      or (status.word == "exited" and status.rest != "0")):
                        code = pane.dead_status
                        found[w.name] = f"failed ({status.rest})" if status.word == "failed" else (
                            f"exited {status.rest if status.word == 'exited' else code}")
                        break
        cache.update(at=now, found=found)
        return found

    return check


class Progress:
    """Live lines per window on a terminal; plain lines for final states otherwise."""

    def __init__(self, watches: Sequence[Watch], stream: IO[str], started: float) -> None:
        self.watches = watches
        self.stream = stream
        self.started = started
        self.tty = stream.isatty()
        self.drawn = 0
        self.width = max(len(w.name) for w in watches)

    def line(self, w: Watch) -> str:
        now = w.done_at if w.done_at is not None else time.monotonic()
        took = f"{now - self.started:.1f}s"
        if w.state == "ready":
            return f"{w.name}: ready ({took})"
        if w.state in ("failed", "timeout"):
            return f"{w.name}: {w.detail}"
        if w.state == "waiting":
            return f"{w.name}: {w.detail} ({took})"
        return f"{w.name}: {w.state if w.state == 'starting' else 'waiting'} ({took}) {w.doing}"

    def changed(self, w: Watch) -> None:
        if not self.tty and w.final:
            self.stream.write(self.line(w) + "\n")
            self.stream.flush()

    def draw(self) -> None:
        if not self.tty:
            return
        import shutil

        cols = shutil.get_terminal_size((100, 20)).columns
        text = f"\x1b[{self.drawn}F" if self.drawn else ""
        for w in self.watches:
            text += "\r\x1b[2K" + self.line(w)[: max(cols - 1, 20)] + "\n"
        self.drawn = len(self.watches)
        self.stream.write(text)
        self.stream.flush()


def last_output(opts: Options, resolved: Resolved, window: str, lines: int = 5) -> list[str]:
    """The last lines ``window`` printed (its pane logs, else the pane's screen), masked."""
    from devenv import state
    from devenv.logs import clean_line

    found: list[str] = []
    for path in state.window_logs(opts.socket, resolved.profile.session, window):
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 16384))
                raw = fh.read()
        except OSError:
            continue
        found += [clean_line(x.decode("utf-8", "replace")).rstrip() for x in raw.split(b"\n")]
    if not any(x.strip() for x in found):
        proc = opts.tmux.run("capture-pane", "-p", "-t", f"={resolved.profile.session}:={window}", check=False)
        found = proc.stdout.splitlines() if proc.returncode == 0 else []
    return [resolved.mask(x) for x in found if x.strip()][-lines:]


def wait_for_windows(opts: Options, resolved: Resolved, names: Sequence[str] | None,
                     timeout: float | None) -> bool:
    """Block until the windows ``names`` (None: every window with a probe) are ready.

    ``timeout``: overall limit in seconds; None: each probe's own timeout, counted
    from when its window stops waiting for its dependencies. Prints progress;
    returns False (after naming each window not ready, with its last output)
    when one fails or times out. A window whose pane died with a failure is
    not ready at once. Raises DevenvError when the session is not running.
    """
    import click

    session = resolved.profile.session
    watches = window_watches(opts, resolved, names)
    if not opts.tmux.has_session(session):
        raise DevenvError(f"session {session!r} is not running" + (f" on socket {opts.socket!r}" if opts.socket else ""),
                          hint="start it with: devenv up")
    if not watches:
        return True
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    if deadline is not None:
        for w in watches:
            w.timeout, w.deadline = None, deadline
    progress = Progress(watches, click.get_text_stream("stdout"), started)
    ok = run(watches, deadline=deadline, limit=timeout, crashes=_crash_checker(opts, session, watches),
             changed=progress.changed, tick=progress.draw, tick_every=0.2 if progress.tty else 0.5)
    if ok:
        return True
    bad = [w for w in watches if w.state != "ready"]
    for w in bad:
        click.echo(f"{w.name}: {w.detail}", err=True)
        output = last_output(opts, resolved, w.name)
        if output:
            click.echo(f"  last output of {w.name}:", err=True)
            for text in output:
                click.echo(f"  | {text}", err=True)
    click.echo(f"error: not ready: {', '.join(w.name for w in bad)}", err=True)
    return False

