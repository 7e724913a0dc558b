"""The import contract of `up`'s hot path, enforced: what a plain `devenv up` may not import.

A plain ``devenv [-C DIR] [-L SOCK] up [-d] [--no-check]`` runs without click (devenv.cli.fast).
Each of these modules costs tens of milliseconds of start-up on a small machine, so the fast path
must not pay for them: click, PyYAML (once the profile's parse is cached), subprocess, psycopg,
psutil, libtmux, dataclasses, hashlib (OpenSSL: ~7 ms; CPython's own sha256 serves). The child
process reports ``sys.modules`` when `up` exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Devenv, write_profile

BANNED = ("click", "yaml", "subprocess", "psycopg", "psutil", "libtmux", "dataclasses", "hashlib")

# run the real console entry point; at os._exit (how the fast path ends) write sys.modules to a file
CHILD = """
import json, os, sys
out, argv = sys.argv[1], sys.argv[2:]
real_exit = os._exit
def report(code):
    with open(out, "w") as fh:
        json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
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
    out = tmp_path / "modules.json"
    argv = ["-C", str(devenv.project), "-L", devenv.socket, "up", *args]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), *argv], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert out.exists(), f"the fast path did not end through os._exit: {proc.stderr}"
    report = json.loads(out.read_text())
    assert report["code"] == 0, proc.stdout + proc.stderr
    return set(report["modules"])


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


def test_the_contract_test_can_fail(devenv: Devenv, project: Path, tmp_path: Path) -> None:
    """A fast path that imports click is caught (the check above is not vacuous)."""
    write_profile(project, PROFILE)
    devenv("config")
    out = tmp_path / "modules.json"
    code = "import click\n" + CHILD
    subprocess.run([sys.executable, "-c", code, str(out), "-C", str(project), "-L", devenv.socket, "up", "-d"],
                   capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    found = heavy(set(json.loads(out.read_text())["modules"]))
    assert "click" in found and all(m.split(".")[0] == "click" for m in found)
