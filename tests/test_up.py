"""devenv up, end to end: a real tmux server on a private socket, the real console script."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from devenv.wait import wait_until
from tests.conftest import Devenv, write_profile

PROFILE = """\
session: demo
env:
  GREETING: hello
  PORT: "3000"
  API_URL: http://localhost:${PORT}/api
windows:
  - name: api
    command: printf '%s|%s|%s|%s\\n' "$GREETING" "$API_URL" "$FROM_ENV" "$LOCAL_ONLY" > api.out; exec sleep 600
  - name: worker
    command: printf '%s\\n' "$WORKER_ONLY" > worker.out; exec sleep 600
    env: {WORKER_ONLY: "w-${GREETING}"}
  - name: split
    layout: even-horizontal
    panes:
      - exec sleep 600
      - {command: "pwd > ../pane.out; exec sleep 600", cwd: sub}
"""


def windows(dv: Devenv, session: str = "demo") -> list[str]:
    return dv.tmux("list-windows", "-t", f"={session}", "-F", "#{window_name}").split()


def pane_pids(dv: Devenv, session: str = "demo") -> dict[str, str]:
    out = dv.tmux("list-panes", "-s", "-t", f"={session}", "-F", "#{window_name}.#{pane_index} #{pane_pid} #{pane_dead}")
    return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.split()[2] == "0"}


def read_when_written(path: Path, timeout: float = 15) -> str:
    return wait_until(lambda: path.exists() and path.read_text().endswith("\n") and path.read_text(), timeout)


@pytest.fixture
def demo(devenv: Devenv, project: Path) -> Devenv:
    write_profile(project, PROFILE)
    (project / "sub").mkdir()
    (project / ".env").write_text("FROM_ENV=env-file\nDATABASE_URL=postgres://app:hunter2-secret@localhost:5432/app\n")
    (project / ".env.local").write_text("LOCAL_ONLY=local\n")
    return devenv


def test_up_builds_the_session_with_the_layered_environment(demo: Devenv, project: Path) -> None:
    result = demo("up", "-d", "--no-check")
    assert result.code == 0, result.err
    assert "started session demo (3 windows)" in result.out
    assert windows(demo) == ["api", "worker", "split"]
    assert read_when_written(project / "api.out") == "hello|http://localhost:3000/api|env-file|local\n"
    assert read_when_written(project / "worker.out") == "w-hello\n"
    assert read_when_written(project / "pane.out") == f"{project / 'sub'}\n"
    assert len(pane_pids(demo)) == 4


def test_up_again_changes_nothing_and_repairs_what_is_missing_or_dead(demo: Devenv, project: Path, server) -> None:
    def seen() -> dict[str, str]:  # window.pane -> pid of the live panes, as libtmux sees them
        session = server.sessions.get(session_name="demo")
        return {f"{w.window_name}.{i}": p.pane_pid for w in session.windows for i, p in enumerate(w.panes)
                if p.pane_dead != "1"}

    assert demo("up", "-d", "--no-check").code == 0
    before = wait_until(lambda: len(seen()) == 4 and seen(), 10)

    again = demo("up", "-d", "--no-check")
    assert again.code == 0 and "session demo is up to date" in again.out
    assert seen() == before

    server.sessions.get(session_name="demo").windows.get(window_name="worker").kill()
    assert [w.window_name for w in server.sessions.get(session_name="demo").windows] == ["api", "split"]
    repaired = demo("up", "-d", "--no-check")
    assert repaired.code == 0
    assert "created window worker" in repaired.out
    assert windows(demo) == ["api", "worker", "split"]  # back in profile order
    after = seen()
    assert {k: v for k, v in after.items() if not k.startswith("worker")} == \
        {k: v for k, v in before.items() if not k.startswith("worker")}


def test_up_restarts_an_exited_window_and_keeps_its_exit_visible(devenv: Devenv, project: Path) -> None:
    write_profile(project, """\
session: crash
windows:
  - name: ok
    command: exec sleep 600
  - name: boom
    command: echo started >> boom.out; echo crashing; exit 3
""")
    assert devenv("up", "-d", "--no-check").code == 0

    def dead_status() -> str | None:
        out = devenv.tmux("list-panes", "-t", "=crash:=boom", "-F", "#{pane_dead}")
        return out.strip() == "1" and out

    wait_until(dead_status, 10)
    assert windows(devenv, "crash") == ["ok", "boom"]  # remain-on-exit: the crash stays readable
    assert "crashing" in devenv.tmux("capture-pane", "-p", "-S", "-", "-t", "=crash:=boom")
    ok_pid = pane_pids(devenv, "crash")["ok.0"]
    result = devenv("up", "-d", "--no-check")
    assert result.code == 0
    assert "restarted boom (exit 3)" in result.out
    wait_until(lambda: (project / "boom.out").read_text().count("started") == 2, 10)
    assert pane_pids(devenv, "crash")["ok.0"] == ok_pid


def test_user_profile_is_picked_by_login_name(devenv: Devenv, project: Path) -> None:
    write_profile(project, PROFILE)
    write_profile(project, """\
extends: default
session: alice-demo
env: {GREETING: hi-alice}
windows:
  - name: split
    enabled: false
""", name="alice")
    (project / "sub").mkdir()
    result = devenv("up", "-d", "--no-check", env={"USER": "alice"})
    assert result.code == 0, result.err
    assert windows(devenv, "alice-demo") == ["api", "worker"]
    assert read_when_written(project / "worker.out") == "w-hi-alice\n"


@pytest.mark.parametrize("text, profile, message", [
    ("windows:\n  - name: a\n    command: [x\n", None, ":4: invalid YAML"),
    ("windows:\n  - name: a\n    commnd: x\n", None, ":3: windows[0].commnd: unknown key (did you mean 'command'?)"),
    ("windows:\n  - command: x\n", None, ":2: windows[0]: a window needs a name"),
    ("windows:\n  - name: a\n  - name: a\n", None, ":3: windows[1].name: duplicate window name 'a'"),
    ("extends: other\nwindows: [{name: a}]\n", None, "extends cycle: default -> other -> default"),
    ("windows: [{name: a}]\n", "nosuch", "profile 'nosuch' not found"),
])
def test_bad_input_exits_2_naming_the_file_and_starts_nothing(devenv: Devenv, project: Path, text: str,
                                                              profile: str | None, message: str) -> None:
    path = write_profile(project, text)
    write_profile(project, "extends: default\nwindows: [{name: b}]\n", name="other")
    result = devenv("up", "-d", "--no-check", profile=profile)
    assert result.code == 2, result.output
    assert result.err.startswith("error: ")
    assert message in result.err
    if profile is None:
        assert str(path.parent) in result.err and ".yaml:" in result.err
    assert "Traceback" not in result.output
    assert result.err.count("\n") <= 2
    assert devenv.tmux("list-sessions") == ""


def test_a_failing_build_leaves_no_half_built_session(devenv: Devenv, project: Path) -> None:
    write_profile(project, """\
session: broken
windows:
  - name: a
    command: exec sleep 600
  - name: b
    command: exec sleep 600
    layout: "abcd,1x1,0,0{bogus}"
""")
    result = devenv("up", "-d", "--no-check")
    assert result.code == 1
    assert result.err.startswith("error: tmux:")
    assert devenv.tmux("list-sessions", "-F", "#{session_name}") == ""


def test_six_concurrent_ups_give_one_session(demo: Devenv) -> None:
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: demo("up", "-d", "--no-check"), range(6)))
    assert [r.code for r in results] == [0] * 6, [r.err for r in results]
    assert sum("started session" in r.out for r in results) == 1
    assert demo.tmux("list-sessions", "-F", "#{session_name}").split() == ["demo"]
    assert windows(demo) == ["api", "worker", "split"]


def test_user_tmux_config_with_base_index_1_changes_nothing(demo: Devenv, home: Path) -> None:
    (home / ".tmux.conf").write_text("set -g base-index 1\nsetw -g pane-base-index 1\nset -g renumber-windows on\n")
    assert demo("up", "-d", "--no-check").code == 0
    assert demo.tmux("list-windows", "-t", "=demo", "-F", "#{window_index}").split() == ["1", "2", "3"]
    demo.tmux("kill-window", "-t", "=demo:=api")
    assert demo("up", "-d", "--no-check").code == 0
    assert windows(demo) == ["api", "worker", "split"]
    assert demo("up", "-d", "--no-check").out.strip() == "session demo is up to date"


def test_secrets_stay_out_of_output_and_argv(demo: Devenv, project: Path, tmp_path: Path) -> None:
    secret = "hunter2-secret"
    # a recording shim in front of the real tmux: every tmux argv devenv uses is logged
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "argv.log"
    real = subprocess.run(["sh", "-c", "command -v tmux"], capture_output=True, text=True).stdout.strip()
    shim = shim_dir / "tmux"
    shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec {real} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{shim_dir}:{os.environ['PATH']}"}

    config = demo("config", env=env)
    assert config.code == 0, config.err
    assert "postgres://app:****@localhost:5432/app" in config.out
    dry = demo("up", "--dry-run", env=env)
    assert dry.code == 0 and "DATABASE_URL=postgres://app:****@localhost" in dry.out
    assert demo("up", "-d", "--no-check", env=env).code == 0
    assert demo("up", "-d", "--no-check", env=env).code == 0
    for result in (config, dry):
        assert secret not in result.output
    logged = log.read_text()
    assert "source-file" in logged and secret not in logged
    # and no process of the session carries it in its argv
    server_pid = int(demo.tmux("display-message", "-p", "#{pid}").strip())
    for proc in psutil.Process(server_pid).children(recursive=True) + [psutil.Process(server_pid)]:
        try:
            assert secret not in " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            continue


def test_cli_basics(devenv: Devenv, project: Path) -> None:
    write_profile(project, PROFILE)
    version = subprocess.run([sys.executable, "-m", "devenv", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "devenv, version" in version.stdout
    listing = devenv("ls")
    assert listing.code == 0
    assert "* default  project" in listing.out
    assert "devenv " in listing.out  # the shipped default, shadowed
    assert devenv("frobnicate").code == 2
    missing = Devenv(project / "nope", devenv.socket)("up", "-d")
    assert missing.code == 2 and "project directory not found" in missing.err


def test_up_refuses_to_start_half_an_environment(devenv: Devenv, project: Path) -> None:
    write_profile(project, """\
session: checked
requires:
  commands: [no-such-tool-4711]
  env: [ONLY_IN_LOCAL]
windows:
  - name: a
    command: exec sleep 600
""")
    (project / ".env.local").write_text("ONLY_IN_LOCAL=yes\n")
    refused = devenv("up", "-d")
    assert refused.code == 1
    assert "no-such-tool-4711" in refused.err
    assert "ONLY_IN_LOCAL" not in refused.err  # set in .env.local: that check passed
    assert "nothing was started" in refused.err
    assert devenv.tmux("list-sessions") == ""
    forced = devenv("up", "-d", "--no-check")
    assert forced.code == 0
    assert windows(devenv, "checked") == ["a"]


def test_ports_held_by_the_running_session_are_not_conflicts(devenv: Devenv, project: Path) -> None:
    import socket as _socket

    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write_profile(project, f"""\
session: ports
requires:
  ports: [{port}]
windows:
  - name: server
    command: exec {sys.executable} -m http.server {port} --bind 127.0.0.1
""")
    assert devenv("up", "-d").code == 0

    def listening() -> bool:
        with _socket.socket() as c:
            return c.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, 15)
    again = devenv("up", "-d")
    assert again.code == 0, again.err
    assert "up to date" in again.out


def test_window_names_with_dots_and_colons(devenv: Devenv, project: Path) -> None:
    write_profile(project, """\
session: odd
windows:
  - {name: "api.v2", command: exec sleep 600}
  - {name: "db:main", command: exec sleep 600, focus: true}
  - {name: "it's $HOME", panes: [exec sleep 600, exec sleep 600]}
""")
    assert devenv("up", "-d", "--no-check").code == 0
    assert devenv.tmux("list-windows", "-t", "=odd", "-F", "#{window_name}").splitlines() == \
        ["api.v2", "db:main", "it's $HOME"]
    active = devenv.tmux("list-windows", "-t", "=odd", "-F", "#{window_active}#{window_name}").splitlines()
    assert "1db:main" in active  # focus
    first_id = devenv.tmux("list-windows", "-t", "=odd", "-F", "#{window_id}").split()[0]
    devenv.tmux("kill-window", "-t", first_id)
    repaired = devenv("up", "-d", "--no-check")
    assert repaired.code == 0 and "created window api.v2" in repaired.out
    assert devenv.tmux("list-windows", "-t", "=odd", "-F", "#{window_name}").splitlines() == \
        ["api.v2", "db:main", "it's $HOME"]


def test_windows_get_devenvs_environment_whoever_started_the_server(devenv: Devenv, project: Path) -> None:
    # a shared server, started earlier from another shell with another environment
    env = {k: v for k, v in os.environ.items() if k != "FROM_SHELL"}
    subprocess.run(["tmux", "-L", devenv.socket, "new-session", "-d", "-s", "other", "sleep 600"],
                   env={**env, "STALE": "from-the-server"}, check=True)
    write_profile(project, """\
session: shared
windows:
  - name: w
    command: printf '%s|%s\\n' "$FROM_SHELL" "$STALE" > seen.out; exec sleep 600
""")
    assert devenv("up", "-d", "--no-check", env={"FROM_SHELL": "devenv-side", "STALE": "fresh"}).code == 0
    assert read_when_written(project / "seen.out") == "devenv-side|fresh\n"
