"""What adoption produces: a profile's text with notes, checked to load, written without clobbering."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from devenv.errors import DevenvError
from devenv.profile.load import load_file
from devenv.profile.model import Profile
from devenv.tuples import NamedTuple

SCHEMA_FILE = "profile.schema.json"
SCHEMA_HEADER = f"yaml-language-server: $schema=./{SCHEMA_FILE}"


class Written(NamedTuple):
    """A profile ready to print or write, and what the user should know about it."""

    text: str
    notes: tuple[str, ...]
    windows: tuple[str, ...]
    mask: Callable[[str], str] | None = None  # masks the known secret values when printed


def check_loads(text: str, project: Path, name: str = "default") -> Profile:
    """Load ``text`` as the profile would be loaded: proof that what we write is valid."""
    with tempfile.TemporaryDirectory(prefix="devenv-") as tmp:
        path = Path(tmp) / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return load_file(path, project, name)


def write_new(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``path`` (atomically), refusing to replace an existing file unless ``force``."""
    if path.exists() and not force:
        raise DevenvError(f"{path} already exists; not overwriting it", hint="add --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
