"""import (tmuxinator, tmuxp), init (from the project), freeze (from the running session), completion:
end to end through the real CLI, on a private tmux server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from devenv.profile.load import load_file
from devenv.profile.model import Probe
from devenv.wait import wait_until
from tests.conftest import REPO, Devenv, write_profile

FIXTURE = REPO / "tests" / "fixtures" / "nextjs-prisma"  # a copy of shared/fixtures/nextjs-prisma


def window_names(dv: Devenv, session: str) -> list[str]:
    return dv.tmux("list-windows", "-t", f"={session}", "-F", "#{window_name}").splitlines()


def pane_counts(dv: Devenv, session: str) -> dict[str, int]:
    out = dv.tmux("list-windows", "-t", f"={session}", "-F", "#{window_name}\t#{window_panes}")
    return {name: int(n) for name, n in (line.split("\t") for line in out.splitlines())}


def wait_for_files(*paths: Path, timeout: float = 20) -> None:
    try:
        wait_until(lambda: all(p.exists() for p in paths), timeout)
    except TimeoutError:
        missing = [str(p) for p in paths if not p.exists()]
        raise AssertionError(f"never written: {missing}") from None


def read_line(path: Path, timeout: float = 20) -> str:
    return wait_until(lambda: path.exists() and path.read_text().endswith("\n") and path.read_text(), timeout).strip()


# --------------------------------------------------------------------------- import: tmuxinator

TMUXINATOR = """\
# ~/.tmuxinator/tmx.yml
name: tmx
root: {project}
on_project_start: pwd > {marks}/started
on_project_stop: [touch {marks}/stop-1, touch {marks}/stop-2]
tmux_options: -f /dev/null
pre_window: export GREETING=hi
startup_window: server
windows:
  - editor:
      layout: main-vertical
      panes:
        - touch {marks}/editor-0
        - - touch {marks}/editor-1a
          - touch {marks}/editor-1b
  - server: echo "$GREETING" > {marks}/server
  - 3: touch <%= ENV["MARKS"] %>/three
  - shell:
"""


def test_import_tmuxinator_runs_every_command(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    src = project / "tmx.yml"
    src.write_text(TMUXINATOR.format(project=project, marks=marks))

    result = devenv("import", "tmx.yml", "-o", ".devenv/default.yaml")
    assert result.code == 0, result.err
    assert "tmux_options: tmux command-line option not converted" in result.err
    assert "on_project_start: converted to hooks.before_up" in result.err
    profile = load_file(project / ".devenv" / "default.yaml", project)
    assert profile.session == "tmx"
    assert profile.root == "."  # the tmuxinator root is this project
    assert profile.window("server").focus  # startup_window
    assert profile.window("editor").layout == "main-vertical"

    up = devenv("up", "-d", "--no-check", env={"MARKS": str(marks)})
    assert up.code == 0, up.err
    assert window_names(devenv, "tmx") == ["editor", "server", "3", "shell"]
    assert pane_counts(devenv, "tmx")["editor"] == 2
    wait_for_files(marks / "editor-0", marks / "editor-1a", marks / "editor-1b", marks / "three")
    assert read_line(marks / "server") == "hi"  # pre_window ran first, in the same shell
    assert read_line(marks / "started") == str(project)  # on_project_start, in the root
    assert devenv("down").code == 0
    assert (marks / "stop-1").exists() and (marks / "stop-2").exists()  # on_project_stop


def test_import_prints_to_stdout_and_lists_what_is_not_converted(devenv: Devenv, project: Path) -> None:
    (project / "erb.yml").write_text(
        "name: erb\nsocket_name: other\nattach: false\n"
        "windows:\n  - app:\n      synchronize: true\n      panes: [<%= @settings['cmd'] %>]\n"
        "  - api: rails s -p <%= ENV.fetch('PORT', '3000') %>\n"
        "  - clock: echo <%= Time.now %>\n")
    result = devenv("import", "erb.yml")
    assert result.code == 0, result.err
    for what in ("socket_name", "attach", "@settings['cmd']", "Time.now"):
        assert what in result.err
    data = yaml.safe_load(result.out)
    # typed into a shell by tmuxinator: interactive panes; synchronize: the window's tmux option
    assert data["windows"][0] == {"name": "app", "interactive": True, "command": "${cmd}",
                                  "options": {"synchronize-panes": "on"}}
    assert data["windows"][1] == {"name": "api", "interactive": True, "command": "rails s -p ${PORT:-3000}"}
    assert data["windows"][2] == {"name": "clock", "interactive": True, "command": "echo <%= Time.now %>"}


def test_import_masks_secrets_on_stdout_only(devenv: Devenv, project: Path) -> None:
    (project / "db.yml").write_text("name: db\nwindows:\n  - psql: psql postgres://app:hunter2@localhost/app\n")
    shown = devenv("import", "db.yml")
    assert shown.code == 0 and "hunter2" not in shown.out + shown.err and "-o OUT" in shown.err
    written = devenv("import", "db.yml", "-o", "db-profile.yaml")
    assert written.code == 0 and "hunter2" not in written.out + written.err
    assert "hunter2" in (project / "db-profile.yaml").read_text()  # the file keeps the command working
    assert not (project / ".devenv" / "default.yaml").exists()


# --------------------------------------------------------------------------- import: tmuxp

TMUXP = """\
session_name: tp
start_directory: ./
before_script: ./bootstrap.sh
shell_command_before:
  - cmd: export FROM_BEFORE=yes
environment:
  GREETING: hello
  API_TOKEN: do-not-copy-me
windows:
  - window_name: api
    layout: even-horizontal
    options: {{automatic-rename: "off"}}
    focus: true
    panes:
      - shell_command:
          - cd sub
          - echo "$FROM_BEFORE $GREETING" > {marks}/api-0
          - pwd > {marks}/api-0-pwd
      - shell_command: touch {marks}/api-1
      - blank
  - window_name: jobs
    environment: {{JOB: j1}}
    panes:
      - shell_command: [{{cmd: 'echo "$JOB" > {marks}/jobs'}}]
"""


def test_import_tmuxp_runs_every_command(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (project / "sub").mkdir()
    (project / ".tmuxp.yaml").write_text(TMUXP.format(marks=marks))
    (project / "bootstrap.sh").write_text(f"#!/bin/sh\ntouch {marks}/bootstrapped\n")
    (project / "bootstrap.sh").chmod(0o755)

    result = devenv("import", ".tmuxp.yaml", "-o", ".devenv/default.yaml")
    assert result.code == 0, result.err
    assert "API_TOKEN" in result.err
    text = (project / ".devenv" / "default.yaml").read_text()
    assert "do-not-copy-me" not in text + result.out + result.err  # a secret is never copied nor printed
    profile = load_file(project / ".devenv" / "default.yaml", project)
    assert profile.requires.env == ("API_TOKEN",)
    assert profile.window("api").focus and profile.window("api").layout == "even-horizontal"
    assert profile.hooks.before_up == ("./bootstrap.sh",)  # run before the build, in the root
    assert dict(profile.window("api").options) == {"automatic-rename": "off"}
    assert profile.window("api").interactive and profile.window("api").focus_pane == 2  # tmuxp: the last pane

    up = devenv("up", "-d", "--no-check")
    assert up.code == 0, up.err
    assert (marks / "bootstrapped").exists()  # before_script ran before the build
    assert window_names(devenv, "tp") == ["api", "jobs"]
    assert pane_counts(devenv, "tp") == {"api": 3, "jobs": 1}
    assert read_line(marks / "api-0") == "yes hello"
    assert read_line(marks / "api-0-pwd") == str((project / "sub").resolve())
    assert read_line(marks / "jobs") == "j1"
    wait_for_files(marks / "api-1")


def test_import_tmuxp_json(devenv: Devenv, project: Path) -> None:
    config = {"session_name": "js", "windows": [
        {"window_name": "one", "panes": [{"shell_command": ["echo a", "echo b"]}, None, ""]},
        {"window_name": 2, "panes": ["top"], "start_directory": "~/x"},
    ]}
    (project / "ws.json").write_text(json.dumps(config))
    result = devenv("import", "ws.json")
    assert result.code == 0, result.err
    data = yaml.safe_load(result.out)
    assert data["windows"] == [
        {"name": "one", "interactive": True, "panes": [["echo a", "echo b"], None, {"focus": True}]},
        {"name": "2", "cwd": "${HOME}/x", "interactive": True, "command": "top"},
    ]


def test_import_refuses_bad_input_and_existing_output(devenv: Devenv, project: Path) -> None:
    missing = devenv("import", "nope.yml")
    assert missing.code == 2 and "nope.yml" in missing.err

    (project / "other.yml").write_text("just: [some, yaml]\n")
    other = devenv("import", "other.yml")
    assert other.code == 2 and "other.yml" in other.err and "not a tmuxinator or tmuxp config" in other.err

    (project / "mine.yml").write_text("session: x\nwindows: [{name: a, command: b}]\n")
    mine = devenv("import", "mine.yml")
    assert mine.code == 2 and "devenv profile already" in mine.err

    (project / "broken.yml").write_text("windows: [oops\n")
    broken = devenv("import", "broken.yml")
    assert broken.code == 2 and "broken.yml" in broken.err

    (project / "ok.yml").write_text("name: ok\nwindows:\n  - a: echo a\n")
    target = write_profile(project, "windows: [{name: keep}]\n")
    refused = devenv("import", "ok.yml", "-o", ".devenv/default.yaml")
    assert refused.code == 1 and "--force" in refused.err
    assert target.read_text() == "windows: [{name: keep}]\n"
    forced = devenv("import", "ok.yml", "-o", ".devenv/default.yaml", "--force")
    assert forced.code == 0, forced.err
    assert [w.name for w in load_file(target, project).windows] == ["a"]


# --------------------------------------------------------------------------- init


@pytest.fixture
def nextjs(tmp_path: Path, home: Path) -> Path:
    """A writable copy of the Next.js + Prisma fixture, with its .env.example as .env."""
    app = tmp_path / "buzz"
    shutil.copytree(FIXTURE, app, copy_function=shutil.copyfile)
    for path in [app, *app.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.copyfile(app / ".env.example", app / ".env")
    (app / "logs").mkdir()
    return app


def test_init_writes_a_profile_for_a_nextjs_prisma_project(nextjs: Path) -> None:
    dv = Devenv(nextjs, None)
    result = dv("init")
    assert result.code == 0, result.err
    path = nextjs / ".devenv" / "default.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=./profile.schema.json\n")
    assert json.loads((nextjs / ".devenv" / "profile.schema.json").read_text())["title"] == "devenv profile"

    config = dv("config")
    assert config.code == 0, config.err
    assert "change-me" not in config.out  # the password of .env stays masked

    profile = load_file(path, nextjs)
    windows = {w.name: w for w in profile.windows}
    assert windows["web"].command == "npm run dev" and windows["web"].focus
    assert windows["web"].ready is not None and windows["web"].ready.kind == "http"
    assert windows["web"].ready.target == "http://localhost:${PORT}/api/health"
    assert windows["worker"].command == "npm run worker"
    assert windows["worker"].after == ("web",) and windows["worker"].restart == "on-failure"
    assert windows["worker"].env == {"WORKER_API_URL": "http://localhost:${PORT}"}
    assert windows["db"].db == "DIRECT_URL" and profile.requires.database == "DIRECT_URL"
    assert windows["logs"].logs == ("logs/*.log",)
    assert not any("studio" in (w.command or "") for w in profile.windows)
    # the example's variables, but those the code gives a default (WORKER_API_URL, WORKER_MAX_RETRIES, ...)
    assert set(profile.requires.env) == {"DATABASE_URL", "DIRECT_URL", "WORKER_DB_POOL_SIZE"}
    assert [str(c) for c in profile.requires.commands] == ["node", "npm"]
    assert {f.path: f.hint for f in profile.requires.files}["node_modules"] == "npm install"
    assert ".env" in profile.env_files and ".env.local" in profile.env_files
    assert ".env.example" not in profile.env_files
    assert profile.session == "buzz-flow"


def test_init_never_overwrites_without_force(nextjs: Path) -> None:
    dv = Devenv(nextjs, None)
    write_profile_dir = nextjs / ".devenv"
    write_profile_dir.mkdir()
    (write_profile_dir / "default.yaml").write_text("windows: [{name: mine}]\n")
    refused = dv("init")
    assert refused.code == 1
    assert "already exists" in refused.err and "--force" in refused.err
    assert (write_profile_dir / "default.yaml").read_text() == "windows: [{name: mine}]\n"
    forced = dv("init", "--force")
    assert forced.code == 0, forced.err
    assert "name: web" in (write_profile_dir / "default.yaml").read_text()


def test_init_reads_a_procfile_and_an_empty_project(tmp_path: Path, home: Path) -> None:
    app = tmp_path / "rails"
    app.mkdir()
    (app / "Procfile").write_text("web: bin/rails server -p 3000\nworker: bundle exec sidekiq\nrelease: bin/migrate\n")
    (app / "log").mkdir()
    assert Devenv(app, None)("init").code == 0
    profile = load_file(app / ".devenv" / "default.yaml", app)
    assert [(w.name, w.command) for w in profile.windows if w.command] == [
        ("web", "bin/rails server -p 3000"), ("worker", "bundle exec sidekiq")]
    assert profile.window("web").ready == Probe("port", "3000") and profile.requires.ports == (3000,)
    assert profile.window("worker").after == ("web",) and profile.window("worker").restart == "on-failure"
    assert profile.window("logs").logs == ("log/*.log",)

    empty = tmp_path / "empty"
    empty.mkdir()
    result = Devenv(empty, None)("init")
    assert result.code == 0 and "shell window" in result.out
    assert [w.name for w in load_file(empty / ".devenv" / "default.yaml", empty).windows] == ["shell"]


# --------------------------------------------------------------------------- freeze

FREEZE_ME = """\
session: frz
windows:
  - name: api
    command: exec sleep 600
    restart: on-failure
  - name: pair
    cwd: sub
    layout: even-horizontal
    panes:
      - exec sleep 601
      - exec sleep 602
  - name: shell
  - name: term
    interactive: true
    options: {automatic-rename: on}
    command: [cd sub, echo ready]
"""


def frozen_panes(dv: Devenv, session: str) -> list[tuple[str, str, str]]:
    out = dv.tmux("list-panes", "-s", "-t", f"={session}", "-F", "#{window_name}\t#{pane_index}\t#{pane_current_path}")
    return [tuple(line.split("\t")) for line in out.splitlines()]  # type: ignore[misc]


def test_freeze_then_up_reproduces_the_session(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    write_profile(project, FREEZE_ME)
    (project / "sub").mkdir()
    assert devenv("up", "-d", "--no-check").code == 0
    wait_until(lambda: "term" not in window_names(devenv, "frz"), 10)  # tmux named it after what runs

    second = tmp_path / "second"
    (second / "sub").mkdir(parents=True)
    out = second / ".devenv" / "default.yaml"
    result = devenv("freeze", "-o", str(out))
    assert result.code == 0, result.err
    frozen = load_file(out, second)
    assert frozen.session == "frz"
    # a window tmux renamed (automatic-rename) by its name; an interactive one with its lines
    assert [w.name for w in frozen.windows] == ["api", "pair", "shell", "term"]
    assert frozen.window("term").interactive and frozen.window("term").command == "cd sub\necho ready"
    assert frozen.window("api").command == "exec sleep 600" and frozen.window("api").restart == "on-failure"
    assert [p.command for p in frozen.window("pair").panes] == ["exec sleep 601", "exec sleep 602"]
    assert frozen.window("pair").cwd == "sub" and frozen.window("pair").layout
    assert frozen.window("shell").command is None and frozen.window("api").cwd is None
    assert "env" not in yaml.safe_load(out.read_text())["windows"][0]

    devenv.tmux("kill-session", "-t", "=frz")
    again = Devenv(second, devenv.socket)
    assert again("up", "-d", "--no-check").code == 0
    assert window_names(again, "frz") == ["api", "pair", "shell", "term"]
    assert pane_counts(again, "frz") == {"api": 1, "pair": 2, "shell": 1, "term": 1}
    cwds = {(w, i): Path(p) for w, i, p in frozen_panes(again, "frz")}
    assert cwds[("pair", "0")] == cwds[("pair", "1")] == (second / "sub").resolve()
    assert cwds[("api", "0")] == second.resolve()
    # frozen again, the second session gives the same profile
    assert again("freeze").out.splitlines()[1:] == out.read_text().splitlines()[1:]


def test_freeze_needs_a_session(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: nothing-here\nwindows: [{name: a}]\n")
    absent = devenv("freeze")
    assert absent.code == 1 and "nothing-here" in absent.err

    write_profile(project, "windows: [oops\n")
    broken = devenv("freeze")
    assert broken.code == 2 and "--session" in broken.err

    devenv.tmux("new-session", "-d", "-s", "hand", "-n", "made", "-c", str(project), "exec sleep 600")
    by_name = devenv("freeze", "--session", "hand")
    assert by_name.code == 0, by_name.err
    assert yaml.safe_load(by_name.out) == {"session": "hand", "windows": [
        {"name": "made", "command": "exec sleep 600", "focus": True}]}


# --------------------------------------------------------------------------- completion


def test_completion_of_profiles_and_windows(project: Path, home: Path) -> None:
    from devenv.cli.app import cli
    from devenv.cli.completion import complete_profiles, complete_windows

    write_profile(project, "windows: [{name: api, command: x}, {name: worker, command: y}, {name: db, db: X}]\n")
    write_profile(project, "extends: default\n", name="alice")
    ctx = cli.make_context("devenv", ["-C", str(project)], resilient_parsing=True)
    names = [item.value for item in complete_profiles(ctx, ctx.command.params[0], "")]
    assert "default" in names and "alice" in names and names.count("default") == 1
    assert [item.value for item in complete_profiles(ctx, ctx.command.params[0], "al")] == ["alice"]

    restart = click.Command("restart", params=[click.Argument(["windows"], nargs=-1)])
    sub = restart.make_context("restart", ["api"], parent=ctx, resilient_parsing=True)
    assert [item.value for item in complete_windows(sub, restart.params[0], "")] == ["worker", "db"]
    assert [item.value for item in complete_windows(sub, restart.params[0], "w")] == ["worker"]

    broken = cli.make_context("devenv", ["-C", str(project / "nowhere")], resilient_parsing=True)
    assert complete_windows(broken, restart.params[0], "") == []


def test_shell_completion_of_commands(tmp_path: Path, home: Path) -> None:
    env = {**os.environ, "_DEVENV_COMPLETE": "bash_complete", "COMP_WORDS": "devenv fr", "COMP_CWORD": "1"}
    proc = subprocess.run([sys.executable, "-m", "devenv"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["plain,freeze"]
    source = subprocess.run([sys.executable, "-m", "devenv"], env={**os.environ, "_DEVENV_COMPLETE": "zsh_source"},
                            capture_output=True, text=True, timeout=30)
    assert "compdef" in source.stdout



def test_freeze_reads_what_was_typed_into_a_shell(devenv: Devenv, project: Path) -> None:
    """A session built by typing (tmuxinator, tmuxp): the foreground program is the command."""
    devenv.tmux("new-session", "-d", "-s", "typed", "-n", "editor", "-c", str(project))
    devenv.tmux("split-window", "-t", "=typed:=editor", "-c", str(project))
    devenv.tmux("send-keys", "-t", "=typed:=editor.0", "sleep 700 # typed", "Enter")
    wait_until(lambda: devenv.tmux("display-message", "-p", "-t", "=typed:=editor.0",
                                   "#{pane_current_command}").strip() == "sleep", 20)
    result = devenv("freeze", "--session", "typed")
    assert result.code == 0, result.err
    window = yaml.safe_load(result.out)["windows"][0]
    assert window["name"] == "editor" and window["panes"] == ["sleep 700", None]
    assert window["layout"]  # tmux's layout string, kept for a window of several panes
