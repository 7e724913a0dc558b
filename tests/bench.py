#!/usr/bin/env python3
"""Benchmark: devenv against tmuxp, tmuxinator and one hand-written tmux invocation.

Not a test (pytest does not collect it): run ``make bench`` or ``python tests/bench.py``.
Times whole processes, alternating the contenders run by run, each run on a
fresh private tmux server (``tmux -L bench-<random>``) killed afterwards.
Prints medians and ratios as a markdown table, and which budgets hold.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LONG = "sleep 100000"
# set by setup(): the benchmark's own virtualenv, with devenv installed as users install it
# (a regular, non-editable `pip install`, byte-compiled) and tmuxp beside it
PY = sys.executable
DEVENV: list[str] = []


def setup(venv: Path) -> None:
    """Create (or refresh) the benchmark's virtualenv: devenv from this tree, and tmuxp."""
    global PY, DEVENV
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(pip + ["tmuxp"], check=True)
    subprocess.run(pip + ["--force-reinstall", "--no-deps", str(REPO)], check=True)
    subprocess.run(pip + [str(REPO)], check=True)  # its dependencies, when missing
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import devenv, os; print(os.path.dirname(devenv.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", site], check=True, capture_output=True)
    PY = str(venv / "bin" / "python")
    DEVENV = [str(venv / "bin" / "devenv")]


def sock() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


def kill(socket: str) -> None:
    """Kill the run's tmux server, and wait until its processes are gone: the next run starts on a quiet machine."""
    import psutil

    out = subprocess.run(["tmux", "-L", socket, "display-message", "-p", "#{pid}"], capture_output=True, text=True)
    procs: list[psutil.Process] = []
    if out.stdout.strip().isdigit():
        with contextlib.suppress(psutil.Error):
            server = psutil.Process(int(out.stdout))
            procs = [server, *server.children(recursive=True)]
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [p for p in procs if _running(p)]
        if not alive:
            break
        time.sleep(0.01)  # noqa: TID251 - benchmark harness, between measurements
    else:
        for p in procs:  # processes of this run only, by pid
            with contextlib.suppress(psutil.Error):
                p.kill()
    with contextlib.suppress(OSError):
        (Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.geteuid()}" / socket).unlink()


def _running(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(argv)}\n{proc.stdout}{proc.stderr}")
    return elapsed


def wait_windows(socket: str, session: str, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["tmux", "-L", socket, "list-windows", "-t", f"={session}", "-F", "x"],
                             capture_output=True, text=True).stdout
        if out.count("x") >= count:
            return
        time.sleep(0.02)  # noqa: TID251 - benchmark harness, between measurements
    raise SystemExit(f"session {session} did not reach {count} windows")


# --------------------------------------------------------------------------- contenders


class Workspace:
    """One layout (N windows of P panes) written for every contender."""

    def __init__(self, root: Path, windows: int, panes: int = 1) -> None:
        self.windows, self.panes = windows, panes
        self.dir = root / f"w{windows}x{panes}"
        (self.dir / ".devenv").mkdir(parents=True, exist_ok=True)
        names = [f"w{i}" for i in range(windows)]
        # devenv
        lines = ["session: bench", "windows:"]
        for n in names:
            if panes == 1:
                lines += [f"  - name: {n}", f"    command: {LONG}"]
            else:
                lines += [f"  - name: {n}", "    layout: tiled", "    panes:"] + [f"      - {LONG}"] * panes
        (self.dir / ".devenv" / "default.yaml").write_text("\n".join(lines) + "\n")
        # tmuxp
        tmuxp = {"session_name": "bench", "start_directory": str(self.dir), "windows": [
            {"window_name": n, **({"layout": "tiled"} if panes > 1 else {}),
             "panes": [{"shell_command": [LONG]} for _ in range(panes)]} for n in names]}
        (self.dir / "tmuxp.json").write_text(json.dumps(tmuxp))
        # tmuxinator (socket filled in per run)
        self.tmuxinator_dir = self.dir / "tmuxinator"
        self.tmuxinator_dir.mkdir(exist_ok=True)

    def devenv(self, socket: str) -> list[str]:
        return [*DEVENV, "-C", str(self.dir), "-L", socket, "up", "-d"]

    def tmuxp(self, socket: str) -> list[str]:
        return [str(Path(PY).parent / "tmuxp"), "load", "-d", "-y", "-L", socket, str(self.dir / "tmuxp.json")]

    def tmuxinator(self, socket: str) -> tuple[list[str], dict[str, str]]:
        wins = []
        for i in range(self.windows):
            if self.panes == 1:
                wins.append(f"  - w{i}: {LONG}")
            else:
                wins.append(f"  - w{i}:\n      layout: tiled\n      panes:\n" + f"        - {LONG}\n" * self.panes)
        text = f"name: bench\nroot: {self.dir}\nsocket_name: {socket}\nattach: false\nwindows:\n" + "\n".join(wins)
        (self.tmuxinator_dir / "bench.yml").write_text(text + "\n")
        env = {**os.environ, "TMUXINATOR_CONFIG": str(self.tmuxinator_dir)}
        return ["tmuxinator", "start", "bench"], env

    def raw(self, socket: str) -> list[str]:
        """The floor: the whole session in one hand-written tmux invocation."""
        argv = ["tmux", "-L", socket, "new-session", "-d", "-s", "bench", "-x", "200", "-y", "50", "-n", "w0",
                "-c", str(self.dir), LONG]
        for _ in range(self.panes - 1):
            argv += [";", "split-window", "-t", "=bench:=w0", "-c", str(self.dir), LONG]
        if self.panes > 1:
            argv += [";", "select-layout", "-t", "=bench:=w0", "tiled"]
        for i in range(1, self.windows):
            argv += [";", "new-window", "-d", "-t", "=bench:", "-n", f"w{i}", "-c", str(self.dir), LONG]
            for _ in range(self.panes - 1):
                argv += [";", "split-window", "-t", f"=bench:=w{i}", "-c", str(self.dir), LONG]
            if self.panes > 1:
                argv += [";", "select-layout", "-t", f"=bench:=w{i}", "tiled"]
        return argv


def run_cold(ws: Workspace, contenders: dict[str, Callable[[str], float]], repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, run in contenders.items():  # alternate contenders run by run
            socket = sock()
            try:
                times[name].append(run(socket))
                wait_windows(socket, "bench", ws.windows)
            finally:
                kill(socket)
    return times


def cold_contenders(ws: Workspace, have_tmuxp: bool, have_tmuxinator: bool) -> dict[str, Callable[[str], float]]:
    out: dict[str, Callable[[str], float]] = {
        "tmux (one invocation)": lambda s: timed(ws.raw(s)),
        "devenv": lambda s: timed(ws.devenv(s)),
    }
    if have_tmuxp:
        out["tmuxp"] = lambda s: timed(ws.tmuxp(s))
    if have_tmuxinator:
        def tmuxinator(s: str) -> float:
            argv, env = ws.tmuxinator(s)
            return timed(argv, env=env)
        out["tmuxinator"] = tmuxinator
    return out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


# --------------------------------------------------------------------------- other scenarios


def run_warm(ws: Workspace, have_tmuxp: bool, repeat: int) -> dict[str, list[float]]:
    """`up -d` on a session already complete, against tmuxp's "already exists" path."""
    socket = sock()
    times: dict[str, list[float]] = {"devenv": [], "tmuxp": []}
    try:
        timed(ws.devenv(socket))
        wait_windows(socket, "bench", ws.windows)
        for _ in range(repeat):
            times["devenv"].append(timed(ws.devenv(socket)))
            if have_tmuxp:
                times["tmuxp"].append(timed(ws.tmuxp(socket)))
    finally:
        kill(socket)
    return times


def run_version(repeat: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"devenv --version": [], "python -c 'import click'": []}
    for _ in range(repeat):
        times["devenv --version"].append(timed([*DEVENV, "--version"]))
        times["python -c 'import click'"].append(timed([PY, "-c", "import click"]))
    return times


def run_down(root: Path, repeat: int) -> list[float]:
    """`down` of 10 windows whose processes stop on SIGINT."""
    ws = Workspace(root, 10)
    out = []
    for _ in range(repeat):
        socket = sock()
        try:
            timed(ws.devenv(socket))
            wait_windows(socket, "bench", 10)
            out.append(timed([*DEVENV, "-C", str(ws.dir), "-L", socket, "down"]))
        finally:
            kill(socket)
    return out


def run_doctor(root: Path, repeat: int) -> list[float]:
    """`doctor` on a profile with 10 checks."""
    d = root / "doctor"
    (d / ".devenv").mkdir(parents=True, exist_ok=True)
    (d / "node_modules").mkdir(exist_ok=True)
    (d / ".env").write_text("DATABASE_URL=sqlite:///dev.db\nDIRECT_URL=sqlite:///dev.db\n")
    (d / ".devenv" / "default.yaml").write_text("""\
requires:
  commands: ["python3>=3.8", sh, tmux]
  env: [DATABASE_URL, DIRECT_URL]
  ports: [59871, 59872]
  files: [node_modules]
  database: DATABASE_URL
  checks: [{name: "always true", run: "true"}]
windows: [{name: a, command: sleep 1}]
""")
    return [timed([*DEVENV, "-C", str(d), "doctor"]) for _ in range(repeat)]


def run_helpers(root: Path) -> list[tuple[str, float, float]]:
    """Idle CPU % and RSS of devenv's resident helpers, measured over 3 s each (ps --watch: 10 s)."""
    d = root / "helpers"
    (d / ".devenv").mkdir(parents=True, exist_ok=True)
    (d / "logs").mkdir(exist_ok=True)
    (d / "logs" / "a.log").write_text("x\n")
    (d / ".devenv" / "default.yaml").write_text("windows: [{name: a, command: sleep 1}]\n")
    import sqlite3

    sqlite3.connect(d / "dev.db").execute("create table if not exists t (x)").connection.commit()
    env = {**os.environ, "DEVENV_AFTER": json.dumps([{"window": "api", "state": str(d / "nostate"),
                                                      "kind": "port", "target": "1", "timeout": 60,
                                                      "interval": 0.5}])}
    watched = root / "watched"  # ps --watch over a running 10-window session, at its default interval
    (watched / ".devenv").mkdir(parents=True, exist_ok=True)
    (watched / ".devenv" / "default.yaml").write_text(
        "windows:\n" + "".join(f"  - {{name: w{i}, command: exec {LONG}}}\n" for i in range(10)))
    socket = sock()
    subprocess.run([*DEVENV, "-C", str(watched), "-L", socket, "up", "-d", "--no-check"], check=True,
                   capture_output=True)
    helpers = {
        "log follower (logs -f)": ([*DEVENV, "-C", str(d), "logs", "-f", "--", "logs/*.log"], None),
        "waiter (_await)": ([*DEVENV, "_await"], env),
        "db top (SQLite)": ([*DEVENV, "-C", str(d), "db", "top", "--url", f"sqlite:///{d / 'dev.db'}"], None),
        "ps --watch (10 windows, every 2 s)": ([*DEVENV, "-C", str(watched), "-L", socket, "ps", "--watch"], None),
    }
    try:
        return _measure(helpers)
    finally:
        kill(socket)


def _measure(helpers: dict[str, tuple[list[str], dict[str, str] | None]]) -> list[tuple[str, float, float]]:
    import psutil

    results = []
    for name, (argv, env_) in helpers.items():
        proc = subprocess.Popen(argv, env=env_, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        try:
            p = psutil.Process(proc.pid)
            time.sleep(1.5)  # noqa: TID251 - let it settle into idle before measuring
            if proc.poll() is not None:
                results.append((name, float("nan"), float("nan")))
                continue
            p.cpu_percent(None)
            time.sleep(10 if "--watch" in argv else 3)  # noqa: TID251 - the measurement window (5 frames of ps)
            cpu = p.cpu_percent(None)
            rss = p.memory_info().rss / 2**20
            results.append((name, cpu, rss))
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                proc.kill()
    return results


def run_watcher(root: Path, repeat: int) -> list[str]:
    """The session's watcher (issue 15): idle CPU and RSS over 3 s with four watched windows and a watched
    task in a project holding a 2,000-folder node_modules (never walked), then the time from a save to the
    watched window's new process. Prints its own table; returns its budget lines."""
    import psutil

    d = root / "watcher"
    (d / ".devenv").mkdir(parents=True, exist_ok=True)
    for i in range(2000):
        (d / "node_modules" / f"pkg{i // 50}" / f"m{i}").mkdir(parents=True, exist_ok=True)
    for folder in ("src/a", "src/b", "prisma"):
        (d / folder).mkdir(parents=True, exist_ok=True)
    (d / "prisma" / "schema.prisma").write_text("model A {}\n")
    (d / ".devenv" / "default.yaml").write_text(
        "session: benchwatch\ntasks:\n  - {name: gen, command: 'true', watch: [prisma/schema.prisma]}\nwindows:\n"
        + "".join(f"  - {{name: w{i}, command: 'echo $$ >> w{i}.starts; exec {LONG}', watch: ['src/**/*.js']"
                  f"{', after: [gen]' if i == 0 else ''}}}\n" for i in range(4))
        + "  - {name: fast, command: 'echo $$ >> fast.starts; exec " + LONG + "', watch: ['*.js'], watch_debounce: 0}\n")

    def poll(predicate: Callable[[], object], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the watcher did not answer")
            time.sleep(0.005)  # noqa: TID251 - polling a condition in the benchmark (not a test)

    socket = sock()
    record = Path(os.environ["XDG_STATE_HOME"]) / "devenv" / socket / "benchwatch" / "watcher.pid"
    starts = d / "fast.starts"
    try:
        subprocess.run([*DEVENV, "-C", str(d), "-L", socket, "up", "-d", "--no-check"], check=True, capture_output=True)
        poll(record.exists)
        poll(lambda: starts.exists() and starts.read_text().count("\n") == 1)
        proc = psutil.Process(int(record.read_text().split()[0]))
        time.sleep(1.5)  # noqa: TID251 - let it settle into idle before measuring
        proc.cpu_percent(None)
        time.sleep(3)  # noqa: TID251 - the measurement window
        cpu, rss = proc.cpu_percent(None), proc.memory_info().rss / 2**20
        latencies = []
        for i in range(repeat):
            count = starts.read_text().count("\n")
            began = time.perf_counter()
            (d / "x.js").write_text(f"{i}\n")
            poll(lambda count=count: starts.read_text().count("\n") > count)
            latencies.append(time.perf_counter() - began)
    finally:
        subprocess.run([*DEVENV, "-C", str(d), "-L", socket, "down"], capture_output=True)
        kill(socket)
    restart = median(latencies)
    print("\n## The watcher (watch: restarts)\n")
    print("| watcher, idle (5 watched, 2,000 node_modules folders) | CPU | RSS | save to new process (debounce 0) |")
    print("|---|---|---|---|")
    print(f"| one per session | {cpu:.1f} % | {rss:.0f} MB | {ms(restart)} |")
    return [f"watcher idle < 1 % CPU and < 40 MB: {cpu:.1f} %, {rss:.0f} MB "
            f"{'holds' if cpu < 1.0 and rss < 40 else 'MISSED'}",
            f"watched file saved to its window's new process <= 1 s: {ms(restart)} "
            f"{'holds' if restart <= 1.0 else 'MISSED'}"]


# --------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-r", "--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="only the cold 10-window comparison")
    parser.add_argument("--venv", type=Path, default=REPO / ".bench-venv",
                        help="the benchmark's virtualenv (created when missing; default .bench-venv)")
    args = parser.parse_args()
    setup(args.venv)

    have_tmuxp = subprocess.run([PY, "-c", "import tmuxp"], capture_output=True).returncode == 0
    have_tmuxinator = shutil.which("tmuxinator") is not None
    versions = [subprocess.run(["tmux", "-V"], capture_output=True, text=True).stdout.strip()]
    if have_tmuxp:
        versions.append("tmuxp " + subprocess.run([PY, "-c", "import tmuxp; print(tmuxp.__version__)"],
                                                  capture_output=True, text=True).stdout.strip())
    if have_tmuxinator:
        versions.append(subprocess.run(["tmuxinator", "version"], capture_output=True, text=True).stdout.strip())
    print(f"# devenv benchmark ({', '.join(versions)}; {os.cpu_count()} cores; median of {args.repeat} runs)\n")

    verdicts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="devenv-bench-") as tmp:
        root = Path(tmp)
        os.environ["XDG_STATE_HOME"] = str(root / "state")
        sizes = [(10, 1)] if args.quick else [(1, 1), (10, 1), (30, 1), (10, 3)]
        print("## Cold `up -d` (whole process, fresh tmux server)\n")
        header = ["layout", "tmux (one invocation)", "devenv", "tmuxp", "tmuxinator", "devenv / tmuxp",
                  "devenv / tmuxinator", "devenv - tmux"]
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        med: dict[tuple[int, int], dict[str, float]] = {}
        for windows, panes in sizes:
            ws = Workspace(root, windows, panes)
            times = run_cold(ws, cold_contenders(ws, have_tmuxp, have_tmuxinator), args.repeat)
            m = {k: median(v) for k, v in times.items()}
            med[(windows, panes)] = m
            raw, dv = m["tmux (one invocation)"], m["devenv"]
            tp, tn = m.get("tmuxp", float("nan")), m.get("tmuxinator", float("nan"))
            label = f"{windows} windows" + (f" x {panes} panes" if panes > 1 else "")
            print(f"| {label} | {ms(raw)} | {ms(dv)} | {ms(tp) if have_tmuxp else 'n/a'} | "
                  f"{ms(tn) if have_tmuxinator else 'n/a'} | {dv / tp:.2f}x | "
                  f"{(f'{dv / tn:.2f}x') if have_tmuxinator else 'n/a'} | {ms(dv - raw)} |")
            if panes == 1 and have_tmuxp and windows in (10, 30):
                budget = 0.3 if windows == 10 else 0.2
                verdicts.append(f"cold up at {windows} windows <= {budget}x tmuxp: {dv / tp:.2f}x "
                                f"{'holds' if dv / tp <= budget else 'MISSED'}")
            if have_tmuxinator:
                verdicts.append(f"cold up at {label} faster than tmuxinator: {dv / tn:.2f}x "
                                f"{'holds' if dv < tn else 'MISSED'}")
            verdicts.append(f"devenv overhead over one tmux invocation at {label} <= 150 ms: {ms(dv - raw)} "
                            f"{'holds' if dv - raw <= 0.150 else 'MISSED'}")
        if (1, 1) in med and (30, 1) in med:
            d_dv = med[(30, 1)]["devenv"] - med[(1, 1)]["devenv"]
            d_raw = med[(30, 1)]["tmux (one invocation)"] - med[(1, 1)]["tmux (one invocation)"]
            ratio = d_dv / d_raw if d_raw > 0 else float("nan")
            print(f"\nCost of 29 more windows: devenv {ms(d_dv)}, tmux {ms(d_raw)}: {ratio:.2f}x")
            verdicts.append(f"extra cost of 29 windows <= 1.3x raw tmux: {ratio:.2f}x "
                            f"{'holds' if ratio <= 1.3 else 'MISSED'}")
        if args.quick:
            _print_verdicts(verdicts)
            return

        warm = run_warm(Workspace(root, 10), have_tmuxp, args.repeat)
        version = run_version(args.repeat)
        down = run_down(root, max(3, args.repeat // 2))
        doctor = run_doctor(root, args.repeat)
        print("\n## Other paths\n")
        print("| scenario | devenv | peer | ratio |")
        print("|---|---|---|---|")
        if have_tmuxp:
            r = median(warm["devenv"]) / median(warm["tmuxp"])
            print(f"| `up -d` on a complete 10-window session | {ms(median(warm['devenv']))} | "
                  f"tmuxp already-exists path {ms(median(warm['tmuxp']))} | {r:.2f}x |")
            verdicts.append(f"up -d on a complete session <= 0.5x tmuxp: {r:.2f}x {'holds' if r <= 0.5 else 'MISSED'}")
        dv_version = median(version["devenv --version"])
        click_import = median(version["python -c 'import click'"])
        rv = dv_version / click_import
        print(f"| `devenv --version` | {ms(dv_version)} | `python -c 'import click'` {ms(click_import)} | {rv:.2f}x |")
        verdicts.append(f"devenv --version <= 1.5x python -c 'import click': {rv:.2f}x {'holds' if rv <= 1.5 else 'MISSED'}")
        print(f"| `down` of 10 windows stopping on SIGINT | {ms(median(down))} | | |")
        print(f"| `doctor` with 10 checks | {ms(median(doctor))} | | |")
        print("\n## Resident helpers, idle (3 s)\n")
        print("| helper | CPU | RSS |")
        print("|---|---|---|")
        for name, cpu, rss in run_helpers(root):
            print(f"| {name} | {cpu:.1f} % | {rss:.0f} MB |")
            ok = cpu < 1.0 and rss < 40
            verdicts.append(f"{name} idle < 1 % CPU and < 40 MB: {cpu:.1f} %, {rss:.0f} MB {'holds' if ok else 'MISSED'}")
        verdicts += run_watcher(root, args.repeat)
    _print_verdicts(verdicts)


def _print_verdicts(verdicts: list[str]) -> None:
    print("\n## Budgets\n")
    for line in verdicts:
        print(f"- {line}")


if __name__ == "__main__":
    main()
