"""Which windows and tasks a command line names: exact names or shell-style globs (``'worker*'``),
what they need through ``after:``, and what an unknown name probably meant."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from devenv.errors import UsageError
from devenv.profile.model import Profile


def expand(profile: Profile, patterns: Sequence[str], what: str = "window") -> tuple[str, ...]:
    """The names ``patterns`` match, in profile order, each once; UsageError for one matching none."""
    names = [w.name for w in profile.windows]
    chosen: dict[str, None] = {}
    for pattern in patterns:
        if pattern in names:
            chosen[pattern] = None
            continue
        matched = [n for n in names if _is_glob(pattern) and fnmatch.fnmatchcase(n, pattern)]
        if not matched:
            raise UsageError(f"unknown {what} {pattern!r}{suggest(pattern, names)}")
        chosen.update(dict.fromkeys(matched))
    order = {n: i for i, n in enumerate(names)}
    return tuple(sorted(chosen, key=order.__getitem__))


def needs(profile: Profile, names: Iterable[str]) -> tuple[str, ...]:
    """``names`` and everything they wait for through ``after:``, transitively, in profile order."""
    todo, found = list(names), set()
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        window = profile.window(name)
        todo.extend(window.after if window is not None else ())
    return tuple(w.name for w in profile.windows if w.name in found)


def dependents(profile: Profile, names: Iterable[str]) -> tuple[str, ...]:
    """Every window or task that waits for ``names`` through ``after:``, transitively (not ``names``)."""
    wanted, changed = set(names), True
    found: set[str] = set()
    while changed:
        changed = False
        for w in profile.windows:
            if w.name not in found and w.name not in wanted and any(d in wanted | found for d in w.after):
                found.add(w.name)
                changed = True
    return tuple(w.name for w in profile.windows if w.name in found)


def only(profile: Profile, names: Iterable[str]) -> Profile:
    """The profile with just the windows and tasks ``names``."""
    keep = set(names)
    return profile._replace(windows=tuple(w for w in profile.windows if w.name in keep))


def suggest(word: str, names: Sequence[str]) -> str:
    """`` (did you mean 'worker1', 'worker2' or the glob 'worker*'?)``, or the names there are."""
    from devenv.profile.validate import close_matches

    starting = [n for n in names if n.startswith(word) and n != word]
    if len(starting) > 1:
        shown = ", ".join(repr(n) for n in starting[:4]) + (", ..." if len(starting) > 4 else "")
        return f" (did you mean {shown}, or all of them: {word + '*'!r}?)"
    close = starting or close_matches(word, names, n=3)
    if close:
        return f" (did you mean {' or '.join(repr(n) for n in close)}?)"
    return f" (there are: {', '.join(names)})" if names else ""


def _is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")
