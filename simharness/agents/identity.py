"""Which agent ran: what results, saved scenarios and "reproduce" commands name.

A run's numbers mean nothing without the agent that produced them, and an override
(`--agent`, `agent=`) is exactly what a scenario file does not show. An agent given as
a reference is named by it; one given as an object is named by its class (or function),
which is also its reference when it can be imported by that name.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AgentIdentity:
    """`ref`: 'module:attr' that imports the agent again, or None when none does;
    `cls`: the class (or function) of what ran, as 'module:qualname';
    `given`: where it came from ('scenario', 'override' for a reference passed to
    `--agent`/`agent=`, 'object' for an object passed in Python)."""

    ref: str | None
    cls: str | None
    given: str

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "class": self.cls, "given": self.given}

    @property
    def label(self) -> str:
        """The name to show a person."""
        return self.ref or self.cls or "unknown agent"


def _qualified(target: Any) -> str | None:
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        return None
    return f"{module}:{name}"


def _importable(path: str | None) -> bool:
    """A path `import_ref` can follow: no `<locals>`/`<lambda>` part."""
    return path is not None and "<" not in path


def identify(agent: Any, scenario_ref: str | None) -> AgentIdentity:
    """The identity of `agent` as passed to `run` (None: the scenario's `agent.ref`)."""
    if agent is None:
        return AgentIdentity(scenario_ref, None, "scenario")
    if isinstance(agent, str):
        return AgentIdentity(agent, None, "scenario" if agent == scenario_ref else "override")
    if inspect.isclass(agent) or inspect.isfunction(agent) or inspect.ismethod(agent):
        cls = _qualified(agent)
        return AgentIdentity(cls if _importable(cls) else None, cls, "object")
    cls = _qualified(type(agent))
    return AgentIdentity(cls if _importable(cls) and _is_class_instance(agent) else None,
                         cls, "object")


def _is_class_instance(agent: Any) -> bool:
    """An instance of a user class (its class is a fair reference: built with its
    defaults or `agent.params`), as opposed to e.g. a functools.partial."""
    module = type(agent).__module__
    return module not in ("builtins", "functools")
