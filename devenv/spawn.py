"""Running other programs: one small place, for tmux, version checks and shell checks.

:func:`run_process` is ``subprocess.run(..., capture_output=True, timeout=...)``
without importing subprocess (~15 ms, a tenth of `up`'s own time), for the hot
path. :func:`run_shell` runs ``sh -c`` in its own process group, killed whole
on timeout (probes and custom checks).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from devenv.tuples import NamedTuple


class Completed(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run_process(argv: list[str], input: str | None, timeout: float,
                env: Mapping[str, str] | None = None, stdin_fd: int | None = None,
                meanwhile: Callable[[], object] | None = None) -> Completed:
    """Run ``argv`` with posix_spawn, feed it ``input`` (or give it ``stdin_fd`` as its stdin),
    collect its output (pipes and poll). ``meanwhile`` runs once it started, before its output is
    collected (what it raises is raised once the process has ended).

    Raises TimeoutError (after killing the process) and OSError (it could not be started).
    """
    import select

    in_r, in_w = os.pipe()  # os.pipe() descriptors are close-on-exec: the child keeps only 0, 1, 2
    if stdin_fd is not None:
        input = None
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawn(argv[0], argv, os.environ if env is None else env, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_r if stdin_fd is None else stdin_fd, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2)])
    except OSError:
        for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
            os.close(fd)
        raise
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    pending = memoryview((input or "").encode())
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    if pending:
        os.set_blocking(in_w, False)
        poller.register(in_w, select.POLLOUT)
    else:
        os.close(in_w)
    deadline = time.monotonic() + timeout
    open_fds = {out_r, err_r} | ({in_w} if pending else set())
    failure: BaseException | None = None
    if meanwhile is not None:
        try:
            meanwhile()
        except BaseException as exc:  # noqa: BLE001 - raised again once the process has ended
            failure = exc
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, 9)
                raise TimeoutError(f"{argv[0]} did not finish within {timeout:g}s")
            for fd, _ in poller.poll(left * 1000):
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[:65536]):]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        open_fds.discard(in_w)
                    continue
                data = os.read(fd, 65536)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds.discard(fd)
    finally:
        for fd in open_fds | {out_r, err_r}:
            try:
                os.close(fd)
            except OSError:
                pass
        _, status = os.waitpid(pid, 0)
    if failure is not None:
        raise failure
    return Completed(os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]).decode(errors="replace"),
                     b"".join(chunks[err_r]).decode(errors="replace"))


def unlinked_file(data: bytes) -> int:
    """A descriptor of a 0600 file holding ``data``, read from its start, that no path names.

    For a script that must reach a child whole, whatever happens to us (a pipe is truncated
    when its writer is killed): nothing is left on disk, even after SIGKILL.
    """
    folder = os.environ.get("TMPDIR") or "/tmp"
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here (macOS, some file systems): make, then unlink
        path = os.path.join(folder, f".devenv-{os.getpid()}-{os.urandom(6).hex()}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.unlink(path)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def which(name: str, path: str | None = None) -> str | None:
    """shutil.which (for a bare name), without importing shutil on the hot path."""
    for folder in (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep):
        found = os.path.join(folder or ".", name)
        if os.access(found, os.X_OK) and not os.path.isdir(found):
            return found
    return None


class ShellResult(NamedTuple):
    returncode: int | None  # None: killed after the timeout
    output: str  # what it printed (stderr, and stdout too when asked)

    @property
    def last_line(self) -> str:
        return next((ln.strip() for ln in reversed(self.output.splitlines()) if ln.strip()), "")


def run_shell(command: str, env: Mapping[str, str], cwd: Path | str | None, timeout: float, *,
              stdout: bool = False) -> ShellResult:
    """``/bin/sh -c command`` in its own process group, killed whole after ``timeout`` seconds.

    Collects stderr (and stdout when ``stdout``). Raises OSError when it cannot start.
    """
    import contextlib
    import signal
    import subprocess

    proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if stdout else subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=max(timeout, 0.1))
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        out, err, code = b"", b"", None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    text = (out if stdout else err) or b""
    return ShellResult(code, text.decode("utf-8", "replace"))
