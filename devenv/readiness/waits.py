"""Waiting until windows are ready: polling probes at their intervals, with deadlines.

Two waits share one loop (:func:`run` over :class:`Watch` records):

* :func:`await_after` runs inside a window with ``after:`` (``devenv _await``, everything read
  from ``$DEVENV_AFTER``: no profile is loaded) before the window's command starts;
* :func:`wait_for_windows` serves ``up --wait`` and ``devenv wait``; it raises
  :class:`~devenv.errors.Timeout` naming each window that is not ready, with its last output.

Nothing here prints: progress goes to the callbacks the caller passes.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devenv.errors import NoSession, Timeout, UsageError
from devenv.logs import clean_line
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Probe
from devenv.profile.validate import close_matches
from devenv.readiness.probes import LogWatch, attempt, describe
from devenv.secrets import Masker, secret_values
from devenv.session.records import TASK_SUCCESS, ran, read_status, write_text
from devenv.session.tmux import Tmux
from devenv.wait import Stopped, sleep, stopped_by

FINAL = ("ready", "failed", "timeout")
FIRST_PAUSE = 0.05  # seconds between the first attempts of a probe (then longer, up to its interval)


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
    next_at: float = 0.0  # when the next attempt is due (monotonic)
    since: float | None = None  # when it entered its current state (the attempts' schedule counts from it)
    task: bool = False  # a task: ready once it is done (or skipped), failed at once when it failed

    def step(self, now: float, crashed: str | None = None) -> bool:
        """Advance (read the runner's records, try the probe) when an attempt is due; True when the
        state changed."""
        if self.state in FINAL:
            return False
        before = (self.state, self.detail)
        if crashed:
            self._finish("failed", crashed, now)
            return True
        if now < self.next_at:
            return self._timed_out()
        statuses = [read_status(p) for p in self.states]
        if self.task and statuses:
            word, rest = statuses[0].word, statuses[0].rest
            if word in TASK_SUCCESS:
                self._finish("ready", word or "", time.monotonic())
                return True
            if word == "failed":
                self._finish("failed", f"dependency {self.name} failed ({rest})", time.monotonic())
                return True
            self.state, self.detail = ("waiting", "waiting for its dependencies") if word == "waiting" else (
                "starting", "running" if word == "running" else "not started yet")
            self._schedule(now, before[0])
            return before != (self.state, self.detail)
        if statuses and statuses[0].word == "waiting":
            self.state, self.detail, self.clock = "waiting", "waiting for its dependencies", None
            self._schedule(now, before[0])
            return before != (self.state, self.detail)
        if self.clock is None:
            self.clock = now
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
        self._schedule(now, before[0])
        return self._timed_out() or before != (self.state, self.detail)

    def _schedule(self, now: float, was: str) -> None:
        """The next attempt: 50 ms away at first, then further apart as the wait in this state goes on
        (a tenth of it), up to the probe's ``interval``. A dependency ready soon is seen soon; one that
        takes minutes costs no more attempts than the interval allows. A new state (its own dependency
        is ready: it starts) starts the schedule again."""
        if self.since is None or was != self.state:
            self.since = now
        self.next_at = now + min(self.interval, max(FIRST_PAUSE, (now - self.since) / 10))

    def _timed_out(self) -> bool:
        if self.timeout is not None and self.clock is not None and time.monotonic() - self.clock >= self.timeout:
            self.expire(self.timeout)
            return True
        return False

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
        sleep(max(0.01, wake - time.monotonic()))


def parse_after(text: str) -> list[dict[str, object]]:
    """``$DEVENV_AFTER`` as a list of dependency specs; UsageError when malformed."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"DEVENV_AFTER is not JSON: {exc}") from None
    if not isinstance(data, list) or not all(
            isinstance(d, dict) and isinstance(d.get("window"), str) and isinstance(d.get("state"), str)
            and d.get("kind") in ("port", "http", "log", "command", "database", "running", "task") for d in data):
        raise UsageError("DEVENV_AFTER must be a list of {window, state, kind, target, timeout, interval}")
    return data


def after_watches(spec: Sequence[Mapping[str, object]], env: Mapping[str, str]) -> list[Watch]:
    """The watches of a window's ``after:`` dependencies, from ``$DEVENV_AFTER``."""
    mask = Masker(secret_values(env))
    watches = []
    for item in spec:
        prefix = Path(str(item["state"]))
        kind = str(item["kind"])
        probe = None if kind in ("running", "task") else Probe(kind, str(item.get("target", "")))  # type: ignore[arg-type]
        logs = [LogWatch.for_run(Path(f"{prefix}.log"), prefix)] if kind == "log" else []
        cwd = str(item["root"]) if item.get("root") else None
        task = kind == "task"
        label = "its success" if task else describe(probe, mask)
        timeout = None if task else float(item.get("timeout", 60))  # type: ignore[arg-type]
        watches.append(Watch(str(item["window"]), probe, (prefix,), env, cwd, timeout,
                             float(item.get("interval", 0.5)), label, logs, task=task))  # type: ignore[arg-type]
    return watches


COARSE_CLOCK = 0.02  # s: a kernel tick at HZ=100 is 10 ms


def await_after(text: str, say: Callable[[str], None], env: Mapping[str, str] | None = None) -> int:
    """Wait for the dependencies in ``text`` (``$DEVENV_AFTER``); tell progress to ``say``.

    0: all ready; 1: one is not ready in time or failed; 2: ``text`` is malformed; 128+N on signal N.
    A dependency whose runner reports ``failed`` after we started waiting
    fails the wait at once; an older status may be the previous run's.
    """
    env = dict(os.environ if env is None else env)
    try:
        watches = after_watches(parse_after(text), env)
    except UsageError as exc:
        say(f"error: {exc.message}")
        return 2
    # file times come from the kernel's coarse clock (a tick behind time.time() at most): a status
    # written just after this moment may carry an earlier time
    started_wall, started = time.time() - COARSE_CLOCK, time.monotonic()
    last_note = {w.name: started for w in watches}

    def crashes() -> dict[str, str]:
        found = {}
        for w in watches:
            if w.task:  # a task's own record says (a failure before we started waiting counts too)
                continue
            status = read_status(w.states[0])
            if status.word == "failed" and status.mtime >= started_wall:
                found[w.name] = f"{w.name} failed ({status.rest})"
        return found

    def changed(w: Watch) -> None:
        if w.state == "ready":
            say(f"{w.name} is {'done' if w.task else 'ready'} ({w.done_at - started:.1f}s)")  # type: ignore[operator]
        elif w.state == "failed":
            say(f"{w.detail}; not starting")
            _why(env, w.detail)
        elif w.state == "timeout":
            say(f"{w.name} {w.detail}; not starting")
            _why(env, f"dependency {w.name} {w.detail}")

    def tick() -> None:
        now = time.monotonic()
        for w in watches:
            if not w.final and now - last_note[w.name] >= 10:
                last_note[w.name] = now
                say(f"still waiting for {w.name} ({now - started:.0f}s): {w.doing}")

    try:
        with stopped_by(signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            for w in watches:
                say(f"waiting for {w.name}: {w.label} ...")
            ok = run(watches, deadline=None, limit=None, crashes=crashes, changed=changed, tick=tick,
                     tick_every=1.0)
    except Stopped as stop:
        return 128 + stop.signum
    return 0 if ok else 1


def _why(env: Mapping[str, str], text: str) -> None:
    """Leave the reason a window does not start for its runner, which records it as its status."""
    state = env.get("DEVENV_STATE")
    if state:
        try:
            write_text(Path(f"{state}.why"), text)
        except OSError:
            pass


# --------------------------------------------------------------------------- up --wait, devenv wait


def window_watches(resolved: Resolved, paths: SessionPaths, names: Sequence[str] | None) -> list[Watch]:
    """What ``wait`` waits for: the windows ``names`` (None: every window with a probe)."""
    profile = resolved.profile
    if names is None:  # every window with a probe, and every task (a failed one is what stops the others)
        windows = [w for w in profile.windows if w.ready is not None or w.task]
    else:
        unknown = [n for n in names if profile.window(n) is None]
        if unknown:

            close = close_matches(unknown[0], [w.name for w in profile.windows])
            raise UsageError(f"no window {unknown[0]!r} in profile {profile.name!r}"
                             + (f" (did you mean {close[0]!r}?)" if close else ""))
        windows = [w for w in (profile.window(n) for n in dict.fromkeys(names)) if w is not None]
    watches = []
    for w in windows:
        # panes with a command run the runner (db: and logs: windows run devenv's own command)
        runner_panes = [i for i, p in enumerate(w.pane_specs())
                        if p.command is not None or w.db is not None or w.logs]
        prefixes = tuple(paths.prefix(w.name, i) for i in runner_panes)
        logs = ([LogWatch.for_run(Path(f"{p}.log"), p) for p in prefixes]
                if w.ready is not None and w.ready.kind == "log" else [])
        probe = w.ready
        watches.append(Watch(w.name, probe, prefixes, resolved.window_env(w.name), resolved.root,
                             None if w.task else probe.timeout if probe else 60.0, probe.interval if probe else 0.2,
                             "its success" if w.task else describe(probe, resolved.mask), logs, task=w.task))
    return watches


def crash_checker(tmux: Tmux, paths: SessionPaths, watches: Sequence[Watch]) -> Callable[[], Mapping[str, str]]:
    """Windows whose panes died with a failure (one tmux round-trip, at most every 0.5 s)."""
    last_at = -1.0
    last: dict[str, str] = {}

    def check() -> Mapping[str, str]:
        nonlocal last_at, last
        now = time.monotonic()
        if now - last_at < 0.5:
            return last
        live = tmux.session(paths.session)
        found: dict[str, str] = {}
        panes = live.windows() if live is not None else {}
        for w in watches:
            if w.task:  # a task's window closes when it succeeds: its record says how it went
                continue
            if live is None:
                found[w.name] = "the session ended"
            elif w.name not in panes:
                found[w.name] = "the window is gone"
            else:
                for i, pane in enumerate(panes[w.name]):
                    status = read_status(paths.prefix(w.name, i))
                    if pane.dead and (status.word == "failed" or (pane.dead_status or 0) != 0
                                      or (status.word == "exited" and status.rest != "0")):
                        code = pane.dead_status
                        found[w.name] = f"failed ({status.rest})" if status.word == "failed" else (
                            f"exited {status.rest if status.word == 'exited' else code}")
                        break
        last_at, last = now, found
        return found

    return check


def last_output(resolved: Resolved, tmux: Tmux, paths: SessionPaths, window: str, lines: int = 5) -> list[str]:
    """The last lines ``window`` printed (its pane logs, else the pane's screen), masked."""
    found: list[str] = []
    for path in paths.window_logs(window):
        try:
            with open(path, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 16384))
                raw = fh.read()
        except OSError:
            continue
        found += [clean_line(x.decode("utf-8", "replace")).rstrip() for x in raw.split(b"\n")]
    if not any(x.strip() for x in found):
        live = tmux.session(paths.session)  # by the pane's id: a name is never a target
        panes = live.windows().get(window) if live is not None else None
        found = tmux.capture(panes[0].pane_id) if panes else []
    return [resolved.mask(x) for x in found if x.strip()][-lines:]


def wait_for_windows(resolved: Resolved, tmux: Tmux, names: Sequence[str] | None, timeout: float | None, *,
                     changed: Callable[[Watch], None] = lambda w: None, tick: Callable[[], None] | None = None,
                     tick_every: float = 0.5, watches: list[Watch] | None = None) -> None:
    """Block until the windows ``names`` (None: every window with a probe) are ready.

    ``timeout``: overall limit in seconds; None: each probe's own timeout, counted
    from when its window stops waiting for its own dependencies. A window whose
    pane died with a failure is not ready at once. Raises :class:`NoSession` when
    the session is not running, :class:`Timeout` (naming each window that is not
    ready, with its last output) when one fails or times out. ``watches``: the
    records to poll (from :func:`window_watches`), for a caller that shows them.
    """
    session = resolved.profile.session
    paths = SessionPaths(tmux.name, session)
    if watches is None:
        watches = window_watches(resolved, paths, names)
    if not tmux.has_session(session):
        raise NoSession(session, tmux.name)
    if not watches:
        return
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    if deadline is not None:
        for w in watches:
            w.timeout, w.deadline = None, deadline
    if run(watches, deadline=deadline, limit=timeout, crashes=crash_checker(tmux, paths, watches),
           changed=changed, tick=tick, tick_every=tick_every):
        return
    bad = [w for w in watches if w.state != "ready"]
    raise Timeout("not ready: " + ", ".join(w.name for w in bad),
                  not_ready=[(w.name, w.detail, last_output(resolved, tmux, paths, w.name)) for w in bad])
