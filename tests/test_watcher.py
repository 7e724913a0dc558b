"""Watch and restart: the session's watcher, with real files, real processes and a real tmux server.

Editing a watched file restarts only its window; a burst of saves restarts once; a task reruns and
then what is after it restarts, in that order, or, when it fails, nothing else moves; a change of an
env file restarts only the windows whose environment changed; a save by rename is seen; down
leaves no watcher. (``ps --watch`` is tests/test_watch.py.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devenv.ops import watch
from devenv.paths import SessionPaths
from devenv.profile.env import resolve
from devenv.profile.load import load
from devenv.session import watcher
from devenv.wait import sleep, wait_until
from tests.conftest import Devenv, gone, write_profile

DEADLINE = 10.0  # a restart takes well under a second; the deadline leaves room for a loaded machine


def rows(devenv: Devenv) -> dict[str, dict[str, object]]:
    return {r["window"]: r for r in json.loads(devenv("ps", "--json").out)}


def pane_pids(devenv: Devenv, session: str) -> dict[str, int]:
    """Each window's pane process (its runner: a restart starts a new one)."""
    out = devenv.tmux("list-panes", "-s", "-t", f"={session}", "-F", "#{window_name}\t#{pane_pid}")
    return {name: int(pid) for name, _, pid in (line.partition("\t") for line in out.splitlines())}


def starts(project: Path, window: str) -> list[str]:
    """The lines a window's command wrote each time it started."""
    path = project / f"{window}.starts"
    return path.read_text().splitlines() if path.exists() else []


def up_watching(devenv: Devenv, session: str) -> watcher.Record:
    """``up``, then wait until the watcher watches (it records itself once its watches are set)."""
    result = devenv("up", "-d", "--no-check", "--wait", "--timeout", "30")
    assert result.code == 0, result.output
    paths = SessionPaths(devenv.socket, session)
    return wait_until(lambda: watcher.read_record(paths), DEADLINE)


def watcher_log(devenv: Devenv, session: str) -> str:
    path = watcher.log_path(SessionPaths(devenv.socket, session))
    return path.read_text() if path.exists() else ""


def pane_log(devenv: Devenv, session: str, window: str) -> str:
    path = SessionPaths(devenv.socket, session).log(window, 0)
    return path.read_text(errors="replace") if path.exists() else ""


def save(path: Path, text: str) -> None:
    """A save by rename, as vim and JetBrains' safe write do: a temporary file, then os.replace."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- windows

WINDOWS = """\
session: watched
windows:
  - name: worker
    command: echo $$ >> worker.starts; exec sleep 600
    watch: ["scripts/**/*.js"]
    watch_ignore: ["**/*.test.js"]
    restart: on-failure
    max_restarts: 0
  - name: api
    command: echo $$ >> api.starts; exec sleep 600
    watch: [lib/*.ts]
  - name: plain
    command: exec sleep 600
"""


def test_editing_a_watched_file_restarts_only_its_window(devenv: Devenv, project: Path) -> None:
    (project / "scripts" / "jobs").mkdir(parents=True)
    (project / "scripts" / "node_modules").mkdir()
    (project / "lib").mkdir()
    (project / "scripts" / "jobs" / "send.js").write_text("1\n")
    write_profile(project, WINDOWS)
    up_watching(devenv, "watched")
    wait_until(lambda: len(starts(project, "worker")) == 1 and len(starts(project, "api")) == 1, DEADLINE)
    before = pane_pids(devenv, "watched")

    (project / "scripts" / "jobs" / "send.js").write_text("2\n")  # ** matches at any depth
    wait_until(lambda: len(starts(project, "worker")) == 2, DEADLINE)
    after = pane_pids(devenv, "watched")
    assert after["worker"] != before["worker"]
    assert after["api"] == before["api"] and after["plain"] == before["plain"]  # only its window
    wait_until(lambda: "[devenv] restarting: scripts/jobs/send.js changed" in pane_log(devenv, "watched", "worker"),
               DEADLINE)

    # ignored (the default node_modules, its watch_ignore) or not matching: nothing restarts...
    (project / "scripts" / "node_modules" / "dep.js").write_text("x\n")
    (project / "scripts" / "jobs" / "send.test.js").write_text("x\n")
    (project / "scripts" / "notes.txt").write_text("x\n")
    (project / "lib" / "util.ts").write_text("x\n")  # ...and a change that does restart api comes after them
    wait_until(lambda: len(starts(project, "api")) == 2, DEADLINE)
    assert len(starts(project, "worker")) == 2
    ps = rows(devenv)
    # counted in ps's restarts, not against max_restarts (0 here: the window still runs)
    assert ps["worker"]["restarts"] == 1 and ps["worker"]["state"] == "running"
    assert ps["plain"]["restarts"] == 0
    assert ps["(watcher)"]["kind"] == "watcher" and ps["(watcher)"]["state"] == "running"
    assert "worker" in str(ps["(watcher)"]["detail"]) and ps["(watcher)"]["pid"]


def test_ten_saves_in_200_ms_restart_once(devenv: Devenv, project: Path) -> None:
    (project / "scripts").mkdir()
    (project / "lib").mkdir()
    write_profile(project, WINDOWS)
    up_watching(devenv, "watched")
    wait_until(lambda: len(starts(project, "worker")) == 1, DEADLINE)
    for i in range(10):  # a burst, as a formatter on save or a git checkout makes
        (project / "scripts" / "a.js").write_text(f"{i}\n")
        sleep(0.02)
    wait_until(lambda: len(starts(project, "worker")) == 2, DEADLINE)
    # a later change of another window: once it is acted on, a second restart of the worker would be too
    (project / "lib" / "x.ts").write_text("x\n")
    wait_until(lambda: len(starts(project, "api")) == 2, DEADLINE)
    assert len(starts(project, "worker")) == 2
    assert watcher_log(devenv, "watched").count("worker: restarting") == 1


SLOW_STOP = """\
session: slow
windows:
  - name: worker
    command: trap 'sleep 1; exit 0' TERM; echo $$ >> worker.starts; while :; do sleep 0.1; done
    watch: ["scripts/*.js"]
    stop: {signal: TERM, timeout: 10}
"""


def test_a_change_during_a_restart_does_not_interrupt_it_and_one_more_follows(devenv: Devenv, project: Path) -> None:
    (project / "scripts").mkdir()
    write_profile(project, SLOW_STOP)
    up_watching(devenv, "slow")
    wait_until(lambda: len(starts(project, "worker")) == 1, DEADLINE)
    (project / "scripts" / "a.js").write_text("1\n")
    wait_until(lambda: "worker: restarting: scripts/a.js changed" in watcher_log(devenv, "slow"), DEADLINE)
    (project / "scripts" / "b.js").write_text("1\n")  # while the worker takes a second to stop
    wait_until(lambda: len(starts(project, "worker")) == 3, DEADLINE)
    log = watcher_log(devenv, "slow")
    assert log.count("worker: restarting") == 2 and "worker: restarting: scripts/b.js changed" in log
    assert rows(devenv)["worker"]["restarts"] == 2


def test_a_save_by_rename_is_seen(devenv: Devenv, project: Path) -> None:
    (project / "scripts").mkdir()
    (project / "lib").mkdir()
    script = project / "scripts" / "a.js"
    script.write_text("1\n")
    write_profile(project, WINDOWS)
    up_watching(devenv, "watched")
    wait_until(lambda: len(starts(project, "worker")) == 1, DEADLINE)
    save(script, "2\n")  # vim: write a temporary file, rename it over the original
    wait_until(lambda: len(starts(project, "worker")) == 2, DEADLINE)
    # JetBrains' safe write: the original renamed away, the new text renamed in, the old one deleted
    old = script.with_name("a.js___jb_old___")
    os.replace(script, old)
    save(script, "3\n")
    old.unlink()
    wait_until(lambda: len(starts(project, "worker")) == 3, DEADLINE)
    assert script.read_text() == "3\n"


def test_a_watched_folder_made_after_up_is_watched(devenv: Devenv, project: Path) -> None:
    write_profile(project, WINDOWS)  # neither scripts/ nor lib/ exists yet
    up_watching(devenv, "watched")
    wait_until(lambda: len(starts(project, "api")) == 1, DEADLINE)
    (project / "lib").mkdir()
    (project / "lib" / "util.ts").write_text("x\n")  # at once: before its folder can be watched
    wait_until(lambda: len(starts(project, "api")) == 2, DEADLINE)
    (project / "scripts" / "deep" / "er").mkdir(parents=True)
    (project / "scripts" / "deep" / "er" / "a.js").write_text("x\n")
    wait_until(lambda: len(starts(project, "worker")) == 2, DEADLINE)


def test_down_leaves_no_watcher(devenv: Devenv, project: Path) -> None:
    (project / "scripts").mkdir()
    write_profile(project, WINDOWS)
    record = up_watching(devenv, "watched")
    assert not gone(record.pid)
    again = devenv("up", "-d", "--no-check")  # a running watcher of the same watches is kept
    assert again.code == 0 and "is up to date" in again.out, again.output
    assert watcher.read_record(SessionPaths(devenv.socket, "watched")) == record
    down = devenv("down")
    assert down.code == 0, down.output
    assert "(watcher)" in down.out  # it was one of the session's processes, stopped with them
    assert gone(record.pid)
    assert not any(mark == watcher.mark(SessionPaths(devenv.socket, "watched")) for mark in _marks())


def _marks() -> list[str]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
                stat = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if stat and stat[0] not in ("Z", "X"):
                found += [e[12:].decode(errors="replace") for e in env if e.startswith(b"DEVENV_MARK=")]
    return found


def test_up_starts_the_watcher_off_its_fast_path(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    """The watcher is a process of its own: a plain `up` imports neither watchfiles nor anything heavy."""
    from tests.test_imports import fast_path_modules, heavy

    (project / "scripts").mkdir()
    write_profile(project, WINDOWS)
    assert devenv("config").code == 0  # the parse cache is warm
    modules = fast_path_modules(devenv, tmp_path, "-d", "--no-check")
    assert heavy(modules) == [] and not any(m.startswith("watchfiles") or m == "devenv.ops.watch" for m in modules)
    assert "devenv.session.watcher" in modules  # it did start one
    wait_until(lambda: watcher.read_record(SessionPaths(devenv.socket, "watched")), DEADLINE)


# --------------------------------------------------------------------------- tasks

TASKS = """\
session: tasks
tasks:
  - name: generate
    command: >-
      echo generating; test ! -f broken || {{ echo "schema.prisma: syntax error" >&2; exit 3; }};
      n=$(($(cat gen.count 2>/dev/null || echo 0) + 1)); sleep 0.3; echo $n > gen.count
    watch: [prisma/schema.prisma]
windows:
  - name: worker
    command: echo "$$ $(cat gen.count)" >> worker.starts; exec sleep 600
    after: [generate]
  - name: api
    command: echo "$$ $(cat gen.count)" >> api.starts; exec sleep 600
    after: [worker]
  - name: other
    command: echo $$ >> other.starts; exec sleep 600
"""


def test_a_schema_edit_reruns_the_task_then_restarts_its_dependents(devenv: Devenv, project: Path) -> None:
    (project / "prisma").mkdir()
    (project / "prisma" / "schema.prisma").write_text("model A {}\n")
    write_profile(project, TASKS.format())
    up_watching(devenv, "tasks")
    wait_until(lambda: starts(project, "api") and starts(project, "other"), DEADLINE)
    assert (project / "gen.count").read_text() == "1\n"
    (project / "prisma" / "schema.prisma").write_text("model A { id Int }\n")
    wait_until(lambda: len(starts(project, "worker")) == 2 and len(starts(project, "api")) == 2, DEADLINE)
    # in that order: the dependents started once the task had run again (they saw its new result)
    assert (project / "gen.count").read_text() == "2\n"
    assert starts(project, "worker")[1].endswith(" 2") and starts(project, "api")[1].endswith(" 2")
    assert len(starts(project, "other")) == 1  # not after it: untouched
    log = watcher_log(devenv, "tasks")
    assert log.index("generate: done") < log.index("worker: restarting: generate ran again")
    assert "[devenv] running again: prisma/schema.prisma changed" in pane_log(devenv, "tasks", "generate")
    ps = rows(devenv)
    assert ps["generate"]["state"] == "done" and ps["generate"]["restarts"] == 1
    assert ps["worker"]["restarts"] == 1 and ps["other"]["restarts"] == 0


def test_a_failing_task_leaves_its_dependents_on_their_old_pid(devenv: Devenv, project: Path) -> None:
    (project / "prisma").mkdir()
    (project / "prisma" / "schema.prisma").write_text("model A {}\n")
    write_profile(project, TASKS.format())
    up_watching(devenv, "tasks")
    wait_until(lambda: starts(project, "api"), DEADLINE)
    before = pane_pids(devenv, "tasks")
    (project / "broken").touch()
    (project / "prisma" / "schema.prisma").write_text("model A { id Int\n")  # a broken schema
    wait_until(lambda: "what is after it keeps running" in watcher_log(devenv, "tasks"), DEADLINE)
    after = pane_pids(devenv, "tasks")
    assert after["worker"] == before["worker"] and after["api"] == before["api"]  # the old result runs on
    assert len(starts(project, "worker")) == 1
    ps = rows(devenv)
    assert ps["generate"]["state"] == "failed" and ps["generate"]["exit_code"] == 3
    assert ps["worker"]["state"] == "running"
    assert "schema.prisma: syntax error" in pane_log(devenv, "tasks", "generate")  # in its window
    badges = devenv.tmux("list-panes", "-s", "-t", "=tasks", "-F", "#{window_name} #{@devenv_state} #{@devenv_count}")
    assert "generate failed 3" in badges  # and in tmux's status line (its badge: ✗3)
    (project / "broken").unlink()  # fixing the file runs it again, and then they restart
    (project / "prisma" / "schema.prisma").write_text("model A { id Int }\n")
    wait_until(lambda: len(starts(project, "worker")) == 2, DEADLINE)
    assert rows(devenv)["generate"]["state"] == "done"


# --------------------------------------------------------------------------- env files

ENV = """\
session: envs
windows:
  - name: reads
    command: echo "$$ $FOO" >> reads.starts; exec sleep 600
    watch: [src/*.js]
  - name: pinned
    command: echo "$$ $FOO" >> pinned.starts; exec sleep 600
    env: {FOO: mine}
"""


def test_an_env_file_change_restarts_the_windows_whose_environment_changed(devenv: Devenv, project: Path) -> None:
    (project / "src").mkdir()
    env_local = project / ".env.local"
    env_local.write_text("FOO=1\nBAR=x\n")
    write_profile(project, ENV)
    up_watching(devenv, "envs")
    wait_until(lambda: starts(project, "reads") and starts(project, "pinned"), DEADLINE)
    env_local.write_text("FOO=2\nBAR=x\n")
    wait_until(lambda: len(starts(project, "reads")) == 2, DEADLINE)
    assert starts(project, "reads")[1].endswith(" 2")
    assert "[devenv] restarting: .env.local changed (env FOO)" in pane_log(devenv, "envs", "reads")
    assert len(starts(project, "pinned")) == 1  # its own FOO wins: its environment did not change
    save(env_local, "FOO=2\nBAR=x\n")  # saved unchanged: nothing restarts
    wait_until(lambda: ".env.local changed: no window's environment changed" in watcher_log(devenv, "envs"),
               DEADLINE)
    assert len(starts(project, "reads")) == 2 and len(starts(project, "pinned")) == 1
    (project / ".env").write_text("BAZ=1\n")  # a new env file, a new variable: for both
    wait_until(lambda: len(starts(project, "reads")) == 3 and len(starts(project, "pinned")) == 2, DEADLINE)


# --------------------------------------------------------------------------- the parts


def test_globs_match_as_written_and_ignore_what_a_project_never_edits(tmp_path: Path) -> None:
    cwd = tmp_path / "app"
    deep = watch.compile_glob("scripts/**/*.js", cwd)
    assert deep.base == cwd / "scripts" and deep.deep
    assert deep.regex.match(f"{cwd}/scripts/a.js") and deep.regex.match(f"{cwd}/scripts/x/y/a.js")
    assert not deep.regex.match(f"{cwd}/scripts/a.ts") and not deep.regex.match(f"{cwd}/scriptsx/a.js")
    one = watch.compile_glob("prisma/schema.prisma", cwd)
    assert one.base == cwd / "prisma" and not one.deep and one.regex.match(f"{cwd}/prisma/schema.prisma")
    up = watch.compile_glob("../shared/*.ts", cwd)
    assert up.regex.match(f"{tmp_path}/shared/a.ts") and not up.regex.match(f"{tmp_path}/shared/x/a.ts")
    target = watch.Target("w", cwd, (deep,), (watch.compile_glob("**/*.test.js", cwd),), 0.3)
    assert target.matches(f"{cwd}/scripts/a.js")
    assert not target.matches(f"{cwd}/scripts/node_modules/a.js")  # a default ignore
    assert not target.matches(f"{cwd}/scripts/a.test.js")  # watch_ignore
    assert not target.matches(f"{cwd}/scripts/.a.js.swp") and not target.matches(f"{cwd}/scripts/a.js~")
    assert watch.Target("d", cwd, (watch.compile_glob("dist/**", cwd),), (), 0.3).matches(f"{cwd}/dist/a.js")


def test_the_folders_watched_skip_ignored_trees(tmp_path: Path) -> None:
    for folder in ("src/a/b", "src/node_modules/pkg/lib", "src/.git/objects", "other"):
        (tmp_path / folder).mkdir(parents=True)
    target = watch.Target("w", tmp_path, (watch.compile_glob("src/**", tmp_path),
                                          watch.compile_glob("missing/dir/*.js", tmp_path)), (), 0.3)
    found = set(watch.folders([target]))
    assert {str(tmp_path / "src"), str(tmp_path / "src/a"), str(tmp_path / "src/a/b")} <= found
    assert not any("node_modules" in f or ".git" in f for f in found)
    assert str(tmp_path / "other") not in found
    assert str(tmp_path) in found  # a folder that does not exist yet: watched for from its parent


def test_the_debouncer_acts_once_a_target_is_quiet() -> None:
    pending = watch.Debouncer()
    for i in range(10):
        pending.add("w", [f"f{i}"], now=i * 0.02, quiet=0.3)
    assert pending.due(0.4) == {}
    assert pending.due(0.18 + 0.3) == {"w": {f"f{i}" for i in range(10)}}
    assert pending.next_due() is None


def test_watch_keys_are_checked_with_their_file_and_line(devenv: Devenv, project: Path) -> None:
    path = write_profile(project, "windows:\n  - name: db\n    db: sqlite:///x.db\n    watch: [a.js]\n")
    result = devenv("config")
    assert result.code == 2 and f"{path}:4" in result.err and "watch" in result.err, result.err
    write_profile(project, "watch_debounce: -1\nwindows:\n  - name: w\n    command: x\n")
    result = devenv("config")
    assert result.code == 2 and ":1: watch_debounce" in result.err, result.err
    write_profile(project, "windows:\n  - name: w\n    command: x\n    watch: {a: 1}\n")
    assert devenv("config").code == 2
    write_profile(project, "windows:\n  - name: __devenv_watch\n    command: x\n")
    assert "devenv's own" in devenv("config").err


def test_watch_keys_round_trip_and_debounce_defaults(project: Path) -> None:
    write_profile(project, """\
watch_debounce: 0.5
windows:
  - name: w
    command: x
    watch: src/**
    watch_ignore: ["**/*.snap"]
  - name: fast
    command: x
    watch: [a.js]
    watch_debounce: 0
tasks:
  - name: gen
    command: y
    watch: [schema.prisma]
""")
    profile = load(project)
    w, fast, gen = profile.window("w"), profile.window("fast"), profile.window("gen")
    assert w is not None and fast is not None and gen is not None
    assert w.watch == ("src/**",) and w.watch_ignore == ("**/*.snap",) and gen.watch == ("schema.prisma",)
    assert profile.debounce(w) == 0.5 and profile.debounce(fast) == 0.0
    from devenv.profile.dump import to_dict

    data = to_dict(profile)
    assert data["watch_debounce"] == 0.5 and data["windows"][1]["watch_debounce"] == 0
    assert data["tasks"][0]["watch"] == ["schema.prisma"]
    resolved = resolve(profile, project)
    names = [t.name for t in watch.targets(resolved)]
    assert names == ["w", "fast", "gen", watch.ENV_FILES]
    assert watcher.spec_digest(resolved) is not None


@pytest.mark.parametrize("text", ["windows:\n  - name: w\n    command: x\n"])
def test_nothing_watched_means_no_watcher(project: Path, text: str) -> None:
    write_profile(project, text)
    assert watcher.spec_digest(resolve(load(project), project)) is None
