"""The fault taxonomy: small injectors registered by `kind`.

A scenario's `faults:` entry names a `kind`; the registry maps it to an injector class.
Users add their own with `fault_injectors.register(MyInjector)` or through the
`simharness.fault_injectors` entry-point group.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points

from .base import Call, Completion, FaultInjector, NoParams, ParamsModel, StreamPlan, ToolCall

__all__ = ["Call", "Completion", "FaultInjector", "NoParams", "ParamsModel", "StreamPlan",
           "ToolCall", "get", "known_kinds", "register"]

_REGISTRY: dict[str, type[FaultInjector]] = {}
_ENTRY_POINTS_LOADED = False


def register(cls: type[FaultInjector], *, replace: bool = False) -> type[FaultInjector]:
    """Register an injector class under its `kind` (usable as a class decorator).

    Taking a kind that another class already has is an error unless `replace=True`, so a
    plugin cannot silently change what a built-in kind does.
    """
    if not getattr(cls, "kind", None):
        raise ValueError(f"{cls.__name__} needs a `kind` class attribute")
    existing = _REGISTRY.get(cls.kind)
    if existing is not None and not replace and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"fault kind {cls.kind!r} is already registered by "
                         f"{existing.__module__}.{existing.__qualname__}; pass replace=True "
                         "to override it")
    _REGISTRY[cls.kind] = cls
    return cls


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    from . import inputs, llm, network, stream  # noqa: F401  (registers the built-in kinds)

    for ep in entry_points(group="simharness.fault_injectors"):
        register(ep.load())
    # Only now: a plugin that fails to load fails every lookup, not just the first.
    _ENTRY_POINTS_LOADED = True


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
