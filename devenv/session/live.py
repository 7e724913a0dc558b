"""tmux's vocabulary: a session's panes as tmux reports them (and the one parser of that report),
and the shape of one command to tmux, which plans produce and the executor runs."""

from __future__ import annotations

from devenv.tuples import NamedTuple

Command = tuple[str, ...]  # one tmux command, as argv (without the leading "tmux")

PROJECT_OPTION = "@devenv_project"  # the session option recording its project root (percent-quoted)
TARGET_OPTION = "@devenv_session"  # the name devenv gave the session (tmux may show another: it escapes some)
WINDOW_OPTION = "@devenv_window"  # the profile's name of a window devenv made (tmux may rename it: automatic-rename)
# the fields of `tmux list-panes -F`, tab-separated. tmux escapes control characters in names (a tab
# shows as \t), and devenv percent-quotes its own option values: no field can hold the separator.
PANE_FORMAT = "\t".join([
    "#{session_id}", "#{session_name}", "#{" + TARGET_OPTION + "}", "#{" + PROJECT_OPTION + "}", "#{window_id}",
    "#{window_index}", "#{pane_id}", "#{pane_index}", "#{pane_dead}", "#{pane_dead_status}", "#{pane_pid}",
    "#{window_width}", "#{window_height}", "#{" + WINDOW_OPTION + "}", "#{window_name}",
])


class LivePane(NamedTuple):
    window_id: str  # @3
    window_index: int
    window_name: str  # the name devenv gave it (recorded with it), else the one tmux shows
    pane_id: str  # %7
    pane_index: int
    dead: bool
    dead_status: int | None
    pid: int | None
    width: int = 0  # the window's size (a layout made for a new window of the session fits it)
    height: int = 0


class LiveSession(NamedTuple):
    name: str
    panes: tuple[LivePane, ...]
    id: str = ""  # $3: the target of every command once the session is found
    project: str | None = None  # the project root recorded at build; None: not a devenv session

    def owned_by(self, project: object) -> bool:
        """Whether devenv built this session for ``project``."""
        return self.project is not None and self.project == str(project)

    @property
    def target(self) -> str:
        """How commands name this session: by id (a name may hold what tmux would misread)."""
        return self.id or f"={self.name}"

    def windows(self) -> dict[str, list[LivePane]]:
        """Panes by window name, in window order, each list in pane order (first window of a name wins)."""
        out: dict[str, list[LivePane]] = {}
        seen_ids: dict[str, str] = {}
        for pane in sorted(self.panes, key=lambda p: (p.window_index, p.pane_index)):
            owner = seen_ids.setdefault(pane.window_name, pane.window_id)
            if owner == pane.window_id:
                out.setdefault(pane.window_name, []).append(pane)
        return out

    def all_windows(self) -> list[tuple[str, list[LivePane]]]:
        """Every window, named or not by the profile, in window order: (name, panes in pane order).

        Two windows may share a name (one added by hand): both are here.
        """
        out: dict[str, tuple[str, list[LivePane]]] = {}
        for pane in sorted(self.panes, key=lambda p: (p.window_index, p.pane_index)):
            out.setdefault(pane.window_id, (pane.window_name, []))[1].append(pane)
        return list(out.values())


class PaneRow(NamedTuple):
    """One line of ``list-panes -a -F PANE_FORMAT``: the pane and what it says of its session."""

    session_id: str
    session_name: str  # as tmux shows it
    given: str | None  # the name devenv gave the session (None: not devenv's)
    project: str | None
    pane: LivePane


class SessionAt(NamedTuple):
    """The session whose windows name the holders of connections: tmux server, session, project."""

    socket: str | None
    session: str
    project: str | None = None  # a session of that name recorded for another project is not it


def parse_pane(line: str) -> PaneRow:
    """One line of ``list-panes -F PANE_FORMAT``; ValueError when it is not one."""
    from devenv.names import unquote

    sid, sname, given, project, wid, widx, pid_, pidx, dead, status, pid, width, height, recorded, name = \
        line.split("\t", 14)
    return PaneRow(sid, sname, unquote(given) if given else None, unquote(project) if project else None, LivePane(
        window_id=wid,
        window_index=int(widx),
        window_name=unquote(recorded) if recorded else name,  # tmux may have renamed it since
        pane_id=pid_,
        pane_index=int(pidx),
        dead=dead == "1",
        dead_status=int(status) if status.lstrip("-").isdigit() else None,
        pid=int(pid) if pid.isdigit() else None,
        width=int(width) if width.isdigit() else 0,
        height=int(height) if height.isdigit() else 0,
    ))


def find_session(name: str, text: str) -> LiveSession | None:
    """Session ``name`` in the answer of ``list-panes -a -F PANE_FORMAT`` (every pane of the server).

    Found by the name devenv gave it, recorded with it (tmux shows some names otherwise), else (a
    session devenv did not make) by the name tmux shows. Sessions still being built are not it.
    """
    from devenv.profile.model import BUILD_PREFIX

    rows = [parse_pane(line) for line in text.splitlines() if line]
    ids = [r.session_id for r in rows if r.given == name and not r.session_name.startswith(BUILD_PREFIX)]
    ids = ids or [r.session_id for r in rows if r.given is None and r.session_name == name]
    if not ids:
        return None
    mine = [r for r in rows if r.session_id == ids[0]]
    return LiveSession(name, tuple(r.pane for r in mine), mine[0].session_id, mine[0].project)


def parse_session(name: str, text: str) -> LiveSession:
    """The answer of ``list-panes -s -F PANE_FORMAT`` for one session; ValueError when it is not one."""
    rows = [parse_pane(line) for line in text.splitlines() if line]
    sid, project = (rows[0].session_id, rows[0].project) if rows else ("", None)
    return LiveSession(name, tuple(r.pane for r in rows), sid, project)
