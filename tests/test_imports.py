"""The import contract of `up`'s hot path, enforced: what a plain `devenv up` may not import.

A plain ``devenv [-C DIR] [-L SOCK] up [-d] [--no-check]`` runs without click (devenv.cli.fast).
Each of these modules costs tens of milliseconds of start-up on a small machine, so the fast path
must not pay for them: click, PyYAML (once the profile's parse is cached), subprocess, psycopg,
psutil, libtmux, dataclasses, hashlib (OpenSSL: ~7 ms; CPython's own sha256 serves), typing (~3-5 ms:
devenv.tuples builds the records), zlib. And what a profile does not use, it does not pay for: no
threads (checks), json (after:), watcher or tasks module for a profile without them. The child
process reports ``sys.modules`` when `up` exits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Devenv, write_profile

BANNED = ("click", "yaml", "subprocess", "psycopg", "psutil", "libtmux", "dataclasses", "hashlib", "typing", "zlib")
# and, for a profile of plain windows (no requires:, after:, tasks or watch:), what only those need
UNUSED = ("threading", "json", "shlex", "devenv.session.watcher", "devenv.ops.tasks", "devenv.readiness.waits")

# run the real console entry point; at os._exit (how the fast path ends) write sys.modules to a file
CHILD = """
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
real_exit = os._exit
def report(code):
    with open(out, "w") as fh:  # plain lines: the report itself imports nothing (json would be counted)
        fh.write("\\n".join([str(code), *sorted(sys.modules)]))
    real_exit(code)
os._exit = report
from devenv.cli import main
main(argv)
"""

PROFILE = """\
requires:
  commands: [sh]
windows:
  - name: api
    command: exec sleep 600
  - name: worker
    command: exec sleep 600
    after: [api]
  - name: split
    panes: [exec sleep 600, null]
"""


def fast_path_modules(devenv: Devenv, tmp_path: Path, *args: str) -> set[str]:
    """The modules a plain `devenv up ARGS` imported, run as a user runs it."""
    out = tmp_path / "modules.txt"
    argv = ["-C", str(devenv.project), "-L", devenv.socket, "up", *args]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), *argv], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert out.exists(), f"the fast path did not end through os._exit: {proc.stderr}"
    code, *found = out.read_text().split("\n")
    assert code == "0", proc.stdout + proc.stderr
    return set(found)


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in BANNED)


@pytest.mark.parametrize("check", [True, False])
def test_up_imports_nothing_heavy_on_a_cold_build_and_on_a_complete_session(
        devenv: Devenv, project: Path, tmp_path: Path, check: bool) -> None:
    write_profile(project, PROFILE)
    flags = ("-d",) if check else ("-d", "--no-check")
    assert devenv("config").code == 0  # parses the profile: the YAML cache is warm from here on
    cold = fast_path_modules(devenv, tmp_path, *flags)
    assert "devenv.cli.fast" in cold and "devenv.session.tmux" in cold  # it did run the fast path
    assert heavy(cold) == [], "a cold `up` imported what the fast path must not"
    complete = fast_path_modules(devenv, tmp_path, *flags)
    assert heavy(complete) == [], "`up` on a complete session imported what the fast path must not"


def test_up_of_plain_windows_pays_only_for_what_it_uses(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    write_profile(project, "windows:\n  - name: api\n    command: exec sleep 600\n"
                           "  - name: split\n    panes: [exec sleep 600, null]\n")
    assert devenv("config").code == 0
    for _ in ("cold", "complete"):
        found = fast_path_modules(devenv, tmp_path, "-d")
        assert "devenv.session.tmux" in found
        assert sorted(m for m in found if m in UNUSED or m.split(".")[0] in UNUSED) == []
        assert heavy(found) == []


def test_the_contract_test_can_fail(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    """A fast path that imports click is caught (the check above is not vacuous)."""
    write_profile(project, PROFILE)
    devenv("config")
    out = tmp_path / "modules.txt"
    code = "import click\n" + CHILD
    subprocess.run([sys.executable, "-c", code, str(out), "-C", str(project), "-L", devenv.socket, "up", "-d"],
                   capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    found = heavy(set(out.read_text().split("\n")[1:]))
    assert "click" in found and {m.split(".")[0] for m in found} <= {"click", "typing"}  # typing: click's
