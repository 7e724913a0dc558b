"""Shared fixtures: a private tmux server per test, an isolated HOME, a project folder,
the CLI run as a real process, and a throwaway PostgreSQL (see tests/pg.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["tests.pg"]

REPO = Path(__file__).resolve().parent.parent


def _tmux_tmpdir() -> Path:
    return Path(os.environ.get("TMUX_TMPDIR", "/tmp"))


def reap_marked(socket: str) -> None:
    """Kill, by pid, every process devenv started for this test's socket (its DEVENV_MARK names it)."""
    import psutil

    for proc in psutil.process_iter(["environ"]):
        with contextlib.suppress(psutil.Error):
            if ((proc.info["environ"] or {}).get("DEVENV_MARK") or "").startswith(socket + "/"):
                proc.kill()


def kill_tmux_server(socket: str) -> None:
    reap_marked(socket)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
    with contextlib.suppress(OSError):
        (_tmux_tmpdir() / f"tmux-{os.geteuid()}" / socket).unlink()


def gone(pid: int) -> bool:
    """Exited (zombies count: PID 1 here may take a while to reap them)."""
    import psutil

    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True


def read_pid(path: Path, timeout: float = 15) -> int:
    """The pid a test process wrote to ``path``, once written."""
    from devenv.wait import wait_until

    return int(wait_until(lambda: path.exists() and path.read_text().strip(), timeout))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated HOME / XDG folders, an empty tmux.conf, no $TMUX."""
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".tmux.conf").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("USER", "tester")
    monkeypatch.setenv("SHELL", "/bin/sh")
    for var in ("TMUX", "TMUX_PANE", "DEVENV_PROFILE", "DEVENV_TMUX_SOCKET", "DEVENV_PROJECT", "DEVENV_MARK",
                "NO_COLOR", "DATABASE_URL", "DIRECT_URL", "PGAPPNAME"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def socket(home: Path) -> Iterator[str]:
    """A private tmux socket name; the server (if any was started) is killed at teardown."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    name = f"devenv-test-{uuid.uuid4().hex[:10]}"
    yield name
    kill_tmux_server(name)


@pytest.fixture
def server(socket: str):
    """The test's tmux server seen through libtmux: an observer independent of devenv's own tmux code."""
    import libtmux

    return libtmux.Server(socket_name=socket)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    (path / ".devenv").mkdir(parents=True)
    return path


def write_profile(project: Path, text: str, name: str = "default") -> Path:
    path = project / ".devenv" / f"{name}.yaml"
    path.write_text(text)
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@dataclass
class Devenv:
    """Runs the real console script (as a user would) against one project and socket."""

    project: Path
    socket: str | None

    def argv(self, *args: str, profile: str | None = None) -> list[str]:
        argv = [sys.executable, "-m", "devenv", "-C", str(self.project)]
        if self.socket:
            argv += ["-L", self.socket]
        if profile:
            argv += ["-p", profile]
        return argv + list(args)

    def __call__(self, *args: str, profile: str | None = None, env: dict[str, str] | None = None,
                 timeout: float = 60, input: str | None = None) -> Result:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(self.argv(*args, profile=profile), capture_output=True, text=True, env=full_env,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def tmux(self, *args: str) -> str:
        """Run a tmux command on this test's server and return its stdout."""
        proc = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        return proc.stdout


@pytest.fixture
def devenv(project: Path, socket: str) -> Devenv:
    return Devenv(project, socket)
