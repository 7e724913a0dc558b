"""Pure planning: (resolved profile, what is running) -> the tmux commands to run.

No I/O here: everything the plan needs (paths, the Python executable, the
live panes) comes in as data, so tests compare tuples. The executor in
:mod:`devenv.session.tmux` renders the commands into one tmux script.

* Session absent: build it whole under a temporary name, rename it last
  (a failure leaves only the temporary session, which the executor kills).
* Session present: create the profile's missing windows in profile order,
  respawn panes whose command exited, leave running panes untouched.

User text is data, never tmux syntax: every name, folder and path that tmux would
expand as a format (``-n``, ``-c``, ``rename-*``, ``pipe-pane``) goes through
:func:`literal` (and :func:`pipe_command`), new names follow ``--``, and once a
session exists every command targets it by id.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from devenv.names import quote, sha256
from devenv.paths import pane_stem
from devenv.profile.env import Resolved
from devenv.profile.model import BUILD_PREFIX, DEFAULT_MAX_RESTARTS, Pane, Window
from devenv.session import badges, options
from devenv.session.live import PROJECT_OPTION, TARGET_OPTION, Command, LivePane, LiveSession
from devenv.tuples import NamedTuple


class Context(NamedTuple):
    """Facts the plan needs from outside, gathered by the caller."""

    socket_label: str  # the -L name, or "default"
    state_dir: Path
    runner: Path  # devenv/runner.sh
    python: str  # sys.executable
    profile_name: str
    socket: str | None
    tmux: str = "tmux"  # the tmux binary, for the runner's pipe-pane
    width: int = 200
    height: int = 50
    skip: frozenset[str] = frozenset()  # tasks not to run (done, inputs unchanged): no window
    inputs: Mapping[str, str] = MappingProxyType({})  # task -> digest of its inputs, recorded on success
    colour: bool = True  # badges in colour (NO_COLOR unset)
    # window -> a line its panes print before their command starts ("restarting: a.js changed")
    notices: Mapping[str, str] = MappingProxyType({})


class Plan(NamedTuple):
    commands: tuple[Command, ...]
    changes: tuple[str, ...]  # what the plan does, for the user ("created window api", ...)
    build_name: str | None = None  # the temporary session name of a cold build
    focus: str | None = None
    windows: tuple[tuple[str, str, int], ...] = ()  # windows it creates: (temporary name, name, pane count)

    @property
    def empty(self) -> bool:
        return not self.commands


class PaneLaunch(NamedTuple):
    """Everything tmux needs to start one pane."""

    cwd: str
    env: tuple[tuple[str, str], ...]
    command: tuple[str, ...] | None  # the pane's argv (the runner), None for the default shell
    log: str  # pipe-pane target file


# --------------------------------------------------------------------------- pane launch


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def literal(text: str) -> str:
    """``text`` as tmux must get it where it expands formats (``#{...}``, ``#(...)`` runs a command)."""
    return text.replace("#", "##")


def pipe_command(log: str, made: bool = False) -> str:
    """The ``pipe-pane`` command that appends a pane's output to ``log`` (0600, its folder 0700);
    ``made``: the folder and the log exist already (the runner made them: no mkdir to fork).

    Escaped for what tmux does to it: strftime (``%``), then formats (``#``).
    """
    folder = log.rpartition("/")[0] or "/"
    shell = f"umask 077; {'' if made else f'mkdir -p {_sh_quote(folder)} && '}exec cat >> {_sh_quote(log)}"
    return shell.replace("%", "%%").replace("#", "##")


def pane_launch(resolved: Resolved, ctx: Context, window: Window, index: int, pane: Pane,
                stem: str, base_env: Mapping[str, str] | None) -> PaneLaunch:
    """How to start pane ``index`` of ``window``.

    ``base_env``: what the session already gives every window (None in a
    repair, where each new pane gets its whole environment).
    """
    session = resolved.profile.session
    env = {**resolved.window_env(window.name, index), **_devenv_env(resolved, ctx)}
    # panes of one window are told apart in pg_stat_activity: app/worker.0, app/worker.1, ...
    several = len(window.panes) > 1
    env.setdefault("PGAPPNAME", f"{session}/{window.name}" + (f".{index}" if several else ""))
    env["DEVENV_MARK"] = f"{ctx.socket_label}/{session}/{window.name}"
    env["DEVENV_STATE"] = str(ctx.state_dir / stem)

    command = window_command(window, pane, ctx)
    if command is not None:
        env["DEVENV_CMD"] = command
        if window.task:
            env["DEVENV_TASK"] = "1"
            if window.name in ctx.inputs:
                env["DEVENV_INPUTS"] = ctx.inputs[window.name]
        elif window.restart != "no":  # the runner's defaults: no, 5
            env["DEVENV_RESTART"] = window.restart
        if window.max_restarts != DEFAULT_MAX_RESTARTS:
            env["DEVENV_MAX_RESTARTS"] = str(window.max_restarts)
        if interactive(window, pane):
            env["DEVENV_INTERACTIVE"] = "1"
        if window.after:
            import json

            env["DEVENV_AFTER"] = json.dumps(after_spec(resolved, ctx, window), separators=(",", ":"))
        if window.ready is not None and index == 0 and resolved.profile.status:
            import json  # the runner starts `devenv _ready` on it: the badge turns from starting to ready

            env["DEVENV_READY"] = json.dumps(probe_spec(resolved, ctx, window), separators=(",", ":"))
        if window.db is not None:
            if _looks_like_url(window.db):
                env["DEVENV_DB_URL"] = window.db
            else:
                env["DEVENV_DB"] = window.db
        if window.name in ctx.notices:
            env["DEVENV_NOTICE"] = ctx.notices[window.name]
    if base_env is not None:
        env = {k: v for k, v in env.items() if base_env.get(k) != v}
    log = str(ctx.state_dir / f"{stem}.log")
    if command is not None:
        # the runner opens the pane's log itself (tmux pipe-pane) before the command starts:
        # the fork it costs happens in the pane, in parallel, not in up's tmux round-trip
        env["DEVENV_PIPE"] = pipe_command(log, made=True)  # the runner made the folder and the log
    return PaneLaunch(
        cwd=literal(str(resolved.pane_cwd(window, pane))),
        env=tuple(sorted(env.items())),
        command=None if command is None else ("/bin/sh", str(ctx.runner)),
        log=log,
    )


def definition(resolved: Resolved, ctx: Context, window: Window) -> dict[str, object]:
    """What a window is started with, as drift compares it: commands, folders, layout, and the
    environment from the env files and the profile (never devenv's own inherited environment;
    values as digests, so secrets stay out of the record)."""
    specs = window.pane_specs()

    def digest(value: str) -> str:
        return sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    envs = []
    for i in range(len(specs)):
        env = resolved.window_env(window.name, i)
        envs.append({k: digest(env[k]) for k in sorted(resolved.own_keys(window.name, i)) if k in env})
    out: dict[str, object] = {"command": [window_command(window, p, ctx) for p in specs],
                              "cwd": [str(resolved.pane_cwd(window, p)) for p in specs],
                              "layout": window.layout, "env": envs}
    # what older records lack is written only when set: an upgrade restarts only the windows that gain
    # something (options, titles or focus that an older devenv did not apply)
    if any(interactive(window, p) for p in specs):
        out["interactive"] = [interactive(window, p) for p in specs]
    own = options.window_options(resolved.profile, window)
    if own:
        out["options"] = own
    if any(p.title is not None for p in specs):
        out["titles"] = [p.title for p in specs]
    if window.focus_pane is not None:
        out["focus"] = window.focus_pane
    return out


DRIFT_KEYS = ("command", "cwd", "layout", "interactive", "options", "titles", "focus")
PER_PANE = frozenset({"command", "cwd", "interactive", "titles"})
# what only a window made anew takes: its panes, their arrangement, its options
STRUCTURE = frozenset({"panes", "layout", "options", "titles", "focus"})


def drift(old: Mapping[str, object], new: Mapping[str, object]) -> str | None:
    """Why a window's definition changed (``command``, ``env PORT``...), None when it did not."""
    why = [key for key in DRIFT_KEYS if old.get(key) != new.get(key)]
    if len(old.get("command") or []) != len(new.get("command") or []):  # type: ignore[arg-type]
        why = ["panes", *(key for key in why if key not in PER_PANE)]  # every per-pane list differs then
    old_env, new_env = old.get("env") or [], new.get("env") or []
    if isinstance(old_env, list) and isinstance(new_env, list):
        changed: set[str] = set()
        for a, b in zip(old_env, new_env, strict=False):
            changed |= {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
        if changed:
            why.append("env " + ", ".join(sorted(changed)))
    return "; ".join(dict.fromkeys(why)) or None


def rebuilds(why: str) -> bool:
    """Whether a window that drifted (``why``, from :func:`drift`) is made anew rather than respawned:
    its panes, their layout, titles or focus, or its options changed."""
    return any(part.split(" ", 1)[0] in STRUCTURE for part in why.split("; "))


def interactive(window: Window, pane: Pane) -> bool:
    """Whether the pane runs the user's interactive shell, which runs its lines as if typed."""
    return (window.pane_interactive(pane) and pane.command is not None and window.db is None
            and not window.logs and not window.task)


def _looks_like_url(value: str) -> bool:
    return "://" in value or value.startswith("file:") or value.startswith("sqlite:")


def window_command(window: Window, pane: Pane, ctx: Context) -> str | None:
    """The shell command a pane runs: the user's, or devenv's console / follower."""
    if window.db is not None:
        return f"{_sh_quote(ctx.python)} -m devenv db console"
    if window.logs:
        return f"{_sh_quote(ctx.python)} -m devenv logs -f -- " + " ".join(_sh_quote(g) for g in window.logs)
    return pane.command


def after_spec(resolved: Resolved, ctx: Context, window: Window) -> list[dict[str, object]]:
    """What a window with ``after:`` waits for: each dependency's probe, or its process running."""
    spec: list[dict[str, object]] = []
    for name in window.after:
        dep = resolved.profile.window(name)
        assert dep is not None  # validated by the profile loader
        spec.append(_dependency(resolved, ctx, dep))
    return spec


def probe_spec(resolved: Resolved, ctx: Context, window: Window) -> list[dict[str, object]]:
    """A window's own ``ready:`` probe, in the shape of :func:`after_spec` (for ``devenv _ready``)."""
    return [_dependency(resolved, ctx, window)]


def _dependency(resolved: Resolved, ctx: Context, dep: Window) -> dict[str, object]:
    name = dep.name
    item: dict[str, object] = {"window": name, "state": str(ctx.state_dir / pane_stem(name, 0)),
                               "root": str(resolved.root)}
    if dep.task:  # its success (done, or skipped: unchanged since it last succeeded)
        item.update(kind="task", target=name)
    elif dep.ready is not None:
        target = dep.ready.target
        if dep.ready.kind == "database":  # a variable name: the dependency's own value
            target = resolved.window_env(name).get(target, target)
        item.update(kind=dep.ready.kind, target=target, timeout=dep.ready.timeout,
                    interval=dep.ready.interval)
    else:
        item.update(kind="running", target=name, timeout=60.0, interval=0.2)
    return item


def _env_flags(env: Sequence[tuple[str, str]]) -> list[str]:
    flags: list[str] = []
    for key, value in env:
        flags += ["-e", f"{key}={value}"]
    return flags


def _pairs(command: Command) -> list[tuple[str, str]]:
    """The KEY=value pairs of a command's -e flags."""
    return [tuple(command[i + 1].split("=", 1)) for i, a in enumerate(command[:-1]) if a == "-e"]  # type: ignore[misc]


def _start_args(launch: PaneLaunch) -> list[str]:
    args = ["-c", launch.cwd, *_env_flags(launch.env)]
    if launch.command is not None:
        args += launch.command  # several arguments: tmux execs them directly, no shell in between
    return args


def _pipe(launch: PaneLaunch, target: str) -> tuple[Command, ...]:
    """Log a pane's output; panes with a command do it themselves (the runner)."""
    if launch.command is not None:
        return ()
    return (("pipe-pane", "-t", target, pipe_command(launch.log)),)


def _window_commands(resolved: Resolved, ctx: Context, window: Window, first: Command, target: str,
                     base_env: Mapping[str, str] | None, size: tuple[int, int] | None = None) -> list[Command]:
    """Commands that create ``window``.

    ``first`` is the new-window / new-session command (without its start
    arguments) that names the window with a temporary name; ``target`` is that
    name as a tmux target. Every later command names its target explicitly:
    tmux's "current window" is not the new one when windows are made with -d.
    ``size``: the window's (the layout fits it); None: the build's.

    The window's name and options first (:mod:`devenv.session.options`), each pane's title as it is
    made, the layout once all are (tmux's own splits when none is given), the focus pane last.
    """
    profile = resolved.profile
    panes = window.pane_specs()
    launches = [pane_launch(resolved, ctx, window, i, p, pane_stem(window.name, i), base_env)
                for i, p in enumerate(panes)]
    cmds: list[Command] = [(*first, *_start_args(launches[0])),
                           ("set-option", "-w", "-t", target, "remain-on-exit", "on"),
                           *options.window_commands(profile, window, target),
                           *options.pane_commands(window, 0, target),
                           *_pipe(launches[0], target)]
    for n, launch in enumerate(launches[1:], 2):
        # without -d the new pane becomes the window's active pane: the next target
        cmds.append(("split-window", "-t", target, *_start_args(launch)))
        cmds += options.pane_commands(window, n - 1, target)
        cmds += _pipe(launch, target)
        if n < len(launches):  # room for the next split: halving the active pane runs out at 6
            cmds.append(("select-layout", "-t", target, "tiled"))
    width, height = size or (ctx.width, ctx.height)
    cmds += options.layout_commands(window, target, width, height)
    if resolved.profile.status:
        cmds += badges.window_commands(target)
    if len(launches) > 1:
        cmds += (options.focus_commands(profile, window, target) or
                 [("select-pane", "-t", f"{target}.{{top-left}}")])
    return cmds


def _renamed_last(resolved: Resolved, window: Window, made: list[Command], target: str) -> tuple[list[Command],
                                                                                                Command]:
    """A window made under a temporary name (a repair): its commands, and the one that names it, run
    at the end of the line. A window tmux names (``automatic-rename`` on) is not renamed: tmux would
    turn automatic-rename off; it gets automatic-rename there instead (until then, it keeps its
    temporary name, so a failed repair still finds what it made)."""
    if not options.renamed(window, resolved.profile):
        return made, ("rename-window", "-t", target, "--", literal(window.name))
    auto = [c for c in made if c[0] == "set-option" and c[4:5] == ("automatic-rename",)]
    return [c for c in made if c not in auto], auto[-1]


# --------------------------------------------------------------------------- plans


def _devenv_env(resolved: Resolved, ctx: Context) -> dict[str, str]:
    """What devenv adds for every pane: so that `devenv` run in a window targets the same session."""
    env = {"DEVENV_PROJECT": str(resolved.project), "DEVENV_PROFILE": ctx.profile_name,
           "DEVENV_PYTHON": ctx.python, "DEVENV_TMUX": ctx.tmux}
    if ctx.socket:
        env["DEVENV_TMUX_SOCKET"] = ctx.socket
    return env


def session_env(resolved: Resolved, ctx: Context) -> dict[str, str]:
    """The environment every window shares, given once to new-session."""
    return {**resolved.env, **_devenv_env(resolved, ctx)}


def _temp(build_id: str, i: int) -> str:
    return f"{BUILD_PREFIX}{build_id}_{i}"


def temp_prefix(build_id: str) -> str:
    """The start of every temporary name a plan with ``build_id`` gives."""
    return f"{BUILD_PREFIX}{build_id}"


def cold(resolved: Resolved, ctx: Context, build_id: str) -> Plan:
    """Build the whole session under a temporary name, renamed last.

    Each window is made last, so ``{end}`` names it: no window name (which may
    hold '.' or ':') is ever used as a target. ``-n`` also turns tmux's
    automatic-rename off for it.
    """
    profile = resolved.profile
    build_name = temp_prefix(build_id)
    target = f"={build_name}:{{end}}"
    shared = session_env(resolved, ctx)
    windows = [w for w in profile.windows if w.name not in ctx.skip]
    focus_index = next((i for i, w in enumerate(windows) if w.focus), 0)
    cmds: list[Command] = []
    for i, window in enumerate(windows):
        if i == 0:
            first: Command = ("new-session", "-d", "-s", build_name, "-x", str(ctx.width), "-y", str(ctx.height),
                              "-n", literal(window.name), *_env_flags(sorted(shared.items())))
        else:
            first = ("new-window", "-d", "-t", f"={build_name}:", "-n", literal(window.name))
        made = _window_commands(resolved, ctx, window, first, target, shared)
        if i == 0:
            # new-session's -e is the session's environment: the first pane's own
            # variables must not leak into the panes made later (shells included)
            own = sorted({k for k, _ in _pairs(made[0]) if k not in shared})
            made[1:1] = [("set-environment", "-t", f"={build_name}", "-u", k) for k in own]
            # the session belongs to this project: nothing of another project's is ever taken for it
            head: list[Command] = [
                ("set-option", "-t", f"={build_name}:", PROJECT_OPTION, quote(str(resolved.project))),
                ("set-option", "-t", f"={build_name}:", TARGET_OPTION, quote(profile.session)),
                *options.session_commands(profile, f"={build_name}:")]
            if profile.status:  # before any window has formats of its own: the user's (~/.tmux.conf, the profile's)
                head += badges.save_user_formats(f"={build_name}:") + badges.session_commands(f"={build_name}:",
                                                                                             ctx.colour)
            made[1:1] = head
        if i == focus_index and i > 0:
            made.append(("select-window", "-t", target))
        cmds += made
    cmds.append(("rename-session", "-t", f"={build_name}", "--", literal(profile.session)))
    changes = tuple(f"started {'task' if w.task else 'window'} {w.name}" for w in windows)
    changes += tuple(f"skipped task {name} (inputs unchanged)" for name in sorted(ctx.skip))
    created = tuple((w.name, w.name, len(w.pane_specs())) for w in windows)
    return Plan(tuple(cmds), changes, build_name=build_name, focus=windows[focus_index].name, windows=created)


def reconcile(resolved: Resolved, ctx: Context, live: LiveSession, build_id: str,
              unlogged: Collection[str] = ()) -> Plan:
    """Create missing windows (in profile order), respawn dead panes, leave the rest alone.

    ``unlogged``: ids of running panes whose log file is gone (the state folder was removed):
    their output is piped to a new log.
    """
    profile = resolved.profile
    session = live.target
    existing = live.windows()
    cmds: list[Command] = []
    renames: list[Command] = []
    changes: list[str] = []
    made: list[tuple[str, str, int]] = []
    previous: str | None = None  # target of the window a missing window goes after
    for i, window in enumerate(profile.windows):
        panes = existing.get(window.name)
        if panes is None and window.name in ctx.skip:
            continue  # a task done (its window closed): nothing to repair
        if panes is None:
            temp = _temp(build_id, i)
            target = f"{session}:={temp}"
            if previous is not None:
                first: Command = ("new-window", "-d", "-a", "-t", previous, "-n", temp)
            elif live.panes:
                anchor = min(live.panes, key=lambda p: p.window_index).window_id
                first = ("new-window", "-d", "-b", "-t", anchor, "-n", temp)
            else:
                first = ("new-window", "-d", "-t", f"{session}:", "-n", temp)
            made_now, naming = _renamed_last(resolved, window, _window_commands(resolved, ctx, window, first, target,
                                                                                None, _size(live)), target)
            cmds += made_now
            renames.append(naming)
            changes.append(f"started task {window.name}" if window.task else f"created window {window.name}")
            made.append((temp, window.name, len(window.pane_specs())))
            previous = target
            continue
        previous = panes[0].window_id
        dead = [p for p in panes[: len(window.pane_specs())] if p.dead]
        cmds += _respawn_commands(resolved, ctx, window, panes, dead)
        changes += [f"restarted {_where(window, panes.index(p))}" + _status(p) for p in dead]
        for j, pane in enumerate(panes[: len(window.pane_specs())]):
            if not pane.dead and pane.pane_id in unlogged:
                cmds.append(("pipe-pane", "-t", pane.pane_id,
                             pipe_command(str(ctx.state_dir / f"{pane_stem(window.name, j)}.log"))))
                changes.append(f"reopened the log of {_where(window, j)}")
    if made and profile.status:  # the badged formats its new windows read (the session's own, set again)
        cmds += badges.session_commands(_session_target(session), ctx.colour)
    return Plan(tuple(cmds + renames), tuple(changes), windows=tuple(made))


def respawn(resolved: Resolved, ctx: Context, live: LiveSession, names: Sequence[str], build_id: str = "r",
            rebuild: Collection[str] = ()) -> Plan:
    """Start the command of every pane of the windows ``names`` again (their processes must be gone).

    A window of the profile that the session lacks is created, as ``up`` would. A window in
    ``rebuild`` (its panes, layout, titles, focus or options changed), or whose pane count is not the
    profile's, is made anew in its place (after it, then the old one is killed).
    """
    existing = live.windows()
    missing = [n for n in names if n not in existing]
    cmds: list[Command] = []
    last: list[Command] = []
    changes: list[str] = []
    made: list[tuple[str, str, int]] = []
    if missing:
        partial = reconcile(_only(resolved, missing), ctx, live, build_id)
        cmds += partial.commands
        changes += partial.changes
        made += partial.windows
    for i, name in enumerate(names):
        window = resolved.profile.window(name)
        panes = existing.get(name)
        if window is None or panes is None:
            continue
        specs = window.pane_specs()
        if name in rebuild or len(panes) != len(specs):
            temp = f"{_temp(build_id, i)}_new"
            target = f"{live.target}:={temp}"
            first: Command = ("new-window", "-d", "-a", "-t", panes[0].window_id, "-n", temp)
            now, naming = _renamed_last(resolved, window, _window_commands(resolved, ctx, window, first, target,
                                                                           None, _size(live)), target)
            if resolved.profile.status and not made:  # the badged formats its new window reads
                last += badges.session_commands(_session_target(live.target), ctx.colour)
            cmds += now
            # in the old one's place (its index), then named
            last += [("kill-window", "-t", panes[0].window_id),
                     ("move-window", "-d", "-s", target, "-t", f"{live.target}:{panes[0].window_index}"), naming]
            changes.append(f"restarted {name}" if len(specs) == 1 else f"made {name} anew")
            made.append((temp, name, len(specs)))
            continue
        chosen = panes[: len(specs)]
        cmds += _respawn_commands(resolved, ctx, window, panes, chosen)
        changes += [f"restarted {_where(window, panes.index(p))}" for p in chosen]
    return Plan(tuple(cmds + last), tuple(changes), windows=tuple(made))


def _session_target(target: str) -> str:
    """A live session's target as ``set-option`` reads a session: its id, or ``=name:``."""
    return target if target.startswith("$") else f"{target}:"


def _size(live: LiveSession) -> tuple[int, int] | None:
    """The size of the session's windows (a new one gets it), None when tmux did not say."""
    sized = [p for p in live.panes if p.width and p.height]
    return (sized[0].width, sized[0].height) if sized else None


def _only(resolved: Resolved, names: Sequence[str]) -> Resolved:
    profile = resolved.profile._replace(windows=tuple(w for w in resolved.profile.windows if w.name in names))
    return resolved._replace(profile=profile)


def _respawn_commands(resolved: Resolved, ctx: Context, window: Window, panes: Sequence[LivePane],
                      chosen: Sequence[LivePane]) -> list[Command]:
    specs = window.pane_specs()
    cmds: list[Command] = []
    for live_pane in chosen:
        j = panes.index(live_pane)
        launch = pane_launch(resolved, ctx, window, j, specs[j], pane_stem(window.name, j), None)
        cmds.append(("respawn-pane", "-k", "-t", live_pane.pane_id, *_start_args(launch)))
        cmds += _pipe(launch, live_pane.pane_id)
    return cmds


def _where(window: Window, index: int) -> str:
    return window.name if len(window.pane_specs()) == 1 else f"{window.name}.{index}"


def _status(pane: LivePane) -> str:
    return f" (exit {pane.dead_status})" if pane.dead_status is not None else ""
