"""devenv.tuples.NamedTuple builds what typing.NamedTuple builds (the records of every module)."""

from __future__ import annotations

import pickle
import typing

import pytest

from devenv.tuples import NamedTuple


def define(base: type) -> type:
    class Point(base):  # type: ignore[valid-type,misc]
        """A point."""

        x: int
        y: int = 0
        label: str | None = None

        @property
        def norm(self) -> int:
            return abs(self.x) + abs(self.y)

        def moved(self, dx: int) -> Point:
            return self._replace(x=self.x + dx)

    return Point


OURS, THEIRS = define(NamedTuple), define(typing.NamedTuple)


def test_the_same_class() -> None:
    for cls in (OURS, THEIRS):
        p = cls(1, label="a")
        assert p == (1, 0, "a") and p.norm == 1 and p.moved(2) == (3, 0, "a")
        assert cls._fields == ("x", "y", "label") and cls._field_defaults == {"y": 0, "label": None}
        assert cls.__doc__ == "A point." and cls.__name__ == "Point" and cls.__module__ == __name__
        assert cls.__qualname__ == "define.<locals>.Point" and p._asdict() == {"x": 1, "y": 0, "label": "a"}
        assert list(cls.__annotations__) == ["x", "y", "label"] and isinstance(p, tuple)
        assert repr(p) == "Point(x=1, y=0, label='a')" and cls._make([2, 3, None]).norm == 5
    assert OURS.__annotations__ == {"x": "int", "y": "int", "label": "str | None"}


def test_records_pickle_and_compare_like_tuples() -> None:
    from devenv.profile.model import Probe

    probe = Probe("port", "3000")
    assert pickle.loads(pickle.dumps(probe)) == probe and probe == ("port", "3000", 60.0, 0.5)


def test_what_typing_refuses_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default field 'b' follows a default field"):
        class Bad(NamedTuple):
            a: int = 0
            b: int
    with pytest.raises(AttributeError, match="_replace"):
        class Overwrites(NamedTuple):
            a: int

            def _replace(self) -> None: ...
    with pytest.raises(TypeError):
        class Mixed(NamedTuple, dict):  # type: ignore[misc]
            a: int


def test_no_typing_at_import() -> None:
    import subprocess
    import sys

    code = "import sys, devenv.profile.model, devenv.session.plan; print('typing' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
