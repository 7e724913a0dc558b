"""Masking of secrets in everything devenv prints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "****"
_SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL", re.I)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)(?P<pw>[^@/\s]+)(?P<at>@)")


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def mask_url(text: str) -> str:
    """Replace the password part of every URL in ``text``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}", text)


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
        for m in _URL_PASSWORD.finditer(value):
            found.add(m["pw"])
    return found


class Masker:
    """Masks known secret values and URL passwords in any text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # longest first so that a secret containing another is masked whole
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return mask_url(text)
