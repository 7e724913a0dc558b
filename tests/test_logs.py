"""devenv logs: the follower core (real files in tmp_path) and the command (real processes)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devenv import logs, wait
from devenv.cli import render
from devenv.cli.render import Printer
from devenv.logs import Follower, clean_line, follow, glob_source, window_source
from devenv.paths import SessionPaths, pane_stem
from devenv.wait import wait_until
from tests.conftest import Devenv, write_profile

PROFILE = "session: logtest\nwindows:\n  - {name: a, command: \"sleep 100\"}\n  - {name: crash, command: \"echo boom; exit 3\"}\n"


def texts(batch: list[tuple[str, str]]) -> list[str]:
    return [line for _, line in batch]


def append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(text)


def numbered(prefix: str, first: int, last: int) -> str:
    return "".join(f"{prefix} {i}\n" for i in range(first, last + 1))


# --------------------------------------------------------------------------- cleaning


@pytest.mark.parametrize("raw, shown", [
    ("plain text\twith tab", "plain text\twith tab"),
    ("\x1b[31mred\x1b[0m and \x1b[1;32mbold green\x1b[m", "red and bold green"),
    ("crlf line\r", "crlf line"),
    ("progress 10%\rprogress 100%", "progress 100%"),
    ("abcdef\rXY", "XYcdef"),
    ("long status text\r\x1b[Kdone", "done"),
    ("long status\r\x1b[2K  ok", "  ok"),
    ("\x1b]0;window title\x07prompt$ ls", "prompt$ ls"),
    ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
    ("\x1b(Bcharset\x1b=", "charset"),
    ("abc\x08\x08X", "aXc"),
    ("bell\x07 and nul\x00", "bell and nul"),
    ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),
])
def test_clean_line_shows_what_a_terminal_shows(raw: str, shown: str) -> None:
    assert clean_line(raw) == shown


# --------------------------------------------------------------------------- the follower core


def test_initial_shows_last_lines_and_holds_the_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    append(log, numbered("line", 1, 15) + "par")
    f = Follower([glob_source("*.log", tmp_path)], lines=3)
    assert f.initial() == [("app.log", "line 13"), ("app.log", "line 14"), ("app.log", "line 15")]
    assert f.poll() == []
    append(log, "tial\nline 16\nnext-par")
    assert texts(f.poll()) == ["partial", "line 16"]
    assert f.poll() == []
    append(log, "t\n")
    assert texts(f.poll()) == ["next-part"]
    f.close()


def test_last_lines_across_read_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "CHUNK", 7)
    content = [f"{'x' * (i % 11)}{i}" for i in range(40)]
    log = tmp_path / "a.log"
    append(log, "\n".join(content) + "\n")
    for n in (0, 1, 2, 5, 39, 40, 100):
        f = Follower([glob_source("a.log", tmp_path)], lines=n)
        assert texts(f.initial()) == (content[-n:] if n else [])
        append(log, "")
        assert f.poll() == []
        f.close()


def test_one_shot_view_counts_the_unterminated_last_line(tmp_path: Path) -> None:
    append(tmp_path / "a.log", "a\nb\nc\nd")
    f = Follower([glob_source("a.log", tmp_path)], lines=2)
    assert texts(f.initial(include_partial=True)) == ["c", "d"]
    f.close()
    append(tmp_path / "b.log", "no newline at all")
    f = Follower([glob_source("b.log", tmp_path)], lines=2)
    assert texts(f.initial(include_partial=True)) == ["no newline at all"]
    f.close()
    f = Follower([glob_source("b.log", tmp_path)], lines=None)
    assert texts(f.initial(include_partial=True)) == []
    assert texts(f.flush()) == ["no newline at all"]
    f.close()


def test_all_lines_and_grep_counts_matching_lines(tmp_path: Path) -> None:
    append(tmp_path / "a.log", "GET /\nERROR one\nGET /x\nERROR two\nGET /y\nERROR three\nGET /z\n")
    f = Follower([glob_source("a.log", tmp_path)], lines=2, grep=re.compile("ERROR"))
    assert texts(f.initial()) == ["ERROR two", "ERROR three"]
    append(tmp_path / "a.log", "GET /w\nERROR four\n")
    assert texts(f.poll()) == ["ERROR four"]
    f.close()
    f = Follower([glob_source("a.log", tmp_path)], lines=None)
    assert len(f.initial()) == 9
    f.close()


def test_glob_waits_and_new_files_are_read_from_their_start(tmp_path: Path) -> None:
    f = Follower([glob_source("logs/*.log", tmp_path)], lines=10)
    assert f.initial() == []
    assert [s.name for s in f.sources_without_files()] == ["logs/*.log"]
    assert f.poll() == []
    append(tmp_path / "logs" / "api.log", numbered("api", 1, 12))
    assert f.poll(rescan=False) == []  # new files are looked for on rescans only
    assert f.poll() == [("logs/api.log", f"api {i}") for i in range(1, 13)]
    append(tmp_path / "logs" / "worker.log", "w 1\n")
    append(tmp_path / "logs" / "api.log", "api 13\n")
    assert f.poll() == [("logs/api.log", "api 13"), ("logs/worker.log", "w 1")]
    assert f.sources_without_files() == []
    f.close()


def test_truncation_reads_again_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, numbered("line", 1, 5))
    f = Follower([glob_source("a.log", tmp_path)], lines=0)
    assert f.initial() == []
    log.write_text("new 1\n")  # shorter than before
    assert texts(f.poll()) == ["new 1"]
    append(log, "new 2\n")
    assert texts(f.poll()) == ["new 2"]
    # truncated and rewritten past the old size between two polls: caught by the last bytes read
    log.write_text(numbered("again", 1, 4))
    assert texts(f.poll()) == ["again 1", "again 2", "again 3", "again 4"]
    assert any("truncated" in n for n in f.notes)
    f.close()


def test_rotation_finishes_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    append(log, numbered("api", 1, 3))
    f = Follower([glob_source("*.log", tmp_path)], lines=10)
    assert texts(f.initial()) == ["api 1", "api 2", "api 3"]
    with open(log, "a") as old:
        old.write("api 4\napi 5\napi-6-par")
        old.flush()
        log.rename(tmp_path / "api.log.1")
        append(log, "api 7\n")
        assert texts(f.poll(rescan=False)) == ["api 4", "api 5", "api 7"]
        old.write("tial\napi 6b\n")  # the app still writes to the old file until it reopens
    assert texts(f.poll(rescan=False)) == ["api-6-partial", "api 6b"]
    append(tmp_path / "api.log.1", "late\n")
    assert texts(f.poll(rescan=True)) == ["late"]  # the rescan finishes and closes it
    append(tmp_path / "api.log.1", "never\n")
    append(log, "api 8\n")
    assert f.poll() == [("api.log", "api 8")]
    assert len(f.tails) == 1
    f.close()


def test_rotated_name_matched_by_the_glob_is_not_read_twice(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    append(log, "api 1\n")
    f = Follower([glob_source("api.log*", tmp_path)], lines=10)
    assert f.initial() == [("api.log", "api 1")]
    append(log, "api 2\n")
    log.rename(tmp_path / "api.log.1")
    append(log, "api 3\n")
    assert texts(f.poll()) == ["api 2", "api 3"]
    append(tmp_path / "api.log.1", "api 2b\n")
    assert f.poll() == [("api.log.1", "api 2b")]  # still followed, under its new name
    f.close()


def test_removed_file_hands_out_its_partial_line(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, "one\ntwo-without-newline")
    f = Follower([glob_source("a.log", tmp_path)], lines=10)
    assert texts(f.initial()) == ["one"]
    log.unlink()
    assert texts(f.poll()) == ["two-without-newline"]
    assert f.tails == {}
    append(log, "again\n")
    assert texts(f.poll()) == ["again"]
    f.close()


def test_window_source_reads_pane_logs(home: Path) -> None:
    web0 = SessionPaths("sock", "sess").log("web", 0)
    web1 = SessionPaths("sock", "sess").log("web", 1)
    other = SessionPaths("sock", "sess").log("web.x", 0)
    for path, text in ((web0, "\x1b[32mready\x1b[0m\r\n"), (web1, "pane one\r\n"), (other, "not mine\r\n")):
        append(path, text)
    f = Follower([window_source("web", SessionPaths("sock", "sess"))], lines=10)
    assert f.initial() == [("web", "ready"), ("web.1", "pane one")]
    f.close()


def test_printer_aligns_colours_and_masks() -> None:
    out = io.StringIO()
    printer = Printer(out)
    printer([("api", "one")])
    printer([("api", "two"), ("worker", "three"), ("api", "")])
    assert out.getvalue() == "api | one\napi    | two\nworker | three\napi    |\n"
    out = io.StringIO()
    Printer(out, color=True)([("api", "x")])
    code = render.color_of("api")
    assert out.getvalue() == f"\x1b[{code}mapi |\x1b[0m x\n"
    assert render.color_of("api") == code  # stable
    out = io.StringIO()
    Printer(out, prefix=False, mask=lambda s: s.replace("hunter2", "****"))([("api", "pw=hunter2")])
    assert out.getvalue() == "pw=****\n"


def test_colour_only_on_a_terminal_without_no_color() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert render.use_color(Tty(), {}) is True
    assert render.use_color(Tty(), {"NO_COLOR": "1"}) is False
    assert render.use_color(io.StringIO(), {}) is False


def test_follow_interval_grows_when_idle_and_resets_on_activity(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, "")
    f = Follower([glob_source("a.log", tmp_path)], lines=0)
    f.initial()
    now = [0.0]
    slept: list[float] = []
    got: list[str] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
        if len(slept) == 10:
            append(log, "wake\n")

    follow(f, lambda b: got.extend(texts(b)), stop=lambda: len(slept) >= 14, sleep=sleep, clock=lambda: now[0])
    assert slept[0] == pytest.approx(0.15)
    assert max(slept) == 1.0
    assert slept[:10] == sorted(slept[:10])
    assert slept[10] == pytest.approx(0.1)  # the line arrived: poll quickly again
    assert got == ["wake"]
    f.close()


def test_follow_ends_on_stopped_and_flushes_partial_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    append(log, "")
    f = Follower([glob_source("a.log", tmp_path)], lines=0)
    f.initial()
    got: list[str] = []

    def sleep(seconds: float) -> None:
        append(log, "last\nunfinished")
        raise wait.Stopped

    follow(f, lambda b: got.extend(texts(b)), sleep=sleep)
    assert got == ["last", "unfinished"]
    f.close()


def test_an_idle_poll_costs_almost_nothing(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        append(tmp_path / "logs" / f"{name}.log", numbered(name, 1, 100))
    f = Follower([glob_source("logs/*.log", tmp_path), glob_source("more/*.log", tmp_path)], lines=10)
    f.initial()
    start = time.process_time()
    for _ in range(200):
        assert f.poll(rescan=True) == []
    per_poll = (time.process_time() - start) / 200
    # the idle loop polls once a second: 1% CPU would be 10 ms per poll
    assert per_poll < 0.002, per_poll
    f.close()


# --------------------------------------------------------------------------- the command


class Reader:
    """Collects a stream's lines in a thread, as they arrive."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.thread.start()

    def _run(self, stream) -> None:  # noqa: ANN001
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, count: int, timeout: float = 20) -> list[str]:
        wait_until(lambda: len(self.lines) >= count, timeout)
        return list(self.lines)

    def wait_text(self, text: str, timeout: float = 20) -> None:
        wait_until(lambda: any(text in line for line in self.lines), timeout)


def split(line: str) -> tuple[str, str]:
    label, _, text = line.partition(" | ")
    return label.strip(), text


def buffered_env(**extra: str) -> dict[str, str]:
    """The environment without PYTHONUNBUFFERED: line-by-line output must not depend on it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**env, **extra}


def start_follower(argv: list[str], **kwargs) -> tuple[subprocess.Popen, Reader, Reader]:  # noqa: ANN003
    kwargs.setdefault("env", buffered_env())
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, **kwargs)
    return proc, Reader(proc.stdout), Reader(proc.stderr)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_follow_globs_new_files_truncation_rotation_through_a_pipe(home: Path, project: Path) -> None:
    write_profile(project, PROFILE)
    argv = [sys.executable, "-m", "devenv", "-C", str(project), "logs", "-f", "logs/*.log"]
    proc, out, err = start_follower(argv)
    try:
        err.wait_text("waiting for files matching 'logs/*.log'")  # running, before logs/ exists
        api, worker = project / "logs" / "api.log", project / "logs" / "worker.log"
        expected: list[tuple[str, str]] = []

        def step(path: Path, text: str, *lines: str) -> None:
            append(path, text)
            label = str(path.relative_to(project))
            expected.extend((label, line) for line in lines)
            got = [split(line) for line in out.wait_for(len(expected))]
            assert got == expected
            assert proc.poll() is None  # lines arrive one by one while it runs: no buffering until exit

        step(api, numbered("api", 1, 3), "api 1", "api 2", "api 3")
        step(worker, "worker 1\n", "worker 1")
        step(api, "api 4\napi-5-par", "api 4")
        step(worker, "worker 2\n", "worker 2")
        step(api, "tial\n", "api-5-partial")
        api.write_text("")  # truncated (copytruncate)
        step(api, "api 6\n", "api 6")
        append(api, numbered("api", 7, 8))
        api.rename(project / "logs" / "api.log.1")  # rotated: rename, then a new file
        step(api, numbered("api", 9, 10), "api 7", "api 8", "api 9", "api 10")
        step(worker, "worker 3\n", "worker 3")
        step(api, "api 11\n", "api 11")
        assert out.lines[-1].startswith("logs/api.log    | ")  # aligned to the longest label
        assert "\x1b[" not in "".join(out.lines)  # no colour into a pipe

        import psutil

        assert psutil.Process(proc.pid).memory_info().rss < 40 * 1024 * 1024
        assert stop(proc) == 0
        out.thread.join(10)
        assert [split(line) for line in out.lines] == expected  # nothing lost, nothing repeated
        assert "Traceback" not in "\n".join(err.lines)
    finally:
        stop(proc, signal.SIGKILL)


def test_logs_window_command_line(home: Path, project: Path) -> None:
    """What a `logs:` window runs: cwd the profile root, DEVENV_PROJECT set, globs after --."""
    write_profile(project, PROFILE + "  - {name: server, logs: [\".next/server/*.log\", \"logs/*.log\"]}\n")
    append(project / "logs" / "old.log", numbered("old", 1, 12))
    env = buffered_env(DEVENV_PROJECT=str(project), NO_COLOR="1")
    argv = [sys.executable, "-m", "devenv", "logs", "-f", "--", ".next/server/*.log", "logs/*.log"]
    proc, out, err = start_follower(argv, cwd=project, env=env)
    try:
        assert [split(x) for x in out.wait_for(10)] == [("logs/old.log", f"old {i}") for i in range(3, 13)]
        err.wait_text("waiting for files matching '.next/server/*.log'")
        append(project / ".next" / "server" / "app.log", "\x1b[32mcompiled\x1b[0m\r\n")
        out.wait_text("compiled")
        assert split(out.lines[-1]) == (".next/server/app.log", "compiled")
        assert stop(proc, signal.SIGINT) == 0
        assert "Traceback" not in "\n".join(err.lines)
    finally:
        stop(proc, signal.SIGKILL)


def write_pane(socket: str | None, session: str, window: str, text: str, status: str | None = None) -> Path:
    log = SessionPaths(socket, session).log(window, 0)
    append(log, text)
    if status:
        (log.parent / f"{pane_stem(window, 0)}.status").write_text(status + "\n")
    return log


def test_logs_shows_window_output_after_a_crash(home: Path, project: Path) -> None:
    write_profile(project, PROFILE)
    write_pane(None, "logtest", "crash", "$ start\r\n\x1b[31mboom\x1b[0m\r\n", status="exited 3")
    write_pane(None, "logtest", "a", numbered("a", 1, 20).replace("\n", "\r\n"))
    run = Devenv(project, None)
    res = run("logs", "crash")
    assert (res.code, res.out) == (0, "crash | $ start\ncrash | boom\n")
    res = run("logs", "-n", "2")
    assert res.code == 0
    assert res.out.splitlines() == ["a     | a 19", "a     | a 20", "crash | $ start", "crash | boom"]
    res = run("logs", "--no-prefix", "--grep", "^a 1[0-9]$", "-n", "all", "a")
    assert res.out.splitlines() == [f"a {i}" for i in range(10, 20)]


def test_logs_errors(home: Path, project: Path) -> None:
    write_profile(project, PROFILE)
    run = Devenv(project, None)
    res = run("logs", "--grep", "(unclosed")
    assert res.code == 2 and "error: invalid --grep regular expression" in res.err
    res = run("logs", "nothing/*.log")
    assert res.code == 1
    assert "error: no file matches 'nothing/*.log'" in res.err
    assert "windows of profile 'default': a, crash" in res.err
    res = run("logs", "crash")
    assert res.code == 1 and "no output captured for window 'crash' yet" in res.err
    res = run("logs", "-n", "many")
    assert res.code == 2 and "'many' is not a number of lines" in res.err
    assert "Traceback" not in res.err


def test_globs_work_without_a_profile(home: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    append(bare / "logs" / "x.log", "hello\n")
    run = Devenv(bare, None)
    res = run("logs", "logs/*.log", profile="nosuch")
    assert (res.code, res.out) == (0, "logs/x.log | hello\n")
    res = run("logs", "nothing/*", profile="nosuch")
    assert res.code == 1 and "hint: the profile could not be loaded: profile 'nosuch' not found" in res.err
    res = run("logs", profile="nosuch")
    assert res.code == 2 and "profile 'nosuch' not found" in res.err


def test_logs_of_a_crashed_window_in_a_real_session(devenv: Devenv, project: Path) -> None:
    write_profile(project, PROFILE)
    res = devenv("up", "-d", "--no-check", timeout=60)
    assert res.code == 0, res.output

    def shows_boom() -> bool:
        r = devenv("logs", "crash")
        return r.code == 0 and "crash | boom" in r.out

    wait_until(shows_boom, 20)
    devenv.tmux("kill-server")  # the session is gone; its output is not
    res = devenv("logs", "crash")
    assert res.code == 0 and "crash | boom" in res.out.splitlines()


def test_logs_windows_show_their_files_and_secrets_are_masked(home: Path, project: Path) -> None:
    write_profile(project, PROFILE + "  - {name: server, logs: [\"logs/*.log\"]}\n")
    append(project / "logs" / "api.log", "GET /\n")
    write_pane(None, "logtest", "a", "connecting to postgres://app:hunter2@localhost/app\r\n")
    run = Devenv(project, None)
    res = run("logs")
    assert res.code == 0
    assert res.out.splitlines() == ["a            | connecting to postgres://app:****@localhost/app",
                                    "logs/api.log | GET /"]
    assert "no output captured for window 'crash' yet" in res.err
    res = run("logs", "server")
    assert (res.code, res.out) == (0, "logs/api.log | GET /\n")


def test_follower_ends_when_its_reader_goes_away(home: Path, project: Path) -> None:
    """`devenv logs -f | head -1`: ends quietly, even when no further line comes."""
    write_profile(project, PROFILE)
    append(project / "app.log", "one\ntwo\n")
    argv = [sys.executable, "-m", "devenv", "-C", str(project), "logs", "-f", "app.log"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, env=buffered_env())
    try:
        assert proc.stdout.readline() == "app.log | one\n"
        proc.stdout.close()
        wait_until(lambda: proc.poll() is not None, 20)
        assert proc.returncode == 0
        assert proc.stderr.read() == ""
    finally:
        stop(proc, signal.SIGKILL)
