"""Pure: the status-line badges of a devenv session (``web ✓``, ``worker ↻2``, ``jobs ✗1``).

Who sets what:

* the pane runner sets two *pane* options the moment its state changes:
  ``@devenv_state`` (a word of :data:`STATES`) and ``@devenv_count`` (the exit status, or the
  restart number); ``devenv _ready`` (started by the runner of a window with a ``ready:`` probe)
  turns ``starting`` into ``ready`` once the probe passes;
* the build copies the user's own ``window-status-format`` / ``window-status-current-format``
  into session options (``set -F``: whatever ``~/.tmux.conf`` made them, read by tmux itself at
  build time), sets the format that is the user's followed by the badge of each pane as session
  options (once), and gives each window of this session a format that expands them (``#{E:...}``).
  Other sessions, and the global options, are never touched.

The glyphs live in tmux formats only (one place): each has an ASCII fallback for clients that are
not UTF-8 (``#{client_utf8}``); failures and restarts have colours of their own unless ``NO_COLOR``
is set (the rest draws in the status line's colours, readable on any theme).
"""

from __future__ import annotations

from devenv.session.live import Command
from devenv.tuples import NamedTuple

STATE_OPTION = "@devenv_state"
COUNT_OPTION = "@devenv_count"
FORMATS = ("window-status-format", "window-status-current-format")
SAVED = {"window-status-format": "@devenv_wsf", "window-status-current-format": "@devenv_wscf"}
TMUX_DEFAULT = "#I:#W#{?window_flags,#{window_flags},}"  # tmux's own, for a session built before badges


class Badge(NamedTuple):
    utf8: str
    ascii: str
    style: tuple[str, ...] = ()  # tmux styles; a background of its own, so it shows on any status line
    counted: bool = False  # followed by @devenv_count


# What goes well draws in the status line's own colours (readable on any theme); what needs a look
# stands out with colours of its own, foreground and background both.
ALERT = ("bg=red", "fg=white", "bold")
WARN = ("bg=yellow", "fg=black")
STATES: dict[str, Badge] = {
    "waiting": Badge("…", ".."),  # for its after: dependencies
    "starting": Badge("○", "o"),  # running, its ready: probe not passed yet
    "running": Badge("✓", "ok"),  # running (no ready: probe)
    "ready": Badge("✓", "ok"),  # running, its ready: probe passed
    "task": Badge("…", ".."),  # a task running
    "done": Badge("✔", "ok"),  # a task done
    "restarting": Badge("↻", "r", WARN, counted=True),  # restart number n (of max_restarts)
    "stopped": Badge("■", "-"),  # exited 0, not restarted
    "exited": Badge("✗", "x", ALERT, counted=True),  # exited with status n, not restarted
    "failed": Badge("✗", "x", ALERT, counted=True),  # a task that failed, restarts used up, dependency failed
}


def _glyph(badge: Badge, colour: bool) -> str:
    text = f"#{{?client_utf8,{badge.utf8},{badge.ascii}}}"
    if badge.counted:
        text += f"#{{{COUNT_OPTION}}}"
    if colour and badge.style:  # one style a #[...] each: a comma would end the #{?...} branch
        text = "".join(f"#[{s}]" for s in badge.style) + text + "#[default]"
    return text


def pane_badge(colour: bool = True) -> str:
    """The format of one pane's badge: a chain of ``#{?#{==:state,word},glyph,...}``."""
    text = ""
    for word, badge in reversed(STATES.items()):
        text = f"#{{?#{{==:#{{{STATE_OPTION}}},{word}}},{_glyph(badge, colour)},{text}}}"
    return text


def window_format(option: str, colour: bool = True) -> str:
    """A window's ``option`` (one of :data:`FORMATS`): the user's, then its panes' badges."""
    saved = SAVED[option]
    # the user's, less one trailing space (tmux's own ends "flags or a space"): the badge brings one
    user = f"#{{?{saved},#{{s/ $//:#{{E:{saved}}}}},{TMUX_DEFAULT}}}"
    badges = f"#{{P:{pane_badge(colour)}}}"
    return f"{user}#{{?#{{P:#{{{STATE_OPTION}}}}}, {badges},}}"


def save_user_formats(session_target: str) -> list[Command]:
    """Copy the user's formats into the session (before any window of it has its own)."""
    return [("set-option", "-F", "-t", session_target, SAVED[o], f"#{{{o}}}") for o in FORMATS]


BADGED = {"window-status-format": "@devenv_wsf_badged", "window-status-current-format": "@devenv_wscf_badged"}


def session_commands(session_target: str, colour: bool = True) -> list[Command]:
    """The badged formats, once, as session options (any time: a window's format reads them when drawn).
    ``session_target`` as ``set-option`` reads it: ``=name:`` or the session's id."""
    return [("set-option", "-t", session_target, BADGED[o], window_format(o, colour)) for o in FORMATS]


def window_commands(window_target: str) -> list[Command]:
    """This window's status formats: the session's badged ones (a few bytes a window, not a kilobyte)."""
    return [("set-option", "-w", "-t", window_target, o, f"#{{E:{BADGED[o]}}}") for o in FORMATS]
