"""The state folder between sessions: what a new session forgets, keeps and moves aside."""

from __future__ import annotations

from pathlib import Path

from devenv.paths import SessionPaths
from devenv.session import records


def test_a_new_session_forgets_the_records_keeps_the_logs_and_says_what_it_could_not_clear(home: Path) -> None:
    paths = SessionPaths("sock", "app")
    records.new_session(paths, Path("/p"))
    folder = paths.dir
    for i in range(10):
        (folder / f"w{i}.0.status").write_text("done\n")
        (folder / f"w{i}.0.def").write_bytes(b"{}")
    (folder / "w0.0.status.tmp").write_text("x")
    (folder / "api.0.log").write_text("last run\n")
    (folder / "empty.0.log").write_text("")
    stuck = folder / "shell.0.zsh"  # a zsh start-up folder holding something else: it cannot go
    stuck.mkdir()
    (stuck / ".zshrc").write_text("")
    (stuck / ".zcompdump").write_text("")
    notes: list[str] = []
    records.new_session(paths, Path("/p"), notes)
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["api.0.log.1", "empty.0.log", "project", "shell.0.zsh"]  # every record gone
    assert sorted(p.name for p in stuck.iterdir()) == [".zcompdump"]
    assert len(notes) == 1 and "could not clear the runner records" in notes[0]


def test_another_projects_session_of_that_name_starts_without_its_logs(home: Path) -> None:
    paths = SessionPaths("sock", "app")
    records.new_session(paths, Path("/one"))
    (paths.dir / "api.0.log").write_text("theirs\n")
    (paths.dir / "api.0.log.1").write_text("theirs, before\n")
    records.new_session(paths, Path("/two"))
    assert sorted(p.name for p in paths.dir.iterdir()) == ["project"]
    assert (paths.dir / "project").read_text() == "/two"
