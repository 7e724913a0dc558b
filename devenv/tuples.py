"""``NamedTuple`` for devenv's records, and ``TYPE_CHECKING``, without importing :mod:`typing`.

Every command pays for what it imports before it does anything: on a small machine ``typing``
costs ~3-5 ms (it imports ``re`` and ``enum`` too), and each ``class X(typing.NamedTuple)`` with
postponed annotations compiles one ForwardRef per field (~0.1 ms a class; ``up`` defines ~30).
Here a class statement builds the class ``typing.NamedTuple`` builds (as of Python 3.10-3.12:
no ``__set_name__`` calls, which no record needs): :func:`collections.namedtuple` with the fields
in their order, their defaults, the docstring, the annotations (as written, which is why a module
of records needs ``from __future__ import annotations``) and every method and property of the
class body. Type checkers see ``typing.NamedTuple`` itself (mypy treats any
name ``TYPE_CHECKING`` as true), so the records are checked exactly as before.

``tests/test_tuples.py`` holds it to ``typing.NamedTuple``'s behaviour; ``tests/test_imports.py``
keeps ``typing`` off ``up``'s path.
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    import collections

    # what typing.NamedTuple refuses to let a class body overwrite, and what it does not copy
    _PROHIBITED = frozenset({"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"})
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__", "__qualname__", "__classcell__"})

    class _NamedTupleMeta(type):
        def __new__(mcs, typename, bases, ns):
            if ns.get("_devenv_base"):  # NamedTuple itself, below
                return super().__new__(mcs, typename, bases, ns)
            if bases != (NamedTuple,):
                raise TypeError("a record can only inherit from NamedTuple")
            if "__annotations__" not in ns and "__annotate__" in ns:  # Python 3.14's lazy annotations
                raise TypeError(f"{typename}: a module of records needs `from __future__ import annotations`")
            annotations = ns.get("__annotations__", {})
            defaults = []
            for field in annotations:
                if field in ns:
                    defaults.append(ns[field])
                elif defaults:
                    raise TypeError(f"non-default field {field!r} follows a default field in {typename}")
            cls = collections.namedtuple(typename, list(annotations), defaults=defaults, module=ns["__module__"])
            cls.__annotations__ = dict(annotations)
            cls.__qualname__ = ns.get("__qualname__", typename)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in annotations:
                    setattr(cls, key, value)
            return cls

    class NamedTuple(metaclass=_NamedTupleMeta):
        """Base of a record: ``class Point(NamedTuple): x: int; y: int = 0``."""

        _devenv_base = True
