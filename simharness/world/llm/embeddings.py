"""`POST /v1/embeddings` and `GET /v1/models`.

An embedding is deterministic and built from what the text says, never from the ticket's
truth: a topic part (each route has a fixed direction; a text leans towards the routes
whose typical vocabulary it uses, learnt from the synthetic traffic's wording of each
route) plus a hashed bag of its words. So texts about the same route lie close together
(semantic caches and nearest-neighbour routers work), near-duplicates lie closer still,
and a vague text sits between routes, as it would with a real embedding model.
Vectors have unit length; `dimensions` and `encoding_format` (`float`, `base64`) are
honoured.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections import Counter
from typing import Any

import numpy as np

from ...records import EventScope
from ...rng import BufferedSampler, numpy_stream
from ...traffic.texts import templates_for, topic_words
from ..http import SimResponse
from ..json_text import dumps
from .judgement import estimate_tokens
from .provider import JSON_HEADERS, Provider

_WORD = re.compile(r"[a-z0-9']+")
# How much of the vector is topic, and how much the text's own words.
TOPIC_WEIGHT = 1.0
WORDS_WEIGHT = 0.6
_SLOT = re.compile(r"\{[^}]*\}")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _route_vocabulary(routes: list[str]) -> dict[str, np.ndarray]:
    """For each word, how much more than its fair share each route uses it."""
    counts: dict[str, Counter[str]] = {}
    for route in routes:
        t = templates_for(route)
        text = " ".join((*t.bodies, *t.subjects, *t.ambiguous, *t.passing))
        counter = Counter(_words(_SLOT.sub(" ", text)))
        for word in _words(topic_words(route)):
            counter[word] += 20  # the route's own name says the most
        counts[route] = counter
    vocabulary: dict[str, np.ndarray] = {}
    fair = 1.0 / len(routes)
    for word in set().union(*counts.values()):
        uses = np.array([counts[r][word] for r in routes], dtype=float)
        share = uses / uses.sum() - fair
        if share.max() > 0:
            vocabulary[word] = np.clip(share, 0.0, None)
    return vocabulary


class Embeddings:
    """The embedding models of the simulated API."""

    def __init__(self, config: Any, routes: list[str], seed: int = 0) -> None:
        self.models = dict(config.models) if config is not None else {}
        self.latency = (BufferedSampler(config.latency, numpy_stream(seed, "llm", "embeddings"))
                        if config is not None else (lambda: 0.05))
        self.routes = routes
        self._vocabulary = _route_vocabulary(routes) if routes else {}
        self._directions: dict[int, np.ndarray] = {}

    @staticmethod
    def _inputs(body: Any) -> list[str] | None:
        value = body.get("input") if isinstance(body, dict) else None
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return value
        if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return [" ".join(map(str, v)) for v in value]
        return None

    def tokens(self, body: Any) -> int:
        inputs = self._inputs(body)
        return sum(estimate_tokens(t) for t in inputs) if inputs else 0

    def serve(self, body: Any, scope: EventScope | None,
              provider: Provider) -> tuple[float, SimResponse]:
        inputs = self._inputs(body)
        if inputs is None:
            return 0.01, provider.error(400, "'input' must be a non-empty string or array of "
                                        "strings or token arrays", "invalid_input")
        model_name = body.get("model")
        model = self.models.get(model_name)
        if model is None:
            return 0.01, provider.error(
                404, f"The model `{model_name}` does not exist or you do not have access to it."
                f" Embedding models here: {', '.join(self.models)}", "model_not_found")
        dimensions = body.get("dimensions", model.dimensions)
        if not isinstance(dimensions, int) or not 1 <= dimensions <= model.dimensions:
            return 0.01, provider.error(
                400, f"'dimensions' must be an integer from 1 to {model.dimensions} for "
                f"{model_name}", "invalid_value")
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = self.embed(text, dimensions)
            encoded: Any = (base64.b64encode(vector.astype("<f4").tobytes()).decode()
                            if as_base64 else [round(float(x), 6) for x in vector])
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(estimate_tokens(t) for t in inputs)
        if scope is not None:
            scope.record.tokens_in += tokens
            scope.record.cost_usd += tokens * model.price_per_mtok / 1e6
        payload = {"object": "list", "data": data, "model": model_name,
                   "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        return self.latency(), SimResponse(200, dumps(payload).encode(), list(JSON_HEADERS))

    # -- the vectors ---------------------------------------------------------------------
    def embed(self, text: str, dimensions: int) -> np.ndarray:
        """The unit vector of a text."""
        words = _words(text)
        vector = np.zeros(dimensions)
        topic = np.zeros(len(self.routes))
        for word in words:
            share = self._vocabulary.get(word)
            if share is not None:
                topic += share
        if topic.sum() > 0:
            vector += TOPIC_WEIGHT * (topic / np.linalg.norm(topic)) @ self._route_directions(
                dimensions)
        if words:
            bag = np.zeros(dimensions)
            for word in words:
                h = zlib.crc32(word.encode())
                bag[h % dimensions] += 1.0 if h & 0x80000000 else -1.0
            norm = np.linalg.norm(bag)
            if norm > 0:
                vector += WORDS_WEIGHT * bag / norm
        norm = np.linalg.norm(vector)
        if norm == 0:
            vector[zlib.crc32(text.encode()) % dimensions] = 1.0
            return vector
        return vector / norm

    def _route_directions(self, dimensions: int) -> np.ndarray:
        directions = self._directions.get(dimensions)
        if directions is None:
            rows = []
            for route in self.routes:
                rng = np.random.default_rng(zlib.crc32(f"route:{route}".encode()))
                row = rng.standard_normal(dimensions)
                rows.append(row / np.linalg.norm(row))
            directions = self._directions[dimensions] = np.array(rows)
        return directions


def list_models(path: str, service: Any, anthropic: bool) -> SimResponse:
    """`GET /v1/models` (every tier, alias and embedding model) or `/v1/models/{id}`."""
    names = [*service.models, *service.embeddings.models]
    created = int(service.epoch_s)
    if anthropic:
        entries = [{"type": "model", "id": n, "display_name": n,
                    "created_at": "2024-01-01T00:00:00Z", "lifecycle": "active"} for n in names]
    else:
        entries = [{"id": n, "object": "model", "created": created, "owned_by": "simharness"}
                   for n in names]
    wanted = path[len("/v1/models"):].strip("/")
    if wanted:
        entry = next((e for e in entries if e["id"] == wanted), None)
        if entry is None:
            body: dict[str, Any] = {"error": {
                "message": f"The model `{wanted}` does not exist", "param": None,
                "type": "invalid_request_error", "code": "model_not_found"}}
            if anthropic:
                body = {"type": "error", "error": {"type": "not_found_error",
                                                   "message": f"model: {wanted}"}}
            return SimResponse(404, dumps(body).encode(), list(JSON_HEADERS))
        return SimResponse(200, dumps(entry).encode(), list(JSON_HEADERS))
    if anthropic:
        payload: dict[str, Any] = {"data": entries, "has_more": False,
                                   "first_id": names[0] if names else None,
                                   "last_id": names[-1] if names else None}
    else:
        payload = {"object": "list", "data": entries}
    return SimResponse(200, dumps(payload).encode(), list(JSON_HEADERS))
