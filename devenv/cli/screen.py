"""A live full-screen view (``ps --watch``): frames redrawn in place, keys read without Enter.

On a terminal: the alternate screen, the cursor hidden, each frame written whole in one
``write`` (cursor home, every line cleared to its end, the rest of the screen cleared: no
flicker), keys in cbreak mode (Ctrl-C still interrupts), a resize redrawing at once; all of it
restored on the way out, however it ends. Off a terminal: frames as plain lines, a blank line
between them. No click here.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import termios
import time
import tty
from types import TracebackType
from typing import IO, Any

HOME, CLEAR_EOL, CLEAR_EOS = "\x1b[H", "\x1b[K", "\x1b[J"
ENTER, LEAVE = "\x1b[?1049h\x1b[?25l", "\x1b[?25h\x1b[?1049l"  # alternate screen and hidden cursor, and back


class Screen:
    """``with Screen(out, keys) as screen: screen.draw(lines); keys = screen.wait(seconds)``."""

    def __init__(self, out: IO[str], keys: IO[str] | None) -> None:
        self.out = out
        self.tty = _isatty(out)
        self.keys = keys.fileno() if keys is not None and _isatty(keys) else None
        self._saved: list[Any] | None = None
        self._wake: tuple[int, int] | None = None
        self._old_wakeup = -1
        self._old_winch: Any = None
        self.resized = False

    def __enter__(self) -> Screen:
        if self.keys is not None:
            self._saved = termios.tcgetattr(self.keys)
            tty.setcbreak(self.keys)
        if self.tty:
            r, w = os.pipe()  # a resize (SIGWINCH) writes a byte here, waking wait()
            os.set_blocking(r, False)
            os.set_blocking(w, False)
            self._wake = (r, w)
            self._old_winch = signal.signal(signal.SIGWINCH, self._on_resize)
            self._old_wakeup = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
            self._write(ENTER)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._wake is not None:
            signal.set_wakeup_fd(self._old_wakeup)
            signal.signal(signal.SIGWINCH, self._old_winch)
            for fd in self._wake:
                os.close(fd)
            self._wake = None
        if self.tty:
            self._write(LEAVE)
        if self._saved is not None and self.keys is not None:
            termios.tcsetattr(self.keys, termios.TCSADRAIN, self._saved)
            self._saved = None

    def _on_resize(self, _signum: int, _frame: object) -> None:
        self.resized = True

    def size(self) -> tuple[int, int]:
        """(columns, rows) of the terminal now (a stale $COLUMNS must not win after a resize)."""
        if not self.tty:
            return 10_000, 10_000
        try:
            cols, rows = os.get_terminal_size(self.out.fileno())
        except (OSError, ValueError, AttributeError):
            cols, rows = shutil.get_terminal_size()
        return cols, rows

    def draw(self, lines: list[str]) -> None:
        """One frame. On a terminal: at most rows - 1 lines, cut to the width by the caller."""
        if self.tty:
            _, rows = self.size()
            body = "".join(line + CLEAR_EOL + "\r\n" for line in lines[: max(rows - 1, 1)])
            self._write(HOME + body + CLEAR_EOS)
        else:
            self._write("\n".join(lines) + "\n\n")

    def wait(self, seconds: float) -> str | None:
        """Keys typed within ``seconds`` ('' when none, or at once on a resize); None at the end of input."""
        deadline = time.monotonic() + seconds
        watched = [fd for fd in (self.keys, self._wake[0] if self._wake else None) if fd is not None]
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(watched, [], [], remaining)
            if self._wake is not None and self._wake[0] in ready:
                try:
                    while os.read(self._wake[0], 512):
                        pass
                except BlockingIOError:
                    pass
            if self.resized:
                self.resized = False
                return ""
            if self.keys is not None and self.keys in ready:
                data = os.read(self.keys, 64)
                return data.decode(errors="replace") if data else None
        return ""

    def _write(self, text: str) -> None:
        """The whole text in one write(2) where the stream has a descriptor (a frame is never split)."""
        try:
            fd = self.out.fileno()
        except (OSError, ValueError, AttributeError):
            self.out.write(text)
            self.out.flush()
            return
        self.out.flush()
        data = text.encode(getattr(self.out, "encoding", None) or "utf-8", "replace")
        while data:
            written = os.write(fd, data)
            data = data[written:]


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
