"""``ps --watch``: a window of its own in a real session (frames in place, a kill seen in the next
frame, a resize redrawn at once, q restoring the terminal), frames off a terminal, what a frame
costs; the CPU meter and the frame text."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from devenv.cli.render import ps_frame, ps_table
from devenv.cli.screen import ENTER, LEAVE
from devenv.ops.ps import PaneRow
from devenv.paths import SessionPaths
from devenv.session.procs import CpuMeter, Seen, snapshot
from devenv.wait import wait_until
from tests.conftest import Devenv, write_profile

LONG = "exec sleep " + "5 " * 100  # 500 s, and a command line wider than any pane
PROFILE = f"""
session: pw
windows:
  - name: web
    command: exec sleep 1000
  - name: worker
    command: {LONG}
  - name: watch
    command: exec "$DEVENV_PYTHON" -m devenv ps --watch --interval 0.3
  - name: slow
    command: exec "$DEVENV_PYTHON" -m devenv ps --watch --interval 60
"""


def screen(devenv: Devenv, target: str) -> str:
    return devenv.tmux("capture-pane", "-p", "-t", target)


def wait_screen(devenv: Devenv, target: str, check, timeout: float = 20) -> str:
    try:
        return wait_until(lambda: (lambda t: t if check(t) else None)(screen(devenv, target)), timeout)
    except TimeoutError:
        raise AssertionError(f"{target} never matched:\n{screen(devenv, target)}") from None


def row_of(text: str, window: str) -> list[str]:
    return next((line.split() for line in text.splitlines() if line.split()[:1] == [window]), [])


def fmt(devenv: Devenv, target: str, format_: str) -> str:
    return devenv.tmux("display-message", "-p", "-t", target, format_).strip()


def watcher(devenv: Devenv, target: str) -> psutil.Process:
    """The ``ps --watch`` process of a window (the runner's child)."""
    top = psutil.Process(int(fmt(devenv, target, "#{pane_pid}")))
    return wait_until(lambda: next((p for p in top.children(recursive=True) if "--watch" in p.cmdline()), None), 20)


def rows(devenv: Devenv) -> dict[str, dict]:
    return {r["window"]: r for r in json.loads(devenv("ps", "--json").out)}


def test_ps_watch_as_a_window_redraws_in_place_and_quits_on_q(devenv: Devenv, project: Path) -> None:
    write_profile(project, PROFILE)
    assert devenv("up", "-d", "--no-check").code == 0
    watch, slow = "=pw:=watch", "=pw:=slow"
    header = f"devenv ps  pw on -L {devenv.socket}"
    text = wait_screen(devenv, watch, lambda t: header in t and row_of(t, "web")[2:3] == ["running"]
                       and row_of(t, "worker")[2:3] == ["running"] and row_of(t, "watch")[2:3] == ["running"])
    assert text.count(header) == 1 and "q: quit" in text
    assert fmt(devenv, watch, "#{alternate_on} #{cursor_flag} #{history_size}") == "1 0 0"  # in place, no scrolling
    proc = watcher(devenv, watch)
    assert psutil.Process(proc.ppid()).cmdline()[-1].endswith("runner.sh") or "runner.sh" in " ".join(
        psutil.Process(proc.ppid()).cmdline())
    first = screen(devenv, watch).splitlines()[0]
    wait_until(lambda: screen(devenv, watch).splitlines()[0] != first, 10)  # the clock moved: a new frame
    fds = proc.num_fds()

    worker = rows(devenv)["worker"]["pid"]
    os.kill(worker, signal.SIGKILL)  # a window dies: the next frame says so
    text = wait_screen(devenv, watch, lambda t: row_of(t, "worker")[2:5] == ["exited", "-", "137"])
    assert row_of(text, "web")[2] == "running" and text.count(header) == 1
    for _ in range(3):  # frames go on: no descriptor is leaked by them
        first = screen(devenv, watch).splitlines()[0]
        wait_until(lambda first=first: screen(devenv, watch).splitlines()[0] != first, 10)
    assert proc.num_fds() == fds
    assert fmt(devenv, watch, "#{history_size}") == "0"

    # a resize is redrawn at once (the slow window's next frame is a minute away)
    assert row_of(screen(devenv, slow), "worker")[3] == str(worker)  # its one frame so far
    assert devenv("restart", "worker").code == 0
    again = wait_until(lambda: (lambda r: r["state"] == "running" and r["pid"] != worker and r["pid"])(
        rows(devenv)["worker"]), 20)
    devenv.tmux("resize-window", "-t", slow, "-x", "60", "-y", "20")
    narrow = wait_screen(devenv, slow, lambda t: row_of(t, "worker")[3:4] == [str(again)], timeout=15)
    assert narrow.count(header) == 1 and max(len(line) for line in narrow.splitlines()) <= 60
    devenv.tmux("resize-window", "-t", slow, "-x", "250", "-y", "30")
    wide = wait_screen(devenv, slow, lambda t: "sleep " + "5 " * 60 in t, timeout=15)
    assert wide.count(header) == 1

    devenv.tmux("send-keys", "-t", watch, "q")
    wait_until(lambda: rows(devenv)["watch"]["state"] == "exited", 20)
    assert rows(devenv)["watch"]["exit_code"] == 0
    assert fmt(devenv, watch, "#{alternate_on}") == "0"  # the terminal is restored:
    output = SessionPaths(devenv.socket, "pw").log("watch", 0).read_bytes()  # the pane's raw output
    assert output.count(ENTER.encode()) == 1 and output.rstrip(b"\r\n").endswith(LEAVE.encode())
    devenv.tmux("send-keys", "-t", slow, "C-c")
    wait_until(lambda: rows(devenv)["slow"]["state"] == "exited", 20)
    assert rows(devenv)["slow"]["exit_code"] == 0
    assert devenv("down", "--timeout", "5").code == 0


def test_ps_watch_off_a_terminal_prints_frames_and_costs_little(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: pn\nwindows:\n  - {name: a, command: exec sleep 1000}\n"
                           "  - {name: b, command: exec sleep 1001}\n")
    assert devenv("up", "-d", "--no-check").code == 0
    wrong = devenv("ps", "--watch", "--json")
    assert wrong.code == 2 and "--watch and --json" in wrong.err
    proc = subprocess.Popen(devenv.argv("ps", "--watch", "--interval", "0.2"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        me = psutil.Process(proc.pid)
        lines: list[str] = []
        used: list[float] = []

        def frames(n: int) -> bool:
            while sum(line.startswith("devenv ps  pn") for line in lines) < n:
                lines.append(proc.stdout.readline().rstrip("\n"))  # type: ignore[union-attr]
            return True

        frames(3)  # past the start-up (imports, the first sample)
        times = me.cpu_times()
        used.append(times.user + times.system + times.children_user + times.children_system)
        frames(13)
        times = me.cpu_times()
        used.append(times.user + times.system + times.children_user + times.children_system)
        rss = me.memory_info().rss
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    text = "\n".join(lines) + "\n" + out
    assert "\x1b" not in text  # no escapes off a terminal
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert len(blocks) >= 13 and all(b.lstrip("\n").startswith("devenv ps  pn") for b in blocks)
    for block in blocks[:12]:  # (communicate() reads past what readline() had buffered of the 13th)
        assert "WINDOW" in block and row_of(block, "a")[2] == row_of(block, "b")[2] == "running", block
    per_frame = (used[1] - used[0]) / 10
    # < 20 ms of CPU a frame is < 1 % at the default interval (2 s); ~10 ms here
    assert per_frame < 0.02, f"{per_frame * 1000:.1f} ms of CPU a frame"
    assert rss < 40 * 2**20, f"{rss / 2**20:.1f} MB"
    assert devenv("down", "--timeout", "5").code == 0


# --------------------------------------------------------------------------- the meter, the frame (unit)


def cpu_of(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def seen(*pids: int) -> list[Seen]:
    snap = snapshot()
    return [snap.procs[pid] for pid in pids]


TICK = 2 / os.sysconf("SC_CLK_TCK")  # s: a start time and the uptime, a clock tick each


def test_the_cpu_meter_measures_since_start_then_between_readings_without_sleeping() -> None:
    """Its figures lie within what psutil's own readings around them allow, however loaded the machine:
    the first reading each process's average since it started, the next ones since the last reading."""
    spawned = time.time()  # the process starts between these two (psutil's start time is off by up to 1 s)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    running = time.time()
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    idle_running = time.time()
    late = None
    try:
        procs = [psutil.Process(busy.pid), psutil.Process(idle.pid)]
        wait_until(lambda: cpu_of(procs[0]) > 0.3, 30)
        meter = CpuMeter()
        before = (time.time(), cpu_of(procs[0]))
        first = meter.read(seen(busy.pid, idle.pid))
        after = (time.time(), cpu_of(procs[0]))
        # (CPU times are counted in clock ticks: 1 point either way; a start time and the uptime too, so a
        # process's age is known to TICK either way)
        assert before[1] / (after[0] - spawned + TICK) * 100 - 1 <= first[busy.pid] <= \
            after[1] / (before[0] - running - TICK) * 100 + 1
        # idle since its start-up (the interpreter's own CPU, spread over its short life): at most what
        # psutil allows, and far below the busy one
        idle_high = cpu_of(procs[1]) / (before[0] - idle_running - TICK) * 100 + 1
        assert first[idle.pid] <= idle_high and first[idle.pid] < first[busy.pid] / 3
        wait_until(lambda: cpu_of(procs[0]) - after[1] > 0.3, 30)
        before2 = (time.time(), cpu_of(procs[0]))
        second = meter.read(seen(busy.pid, idle.pid))
        after2 = (time.time(), cpu_of(procs[0]))
        low = (before2[1] - after[1]) / (after2[0] - before[0]) * 100
        high = (after2[1] - before[1]) / (before2[0] - after[0]) * 100
        assert low - 1 <= second[busy.pid] <= high + 1 and second[busy.pid] > 0
        assert second[idle.pid] < 5
        spawned = time.time()
        late = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # new: counted from its start
        running = time.time()
        new = psutil.Process(late.pid)
        wait_until(lambda: cpu_of(new) > 0.2, 30)
        t0, c0 = time.time(), cpu_of(new)
        third = meter.read(seen(busy.pid, idle.pid, late.pid))
        t1, c1 = time.time(), cpu_of(new)
        assert c0 / (t1 - spawned + TICK) * 100 - 1 <= third[late.pid] <= c1 / (t0 - running - TICK) * 100 + 1
        assert {pid for pid, _ in meter.times} == {busy.pid, idle.pid, late.pid}
        late.kill()
        late.wait()
        meter.read(seen(busy.pid, idle.pid))
        assert late.pid not in {pid for pid, _ in meter.times}  # gone processes are forgotten
    finally:
        for p in (busy, idle, late):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def row(window: str, state: str, exit_code: int | None = None, command: str = "sleep 1") -> PaneRow:
    return PaneRow(window, 0, state, None if exit_code is not None else 42, exit_code, 1.5, 0, (), 3.0, 0, command)


def test_the_frame_fits_the_screen_and_colours_only_the_state() -> None:
    table = [row("web", "ready"), row("jobs", "exited", 1), row("migrate", "exited", 0),
             row("worker", "starting", command="x" * 300)]
    plain = ps_table(table, width=90)
    assert all(len(line) <= 90 for line in plain) and plain[4].endswith("...") and len(plain[4]) == 90
    colored = ps_table(table, color=True, width=90)
    assert colored[0].startswith("\x1b[1m") and "\x1b[32mready" in colored[1] and "\x1b[31mexited" in colored[2]
    assert "\x1b[" not in colored[3]  # exited 0: nothing to warn about
    strip = [line.replace("\x1b[32m", "").replace("\x1b[31m", "").replace("\x1b[33m", "").replace("\x1b[1m", "")
             .replace("\x1b[0m", "") for line in colored]
    assert strip == plain  # colour never moves a column
    assert ps_table(table)[4].endswith("x" * 57 + "...")  # plain ps: the command cut at 60, as before
    frame = ps_frame(table * 5, "devenv ps  s on default", None, 70, 10)
    assert len(frame) == 9 and frame[-1] == "... 14 more panes"  # the header, the column titles, 6 panes, the rest
    assert ps_frame([], "h", "no session s running", 70, 10) == ["h", "no session s running"]
    tiny = ps_frame(table, "h" * 30, None, 20, 10)
    assert all(len(line) <= 20 for line in tiny)


# --------------------------------------------------------------------------- the README's picture


def screenshot_module():
    import importlib.machinery
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / "screenshot"
    loader = importlib.machinery.SourceFileLoader("screenshot", str(path))
    spec = importlib.util.spec_from_loader("screenshot", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_picture_maps_ansi_to_cells() -> None:
    shot = screenshot_module()
    row = shot.screen("\x1b[1;32mok\x1b[0m \x1b[38;5;196mred\x1b[48;2;1;2;3m bg\x1b[49m 界x")[0]
    assert [c for c, _ in row[:12]] == list("ok red bg ") + ["界", ""]
    assert row[0][1].bold and row[0][1].fg == shot.PALETTE[2] and row[3][1].fg == "#ff0000"
    assert row[6][1].bg == "#010203" and row[10][1].bg is None and row[12][0] == "x"
    assert len(row) == shot.COLS and shot.plain("\x1b[31ma\x1b[0m\x1b[?25lb") == "ab"
    svg = shot.svg(shot.screen("a <b> & c\n\x1b[7mrev\x1b[0m"), "t")
    import xml.etree.ElementTree as ET

    ET.fromstring(svg)  # well-formed
    assert "&lt;b&gt;" in svg and f'fill="{shot.FOREGROUND}"' in svg


def test_the_picture_is_drawn_from_a_real_run_of_the_demo(tmp_path: Path) -> None:
    out = tmp_path / "devenv.svg"
    proc = subprocess.run([sys.executable, "scripts/screenshot", "-o", str(out), "--text"], capture_output=True,
                          text=True, timeout=180, cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "devenv db console: sqlite:///" in proc.stdout and "tables (1): calls" in proc.stdout
    assert "3 rows in set" in proc.stdout or "|200|" in proc.stdout.replace(" ", "")  # litecli, or sqlite3
    status = [line for line in proc.stdout.splitlines() if "0:api" in line]
    assert status and all(w in status[-1] for w in ("1:worker", "2:db", "3:logs"))
    import xml.etree.ElementTree as ET

    ET.parse(out)
    leftover = [p for p in psutil.process_iter(["environ"])
                if ((p.info["environ"] or {}).get("DEVENV_MARK") or "").startswith("devenv-picture-")]
    assert leftover == []  # devenv down stopped the demo, both tmux servers are gone
