"""tmux's option names and their scope, for the ``options:`` of profiles (session and window level).

The names are those of tmux 3.3a (``tmux show-options -s / -g / -gw`` on an empty server), plus the
session and window options tmux 3.4 to 3.6 added. devenv sets options on one session and its windows
only, never globally: a *server* option (``escape-time``, ``default-terminal``, ...) would change
every session of the server, so a profile cannot set it. Array options take an index
(``status-format[1]``); user options (``@name``) are window options unless set at session level.
"""

from __future__ import annotations

import re

SESSION = "session"
WINDOW = "window"  # window and pane options: tmux sets pane options on a window for all its panes
SERVER = "server"

_SERVER = """backspace buffer-limit command-alias copy-command default-terminal editor escape-time exit-empty
exit-unattached extended-keys focus-events history-file message-limit prompt-history-limit set-clipboard
terminal-features terminal-overrides user-keys get-clipboard extended-keys-format input-buffer-size
default-client-command prefix-timeout variation-selector-always-wide codepoint-widths"""
_SESSION = """activity-action assume-paste-time base-index bell-action default-command default-shell default-size
destroy-unattached detach-on-destroy display-panes-active-colour display-panes-colour display-panes-time
display-time history-limit key-table lock-after-time lock-command message-command-style message-style mouse
prefix prefix2 renumber-windows repeat-time set-titles set-titles-string silence-action status status-bg
status-fg status-format status-interval status-justify status-keys status-left status-left-length
status-left-style status-position status-right status-right-length status-right-style status-style
update-environment visual-activity visual-bell visual-silence word-separators menu-style menu-selected-style
menu-border-style menu-border-lines message-line prompt-cursor-colour prompt-cursor-style initial-repeat-time"""
_WINDOW = """aggressive-resize allow-passthrough allow-rename alternate-screen automatic-rename
automatic-rename-format clock-mode-colour clock-mode-style copy-mode-current-match-style copy-mode-mark-style
copy-mode-match-style cursor-colour cursor-style fill-character main-pane-height main-pane-width mode-keys
mode-style monitor-activity monitor-bell monitor-silence other-pane-height other-pane-width
pane-active-border-style pane-base-index pane-border-format pane-border-indicators pane-border-lines
pane-border-status pane-border-style pane-colours popup-border-lines popup-border-style popup-style
remain-on-exit remain-on-exit-format scroll-on-clear synchronize-panes window-active-style window-size
window-status-activity-style window-status-bell-style window-status-current-format window-status-current-style
window-status-format window-status-last-style window-status-separator window-status-style window-style
wrap-search xterm-keys allow-set-title copy-mode-position-format copy-mode-position-style
copy-mode-selection-style pane-scrollbars pane-scrollbars-style pane-scrollbars-position"""
ARRAYS = frozenset({"command-alias", "terminal-features", "terminal-overrides", "user-keys", "status-format",
                    "update-environment", "pane-colours", "codepoint-widths"})
# the American spellings tmux accepts for the same options
ALIASES = {"display-panes-active-color": "display-panes-active-colour",
           "display-panes-color": "display-panes-colour", "clock-mode-color": "clock-mode-colour",
           "cursor-color": "cursor-colour", "pane-colors": "pane-colours", "prompt-cursor-color": "prompt-cursor-colour"}

SCOPES: dict[str, str] = {
    **{name: SERVER for name in _SERVER.split()},
    **{name: SESSION for name in _SESSION.split()},
    **{name: WINDOW for name in _WINDOW.split()},
}
# options devenv itself depends on: a profile cannot change them
MANAGED = {"remain-on-exit": "devenv keeps a pane that exits readable (its windows have remain-on-exit on)"}

# compiled by re's cache when a profile first has options, not at every start
_NAME = r"^(?P<base>@[A-Za-z0-9_.-]+|[a-z][a-z0-9-]*)(?:\[(?P<index>[0-9]+)\])?$"


def parse(name: str) -> tuple[str, str]:
    """``(base name, scope)`` of an option name as written; ValueError saying what is wrong.

    ``status-format[1]`` is the array option ``status-format``; ``@name`` is a user option (its scope
    is where it is written, given here as ``window``).
    """
    m = re.match(_NAME, name)
    if not m:
        raise ValueError(f"not a tmux option name: {name!r}")
    base = ALIASES.get(m["base"], m["base"])
    if base.startswith("@"):
        if m["index"] is not None:
            raise ValueError(f"user options take no index: {name!r}")
        if base.startswith("@devenv_"):
            raise ValueError(f"{base!r} is devenv's own: it records what devenv made (its project, its names)")
        return base, WINDOW
    scope = SCOPES.get(base)
    if scope is None:
        raise ValueError(f"unknown tmux option {name!r}")
    if m["index"] is not None and base not in ARRAYS:
        raise ValueError(f"{base!r} is not an array option: it takes no [index]")
    if scope == SERVER:
        raise ValueError(f"{base!r} is a tmux server option: it would change every session of the server, "
                         "and devenv sets options on its own session only")
    if base in MANAGED:
        raise ValueError(f"{base!r} is devenv's own: {MANAGED[base]}")
    return base, scope


def known() -> list[str]:
    """Every option name a profile may set (for did-you-mean)."""
    return sorted(n for n, s in SCOPES.items() if s != SERVER and n not in MANAGED)


def value_text(value: object) -> str:
    """An option value as tmux takes it: YAML booleans are on / off, numbers their digits."""
    if value is True:
        return "on"
    if value is False:
        return "off"
    return str(value)
