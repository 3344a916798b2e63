"""AgentContext: what the harness hands an agent with each event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AgentContext:
    """Per-event context: a ready HTTP client into the simulated world, the clock, a log.

    `http` is an `httpx.Client` for sync agents and an `httpx.AsyncClient` for async ones.
    `base_urls` maps integration names to URLs: `llm` (OpenAI-compatible API under `/v1`)
    and one entry per tool (`crm`, ...). `state` is a dict kept per conversation for agents
    that are plain functions; agents that are objects can keep state on themselves.
    """

    __slots__ = ("ticket_id", "conversation_id", "event", "http", "base_urls", "_states",
                 "_lines", "_now", "_sleep")

    def __init__(self, ticket_id: str, conversation_id: str, event: int, http: Any,
                 base_urls: dict[str, str], states: dict[str, dict[str, Any]], lines: list[str],
                 now: Callable[[], float], sleep: Callable[[float], Any]) -> None:
        self.ticket_id = ticket_id
        self.conversation_id = conversation_id
        self.event = event
        self.http = http
        self.base_urls = base_urls
        self._states = states
        self._lines = lines
        self._now = now
        self._sleep = sleep

    @property
    def state(self) -> dict[str, Any]:
        """A dict that lives as long as this conversation (for agents that are functions)."""
        state = self._states.get(self.conversation_id)
        if state is None:
            state = self._states[self.conversation_id] = {}
        return state

    @property
    def now(self) -> float:
        """Simulated seconds since the run started."""
        return self._now()

    def sleep(self, seconds: float) -> Any:
        """Wait on the simulated clock (returns an awaitable for async agents)."""
        return self._sleep(seconds)

    def log(self, message: str) -> None:
        """Add a line to this ticket's audit trail (kept in the per-ticket record)."""
        self._lines.append(f"[{self._now():.3f}s] {message}")
