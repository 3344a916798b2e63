"""AgentContext: what the harness hands an agent with each event, and `make_context` to
build one outside a run (unit tests, Hypothesis fuzzing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from ..records import AuditTrail


class AgentContext:
    """Per-event context: a ready HTTP client into the simulated world, the clock, a log.

    `http` is an `httpx.Client` for sync agents and an `httpx.AsyncClient` for async ones;
    `httpx2` is the same on `httpx2`, for SDKs that accept nothing else (anthropic:
    `Anthropic(http_client=ctx.httpx2, ...)`), None when httpx2 is not installed.
    `base_urls` maps integration names to URLs: `llm` (OpenAI-compatible API under `/v1`)
    and one entry per tool (`crm`, ...). `state` is a dict kept per conversation for agents
    that are plain functions; agents that are objects can keep state on themselves.
    """

    __slots__ = ("ticket_id", "conversation_id", "event", "http", "base_urls", "_states",
                 "_lines", "_now", "_sleep", "httpx2")

    def __init__(self, ticket_id: str, conversation_id: str, event: int, http: Any,
                 base_urls: dict[str, str], states: dict[str, dict[str, Any]], lines: list[str],
                 now: Callable[[], float], sleep: Callable[[float], Any],
                 httpx2: Any = None) -> None:
        self.ticket_id = ticket_id
        self.conversation_id = conversation_id
        self.event = event
        self.http = http
        self.base_urls = base_urls
        self._states = states
        self._lines = lines
        self._now = now
        self._sleep = sleep
        self.httpx2 = httpx2

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

    @property
    def log_lines(self) -> list[str]:
        """This ticket's audit trail so far (read it in tests; write with `log`)."""
        return list(self._lines)

    def sleep(self, seconds: float) -> Any:
        """Wait on the simulated clock (returns an awaitable for async agents)."""
        return self._sleep(seconds)

    def log(self, message: str) -> None:
        """Add a line to this ticket's audit trail (kept in the per-ticket record).

        At most 200 lines per ticket are kept, each up to 1,000 characters; a last line
        says how many more were cut.
        """
        line = f"[{self._now():.3f}s] {message}"
        if isinstance(self._lines, AuditTrail):
            self._lines.add(line)
        else:
            self._lines.append(line)


def _no_world(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(
        f"no simulated world outside a run: {request.method} {request.url} was not sent "
        "(pass make_context(http=...) with a client that answers, e.g. a respx mock)",
        request=request)


def make_context(*, http: httpx.Client | httpx.AsyncClient | None = None,
                 base_urls: dict[str, str] | None = None, asynchronous: bool = False,
                 ticket_id: str = "T000000", conversation_id: str | None = None,
                 event: int = 0, now: float = 0.0) -> AgentContext:
    """An `AgentContext` for calling an agent directly, outside a run (unit tests, fuzzing).

    Without `http`, every request fails the way an unreachable service does
    (`httpx.ConnectError`), so an agent's fallbacks are what a test exercises; pass a
    client of your own (respx, `httpx.MockTransport`) to answer. `asynchronous=True`
    gives an `httpx.AsyncClient` and an awaitable `ctx.sleep`, as async agents get.
    `base_urls` defaults to the run's (`llm`, `crm`). `ctx.sleep(s)` does not wait: it
    moves `ctx.now` on by `s`. `ctx.log_lines` shows what the agent logged.
    """
    if http is None:
        transport = httpx.MockTransport(_no_world)
        http = (httpx.AsyncClient(transport=transport) if asynchronous
                else httpx.Client(transport=transport))
    clock = [float(now)]

    def current() -> float:
        return clock[0]

    def advance(seconds: float) -> None:
        clock[0] += max(0.0, float(seconds))

    async def advance_async(seconds: float) -> None:
        advance(seconds)
        await asyncio.sleep(0)

    return AgentContext(
        ticket_id, conversation_id or f"conv-{ticket_id}", event, http,
        dict(base_urls or {"llm": "http://llm.sim", "crm": "http://crm.sim"}), {},
        AuditTrail(), current, advance_async if asynchronous else advance)
