"""Interactive panes: the user's shell runs the command's lines as if typed (through its own start-up,
never as keys), then stays at its prompt. Real shells on a private tmux server: bash always; zsh, fish
and dash when installed (skipped otherwise)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import psutil
import pytest

from devenv.wait import wait_until
from tests.conftest import Devenv, gone, write_profile


def installed(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} is not installed")


# each shell's rc file (relative to HOME) defining what only an interactive shell of the user has: an
# alias; bash and zsh also flush pending input after a slow start (what loses typed keys)
RC = {
    "bash": (".bashrc", "sleep 1\nread -t 0.1 -n 10000 discard\nalias greet='echo hello-from-rc'\n"),
    "zsh": (".zshrc", "sleep 1\nread -t 0.1 -k 10000 discard\nalias greet='echo hello-from-rc'\n"),
    "fish": (".config/fish/config.fish", "alias greet 'echo hello-from-rc'\n"),
    "dash": (".shrc", "alias greet='echo hello-from-rc'\n"),  # its $ENV file
}
HISTORY = {"bash": "history", "zsh": "fc -ln 1"}  # fish 3 cannot be given history lines


def tmux_value(devenv: Devenv, target: str, fmt: str) -> str:
    return devenv.tmux("display-message", "-p", "-t", target, fmt).strip()


def shell_of(pane_pid: int) -> psutil.Process | None:
    """The interactive shell the pane's runner runs (its child), once it started."""
    try:
        kids = psutil.Process(pane_pid).children()
    except psutil.Error:
        return None
    return kids[0] if kids else None


def at_prompt(devenv: Devenv, target: str, marker: Path) -> bool:
    """The shell stays and reads what is typed into it: type a line, see it run."""
    devenv.tmux("send-keys", "-t", target, "-l", f"echo typed > {marker}")
    devenv.tmux("send-keys", "-t", target, "Enter")
    return bool(wait_until(lambda: marker.exists() and marker.read_text() == "typed\n", 10))


@pytest.mark.parametrize("shell", [pytest.param(s, marks=installed(s)) for s in ("bash", "zsh", "fish", "dash")])
def test_lines_run_as_if_typed_then_the_shell_stays(devenv: Devenv, project: Path, home: Path, shell: str) -> None:
    rc, text = RC[shell]
    (home / rc).parent.mkdir(parents=True, exist_ok=True)
    (home / rc).write_text(text)
    (project / "sub").mkdir()
    write_profile(project, """
session: it
windows:
  - name: term
    interactive: true
    command: [cd sub, greet > greeted, export FOO=bar, echo "$FOO" > foo]
""")
    env = {"SHELL": shutil.which(shell) or shell, "ENV": str(home / ".shrc")}
    result = devenv("up", "-d", "--no-check", env=env)
    assert result.code == 0, result.output
    sub = project / "sub"
    # the alias of the user's rc, cd, export: each line ran in the shell, once
    wait_until(lambda: (sub / "foo").exists() and (sub / "foo").read_text() == "bar\n", 15)
    assert (sub / "greeted").read_text() == "hello-from-rc\n"
    assert wait_until(lambda: tmux_value(devenv, "=it:term", "#{pane_current_path}") == str(sub), 10)  # follows cd
    pane_pid = int(tmux_value(devenv, "=it:term", "#{pane_pid}"))
    proc = shell_of(pane_pid)
    assert proc is not None and proc.name() == shell
    assert at_prompt(devenv, "=it:term", sub / "typed")  # it stays, at its prompt, in the folder cd went to
    if shell in HISTORY:  # the lines are in its history, as typed
        devenv.tmux("send-keys", "-t", "=it:term", "-l", f"{HISTORY[shell]} > hist")
        devenv.tmux("send-keys", "-t", "=it:term", "Enter")
        wait_until(lambda: "echo typed" in ((sub / "hist").read_text() if (sub / "hist").exists() else ""), 10)
        hist = (sub / "hist").read_text()
        assert all(line in hist for line in ("cd sub", "greet > greeted", "export FOO=bar"))
    # its start-up files are private, and hold no secret: only the profile's lines
    state = Path(os.environ["XDG_STATE_HOME"]) / "devenv" / devenv.socket / "it"
    made = [p for p in state.rglob("*") if p.name.endswith(".rc") or p.parent.name.endswith(".zsh")]
    assert made and all(p.stat().st_mode & 0o077 == 0 for p in made)
    assert state.stat().st_mode & 0o077 == 0
    down = devenv("down")
    assert down.code == 0 and "SIGKILL" not in down.output, down.output
    assert gone(proc.pid)


def test_a_slow_input_flushing_rc_never_loses_nor_repeats_a_line(devenv: Devenv, project: Path, home: Path) -> None:
    """The bug tmuxinator #371 and tmuxp #1053 have: keys typed while the rc sleeps are flushed by it.
    Twenty sessions in a row, each a fresh pane: every line runs exactly once, in order."""
    (home / ".bashrc").write_text("sleep 1\nread -t 0.1 -n 10000 discard\n")
    write_profile(project, """
session: slow
windows:
  - name: term
    interactive: true
    command: [echo one >> out, echo two >> out, echo three >> out]
""")
    out = project / "out"
    for _ in range(20):  # each round a fresh pane: the window killed, then made again by up
        out.unlink(missing_ok=True)
        result = devenv("up", "-d", "--no-check", env={"SHELL": "/bin/bash"})
        assert result.code == 0, result.output
        wait_until(lambda: out.exists() and out.read_text().count("\n") >= 3, 15)
        assert at_prompt(devenv, "=slow:term", project / "typed")
        shell = shell_of(int(tmux_value(devenv, "=slow:term", "#{pane_pid}")))
        assert shell is not None
        devenv.tmux("kill-window", "-t", "=slow:term")
        wait_until(lambda shell=shell: gone(shell.pid), 10)  # the pane's whole life: nothing more comes
        assert out.read_text() == "one\ntwo\nthree\n"


def test_ps_logs_after_restart_and_down_treat_interactive_panes_as_others(devenv: Devenv, project: Path,
                                                                          home: Path) -> None:
    (project / "sub").mkdir()
    write_profile(project, """
session: ia
windows:
  - name: first
    command: sleep 1000
  - name: term
    interactive: true
    after: [first]
    command: [cd sub, "sleep 300 &", "echo $$ >> starts", echo hello-log]
  - name: named
    interactive: true
    options: {automatic-rename: on}
    command: [cd sub]
""")
    env = {"SHELL": "/bin/bash"}
    assert devenv("up", "-d", "--no-check", env=env).code == 0
    starts = project / "sub" / "starts"
    wait_until(lambda: starts.exists() and starts.read_text().count("\n") == 1, 20)
    first_shell = int(starts.read_text())

    def rows() -> dict[str, dict]:
        result = devenv("ps", "--json", env=env)
        assert result.code == 0, result.output
        return {f"{r['window']}.{r['pane']}": r for r in json.loads(result.out)}

    # ps: running, the shell's pid; a window tmux renamed (automatic-rename) is still known by its name
    got = wait_until(lambda: (r := rows()) and r["term.0"]["command"].startswith("bash") and
                     r.get("named.0", {}).get("state") == "running" and r, 10)
    assert got["term.0"]["state"] == "running" and got["term.0"]["pid"] == first_shell
    assert wait_until(lambda: "named" not in devenv.tmux("list-windows", "-t", "=ia", "-F", "#{window_name}").split(),
                      10)  # tmux shows what runs in it
    logs = devenv("logs", "term", "-n", "50")
    assert "hello-log" in logs.out, logs.output
    background = [p for p in psutil.Process(first_shell).children() if p.name() == "sleep"]
    assert len(background) == 1

    # restart: the shell and its children stopped, the lines run again in a new shell
    restarted = devenv("restart", "term", env=env)
    assert restarted.code == 0 and "SIGKILL" not in restarted.output, restarted.output
    assert gone(first_shell) and gone(background[0].pid)
    wait_until(lambda: starts.read_text().count("\n") == 2, 20)
    second_shell = int(starts.read_text().split()[1])
    assert second_shell != first_shell

    # repair: the renamed window, killed, is made again (found by its recorded name, not tmux's)
    wid = next(line.split()[0] for line in devenv.tmux("list-windows", "-t", "=ia", "-F",
                                                        "#{window_id} #{@devenv_window}").splitlines()
               if line.split()[1] == "named")
    devenv.tmux("kill-window", "-t", wid)
    repaired = devenv("up", "-d", "--no-check", env=env)
    assert repaired.code == 0 and "created window named" in repaired.output, repaired.output
    assert "up to date" in devenv("up", "-d", "--no-check", env=env).output

    # down: every shell and what it started, without SIGKILL
    pids = {second_shell, *(p.pid for p in psutil.Process(second_shell).children())}
    down = devenv("down", env=env)
    assert down.code == 0 and "SIGKILL" not in down.output, down.output
    assert all(gone(pid) for pid in pids)


def test_another_shell_gets_the_fallback(devenv: Devenv, project: Path, home: Path, tmp_path: Path) -> None:
    """A shell devenv does not know: /bin/sh runs the lines, then the shell starts where they left it
    (their cd and exports carry over)."""
    other = tmp_path / "bin" / "othershell"
    other.parent.mkdir()
    other.symlink_to(shutil.which("bash") or "/bin/bash")
    (project / "sub").mkdir()
    write_profile(project, """
session: other
windows:
  - name: term
    interactive: true
    command: [cd sub, export FOO=bar]
""")
    assert devenv("up", "-d", "--no-check", env={"SHELL": str(other)}).code == 0
    sub = project / "sub"
    assert wait_until(lambda: tmux_value(devenv, "=other:term", "#{pane_current_path}") == str(sub), 10)
    devenv.tmux("send-keys", "-t", "=other:term", "-l", 'echo "$FOO" > foo')
    devenv.tmux("send-keys", "-t", "=other:term", "Enter")
    assert wait_until(lambda: (sub / "foo").exists() and (sub / "foo").read_text() == "bar\n", 10)
    proc = shell_of(int(tmux_value(devenv, "=other:term", "#{pane_pid}")))
    assert proc is not None and proc.cmdline() == [str(other)]  # exec'd: the shell itself, at its prompt
