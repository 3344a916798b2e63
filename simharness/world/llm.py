"""Simulated LLM tiers behind an OpenAI-compatible `POST /v1/chat/completions`.

The model answers about the ticket whose event is being handled, judging only what the
agent put in the prompt: it looks for that conversation's message texts. A follow-up that
only makes sense with earlier context is answered correctly only when that context is in
the prompt. Whether an answer is right is drawn from the tier's accuracy for the ticket's
tags, keyed on (seed, ticket, tier, nth call) so two agents on one scenario get the same
luck. Confidence is higher, on average, when the answer is right.
"""

from __future__ import annotations

import json
import math
import re
from collections import deque
from typing import Any

from fault_injectors import Call, Completion

from ..records import EventScope
from ..rng import BufferedSampler, hash_uniforms, numpy_stream
from .http import SimResponse, json_error

CHARS_PER_TOKEN = 4
# Fragments of a message the model recognises it by, so injected junk does not blind it.
FRAGMENT = 24
# How often the simulated model obeys an instruction injected into the ticket text.
INJECTION_SUCCESS = 0.6
TOKENS_PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate (about four characters per token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _prompt_text(messages: Any) -> str:
    parts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


def _mentions(prompt: str, text: str) -> bool:
    """Whether the prompt carries this message, even with a few characters mangled."""
    if text in prompt:
        return True
    if len(text) < 3 * FRAGMENT:
        return False
    middle = len(text) // 2
    return any(fragment in prompt for fragment in
               (text[:FRAGMENT], text[middle:middle + FRAGMENT], text[-FRAGMENT:]))


_INJECTION = re.compile(r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) instructions"
                        r".{0,80}?\broute\b.{0,30}?\bto\b\W*([a-z_]+)", re.I | re.S)


def injected_route(prompt: str) -> str | None:
    """The route a prompt injection in the prompt asks for, if there is one."""
    if "nstructions" not in prompt:
        return None
    match = _INJECTION.search(prompt)
    return match.group(1).lower() if match else None


class Tier:
    """One model tier: latency, prices, rate limit, accuracy."""

    def __init__(self, name: str, config: Any, seed: int) -> None:
        self.name = name
        self.config = config
        self.latency = BufferedSampler(config.latency, numpy_stream(seed, "llm", name, "latency"))
        self.per_output_token = config.per_output_token
        self.input_price = config.price.input_per_mtok / 1e6
        self.output_price = config.price.output_per_mtok / 1e6
        self.rpm = config.rpm
        self._recent: deque[float] = deque()

    def throttle(self, now: float) -> float | None:
        """Seconds until a slot frees when over the RPM limit, else None (and count it)."""
        if self.rpm is None:
            return None
        recent = self._recent
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= self.rpm:
            return recent[0] + 60.0 - now
        recent.append(now)
        return None


class LLMService:
    """The OpenAI-compatible endpoint of all tiers."""

    def __init__(self, config: Any, routes: list[str], seed: int, epoch_s: float) -> None:
        self.tiers: dict[str, Tier] = {}
        self.models: dict[str, Tier] = {}
        for name, tier_config in config.tiers.items():
            tier = Tier(name, tier_config, seed)
            self.tiers[name] = tier
            self.models[name] = tier
            for alias in tier_config.aliases:
                self.models[alias] = tier
        self.routes = routes
        self.format = config.response_format
        self.seed = seed
        self.epoch_s = epoch_s
        self._completions = 0

    def target(self, body: Any) -> tuple[str, Tier | None]:
        model = body.get("model") if isinstance(body, dict) else None
        tier = self.models.get(model) if isinstance(model, str) else None
        return ("llm." + tier.name if tier else "llm"), tier

    def prepare(self, body: Any) -> tuple[str, int]:
        """The prompt text and its token count (0 when the body has no messages)."""
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return "", 0
        prompt = _prompt_text(body["messages"])
        return prompt, estimate_tokens(prompt) + TOKENS_PER_MESSAGE * len(body["messages"])

    def complete(self, call: Call, body: Any, tier: Tier | None, prompt: str,
                 scope: EventScope | None, faults: list[Any]) -> tuple[float, SimResponse]:
        """Answer one chat completion request, with any LLM faults applied."""
        path, now = call.path, call.now
        if path.rstrip("/") != "/v1/chat/completions":
            return 0.01, json_error(404, f"Unknown path {path}", "unknown_url")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return 0.01, json_error(400, "'messages' is a required property", "invalid_body")
        if tier is None:
            model = body.get("model")
            return 0.01, json_error(404, f"The model `{model}` does not exist or you do not "
                                        f"have access to it. Models here: {', '.join(self.models)}",
                                        "model_not_found")
        wait = tier.throttle(now)
        if wait is not None:
            retry_after = max(1, math.ceil(wait))
            return 0.01, json_error(429, f"Rate limit reached for {tier.name}: {tier.rpm} RPM",
                                        "rate_limit_exceeded", "requests",
                                        headers=[("retry-after", str(retry_after))])
        tokens_in = call.tokens_in or 0
        if tokens_in > tier.config.context_tokens:
            return 0.05, json_error(
                400, f"This model's maximum context length is {tier.config.context_tokens} "
                f"tokens. However, your messages resulted in {tokens_in} tokens.",
                "context_length_exceeded")
        accuracy_factor = 1.0
        for fault in faults:
            accuracy_factor *= fault.injector.accuracy_factor(call)
        routes, confidence = self._answer(prompt, tier, scope, accuracy_factor)
        content = self._render(routes, confidence)
        completion = Completion(content=content, routes=routes, taxonomy=self.routes,
                                tokens_in=tokens_in, tokens_out=estimate_tokens(content) + 1)
        for fault in faults:
            fault.injector.rewrite(call, completion)
        if scope is not None:
            record = scope.record
            record.tokens_in += completion.tokens_in
            record.tokens_out += completion.tokens_out
            record.cost_usd += (completion.tokens_in * tier.input_price
                                + completion.tokens_out * tier.output_price)
        self._completions += 1
        latency = tier.latency() + tier.per_output_token * completion.tokens_out
        message: dict[str, Any] = {"role": "assistant", "content": completion.content}
        message.update(completion.extra)
        payload = {
            "id": f"chatcmpl-sim{self._completions:08d}",
            "object": "chat.completion",
            "created": int(self.epoch_s + now + latency),
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": completion.finish_reason,
                         "logprobs": None, "message": message}],
            "usage": {"prompt_tokens": completion.tokens_in,
                      "completion_tokens": completion.tokens_out,
                      "total_tokens": completion.tokens_in + completion.tokens_out},
        }
        return latency, SimResponse(200, json.dumps(payload).encode(),
                                    [("content-type", "application/json")])

    def _render(self, routes: list[str], confidence: float) -> str:
        if self.format == "label":
            return ", ".join(routes)
        route: str | list[str] = routes[0] if len(routes) == 1 else routes
        return json.dumps({"route": route, "confidence": round(confidence, 2)})

    # -- the model's judgement ---------------------------------------------------------
    def _answer(self, prompt: str, tier: Tier, scope: EventScope | None,
                accuracy_factor: float) -> tuple[list[str], float]:
        routes = self.routes
        truth: list[str] | None
        tags: list[str]
        key: tuple[object, ...]
        if scope is None:
            truth, tags, key = None, [], ("no-ticket", self._completions)
        else:
            scope.llm_calls += 1
            truth, tags = self._visible_truth(prompt, scope)
            key = (scope.ticket.id, scope.event, tier.name, scope.llm_calls)
        u_right, u_pick, u_conf = hash_uniforms(self.seed, 3, "llm", *key)
        hijack = injected_route(prompt)
        if hijack is not None and u_pick < INJECTION_SUCCESS:
            return [hijack], 0.9
        if truth is None:  # the prompt does not say what the ticket is about
            answer = [routes[int(u_pick * len(routes))]]
            confidence = 0.2 + 0.35 * u_conf
        elif u_right < tier.config.accuracy.for_tags(tags) * accuracy_factor:
            answer = list(truth)
            confidence = 0.72 + 0.27 * u_conf
        else:
            answer = self._wrong(truth, u_pick)
            confidence = 0.3 + 0.55 * u_conf
        return answer, confidence

    def _visible_truth(self, prompt: str, scope: EventScope) -> tuple[list[str] | None, list[str]]:
        messages = scope.ticket.messages
        seen = [i for i, m in enumerate(messages) if _mentions(prompt, m.text)]
        if not seen:
            return None, []
        last = seen[-1]
        if messages[last].needs_context and len(seen) < last + 1:
            return None, []
        tags = list(scope.ticket.tags)
        if last == 0 and "mind_change" in tags:
            tags.remove("mind_change")
        return messages[last].routes, tags

    def _wrong(self, truth: list[str], u: float) -> list[str]:
        others = [r for r in self.routes if r not in truth]
        if len(truth) > 1 and (u < 0.5 or not others):
            return [truth[int(u * 2 * len(truth)) % len(truth)]]  # got one issue of two
        if not others:
            return list(truth)
        return [others[int(u * len(others)) % len(others)]]
