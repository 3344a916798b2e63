"""The simulated LLM host: every tier, behind each provider's API.

A request is read once (`prepare`) so faults can see its target tier and prompt size;
then `serve` checks the tier's rate limit and context window, asks the model for its turn
(one judgement, whatever the API), lets LLM faults change the answer, bills the tokens to
the ticket and renders the answer in the shape the request asked for: a JSON body or a
stream of events that arrives over simulated time.
"""

from __future__ import annotations

import math
from typing import Any

from fault_injectors import Call, Completion

from ...records import EventScope
from ..http import SimRequest, SimResponse
from ..json_text import loads
from .anthropic_messages import AnthropicMessages
from .embeddings import Embeddings, list_models
from .judgement import Judge
from .openai_chat import OpenAIChat
from .openai_responses import OpenAIResponses
from .provider import JSON_HEADERS, Provider, Reply
from .request import BadRequest, Request
from .sse import HEADERS as SSE_HEADERS
from .tier import Tier
from .turn import Turn

#: The APIs served, by path. Adding a provider is a module and a line here.
PROVIDERS: dict[str, type[Provider]] = {
    "/v1/chat/completions": OpenAIChat,
    "/v1/responses": OpenAIResponses,
    "/v1/messages": AnthropicMessages,
}


class Prepared:
    """A request to the LLM host, read before faults look at it."""

    __slots__ = ("path", "method", "body", "provider", "request", "error", "tier", "target",
                 "tokens_in", "anthropic_client")

    def __init__(self, path: str, method: str, body: Any, provider: Provider) -> None:
        self.path = path
        self.method = method
        self.body = body
        self.provider = provider
        self.request: Request | None = None
        self.error: BadRequest | None = None
        self.tier: Tier | None = None
        self.target = "llm"
        self.tokens_in = 0
        self.anthropic_client = False


class LLMService:
    """All tiers behind every provider's API."""

    def __init__(self, config: Any, routes: list[str], seed: int, epoch_s: float,
                 escalate_at: float = 100000.0) -> None:
        self.tiers: dict[str, Tier] = {}
        self.models: dict[str, Tier] = {}
        for name, tier_config in config.tiers.items():
            tier = Tier(name, tier_config, seed)
            self.tiers[name] = tier
            self.models[name] = tier
            for alias in tier_config.aliases:
                self.models[alias] = tier
        self.routes = routes
        self.seed = seed
        self.epoch_s = epoch_s
        self.judge = Judge(routes, seed, escalate_at)
        self.turn = Turn(self.judge, routes, config.response_format)
        self.embeddings = Embeddings(config.embeddings, routes, seed)
        self._served = 0
        # One instance per run: a provider may keep state (earlier responses).
        self.providers = {path: cls() for path, cls in PROVIDERS.items()}
        self._openai = self.providers["/v1/chat/completions"]

    # -- reading a request ---------------------------------------------------------------
    def prepare(self, sreq: SimRequest) -> Prepared:
        path = sreq.path.rstrip("/")
        try:
            body = loads(sreq.body) if sreq.body else None
        except ValueError:
            body = None
        provider = self.providers.get(path)
        prepared = Prepared(path, sreq.method, body, provider or self._openai)
        if provider is None:
            if path == "/v1/embeddings":
                prepared.tokens_in = self.embeddings.tokens(body)
            prepared.anthropic_client = "anthropic-version" in sreq.headers
            return prepared
        try:
            request = provider.parse(body)
        except BadRequest as exc:
            prepared.error = exc
            return prepared
        prepared.request = request
        tier = self.models.get(request.model)
        if tier is not None:
            prepared.tier = tier
            prepared.target = "llm." + tier.name
        prepared.tokens_in = request.tokens_in
        return prepared

    # -- answering ---------------------------------------------------------------------
    def serve(self, call: Call, prepared: Prepared, scope: EventScope | None,
              faults: list[Any]) -> tuple[float, SimResponse]:
        """Answer one request, with any LLM faults applied."""
        provider, request, tier = prepared.provider, prepared.request, prepared.tier
        if prepared.error is not None:
            return 0.01, provider.error(400, prepared.error.message, "invalid_body")
        if request is None:
            return self._other(prepared, scope)
        if tier is None:
            return 0.01, provider.error(
                404, f"The model `{request.model}` does not exist or you do not have access "
                f"to it. Models here: {', '.join(self.models)}", "model_not_found")
        now = call.now
        wait = tier.throttle(now)
        if wait is not None:
            retry_after = str(max(1, math.ceil(wait)))
            response = provider.error(
                429, f"Rate limit reached for {tier.name}: {tier.rpm} requests per minute",
                "rate_limit_exceeded", "requests", headers=[("retry-after", retry_after)])
            return 0.01, self._with_rate_limit(response, provider, tier, now)
        if prepared.tokens_in > tier.config.context_tokens:
            return 0.05, provider.error(
                400, f"This model's maximum context length is {tier.config.context_tokens} "
                f"tokens. However, your messages resulted in {prepared.tokens_in} tokens.",
                "context_length_exceeded")
        completion = self._answer(call, request, tier, scope, faults, prepared.tokens_in)
        self._served += 1
        first_token = tier.latency()
        reply = Reply(self._served, int(self.epoch_s + now + first_token), str(request.model),
                      tier.per_output_token)
        if request.stream:
            plan = provider.stream(request, completion, reply)
            for fault in faults:
                if fault.streams:
                    fault.injector.stream(call, plan)
                    if scope is not None:
                        scope.touched_by(fault.name)
            response = SimResponse(200, b"", list(SSE_HEADERS), stream=plan)
            latency = first_token
        else:
            body = provider.render(request, completion, reply)
            response = SimResponse(200, body, list(JSON_HEADERS))
            latency = first_token + tier.per_output_token * completion.tokens_out
        return latency, self._with_rate_limit(response, provider, tier, now)

    def _answer(self, call: Call, request: Request, tier: Tier, scope: EventScope | None,
                faults: list[Any], tokens_in: int) -> Completion:
        """The model's turn with LLM faults applied, billed to the ticket. A fault counts
        on the ticket only when it changed something."""
        accuracy_factor = 1.0
        for fault in faults:
            accuracy_factor *= fault.injector.accuracy_factor(call)
        completion = self.turn.answer(request, tier, scope, accuracy_factor, tokens_in)
        judged = bool(completion.routes) or not completion.tool_calls
        for fault in faults:
            if not fault.rewrites:
                continue
            acted = fault.injector.rewrite(call, completion) is not False
            if acted or (judged and fault.injector.accuracy_factor(call) != 1.0):
                if scope is not None:
                    scope.touched_by(fault.name)
        if scope is not None:
            record = scope.record
            record.tokens_in += completion.tokens_in
            record.tokens_out += completion.tokens_out
            record.cost_usd += tier.cost(completion.tokens_in, completion.tokens_out)
        return completion

    def _with_rate_limit(self, response: SimResponse, provider: Provider, tier: Tier,
                         now: float) -> SimResponse:
        state = tier.rate_limit(now)
        if state is not None:
            response.headers.extend(provider.rate_limit_headers(state, self.epoch_s + now))
        return response

    def reshape(self, prepared: Prepared, response: SimResponse, now: float) -> SimResponse:
        """A response a fault produced, in the shape of the API that was called."""
        if response.failure is not None or response.stream is not None:
            return response
        response = prepared.provider.reshape(response)
        if prepared.tier is not None and response.status >= 400 and response.status != 429:
            return self._with_rate_limit(response, prepared.provider, prepared.tier, now)
        return response

    def _other(self, prepared: Prepared,
               scope: EventScope | None) -> tuple[float, SimResponse]:
        """Embeddings, the model list, and unknown paths."""
        provider = prepared.provider
        if prepared.path == "/v1/embeddings" and prepared.method == "POST":
            return self.embeddings.serve(prepared.body, scope, provider)
        if prepared.path.startswith("/v1/models") and prepared.method == "GET":
            return 0.01, list_models(prepared.path, self, prepared.anthropic_client)
        return 0.01, provider.error(404, f"Unknown request URL: {prepared.method} "
                                    f"{prepared.path}.", "unknown_url")
