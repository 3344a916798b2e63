"""A short string that a regular expression matches, for schema fields with a `pattern`."""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_C = sre_constants
_CANDIDATES = "a0xA_ -.9z"
_CLASS_OF = {"CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D", "CATEGORY_SPACE": r"\s",
             "CATEGORY_NOT_SPACE": r"\S", "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W"}


def regex_example(pattern: str) -> str | None:
    """The shortest string the pattern's leftmost choices spell, if `re.search` accepts it."""
    try:
        tree = sre_parse.parse(pattern)
        text = _emit(tree)
    except (re.error, ValueError, RecursionError, _Unsupported):
        return None
    return text if re.search(pattern, text) else None


class _Unsupported(Exception):
    pass


def _emit(items: Any) -> str:
    out: list[str] = []
    for op, av in items:
        if op is _C.LITERAL:
            out.append(chr(av))
        elif op is _C.NOT_LITERAL:
            out.append(next(c for c in _CANDIDATES if ord(c) != av))
        elif op is _C.ANY:
            out.append("a")
        elif op is _C.IN:
            out.append(_in(av))
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT) or op.name == "POSSESSIVE_REPEAT":
            low, _high, sub = av
            out.append(_emit(sub) * low)
        elif op is _C.SUBPATTERN:
            out.append(_emit(av[-1]))
        elif op is _C.BRANCH:
            out.append(_emit(av[1][0]))
        elif op is _C.CATEGORY:
            out.append(_category(av))
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT) or op.name == "ATOMIC_GROUP":
            if op.name == "ATOMIC_GROUP":
                out.append(_emit(av))
        else:
            raise _Unsupported(op)
    return "".join(out)


def _category(category: Any) -> str:
    name = category.name
    if "NOT_DIGIT" in name:
        return "a"
    if "DIGIT" in name:
        return "0"
    if "NOT_SPACE" in name:
        return "a"
    if "SPACE" in name:
        return " "
    if "NOT_WORD" in name:
        return "-"
    return "a"


def _in(items: Any) -> str:
    negate = bool(items) and items[0][0] is _C.NEGATE
    members = items[1:] if negate else items
    if not negate:
        op, av = members[0]
        if op is _C.LITERAL:
            return chr(av)
        if op is _C.RANGE:
            return chr(av[0])
        if op is _C.CATEGORY:
            return _category(av)
    for c in _CANDIDATES:
        if _matches(members, c) != negate:
            return c
    raise _Unsupported("character class")


def _matches(members: Any, c: str) -> bool:
    for op, av in members:
        if op is _C.LITERAL and ord(c) == av:
            return True
        if op is _C.RANGE and av[0] <= ord(c) <= av[1]:
            return True
        if op is _C.CATEGORY and re.match(_CLASS_OF[av.name], c):
            return True
    return False
