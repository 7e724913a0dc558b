"""The log follower: tail files and window output, across globs, truncation and rotation.

A :class:`LogSource` is something to follow: a glob of files relative to a base
folder, or the captured output of a window (its per-pane log files, see
:class:`devenv.paths.SessionPaths`); :func:`sources_for` maps what a user names
(window names, globs) to them. A :class:`Follower` tracks the files the sources match,
keyed by inode, and hands back complete, cleaned lines as ``(label, line)``:

- ``initial()`` shows the last N lines of each file that exists at start;
  files that appear later are read from their beginning;
- ``poll()`` returns the lines written since the previous call. A file that
  shrinks (or whose last bytes read changed) was truncated: it is read again
  from the start. A path that now names another file was rotated: the old
  handle is read to its end, then the new file from its start;
- a partial last line is held until its newline arrives, or until its file
  goes away.

:func:`follow` is the loop around ``poll()`` with an adaptive interval.
Nothing here prints: the CLI renders the lines.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from devenv.paths import SessionPaths, window_from_stem
from devenv.profile.model import Profile
from devenv.session.records import owner
from devenv.tuples import NamedTuple
from devenv.wait import Stopped

Line = tuple[str, str]  # (source label, line without its newline)
Key = tuple[int, int]  # (st_dev, st_ino)

CHUNK = 64 * 1024
MAX_LINE = 64 * 1024  # a "line" longer than this is emitted in pieces
POLL_BUDGET = 1 << 20  # bytes read per file per poll; more means poll again at once
CHECK_BYTES = 64  # the last bytes read, compared to detect truncate-and-rewrite

# --------------------------------------------------------------------------- cleaning terminal output

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TOKEN = re.compile(
    r"(\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erase
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # two-character escapes (charsets, keypad modes)
    r"|\r|\x08)"
)


def clean_line(text: str) -> str:
    """What a terminal would show for one line of raw output: no escapes, redraws applied.

    ``\\r`` returns to the first column and later text overwrites, ``\\b`` steps
    back, ``ESC[K`` erases; colours and every other escape sequence are dropped.
    """
    if not _CONTROL.search(text):
        return text
    cells: list[str] = []
    col = 0
    for piece in _TOKEN.split(text):
        if not piece:
            continue
        if piece == "\r":
            col = 0
        elif piece == "\x08":
            col = max(col - 1, 0)
        elif piece[0] == "\x1b":
            if piece.startswith("\x1b[") and piece[-1] == "K":
                mode = piece[2:-1]
                if mode in ("", "0"):
                    del cells[col:]
                elif mode == "1":
                    cells[:col] = " " * min(col, len(cells))
                elif mode == "2":
                    cells.clear()
        else:
            piece = _CONTROL.sub("", piece)
            if col > len(cells):
                cells.extend(" " * (col - len(cells)))
            cells[col:col + len(piece)] = piece
            col += len(piece)
    return "".join(cells)


def decode(raw: bytes) -> str:
    return clean_line(raw.decode("utf-8", "replace"))


# --------------------------------------------------------------------------- sources


class LogSource(NamedTuple):
    """Something to follow. ``find()`` lists its current files as (label, path)."""

    name: str
    find: Callable[[], list[tuple[str, Path]]]
    window: bool = False


def glob_source(pattern: str, base: Path) -> LogSource:
    """Files matching ``pattern`` (relative to ``base``, ``**`` allowed), labelled by their path."""
    full = os.path.join(str(base), os.path.expanduser(pattern))

    def find() -> list[tuple[str, Path]]:
        found = []
        for path in sorted(glob.glob(full, recursive=True)):
            rel = os.path.relpath(path, base)
            found.append((path if rel.startswith("..") else rel, Path(path)))
        return found

    return LogSource(pattern, find)


def window_source(window: str, paths: SessionPaths, project: Path | None = None) -> LogSource:
    """The captured output of ``window``: one log per pane, labelled ``window`` (``window.N`` for pane N).

    With ``project``: nothing when the state folder serves another project's session of that name.
    """

    def find() -> list[tuple[str, Path]]:
        if project is not None and owner(paths) not in (None, str(project)):
            return []
        found = []
        for path in paths.window_logs(window):
            _, pane = window_from_stem(path.name[:-4])
            found.append((window if pane == 0 else f"{window}.{pane}", path))
        return found

    return LogSource(window, find, window=True)


def sources_for(profile: Profile, root: Path, paths: SessionPaths, names: Sequence[str],
                project: Path | None = None) -> list[LogSource]:
    """What ``devenv logs NAME...`` follows: a window's output (a ``logs:`` window: its globs), else a glob.

    No names: every window of the profile.
    """
    found: list[LogSource] = []
    for name in names or tuple(w.name for w in profile.windows):
        window = profile.window(name)
        if window is None:
            found.append(glob_source(name, root))
        elif window.logs:
            found += [glob_source(g, root) for g in window.logs]
        else:
            found.append(window_source(name, paths, project))
    return found


# --------------------------------------------------------------------------- following


class _Tail:
    """One open file: where we are in it and the partial line held back."""

    __slots__ = ("label", "path", "fd", "key", "pos", "partial", "seen", "last", "orphan")

    def __init__(self, label: str, path: Path, fd: int, st: os.stat_result) -> None:
        self.label = label
        self.path = path
        self.fd = fd
        self.key: Key = (st.st_dev, st.st_ino)
        self.pos = 0
        self.partial = b""
        self.seen = (st.st_size, st.st_mtime_ns)
        self.last = b""
        self.orphan = False  # its path names another file now (or none): finishing it


class Follower:
    """Follows the files of ``sources``; see the module docstring.

    ``lines``: how many lines of each file existing at start ``initial()``
    shows (None: all). ``grep``: keep only the lines it matches (before
    counting the last N).
    """

    def __init__(self, sources: Iterable[LogSource], *, lines: int | None = 10,
                 grep: re.Pattern[str] | None = None) -> None:
        self.sources = list(sources)
        self.lines = lines
        self.grep = grep
        self.tails: dict[Key, _Tail] = {}
        self.busy = False  # a file had more to read than one poll reads
        self.notes: list[str] = []  # things the user should know (unreadable files, truncation)
        self._started = False
        self._failed: set[str] = set()

    # ---- public

    def initial(self, *, include_partial: bool = False) -> list[Line]:
        """The last N lines of each file that exists now; start following them from their end.

        ``include_partial``: count an unterminated last line as a line (for a
        one-shot view) instead of holding it for its newline.
        """
        self._started = True
        return self._scan(initial=True, include_partial=include_partial)

    def poll(self, *, rescan: bool = True) -> list[Line]:
        """New complete lines since the last call. ``rescan``: look for new files too."""
        out: list[Line] = [] if self._started else self.initial()
        self.busy = False
        for tail in list(self.tails.values()):
            if tail.orphan:
                out += self._read(tail)
                continue
            try:
                st = os.stat(tail.path)
            except OSError:
                st = None
            if st is None or (st.st_dev, st.st_ino) != tail.key:
                out += self._read(tail)  # rotated or removed: finish the old file first
                tail.orphan = True
                if st is not None and stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) not in self.tails:
                    new = self._open(tail.label, tail.path)
                    if new is not None:
                        out += self._read(new)
                continue
            changed = (st.st_size, st.st_mtime_ns) != tail.seen
            tail.seen = (st.st_size, st.st_mtime_ns)
            if changed and (st.st_size < tail.pos or not self._unchanged(tail)):
                out += self._restart(tail)
            if changed or tail.pos < st.st_size:
                out += self._read(tail)
        if rescan:
            out += self._scan()
        return out

    def sources_without_files(self) -> list[LogSource]:
        """The sources that match no file being followed."""
        labels = {t.label for t in self.tails.values()}
        return [s for s in self.sources if not any(label in labels for label, _ in s.find())]

    def flush(self) -> list[Line]:
        """Hand out every held partial line (when stopping)."""
        out: list[Line] = []
        for tail in self.tails.values():
            out += self._emit(tail, [tail.partial]) if tail.partial else []
            tail.partial = b""
        return out

    def close(self) -> None:
        for tail in self.tails.values():
            os.close(tail.fd)
        self.tails.clear()

    # ---- internals

    def _scan(self, *, initial: bool = False, include_partial: bool = False) -> list[Line]:
        out: list[Line] = []
        found: set[Key] = set()
        seen_paths: set[str] = set()
        for source in self.sources:
            for label, path in source.find():
                if str(path) in seen_paths:
                    continue
                seen_paths.add(str(path))
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                key = (st.st_dev, st.st_ino)
                found.add(key)
                tail = self.tails.get(key)
                if tail is None:
                    tail = self._open(label, path)
                    if tail is None:
                        continue
                    if initial and self.lines is not None:
                        out += self._last_lines(tail, include_partial)
                    else:
                        out += self._read(tail, budget=None if initial else POLL_BUDGET)
                elif tail.orphan:
                    tail.label, tail.path, tail.orphan = label, path, False  # renamed, still matched
        for key, tail in list(self.tails.items()):
            if tail.orphan and key not in found:
                out += self._read(tail, budget=None)
                out += self._emit(tail, [tail.partial]) if tail.partial else []
                os.close(tail.fd)
                del self.tails[key]
        return out

    def _open(self, label: str, path: Path) -> _Tail | None:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            if str(path) not in self._failed:
                self._failed.add(str(path))
                self.notes.append(f"cannot read {label}: {exc.strerror}")
            return None
        st = os.fstat(fd)
        tail = _Tail(label, path, fd, st)
        self.tails[tail.key] = tail
        return tail

    def _read(self, tail: _Tail, budget: int | None = POLL_BUDGET) -> list[Line]:
        out: list[Line] = []
        while budget is None or budget > 0:
            size = CHUNK if budget is None else min(CHUNK, budget)
            try:
                chunk = os.pread(tail.fd, size, tail.pos)
            except OSError:
                chunk = b""
            if not chunk:
                return out
            tail.pos += len(chunk)
            tail.last = (tail.last + chunk)[-CHECK_BYTES:]
            if budget is not None:
                budget -= len(chunk)
            parts = (tail.partial + chunk).split(b"\n")
            tail.partial = parts.pop()
            if len(tail.partial) >= MAX_LINE:
                parts.append(tail.partial)
                tail.partial = b""
            out += self._emit(tail, parts)
        self.busy = True
        return out

    def _unchanged(self, tail: _Tail) -> bool:
        """Whether the bytes we read last are still there (else: truncated and rewritten)."""
        if not tail.last:
            return True
        try:
            return os.pread(tail.fd, len(tail.last), tail.pos - len(tail.last)) == tail.last
        except OSError:
            return False

    def _restart(self, tail: _Tail) -> list[Line]:
        out = self._emit(tail, [tail.partial]) if tail.partial else []
        tail.pos, tail.partial, tail.last = 0, b"", b""
        self.notes.append(f"{tail.label}: truncated, reading from the start")
        return out

    def _emit(self, tail: _Tail, raws: list[bytes]) -> list[Line]:
        lines = [decode(raw) for raw in raws]
        if self.grep is not None:
            lines = [line for line in lines if self.grep.search(line)]
        return [(tail.label, line) for line in lines]

    def _last_lines(self, tail: _Tail, include_partial: bool) -> list[Line]:
        """The last N (matching) complete lines; position the tail at the end of the file."""
        n = self.lines or 0
        size = os.fstat(tail.fd).st_size
        kept: list[Line] = []
        end = size
        buf = b""
        partial: bytes | None = None
        while end > 0 and len(kept) < n or partial is None and end > 0:
            start = max(0, end - CHUNK)
            chunk = os.pread(tail.fd, end - start, start)
            end = start
            parts = (chunk + buf).split(b"\n")
            buf = parts.pop(0)
            if partial is None:
                if not parts:
                    continue
                partial = parts.pop()
                if include_partial and partial:
                    parts.append(partial)
                    partial = b""
            for raw in reversed(parts):
                if len(kept) >= n:
                    break
                kept += self._emit(tail, [raw])
        if end == 0 and len(kept) < n and partial is not None:
            kept += self._emit(tail, [buf])  # the file's first line
        elif partial is None:
            partial = buf  # no newline at all
            if include_partial and partial:
                kept += self._emit(tail, [partial])
                partial = b""
        tail.pos = size
        tail.partial = partial or b""
        tail.last = b""
        return kept[::-1]


def follow(
    follower: Follower,
    emit: Callable[[list[Line]], None],
    *,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    min_interval: float = 0.1,
    max_interval: float = 1.0,
    rescan_every: float = 1.0,
) -> None:
    """Poll ``follower`` and ``emit`` each batch until ``stop()`` or ``sleep`` raises :class:`Stopped`.

    The interval starts at ``min_interval`` after activity and grows to
    ``max_interval`` while idle; new files are looked for every ``rescan_every``
    seconds. ``sleep`` may raise :class:`devenv.wait.Stopped` to end it. On the way out, lines written meanwhile and held partial lines
    are emitted too.
    """
    if sleep is None:
        from devenv.wait import sleep as pause

        sleep = pause
    interval = min_interval
    last_scan = clock()
    try:
        while not stop():
            now = clock()
            rescan = now - last_scan >= rescan_every
            if rescan:
                last_scan = now
            batch = follower.poll(rescan=rescan)
            if batch:
                emit(batch)
            if follower.busy:
                interval = min_interval
                continue
            interval = min_interval if batch else min(interval * 1.5, max_interval)
            if stop():
                break
            sleep(interval)
    except Stopped:
        pass
    last = follower.poll(rescan=False) + follower.flush()
    if last:
        emit(last)
