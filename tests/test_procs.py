"""devenv.procs with real child processes, each marked with a label unique to the test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from devenv.session import procs
from devenv.wait import wait_until
from tests.conftest import gone, read_pid


@pytest.fixture
def label() -> Iterator[str]:
    """A socket label nobody else uses; whatever still carries it at teardown is killed (by pid)."""
    name = f"procs-test-{uuid.uuid4().hex[:10]}"
    yield name
    for proc in psutil.process_iter(["environ"]):
        if ((proc.info["environ"] or {}).get(procs.MARK) or "").startswith(name + "/"):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def marked_env(label: str, session: str = "s", window: str = "w") -> dict[str, str]:
    return {**os.environ, procs.MARK: f"{label}/{session}/{window}"}


def spawn(argv: list[str], env: dict[str, str], **kw) -> subprocess.Popen:
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, **kw)


def reap(*children: subprocess.Popen) -> None:
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=10)


# --------------------------------------------------------------------------- marks


def test_mark_matcher_is_exact() -> None:
    match = procs.mark_matcher("sock", "app", known={"x/y"})
    assert match("sock/app/web") == "web"
    assert match("sock/app/x/y") == "x/y"
    assert match("sock/apple/web") is None  # another session whose name starts the same
    assert match("sock/app/b/web") is None  # session "app/b", not a window "b/web" of "app"
    assert match("other/app/web") is None  # same session name on another socket
    assert match("sock/app/") is None
    assert match(None) is None and match("") is None
    only = procs.mark_matcher("sock", "app", windows=["web"])
    assert only("sock/app/web") == "web"
    assert only("sock/app/worker") is None
    assert only("sock/app/web2") is None


def test_protected_holds_devenv_and_its_ancestors() -> None:
    mine = procs.protected()
    assert os.getpid() in mine and os.getppid() in mine
    found = procs.collect({os.getpid(): ("w", 0)}, None, exclude=mine)
    assert os.getpid() not in found


# --------------------------------------------------------------------------- collect and stop


def test_stop_takes_a_child_and_its_grandchild(label: str, tmp_path: Path) -> None:
    # the background sleep ignores SIGINT (as async commands of sh do), so it needs SIGTERM
    child = spawn(["sh", "-c", f"sleep 1000 & echo $! > {tmp_path}/gc; wait"], marked_env(label))
    grandchild = read_pid(tmp_path / "gc")
    found = procs.collect({child.pid: ("w", 0)}, None)
    assert {child.pid, grandchild} <= set(found)
    assert found[grandchild][1] == procs.Member(grandchild, "sleep", "w", 0)

    report = procs.stop(procs.scanner({child.pid: ("w", 0)}, None), timeout=5)
    reap(child)
    assert gone(child.pid) and gone(grandchild)
    assert {child.pid, grandchild} <= {m.pid for m in report.stopped}
    assert not report.killed and not report.survivors


def test_setsid_escapee_is_found_by_its_mark_only(label: str, tmp_path: Path) -> None:
    starter = spawn(["setsid", "-f", "sh", "-c", f"echo $$ > {tmp_path}/esc; exec sleep 1000"], marked_env(label))
    other = spawn(["setsid", "-f", "sh", "-c", f"echo $$ > {tmp_path}/other; exec sleep 1000"],
                  marked_env(label, session="s2"))
    reap(starter, other)
    escapee, bystander = read_pid(tmp_path / "esc"), read_pid(tmp_path / "other")
    assert psutil.Process(escapee).ppid() != os.getpid()  # really out of our tree

    match = procs.mark_matcher(label, "s")
    found = procs.collect({}, match)
    assert set(found) == {escapee}
    assert found[escapee][1].window == "w" and found[escapee][1].pane is None

    report = procs.stop(procs.scanner({}, match), timeout=5)
    wait_until(lambda: gone(escapee), 10)
    assert [m.pid for m in report.stopped] == [escapee]
    assert not gone(bystander)


def test_another_tmux_server_started_from_a_window_is_not_ours(label: str, tmp_path: Path) -> None:
    # `tmux -L other new` typed in a window: the server and its panes inherit the window's mark
    sock = f"{label}-other"
    env = {**marked_env(label), "TMUX_TMPDIR": str(tmp_path)}
    env.pop("TMUX", None)
    try:
        subprocess.run(["tmux", "-f", "/dev/null", "-L", sock, "new-session", "-d",
                        f"echo $$ > {tmp_path}/pane; exec sleep 1000"], env=env, check=True, timeout=20)
        pane = read_pid(tmp_path / "pane")
        assert (psutil.Process(pane).environ().get(procs.MARK) or "").startswith(label + "/")
        found = procs.collect({}, procs.mark_matcher(label, "s"))
        assert pane not in found
        assert not any(m.name.startswith("tmux") for _, m in found.values())
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], env=env, capture_output=True, timeout=20)


def test_a_process_ignoring_int_and_term_gets_sigkill_at_once(label: str, tmp_path: Path) -> None:
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, sys\n"
        "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        f"open({str(tmp_path / 'ready')!r}, 'w').write('1')\n"
        "while True:\n"
        "    signal.pause()\n")
    child = spawn([sys.executable, str(script)], marked_env(label))
    wait_until(lambda: (tmp_path / "ready").exists(), 10)

    started = time.monotonic()
    report = procs.stop(procs.scanner({child.pid: ("w", 0)}, None), timeout=30)
    elapsed = time.monotonic() - started
    reap(child)
    assert child.returncode == -9
    assert [m.pid for m in report.killed] == [child.pid]
    assert elapsed < 8, elapsed  # it ignores SIGINT and SIGTERM: no stage waits for it


def test_an_idle_pane_process_gets_sighup_as_tmux_would_give_it(label: str, tmp_path: Path) -> None:
    # an idle interactive shell (a pane without a command): ignores SIGINT and SIGTERM, ended by SIGHUP
    child = subprocess.Popen(["bash", "--norc", "--noprofile", "-i"], env=marked_env(label),
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child.stdin.write(f"echo 1 > {tmp_path / 'ready'}\n".encode())
    child.stdin.flush()
    wait_until(lambda: (tmp_path / "ready").exists(), 10)
    # idle: back at its prompt, waiting for input
    wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_SLEEPING, 10)

    started = time.monotonic()
    report = procs.stop(procs.scanner({child.pid: ("w", 0)}, None), timeout=30)
    reap(child)
    assert child.returncode == -1  # SIGHUP
    assert not report.killed
    assert time.monotonic() - started < 8  # an idle shell gets SIGHUP with SIGINT already


def test_a_stopped_process_is_continued_to_see_the_signal(label: str) -> None:
    child = spawn(["sleep", "1000"], marked_env(label))
    os.kill(child.pid, 19)  # SIGSTOP
    wait_until(lambda: psutil.Process(child.pid).status() == psutil.STATUS_STOPPED, 10)
    report = procs.stop(procs.scanner({}, procs.mark_matcher(label, "s")), timeout=30)
    reap(child)
    assert child.returncode == -2 and not report.killed  # SIGINT


def test_a_process_forked_while_dying_is_stopped_too(label: str, tmp_path: Path) -> None:
    script = tmp_path / "forker.py"
    script.write_text(
        "import os, signal, subprocess, sys\n"
        "def on_int(*_):\n"
        "    late = subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        f"    open({str(tmp_path / 'late')!r}, 'w').write(str(late.pid))\n"
        "    os._exit(0)\n"
        "signal.signal(signal.SIGINT, on_int)\n"
        f"open({str(tmp_path / 'ready')!r}, 'w').write('1')\n"
        "while True:\n"
        "    signal.pause()\n")
    child = spawn([sys.executable, str(script)], marked_env(label))
    wait_until(lambda: (tmp_path / "ready").exists(), 10)

    match = procs.mark_matcher(label, "s")
    report = procs.stop(procs.scanner({child.pid: ("w", 0)}, match), timeout=6)
    reap(child)
    late = read_pid(tmp_path / "late")
    assert gone(late)
    assert late in {m.pid for m in report.stopped}


def test_listening_ports_are_reported_released(label: str, tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(
        "import signal, socket\n"
        "s = socket.socket()\n"
        "s.bind(('127.0.0.1', 0))\n"
        "s.listen()\n"
        f"open({str(tmp_path / 'port')!r}, 'w').write(str(s.getsockname()[1]))\n"
        "signal.pause()\n")
    child = spawn([sys.executable, str(script)], marked_env(label, window="web"))
    port = read_pid(tmp_path / "port")
    assert child.pid in procs.listeners({child.pid})[port]
    use = procs.usage({"web": [child.pid]}, procs.snapshot(), sample=0.05)["web"]
    assert use.ports == (port,) and use.rss_bytes > 0 and use.memory_bytes > 0

    report = procs.stop(procs.scanner({child.pid: ("web", 0)}, None), timeout=5)
    reap(child)
    assert report.ports == ((port, "web"),)
    assert report.released == (port,)


def test_stop_with_nothing_to_stop_returns_at_once() -> None:
    started = time.monotonic()
    report = procs.stop(procs.scanner({}, procs.mark_matcher("no-such-label", "s")), timeout=10)
    assert report == procs.StopReport((), (), (), (), ())
    assert time.monotonic() - started < 3
