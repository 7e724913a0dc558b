"""import, pure: tmuxinator and tmuxp configs to profile data by each tool's own rules
(tmuxinator 3: project.rb, window.rb, pane.rb, template.erb; tmuxp 1.7: loader.expand / trickle,
builder/classic.py). The whole corpus is in test_import_corpus.py; these pin each rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from devenv.adopt.importers import convert
from devenv.errors import ProfileError


def run(text: str, tmp_path: Path, name: str = "cfg.yml", **environ: str):
    project = tmp_path / "proj"
    project.mkdir(exist_ok=True)
    env = {"HOME": str(tmp_path / "home"), **environ}
    return convert(textwrap.dedent(text), project / name, project, env)


def windows(result) -> list[dict]:
    return result.profile["windows"]


# --------------------------------------------------------------------------- tmuxinator


def test_tmuxinator_precedence_is_tmuxinators(tmp_path: Path) -> None:
    result = run("""\
        name: other
        project_name: proj
        root: ~/y
        project_root: ~/x
        pre_window: source env.sh
        rbenv: 2.0
        windows:
          - kept: echo windows
        tabs:
          - a: echo tabs
          - b: echo tabs too
        """, tmp_path)
    assert result.profile["session"] == "proj" and result.profile["root"] == "${HOME}/x"
    assert [w["name"] for w in windows(result)] == ["a", "b"]  # tabs over windows
    assert windows(result)[0]["command"] == ["rbenv shell 2.0", "echo tabs"]  # rbenv over pre_window
    notes = "\n".join(result.notes)
    for left_out in ("name left out", "root left out", "windows left out", "pre_window left out"):
        assert left_out in notes


def test_tmuxinator_project_hooks_become_devenv_hooks_in_tmuxinators_order(tmp_path: Path) -> None:
    """template.erb: on_project_start, then (a new session) pre and on_project_first_start; template-stop.erb:
    on_project_stop. A list is joined with '; ' (hooks/project.rb). Hooks with no equivalent are said."""
    result = run("""\
        name: app
        on_project_first_start: [docker compose up -d, ./wait-db.sh]
        on_project_start: echo start
        pre: echo pre
        on_project_stop: docker compose stop
        on_project_restart: echo again
        on_project_exit: echo bye
        windows:
          - a: echo a
        """, tmp_path)
    assert result.profile["hooks"] == {"before_up": ["echo start", "echo pre", "docker compose up -d; ./wait-db.sh"],
                                       "after_down": ["docker compose stop"]}
    notes = "\n".join(result.notes)
    assert "on_project_start: converted to hooks.before_up: tmuxinator runs it at every start" in notes
    assert "converted to hooks.before_up: tmuxinator runs it when the session is new" in notes  # pre, first_start
    assert "on_project_stop: converted to hooks.after_down: tmuxinator runs it before the session is killed" in notes
    assert "on_project_restart: hook (run when tmuxinator attaches" in notes
    assert "on_project_exit: hook (run when the tmux client detaches" in notes
    with pytest.raises(ProfileError, match=r"cfg.yml:2: on_project_start: must be a string"):
        run("name: app\non_project_start: {a: 1}\nwindows: [{a: echo}]\n", tmp_path)


def test_tmuxinator_types_pre_window_then_pre_joined_with_and_then_the_pane(tmp_path: Path) -> None:
    result = run("""\
        name: p
        pre_window: [nvm use, export A=1]
        windows:
          - editor:
              pre: [cd src, git pull]
              panes:
                - vim
                - [make, make test]
                - {logs: tail -f log}
          - quiet:
              pre: never typed
          - one: echo one
        """, tmp_path)
    editor, quiet, one = windows(result)
    assert editor["interactive"] is True and editor["layout"] == "tiled"  # tiled after each pane, then again
    assert editor["panes"] == [
        ["nvm use; export A=1", "cd src && git pull", "vim"],
        ["nvm use; export A=1", "cd src && git pull", "make", "make test"],
        {"command": ["nvm use; export A=1", "cd src && git pull", "tail -f log"], "title": "logs"},
    ]
    assert quiet == {"name": "quiet", "interactive": True, "command": "nvm use; export A=1"}
    assert any("pre only in its panes" in n for n in result.notes)  # as tmuxinator: a window's pre needs panes
    assert one["command"] == ["nvm use; export A=1", "echo one"]
    # titles are kept; tmuxinator shows them only with enable_pane_titles
    assert result.profile["options"] == {"pane-border-status": "off"}


def test_tmuxinator_nameless_windows_spaces_focus_and_titles(tmp_path: Path) -> None:
    result = run("""\
        name: n
        enable_pane_titles: true
        pane_title_position: bottom
        pane_title_format: "[ #T ]"
        startup_window: 2
        startup_pane: 1
        windows:
          - ~: echo no name
          - " spaced ": top
          - split:
              synchronize: after
              layout: main-vertical
              panes: [a, b]
        """, tmp_path)
    nameless, spaced, split = windows(result)
    assert nameless["options"] == {"automatic-rename": "on"}  # tmux names it after what runs
    assert spaced["name"] == " spaced "  # kept as tmux keeps it
    assert split["focus"] is True and split["panes"] == ["a", {"command": "b", "focus": True}]
    assert split["options"] == {"synchronize-panes": "on"} and split["layout"] == "main-vertical"
    assert result.profile["options"] == {"pane-border-status": "bottom", "pane-border-format": "[ #T ]"}
    assert any("window index 2 read with tmux's default base-index 0" in n for n in result.notes)


# --------------------------------------------------------------------------- tmuxp


def test_tmuxp_expands_variables_in_names_folders_and_environment(tmp_path: Path) -> None:
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    result = run("""\
        session_name: ${PROJ}-$ROLE
        start_directory: ${PWD}/sub
        environment:
          DATA: $HOME/data
          REL: ./rel
          LATER: ${NOT_SET}
        windows:
          - window_name: w-$ROLE
            start_directory: ./inner
            environment: {W: "${PROJ}"}
            panes:
              - shell_command: echo $ROLE
                start_directory: ./pane
          - window_name: home
            start_directory: ~/code
        """, tmp_path, PROJ="shop", ROLE="api")
    profile = result.profile
    assert profile["session"] == "shop-api" and profile["root"] == "sub"  # ${PWD}: where import runs
    home = tmp_path / "home"
    assert profile["env"] == {"DATA": f"{home}/data", "REL": f"{tmp_path / 'proj'}/rel", "LATER": "$${NOT_SET}"}
    first, second = windows(result)
    assert first["name"] == "w-api" and first["env"] == {"W": "shop"}
    # ./inner: relative to the session's start_directory; the pane's ./pane: to the window's
    assert first["cwd"] == "inner"
    assert first["panes"] == [{"command": "echo $ROLE", "cwd": "pane"}]  # commands: the shell expands them
    assert second["cwd"] == "${HOME}/code"
    assert any("$NOT_SET is not set here" in n for n in result.notes)


def test_tmuxp_before_script_focus_order_and_environment(tmp_path: Path) -> None:
    result = run("""\
        session_name: s
        before_script: ./bootstrap.sh --quick
        shell_command_before: [source .venv/bin/activate]
        windows:
          - window_name: later
            window_index: 2
            focus: true
          - window_name: first
            focus: true
            environment: {FOO: WINDOW, BAR: b}
            shell_command_before: cd app
            panes:
              - shell_command_before: [export X=1]
                shell_command: [{cmd: make, sleep_before: 1}, run]
              - environment: {FOO: PANE}
              - blank
        """, tmp_path)
    assert result.profile["hooks"] == {"before_up": ["./bootstrap.sh --quick"]}
    first, later = windows(result)  # tmux numbers windows: first gets 0, later asked for 2
    assert first["name"] == "first" and later["name"] == "later"
    assert first["focus"] is True and "focus" not in later  # the last one with focus in the config
    panes = first["panes"]
    # session, window, then pane shell_command_before; the sleep carries on to the next command
    assert panes[0]["command"] == ["source .venv/bin/activate", "cd app", "export X=1", "sleep 1", "make",
                                   "sleep 1", "run"]
    assert panes[0]["env"] == {"FOO": "WINDOW", "BAR": "b"}  # a pane's environment replaces the window's
    assert panes[1] == {"command": ["source .venv/bin/activate", "cd app"], "env": {"FOO": "PANE"}}  # typed too
    assert panes[2]["focus"] is True  # the last pane made stays active
    assert "env" not in first
    assert any("window_index" in n for n in result.notes)


def test_tmuxp_options_go_where_devenv_can_set_them(tmp_path: Path) -> None:
    result = run("""\
        session_name: s
        options: {status: off}
        global_options: {mouse: on, escape-time: 0}
        windows:
          - window_name: w
            options: {main-pane-height: "${H}", pane-active-border-fg: red, base-index: 1}
            options_after: {synchronize-panes: on}
            layout: main-horizontal
            panes: [a, b]
        """, tmp_path, H="7")
    assert result.profile["options"] == {"mouse": "on", "status": "off", "base-index": "1"}
    w = windows(result)[0]
    assert w["options"] == {"main-pane-height": "7", "synchronize-panes": "on"}
    notes = "\n".join(result.notes)
    assert "global_options: set on this session only" in notes
    assert "escape-time' is a tmux server option" in notes
    assert "unknown tmux option 'pane-active-border-fg'" in notes
    assert "a session option set on a window" in notes


def test_one_note_per_kind_of_loss(tmp_path: Path) -> None:
    panes = "\n".join(f"      - shell_command: [echo {i}]\n        suppress_history: false" for i in range(29))
    result = run(f"session_name: s\nwindows:\n  - window_name: w\n    panes:\n{panes}\n", tmp_path)
    lines = [n for n in result.notes if "suppress_history" in n]
    assert len(lines) == 1 and "(29 places; also lines 8, 10, 12" in lines[0]


@pytest.mark.parametrize(("text", "where"), [
    ("session_name: s\nstart_directory: {HOME: ~}\nwindows: [{window_name: a}]\n", "cfg.yml:2: start_directory"),
    ("session_name: s\nstart_directory: [a, b]\nwindows: [{window_name: a}]\n", "cfg.yml:2: start_directory"),
    ("session_name: s\nwindows:\n  - window_name: {a: b}\n", "cfg.yml:3: windows[0].window_name"),
    ("session_name: s\nwindows:\n  - window_name: a\n    panes: {a: b}\n", "cfg.yml:4: windows[0].panes"),
    ("session_name: s\nenvironment: [A=1]\nwindows: [{window_name: a}]\n", "cfg.yml:2: environment"),
    ("name: t\nroot: {a: b}\nwindows: [{a: b}]\n", "cfg.yml:2: root"),
    ("name: t\nwindows: {a: b}\n", "cfg.yml:2: windows"),
    ("name: t\nwindows:\n  - a:\n      panes: [{x: 1, y: 2}]\n", "cfg.yml:4: windows[0].a.panes[0]"),
])
def test_values_of_the_wrong_type_are_profile_errors(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(ProfileError) as info:
        run(text, tmp_path)
    assert where in str(info.value), str(info.value)


def test_foreign_yaml_as_the_tools_read_it(tmp_path: Path) -> None:
    """A null key is a nameless window; a key given twice keeps its last value (PyYAML and Ruby do)."""
    result = run("name: t\nwindows:\n  - ~: top\n  - a:\n      layout: tiled\n      layout: even-vertical\n"
                 "      panes: [x, y]\n", tmp_path)
    nameless, a = windows(result)
    assert nameless["options"] == {"automatic-rename": "on"} and a["layout"] == "even-vertical"
    assert any("given twice" in n for n in result.notes)


def test_typed_commands_become_interactive_lines_and_what_they_cannot_do_is_said(tmp_path: Path) -> None:
    result = run("""\
        name: app
        windows:
          - remote:
              panes:
                - [ssh server, htop]
                - [cd sub, ls]
          - server: server
          - server: again
        """, tmp_path)
    remote, first, second = windows(result)
    assert remote["interactive"] is True and remote["panes"] == [["ssh server", "htop"], ["cd sub", "ls"]]
    notes = "\n".join(result.notes)
    assert "typed after `ssh server` went into that program" in notes  # htop ran on the host there
    # a second window of a name: unique in the profile, shown by tmux as the original named it
    assert (first["name"], second["name"]) == ("server", "server-2")
    assert second["options"] == {"automatic-rename": "on", "automatic-rename-format": "server"}
    assert "tmux still shows it as 'server'" in notes
