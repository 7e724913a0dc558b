"""The import corpus: 143 real tmuxinator / tmuxp configs (tests/fixtures/imports/, sources in SOURCES.md),
each with what the original tool built from it (``<config>.expected.json``, recorded by
tests/corpus/build_reference.py).

Every config imports without a traceback (the ones the original tool built must import, and their
profile must load). Every config the original built is then built by devenv on a private tmux server
(``-L corpus-<random>``), in the same sandbox the reference was built in: PATH holds only harmless
programs and stubs (``ssh``, ``docker``, ``git``, ``npm``... print their name: real users' commands never
run for real), HOME has an empty tmux.conf, every socket lives in the sandbox. The session is compared
with the record on what does not depend on the size (devenv builds at 200x50, the reference is 80x24):
windows in order, their names, pane counts, the kind of layout (its shape), the active window and
pane, each pane's working directory and whether it is a live shell.

Each config's remaining differences are listed in ALLOWED with their reason (REASONS). A reason is
either PENDING, work the lead does with the pane runner and the plan (interactive panes, calling
devenv/session/options.py), or a loss the import must warn about (its notes are checked). The
fidelity is printed; FLOOR is what devenv reaches today (the issue's target, 95 %, once PENDING lands).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml

from tests.conftest import REPO, reap_marked
from tests.corpus import build_reference as ref

CORPUS = REPO / "tests" / "fixtures" / "imports"
CONFIGS = ref.find_configs(None)
JOBS = 4


def record(cfg: Path) -> dict[str, Any]:
    return json.loads(cfg.with_name(cfg.name + ".expected.json").read_text())


def rel(cfg: Path) -> str:
    return cfg.relative_to(CORPUS).as_posix()


BUILDABLE = [c for c in CONFIGS if record(c).get("ok")]


class Reason(NamedTuple):
    why: str
    pending: bool  # fixed by the lead's runtime work; else a loss the import warns about
    note: str | None = None  # a regular expression the import's notes must match (losses)


REASONS: dict[str, Reason] = {
    "interactive": Reason(
        "the original types the commands into a shell, which stays (a live shell, its `cd` seen by tmux); "
        "devenv runs them with $SHELL -c until interactive panes land, so the pane ends dead or elsewhere",
        pending=True),
    "auto-name": Reason(
        "a window without a name shows what runs in it (automatic-rename); the profile says so in its "
        "options (automatic-rename: on), which plan.py does not apply yet (options.window_commands)",
        pending=True),
    "default-layout": Reason(
        "no layout: tmux's own splits (each pane halves the one before); plan.py still tiles "
        "(options.layout_commands)", pending=True),
    "focus": Reason(
        "the active pane: tmuxp leaves the last pane (or the one with focus) active, tmuxinator the "
        "startup_pane; the profile has focus: true on it, which plan.py does not apply yet "
        "(options.focus_commands)", pending=True),
    "window-shell": Reason(
        "the pane's program (tmuxp shell / window_shell) had the typed commands sent to it as keys: "
        "not converted", pending=False, note=r"typed into a pane's shell / window_shell program"),
    "renamed": Reason(
        "devenv window names are unique and not empty: a duplicate or blank name is renamed",
        pending=False, note=r"named '.*' \(devenv window names are unique"),
    "exit": Reason(
        "a pane types `exit`: its shell ends, and the original loses the pane (its window with its last "
        "pane); devenv keeps the pane, ended", pending=False, note=r"types `exit`"),
    "enter-false": Reason(
        "enter: false (typed, not run) is left out: the pane is a plain shell", pending=False,
        note=r"enter: false"),
}

# The differences of each config the original tool built, by kind (window / pane attribute) and
# reason. Kinds: name, windows, panes, layout, active-window, active-pane, cwd, live-shell.
# Regenerate the candidates with: DEVENV_CORPUS_REPORT=1 pytest tests/test_import_corpus.py -s
ALLOWED: dict[str, dict[str, str]] = {
    "tmuxinator/upstream-spec/detach.yml": {"cwd": "interactive", "live-shell": "interactive", "name": "renamed"},  # two windows named server
    "tmuxinator/upstream-spec/integration-simple.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/interface-array_panes.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/interface-basic.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/interface-pane_titles.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/nameless_window.yml": {"cwd": "interactive", "live-shell": "interactive", "name": "auto-name"},
    "tmuxinator/upstream-spec/sample.context.yml": {"cwd": "interactive", "live-shell": "interactive", "name": "renamed"},  # two windows named server
    "tmuxinator/upstream-spec/sample.yml": {"cwd": "interactive", "live-shell": "interactive", "name": "renamed"},  # two windows named server
    "tmuxinator/upstream-spec/sample_alias.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/sample_emoji_as_name.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/sample_in_current_session.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/sample_literals_as_window_name.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/sample_number_as_name.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/sample_partials.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/upstream-spec/sample_with_project_config.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/AHRJ-mailer-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/APiercey-social-media-snapshot-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive", "windows": "exit"},  # services types `exit`: tmuxinator loses that window
    "tmuxinator/users/AlexZeitler-AspNetCoreMvcValidation-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/Ansh-Sonkusare-monomons-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/ArthurJordao-dotfiles-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/Babeetlebum-reeder-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/BenRamsden-go-lambda-poc-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/CodeLionX-distod-.tmuxinator.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/CodingItWrong-riverbed-web-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/Cyberlane-the-unknown-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/DAG-OS-dagos-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/DeppSRL-open_bilanci-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/Dewaeq-scylla-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/DylanPina-git-odyssey-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/Edunga1-cat-logic-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/ElliottLandsborough-dog-ceo-api-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/JakeElder-2pm-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/LeonFedotov-fish-footman-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxinator/users/MateuszKubuszok-fpge-.tmuxinator.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/2-pane-synchronized.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/2-pane-synchronized.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/2-pane-vertical-long.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/2-pane-vertical-long.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/2-pane-vertical.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/2-pane-vertical.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/3-pane.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/3-pane.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/4-pane.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/4-pane.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/blank-panes.json": {"active-pane": "focus", "layout": "default-layout"},
    "tmuxp/upstream-examples/blank-panes.yaml": {"active-pane": "focus", "layout": "default-layout"},
    "tmuxp/upstream-examples/config-templating.yaml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/focus-window-and-panes.json": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/focus-window-and-panes.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/if-conditions.json": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/if-conditions.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/main-pane-height-percentage.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/main-pane-height-percentage.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/minimal.yaml": {"name": "auto-name"},
    "tmuxp/upstream-examples/pane-shell.json": {"active-pane": "focus"},
    "tmuxp/upstream-examples/pane-shell.yaml": {"active-pane": "focus"},
    "tmuxp/upstream-examples/pane-titles.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/shorthands.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/skip-send-pane-level.yaml": {"active-pane": "focus", "name": "auto-name"},
    "tmuxp/upstream-examples/skip-send.yaml": {"cwd": "interactive", "live-shell": "interactive", "name": "auto-name"},
    "tmuxp/upstream-examples/sleep-pane-level.yaml": {"live-shell": "interactive", "name": "auto-name"},
    "tmuxp/upstream-examples/sleep-virtualenv.yaml": {"live-shell": "interactive", "name": "auto-name"},
    "tmuxp/upstream-examples/sleep.yaml": {"live-shell": "interactive", "name": "auto-name"},
    "tmuxp/upstream-examples/start-directory.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/start-directory.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/start_directory.json": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/start_directory.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/suppress-history.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-examples/synchronize-shorthand.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/window-index.json": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-examples/window-index.yaml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/environment_vars.yaml": {"active-pane": "focus"},
    "tmuxp/upstream-fixtures/builder/first_pane_start_directory.yaml": {"active-pane": "focus", "name": "auto-name"},
    "tmuxp/upstream-fixtures/builder/focus_and_pane.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/here_mode.yaml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/pane_titles.yaml": {"active-pane": "focus", "cwd": "interactive", "layout": "default-layout", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/regression_send_keys_with_hyphen_t_00915.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/session_options.yaml": {"active-pane": "focus", "layout": "default-layout"},
    "tmuxp/upstream-fixtures/builder/shell_command_after.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/start_directory_session_path.yaml": {"name": "auto-name"},
    "tmuxp/upstream-fixtures/builder/suppress_history.yaml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/synchronize.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/upstream-fixtures/builder/window_shell.yaml": {"active-pane": "focus"},
    "tmuxp/upstream-fixtures/freezer/sample_workspace.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/3DSSpatial-zea-cad-viewer-.tmuxp.yaml": {"cwd": "interactive", "live-shell": "interactive", "name": "auto-name"},
    "tmuxp/users/AndBondStyle-rbm-.tmuxp.yaml": {"cwd": "interactive", "live-shell": "interactive", "name": "auto-name"},
    "tmuxp/users/BasLangenberg-studying-kubernetes-.tmuxp.yaml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/BeLeap-blog-.tmuxp.yaml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/Bullish-Design-IDE-.tmuxp.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/DanySpin97-Cppgram-example-.tmuxp.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/EIC-Robocup-2026-walkie-ros-.tmuxp.yaml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/Xiddler-PORTABLE_ENV-my-6-daily-tabs.yaml": {"cwd": "interactive", "live-shell": "interactive", "name": "renamed"},  # two windows named zsh
    "tmuxp/users/Xiddler-PORTABLE_ENV-mydaily6tabsession.yaml": {"cwd": "interactive", "live-shell": "interactive", "name": "renamed"},  # two windows named zsh
    "tmuxp/users/adambiggs-dotfiles-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/brainsaysno-mocko-.tmuxp.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/cstrelioff-conjugate-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/danielemegna-openchat_symfony-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/frictionlessdata-tabulator-py-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/giacomoalbe-hellogtk-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/joseph-flinn-smartlamp-.tmuxp.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/jrjsmrtn-tlx-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/kroustou-bandalists-.tmuxp.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/mxaddict-mmaker-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/onnovalkering-brane-.tmuxp.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/roll-dotfiles-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/simonwacker-yoga-insights-.tmuxp.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/skallfass-fastapi_serviceutils-.tmuxp.yml": {"cwd": "interactive", "live-shell": "interactive"},
    "tmuxp/users/stonecharioteer-blog-.tmuxp.yml": {"active-pane": "focus", "cwd": "interactive", "live-shell": "interactive"},
}


# --------------------------------------------------------------------------- building with devenv


def devenv(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real CLI, run from the project folder (as tmuxp and tmuxinator were: a start directory tmux
    cannot enter falls back to the folder its server started in)."""
    return subprocess.run([sys.executable, "-m", "devenv", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


def sandbox_env(env: dict[str, str], root: Path) -> dict[str, str]:
    """The reference's environment, with devenv's own folders in the sandbox too."""
    return {**env, "XDG_CONFIG_HOME": str(root / "home" / ".config"), "XDG_STATE_HOME": str(root / "state"),
            "XDG_CACHE_HOME": str(root / "cache"), "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(REPO)}


class Built(NamedTuple):
    config: str
    imported: subprocess.CompletedProcess[str]
    profile: dict[str, Any] | None
    session: dict[str, Any] | None
    root: str
    error: str | None = None
    projected: dict[str, Any] | None = None  # the session once options.py's commands are applied to it


def apply_options(work: Path, session: dict[str, Any], env: dict[str, str], sock: str) -> None:
    """What plan.py will do with devenv/session/options.py, applied to the built session: each window's
    options, its layout (tmux's default splits when it has none), the pane with focus."""
    from devenv.profile.load import load_file
    from devenv.session import options
    from devenv.session.tmux import to_script

    profile = load_file(work / ".devenv" / "default.yaml", work)
    if len(profile.windows) != len(session["windows"]):
        return
    cmds: list[tuple[str, ...]] = []
    for window, live in zip(profile.windows, session["windows"], strict=True):
        wid = live["id"]
        cmds += options.window_commands(profile, window, wid)
        cmds += options.layout_commands(window, wid, 200, 50) + options.focus_commands(profile, window, wid)
    subprocess.run([ref.REAL_TMUX, "-L", sock, "source-file", "-"], input=to_script(cmds), env=env, text=True,
                   capture_output=True, timeout=20, check=True)


def build(cfg: Path) -> Built:
    """Import ``cfg`` in a fresh sandbox, `up` it on a private server, and record the session."""
    text = cfg.read_text(encoding="utf-8")
    tool = ref.tool_of(cfg)
    root, sock, base = ref.sandbox(prefix="corpus-devenv-")
    env = sandbox_env(base, root)
    work = root / "work"
    pids: set[int] = set()
    try:
        ref.prepare_dirs(tool, text, cfg.suffix == ".json", work, base, root)
        shutil.copyfile(cfg, work / cfg.name)
        imported = devenv(["-C", str(work), "import", cfg.name, "-o", ".devenv/default.yaml"], env, work)
        if imported.returncode != 0:
            return Built(rel(cfg), imported, None, None, str(root), "import failed")
        profile = yaml.safe_load((work / ".devenv" / "default.yaml").read_text())
        up = devenv(["-C", str(work), "-L", sock, "up", "-d", "--no-check"], env, work)
        if up.returncode != 0:
            return Built(rel(cfg), imported, profile, None, str(root), f"up failed: {up.stderr.strip()}")
        snap, _ = ref.settle(base, sock, 10.0)
        sessions = [s for s in (snap or []) if s["windows"]]
        for s in sessions:
            for w in s["windows"]:
                for p in w["panes"]:
                    p["live"] = not p["dead"] and p["pid"].isdigit() and live_shell(int(p["pid"]))
                    if p["pid"].isdigit():
                        pids.add(int(p["pid"]))
        session = sessions[0] if len(sessions) == 1 else None
        projected = None
        if session is not None:
            apply_options(work, session, base, sock)
            projected = next((s for s in ref.snapshot(base, sock) or [] if s["windows"]), None)
        return Built(rel(cfg), imported, profile, session, str(root),
                     None if session else f"{len(sessions)} sessions", projected)
    finally:
        reap_marked(sock)
        ref.kill_server(base, sock, pids)
        shutil.rmtree(root, ignore_errors=True)


SHELLS = {"bash", "sh", "dash", "zsh", "fish", "ksh"}
_VALUED = {"--rcfile", "--init-file", "-C", "--init-command", "-o", "-O"}  # shell options taking a value


def live_shell(pid: int) -> bool:
    """Whether the pane's newest process is a shell at its prompt: not ``-c``, not running a script.

    (tmux's pane_current_command cannot tell: a devenv pane's own process is its runner, ``sh``.)
    """
    import psutil

    try:
        proc = psutil.Process(pid)
        while True:
            kids = [c for c in proc.children() if c.status() != psutil.STATUS_ZOMBIE]
            if not kids:
                break
            proc = max(kids, key=lambda c: c.create_time())
        argv = proc.cmdline() or [proc.name()]
    except psutil.Error:
        return False
    if os.path.basename(argv[0]).lstrip("-") not in SHELLS:
        return False
    args = iter(argv[1:])
    for arg in args:
        if arg == "-c" or not arg.startswith("-"):
            return False  # a command or a script
        if arg in _VALUED:
            next(args, None)
    return True


# --------------------------------------------------------------------------- comparing


def layout_kind(layout: str) -> str:
    """The shape of a tmux layout string, whatever the sizes: ``v[1,1,1]``, ``h[1,v[1,1]]``, ``1``.

    A flat row or column of three panes or more also says whether its first pane is much larger than
    the next (``~``, tmux's default splits: each new pane halves the one before) or not (``=``, as
    ``even-vertical`` makes them, the remainder going to the last).
    """
    body = layout.split(",", 1)[1]
    pos = 0

    def cell() -> tuple[str, list[int]]:
        nonlocal pos
        m = re.compile(r"(\d+)x(\d+),\d+,\d+").match(body, pos)
        assert m, body[pos:]
        pos = m.end()
        size = [int(m[1]), int(m[2])]
        if pos < len(body) and body[pos] in "[{":
            kind = "v" if body[pos] == "[" else "h"
            pos += 1
            children = []
            while True:
                children.append(cell())
                if body[pos] == ",":
                    pos += 1
                    continue
                pos += 1  # ] or }
                break
            shapes = [c[0] for c in children]
            text = f"{kind}[{','.join(shapes)}]"
            if len(children) >= 3 and all(s == "1" for s in shapes):
                sizes = [c[1][1 if kind == "v" else 0] for c in children]
                text += "~" if sizes[0] > 1.5 * sizes[1] else "="
            return text, size
        m2 = re.compile(r",\d+").match(body, pos)
        if m2:
            pos = m2.end()
        return "1", size

    return cell()[0]


def sandboxed(name: str) -> str:
    """A name that holds the sandbox's folder (tmuxp expands $HOME in names), without it."""
    return re.sub(r"/tmp/corpus-(ref|devenv)-\w+", "<TMP>", name)


def rel_cwd(path: str, root: str) -> str:
    return ref.rel_path(path, Path(root)) if path else ""


def typed_cd(profile: dict[str, Any] | None, window: int, pane: int) -> bool:
    """Whether the imported pane's typed lines change folder (seen by tmux only in a live shell)."""
    spec = pane_spec(profile, window, pane)
    lines = spec if isinstance(spec, list) else [spec] if isinstance(spec, str) else []
    return any(re.search(r"(^|[;&|]\s*)(cd|pushd|z|j)\s", line) for line in lines)


def typed_exit(profile: dict[str, Any] | None) -> bool:
    """Whether a pane types `exit` (its shell ends: the original tool loses the pane)."""
    for w in (profile or {}).get("windows") or []:
        for p in w.get("panes") or [w.get("command")]:
            spec = p.get("command") if isinstance(p, dict) else p
            lines = spec if isinstance(spec, list) else [spec] if isinstance(spec, str) else []
            if any(re.fullmatch(r"\s*exit(\s+\d+)?\s*", line) for line in lines):
                return True
    return False


def window_spec(profile: dict[str, Any] | None, window: int) -> dict[str, Any]:
    windows = (profile or {}).get("windows") or []
    return windows[window] if window < len(windows) else {}


def pane_spec(profile: dict[str, Any] | None, window: int, pane: int) -> Any:
    w = window_spec(profile, window)
    if "panes" in w:
        p = w["panes"][pane] if pane < len(w["panes"]) else None
        return p.get("command") if isinstance(p, dict) else p
    return w.get("command") if pane == 0 else None


def pane_shell(profile: dict[str, Any] | None, window: int, pane: int) -> bool:
    """A pane whose program is not a shell (tmuxp shell / window_shell): interactive: false."""
    w = window_spec(profile, window)
    p = w.get("panes", [None])[pane] if pane < len(w.get("panes", [None])) else None
    return isinstance(p, dict) and p.get("interactive") is False


def differences(cfg: Path, built: Built, projected: bool = False) -> dict[str, str]:
    """kind -> reason of every way devenv's session differs from the record (a set of reasons per kind,
    joined with '+'). ``projected``: the session once options.py's commands are applied (pane liveness
    is then not looked at)."""
    expected = record(cfg)["session"]
    got = built.projected if projected else built.session
    assert got is not None, (built.config, built.error, built.imported.stderr)
    out: dict[str, set[str]] = {}

    def diff(kind: str, reason: str) -> None:
        out.setdefault(kind, set()).add(reason)

    ew, gw = expected["windows"], got["windows"]
    if len(ew) != len(gw):
        diff("windows", "exit" if typed_exit(built.profile) else "windows")
    active_e = next((i for i, w in enumerate(ew) if w["active"]), None)
    active_g = next((i for i, w in enumerate(gw) if w["active"]), None)
    if active_e != active_g:
        diff("active-window", "active-window")
    for i, (e, g) in enumerate(zip(ew, gw)):  # noqa: B905 - counts compared above
        spec = window_spec(built.profile, i)
        if sandboxed(e["name"]) != sandboxed(g["name"]):
            diff("name", "auto-name" if e["automatic_rename"] or
                 spec.get("options", {}).get("automatic-rename") == "on" else "renamed")
        if e["pane_count"] != g["pane_count"]:
            diff("panes", "exit" if typed_exit(built.profile) else "panes")
            continue
        if layout_kind(e["layout"]) != layout_kind(g["layout"]):
            diff("layout", "default-layout" if "layout" not in spec else "layout")
        ea = next((p["index"] for p in e["panes"] if p["active"]), 0) - min(p["index"] for p in e["panes"])
        ga = next((p["index"] for p in g["panes"] if p["active"]), 0) - min(p["index"] for p in g["panes"])
        if ea != ga:
            diff("active-pane", "focus")
        for j, (ep, gp) in enumerate(zip(e["panes"], g["panes"])):  # noqa: B905 - counts are equal
            if ep["live_shell"] != gp.get("live", ep["live_shell"]):
                diff("live-shell", "window-shell" if pane_shell(built.profile, i, j) else
                     "interactive" if ep["live_shell"] else "live-shell")
            if ep["cwd"] != rel_cwd(gp["path"], built.root):
                diff("cwd", "interactive" if (gp["dead"] or typed_cd(built.profile, i, j)) else "cwd")
    return {kind: "+".join(sorted(reasons)) for kind, reasons in out.items()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every buildable config, built by devenv (4 at a time, each on its own server)."""
    if shutil.which("tmux") is None or not os.path.exists(ref.REAL_TMUX):
        pytest.skip("tmux is not installed")
    with pytest.MonkeyPatch.context() as mp:  # the profiles loaded here: their parse cache in a temp folder
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as pool:
            yield {b.config: b for b in pool.map(build, BUILDABLE)}


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("cfg", CONFIGS, ids=rel)
def test_every_config_imports_without_a_traceback(cfg: Path, tmp_path: Path) -> None:
    """The original built it: import succeeds and the profile loads. Else: success, or one line naming
    the file, exit 2."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(cfg, work / cfg.name)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"),
           "XDG_CACHE_HOME": str(tmp_path / ".cache"), "XDG_STATE_HOME": str(tmp_path / ".state")}
    result = devenv(["-C", str(work), "import", cfg.name, "-o", ".devenv/default.yaml"], env, work)
    assert "Traceback" not in result.stderr, result.stderr
    if record(cfg).get("ok"):
        assert result.returncode == 0, result.stderr
        shown = devenv(["-C", str(work), "config"], env, work)
        assert shown.returncode == 0, shown.stderr
    else:
        assert result.returncode in (0, 2), result.stderr
        if result.returncode:
            assert len(result.stderr.strip().splitlines()) == 1 and cfg.name in result.stderr, result.stderr


def test_corpus_builds_what_the_original_built(corpus: dict[str, Built]) -> None:
    found = {name: differences(CORPUS / name, built) for name, built in sorted(corpus.items())}
    identical = [n for n, d in found.items() if not d]
    pending_only = [n for n, d in found.items()
                    if all(REASONS.get(r, Reason("", False)).pending for v in d.values() for r in v.split("+"))]
    total = len(found)
    print(f"\ncorpus: {total} configs the original tool built; devenv builds {len(identical)} identically "
          f"({100 * len(identical) / total:.1f} %); {len(pending_only)} ({100 * len(pending_only) / total:.1f} %) "
          "once the pending work lands")
    by_reason: dict[str, int] = {}
    for d in found.values():
        for reason in {r for v in d.values() for r in v.split("+")}:
            by_reason[reason] = by_reason.get(reason, 0) + 1
    for reason, count in sorted(by_reason.items(), key=lambda item: -item[1]):
        print(f"  {reason}: {count} configs")
    if os.environ.get("DEVENV_CORPUS_REPORT"):
        print(json.dumps({n: d for n, d in found.items() if d}, indent=1, sort_keys=True))
    # the pending work of options.py, applied to the built sessions: its kinds of difference go away
    for name, built in sorted(corpus.items()):
        after = differences(CORPUS / name, built, projected=True)
        for kind, reason in (("layout", "default-layout"), ("active-pane", "focus")):
            if reason in found[name].get(kind, ""):
                assert kind not in after, f"{name}: {kind} still differs once options.py's commands are applied"
    print("  (default-layout and focus: gone in every config once options.py's commands are applied)")
    unexpected = {n: d for n, d in found.items() if d != ALLOWED.get(n, {})}
    assert not unexpected, "differences not in ALLOWED (or ALLOWED entries that no longer differ):\n" + \
        json.dumps({n: {"found": d, "allowed": ALLOWED.get(n, {})} for n, d in unexpected.items()}, indent=1)
    assert len(identical) >= FLOOR
    assert len(pending_only) >= PENDING_FLOOR


FLOOR = 3  # configs built identically today (of 111)
PENDING_FLOOR = 105  # configs identical once the pending reasons are fixed (94.6 %; the 6 others: renamed, exit)


def test_every_remaining_loss_is_warned_at_import(corpus: dict[str, Built]) -> None:
    for name, allowed in ALLOWED.items():
        notes = corpus[name].imported.stderr
        for kind, reasons in allowed.items():
            for reason in reasons.split("+"):
                why = REASONS[reason]
                assert why.pending or (why.note and re.search(why.note, notes)), \
                    f"{name}: {kind} differs ({reason}: {why.why}) but the import does not say so:\n{notes}"
