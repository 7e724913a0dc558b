"""Status-line badges: each window's state next to its name, as a real tmux client shows it.

A real client is attached to the session from a pane of a second private tmux server (a fixed-size
"terminal"), and the test reads that pane's screen: what a user sees in the status line.
"""

from __future__ import annotations

import os
import re
import signal
import socket as sockets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.session import badges
from devenv.wait import wait_until
from tests.conftest import Devenv, kill_tmux_server, read_pid, write_profile

PY = sys.executable


def free_port() -> int:
    with sockets.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PROFILE = """\
session: badges
windows:
  - name: web
    command: >-
      until [ -f go ]; do sleep 0.05; done;
      exec {py} -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1);
      s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(600)"
    ready: {{port: {port}, interval: 0.05}}
  - name: worker
    command: echo $$ > worker.pid; exec sleep 600
    restart: on-failure
  - name: jobs
    command: exit 3
  - name: api
    command: exec sleep 600
    after: [web]
"""


class Terminal:
    """A client attached to the session, in a pane of an outer private server: its screen."""

    def __init__(self, socket: str, session: str, *, utf8: bool = True) -> None:
        self.outer = f"{socket}-term{'u' if utf8 else 'a'}"
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        env["LANG"] = env["LC_ALL"] = "C.UTF-8" if utf8 else "C"
        # TMUX unset, not empty: a client that finds $TMUX at all takes the terminal for UTF-8
        client = f"unset TMUX; exec tmux {'-u ' if utf8 else ''}-L {socket} attach -t ={session}"
        subprocess.run(["tmux", "-L", self.outer, "-f", "/dev/null", "new-session", "-d", "-x", "150", "-y", "8",
                        client], check=True, env=env, timeout=20)

    def status(self) -> str:
        out = subprocess.run(["tmux", "-L", self.outer, "capture-pane", "-p", "-J"], capture_output=True,
                             text=True, timeout=20).stdout.rstrip("\n").split("\n")
        return out[-1] if out else ""

    def shows(self, *parts: str, timeout: float = 15) -> str:
        """The status line once it holds every one of ``parts`` (the last one seen in the error)."""
        seen = [""]

        def check() -> bool:
            seen[0] = self.status()
            return all(p in seen[0] for p in parts)

        try:
            wait_until(check, timeout)
        except Exception:
            pytest.fail(f"the status line never showed {parts}: {seen[0]!r}")
        return seen[0]

    def close(self) -> None:
        kill_tmux_server(self.outer)


@pytest.fixture
def terminals(socket: str) -> Iterator[list[Terminal]]:
    made: list[Terminal] = []
    yield made
    for t in made:
        t.close()


def test_badges_follow_each_window_s_state_and_keep_the_user_s_format(
        devenv: Devenv, project: Path, home: Path, terminals: list[Terminal]) -> None:
    (home / ".tmux.conf").write_text("set -g window-status-format '<#I #W>'\n"
                                     "set -g window-status-current-format '[#I #W]'\n")
    port = free_port()
    write_profile(project, PROFILE.format(py=PY, port=port))
    up = devenv("up", "-d", "--no-check")
    assert up.code == 0, up.output
    term = Terminal(devenv.socket or "", "badges")
    terminals.append(term)

    # web runs, its probe not passed yet; api waits for it; jobs exited 3; worker runs
    line = term.shows("[0 web] ○", "<1 worker> ✓", "<2 jobs> ✗3", "<3 api> …")
    assert "✓" not in line.split("<1 worker>")[0]

    (project / "go").write_text("")  # web opens its port: ready, and api starts
    term.shows("[0 web] ✓", "<3 api> ✓")

    # a worker killed with kill -9 restarts (on-failure): ↻1, then running again
    os.kill(read_pid(project / "worker.pid"), signal.SIGKILL)
    term.shows("<1 worker> ↻1")
    term.shows("<1 worker> ✓", timeout=20)

    # the user's formats stay as they were for everything else
    assert devenv.tmux("show-options", "-gv", "window-status-format").strip() == "<#I #W>"
    devenv.tmux("new-session", "-d", "-s", "other", "-x", "80", "-y", "10", "sleep 600")
    other = devenv.tmux("display", "-p", "-t", "=other:0", "#{E:window-status-format}").strip()
    assert re.fullmatch(r"<0 \w+>", other), other  # the user's format, no badge

    # a client that is not UTF-8 sees the ASCII marks
    ascii_term = Terminal(devenv.socket or "", "badges", utf8=False)
    terminals.append(ascii_term)
    ascii_term.shows("[0 web] ok", "<2 jobs> x3")

    down = devenv("down")
    assert down.code == 0, down.output


def test_a_task_and_a_failure_show_and_no_color_drops_only_the_colours(
        devenv: Devenv, project: Path, terminals: list[Terminal]) -> None:
    write_profile(project, """\
session: marks
tasks:
  - name: migrate
    command: until [ -f go ]; do sleep 0.05; done; exit 4
windows:
  - name: web
    command: exec sleep 600
    after: [migrate]
""")
    up = devenv("up", "-d", "--no-check", env={"NO_COLOR": "1"})
    assert up.code == 0, up.output
    term = Terminal(devenv.socket or "", "marks")
    terminals.append(term)
    term.shows("0:web* …", "1:migrate …")  # tmux's own format, then the badge
    (project / "go").write_text("")
    term.shows("1:migrate ✗4", "0:web* ✗")  # the task failed, and so its dependent
    assert devenv.tmux("show-options", "-w", "-t", "=marks:0", "-v", "window-status-format").strip() == \
        "#{E:@devenv_wsf_badged}"  # a few bytes a window: the session holds the format, once
    formats = devenv.tmux("show-options", "-t", "=marks:", "-v", "@devenv_wsf_badged")
    assert "@devenv_state" in formats and "#[fg=" not in formats


def test_status_false_leaves_the_status_line_alone(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: quiet\nstatus: false\nwindows:\n  - name: web\n    command: exec sleep 600\n")
    up = devenv("up", "-d", "--no-check")
    assert up.code == 0, up.output
    assert devenv.tmux("show-options", "-w", "-t", "=quiet:0", "window-status-format").strip() == ""
    assert devenv.tmux("display", "-p", "-t", "=quiet:0", "#{E:window-status-format}").strip() == "0:web*"  # tmux's own


def test_the_badge_formats_name_every_state_the_runner_sets() -> None:
    runner = (Path(badges.__file__).parent / "runner.sh").read_text()
    code = "\n".join(line.split(" # ")[0] for line in runner.splitlines() if not line.lstrip().startswith("#"))
    set_by_runner = set(re.findall(r"\bbadge (\w+)", code)) | set(re.findall(r"first=(\w+)", code))
    assert set_by_runner and set_by_runner <= set(badges.STATES), set_by_runner - set(badges.STATES)
    assert "ready" in badges.STATES  # set by devenv _ready
    fmt = badges.window_format("window-status-format", colour=False)
    assert fmt.count("#{") == fmt.count("}") and "#[" not in fmt
