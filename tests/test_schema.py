"""The JSON Schema agrees with the loader: what loads validates, what the loader rejects for a
reason a schema can express does not validate."""

from __future__ import annotations

import ast
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devenv.errors import ProfileError
from devenv.profile.load import load_file
from devenv.profile.schema import schema
from devenv.profile.validate import WINDOW_KEYS
from tests.conftest import REPO, Devenv

jsonschema = pytest.importorskip("jsonschema")
VALIDATOR = jsonschema.Draft7Validator(schema())


@pytest.fixture(autouse=True)
def _isolated(home: Path) -> None:
    """Every test gets its own HOME and XDG folders."""


def loads(project: Path, text: str) -> bool:
    path = project / ".devenv" / "candidate.yaml"
    path.write_text(text)
    try:
        load_file(path, project)
    except ProfileError:
        return False
    return True


def valid(text: str) -> bool:
    return VALIDATOR.is_valid(yaml.safe_load(text))


def why(text: str) -> str:
    return "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(
        yaml.safe_load(text)))


def test_schema_command_prints_a_valid_draft7_schema(tmp_path: Path) -> None:
    result = Devenv(tmp_path, None)("schema")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    jsonschema.Draft7Validator.check_schema(data)
    assert data == json.loads(json.dumps(schema()))
    assert data["additionalProperties"] is False


def test_schema_knows_exactly_the_loaders_keys() -> None:
    """A key added to the loader must be added to the schema (and the other way round)."""
    from devenv.profile import model, validate

    props = schema()["properties"]
    window = props["windows"]["items"]
    pane = next(a for a in window["properties"]["panes"]["items"]["anyOf"] if a.get("type") == "object")
    probe = window["properties"]["ready"]
    requires = props["requires"]
    assert tuple(props) == validate.TOP_KEYS
    assert tuple(window["properties"]) == validate.WINDOW_KEYS
    assert tuple(pane["properties"]) == validate.PANE_KEYS
    assert tuple(probe["properties"]) == validate.PROBE_KEYS
    assert tuple(requires["properties"]) == validate.REQUIRES_KEYS
    assert set(window["properties"]["layout"]["anyOf"][0]["enum"]) == set(model.LAYOUTS)
    for part in (schema(), window, pane, probe, requires):
        assert part["additionalProperties"] is False


VALID = [
    "windows: [{name: a}]",
    "windows: [{name: a, command: x}]",
    "windows: [{name: 7, command: 42}]",
    "extends: default\n",
    "extends: default\nenv: {A: '1'}\n",
    "session: my-app\nroot: app\nenv_files: .env.dev\nwindows: [{name: a, command: x, cwd: null, layout: null}]",
    "env_files: []\nwindows: [{name: a, command: null}]",
    "env: {A: 1, B: true, C: null, D: '${A:-x}', _e: x}\nwindows: [{name: a}]",
    "windows: [{name: a, panes: [x, null, 3, '', {}, {command: y, cwd: sub, env: {K: v}}, {command: null}]}]",
    "windows: [{name: a, panes: [x, y], layout: tiled}, {name: b, layout: 'ac9d,200x50,0,0,0'}]",
    "windows: [{name: a, ready: {port: 3000}}, {name: b, ready: {port: '${PORT:-3000}', timeout: 5, interval: 0.1},"
    " after: a}, {name: c, after: [a, b], ready: {port: '08080'}}]",
    "windows: [{name: a, ready: {http: 'http://localhost/'}}, {name: b, ready: {log: 'ready in \\d+'}},"
    " {name: c, ready: {command: 'true'}}, {name: d, ready: {database: DATABASE_URL}}]",
    "windows: [{name: a, restart: no}, {name: b, restart: on-failure, max_restarts: 0},"
    " {name: c, restart: always}, {name: d, restart: yes}, {name: e, restart: 'no'}]",
    "windows: [{name: a, db: DATABASE_URL}, {name: b, logs: 'x.log'}, {name: c, logs: [a, b]},"
    " {name: d, db: null, command: x}]",
    "windows: [{name: a, enabled: false}, {name: b, focus: true, env: {}}]",
    "windows: [{name: a, command: [x, y]}, {name: b, interactive: true, panes: [[x], [y, 3], null,"
    " {command: [a, b], focus: true, title: t, interactive: false}]}]",
    "options: {status-left: '#S', mouse: true, base-index: 1, 'status-format[1]': x, '@x': 2,"
    " automatic-rename: off}\nwindows: [{name: a, options: {main-pane-height: 7, '@y': y, window-style: 'bg=red'}}]",
    "hooks: {before_up: ./setup.sh, after_down: [a, b]}\nwindows: [{name: a}]",
    "hooks: {before_up: null}\nwindows: [{name: a}]",
    "windows: [{name: a, command: x, db_pool: 5}, {name: b, panes: [x, y], db_pool: '${POOL}'},"
    " {name: c, db_pool: 0}, {name: d, db_pool: ' 3 '}, {name: e, db_pool: null, db: X}]",
    "requires: {commands: [node, 'node>=18', 'python3 >= 3.10', pg_dump], env: [A, B_1], ports: [1, 65535, '80', ' 81 ', '${PORT}'],"
    " files: [x, {path: y}, {path: z, hint: do it}], database: DIRECT_URL,"
    " checks: [{name: n, run: 'true'}, {name: m, run: x, hint: h}]}\nwindows: [{name: a}]",
]

INVALID = [
    # unknown keys, at every level
    "sesion: x\nwindows: [{name: a}]",
    "windows: [{name: a, comand: x}]",
    "windows: [{name: a, panes: [{command: x, cmd: y}]}]",
    "windows: [{name: a, ready: {port: 1, timout: 5}}]",
    "requires: {command: [x]}\nwindows: [{name: a}]",
    "requires: {files: [{path: x, why: y}]}\nwindows: [{name: a}]",
    "requires: {checks: [{name: x, run: y, when: z}]}\nwindows: [{name: a}]",
    # wrong types
    "windows: {name: a}",
    "windows: [a, b]",
    "windows: [{name: a, command: true}]",
    "windows: [{name: a, command: []}]",
    "windows: [{name: a, command: [x, '']}]",
    "windows: [{name: a, command: [x, [y]]}]",
    "windows: [{name: a, cwd: [x]}]",
    "windows: [{name: a, env: [A=1]}]",
    "windows: [{name: a, env: {A: [1]}}]",
    "windows: [{name: a, focus: 'yes please'}]",
    "windows: [{name: a, enabled: 1}]",
    "windows: [{name: a, panes: x}]",
    "windows: [{name: a, panes: [true]}]",
    "windows: [{name: a, panes: [[]]}]",
    "windows: [{name: a, panes: [{focus: yes please}]}]",
    "windows: [{name: a, panes: [{title: ''}]}]",
    "windows: [{name: a, interactive: 1}]",
    "windows: [{name: a, db: X, interactive: true}]",
    "windows: [{name: a, options: {mouse: on}}]",
    "windows: [{name: a, options: [x]}]",
    "options: {escape-time: 0}\nwindows: [{name: a}]",
    "options: {no-such-option: 0}\nwindows: [{name: a}]",
    "options: {status-left: null}\nwindows: [{name: a}]",
    "options: {'mouse[0]': on}\nwindows: [{name: a}]",
    "hooks: {before_up: [x], after_up: [y]}\nwindows: [{name: a}]",
    "hooks: {before_up: ''}\nwindows: [{name: a}]",
    "hooks: [x]\nwindows: [{name: a}]",
    "windows: [{name: a, panes: [{cwd: null}]}]",
    "windows: [{name: a, max_restarts: -1}]",
    "windows: [{name: a, max_restarts: many}]",
    "windows: [{name: a, max_restarts: true}]",
    "windows: [{name: a, after: null}]",
    "windows: [{name: a, db_pool: -1}]",
    "windows: [{name: a, db_pool: many}]",
    "windows: [{name: a, db_pool: true}]",
    "windows: [{name: a, db_pool: 2.5}]",
    "windows: [{name: a, db_pool: ''}]",
    "windows: [{name: a, db: DATABASE_URL, db_pool: 1}]",
    "windows: [{name: a, logs: [x], db_pool: 0}]",
    "windows: [{name: a, logs: []}]",
    "windows: [{name: a, logs: null}]",
    "env: [A]\nwindows: [{name: a}]",
    "env_files: null\nwindows: [{name: a}]",
    "session: [x]\nwindows: [{name: a}]",
    "root: ''\nwindows: [{name: a}]",
    "extends: ''\n",
    "extends: ../x\n",
    "extends: .hidden\n",
    "requires: {commands: node}\nwindows: [{name: a}]",
    "requires: {commands: ['node >= eighteen']}\nwindows: [{name: a}]",
    "requires: {env: [1BAD]}\nwindows: [{name: a}]",
    "requires: {env: [A-B]}\nwindows: [{name: a}]",
    "requires: {ports: [0]}\nwindows: [{name: a}]",
    "requires: {ports: [70000]}\nwindows: [{name: a}]",
    "requires: {ports: [eighty]}\nwindows: [{name: a}]",
    "requires: {ports: ['70000']}\nwindows: [{name: a}]",
    "requires: {files: [{hint: x}]}\nwindows: [{name: a}]",
    "requires: {checks: [{name: x}]}\nwindows: [{name: a}]",
    # missing window name, bad names
    "windows: [{command: x}]",
    "windows: [{name: ''}]",
    "windows: [{name: '  '}]",
    "windows: [{name: \"a\\tb\"}]",
    "windows: [{name: null}]",
    "session: 'a:b'\nwindows: [{name: a}]",
    "session: a.b\nwindows: [{name: a}]",
    "env: {BAD-NAME: x}\nwindows: [{name: a}]",
    "env: {1A: x}\nwindows: [{name: a}]",
    # bad restart policy
    "windows: [{name: a, restart: sometimes}]",
    "windows: [{name: a, restart: 1}]",
    "windows: [{name: a, restart: null}]",
    # bad probes
    "windows: [{name: a, ready: {}}]",
    "windows: [{name: a, ready: {port: 1, http: 'http://x'}}]",
    "windows: [{name: a, ready: {port: 0}}]",
    "windows: [{name: a, ready: {port: 65536}}]",
    "windows: [{name: a, ready: {port: abc}}]",
    "windows: [{name: a, ready: {port: true}}]",
    "windows: [{name: a, ready: {port: 1, timeout: 0}}]",
    "windows: [{name: a, ready: {port: 1, interval: -1}}]",
    "windows: [{name: a, ready: {port: 1, timeout: soon}}]",
    "windows: [{name: a, ready: {tcp: 1}}]",
    "windows: [{name: a, ready: 3000}]",
    "windows: [{name: a, ready: null}]",
    "windows: [{name: a, ready: {http: ''}}]",
    # one kind per window
    "windows: [{name: a, command: x, panes: [y]}]",
    "windows: [{name: a, command: x, db: DATABASE_URL}]",
    "windows: [{name: a, logs: [x], db: DATABASE_URL}]",
    "windows: [{name: a, panes: [x], logs: [y]}]",
    "windows: [{name: a, panes: []}]",
    # layouts
    "windows: [{name: a, layout: sideways}]",
    "windows: [{name: a, layout: 'AC9D,200x50'}]",
    # no windows
    "session: x\n",
    "windows: [{name: a, enabled: false}]",
    "windows: []",
]


@pytest.mark.parametrize("text", VALID)
def test_valid_examples_load_and_validate(project: Path, text: str) -> None:
    assert loads(project, text)
    assert valid(text), why(text)


@pytest.mark.parametrize("text", INVALID)
def test_invalid_examples_are_rejected_by_both(project: Path, text: str) -> None:
    assert not loads(project, text)
    assert not valid(text), f"the schema accepts what the loader rejects: {text!r}"


def test_shipped_profiles_validate() -> None:
    shipped = sorted((REPO / "profiles").glob("*.y*ml"))
    assert shipped
    for path in shipped:
        assert VALIDATOR.is_valid(yaml.safe_load(path.read_text())), f"{path}: {why(path.read_text())}"


# --------------------------------------------------------------------------- profiles the tests write


def _value(node: ast.AST, consts: dict[str, str]) -> str | None:
    """The text of a string expression, when it can be worked out without running the test."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _value(node.left, consts), _value(node.right, consts)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [_value(v, consts) if not isinstance(v, ast.FormattedValue) else "1" for v in node.values]
        return "".join(p for p in parts if p is not None) if None not in parts else None
    if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "dedent":
        inner = _value(node.args[0], consts) if node.args else None
        return textwrap.dedent(inner) if inner is not None else None
    return None


def _harvest() -> list[tuple[str, str]]:
    """Profile texts written by the test suite: string literals, module constants, ``A + B``, f-strings
    (each placeholder read as ``1``), ``dedent(...)``."""
    found: list[tuple[str, str]] = []
    for path in sorted((REPO / "tests").glob("test_*.py")):
        tree = ast.parse(path.read_text())
        consts: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                text = _value(node.value, consts)
                if text is not None:
                    consts[node.targets[0].id] = text
        candidates = list(consts.values())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "write_profile" and len(node.args) >= 2:
                text = _value(node.args[1], consts)
                if text is not None:
                    candidates.append(text)
        for text in candidates:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and ("windows" in data or "extends" in data):
                found.append((path.name, text))
    return found


def test_every_profile_the_tests_write_that_loads_validates(project: Path) -> None:
    harvested = _harvest()
    assert len(harvested) >= 10  # the suite writes many profiles; the harvest must find them
    checked = 0
    for origin, text in harvested:
        if loads(project, text):
            checked += 1
            assert valid(text), f"{origin}: {text!r}: {why(text)}"
    assert checked >= 5


def test_init_and_import_outputs_validate(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(REPO / "tests" / "fixtures" / "nextjs-prisma", app, copy_function=shutil.copyfile)
    for folder in [app, *app.rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o755)
    assert Devenv(app, None)("init").code == 0
    text = (app / ".devenv" / "default.yaml").read_text()
    assert valid(text), why(text)
    assert json.loads((app / ".devenv" / "profile.schema.json").read_text()) == json.loads(json.dumps(schema()))


# --------------------------------------------------------------------------- generated windows

_VALUES = st.sampled_from([
    None, True, False, 0, 1, -1, 2.5, "", " ", "x", "no", "always", "on-failure", "tiled", "sideways",
    "ac9d,200x50,0,0,0", "DATABASE_URL", [], ["x"], [None], [True], ["x", "y"], {}, {"command": "x"},
    {"A": "1"}, {"bad-key": 1}, {"port": 3000}, {"port": 0}, {"http": "http://x", "port": 1}, [{"command": "x"}],
])
_KEYS = st.sampled_from([k for k in WINDOW_KEYS if k not in ("name", "after")] + ["bogus"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(window=st.dictionaries(_KEYS, _VALUES, max_size=4), named=st.booleans())
def test_schema_and_loader_agree_on_generated_windows(project: Path, window: dict[str, Any], named: bool) -> None:
    if named:
        window = {"name": "w", **window}
    text = yaml.safe_dump({"windows": [window]})
    assert loads(project, text) == valid(text), f"{text!r}: loader {loads(project, text)}, schema: {why(text)}"
