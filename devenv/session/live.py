"""tmux's vocabulary: a session's panes as tmux reports them (and the one parser of that report),
and the shape of one command to tmux, which plans produce and the executor runs."""

from __future__ import annotations

from typing import NamedTuple

Command = tuple[str, ...]  # one tmux command, as argv (without the leading "tmux")

# the fields of `tmux list-panes -F`, tab-separated; the window name last (it may hold tabs)
PANE_FORMAT = "\t".join([
    "#{window_id}", "#{window_index}", "#{pane_id}", "#{pane_index}", "#{pane_dead}", "#{pane_dead_status}",
    "#{pane_pid}", "#{window_name}",
])


class LivePane(NamedTuple):
    window_id: str  # @3
    window_index: int
    window_name: str
    pane_id: str  # %7
    pane_index: int
    dead: bool
    dead_status: int | None
    pid: int | None


class LiveSession(NamedTuple):
    name: str
    panes: tuple[LivePane, ...]

    def windows(self) -> dict[str, list[LivePane]]:
        """Panes by window name, in window order, each list in pane order (first window of a name wins)."""
        out: dict[str, list[LivePane]] = {}
        seen_ids: dict[str, str] = {}
        for pane in sorted(self.panes, key=lambda p: (p.window_index, p.pane_index)):
            owner = seen_ids.setdefault(pane.window_name, pane.window_id)
            if owner == pane.window_id:
                out.setdefault(pane.window_name, []).append(pane)
        return out


def parse_pane(line: str) -> LivePane:
    """One line of ``list-panes -F PANE_FORMAT``; ValueError when it is not one."""
    wid, widx, pid_, pidx, dead, status, pid, name = line.split("\t", 7)
    return LivePane(
        window_id=wid,
        window_index=int(widx),
        window_name=name,
        pane_id=pid_,
        pane_index=int(pidx),
        dead=dead == "1",
        dead_status=int(status) if status.lstrip("-").isdigit() else None,
        pid=int(pid) if pid.isdigit() else None,
    )


def parse_session(name: str, text: str) -> LiveSession:
    """The whole answer of ``list-panes -s -F PANE_FORMAT``; ValueError when it is not one."""
    return LiveSession(name, tuple(parse_pane(line) for line in text.splitlines() if line))
