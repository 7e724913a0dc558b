"""The loader, the merge of extends, the layered environment: pure, no tmux."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devenv.errors import ProfileError
from devenv.profile.env import resolve
from devenv.profile.load import load, load_file
from tests.conftest import write_profile

BASE = """\
session: app
env:
  PORT: "3000"
  API_URL: http://localhost:${PORT}/api
windows:
  - name: server
    command: npm run dev
    env: {NODE_ENV: development}
  - name: worker
    command: node worker.js
"""


@pytest.fixture(autouse=True)
def _isolated(home: Path) -> None:
    """Every test gets its own HOME and XDG folders."""


def error_of(project: Path, name: str | None = None) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load(project, name)
    return info.value


def test_loads_a_profile_into_frozen_dataclasses(project: Path) -> None:
    write_profile(project, BASE)
    profile = load(project)
    assert profile.session == "app"
    assert [w.name for w in profile.windows] == ["server", "worker"]
    assert profile.windows[0].env == {"NODE_ENV": "development"}
    with pytest.raises(AttributeError):
        profile.session = "other"  # type: ignore[misc]


def test_session_defaults_to_the_project_folder_name(project: Path) -> None:
    write_profile(project, "windows: [{name: a, command: x}]")
    assert load(project).session == "proj"


@pytest.mark.parametrize("text, where, message", [
    ("windows:\n  - name: a\n    command: [x\n", ":4:", "flow sequence from line 3"),
    ("sesion: x\nwindows: [{name: a}]\n", ":1: sesion:", "did you mean 'session'"),
    ("windows:\n  - command: x\n", ":2: windows[0]:", "needs a name"),
    ("windows:\n  - name: a\n  - name: a\n", ":3: windows[1].name:", "duplicate window name 'a'"),
    ("windows:\n  - name: a\n    comand: x\n", ":3: windows[0].comand:", "did you mean 'command'"),
    ("windows:\n  - name: a\n    restart: sometimes\n", ":3: windows[0].restart:", "on-failure"),
    ("windows:\n  - name: a\n    ready: {port: 99999}\n", ":3: windows[0].ready.port:", "not a TCP port"),
    ("windows:\n  - name: a\n    layout: tiles\n", ":3: windows[0].layout:", "did you mean 'tiled'"),
    ("env:\n  A: 1\n  A: 2\nwindows: [{name: a}]\n", ":3: env:", "duplicate key 'A'"),
    ("env: [A]\nwindows: [{name: a}]\n", ":1: env:", "must be a mapping"),
    ("- just a list\n", ":1:", "must be a mapping"),
    ("windows: []\n", "default.yaml", "no windows"),
    ("windows:\n  - name: a\n    after: [b]\n", "windows.a.after", "unknown window 'b'"),
    ("windows:\n  - {name: a, after: [b]}\n  - {name: b, after: [a]}\n", "after", "cycle"),
    ("windows:\n  - {name: a, command: x, panes: [y]}\n", "windows[0].panes", "one of command, panes"),
    ("requires:\n  ports: [http]\nwindows: [{name: a}]\n", ":2: requires.ports[0]:", "not a TCP port"),
    ("windows:\n  - name: a\n    db_pool: -1\n", ":3: windows[0].db_pool:", "whole number >= 0"),
    ("windows:\n  - name: a\n    db_pool: five\n", ":3: windows[0].db_pool:", "or ${VAR}"),
    ("windows:\n  - name: a\n    db: DIRECT_URL\n    db_pool: 1\n", ":4: windows[0].db_pool:",
     "only windows that run commands"),
])
def test_bad_profiles_name_file_line_and_key(project: Path, text: str, where: str, message: str) -> None:
    path = write_profile(project, text)
    err = str(error_of(project))
    assert str(path) in err
    assert where in err
    assert message in err
    assert err.count("\n") == 0


def test_unknown_profile_name_is_an_error(project: Path) -> None:
    write_profile(project, BASE)
    err = str(error_of(project, "defualt"))
    assert "profile 'defualt' not found" in err
    assert "did you mean 'default'" in err


def test_user_profile_extends_default_and_is_picked_by_login_name(project: Path, monkeypatch) -> None:
    write_profile(project, BASE)
    write_profile(project, """\
extends: default
env: {PORT: "4000"}
windows:
  - name: worker
    enabled: false
  - name: server
    env: {DEBUG: "1"}
  - name: tests
    command: npm test
""", name="alice")
    monkeypatch.setenv("USER", "alice")
    profile = load(project)
    assert profile.name == "alice"
    assert [w.name for w in profile.windows] == ["server", "tests"]
    assert profile.windows[0].command == "npm run dev"  # inherited
    assert profile.windows[0].env == {"NODE_ENV": "development", "DEBUG": "1"}
    resolved = resolve(profile, project, environ={})
    # interpolation after merging: the child's PORT changes the parent's API_URL
    assert resolved.env["API_URL"] == "http://localhost:4000/api"
    monkeypatch.setenv("USER", "bob")
    assert load(project).name == "default"


def test_extends_cycle_is_an_error(project: Path) -> None:
    write_profile(project, "extends: b\nwindows: [{name: a}]\n", name="a")
    write_profile(project, "extends: a\nwindows: [{name: a}]\n", name="b")
    err = str(error_of(project, "a"))
    assert "extends cycle: a -> b -> a" in err
    assert "b.yaml:1" in err


def test_project_default_may_extend_the_user_default(project: Path, home: Path) -> None:
    user = home / ".config" / "devenv"
    user.mkdir(parents=True)
    (user / "default.yaml").write_text("env: {FROM_USER: yes}\nwindows: [{name: shell}]\n")
    write_profile(project, "extends: default\nwindows: [{name: app, command: x}]\n")
    profile = load(project)
    assert [w.name for w in profile.windows] == ["shell", "app"]
    assert profile.env == {"FROM_USER": "true"}


def test_layered_environment_precedence(project: Path) -> None:
    (project / ".env").write_text("A=from-env\nB=from-env\nC=from-env\nURL=postgres://u:pw@h/${C}\n")
    (project / ".env.local").write_text("B=from-local\n")
    write_profile(project, """\
env: {C: from-profile}
windows:
  - name: w
    env: {D: "${B}-${C}-${A}", PATH: "${PATH}:/extra"}
""")
    resolved = resolve(load(project), project, environ={"A": "own", "Z": "own", "PATH": "/bin"})
    env = resolved.window_env("w")
    assert env["Z"] == "own"
    assert env["A"] == "from-env"
    assert env["B"] == "from-local"
    assert env["C"] == "from-profile"
    assert env["D"] == "from-local-from-profile-from-env"
    assert env["PATH"] == "/bin:/extra"
    assert env["URL"] == "postgres://u:pw@h/from-profile"
    assert "pw" not in resolved.mask("postgres://u:pw@h/x and pw")


def test_defaults_and_reference_cycles(project: Path) -> None:
    write_profile(project, """\
env:
  HOST: "${DB_HOST:-localhost}"
  EMPTY: ""
  X: "${EMPTY:-fallback} ${EMPTY-kept} $${LITERAL}"
windows: [{name: w}]
""")
    env = resolve(load(project), project, environ={}).env
    assert env["HOST"] == "localhost"
    assert env["X"] == "fallback  ${LITERAL}"
    write_profile(project, "env:\n  A: ${B}\n  B: ${A}\nwindows: [{name: w}]\n")
    with pytest.raises(ProfileError, match="variable reference cycle") as info:
        resolve(load(project), project, environ={})
    assert ":2:" in str(info.value)


def test_bad_env_file_line_is_named(project: Path) -> None:
    (project / ".env").write_text("GOOD=1\nthis is not an assignment\n")
    write_profile(project, "windows: [{name: w}]\n")
    with pytest.raises(ProfileError) as info:
        resolve(load(project), project, environ={})
    assert f"{project / '.env'}:2:" in str(info.value)


def test_root_and_cwd_are_interpolated(project: Path) -> None:
    (project / "apps" / "web").mkdir(parents=True)
    write_profile(project, "root: ${ROOTDIR:-apps}\nwindows: [{name: w, cwd: '${SUB}'}]\nenv: {SUB: web}\n")
    resolved = resolve(load(project), project, environ={})
    window = resolved.profile.windows[0]
    assert resolved.pane_cwd(window, window.pane_specs()[0]) == project / "apps" / "web"


def test_db_pool_is_a_number_or_an_interpolated_one(project: Path, tmp_path: Path) -> None:
    from devenv.profile.dump import to_dict

    write_profile(project, "env: {POOL: '7', BAD: lots}\nwindows:\n  - {name: a, command: x, db_pool: 5}\n"
                           "  - {name: b, panes: [x, y], db_pool: '${POOL}'}\n  - {name: c, command: x}\n"
                           "  - {name: d, command: x, db_pool: '${BAD}'}\n")
    profile = load(project)
    assert [w.db_pool for w in profile.windows] == ["5", "${POOL}", None, "${BAD}"]
    with pytest.raises(ProfileError) as info:
        resolve(profile, project, environ={})
    assert "windows.d.db_pool" in str(info.value) and "'lots'" in str(info.value)
    write_profile(project, "env: {POOL: '7'}\nwindows:\n  - {name: a, command: x, db_pool: 5}\n"
                           "  - {name: b, panes: [x, y], db_pool: '${POOL}'}\n  - {name: c, command: x, db_pool: 0}\n")
    resolved = resolve(load(project), project, environ={})
    assert [w.pool_size for w in resolved.profile.windows] == [5, 7, 0]
    assert [w.get("db_pool") for w in to_dict(load(project))["windows"]] == [5, "${POOL}", 0]


# Any YAML text gives a profile or a clean ProfileError, never another exception.
yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
yaml_values = st.recursive(yaml_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.sampled_from(["name", "command", "windows", "env", "panes", "extends", "ready", "after",
                                     "port", "session", "requires", "ports", "layout", "restart", "x"]),
                    children, max_size=5)), max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_text_gives_a_profile_or_a_profile_error(project: Path, text: str) -> None:
    _load_text(project, text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=yaml_values)
def test_any_yaml_structure_gives_a_profile_or_a_profile_error(project: Path, data: object) -> None:
    import yaml

    _load_text(project, yaml.safe_dump(data))


def _load_text(project: Path, text: str) -> None:
    path = project / ".devenv" / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass") if "\ud800" not in text else None
    if not path.exists():
        return
    try:
        profile = load_file(path, project)
        resolve(profile, project, environ={})
    except ProfileError as exc:
        assert str(exc) and "\n" not in str(exc).strip()


def test_the_parse_cache_is_used_and_never_stale(project: Path, home: Path) -> None:
    path = write_profile(project, "session: one\nwindows: [{name: a}]\n")
    assert load(project).session == "one"
    cached = list((home / ".cache" / "devenv" / "yaml").glob("*.marshal"))
    assert len(cached) == 1
    assert load(project).session == "one"  # read back from the cache
    path.write_text("session: two\nwindows: [{name: a}]\n")  # same length, other text
    assert load(project).session == "two"
    path.write_text("session: two\nwindows: [{name: a}, {name: a}]\n")
    with pytest.raises(ProfileError, match="duplicate window name"):
        load(project)
