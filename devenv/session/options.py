"""Pure: the extra tmux commands of a profile's ``options:``, pane titles and focus, and layouts.

Each function returns tmux commands (argv tuples, as :mod:`devenv.session.plan` builds them) for one
session, window or pane; the plan calls them at the point each one names. Nothing here is global:
session options are set on the session (``set-option -t``), window options on each window
(``set-option -w -t``): tmux has no per-session layer of window options, so the profile's window
options are set on every window of the session, then the window's own over them.

User text stays data: a pane title goes through :func:`plan.literal` (``select-pane -T`` expands
formats). Option values are tmux's own syntax on purpose (``status-left: "#S"``).
"""

from __future__ import annotations

from collections.abc import Mapping

from devenv.names import quote
from devenv.profile import tmuxopts
from devenv.profile.model import Profile, Window
from devenv.session.live import WINDOW_OPTION, Command

PANE_MINIMUM = 1  # tmux's smallest pane (lines or columns)


def literal(text: str) -> str:
    """``text`` as tmux must get it where it expands formats (the plan's rule; no import of the plan)."""
    return text.replace("#", "##")


ON = ("on", "yes", "1")  # how tmux reads a flag option as set


def _scoped(options: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, value, scope) of validated options."""
    return [(name, value, tmuxopts.parse(name)[1]) for name, value in options.items()]


def session_commands(profile: Profile, target: str) -> list[Command]:
    """The profile's session options (and its ``@user`` options), set on the session ``target`` only.

    ``target`` as ``set-option`` reads it: ``=name:`` or the session's id (``=name`` alone is a pane).

    Any time once the session exists; before its windows are made is best (``default-shell``,
    ``default-command``, ``base-index`` then apply to them).
    """
    return [("set-option", "-t", target, name, value)
            for name, value, scope in _scoped(profile.options)
            if scope == tmuxopts.SESSION or name.startswith("@")]


# where pane titles show when no option of the profile says: the user's own place (their tmux.conf's
# pane-border-status, read by ``set -F`` on the window), else at the top
BORDER = "pane-border-status"
AUTO_BORDER = "#{?#{==:#{pane-border-status},off},top,#{pane-border-status}}"


def titled(window: Window) -> bool:
    """Whether ``window``'s panes show titles: one of them has a ``title``, or it has several panes
    (each then titled by its place, ``worker.1``, as ``ps`` and ``db`` name it)."""
    specs = window.pane_specs()
    return len(specs) > 1 or any(p.title is not None for p in specs)


def window_options(profile: Profile, window: Window) -> dict[str, str]:
    """The tmux options ``window`` gets: the profile's window options, then the window's own;
    ``pane-border-status`` (as :data:`AUTO_BORDER`) when its panes show titles and no option says
    where (``options: {pane-border-status: off}`` turns titles off)."""
    merged: dict[str, str] = {}
    for name, value, scope in _scoped(profile.options):
        if scope == tmuxopts.WINDOW and not name.startswith("@"):
            merged[name] = value
    merged.update(dict(window.options))
    if titled(window) and BORDER not in merged:
        merged[BORDER] = AUTO_BORDER
    return merged


def window_commands(profile: Profile, window: Window, target: str) -> list[Command]:
    """Right after ``window`` is made (``target`` names it), before its panes are split and its layout set.

    The window records the profile's name for it in ``@devenv_window``: devenv finds its windows by
    it, whatever tmux shows (a window with ``automatic-rename`` on is renamed by tmux). Then its
    options (:func:`window_options`).
    """
    return [("set-option", "-w", "-t", target, WINDOW_OPTION, quote(window.name)),
            *(("set-option", "-F", "-w", "-t", target, name, value) if (name, value) == (BORDER, AUTO_BORDER)
              else ("set-option", "-w", "-t", target, name, value)
              for name, value in window_options(profile, window).items())]


def renamed(window: Window, profile: Profile) -> bool:
    """Whether tmux may rename ``window`` (so that it is found by ``@devenv_window``, not by its name)."""
    value = window.options.get("automatic-rename", profile.options.get("automatic-rename"))
    return value in ON


def pane_commands(window: Window, index: int, target: str) -> list[Command]:
    """Right after pane ``index`` of ``window`` is made; ``target`` names that pane (right after a
    split, the window's target does: the new pane is its active one). Its title: its ``title``, else,
    in a window of several panes, its place (``worker.1``: the window's name and the pane's position)."""
    panes = window.pane_specs()
    if index >= len(panes):
        return []
    title = panes[index].title
    if title is None and len(panes) > 1:
        title = f"{window.name}.{index}"
    if title is None:
        return []
    return [("select-pane", "-t", target, "-T", literal(title))]


def focus_commands(profile: Profile, window: Window, target: str) -> list[Command]:
    """Once the window's panes are made (any time after: the layout does not change it): select the
    pane with ``focus: true``; none: nothing (the plan keeps the first pane selected).

    The pane is named by its position, whatever the user's ``pane-base-index``: tmux numbers panes
    from that option when it reads a target, so it is 0 on this window for the one command, then given
    back (tmux 3.3 takes a relative ``.+N`` from the *current* window's active pane, not the target's).
    """
    k = window.focus_pane
    if k is None or len(window.pane_specs()) < 2:
        return []
    own = {**{n: v for n, v, scope in _scoped(profile.options) if scope == tmuxopts.WINDOW},
           **window.options}.get("pane-base-index")
    restore: Command = ("set-option", "-w", "-t", target, "pane-base-index", own) if own is not None else \
        ("set-option", "-w", "-u", "-t", target, "pane-base-index")
    return [("set-option", "-w", "-t", target, "pane-base-index", "0"), ("select-pane", "-t", f"{target}.{k}"),
            restore]


def layout_commands(window: Window, target: str, width: int, height: int) -> list[Command]:
    """After the window's last pane is made: its layout, or without one the layout tmux's own splits
    give (each new pane halves the one before it, top to bottom, as tmuxp leaves them).

    ``width`` x ``height``: the window's size when it is built (the plan's ``Context``). Where tmux
    itself would run out of room (a pane of fewer than 3 lines to halve), the panes are even instead.
    """
    count = len(window.pane_specs())
    if window.layout is not None:
        return [("select-layout", "-t", target, window.layout)]
    if count < 2:
        return []
    return [("select-layout", "-t", target, default_layout(count, width, height) or
             ("even-vertical" if count <= (height + 1) // 2 else "tiled"))]


def default_splits(count: int, height: int) -> list[int] | None:
    """The heights of ``count`` panes made by splitting the newest one in two, in a window ``height``
    lines high, as tmux does (the new pane below gets ``(h + 1) / 2 - 1`` lines); None when tmux would
    say "no space for new pane"."""
    sizes = [height]
    for _ in range(count - 1):
        last = sizes.pop()
        if last < PANE_MINIMUM * 2 + 1:
            return None
        new = (last + 1) // 2 - 1
        sizes += [last - 1 - new, max(new, PANE_MINIMUM)]
    return sizes


def default_layout(count: int, width: int, height: int) -> str | None:
    """tmux's layout string for :func:`default_splits` (None when they do not fit)."""
    sizes = default_splits(count, height)
    if sizes is None:
        return None
    cells, y = [], 0
    for i, h in enumerate(sizes):
        cells.append(f"{width}x{h},0,{y},{i}")
        y += h + 1
    body = f"{width}x{height},0,0" + (f"[{','.join(cells)}]" if count > 1 else f",{0}")
    return f"{_checksum(body):04x},{body}"


def _checksum(layout: str) -> int:
    """tmux's layout checksum (layout-custom.c)."""
    csum = 0
    for ch in layout:
        csum = ((csum >> 1) + ((csum & 1) << 15)) & 0xFFFF
        csum = (csum + ord(ch)) & 0xFFFF
    return csum
