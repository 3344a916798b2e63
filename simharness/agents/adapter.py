"""Turn what the user points at (`module:attr`, a function, an object) into a callable handler."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AgentError


@dataclass(frozen=True)
class AgentHandler:
    """The agent's entry point with how to call it."""

    call: Callable[..., Any]
    is_async: bool
    takes_ctx: bool
    name: str


def import_ref(ref: str) -> Any:
    """Import `package.module:attr` (the current directory is importable, as in pytest)."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise AgentError(f"agent reference {ref!r} must look like 'package.module:attr'")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = ""
        missing = getattr(exc, "name", None)
        if isinstance(exc, ModuleNotFoundError) and missing and (
                module_name == missing or module_name.startswith(missing + ".")):
            hint = (f" (agents are imported from the current directory, {cwd}, and "
                    "PYTHONPATH: run from the folder that holds the module, or add that "
                    "folder to PYTHONPATH)")
        raise AgentError(f"cannot import agent module {module_name!r}: {exc}{hint}") from exc
    except Exception as exc:  # a SyntaxError or an error raised while the module loads
        where = f" ({exc.filename}:{exc.lineno})" if isinstance(exc, SyntaxError) else ""
        raise AgentError(f"importing agent module {module_name!r} failed: "
                         f"{type(exc).__name__}: {exc}{where}") from exc
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AgentError(f"module {module_name!r} has no attribute {attr!r}") from None
    return target


def _positional_params(fn: Callable[..., Any], required: bool = False) -> int | None:
    """How many positional parameters `fn` takes (only those without defaults when
    `required`); None when it takes *args or has no signature."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    count = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if not required or p.default is p.empty:
                count += 1
    return count


def _signature(fn: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(unknown)"


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004  (an object with async __call__)
    return call is not None and inspect.iscoroutinefunction(call)


def _as_handler(fn: Callable[..., Any], name: str) -> AgentHandler:
    params = _positional_params(fn)
    required = _positional_params(fn, required=True)
    if params == 0 or (required is not None and required > 2):
        raise AgentError(f"agent {name} must accept (payload) or (payload, ctx); its "
                         f"signature is {_signature(fn)}")
    return AgentHandler(call=fn, is_async=_is_async(fn), takes_ctx=params is None or params >= 2,
                        name=name)


def resolve_agent(agent: Any, params: dict[str, Any] | None = None) -> AgentHandler:
    """Accept a ref string, a class, a factory, an object with `handle`, or a function.

    A class is instantiated (with `params` as keyword arguments); a zero-argument function
    is a factory called the same way. Each run gets a fresh instance, so state never leaks
    between runs unless the user passes an instance. `params` given for anything else is
    an error when the agent came from a reference string, and ignored for an object the
    caller built.
    """
    from_ref = isinstance(agent, str)
    name = agent if from_ref else getattr(agent, "__qualname__", type(agent).__name__)
    if from_ref:
        agent = import_ref(agent)
    params = params or {}
    if inspect.isclass(agent) or (callable(agent) and _positional_params(agent) == 0
                                  and not hasattr(agent, "handle")):
        try:
            agent = agent(**params)
        except Exception as exc:
            raise AgentError(f"creating agent {name} failed: {type(exc).__name__}: {exc}") from exc
    elif params and from_ref:
        raise AgentError(f"agent.params given but {name} is not a class or factory")
    handle = getattr(agent, "handle", None)
    if handle is not None and callable(handle):
        return _as_handler(handle, str(name))
    if callable(agent):
        return _as_handler(agent, str(name))
    raise AgentError(f"agent {name} is neither callable nor has a handle(payload, ctx) method")
