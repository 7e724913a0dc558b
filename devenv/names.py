"""What a name may be: environment variable names, and how any name becomes a file name."""

from __future__ import annotations

import re

from devenv.tuples import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import _Hash

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def is_env_name(text: str) -> bool:
    """A variable name (``DATABASE_URL``), as opposed to a URL or any other value."""
    return bool(ENV_NAME.match(text))


def quote(text: str) -> str:
    """Percent-encode everything but letters, digits and ``_.-~`` (as urllib.parse.quote(safe=""))."""
    return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def unquote(text: str) -> str:
    """The inverse of :func:`quote`."""
    out = bytearray()
    i = 0
    while i < len(text):
        chunk = text[i + 1:i + 3]
        if text[i] == "%" and len(chunk) == 2 and all(c in "0123456789abcdefABCDEF" for c in chunk):
            out.append(int(chunk, 16))
            i += 3
        else:
            out += text[i].encode()
            i += 1
    return out.decode(errors="replace")


def sha256(data: bytes = b"") -> _Hash:
    """A SHA-256 hash object (``update``, ``hexdigest``), from CPython's own module when it has one:
    ``hashlib`` loads OpenSSL first, ~7 ms of every devenv run that digests anything."""
    try:
        from _sha256 import sha256 as new  # type: ignore[import-not-found]  # CPython 3.11
    except ImportError:
        try:
            from _sha2 import sha256 as new  # type: ignore[import-not-found]  # CPython 3.12+
        except ImportError:
            from hashlib import sha256 as new
    return new(data)  # type: ignore[no-any-return]
