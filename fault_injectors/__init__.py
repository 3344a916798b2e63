"""The fault taxonomy: small injectors registered by `kind`.

A scenario's `faults:` entry names a `kind`; the registry maps it to an injector class.
Users add their own with `fault_injectors.register(MyInjector)` or through the
`simharness.fault_injectors` entry-point group.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

from .base import Call, Completion, FaultInjector, NoParams

__all__ = ["Call", "Completion", "FaultInjector", "NoParams", "get", "known_kinds", "register"]

_REGISTRY: dict[str, type[FaultInjector]] = {}
_ENTRY_POINTS_LOADED = False


def register(cls: type[FaultInjector]) -> type[FaultInjector]:
    """Register an injector class under its `kind` (usable as a class decorator)."""
    if not getattr(cls, "kind", None):
        raise ValueError(f"{cls.__name__} needs a `kind` class attribute")
    _REGISTRY[cls.kind] = cls
    return cls


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from . import inputs, llm, network  # noqa: F401  (registers the built-in kinds)

    for ep in entry_points(group="simharness.fault_injectors"):
        register(ep.load())


def known_kinds() -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY)


def get(kind: str) -> type[FaultInjector]:
    """The injector class for `kind`; a KeyError names the known kinds and the closest."""
    _load_entry_points()
    try:
        return _REGISTRY[kind]
    except KeyError:
        close = difflib.get_close_matches(kind, _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise KeyError(f"unknown fault kind {kind!r}{hint}; known kinds: "
                       f"{', '.join(sorted(_REGISTRY))}") from None
