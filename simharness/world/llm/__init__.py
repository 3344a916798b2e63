"""The simulated LLM: one judgement per call, rendered in each provider's wire format.

- `judgement`: what the model concludes from the prompt (routes, confidence, escalation);
- `turn`: what it does with its turn (call a lookup or routing tool, or answer);
- `schema_fill`: how an answer fills any JSON Schema;
- `openai_chat`, ...: one module per API, translating requests and answers;
- `service`: the host all tiers and APIs live behind.
"""

from .judgement import estimate_tokens, injected_route
from .service import PROVIDERS, LLMService
from .tier import Tier

__all__ = ["PROVIDERS", "LLMService", "Tier", "estimate_tokens", "injected_route"]
