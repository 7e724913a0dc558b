"""devenv/session/options.py: the extra tmux commands of options, titles, focus and layouts. Compared as
data, then run on a private tmux server: set on one session only, never globally; the default layout is
the one tmux's own splits give."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from devenv.errors import ProfileError
from devenv.profile.load import load_file
from devenv.profile.model import Pane, Window
from devenv.session import options
from devenv.session.tmux import to_script
from tests.conftest import write_profile

PROFILE = """\
session: opts
options:
  status-left: "[#S]"
  mouse: true
  automatic-rename: off
  "@mine": x
windows:
  - name: one
    options: {main-pane-height: 7, synchronize-panes: on}
    layout: main-horizontal
    panes:
      - {command: a, title: "editor #1"}
      - {command: b, focus: true}
      - c
  - name: two
    options: {automatic-rename: on}
    panes: [x, y, z]
  - name: three
"""


@pytest.fixture
def profile(project: Path, home: Path):
    return load_file(write_profile(project, PROFILE), project)


def test_session_options_go_to_the_session_and_window_options_to_each_window(profile) -> None:
    assert options.session_commands(profile, "=opts") == [
        ("set-option", "-t", "=opts", "status-left", "[#S]"),
        ("set-option", "-t", "=opts", "mouse", "on"),
        ("set-option", "-t", "=opts", "@mine", "x"),
    ]
    one, two, three = profile.windows
    record = ("set-option", "-w", "-t")
    assert options.window_commands(profile, one, "@1") == [
        (*record, "@1", options.WINDOW_OPTION, "one"),  # every window: devenv finds it by this record
        ("set-option", "-w", "-t", "@1", "automatic-rename", "off"),  # the profile's, on every window
        ("set-option", "-w", "-t", "@1", "main-pane-height", "7"),
        ("set-option", "-w", "-t", "@1", "synchronize-panes", "on"),
        # its panes show titles: where the user's tmux.conf puts them, else at the top
        ("set-option", "-F", "-w", "-t", "@1", "pane-border-status", options.AUTO_BORDER),
    ]
    assert options.window_commands(profile, two, "@2") == [
        (*record, "@2", options.WINDOW_OPTION, "two"),  # tmux renames it: its name is kept
        ("set-option", "-w", "-t", "@2", "automatic-rename", "on"),  # the window's own wins
        ("set-option", "-F", "-w", "-t", "@2", "pane-border-status", options.AUTO_BORDER),  # several panes
    ]
    assert options.renamed(two, profile) and not options.renamed(one, profile)
    assert options.window_commands(profile, three, "@3") == [(*record, "@3", options.WINDOW_OPTION, "three"),
                                                             ("set-option", "-w", "-t", "@3", "automatic-rename",
                                                              "off")]


def test_titles_focus_and_layouts(profile) -> None:
    one, two, three = profile.windows
    assert options.pane_commands(one, 0, "@1") == [("select-pane", "-t", "@1", "-T", "editor ##1")]  # data
    assert options.pane_commands(one, 1, "@1") == [("select-pane", "-t", "@1", "-T", "one.1")]  # its place
    # the pane by its position, pane-base-index 0 for the one command, then the user's again
    assert options.focus_commands(profile, one, "@1") == [
        ("set-option", "-w", "-t", "@1", "pane-base-index", "0"), ("select-pane", "-t", "@1.1"),
        ("set-option", "-w", "-u", "-t", "@1", "pane-base-index")]
    assert options.focus_commands(profile, two, "@2") == []  # no focus: the plan's first pane
    assert options.focus_commands(profile, three, "@3") == []
    own = Window("w", panes=(Pane("a"), Pane("b", focus=True)), options={"pane-base-index": "1"})
    assert options.focus_commands(profile, own, "@4")[-1] == ("set-option", "-w", "-t", "@4", "pane-base-index", "1")
    assert options.layout_commands(one, "@1", 200, 50) == [("select-layout", "-t", "@1", "main-horizontal")]
    assert options.layout_commands(two, "@2", 200, 50) == [
        ("select-layout", "-t", "@2", options.default_layout(3, 200, 50))]
    assert options.layout_commands(three, "@3", 200, 50) == []
    assert not three.layout_given and one.layout_given


def test_default_splits_halve_the_newest_pane_as_tmux_does() -> None:
    assert options.default_splits(3, 24) == [12, 5, 5]  # what tmuxp builds at 80x24 (the corpus records it)
    assert options.default_splits(3, 50) == [25, 12, 11]
    assert options.default_splits(5, 50) == [25, 12, 5, 2, 2]
    assert options.default_splits(6, 50) is None  # tmux: "no space for new pane"
    recorded = "73f2,80x24,0,0[80x12,0,0,1,80x5,0,13,2,80x5,0,19,3]"  # tmuxp's 3 panes (blank-panes.yaml)
    assert geometry(options.default_layout(3, 80, 24) or "") == geometry(recorded)
    assert f"{options._checksum(recorded[5:]):04x}" == "73f2"
    many = Window("w", panes=tuple(Pane(None) for _ in range(8)))
    assert options.layout_commands(many, "@1", 200, 50) == [("select-layout", "-t", "@1", "even-vertical")]
    crowded = Window("w", panes=tuple(Pane(None) for _ in range(30)))
    assert options.layout_commands(crowded, "@1", 200, 50) == [("select-layout", "-t", "@1", "tiled")]


@pytest.mark.parametrize(("text", "error"), [
    ("options: {escape-time: 0}", "server option"),
    ("options: {mouse-mode: on}", "did you mean 'mouse'"),
    ("options: {remain-on-exit: off}", "devenv's own"),
    ("options: {status-left: [a]}", "must be a string"),
    ("options: {'bad name': 1}", "not a tmux option name"),
    ("options: {'mouse[1]': on}", "not an array option"),
    ("options: {'@devenv_window': x}", "devenv's own"),
    ("windows: [{name: w, options: {mouse: on}}]", "is a session option"),
    ("windows: [{name: w, panes: [{focus: true}, {focus: true}]}]", "only one pane"),
    ("windows: [{name: w, command: [a, '']}]", "must not be empty"),
    ('windows: [{name: w, command: ["a\\nb"]}]', "line break"),
    ("windows: [{name: w, db: X, interactive: true}]", "only windows that run commands"),
    ("hooks: {before: x}", "unknown key"),
    ("hooks: {before_up: [{a: b}]}", "must be a string"),
])
def test_wrong_values_are_profile_errors_naming_the_key(project: Path, home: Path, text: str, error: str) -> None:
    body = text if "windows:" in text else text + "\nwindows: [{name: w}]"
    with pytest.raises(ProfileError) as info:
        load_file(write_profile(project, body + "\n"), project)
    assert error in str(info.value) and info.value.line, str(info.value)


def test_hooks_interactive_and_lines_load_and_merge(project: Path, home: Path) -> None:
    write_profile(project, "hooks: {before_up: ./setup.sh, after_down: [a, b]}\noptions: {mouse: on, status: off}\n"
                           "windows:\n  - {name: w, interactive: true, command: [cd sub, ls], options: {'@x': 1}}\n",
                  name="base")
    child = write_profile(project, "extends: base\nhooks: {after_down: [c]}\noptions: {mouse: off}\n"
                                   "windows:\n  - {name: w, options: {'@y': 2}, panes: [[a, b], {command: c, "
                                   "interactive: false, title: t}]}\n")
    base = load_file(project / ".devenv" / "base.yaml", project)
    assert base.hooks.before_up == ("./setup.sh",) and base.hooks.after_down == ("a", "b")
    assert base.windows[0].command == "cd sub\nls" and base.windows[0].interactive
    profile = load_file(child, project)
    assert profile.hooks.before_up == ("./setup.sh",) and profile.hooks.after_down == ("c",)  # key by key
    assert dict(profile.options) == {"mouse": "off", "status": "off"}
    w = profile.windows[0]
    assert dict(w.options) == {"@x": "1", "@y": "2"} and w.interactive
    assert [p.lines for p in w.panes] == [("a", "b"), ("c",)]
    assert [w.pane_interactive(p) for p in w.panes] == [True, False]
    assert w.panes[1].title == "t"

    from devenv.profile.dump import to_dict

    data = to_dict(profile)
    assert data["hooks"] == {"before_up": ["./setup.sh"], "after_down": ["c"]}
    assert data["windows"][0]["panes"] == [["a", "b"], {"command": "c", "title": "t", "interactive": False}]
    assert data["windows"][0]["interactive"] is True and data["windows"][0]["options"] == {"@x": "1", "@y": "2"}


# --------------------------------------------------------------------------- on a real tmux server


def tmux(socket: str, *args: str) -> str:
    proc = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def run(socket: str, commands: list[tuple[str, ...]]) -> None:
    proc = subprocess.run(["tmux", "-L", socket, "source-file", "-"], input=to_script(commands), text=True,
                          capture_output=True, timeout=20)
    assert proc.returncode == 0, proc.stderr


def test_options_touch_one_session_only_on_a_real_server(profile, socket: str) -> None:
    tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "opts", "-x", "200", "-y", "50", "-n", "one")
    tmux(socket, "new-session", "-d", "-s", "other", "-x", "200", "-y", "50")
    before = {flag: tmux(socket, "show-options", flag) for flag in ("-g", "-gw", "-s")}
    one = profile.windows[0]
    cmds = options.session_commands(profile, "=opts:") + options.window_commands(profile, one, "=opts:one")
    for i in range(1, 3):
        cmds.append(("split-window", "-t", "=opts:one"))
        cmds += options.pane_commands(one, i, "=opts:one")
    cmds += options.pane_commands(one, 0, "=opts:one.{top-left}")
    cmds += options.layout_commands(one, "=opts:one", 200, 50)
    cmds += [("new-window", "-t", "=opts:"), ("split-window", "-t", "=opts:")]  # another window is current
    cmds += options.focus_commands(profile, one, "=opts:one")
    tmux(socket, "set-option", "-g", "pane-base-index", "1")
    run(socket, cmds)
    before["-gw"] = before["-gw"].replace("pane-base-index 0", "pane-base-index 1")
    assert {flag: tmux(socket, "show-options", flag) for flag in ("-g", "-gw", "-s")} == before  # nothing global
    assert tmux(socket, "show-options", "-t", "=opts:", "-v", "status-left") == "[#S]"
    assert tmux(socket, "show-options", "-t", "=opts:", "-v", "@mine") == "x"
    assert tmux(socket, "show-options", "-t", "=other:", "status-left") == ""  # the other session: untouched
    assert tmux(socket, "show-options", "-w", "-t", "=opts:one", "-v", "main-pane-height") == "7"
    assert tmux(socket, "show-options", "-w", "-t", "=opts:one", "-v", "pane-border-status") == "top"
    assert tmux(socket, "show-options", "-w", "-t", "=other:", "synchronize-panes") == ""
    panes = tmux(socket, "list-panes", "-t", "=opts:one", "-F", "#{pane_title}|#{pane_active}").splitlines()
    assert panes[0].split("|")[0] == "editor #1"  # literal, not a format
    assert [p.split("|")[1] for p in panes] == ["0", "1", "0"]  # focus: the second pane
    assert tmux(socket, "show-options", "-w", "-t", "=opts:one", "pane-base-index") == ""  # the user's again


def geometry(layout: str) -> str:
    """A layout string without its checksum and pane ids (which differ): sizes and places."""
    return re.sub(r"(\d+x\d+,\d+,\d+),\d+", r"\1", layout.split(",", 1)[1])


@pytest.mark.parametrize("count", [2, 3, 4, 5])
def test_default_layout_is_what_tmux_splits_give(socket: str, count: int) -> None:
    """Split the newest pane count - 1 times at 200x50 as tmuxp does; the layout string is ours."""
    tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "s", "-x", "200", "-y", "50")
    for _ in range(count - 1):
        tmux(socket, "split-window", "-t", "=s:")
    made = tmux(socket, "display-message", "-p", "-t", "=s:", "#{window_layout}")
    ours = options.default_layout(count, 200, 50)
    assert ours is not None
    assert geometry(made) == geometry(ours)
    # and tmux takes ours as given (a fresh window, panes made tiled first, as devenv makes them)
    tmux(socket, "new-window", "-t", "=s:", "-n", "w")
    for _ in range(count - 1):
        tmux(socket, "split-window", "-t", "=s:w")
        tmux(socket, "select-layout", "-t", "=s:w", "tiled")
    run(socket, options.layout_commands(Window("w", panes=tuple(Pane(None) for _ in range(count))), "=s:w", 200, 50))
    again = tmux(socket, "display-message", "-p", "-t", "=s:w", "#{window_layout}")
    assert geometry(again) == geometry(made)


@pytest.mark.parametrize(("conf", "place"), [("", "top"), ("set -g pane-border-status bottom\n", "bottom")])
def test_panes_of_a_window_of_several_show_their_place_in_that_session_only(devenv, home: Path, conf: str,
                                                                            place: str) -> None:
    """Untitled panes of a window of several are titled by their place (worker.1, as ps and db name them),
    shown where the user's tmux.conf puts pane titles (else at the top), on that session only."""
    (home / ".tmux.conf").write_text(conf)
    write_profile(devenv.project, "session: titles\nwindows:\n"
                  "  - {name: 'w#1', panes: ['sleep 300', 'sleep 300', {command: 'sleep 300', title: mine}]}\n"
                  "  - {name: solo, command: 'sleep 300'}\n")
    assert devenv("up", "-d", "--no-check").code == 0
    try:
        rows = devenv.tmux("list-panes", "-s", "-t", "=titles:", "-F",
                           "#{window_name}|#{pane_title}|#{pane-border-status}").splitlines()
        assert rows[:3] == [f"w#1|w#1.0|{place}", f"w#1|w#1.1|{place}", f"w#1|mine|{place}"]  # titles as data
        solo = rows[3].split("|")
        assert solo[0] == "solo" and solo[1] != "solo.0"  # one pane: tmux's own title, no border
        assert devenv.tmux("show-options", "-w", "-t", "=titles:solo", "pane-border-status").strip() == ""
        assert devenv.tmux("show-options", "-gw", "-v", "pane-border-status").strip() == (
            "bottom" if conf else "off")  # the user's global setting: untouched
    finally:
        devenv("down")
