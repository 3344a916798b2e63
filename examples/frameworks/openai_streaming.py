"""Streaming with the openai SDK, sync and async.

`Router` streams a plain chat completion (`stream=True` with
`stream_options={"include_usage": True}`), joins the content deltas and parses the JSON
text, as in the openai-python README's streaming example. `AsyncRouter` uses the SDK's
streaming helper for Structured Outputs, `client.chat.completions.stream(...,
response_format=TicketRouting)`, reads the events and takes
`get_final_completion().choices[0].message.parsed`. Both look the customer up in code and
put the CRM record in the prompt. Knob: `OpenAI(..., http_client=ctx.http)` /
`AsyncOpenAI(..., http_client=ctx.http)` with `base_url=ctx.base_urls["llm"] + "/v1"`.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.openai_streaming:Router
    simharness run scenarios/baseline.yaml --agent examples.frameworks.openai_streaming:AsyncRouter
"""

from __future__ import annotations

import json
from typing import Any

from openai import AsyncOpenAI, OpenAI

from examples.frameworks.plain_chat import ANSWER_FORMAT
from examples.frameworks.support import (
    INSTRUCTIONS,
    MODEL,
    TicketRouting,
    crm_url,
    customer_facts,
    decision,
    ticket_prompt,
)
from simharness import Decision


class Router:
    """`chat.completions.create(stream=True)`, sync: the text arrives in deltas."""

    def __init__(self) -> None:
        self.client: OpenAI | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                 http_client=ctx.http)
        prompt = ticket_prompt(payload, ctx)
        record = ctx.http.get(crm_url(ctx, payload["customer"]["id"]), timeout=10).json()
        stream = self.client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": INSTRUCTIONS + " " + ANSWER_FORMAT},
                {"role": "user", "content": prompt + "\n\n" + customer_facts(record)},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        parts: list[str] = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        answer = json.loads("".join(parts))
        return Decision(route=answer["route"], escalate=bool(answer.get("escalate", False)),
                        confidence=answer.get("confidence"), reason="openai stream")


class AsyncRouter:
    """`chat.completions.stream(response_format=...)`, async: a parsed streamed answer."""

    def __init__(self) -> None:
        self.client: AsyncOpenAI | None = None

    async def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                      http_client=ctx.http)
        prompt = ticket_prompt(payload, ctx)
        record = (await ctx.http.get(crm_url(ctx, payload["customer"]["id"]), timeout=10)).json()
        async with self.client.chat.completions.stream(
            model=MODEL,
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": prompt + "\n\n" + customer_facts(record)},
            ],
            response_format=TicketRouting,
        ) as stream:
            async for event in stream:
                if event.type == "content.done":
                    ctx.log(f"streamed answer: {event.content}")
            completion = await stream.get_final_completion()
        parsed = completion.choices[0].message.parsed
        if parsed is None:
            raise RuntimeError(f"no answer: refusal={completion.choices[0].message.refusal!r}")
        return decision(parsed, "openai chat.completions.stream")
