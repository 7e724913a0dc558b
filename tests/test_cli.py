"""The entry point: the click-free fast path for a plain `up` agrees with the click CLI."""

from __future__ import annotations

import pytest

from devenv.cli.app import cli
from devenv.cli.fast import parse_fast


@pytest.mark.filterwarnings("ignore:'protected_args' is deprecated:DeprecationWarning")
@pytest.mark.parametrize("argv", [
    ["up"], ["up", "-d"], ["up", "--detach", "--no-check"], ["-C", "/p", "up", "-d"],
    ["--project", "/p", "-L", "sock", "-p", "alice", "up"], ["--socket", "s", "--profile", "x", "up", "--no-check"],
])
def test_the_fast_path_reads_what_click_reads(argv: list[str]) -> None:
    fast = parse_fast(argv)
    assert fast is not None
    glob, flags = fast
    ctx = cli.make_context("devenv", list(argv), resilient_parsing=True)
    assert glob == {k: v for k, v in ctx.params.items() if v is not None}
    name, command, rest = cli.resolve_command(ctx, ctx.protected_args + ctx.args)
    assert name == "up"
    sub = command.make_context("up", rest, parent=ctx, resilient_parsing=True)
    assert {k for k, v in sub.params.items() if v is True} == set(flags)


@pytest.mark.parametrize("argv", [
    [], ["down"], ["up", "--dry-run"], ["up", "--wait"], ["up", "-h"], ["-C", "up"], ["-C"], ["-Cdir", "up"],
    ["up", "extra"], ["-L", "a", "-L", "b", "up"], ["--project=/p", "up"], ["-V"],
])
def test_anything_else_goes_to_click(argv: list[str]) -> None:
    assert parse_fast(argv) is None
