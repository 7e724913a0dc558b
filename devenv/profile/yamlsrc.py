"""YAML to plain Python values, remembering the line of every key.

PyYAML's node graph carries start marks; we convert it ourselves so that every
later error can name ``file:line``. Duplicate keys, recursive aliases, several
documents and non-string keys are errors here rather than silent surprises.
"""

from __future__ import annotations

import os
from pathlib import Path

from devenv import __version__
from devenv.errors import ProfileError
from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

Key = tuple[str | int, ...]  # a key path such as ("windows", 2, "name")
MAX_DEPTH = 64
MAX_BYTES = 1 << 20  # a profile or .env file: real ones are a few KiB
MAX_VALUES = 100_000  # values after aliases are expanded: a "billion laughs" stops here
CACHE_ENTRIES = 64  # parses kept; older ones are removed


class Source:
    """A parsed YAML file: its data and the 1-based line of each key path."""

    __slots__ = ("file", "data", "lines", "duplicates")

    def __init__(self, file: Path, data: Any, lines: dict[Key, int] | None = None) -> None:
        self.file = file
        self.data = data
        self.lines: dict[Key, int] = {} if lines is None else lines
        self.duplicates: list[Key] = []  # keys given twice (lenient parses only: the last one is kept)

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


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """A profile or .env file's text: a regular file of at most ``limit`` bytes, in UTF-8.

    Anything else (a directory, a FIFO, a device, a link to nothing, too large, unreadable,
    not UTF-8) is a ProfileError naming the file, raised at once: nothing here can block or
    read without end.
    """
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        what = "a link to a file that does not exist" if os.path.islink(path) else "not found"
        raise ProfileError(what, file=path) from None
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror}", file=path) from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe" if stat.S_ISFIFO(st.st_mode) else (
            "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
        raise ProfileError(f"{kind}, not a file devenv can read", file=path)
    if st.st_size > limit:
        raise ProfileError(f"too large: {st.st_size / 1048576:.1f} MiB (at most {limit // 1048576} MiB)", file=path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror}", file=path) from None
    if len(data) > limit:
        raise ProfileError(f"too large (at most {limit // 1048576} MiB)", file=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError("not UTF-8 text", file=path) from None


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
# A profile that has not changed is read back from a marshal file instead, named by the
# start of the text's SHA-256 and verified against all of it (never stale; CPython's own
# sha256, not hashlib's OpenSSL, ~7 ms to load, nor zlib for a checksum). The parse may hold secrets written in the
# profile: the files are 0600 in a 0700 folder, and only the last CACHE_ENTRIES parses
# are kept (the text itself, comments and all, never).


_CACHE_FORMAT = f"{__version__}-2"


def _digests(text: str) -> tuple[Path, bytes]:
    from devenv.names import sha256
    from devenv.paths import cache_home

    raw = text.encode("utf-8", "surrogatepass")
    digest = sha256(raw).digest()
    # the parser's version is part of the name: a devenv upgrade never reads an older parse
    name = f"{digest[:4].hex()}-{len(text)}-{_CACHE_FORMAT}.marshal"
    return cache_home() / "yaml" / name, digest


def _cache_get(text: str) -> tuple[Any, dict[Key, int]] | None:
    import marshal

    path, digest = _digests(text)
    try:
        cached_digest, data, lines = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return (data, lines) if cached_digest == digest else None


def _cache_put(text: str, source: Source) -> None:
    import marshal

    from devenv.paths import private_file

    path, digest = _digests(text)
    try:
        private_file(path, marshal.dumps((digest, source.data, source.lines)))
        entries = sorted(path.parent.glob("*.marshal"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[CACHE_ENTRIES:]:
            old.unlink(missing_ok=True)
    except (OSError, ValueError):  # unmarshallable values (dates), read-only home: no cache
        return


def parse_foreign(text: str, file: Path) -> Source:
    """Parse another tool's YAML (tmuxinator, tmuxp) as that tool reads it: a null key stays None (its
    path says ``~``), a key given twice keeps its last value (listed in ``duplicates``). Not cached."""
    return _parse(text, file, lenient=True)


def _parse(text: str, file: Path, lenient: bool = False) -> Source:
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        source = Source(file, None)
        if node is not None:
            source.data = _convert(loader, node, (), source, 0, lenient=lenient)
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


def _convert(loader: Any, node: Any, path: Key, source: Source, depth: int, budget: list[int] | None = None,
             lenient: bool = False) -> Any:
    import yaml

    budget = budget if budget is not None else [MAX_VALUES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ProfileError(f"more than {MAX_VALUES} values (an alias expanding without end?)", file=source.file,
                           line=node.start_mark.line + 1, key=dotted(path) or None)
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
        return [_convert(loader, item, path + (i,), source, depth + 1, budget, lenient)
                for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ProfileError("a key must be a plain string", file=source.file, line=line,
                                   key=dotted(path) or None)
            key = loader.construct_object(key_node)
            if (key is None and not lenient) or isinstance(key, (list, dict)):
                raise ProfileError("a key must be a plain string", file=source.file, line=line,
                                   key=dotted(path) or None)
            if key is not None:
                key = str(key) if not isinstance(key, bool) else ("true" if key else "false")
            step = "~" if key is None else key
            if key in result:
                if not lenient:
                    raise ProfileError(f"duplicate key {key!r}", file=source.file, line=line,
                                       key=dotted(path) or None)
                source.duplicates.append(path + (step,))
            source.lines[path + (step,)] = line
            result[key] = _convert(loader, value_node, path + (step,), source, depth + 1, budget, lenient)
        return result
    raise ProfileError("unsupported YAML node", file=source.file, line=node.start_mark.line + 1)
