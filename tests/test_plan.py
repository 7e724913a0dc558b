"""The plan is pure: profile + what runs -> tmux commands. Compared as data, no tmux."""

from __future__ import annotations

from pathlib import Path

import pytest

from devenv.profile.env import resolve
from devenv.profile.load import load
from devenv.session import options, plan
from devenv.session.live import LivePane, LiveSession
from devenv.session.tmux import quote, to_script
from tests.conftest import write_profile

PROFILE = """\
session: app
env: {TOKEN_SECRET: "s3cr3t-value", PORT: "3000"}
windows:
  - name: web
    command: npm run dev
  - name: worker
    command: node worker.js
    after: [web]
    restart: on-failure
  - name: split
    layout: tiled
    panes: [a, b]
  - name: db
    db: DIRECT_URL
"""


@pytest.fixture
def resolved(project: Path, home: Path):
    write_profile(project, PROFILE)
    return resolve(load(project), project, environ={"HOME": str(home), "PATH": "/bin"})


@pytest.fixture
def ctx(tmp_path: Path) -> plan.Context:
    return plan.Context(socket_label="sock", state_dir=tmp_path / "state", runner=Path("/opt/devenv/runner.sh"),
                        python="/usr/bin/python3", profile_name="default", socket="sock")


def names(commands, verb: str) -> list[str]:
    return [c[c.index("-n") + 1] for c in commands if c[0] == verb and "-n" in c]


def env_of(command: tuple[str, ...]) -> dict[str, str]:
    return dict(command[i + 1].split("=", 1) for i, a in enumerate(command) if a == "-e")


def live(*windows: tuple[str, int, bool]) -> LiveSession:
    panes = []
    for index, (name, count, dead) in enumerate(windows):
        for p in range(count):
            panes.append(LivePane(f"@{index}", index + 1, name, f"%{index * 10 + p}", p + 1, dead, 3 if dead else None,
                                  1000 + index * 10 + p))
    return LiveSession("app", tuple(panes))


def test_cold_plan_builds_under_a_temporary_name_and_renames_last(resolved, ctx) -> None:
    p = plan.cold(resolved, ctx, "abcd")
    assert p.build_name == "__devenv_abcd"
    assert p.commands[0][0] == "new-session"
    assert names(p.commands, "new-session") + names(p.commands, "new-window") == ["web", "worker", "split", "db"]
    assert p.commands[-1] == ("rename-session", "-t", "=__devenv_abcd", "--", "app")  # a name may start with -
    # every command names its target, and never by a window name (it may hold '.' or ':')
    for command in p.commands[1:]:
        assert "-t" in command, command
        target = command[command.index("-t") + 1]
        assert target in ("=__devenv_abcd", "=__devenv_abcd:", "=__devenv_abcd:{end}",
                          "=__devenv_abcd:{end}.{top-left}"), command


def test_cold_plan_gives_each_pane_its_environment_and_the_runner(resolved, ctx) -> None:
    p = plan.cold(resolved, ctx, "abcd")
    session_env = env_of(p.commands[0])
    assert session_env["PORT"] == "3000" and session_env["PATH"] == "/bin"
    worker = next(c for c in p.commands if c[0] == "new-window" and "worker" in c)
    env = env_of(worker)
    assert env["DEVENV_CMD"] == "node worker.js"
    assert env["DEVENV_MARK"] == "sock/app/worker"
    assert env["PGAPPNAME"] == "app/worker"
    assert env["DEVENV_RESTART"] == "on-failure"
    assert '"kind":"running"' in env["DEVENV_AFTER"]
    assert "PORT" not in env  # given once to the session
    assert worker[-2:] == ("/bin/sh", "/opt/devenv/runner.sh")  # exec'd by tmux directly, no shell
    # the log is private (0600 in a 0700 folder the runner made, or remade if it was removed) and appended to
    assert env["DEVENV_PIPE"] == f"umask 077; exec cat >> '{ctx.state_dir}/worker.0.log'"
    assert plan.pipe_command("/s/a.log") == "umask 077; mkdir -p '/s' && exec cat >> '/s/a.log'"  # repair's
    db = next(c for c in p.commands if c[0] == "new-window" and "db" in c)
    assert env_of(db)["DEVENV_DB"] == "DIRECT_URL"
    assert env_of(db)["DEVENV_CMD"] == "'/usr/bin/python3' -m devenv db console"
    splits = [c for c in p.commands if c[0] == "split-window"]
    assert len(splits) == 1 and env_of(splits[0])["DEVENV_CMD"] == "b"
    # panes of one window are told apart by the database: app/split.0, app/split.1
    split = next(c for c in p.commands if c[0] == "new-window" and "split" in c)
    assert (env_of(split)["PGAPPNAME"], env_of(splits[0])["PGAPPNAME"]) == ("app/split.0", "app/split.1")
    assert not [c for c in p.commands if c[0] == "pipe-pane"]  # the runner opens each pane's log


def test_reconcile_of_a_complete_healthy_session_does_nothing(resolved, ctx) -> None:
    p = plan.reconcile(resolved, ctx, live(("web", 1, False), ("worker", 1, False), ("split", 2, False),
                                           ("db", 1, False)), "x")
    assert p.empty and p.changes == ()


def test_reconcile_creates_missing_windows_in_order_and_respawns_dead_panes(resolved, ctx) -> None:
    p = plan.reconcile(resolved, ctx, live(("web", 1, False), ("split", 2, True), ("other", 1, False)), "x")
    assert p.changes == ("created window worker", "restarted split.0 (exit 3)", "restarted split.1 (exit 3)",
                         "created window db")
    new_windows = [c for c in p.commands if c[0] == "new-window"]
    # worker goes after web (@0); db after split (@1)
    assert new_windows[0][:6] == ("new-window", "-d", "-a", "-t", "@0", "-n")
    assert new_windows[1][:6] == ("new-window", "-d", "-a", "-t", "@1", "-n")
    respawns = [c for c in p.commands if c[0] == "respawn-pane"]
    assert [c[3] for c in respawns] == ["%10", "%11"]
    # a repaired pane gets its whole environment: the session's may be stale
    assert env_of(respawns[0])["PORT"] == "3000"


def test_a_missing_first_window_goes_before_the_others(resolved, ctx) -> None:
    p = plan.reconcile(resolved, ctx, live(("worker", 1, False), ("split", 2, False), ("db", 1, False)), "x")
    assert p.changes == ("created window web",)
    assert p.commands[0][:6] == ("new-window", "-d", "-b", "-t", "@0", "-n")


def test_respawn_restarts_only_the_named_windows(resolved, ctx) -> None:
    p = plan.respawn(resolved, ctx, live(("web", 1, False), ("worker", 1, False), ("split", 2, False),
                                         ("db", 1, False)), ["worker"])
    assert p.changes == ("restarted worker",)
    assert [c[0] for c in p.commands] == ["respawn-pane"]


def test_the_rendered_script_quotes_for_tmux(resolved, ctx) -> None:
    script = to_script(plan.cold(resolved, ctx, "abcd").commands)
    assert script.count("\n") == 1  # one line: a failure stops the rest
    assert "'TOKEN_SECRET=s3cr3t-value'" in script
    assert quote("it's $HOME") == "'it'\"'\"'s $HOME'"
    assert quote("a\nb$c") == '"a\\nb\\$c"'


def test_the_first_panes_own_variables_do_not_become_the_sessions(resolved, ctx) -> None:
    p = plan.cold(resolved, ctx, "abcd")
    unset = {c[-1] for c in p.commands if c[0] == "set-environment"}
    assert {"DEVENV_CMD", "DEVENV_MARK", "DEVENV_STATE", "PGAPPNAME"} <= unset
    assert "PORT" not in unset  # the profile's variables stay the session's
    first_other = next(i for i, c in enumerate(p.commands) if c[0] == "new-window")
    assert max(i for i, c in enumerate(p.commands) if c[0] == "set-environment") < first_other


def test_run_process_captures_output_feeds_input_and_times_out(tmp_path: Path) -> None:
    from devenv.spawn import run_process

    big = "x" * 300_000  # more than a pipe holds, both ways
    done = run_process(["/bin/sh", "-c", "cat; echo oops >&2; exit 3"], big, 10)
    assert done == (3, big, "oops\n")
    assert run_process(["/bin/sh", "-c", "echo $ONLY"], None, 10, env={"ONLY": "this"}).stdout == "this\n"
    with pytest.raises(TimeoutError):
        run_process(["/bin/sh", "-c", "exec sleep 30"], None, 0.3)
    with pytest.raises(OSError):
        run_process([str(tmp_path / "missing")], None, 1)



def test_run_process_runs_meanwhile_while_the_process_runs(tmp_path: Path) -> None:
    """``meanwhile`` runs once the process started and before it is reaped (here it lets the process end);
    what it raises comes once the process has ended, its output collected."""
    from devenv.spawn import run_process

    go = tmp_path / "go"
    argv = ["/bin/sh", "-c", f"until [ -e '{go}' ]; do sleep 0.01; done; echo ended"]
    assert run_process(argv, None, 20, meanwhile=go.touch).stdout == "ended\n"  # it could not end before
    go.unlink()

    def fails() -> None:
        go.touch()
        raise KeyError("meanwhile")

    with pytest.raises(KeyError, match="meanwhile"):
        run_process(argv, None, 20, meanwhile=fails)


OPTIONS_PROFILE = """\
session: opt
options: {status-left: "[#S]", main-pane-height: "9"}
windows:
  - name: term
    interactive: true
    panes:
      - {command: [cd sub, ls], title: "edit #1"}
      - {command: make, focus: true}
      - null
  - name: auto
    options: {automatic-rename: on}
    command: top
"""


@pytest.fixture
def opts(project: Path, home: Path):
    write_profile(project, OPTIONS_PROFILE)
    return resolve(load(project), project, environ={"HOME": str(home), "PATH": "/bin"})


def test_cold_plan_applies_options_titles_layout_and_focus(opts, ctx) -> None:
    from devenv.session import options

    p = plan.cold(opts, ctx, "abcd")
    cmds = list(p.commands)
    target = "=__devenv_abcd:{end}"
    # session options on this session only, right after it is made; never -g
    assert ("set-option", "-t", "=__devenv_abcd:", "status-left", "[#S]") in cmds
    assert not [c for c in cmds if c[0] == "set-option" and "-g" in c]
    # each window: its name recorded, the profile's window options, its own; titles as data
    assert ("set-option", "-w", "-t", target, "@devenv_window", "term") in cmds
    assert cmds.count(("set-option", "-w", "-t", target, "main-pane-height", "9")) == 2
    assert ("set-option", "-F", "-w", "-t", target, "pane-border-status", options.AUTO_BORDER) in cmds
    assert ("select-pane", "-t", target, "-T", "edit ##1") in cmds
    assert ("select-pane", "-t", target, "-T", "term.1") in cmds  # untitled, in a window of several: its place
    assert ("set-option", "-w", "-t", target, "automatic-rename", "on") in cmds
    # no layout: tmux's own splits; then the pane with focus, by position
    term = cmds[:cmds.index(next(c for c in cmds if c[0] == "new-window"))]
    assert ("select-layout", "-t", target, options.default_layout(3, 200, 50)) in term
    assert term[-2:] == [("select-pane", "-t", f"{target}.1"), ("set-option", "-w", "-u", "-t", target,
                                                                 "pane-base-index")]
    # the panes with lines run the user's interactive shell; a plain one is tmux's default shell
    first = env_of(cmds[0])
    assert first["DEVENV_INTERACTIVE"] == "1" and first["DEVENV_CMD"] == "cd sub\nls"
    splits = [c for c in cmds if c[0] == "split-window"]
    assert env_of(splits[0])["DEVENV_INTERACTIVE"] == "1" and "DEVENV_INTERACTIVE" not in env_of(splits[1])
    auto = next(c for c in cmds if c[0] == "new-window")
    assert "DEVENV_INTERACTIVE" not in env_of(auto)
    assert to_script(cmds).count("\n") == 1  # still one line: a failing option stops the whole build


def test_a_window_tmux_renames_is_not_renamed_by_a_repair(opts, ctx) -> None:
    p = plan.reconcile(opts, ctx, live(("term", 3, False)), "x")
    assert p.changes == ("created window auto",)
    # rename-window would turn automatic-rename off: it gets automatic-rename last instead
    assert not [c for c in p.commands if c[0] == "rename-window"]
    assert p.commands[-1] == ("set-option", "-w", "-t", "=app:=__devenv_x_1", "automatic-rename", "on")
    assert ("set-option", "-w", "-t", "=app:=__devenv_x_1", "@devenv_window", "auto") in p.commands


def test_a_window_whose_panes_changed_is_made_anew_in_its_place(opts, ctx) -> None:
    session = live(("term", 2, False), ("auto", 1, False))
    p = plan.respawn(opts, ctx, session, ["term"], "y")  # two panes live, three in the profile
    assert p.changes == ("made term anew",)
    assert p.commands[0][:5] == ("new-window", "-d", "-a", "-t", "@0")
    assert p.commands[-3:] == (("kill-window", "-t", "@0"),
                               ("move-window", "-d", "-s", "=app:=__devenv_y_0_new", "-t", "=app:1"),
                               ("rename-window", "-t", "=app:=__devenv_y_0_new", "--", "term"))
    assert p.windows == (("__devenv_y_0_new", "term", 3),)
    same = plan.respawn(opts, ctx, live(("term", 3, False), ("auto", 1, False)), ["term"], "y")
    assert [c[0] for c in same.commands] == ["respawn-pane"] * 3 + ["pipe-pane"]  # same panes: respawned in place
    rebuilt = plan.respawn(opts, ctx, live(("term", 3, False), ("auto", 1, False)), ["term"], "y", rebuild={"term"})
    assert ("kill-window", "-t", "@0") in rebuilt.commands


def test_drift_says_what_changed_and_what_makes_a_window_anew(opts, resolved, ctx) -> None:
    window = opts.profile.window("term")
    old = plan.definition(opts, ctx, window)
    assert old["interactive"] == [True, True, False] and old["titles"] == ["edit #1", None, None]
    assert old["focus"] == 1 and old["options"] == {"main-pane-height": "9",
                                                  "pane-border-status": options.AUTO_BORDER}
    assert plan.drift(old, old) is None
    fewer = {**old, "command": old["command"][:2], "cwd": old["cwd"][:2], "interactive": [True, True]}
    assert plan.drift(old, fewer) == "panes"
    assert plan.rebuilds("panes") and plan.rebuilds("command; titles") and not plan.rebuilds("command; env PORT")
    # a window none of the new keys concern is recorded as before: an older record does not drift
    record = plan.definition(resolved, ctx, resolved.profile.window("web"))
    assert set(record) == {"command", "cwd", "layout", "env"}


def test_windows_are_found_by_the_name_devenv_recorded_not_the_one_tmux_shows() -> None:
    from devenv.session.live import PANE_FORMAT, find_session

    fields = ["$1", "app", "app", "%2Fp", "@4", "2", "%9", "0", "0", "", "123", "200", "50", "my%20web", "bash"]
    assert len(fields) == PANE_FORMAT.count("\t") + 1
    found = find_session("app", "\t".join(fields) + "\n")
    assert found is not None and list(found.windows()) == ["my web"]
    assert found.panes[0].width == 200 and found.panes[0].height == 50
    hand_made = fields[:13] + ["", "vim"]
    assert list(find_session("app", "\t".join(hand_made) + "\n").windows()) == ["vim"]  # type: ignore[union-attr]
