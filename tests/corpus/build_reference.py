#!/usr/bin/env python3
"""Build every config of the import corpus with the ORIGINAL tool and record the result.

For each config under tests/fixtures/imports/{tmuxp,tmuxinator}/ this script

* makes a fresh temp root T holding ``home/`` (HOME, with an empty ``.tmux.conf``),
  ``work/`` (the working directory, where a copy of the config is placed),
  ``tmux/`` (TMUX_TMPDIR, so every tmux socket lives inside T) and ``bin/``
  (the only PATH entry: links to a short list of harmless real programs,
  stubs for everything that could touch the network, other hosts or the
  system, and a ``tmux`` wrapper that refuses to talk to any server but the
  private one);
* creates the folders the config's start directories (and relative ``cd X``
  commands) name, when they resolve inside T;
* runs ``tmuxp load -d -y -L corpus-<random> FILE`` or
  ``tmuxinator start -p COPY --no-attach`` (COPY = the config with a
  ``socket_name: corpus-<random>`` line appended) with TMUX unset,
  SHELL=/bin/bash, COLUMNS=80 LINES=24, bounded in time;
* polls (no fixed sleeps, at most --settle seconds) until the panes exist and
  their current commands stopped changing, then records sessions, windows and
  panes with ``list-windows`` / ``list-panes``;
* writes ``<config>.expected.json`` next to the config, kills the private
  server by its -L name and waits until its processes are gone.

It never uses the default tmux server, never runs kill-server without -L and
never kills anything by name.

Usage:
    python3 tests/corpus/build_reference.py                 # whole corpus
    python3 tests/corpus/build_reference.py --only users    # paths containing "users"
    python3 tests/corpus/build_reference.py --jobs 2 --tmuxp /tmp/corpus-venv/bin/tmuxp
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from devenv.wait import wait_until
except ImportError:  # run from a checkout where devenv is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from devenv.wait import wait_until

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "fixtures" / "imports"
REAL_TMUX = "/usr/bin/tmux"
SHELL = "/bin/bash"
SIZE = (80, 24)
TOOL_TIMEOUT = 45.0
SEP = "|~|"

# Real programs that are linked into the private PATH (local, harmless).
REAL_PROGRAMS = [
    "bash", "sh", "ls", "cat", "echo", "pwd", "env", "sleep", "grep", "awk", "tail",
    "head", "clear", "printf", "tput", "tr", "sed", "cut", "wc", "sort", "uniq",
    "true", "false", "test", "[", "date", "id", "whoami", "uname", "basename",
    "dirname", "readlink", "realpath", "tee", "which", "seq", "top", "man", "less",
    "vim", "vi", "watch", "stty", "tty", "expr", "mktemp", "ps",
]
# Programs replaced by a stub that only prints its name and arguments.
STUB_PROGRAMS = [
    "ssh", "scp", "sftp", "mosh", "rsync", "docker", "docker-compose", "podman",
    "vagrant", "kubectl", "helm", "ollama", "brew", "sudo", "su", "apt", "apt-get",
    "dnf", "yum", "pacman", "pip", "pip3", "pipx", "npm", "npx", "yarn", "pnpm",
    "bun", "nx", "node", "deno", "curl", "wget", "nc", "netcat", "telnet", "git",
    "gh", "gitk", "lazygit", "lazydocker", "cargo", "rustc", "go", "make", "cmake",
    "python", "python2", "python3", "ipython", "bpython", "jupyter", "ruby", "rails",
    "bundle", "rake", "gem", "guard", "rbenv", "rvm", "conda", "workon",
    "pipenv", "poetry", "dotnet", "php", "serverless", "sbt", "mix", "iex",
    "redis-server", "redis-cli", "pgcli", "psql", "mysql", "mysqld", "ros2",
    "live-server", "just", "open", "xdg-open", "subl", "code", "direnv", "claude",
    "claudeyolo", "vibe", "ranger", "jekyll", "gdb", "doxygen", "zsh", "fish",
    "nvim", "emacs", "htop", "lsof", "kill", "pkill", "killall", "rm", "mv", "cp",
    "dd", "chmod", "chown", "mkdir", "rmdir", "ln", "touch", "systemctl",
    "service", "shutdown", "reboot", "pytest", "tox", "mvn", "gradle", "java",
    "editor", "open-project", "wemux", "byobu", "tmuxinator", "tmuxp",
]
# Absolute executables a config may name that are fine to run for real.
ALLOWED_ABSOLUTE = {"/bin/sh", "/bin/bash", "/usr/bin/bash", "/usr/bin/vim", "/usr/bin/top",
                    "/usr/bin/python3", "/usr/bin/python2", "/usr/bin/zsh"}

TMUX_WRAPPER = r"""#!/bin/bash
# Refuses any tmux call that is not aimed at a private corpus server.
ok=0
prev=""
for a in "$@"; do
  case "$a" in -Lcorpus-*) ok=1 ;; esac
  if [ "$prev" = "-L" ]; then case "$a" in corpus-*) ok=1 ;; esac; fi
  prev="$a"
done
case "$1" in -V) ok=1 ;; esac
case "$TMUX" in *"/corpus-"*) ok=1 ;; esac
if [ "$ok" != 1 ]; then
  echo "corpus tmux wrapper: refused (no -L corpus-*): $*" >&2
  exit 1
fi
exec __REAL_TMUX__ "$@"
"""

STUB = """#!/bin/sh
echo "[stub] $(basename "$0") $*"
exit 0
"""


def tool_of(path: Path) -> str:
    rel = path.relative_to(CORPUS)
    return rel.parts[0]


def find_configs(only: str | None) -> list[Path]:
    out = []
    for p in sorted(CORPUS.rglob("*")):
        if not p.is_file() or p.name.endswith(".expected.json") or p.name == "SOURCES.md":
            continue
        if p.suffix.lower() not in (".yml", ".yaml", ".json"):
            continue
        if tool_of(p) not in ("tmuxp", "tmuxinator"):
            continue
        if only and only not in str(p.relative_to(CORPUS)):
            continue
        out.append(p)
    return out


def make_bin(bindir: Path) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    for name in REAL_PROGRAMS:
        real = shutil.which(name, path="/usr/bin:/bin")
        if real:
            (bindir / name).symlink_to(real)
    for name in STUB_PROGRAMS:
        p = bindir / name
        if p.exists() or p.is_symlink():
            p.unlink()
        p.write_text(STUB)
        p.chmod(0o755)
    w = bindir / "tmux"
    w.write_text(TMUX_WRAPPER.replace("__REAL_TMUX__", REAL_TMUX))
    w.chmod(0o755)


# ---------------------------------------------------------------- directories

CD_RE = re.compile(r"(?:^|&&|;|\|\|)\s*cd\s+([^\s;&|]+)")


def _strip_erb(text: str) -> str:
    return re.sub(r"<%=?.*?%>", "", text, flags=re.S)


def _load(text: str, is_json: bool):
    try:
        import yaml  # type: ignore
    except ImportError:  # pragma: no cover
        yaml = None
    try:
        if is_json:
            return json.loads(text)
        if yaml is None:
            return None
        return yaml.safe_load(_strip_erb(text))
    except Exception:
        return None


def _as_list(v):
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def _cmd_strings(v) -> list[str]:
    out = []
    for item in _as_list(v):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            if isinstance(item.get("cmd"), str):
                out.append(item["cmd"])
            else:
                for val in item.values():
                    out.extend(_cmd_strings(val))
    return out


def _resolve(raw, base: Path, env: dict, root: Path):
    """Resolve a directory value the way a shell/tool would, or None if not a plain path."""
    if raw is None or not isinstance(raw, (str, int, float)):
        return None
    s = str(raw).strip().strip("'\"")
    if not s or "$(" in s or "`" in s or "#{" in s:
        return None
    s = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), s)
    if s == "~" or s.startswith("~/"):
        s = env["HOME"] + s[1:]
    p = Path(s) if s.startswith("/") else base / s
    return Path(os.path.normpath(p))


def wanted_dirs(tool: str, data, work: Path, env: dict, root: Path) -> list[Path]:
    dirs: list[Path] = []

    def add_cd(cmds, base):
        for c in _cmd_strings(cmds):
            for m in CD_RE.finditer(c):
                d = _resolve(m.group(1), base, env, root)
                if d is not None:
                    dirs.append(d)

    if not isinstance(data, dict):
        return dirs
    if tool == "tmuxp":
        sess = _resolve(data.get("start_directory"), work, env, root) if data.get("start_directory") else work
        sess = sess or work
        dirs.append(sess)
        add_cd(data.get("shell_command_before"), sess)
        for w in _as_list(data.get("windows")):
            if not isinstance(w, dict):
                continue
            wd = _resolve(w.get("start_directory"), sess, env, root) if w.get("start_directory") else sess
            wd = wd or sess
            dirs.append(wd)
            add_cd(w.get("shell_command_before"), wd)
            for p in _as_list(w.get("panes")):
                if isinstance(p, dict):
                    pd = _resolve(p.get("start_directory"), wd, env, root) if p.get("start_directory") else wd
                    pd = pd or wd
                    dirs.append(pd)
                    add_cd(p.get("shell_command"), pd)
                    add_cd(p.get("shell_command_before"), pd)
                else:
                    add_cd(p, wd)
    else:
        r = data.get("root") or data.get("project_root")
        proj = _resolve(r, work, env, root) if r else work
        proj = proj or work
        dirs.append(proj)
        for w in _as_list(data.get("windows") or data.get("tabs")):
            if not isinstance(w, dict):
                continue
            for _, spec in w.items():
                wd = proj
                if isinstance(spec, dict):
                    if spec.get("root"):
                        wd = _resolve(spec.get("root"), proj, env, root) or proj
                        dirs.append(wd)
                    add_cd(spec.get("pre"), wd)
                    for p in _as_list(spec.get("panes")):
                        add_cd(p, wd)
                else:
                    add_cd(spec, wd)
    return dirs


def prepare_dirs(tool, text, is_json, work, env, root):
    data = _load(text, is_json)
    created, outside = [], []
    for d in wanted_dirs(tool, data, work, env, root):
        try:
            inside = d == root or root in d.parents
        except Exception:
            inside = False
        if inside:
            if not d.exists():
                d.mkdir(parents=True, exist_ok=True)
                created.append(str(d.relative_to(root)))
        elif not d.exists():
            outside.append(str(d))
    return sorted(set(created)), sorted(set(outside))


# ---------------------------------------------------------------- tmux helpers

def tmux(env, sock, *args, timeout=10.0):
    return subprocess.run([REAL_TMUX, "-L", sock, *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def snapshot(env, sock):
    r = tmux(env, sock, "list-sessions", "-F", SEP.join(["#{session_id}", "#{session_name}"]))
    if r.returncode != 0:
        return None
    sessions = []
    for line in r.stdout.splitlines():
        sid, name = line.split(SEP, 1)
        wr = tmux(env, sock, "list-windows", "-t", sid, "-F", SEP.join([
            "#{window_id}", "#{window_index}", "#{window_name}", "#{window_layout}",
            "#{window_active}", "#{window_panes}", "#{window_width}x#{window_height}",
            "#{synchronize-panes}", "#{automatic-rename}"]))
        pr = tmux(env, sock, "list-panes", "-s", "-t", sid, "-F", SEP.join([
            "#{window_id}", "#{pane_index}", "#{pane_active}", "#{pane_current_path}",
            "#{pane_current_command}", "#{pane_dead}", "#{pane_dead_status}", "#{pane_pid}",
            "#{pane_title}", "#{pane_width}x#{pane_height}"]))
        panes_by_win: dict[str, list] = {}
        for pl in pr.stdout.splitlines():
            f = pl.split(SEP)
            panes_by_win.setdefault(f[0], []).append({
                "index": int(f[1]), "active": f[2] == "1", "path": f[3], "command": f[4],
                "dead": f[5] == "1", "dead_status": f[6] or None, "pid": f[7],
                "title": f[8], "size": f[9]})
        windows = []
        for wl in wr.stdout.splitlines():
            f = wl.split(SEP)
            windows.append({
                "id": f[0], "index": int(f[1]), "name": f[2], "layout": f[3],
                "active": f[4] == "1", "pane_count": int(f[5]), "size": f[6],
                "synchronize_panes": f[7] == "1", "automatic_rename": f[8] == "1",
                "panes": panes_by_win.get(f[0], [])})
        sessions.append({"name": name, "windows": windows})
    return sessions


def settle(env, sock, deadline_s):
    """Poll until the pane set and current commands are unchanged three polls running."""
    state = {"last": None, "stable": 0, "snap": None}

    def stable():
        snap = state["snap"] = snapshot(env, sock)
        key = None if snap is None else json.dumps(
            [[(w["index"], w["name"], w["layout"], [(p["index"], p["command"], p["path"], p["dead"])
                                                    for p in w["panes"]]) for w in s["windows"]]
             for s in snap])
        state["stable"] = state["stable"] + 1 if key == state["last"] else 0
        state["last"] = key
        # three equal polls with panes, or five polls without any server
        if (key is not None and state["stable"] >= 3) or (key is None and state["stable"] >= 5):
            return (snap, key is not None)
        return None

    try:
        return wait_until(stable, deadline_s, interval=0.2, max_interval=0.2)
    except TimeoutError:
        return state["snap"], False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def kill_server(env, sock, pids: set[int]):
    r = tmux(env, sock, "display-message", "-p", "#{pid}")
    if r.returncode == 0 and r.stdout.strip().isdigit():
        pids.add(int(r.stdout.strip()))
    tmux(env, sock, "kill-server")
    try:
        wait_until(lambda: not any(pid_alive(p) for p in pids), 10, interval=0.1, max_interval=0.1)
    except TimeoutError:
        pass
    left = [p for p in pids if pid_alive(p)]
    for p in left:  # only processes of our own private server
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    return left


# ---------------------------------------------------------------- one config

def rel_path(p: str, root: Path) -> str:
    if p == str(root):
        return "."
    if p.startswith(str(root) + "/"):
        return p[len(str(root)) + 1:]
    return p


def sanitize(s: str, root: Path, sock: str) -> str:
    return s.replace(str(root), "<TMP>").replace(sock, "<SOCKET>")


def clip(s: str, n: int = 1500) -> str:
    return s if len(s) <= 2 * n else s[:n] + "\n[...]\n" + s[-n:]


def error_summary(out: str) -> str:
    """The most telling line of a tool's output: the exception line, else the last line."""
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    exc = [line for line in lines if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line)
           or re.match(r"^/\S+\.rb:\d+:in ", line)]
    pick = exc[-1] if exc else (lines[-1] if lines else "")
    return pick[:400]


def absolute_risk(text: str) -> str | None:
    for m in re.finditer(r"(?<![\w.~$}])(/(?:[\w.+-]+/)*[\w.+-]+)", text):
        p = m.group(1)
        if p in ALLOWED_ABSOLUTE:
            continue
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return f"names an existing absolute executable {p}"
    return None


def sandbox(prefix: str = "corpus-ref-") -> tuple[Path, str, dict]:
    """A fresh temp root (home/, work/, tmux/, bin/), a private socket name and the environment.

    Shared with tests/test_import_corpus.py, which builds the same configs with devenv in the
    same kind of sandbox: stubs on PATH, HOME with an empty tmux.conf, sockets inside the root.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    sock = "corpus-" + secrets.token_hex(6)
    home, work, bindir, tmuxdir = root / "home", root / "work", root / "bin", root / "tmux"
    for d in (home, work, tmuxdir):
        d.mkdir()
    tmuxdir.chmod(0o700)
    (home / ".tmux.conf").write_text("")
    # tmux starts panes as login shells, and /etc/profile resets PATH to the system
    # one: put the private PATH back before any typed command runs.
    for rc in (".bash_profile", ".profile"):
        (home / rc).write_text(f"PATH={bindir}; export PATH\n")
    make_bin(bindir)
    env = {
        "HOME": str(home), "PWD": str(work), "PATH": str(bindir), "SHELL": SHELL,
        "TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "USER": "user", "LOGNAME": "user", "TMUX_TMPDIR": str(tmuxdir),
        "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1]), "TMUXP_PROGRESS": "0",
        "EDITOR": "vi", "DISABLE_AUTO_TITLE": "true",
    }
    return root, sock, env


def build_one(cfg: Path, tools: dict, settle_s: float) -> dict:
    tool = tool_of(cfg)
    text = cfg.read_bytes().decode("utf-8")
    rec = {
        "tool": tool,
        "tool_version": tools.get(tool + "_version"),
        "tmux_version": tools.get("tmux_version"),
        "config": cfg.name,
        "config_sha256": hashlib.sha256(cfg.read_bytes()).hexdigest(),
        "shell": SHELL,
        "size": f"{SIZE[0]}x{SIZE[1]}",
        "path_policy": "PATH holds only links to a few local programs plus stubs "
                       "(print their name) for network/system/long-running programs; "
                       "see REAL_PROGRAMS/STUB_PROGRAMS in build_reference.py; HOME has an "
                       "empty .tmux.conf and .bash_profile/.profile that restore that PATH "
                       "in login shells",
    }
    stubbed = sorted({n for n in STUB_PROGRAMS
                      if re.search(r"(?<![\w./-])" + re.escape(n) + r"(?![\w.-])", text)})
    rec["stub_names_mentioned"] = stubbed
    exe = tools.get(tool)
    if not exe:
        rec.update(ok=False, skipped=f"{tool} is not installed")
        return rec
    risk = absolute_risk(text)
    if risk:
        rec.update(ok=False, skipped=risk)
        return rec

    root, sock, env = sandbox()
    work = root / "work"
    pids: set[int] = set()
    try:
        created, outside = prepare_dirs(tool, text, cfg.suffix == ".json", work, env, root)
        rec["created_dirs"] = created
        rec["absolute_dirs_missing"] = outside
        copy = work / cfg.name
        if tool == "tmuxinator":
            body = text if text.endswith("\n") else text + "\n"
            copy.write_text(body + f"socket_name: {sock}\n", encoding="utf-8")
            cmd = [exe, "start", "-p", str(copy), "--no-attach"]
            rec["command"] = ["tmuxinator", "start", "-p", "<COPY with socket_name: <SOCKET> appended>",
                              "--no-attach"]
        else:
            copy.write_bytes(cfg.read_bytes())
            cmd = [exe, "load", "-d", "-y", "--no-progress", "-L", sock, str(copy)]
            rec["command"] = ["tmuxp", "load", "-d", "-y", "--no-progress", "-L", "<SOCKET>", "<COPY>"]
        try:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                out, _ = proc.communicate(timeout=TOOL_TIMEOUT)
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group
                out, _ = proc.communicate()
                rc = "timeout"
        except OSError as e:
            out, rc = str(e).encode(), "exec-error"
        output = sanitize(out.decode("utf-8", "replace"), root, sock)
        rec["tool_exit"] = rc
        snap, settled = settle(env, sock, settle_s)
        snap = [s for s in (snap or []) if s["windows"]]
        if snap:
            for s in snap:
                for w in s["windows"]:
                    for p in w["panes"]:
                        if p["pid"].isdigit():
                            pids.add(int(p["pid"]))
        r = tmux(env, sock, "show-options", "-gv", "base-index")
        rp = tmux(env, sock, "show-options", "-gwv", "pane-base-index")
        rec["base_index"] = int(r.stdout.strip()) if r.stdout.strip().isdigit() else None
        rec["pane_base_index"] = int(rp.stdout.strip()) if rp.stdout.strip().isdigit() else None
        host = socket.gethostname()
        sessions = []
        for s in snap:
            wins = []
            for w in s["windows"]:
                panes = []
                for p in w["panes"]:
                    panes.append({
                        "index": p["index"], "active": p["active"],
                        "cwd": rel_path(p["path"], root),
                        "current_command": p["command"],
                        "live_shell": (not p["dead"]) and p["command"] in ("bash", "sh"),
                        "dead": p["dead"], "dead_status": p["dead_status"],
                        "title": "<HOST>" if p["title"] == host else p["title"],
                        "size": p["size"],
                    })
                wins.append({"index": w["index"], "name": w["name"], "layout": w["layout"],
                             "active": w["active"], "pane_count": w["pane_count"],
                             "size": w["size"], "synchronize_panes": w["synchronize_panes"],
                             "automatic_rename": w["automatic_rename"], "panes": panes})
            sessions.append({"name": s["name"], "windows": wins})
        ok = bool(sessions) and rc == 0
        rec["ok"] = ok
        if sessions and not ok:
            rec["partial"] = True  # the tool failed but left a session behind; it is recorded
        rec["settled"] = settled
        if len(sessions) == 1:
            rec["session"] = sessions[0]
        elif sessions:
            rec["sessions"] = sessions
        if not ok:
            rec["error"] = (f"exit {rc}: " if rc != 0 else "exit 0 but no session: ") + \
                (error_summary(output) or "no output")
        if output.strip():
            rec["tool_output"] = clip(output.strip())
    finally:
        left = kill_server(env, sock, pids)
        if left:
            rec["leftover_pids_killed"] = len(left)
        shutil.rmtree(root, ignore_errors=True)
    return rec


def versions(tools):
    out = {}
    try:
        out["tmux_version"] = subprocess.run([REAL_TMUX, "-V"], capture_output=True, text=True).stdout.strip()
    except OSError:
        out["tmux_version"] = None
    if tools.get("tmuxp"):
        out["tmuxp_version"] = subprocess.run([tools["tmuxp"], "--version"], capture_output=True,
                                              text=True).stdout.strip()
    if tools.get("tmuxinator"):
        out["tmuxinator_version"] = subprocess.run([tools["tmuxinator"], "version"], capture_output=True,
                                                   text=True).stdout.strip()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="build only configs whose corpus path contains this text")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--settle", type=float, default=10.0, help="max seconds to wait for panes to settle")
    ap.add_argument("--retries", type=int, default=2,
                    help="builds to retry when the tmux server crashes mid-build")
    ap.add_argument("--tmuxp", default=os.environ.get("TMUXP") or (
        "/tmp/corpus-venv/bin/tmuxp" if os.path.exists("/tmp/corpus-venv/bin/tmuxp") else shutil.which("tmuxp")))
    ap.add_argument("--tmuxinator", default=os.environ.get("TMUXINATOR") or shutil.which("tmuxinator"))
    args = ap.parse_args(argv)
    if not os.path.exists(REAL_TMUX):
        print("tmux not found at", REAL_TMUX, file=sys.stderr)
        return 2
    tools = {"tmuxp": args.tmuxp, "tmuxinator": args.tmuxinator}
    tools.update(versions(tools))
    cfgs = find_configs(args.only)
    counts: dict[str, list[int]] = {}

    def run(cfg):
        crashes = 0
        while True:
            try:
                rec = build_one(cfg, tools, args.settle)
            except Exception as e:  # record the harness failure, keep going
                rec = {"tool": tool_of(cfg), "config": cfg.name, "ok": False, "harness_error": repr(e)}
            # tmux 3.3a itself sometimes dies mid-build ("server exited unexpectedly"):
            # build again on a new private server, and say so in the record.
            if "server exited unexpectedly" in rec.get("tool_output", "") and crashes < args.retries:
                crashes += 1
                continue
            break
        if crashes:
            rec["tmux_server_crashes_before_this_build"] = crashes
        out = cfg.with_name(cfg.name + ".expected.json")
        out.write_text(json.dumps(rec, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return cfg, rec

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for cfg, rec in ex.map(run, cfgs):
            c = counts.setdefault(rec["tool"], [0, 0, 0])
            if rec.get("skipped"):
                c[2] += 1
                status = "SKIP " + rec["skipped"]
            elif rec.get("ok"):
                c[0] += 1
                status = "ok"
            else:
                c[1] += 1
                status = "FAIL " + (rec.get("error") or rec.get("harness_error") or "")[:120].replace("\n", " ")
            try:
                print(f"{cfg.relative_to(CORPUS)}: {status}", flush=True)
            except BrokenPipeError:
                pass
    for tool, (ok, fail, skip) in sorted(counts.items()):
        print(f"{tool}: {ok} built ok, {fail} failed in the original tool, {skip} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
