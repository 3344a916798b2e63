"""Runs in one process do not pile up: what one run made is garbage once its Result is
dropped (a notebook, the pytest plugin and a sweep worker run many scenarios in a row)."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
from typing import Any

import httpx
import pytest

import simharness as sh

TICKETS = 500
RATE = 8.0
#: Objects a run may leave behind per ticket, counted between the second and the third run
#: (the first fills one-off caches). A run that outlives its Result leaves dozens.
MAX_GROWTH_PER_TICKET = 2.0


def _scenario() -> dict[str, Any]:
    return {"name": "memory", "seed": 1, "duration": TICKETS / RATE,
            "agent": {"workers": 64},
            "traffic": [{"synthetic": {"rate": RATE,
                                       "routes": ["billing", "technical", "account"]}}]}


def _request(ctx: sh.AgentContext, payload: dict) -> dict[str, Any]:
    return {"url": ctx.base_urls["llm"] + "/v1/chat/completions",
            "json": {"model": "small",
                     "messages": [{"role": "user", "content": payload["messages"][0]["text"]}]}}


def _route(reply: httpx.Response) -> str:
    return str(json.loads(reply.json()["choices"][0]["message"]["content"])["route"])


def httpx_agent(payload: dict, ctx: sh.AgentContext) -> str:
    return _route(ctx.http.post(**_request(ctx, payload)))


def threaded_agent(payload: dict, ctx: sh.AgentContext) -> str:
    replies: list[httpx.Response] = []

    def work() -> None:
        time.sleep(0.5)
        replies.append(ctx.http.post(**_request(ctx, payload)))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return _route(replies[0])


async def async_agent(payload: dict, ctx: sh.AgentContext) -> str:
    await asyncio.sleep(0.1)
    return _route(await ctx.http.post(**_request(ctx, payload)))


def _live_objects() -> int:
    gc.collect()
    return len(gc.get_objects())


@pytest.mark.parametrize("agent", [httpx_agent, threaded_agent, async_agent],
                         ids=["sync-httpx", "threads", "async-httpx"])
def test_a_run_leaves_nothing_behind_once_its_result_is_dropped(agent: Any) -> None:
    counts = []
    for _ in range(3):
        result = sh.run(_scenario(), agent=agent)
        assert result.metrics["tickets"]["total"] > 0.8 * TICKETS
        assert result.metrics["tickets"]["failed"] == 0
        del result
        counts.append(_live_objects())
    growth = (counts[2] - counts[1]) / TICKETS
    assert growth < MAX_GROWTH_PER_TICKET, (
        f"{counts[2] - counts[1]} objects outlived the third run ({growth:.1f} per ticket)")
    assert gc.get_freeze_count() == 0
