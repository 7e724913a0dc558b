"""Trust under real use: names are data, logs never go missing, a session belongs to one project,
everything written is private, and no input makes devenv hang or grow without bound.

Every test drives the real CLI against a private tmux server (``tmux -L devenv-test-...``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devenv.logs import clean_line
from devenv.paths import SessionPaths
from devenv.wait import wait_until
from tests.conftest import Devenv, gone, read_pid, write_profile

# --------------------------------------------------------------------------- helpers


def session_ids(devenv: Devenv) -> dict[str, str]:
    """Name -> id of the test server's sessions: the name devenv gave (recorded with the session; tmux
    shows a few characters of session names escaped), else the name tmux shows."""
    from devenv.names import unquote

    found = {}
    for line in devenv.tmux("list-sessions", "-F", "#{session_id}\t#{session_name}\t#{@devenv_session}").splitlines():
        sid, shown, given = line.split("\t")
        found[unquote(given) if given else shown] = sid
    return found


def windows_of(devenv: Devenv, session: str) -> list[str]:
    """The window names tmux shows for the session."""
    sid = session_ids(devenv).get(session)
    return devenv.tmux("list-windows", "-t", sid, "-F", "#{window_name}").splitlines() if sid else []


def sessions(devenv: Devenv) -> list[str]:
    return list(session_ids(devenv))


def marked(socket: str) -> list[psutil.Process]:
    """Live processes started for this test's server (their DEVENV_MARK names it)."""
    out = []
    for proc in psutil.process_iter(["environ", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if ((proc.info["environ"] or {}).get("DEVENV_MARK") or "").startswith(socket + "/"):
                out.append(proc)
        except psutil.Error:
            continue
    return out


def yaml_str(text: str) -> str:
    import yaml

    return yaml.safe_dump(text, default_style='"', allow_unicode=True, width=1 << 20).removesuffix("\n")


# --------------------------------------------------------------------------- names are data (property)

SAFE_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x7f")
NAME = st.text(SAFE_CHARS, min_size=1, max_size=24).filter(lambda s: s.strip() == s and s.strip() != "")
SESSION = NAME.filter(lambda s: not any(c in s for c in ":.$\\") and not s.startswith("__devenv_"))
VALUE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"), max_size=40)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(session=SESSION, names=st.lists(NAME, min_size=1, max_size=3, unique=True), value=VALUE)
@example(session="#(touch CANARY)", names=["#(touch CANARY)", "#{session_name}", "a b ;%H%M"], value="$HOME #{x}")
@example(session="-d", names=["-t", "café ☕", "x=y+z[1]/q"], value="'\"`$(touch CANARY)`")
@example(session="my app", names=["api server", "w:1.2"], value="%s %20 ##")
def test_names_commands_and_values_round_trip_through_a_real_server(
        devenv: Devenv, project: Path, tmp_path: Path, session: str, names: list[str], value: str) -> None:
    from tests.conftest import kill_tmux_server

    devenv = Devenv(project, f"{devenv.socket}-{os.urandom(3).hex()}")  # a server of each example's own
    canary = project / "CANARY"
    windows = "".join(f"  - name: {yaml_str(n)}\n    command: printf 'run %s\\n' \"$VALUE\"; exec sleep 600\n"
                      for n in names)
    write_profile(project, f"session: {yaml_str(session)}\nenv:\n  VALUE: {yaml_str(value.replace('${', '$${'))}\n"
                           f"windows:\n{windows}")
    try:
        up = devenv("up", "-d", "--no-check")
        assert up.code == 0, up.output
        assert windows_of(devenv, session) == names  # what the profile says is what tmux shows
        rows = json.loads(devenv("ps", "--json").out)
        assert [r["window"] for r in rows] == names
        first = names[0]

        shown = clean_line(f"run {value}")  # what a terminal shows of it: control characters do nothing

        def runs(n: int) -> bool:
            out = devenv("logs", "-n", "all", "--no-prefix", "--", first).out
            return out.count(shown) >= n

        wait_until(lambda: runs(1), 20)
        assert devenv("restart", "--", first).code == 0
        wait_until(lambda: runs(2), 20)  # the log follows the window across a restart
        again = devenv("up", "-d", "--no-check")
        assert again.code == 0 and "is up to date" in again.out, again.output
        down = devenv("down")
        assert down.code == 0, down.output
        assert session not in sessions(devenv)
        wait_until(lambda: not marked(devenv.socket), 10)
    finally:
        kill_tmux_server(devenv.socket)
    assert not canary.exists() and not (tmp_path / "CANARY").exists(), "a format was executed"


def test_session_names_tmux_would_rewrite_are_profile_errors(devenv: Devenv, project: Path) -> None:
    for name in ("a$b", "back\\slash", "x:y"):
        write_profile(project, f"session: {yaml_str(name)}\nwindows:\n  - name: a\n    command: sleep 1\n")
        result = devenv("up", "-d", "--no-check")
        assert result.code == 2 and "default.yaml:1: session:" in result.err and "tmux rewrites" in result.err
    assert sessions(devenv) == []


def test_a_very_long_window_name_works_exactly(devenv: Devenv, project: Path) -> None:
    name = "w" * 3000
    write_profile(project, f"session: long\nwindows:\n  - name: {name}\n    command: echo long-one; exec sleep 600\n")
    assert devenv("up", "-d", "--no-check").code == 0
    assert windows_of(devenv, "long") == [name]
    wait_until(lambda: "long-one" in devenv("logs", name).out, 20)
    assert devenv("down").code == 0 and not marked(devenv.socket)


def test_a_nul_in_a_command_is_refused(devenv: Devenv, project: Path) -> None:
    write_profile(project, 'windows:\n  - name: a\n    command: "echo a\\0rm -rf x"\n')
    result = devenv("up", "-d", "--no-check")
    assert result.code == 2 and "windows[0].command: must not contain a NUL" in result.err


# --------------------------------------------------------------------------- panes, hand-made windows


def test_twelve_panes_build_with_the_requested_layout(devenv: Devenv, project: Path) -> None:
    panes = "".join(f"      - echo pane-{i}; exec sleep 600\n" for i in range(12))
    write_profile(project, f"session: many\nwindows:\n  - name: grid\n    layout: even-vertical\n    panes:\n{panes}")
    result = devenv("up", "-d", "--no-check")
    assert result.code == 0, result.output
    assert len(devenv.tmux("list-panes", "-t", "=many:0", "-F", "#{pane_id}").split()) == 12
    rows = json.loads(devenv("ps", "--json").out)
    assert sorted(r["pane"] for r in rows) == list(range(12))


def test_a_window_tmux_refuses_is_named_and_nothing_is_left(devenv: Devenv, project: Path) -> None:
    # a layout string the profile check lets through (its shape is right) but tmux refuses
    write_profile(project, "session: refused\nwindows:\n  - name: fine\n    command: sleep 600\n"
                           "  - name: crowded\n    layout: 'abcd,10x10,0,0[nonsense]'\n    panes: [sleep 600, sleep 600]\n"
                           "  - name: after\n    command: sleep 600\n")
    result = devenv("up", "-d", "--no-check")
    assert result.code == 1 and "window 'crowded'" in result.err, result.output
    assert sessions(devenv) == []  # never a half-built session
    wait_until(lambda: not marked(devenv.socket), 10)


def test_sixty_panes_fit(devenv: Devenv, project: Path) -> None:
    panes = "".join("      - exec sleep 600\n" for _ in range(60))
    write_profile(project, f"session: sixty\nwindows:\n  - name: crowded\n    panes:\n{panes}")
    result = devenv("up", "-d", "--no-check")
    assert result.code == 0, result.output
    assert len(devenv.tmux("list-panes", "-t", "=sixty:0", "-F", "#{pane_id}").split()) == 60


def test_down_stops_a_hand_made_window_sharing_a_name(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    write_profile(project, "session: dup\nwindows:\n  - name: bash\n    command: exec sleep 600\n")
    assert devenv("up", "-d", "--no-check").code == 0
    pidfile = tmp_path / "deaf.pid"
    devenv.tmux("new-window", "-t", "=dup:", "-n", "bash", f"sh -c 'trap \"\" HUP; echo $$ > {pidfile}; "
                                                           "while :; do sleep 1; done'")
    deaf = read_pid(pidfile)
    result = devenv("down", "--timeout", "3")
    assert result.code == 0, result.output
    wait_until(lambda: gone(deaf), 10)


# --------------------------------------------------------------------------- logs are owned


PROBED = """\
session: relog
windows:
  - name: api
    command: echo "api up $$"; exec sleep 600
    ready: {log: "api up", timeout: 10}
"""


def test_logs_and_log_probes_follow_every_restart(devenv: Devenv, project: Path) -> None:
    write_profile(project, PROBED)
    assert devenv("up", "-d", "--no-check", "--wait").code == 0
    for n in (2, 3, 4):
        assert devenv("restart", "api").code == 0
        waited = devenv("wait", "api", "--timeout", "15")
        assert waited.code == 0, waited.output  # the log probe sees this run's output
        wait_until(lambda n=n: devenv("logs", "-n", "all", "api").out.count("api up") >= n, 10)


def test_a_deleted_state_folder_is_made_again_and_up_reopens_the_logs(devenv: Devenv, project: Path) -> None:
    import shutil

    write_profile(project, PROBED.replace('echo "api up $$"; exec sleep 600',
                                          'while :; do echo "tick $$"; sleep 0.2; done'))
    assert devenv("up", "-d", "--no-check").code == 0
    state = SessionPaths(devenv.socket, "relog").dir
    wait_until(lambda: "tick" in devenv("logs", "api").out, 10)  # the pipe runs (it would remake a folder gone before)
    shutil.rmtree(state)
    result = devenv("up", "-d", "--no-check")
    assert result.code == 0 and "reopened the log of api" in result.out, result.output
    wait_until(lambda: "tick" in devenv("logs", "api").out, 10)


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only bind mount needs root")
def test_a_read_only_state_folder_costs_a_note_not_the_session(devenv: Devenv, project: Path,
                                                                 tmp_path: Path) -> None:
    state_home = Path(os.environ["XDG_STATE_HOME"]) / "devenv"
    state_home.mkdir(parents=True)
    if subprocess.run(["mount", "--bind", str(state_home), str(state_home)], capture_output=True).returncode:
        pytest.skip("bind mounts are not allowed here")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(state_home)], check=True)
        pidfile = tmp_path / "w.pid"
        write_profile(project, f"session: ro\nwindows:\n  - name: w\n    command: echo $$ > {pidfile}; exec sleep 600\n")
        up = devenv("up", "-d", "--no-check")
        assert up.code == 0 and "note:" in up.err, up.output
        pid = read_pid(pidfile)
        screen = devenv.tmux("capture-pane", "-p", "-t", "=ro:0")
        assert "cannot keep this window's output" in screen and "Read-only" in screen
        assert devenv("restart", "w").code == 0
        down = devenv("down")
        assert down.code == 0 and "internal error" not in down.output, down.output
        wait_until(lambda: gone(pid), 10)
    finally:
        subprocess.run(["umount", str(state_home)], capture_output=True)


# --------------------------------------------------------------------------- one project, one session


def test_two_projects_with_one_folder_name_never_touch_each_other(devenv: Devenv, tmp_path: Path) -> None:
    mine, theirs = tmp_path / "a" / "app", tmp_path / "b" / "app"
    profile = "windows:\n  - name: w\n    command: echo $DEVENV_PROJECT; echo $$ > {pid}; exec sleep 600\n"
    for folder in (mine, theirs):
        (folder / ".devenv").mkdir(parents=True)
        write_profile(folder, profile.format(pid=folder / "pid"))
    a, b = Devenv(mine, devenv.socket), Devenv(theirs, devenv.socket)
    assert a("up", "-d", "--no-check").code == 0
    pid = read_pid(mine / "pid")
    up = b("up", "-d", "--no-check")
    assert up.code == 1 and f"belongs to another project: {mine}" in up.err
    assert b("ps").code == 1 and b("restart", "w").code == 1
    down = b("down")
    assert down.code == 0 and "left it alone" in down.out
    assert b("logs", "w").code == 1  # no output of this project's
    assert not gone(pid) and "w" in windows_of(devenv, "app")
    assert a("down").code == 0
    wait_until(lambda: gone(pid), 10)


# --------------------------------------------------------------------------- a build cut short


def test_a_build_killed_mid_write_leaves_nothing_half_built(devenv: Devenv, project: Path) -> None:
    big = "x" * 3000
    env = "".join(f"  V{i}: {big}\n" for i in range(60))  # a script far over the 64 KiB pipe buffer
    windows = "".join(f"  - name: w{i}\n    command: exec sleep 600\n" for i in range(40))
    write_profile(project, f"session: big\nenv:\n{env}windows:\n{windows}")
    for _ in range(3):
        proc = subprocess.Popen(devenv.argv("up", "-d", "--no-check"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        parent = psutil.Process(proc.pid)

        def tmux_child(parent: psutil.Process = parent) -> psutil.Process | None:
            try:
                return next((c for c in parent.children() if c.name() == "tmux"), None)
            except psutil.Error:
                return None

        # the moment its tmux client runs (or, on a fast machine, once up is already done)
        found = wait_until(lambda p=proc: tmux_child() or p.poll() is not None, 20, interval=0.001,
                           max_interval=0.005)
        client = found if isinstance(found, psutil.Process) else None
        proc.kill()  # SIGKILL while tmux reads the script
        proc.wait()
        if client is not None:
            wait_until(lambda c=client: gone(c.pid), 20)
        found = sessions(devenv)
        assert not [s for s in found if s.startswith("__devenv_")], found
        assert found in ([], ["big"])
        if found == ["big"]:
            assert len(windows_of(devenv, "big")) == 40  # whole or nothing
        assert devenv("down").code == 0
        wait_until(lambda: not marked(devenv.socket), 10)


# --------------------------------------------------------------------------- tmux itself


def test_without_L_every_command_uses_the_server_tmux_would(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: inner\nwindows:\n  - name: w\n    command: exec sleep 600\n")
    devenv.tmux("new-session", "-d", "-s", "outer")
    path = devenv.tmux("display-message", "-p", "-t", "=outer", "#{socket_path}").strip()
    env = {**os.environ, "TMUX": f"{path},1,0"}
    env.pop("DEVENV_TMUX_SOCKET", None)
    run = [sys.executable, "-m", "devenv", "-C", str(project)]
    up = subprocess.run([*run, "up", "-d", "--no-check"], env=env, capture_output=True, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    assert windows_of(devenv, "inner") == ["w"]  # built on $TMUX's server, which is this test's
    ps = subprocess.run([*run, "ps", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert [r["window"] for r in json.loads(ps.stdout)] == ["w"]
    down = subprocess.run([*run, "down"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0 and "stopped session inner" in down.stdout


def test_down_stops_everything_when_the_tmux_server_hangs(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "w.pid"
    write_profile(project, f"session: hung\nwindows:\n  - name: w\n    command: echo $$ > {pidfile}; exec sleep 600\n")
    assert devenv("up", "-d", "--no-check").code == 0
    pid = read_pid(pidfile)
    server = psutil.Process(int(devenv.tmux("display-message", "-p", "#{pid}")))
    server.suspend()  # SIGSTOP: it no longer answers
    try:
        started = time.monotonic()
        result = devenv("down", "--timeout", "2", timeout=60)
        took = time.monotonic() - started
        assert result.code == 1 and "did not answer" in result.err, result.output
        assert gone(pid) or wait_until(lambda: gone(pid), 5)
        assert took < 30, took  # a bound, not a benchmark: it once waited forever
    finally:
        server.resume()


def test_ps_tells_what_still_runs_after_the_server_was_killed(devenv: Devenv, project: Path,
                                                                 tmp_path: Path) -> None:
    pidfile = tmp_path / "deaf.pid"
    write_profile(project, f"session: killed\nwindows:\n  - name: deaf\n    command: trap '' HUP; echo $$ > {pidfile}; "
                           "while :; do sleep 1; done\n")
    assert devenv("up", "-d", "--no-check").code == 0
    pid = read_pid(pidfile)
    psutil.Process(int(devenv.tmux("display-message", "-p", "#{pid}"))).kill()
    result = devenv("ps")
    assert result.code == 1 and "no session killed running" in result.out and "orphaned" in result.out, result.output
    assert devenv("down", "--timeout", "2").code == 0
    wait_until(lambda: gone(pid), 10)


# --------------------------------------------------------------------------- private by default


def test_everything_devenv_writes_is_private(devenv: Devenv, project: Path) -> None:
    (project / ".env").write_text("API_TOKEN=hunter2-secret\n")
    write_profile(project, "session: priv\nwindows:\n  - name: w\n    command: echo hi; exec sleep 600\n"
                           "  - name: s\n    panes: [null]\n")
    assert devenv("up", "-d").code == 0  # checks too: the tmux version cache
    wait_until(lambda: "hi" in devenv("logs", "w").out, 20)
    assert devenv("restart", "w").code == 0 and devenv("down").code == 0
    home = Path(os.environ["HOME"])
    seen = 0
    for top in (Path(os.environ["XDG_STATE_HOME"]) / "devenv", Path(os.environ["XDG_CACHE_HOME"]) / "devenv"):
        for path in [top, *top.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert mode & 0o077 == 0, f"{path.relative_to(home)} is {oct(mode)}"
            seen += 1
    assert seen > 5
    cache = list((Path(os.environ["XDG_CACHE_HOME"]) / "devenv" / "yaml").glob("*.marshal"))
    assert cache and all(b"windows:" not in p.read_bytes() for p in cache)  # the parse, never the text


def test_the_command_keeps_the_users_umask_while_the_records_are_private(devenv: Devenv, project: Path) -> None:
    """The runner writes its records under umask 077 and gives the command the umask tmux started with."""
    write_profile(project, "session: um\nwindows:\n  - name: w\n"
                           "    command: umask > umask.txt; touch made.txt; exec sleep 600\n")
    old = os.umask(0o022)
    try:
        assert devenv("up", "-d", "--no-check").code == 0
    finally:
        os.umask(old)
    wait_until(lambda: (project / "umask.txt").exists() and (project / "umask.txt").read_text().strip(), 20)
    assert (project / "umask.txt").read_text().strip() == "0022"
    assert stat.S_IMODE((project / "made.txt").stat().st_mode) == 0o644
    records = [p for p in (Path(os.environ["XDG_STATE_HOME"]) / "devenv").rglob("w.0.*") if p.is_file()]
    assert {p.suffix for p in records} >= {".status", ".log"}
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in records), [oct(p.stat().st_mode) for p in records]


def test_the_parse_cache_is_bounded(home: Path, tmp_path: Path) -> None:
    from devenv.profile import yamlsrc

    for i in range(yamlsrc.CACHE_ENTRIES + 20):
        yamlsrc.parse(f"windows:\n  - name: w{i}\n", tmp_path / "p.yaml")
    assert len(list((home / ".cache" / "devenv" / "yaml").glob("*.marshal"))) <= yamlsrc.CACHE_ENTRIES


# --------------------------------------------------------------------------- masking


def test_masking_knows_more_secret_keys_and_is_linear() -> None:
    from devenv.secrets import MASK, is_secret_key, mask_url

    for key in ("DB_PASS", "API_PWD", "SMTP_PASSWD", "GOOGLE_CREDENTIALS", "BASIC_AUTH", "AUTH", "SENTRY_DSN"):
        assert is_secret_key(key), key
    for key in ("PATH", "PORT", "PASSENGER_HOME", "AUTHOR", "PWD_HISTORY"):
        assert not is_secret_key(key), key
    assert mask_url("postgresql://u:p4ss@h/db and x://:only@h") == f"postgresql://u:{MASK}@h/db and x://:{MASK}@h"
    code = ("from devenv.secrets import Masker, mask_url\n"
            "line = 'a' * 200000 + '://' + 'b' * 200000 + ':' + 'c' * 200000\n"
            "assert mask_url(line) == line\n"
            "m = Masker(['s3cret', 'tok' * 1000])\n"
            "assert m('x' * 500000 + 's3cret').endswith('****')\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)  # quadratic masking took minutes


def test_config_with_long_values_and_logs_with_a_long_line_finish(devenv: Devenv, project: Path) -> None:
    write_profile(project, f"session: longval\nenv:\n  BLOB: {'v' * 40000}\n  DB_PASS: pw-{'p' * 100}\n"
                           "windows:\n  - name: w\n    command: exec sleep 600\n")
    result = devenv("config", timeout=30)
    assert result.code == 0 and "DB_PASS: '****'" in result.out
    line = project / "long.log"
    line.write_text("q" * 100_000 + "\n")
    assert devenv("logs", "long.log", timeout=30).out.count("q" * 1000) >= 1


def test_a_closed_stdout_is_no_error(devenv: Devenv, project: Path) -> None:
    write_profile(project, "windows:\n" + "".join(f"  - name: w{i}\n    command: sleep 1\n" for i in range(300)))
    argv = " ".join(f"'{a}'" for a in devenv.argv("config"))
    result = subprocess.run(["bash", "-o", "pipefail", "-c", f"{argv} | true"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr


# --------------------------------------------------------------------------- hostile or broken profiles

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.parametrize("kind", ["laughs", "huge", "nan", "dangling", "folder", "fifo", "device"])
def test_hostile_and_broken_profiles_are_clear_errors_at_once(devenv: Devenv, project: Path, kind: str) -> None:
    path = project / ".devenv" / "default.yaml"
    if kind == "laughs":
        path.write_text(LAUGHS + "windows: *i\n")
        expect = "more than"
    elif kind == "huge":
        path.write_text("windows:\n  - name: a\n" + "#" * (50 << 20) + "\n")
        expect = "too large"
    elif kind == "nan":
        path.write_text("windows:\n  - name: a\n    ready: {port: 3000, timeout: .nan}\n")
        expect = "ready.timeout: must be a finite number"
    elif kind == "dangling":
        path.symlink_to(project / "nowhere.yaml")
        expect = "a link to a file that does not exist"
    elif kind == "folder":
        path.mkdir()
        expect = "a folder"
    elif kind == "fifo":
        os.mkfifo(path)
        expect = "a pipe"
    else:
        path.symlink_to("/dev/zero")
        expect = "a device"
    result = devenv("up", "-d", "--no-check", timeout=30)
    assert result.code == 2 and str(path) in result.err and expect in result.err, result.output
    assert "demo" not in result.output  # never a silent fall-back to devenv's own profile


# --------------------------------------------------------------------------- minor


def test_ps_shows_the_shell_of_a_compound_command_and_the_memory_truthfully(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: loop\nwindows:\n  - name: loop\n    command: while :; do sleep 0.1; done\n"
                           "  - name: many\n    command: for i in 1 2 3 4 5 6 7 8; do sleep 600 & done; wait\n")
    assert devenv("up", "-d", "--no-check").code == 0

    def rows() -> dict[str, dict[str, object]]:
        return {r["window"]: r for r in json.loads(devenv("ps", "--json").out)}

    first = wait_until(lambda: (r := rows())["loop"]["pid"] and r, 10)
    pid = first["loop"]["pid"]
    assert psutil.Process(pid).name() in ("sh", "dash", "bash")  # the loop itself, not its short-lived sleep
    assert rows()["loop"]["pid"] == pid
    many = wait_until(lambda: (r := rows()["many"])["memory_bytes"] and r, 10)
    assert 0 < many["memory_bytes"] < many["rss_bytes"]  # shared pages are not counted nine times


def test_a_command_killed_by_a_signal_says_so(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: sig\nwindows:\n  - name: w\n    command: kill -9 $$\n    restart: on-failure\n"
                           "    max_restarts: 0\n")
    assert devenv("up", "-d", "--no-check").code == 0
    wait_until(lambda: "killed by SIGKILL" in devenv("logs", "w").out, 15)


def test_a_window_not_ready_is_reported_once(devenv: Devenv, project: Path) -> None:
    write_profile(project, "session: once\nwindows:\n  - name: w\n    command: exec sleep 600\n"
                           "    ready: {port: 1, timeout: 1}\n")
    result = devenv("up", "-d", "--no-check", "--wait")
    assert result.code == 1
    assert result.output.count("w: not ready after") == 1, result.output


def test_a_folder_named_like_a_format_is_a_folder(devenv: Devenv, project: Path) -> None:
    odd = project / "#(touch CANARY) #{session_name} %H"
    odd.mkdir()
    write_profile(project, f"session: cwd\nwindows:\n  - name: w\n    cwd: {yaml_str(odd.name)}\n"
                           "    command: pwd; exec sleep 600\n  - name: shell\n    cwd: " + yaml_str(odd.name) + "\n")
    assert devenv("up", "-d", "--no-check").code == 0
    paths = devenv.tmux("list-panes", "-s", "-t", "=cwd", "-F", "#{pane_current_path}").split("\n")
    assert paths[:2] == [str(odd), str(odd)]
    wait_until(lambda: str(odd) in devenv("logs", "w").out, 10)
    assert not (project / "CANARY").exists() and not (odd / "CANARY").exists()


def test_down_removes_a_session_a_crash_left_half_built(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    from devenv.names import quote

    write_profile(project, "session: crashed\nwindows:\n  - name: w\n    command: exec sleep 600\n")
    pidfile = tmp_path / "left.pid"
    devenv.tmux("new-session", "-d", "-s", "__devenv_dead01", f"sh -c 'echo $$ > {pidfile}; exec sleep 600'")
    devenv.tmux("set-option", "-t", "=__devenv_dead01:", "@devenv_project", quote(str(project.resolve())))
    devenv.tmux("set-option", "-t", "=__devenv_dead01:", "@devenv_session", "crashed")
    devenv.tmux("new-session", "-d", "-s", "__devenv_other01", "sleep 600")  # not ours: another project's build
    pid = read_pid(pidfile)
    result = devenv("down")
    assert result.code == 0 and "half-built" in result.err, result.output
    wait_until(lambda: gone(pid), 10)
    assert sessions(devenv) == ["__devenv_other01"]
