"""down / ps / restart through the CLI, on a private tmux server, with real processes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil
import pytest

from devenv.session.procs import session_pids
from devenv.wait import wait_until
from tests.conftest import Devenv, gone, read_pid, write_profile

STUBBORN = """\
trap "" TERM INT HUP
sh -c 'trap "" TERM INT HUP; echo $$ > stubborn-child.pid; while :; do sleep 1; done' &
echo $$ > stubborn.pid
while :; do sleep 1; done
"""
SERVER = """\
import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open("port", "w").write(str(s.getsockname()[1]))
signal.pause()
"""
ESCAPE = "setsid -f sh -c 'trap \"\" HUP; echo $$ > {name}; exec sleep 1000'; exec sleep 1000"


def ps_rows(devenv: Devenv) -> dict[str, dict]:
    result = devenv("ps", "--json")
    assert result.code == 0, result.output
    return {f"{r['window']}.{r['pane']}": r for r in json.loads(result.out)}


def wait_rows(devenv: Devenv, predicate) -> dict[str, dict]:
    def check():
        rows = ps_rows(devenv)
        return rows if predicate(rows) else None

    return wait_until(check, 20, interval=0.2)


def tree(pid: int) -> set[int]:
    proc = psutil.Process(pid)
    return {pid, *(c.pid for c in proc.children(recursive=True))}


def pane_pids(devenv: Devenv, session: str) -> set[int]:
    out = devenv.tmux("list-panes", "-s", "-t", f"={session}", "-F", "#{pane_dead} #{pane_pid}")
    return {int(pid) for dead, pid in (line.split() for line in out.splitlines()) if dead == "0"}


def has_session(devenv: Devenv, session: str) -> bool:
    return bool(devenv.tmux("list-sessions", "-F", "#{session_name}").split().count(session))


def up(devenv: Devenv) -> None:
    result = devenv("up", "-d", "--no-check")
    assert result.code == 0, result.output


# --------------------------------------------------------------------------- down


def test_down_leaves_nothing_behind(devenv: Devenv, project: Path) -> None:
    (project / "stubborn.sh").write_text(STUBBORN)
    (project / "server.py").write_text(SERVER)
    write_profile(project, f"""
session: lc
windows:
  - name: sleeper
    command: sleep 1000
  - name: stubborn
    command: sh stubborn.sh
  - name: escape
    command: {json.dumps(ESCAPE.format(name="escapee.pid"))}
  - name: web
    command: {sys.executable} server.py
  - name: three
    command: exit 3
""")
    up(devenv)
    escapee = read_pid(project / "escapee.pid")
    stubborn_child = read_pid(project / "stubborn-child.pid")
    port = read_pid(project / "port")
    rows = wait_rows(devenv, lambda r: r["three.0"]["state"] == "exited")

    # ps: the exited window keeps its exit code while the window itself is still there
    assert rows["three.0"]["exit_code"] == 3 and rows["three.0"]["pid"] is None
    assert "three" in devenv.tmux("list-windows", "-t", "=lc", "-F", "#{window_name}").split()
    assert rows["sleeper.0"]["state"] == "running" and rows["sleeper.0"]["exit_code"] is None
    assert psutil.Process(rows["sleeper.0"]["pid"]).name() == "sleep"  # the command, not the runner
    assert rows["web.0"]["ports"] == [port]
    assert rows["sleeper.0"]["rss_bytes"] > 0 and rows["sleeper.0"]["uptime_s"] >= 0
    assert psutil.Process(escapee).ppid() not in tree(min(pane_pids(devenv, "lc")))  # out of every tree

    pids = {escapee, stubborn_child}
    for pid in pane_pids(devenv, "lc"):
        pids |= tree(pid)
    started = time.monotonic()
    result = devenv("down", "--timeout", "2")
    elapsed = time.monotonic() - started
    assert result.code == 0, result.output
    assert elapsed < 10, elapsed
    assert [pid for pid in pids if not gone(pid)] == []
    assert not has_session(devenv, "lc")
    assert "stopped session lc" in result.out
    assert f"{escapee} sleep" in result.out
    killed = next(line for line in result.out.splitlines() if "needed SIGKILL" in line)
    assert str(stubborn_child) in killed and "(stubborn)" in killed
    assert f"released ports: {port} (web)" in result.out

    again = devenv("down")
    assert again.code == 0 and "no session lc running" in again.out


def test_down_ends_a_plain_shell_pane_without_sigkill(devenv: Devenv, project: Path) -> None:
    # an interactive shell ignores SIGINT and SIGTERM; SIGHUP (what tmux gives it) ends it
    write_profile(project, "session: lc\nwindows:\n  - name: shell\n  - name: s\n    command: sleep 1000\n")
    up(devenv)
    shell = wait_until(lambda: pane_pids(devenv, "lc"), 10)
    started = time.monotonic()
    result = devenv("down", "--timeout", "30")
    assert result.code == 0, result.output
    assert time.monotonic() - started < 8  # no stage waited for a shell that was never going to stop
    assert "needed SIGKILL" not in result.out
    assert all(gone(pid) for pid in shell)


def test_down_sweeps_escapees_of_a_session_killed_by_hand(devenv: Devenv, project: Path) -> None:
    write_profile(project, f"""
session: lc
windows:
  - name: escape
    command: {json.dumps(ESCAPE.format(name="escapee.pid"))}
""")
    up(devenv)
    escapee = read_pid(project / "escapee.pid")
    devenv.tmux("kill-session", "-t", "=lc")
    wait_until(lambda: not has_session(devenv, "lc"), 10)
    assert not gone(escapee)  # it ignores SIGHUP: tmux alone leaves it running

    result = devenv("down", "--timeout", "2")
    assert result.code == 0, result.output
    assert "no session lc running" in result.out
    assert f"{escapee} sleep" in result.out
    assert gone(escapee)


def test_two_sessions_on_one_socket_never_touch_each_other(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    other = Devenv(tmp_path / "other", devenv.socket)
    for proj, session in ((project, "one"), (other.project, "one-two")):
        (proj / ".devenv").mkdir(parents=True, exist_ok=True)
        write_profile(proj, f"""
session: {session}
windows:
  - name: w
    command: {json.dumps(ESCAPE.format(name="escapee.pid"))}
""")
        result = Devenv(proj, devenv.socket)("up", "-d", "--no-check")
        assert result.code == 0, result.output
    mine, theirs = read_pid(project / "escapee.pid"), read_pid(other.project / "escapee.pid")
    theirs_tree = set().union(*(tree(p) for p in pane_pids(devenv, "one-two")))
    assert mine in session_pids(devenv.socket, "one") and theirs not in session_pids(devenv.socket, "one")
    assert theirs in session_pids(devenv.socket, "one-two")

    result = devenv("down", "--timeout", "2")
    assert result.code == 0, result.output
    assert gone(mine) and not has_session(devenv, "one")
    assert not gone(theirs) and all(not gone(p) for p in theirs_tree)
    assert has_session(devenv, "one-two")
    assert other("down", "--timeout", "2").code == 0
    assert gone(theirs)


# --------------------------------------------------------------------------- ps


def test_ps_without_a_session(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: lc\nwindows:\n  - name: a\n    command: sleep 1000\n")
    result = devenv("ps")
    assert result.code == 0 and "no session lc running" in result.out
    result = devenv("ps", "--json")
    assert result.code == 0 and json.loads(result.out) == []


def test_ps_masks_secrets_and_shows_readiness(devenv: Devenv, project: Path) -> None:
    pytest.importorskip("devenv.readiness.probes")
    write_profile(project, """
session: lc
env:
  API_TOKEN: hunter2-very-secret
windows:
  - name: app
    command: 'while [ ! -e go ]; do sleep 0.1; done; echo listening; exec sleep 1000 # hunter2-very-secret'
    ready: {log: listening}
  - name: plain
    command: sleep 1000
""")
    up(devenv)
    rows = wait_rows(devenv, lambda r: r["app.0"]["state"] == "starting")
    assert rows["plain.0"]["state"] == "running"
    table = devenv("ps")
    assert table.code == 0 and "WINDOW" in table.out and "starting" in table.out
    assert "hunter2" not in table.out + devenv("ps", "--json").out
    (project / "go").write_text("")
    wait_rows(devenv, lambda r: r["app.0"]["state"] == "ready")


def test_ps_reads_cpu_from_cumulative_times_and_samples_only_with_cpu(
        devenv: Devenv, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --cpu, ps never takes the sampling path (nor sleeps): a busy window shows its average
    since it started; with --cpu, one sampling window of the length asked."""
    from devenv.cli.options import Options
    from devenv.ops.ps import ps
    from devenv.session import procs

    write_profile(project, f"""
session: lc
windows:
  - name: busy
    command: "exec {sys.executable} -c 'while True: pass'"
  - name: idle
    command: exec sleep 1000
""")
    up(devenv)
    rows = wait_rows(devenv, lambda r: r["busy.0"]["pid"] is not None and r["busy.0"]["command"].endswith("pass"))
    busy = psutil.Process(rows["busy.0"]["pid"])
    wait_until(lambda: sum(busy.cpu_times()[:2]) > 0.3, 30)
    windows: list[float] = []
    real_sample = procs.sample_cpu

    def sample(seen, meter, window):  # type: ignore[no-untyped-def]
        windows.append(window)
        return real_sample(seen, meter, window)

    def never(seconds: float) -> None:
        raise AssertionError(f"ps slept {seconds}s")

    monkeypatch.setattr(procs, "sample_cpu", sample)
    monkeypatch.setattr(procs, "sleep", never)
    opts = Options.create(str(project), devenv.socket, None)
    by = {r.window: r for r in ps(opts.resolved(), opts.tmux).rows}
    assert windows == [] and by["busy"].cpu_percent > 5 and by["idle"].cpu_percent < 5
    monkeypatch.undo()
    monkeypatch.setattr(procs, "sample_cpu", sample)
    by = {r.window: r for r in ps(opts.resolved(), opts.tmux, sample=0.2).rows}
    assert windows == [0.2] and by["busy"].cpu_percent > 5
    sampled = devenv("ps", "--json", "--cpu", "0.1")
    assert sampled.code == 0 and {r["window"] for r in json.loads(sampled.out)} == {"busy", "idle"}
    assert devenv("ps", "--watch", "--cpu").code == 2


# --------------------------------------------------------------------------- restart


def test_restart_gives_one_window_a_new_process(devenv: Devenv, project: Path) -> None:
    write_profile(project, f"""
session: lc
windows:
  - name: a
    command: {json.dumps(ESCAPE.format(name="a-escapee.pid"))}
  - name: b
    command: sleep 1000
""")
    missing = devenv("restart", "a")
    assert missing.code == 1 and "no session lc running" in missing.err and "devenv up" in missing.err
    up(devenv)
    escapee = read_pid(project / "a-escapee.pid")
    rows = wait_rows(devenv, lambda r: r["a.0"]["pid"] and r["b.0"]["pid"])
    old_a, b = rows["a.0"]["pid"], rows["b.0"]["pid"]
    (project / "a-escapee.pid").unlink()

    result = devenv("restart", "a", "--timeout", "2")
    assert result.code == 0, result.output
    assert "restarted a" in result.out and f"{escapee} sleep" in result.out
    assert gone(old_a) and gone(escapee)
    rows = wait_rows(devenv, lambda r: r["a.0"]["state"] == "running" and r["a.0"]["pid"] not in (None, old_a))
    assert rows["b.0"]["pid"] == b and not gone(b)
    assert read_pid(project / "a-escapee.pid") != escapee

    unknown = devenv("restart", "nope")
    assert unknown.code == 2 and "unknown window 'nope'" in unknown.err


def test_up_restarts_an_exited_window_and_leaves_the_others(devenv: Devenv, project: Path) -> None:
    write_profile(project, """
session: lc
windows:
  - name: a
    command: 'if [ -e ran ]; then exec sleep 1000; fi; touch ran; exit 4'
  - name: b
    command: sleep 1000
""")
    up(devenv)
    rows = wait_rows(devenv, lambda r: r["a.0"]["state"] == "exited" and r["b.0"]["pid"])
    assert rows["a.0"]["exit_code"] == 4
    b = rows["b.0"]["pid"]
    up(devenv)
    rows = wait_rows(devenv, lambda r: r["a.0"]["state"] == "running" and r["a.0"]["pid"])
    assert rows["b.0"]["pid"] == b and not gone(b)
