"""The simulated LLM: one judgement per call, rendered in each provider's wire format.

- `judgement`: what the model concludes from the prompt (routes, confidence, escalation);
- `turn`: what it does with its turn (call a lookup or routing tool, or answer);
- `schema_fields`, `schema_fill`: which field of a JSON Schema means what, and filling it;
- `request`, `provider`: the question in no provider's terms, and what a provider does;
- `openai_chat`, `openai_responses`, `anthropic_messages`: one module per API;
- `embeddings`: `/v1/embeddings` and `/v1/models`; `sse`: streamed answers; `tier`: latency,
  prices and the rate limiter;
- `service`: the host every tier and API lives behind.
"""

from .judgement import estimate_tokens, injected_route
from .service import PROVIDERS, LLMService
from .tier import Tier

__all__ = ["PROVIDERS", "LLMService", "Tier", "estimate_tokens", "injected_route"]
