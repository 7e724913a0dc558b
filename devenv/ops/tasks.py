"""Tasks between ``up``s: the digest of what a task ran on, and whether it must run again."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

from devenv.names import sha256
from devenv.paths import SessionPaths
from devenv.profile.env import Resolved
from devenv.profile.model import Window
from devenv.session import plan as planner
from devenv.session import records


def inputs_digest(resolved: Resolved, ctx: planner.Context, task: Window) -> str:
    """A digest of the task's command and folder and of every file its ``inputs`` globs match (``**``:
    any depth). Globs are relative to the task's folder; a file that appears, changes or goes away
    changes it. Its environment is not part of it: inputs are files (a new PORT reruns no migration).
    """
    base = resolved.pane_cwd(task, task.pane_specs()[0])
    definition = planner.definition(resolved, ctx, task)
    h = sha256(json.dumps([definition["command"], definition["cwd"]]).encode())
    files: set[str] = set()
    for pattern in task.inputs:
        h.update(b"\0pattern\0" + pattern.encode("utf-8", "surrogatepass"))
        files.update(p for p in glob.glob(pattern, root_dir=base, recursive=True)
                     if os.path.isfile(base / p))
    for rel in sorted(files):
        h.update(b"\0file\0" + rel.encode("utf-8", "surrogatepass") + b"\0")
        try:
            with open(base / rel, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
        except OSError as exc:
            h.update(f"unreadable {exc.errno}".encode())
    return h.hexdigest()


def last_success(paths: SessionPaths, task: str) -> str | None:
    """The inputs digest recorded when the task last succeeded (kept across ``down``)."""
    return records.read_text(Path(f"{paths.prefix(task, 0)}.inputs"))


def status(paths: SessionPaths, task: str) -> str | None:
    return records.read_status(paths.prefix(task, 0)).word
