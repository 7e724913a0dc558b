"""The entry point: the click-free fast path for a plain `up` and `down` agrees with the click CLI."""

from __future__ import annotations

import pytest

from devenv.cli.app import cli
from devenv.cli.fast import FastLine, parse_fast


def both(argv: list[str], verb: str) -> tuple[FastLine, dict[str, object]]:
    """The fast path's reading of ``argv`` (it must take it, as ``verb``), and the params click gives
    the subcommand, once the global options click read are checked against the fast path's."""
    fast = parse_fast(argv)
    assert fast is not None and fast.verb == verb
    ctx = cli.make_context("devenv", list(argv), resilient_parsing=True)
    assert fast.glob == {k: v for k, v in ctx.params.items() if v is not None}
    name, command, rest = cli.resolve_command(ctx, ctx.protected_args + ctx.args)
    assert name == verb and command is not None
    return fast, command.make_context(verb, rest, parent=ctx, resilient_parsing=True).params


@pytest.mark.filterwarnings("ignore:'protected_args' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("argv", [
    ["up"], ["up", "-d"], ["up", "--detach", "--no-check"], ["-C", "/p", "up", "-d"],
    ["--project", "/p", "-L", "sock", "-p", "alice", "up"], ["--socket", "s", "--profile", "x", "up", "--no-check"],
])
def test_the_fast_path_reads_what_click_reads(argv: list[str]) -> None:
    fast, params = both(argv, "up")
    assert {k for k, v in params.items() if v is True} == set(fast.flags)


@pytest.mark.filterwarnings("ignore:'protected_args' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("argv", [
    ["down"], ["-C", "/p", "-L", "s", "down"], ["down", "--timeout", "2.5"], ["down", "--timeout=0"],
])
def test_the_fast_path_reads_down_as_click_does(argv: list[str]) -> None:
    fast, params = both(argv, "down")
    assert fast.timeout == params["timeout"]


@pytest.mark.filterwarnings("ignore:'protected_args' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("argv", [
    ["restart", "web"], ["-L", "s", "restart", "web", "worker*"], ["restart", "--with-dependents", "web"],
    ["restart", "web", "--timeout", "3", "api"], ["restart", "--timeout=1.5", "--with-dependents", "db"],
])
def test_the_fast_path_reads_restart_as_click_does(argv: list[str]) -> None:
    fast, params = both(argv, "restart")
    assert (fast.names, fast.timeout, fast.flags.get("with_dependents", False)) == (
        params["windows"], params["timeout"], params["with_dependents"])


@pytest.mark.parametrize("argv", [
    [], ["down", "-h"], ["restart"], ["restart", "--with-dependents"], ["restart", "-h", "web"],
    ["restart", "web", "--", "x"], ["restart", "web", "--timeout"], ["restart", "-w"], ["down", "--timeout"], ["down", "--timeout", "-1"], ["down", "--timeout", "x"],
    ["down", "--timeout", "nan"], ["down", "extra"], ["up", "--dry-run"], ["up", "--wait"], ["up", "-h"], ["-C", "up"], ["-C"], ["-Cdir", "up"],
    ["up", "extra"], ["-L", "a", "-L", "b", "up"], ["--project=/p", "up"], ["-V"],
])
def test_anything_else_goes_to_click(argv: list[str]) -> None:
    assert parse_fast(argv) is None
