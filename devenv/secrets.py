"""Masking of secrets in everything devenv prints.

Linear in the text's length whatever it holds: URL passwords are found by scanning from each
``://`` (no backtracking regular expression), known secret values by one alternation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "****"
# a key naming a secret: the words anywhere, or the short ones as a whole part (DB_PASS, API_PWD, BASIC_AUTH)
_SECRET_KEY = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIAL|COOKIE|PRIVATE"
    r"|(?:^|_)(?:PASS|PW|AUTH|AUTHORIZATION|SIGNATURE|SALT|DSN)(?:$|_)|_PWD$", re.I)
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_USER_STOP = frozenset(":/?#@")
_PW_STOP = frozenset("@/")


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def url_passwords(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every password in ``scheme://user:password@`` URLs in ``text``."""
    spans: list[tuple[int, int]] = []
    i = text.find("://")
    while i != -1:
        start = i
        while start > 0 and text[start - 1] in _SCHEME_CHARS:
            start -= 1
        has_scheme = any(c.isalpha() for c in text[start:i])
        j = i + 3
        while j < len(text) and text[j] not in _USER_STOP and not text[j].isspace():
            j += 1
        if has_scheme and j < len(text) and text[j] == ":":
            k = j + 1
            while k < len(text) and text[k] not in _PW_STOP and not text[k].isspace():
                k += 1
            if k < len(text) and text[k] == "@" and k > j + 1:
                spans.append((j + 1, k))
        i = text.find("://", max(j, i + 3))
    return spans


def mask_url(text: str) -> str:
    """Replace the password part of every URL in ``text``."""
    if "://" not in text:
        return text
    out, last = [], 0
    for start, end in url_passwords(text):
        out += [text[last:start], MASK]
        last = end
    out.append(text[last:])
    return "".join(out)


def mask_value(key: str, value: str) -> str:
    if is_secret_key(key) and value:
        return MASK
    return mask_url(value)


def secret_values(env: Mapping[str, str]) -> set[str]:
    """Every secret-looking value in ``env``: whole values of secret keys, URL passwords."""
    found: set[str] = set()
    for key, value in env.items():
        if not value:
            continue
        if is_secret_key(key) and len(value) >= 3:
            found.add(value)
        found.update(value[s:e] for s, e in url_passwords(value))
    return found


class Masker:
    """Masks known secret values and URL passwords in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # longest first, so that a secret holding another is masked whole
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return mask_url(text)
