"""Polling with a monotonic deadline: the one place that sleeps. And stopping on a signal."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.05,
    max_interval: float = 0.5,
) -> T:
    """Call ``predicate`` until it returns something truthy; return that value.

    The interval grows from ``interval`` to ``max_interval``. Raises
    ``TimeoutError`` when ``timeout`` seconds (monotonic) pass first.
    """
    deadline = time.monotonic() + timeout
    delay = interval
    while True:
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"condition not met within {timeout:g}s")
        time.sleep(min(delay, remaining))  # noqa: TID251 - the one sanctioned sleep
        delay = min(delay * 1.5, max_interval)


def backoff(start: float = 0.1, factor: float = 2.0, cap: float = 2.0) -> Iterator[float]:
    """Yield growing delays: start, start*factor, ... capped at ``cap``."""
    delay = start
    while True:
        yield delay
        delay = min(delay * factor, cap)


def until_exit(pidfds: Collection[int], timeout: float) -> None:
    """Block until one of the processes behind ``pidfds`` (``os.pidfd_open``) exits, or ``timeout``
    seconds pass: a stop wakes the moment a process is gone, not at its next poll. With no
    descriptors, a plain pause of ``timeout``.
    """
    if timeout <= 0:
        return
    if not pidfds:
        time.sleep(timeout)  # noqa: TID251 - nothing to watch: the caller's poll interval
        return
    import select

    waiter = select.poll()
    for fd in pidfds:
        waiter.register(fd, select.POLLIN)
    try:
        waiter.poll(timeout * 1000)
    except InterruptedError:
        pass


def sleep(seconds: float) -> None:
    """A bounded pause between retries (never used to wait for a condition)."""
    if seconds > 0:
        time.sleep(seconds)  # noqa: TID251


class Stopped(Exception):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived; ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextmanager
def stopped_by(*signals: signal.Signals) -> Iterator[None]:
    """Within the block, each of ``signals`` raises :class:`Stopped`; the old handlers come back after."""
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
