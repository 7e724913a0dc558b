"""YAML to plain Python values, remembering the line of every key.

PyYAML's node graph carries start marks; we convert it ourselves so that every
later error can name ``file:line``. Duplicate keys, recursive aliases, several
documents and non-string keys are errors here rather than silent surprises.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from devenv import __version__
from devenv.errors import ProfileError

Key = tuple[str | int, ...]  # a key path such as ("windows", 2, "name")
MAX_DEPTH = 64


class Source:
    """A parsed YAML file: its data and the 1-based line of each key path."""

    __slots__ = ("file", "data", "lines")

    def __init__(self, file: Path, data: Any, lines: dict[Key, int] | None = None) -> None:
        self.file = file
        self.data = data
        self.lines: dict[Key, int] = {} if lines is None else lines

    def line(self, path: Key) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def error(self, path: Key, message: str, hint: str | None = None) -> ProfileError:
        return ProfileError(message, file=self.file, line=self.line(path), key=dotted(path) or None, hint=hint)


def read_text(path: Path) -> str:
    """A profile or .env file's text; unreadable or not UTF-8 is a ProfileError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ProfileError("not UTF-8 text", file=path) from None
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror}", file=path) from None


def dotted(path: Key) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _loader_class() -> type:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse(text: str, file: Path) -> Source:
    """Parse ``text`` (the content of ``file``), through the parse cache."""
    cached = _cache_get(text)
    if cached is not None:
        return Source(file, cached[0], cached[1])
    source = _parse(text, file)
    _cache_put(text, source)
    return source


# The parse cache: PyYAML costs ~20 ms to import and parse, on every `devenv` run.
# A profile that has not changed is read back from a marshal file instead
# (keyed by a checksum, verified against the whole text, so it is never stale).


_CACHE_FORMAT = f"{__version__}-1"


def _cache_file(text: str) -> Path:
    import zlib

    from devenv.paths import cache_home

    digest = zlib.crc32(text.encode("utf-8", "surrogatepass"))
    # the parser's version is part of the name: a devenv upgrade never reads an older parse
    return cache_home() / "yaml" / f"{digest:08x}-{len(text)}-{_CACHE_FORMAT}.marshal"


def _cache_get(text: str) -> tuple[Any, dict[Key, int]] | None:
    import marshal

    try:
        cached_text, data, lines = marshal.loads(_cache_file(text).read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return (data, lines) if cached_text == text else None


def _cache_put(text: str, source: Source) -> None:
    import marshal

    path = _cache_file(text)
    try:
        blob = marshal.dumps((text, source.data, source.lines))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(blob)
        tmp.replace(path)
    except (OSError, ValueError):  # unmarshallable values (dates), read-only home: no cache
        return


def _parse(text: str, file: Path) -> Source:
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        source = Source(file, None)
        if node is not None:
            source.data = _convert(loader, node, (), source, 0)
        return source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark is not None and exc.problem:
            what += f" ({exc.context} from line {exc.context_mark.line + 1})"
        raise ProfileError(f"invalid YAML: {what}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise ProfileError(f"invalid YAML: {first}", file=file) from None
    except RecursionError:
        raise ProfileError("invalid YAML: nested too deeply", file=file) from None
    finally:
        loader.dispose()


def _convert(loader: Any, node: Any, path: Key, source: Source, depth: int) -> Any:
    import yaml

    if depth > MAX_DEPTH:
        raise ProfileError("nested too deeply (or a recursive alias)", file=source.file,
                           line=node.start_mark.line + 1, key=dotted(path) or None)
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode):
        try:
            return loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise ProfileError(f"invalid value: {exc}", file=source.file, line=node.start_mark.line + 1,
                               key=dotted(path) or None) from None
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, item, path + (i,), source, depth + 1) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ProfileError("a key must be a plain string", file=source.file, line=line,
                                   key=dotted(path) or None)
            key = loader.construct_object(key_node)
            if key is None or isinstance(key, (list, dict)):
                raise ProfileError("a key must be a plain string", file=source.file, line=line,
                                   key=dotted(path) or None)
            key = str(key) if not isinstance(key, bool) else ("true" if key else "false")
            if key in result:
                raise ProfileError(f"duplicate key {key!r}", file=source.file, line=line,
                                   key=dotted(path) or None)
            source.lines[path + (key,)] = line
            result[key] = _convert(loader, value_node, path + (key,), source, depth + 1)
        return result
    raise ProfileError("unsupported YAML node", file=source.file, line=node.start_mark.line + 1)
