"""The simulated world's documented promises, checked against the world itself: the
defaults the docs and the README state, and what each API answers for the cases the docs
describe."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from simharness.world.config import EmbeddingsConfig, LLMConfig, WorldConfig

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_the_documented_default_tiers_are_the_defaults():
    text = LLMConfig.model_fields["tiers"].description or ""
    documented = re.findall(r"'(\w+)' \(([\d.]+)s/([\d.]+)s, \$([\d.]+)/\$([\d.]+), "
                            r"accuracy ([\d.]+), rpm (\d+)\)", text)
    tiers = LLMConfig().tiers
    assert sorted(name for name, *_ in documented) == sorted(tiers)
    for name, median, p95, price_in, price_out, accuracy, rpm in documented:
        tier = tiers[name]
        assert (tier.latency.median, tier.latency.p95) == (float(median), float(p95))
        assert (tier.price.input_per_mtok, tier.price.output_per_mtok) == \
            (float(price_in), float(price_out))
        assert tier.accuracy.default == float(accuracy) and tier.rpm == int(rpm)


def test_the_readme_example_world_is_the_default_world():
    """The README's scenario says its `world:` is what the defaults give."""
    block = re.search(r"```yaml\n(name: my-scenario\n.*?)```", README, re.S)
    assert block is not None and "documented defaults give" in block.group(1)
    world = yaml.safe_load(block.group(1))["world"]
    default = WorldConfig()
    given = WorldConfig.model_validate(world)
    assert given.llm.tiers["small"] == default.llm.tiers["small"]
    assert given.tools["crm"].latency == default.tools["crm"].latency
    assert given.escalation == default.escalation


def test_the_documented_embedding_models_are_the_defaults():
    text = EmbeddingsConfig.model_fields["models"].description or ""
    documented = re.findall(r"(text-embedding-[\w-]+) \((\d+)(?: dimensions)?, \$([\d.]+)", text)
    models = EmbeddingsConfig().models
    assert sorted(name for name, *_ in documented) == sorted(models)
    for name, dimensions, price in documented:
        assert models[name].dimensions == int(dimensions)
        assert models[name].price_per_mtok == float(price)


def parse_go_duration(text: str) -> float:
    """Seconds from a Go duration string (time.ParseDuration's units h, m, s, ms)."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)(ms|s))?", text)
    assert parts is not None and text, f"not a Go duration: {text!r}"
    hours, minutes, number, unit = parts.groups()
    seconds = float(number or 0) / (1000 if unit == "ms" else 1)
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + seconds


def test_rate_limit_reset_headers_are_go_durations_as_openai_writes_them():
    from simharness.world.llm.provider import go_duration

    assert [go_duration(s) for s in (0.12, 17.3, 360.0)] == ["120ms", "17.3s", "6m0s"]
    for seconds in (0.001, 0.5, 1.0, 1.25, 59.999, 60.0, 61.5, 119.0, 754.125):
        assert parse_go_duration(go_duration(seconds)) == pytest.approx(seconds, abs=5e-4)


# -- every API answers in its provider's own wire format -----------------------------------
# The SDKs read responses leniently (an unknown or misspelt field is kept, a missing
# optional one is None), so going through them does not show a wrong field name. Here
# every body and stream event the simulated APIs send is validated against the SDK's own
# type for it, and a field that type does not know is an error.

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

ROUTING_SCHEMA = {"type": "object", "additionalProperties": False,
                  "required": ["route", "confidence"],
                  "properties": {"route": {"type": "string",
                                           "enum": ["billing", "technical", "account"]},
                                 "confidence": {"type": "number"}}}
LOOKUP = {"name": "lookup_customer", "description": "The customer's CRM record.",
          "parameters": {"type": "object", "required": ["customer_id"],
                         "properties": {"customer_id": {"type": "string"}}}}
ROUTE = {"name": "route_ticket", "description": "Route the ticket.",
         "parameters": ROUTING_SCHEMA}


def requests_for(text: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(path, extra headers, body) of one request of each kind to each API."""
    chat = {"model": "large", "messages": [{"role": "user", "content": text}]}
    tools = [{"type": "function", "function": LOOKUP}, {"type": "function", "function": ROUTE}]
    schema = {"type": "json_schema",
              "json_schema": {"name": "routing", "schema": ROUTING_SCHEMA, "strict": True}}
    responses = {"model": "large", "input": text}
    flat_tools = [{"type": "function", **ROUTE}]
    messages = {"model": "large", "max_tokens": 300,
                "messages": [{"role": "user", "content": text}]}
    anthropic_tools = [{"name": ROUTE["name"], "description": ROUTE["description"],
                        "input_schema": ROUTING_SCHEMA}]
    version = {"anthropic-version": "2023-06-01"}
    streamed = {"stream": True}
    return [
        ("/v1/chat/completions", {}, chat),
        ("/v1/chat/completions", {}, {**chat, "tools": tools, "tool_choice": "required"}),
        ("/v1/chat/completions", {}, {**chat, "response_format": schema}),
        ("/v1/chat/completions", {}, {**chat, **streamed,
                                      "stream_options": {"include_usage": True}}),
        ("/v1/chat/completions", {}, {**chat, **streamed, "tools": tools,
                                      "tool_choice": "required"}),
        ("/v1/responses", {}, responses),
        ("/v1/responses", {}, {**responses, "tools": flat_tools, "tool_choice": "required"}),
        ("/v1/responses", {}, {**responses, "text": {"format": {
            "type": "json_schema", "name": "routing", "schema": ROUTING_SCHEMA}}}),
        ("/v1/responses", {}, {**responses, **streamed}),
        ("/v1/responses", {}, {**responses, **streamed, "tools": flat_tools,
                               "tool_choice": "required"}),
        ("/v1/messages", version, messages),
        ("/v1/messages", version, {**messages, "tools": anthropic_tools,
                                   "tool_choice": {"type": "any"}}),
        ("/v1/messages", version, {**messages, **streamed}),
        ("/v1/messages", version, {**messages, **streamed, "tools": anthropic_tools,
                                   "tool_choice": {"type": "any"}}),
        ("/v1/chat/completions", {}, {**chat, "model": "no-such-model"}),
        ("/v1/messages", version, {**messages, "model": "no-such-model"}),
    ]


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: "):]) for line in text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


def wire() -> list[tuple[str, dict[str, Any], int, str]]:
    """(path, request body, status, response text) of each request; every answer in the
    second half of the run is a refusal."""
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[str, dict[str, Any], int, str]] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        for path, headers, body in requests_for(payload["messages"][0]["text"]):
            reply = ctx.http.post(ctx.base_urls["llm"] + path, json=body, headers=headers)
            seen.append((path, body, reply.status_code, reply.text))
        return "billing"

    result = sh.run(make_scenario(duration="1m", faults=[
        {"name": "refuses", "target": "llm", "kind": "refusal", "at": "30s"}]), agent=agent)
    assert result.records and all(r.status == "ok" for r in result.records), \
        [r.error for r in result.records if r.status != "ok"][:1]
    assert len(seen) == len(result.records) * len(requests_for(""))
    return seen


#: Fields the real API sends that the SDK's type does not model (the Responses API's
#: response object carries `store`, as its API reference shows).
UNMODELLED = {"Response": {"store"}}


def no_unknown_fields(value: Any, where: str = "") -> None:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        unknown = set(value.model_extra or {}) - UNMODELLED.get(type(value).__name__, set())
        assert not unknown, f"{where}: fields the SDK does not know: {sorted(unknown)}"
        for name in type(value).model_fields:
            no_unknown_fields(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            no_unknown_fields(item, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_unknown_fields(item, f"{where}.{key}")


def sdk_type(path: str, streamed: bool, status: int) -> Any:
    from anthropic.types import ErrorResponse, Message, RawMessageStreamEvent
    from openai.types.chat import ChatCompletion, ChatCompletionChunk
    from openai.types.responses import Response, ResponseStreamEvent

    if status >= 400:
        return ErrorResponse if path == "/v1/messages" else None
    return {("/v1/chat/completions", False): ChatCompletion,
            ("/v1/chat/completions", True): ChatCompletionChunk,
            ("/v1/responses", False): Response, ("/v1/responses", True): ResponseStreamEvent,
            ("/v1/messages", False): Message,
            ("/v1/messages", True): RawMessageStreamEvent}[path, streamed]


@functools.cache
def adapter(kind: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(kind)


def test_every_api_answers_in_its_providers_wire_format():
    from openai.types import ErrorObject

    seen = wire()

    assert {(status == 200) == (body["model"] != "no-such-model")
            for _, body, status, _ in seen} == {True}
    for path, body, status, text in seen:
        streamed = bool(body.get("stream")) and status == 200
        kind = sdk_type(path, streamed, status)
        documents = sse_events(text) if streamed else [json.loads(text)]
        assert documents
        for document in documents:
            if document == {"type": "ping"} and path == "/v1/messages":
                continue  # Anthropic's keep-alive event, which the SDK skips
            if kind is None:  # OpenAI's error body
                assert set(document) == {"error"}
                no_unknown_fields(ErrorObject.model_validate(document["error"]), path)
            else:
                no_unknown_fields(adapter(kind).validate_python(document),
                                  f"{path} {document.get('type', '')}")
            usage = (document.get("response") or document).get("usage") or {}
            if "total_tokens" in usage:  # the total is the sum of its parts
                parts = ("prompt_tokens", "completion_tokens") if "prompt_tokens" in usage \
                    else ("input_tokens", "output_tokens")
                assert usage["total_tokens"] == sum(usage[p] for p in parts)
    refused = [text for path, body, _, text in seen
               if path == "/v1/responses" and body.get("stream") and '"refusal"' in text]
    assert refused  # refusals were streamed too


def test_model_lists_and_embeddings_are_in_each_providers_wire_format():
    from anthropic.types import ModelInfo
    from conftest import make_scenario
    from openai.types import CreateEmbeddingResponse, Model

    import simharness as sh

    seen: dict[str, Any] = {}

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        llm, version = ctx.base_urls["llm"], {"anthropic-version": "2023-06-01"}
        get = lambda path, **kw: ctx.http.get(llm + path, **kw)  # noqa: E731
        seen.update(
            openai_list=get("/v1/models").json(), openai_one=get("/v1/models/large").json(),
            openai_missing=get("/v1/models/nope"),
            anthropic_list=get("/v1/models", headers=version).json(),
            anthropic_one=get("/v1/models/small", headers=version).json(),
            anthropic_missing=get("/v1/models/nope", headers=version),
            embeddings=ctx.http.post(llm + "/v1/embeddings", json={
                "model": "text-embedding-3-small", "input": ["refund please", "a crash"],
                "dimensions": 8}).json(),
            tokens=ctx.http.post(llm + "/v1/embeddings", json={
                "model": "text-embedding-3-small", "input": [[9906, 1917], [15339]]}).json(),
            list_type=ctx.http.get(llm + "/v1/models").headers.get("content-type"),
            one_type=ctx.http.get(llm + "/v1/models/small").headers.get("content-type"),
            unknown_embedding=ctx.http.post(llm + "/v1/embeddings", json={
                "model": "nope", "input": "x"}))
        return "billing"

    sh.run(make_scenario(duration="5s"), agent=agent)
    names = ["small", "large", "text-embedding-3-small", "text-embedding-3-large"]
    listed = seen["openai_list"]
    assert set(listed) == {"object", "data"} and listed["object"] == "list"
    assert {m["id"] for m in listed["data"]} >= set(names)
    for model in [*listed["data"], seen["openai_one"]]:
        no_unknown_fields(Model.model_validate(model), "/v1/models")
    assert seen["openai_one"]["id"] == "large"
    anthropic_list = seen["anthropic_list"]
    ids = [m["id"] for m in anthropic_list["data"]]
    assert set(ids) >= set(names) and anthropic_list["has_more"] is False
    assert (anthropic_list["first_id"], anthropic_list["last_id"]) == (ids[0], ids[-1])
    for model in [*anthropic_list["data"], seen["anthropic_one"]]:
        no_unknown_fields(ModelInfo.model_validate(model), "/v1/models (anthropic)")
    assert seen["anthropic_one"]["id"] == "small"
    missing = seen["openai_missing"]
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    assert missing.json()["error"]["code"] == "model_not_found"
    gone = seen["anthropic_missing"]
    assert gone.status_code == 404 and gone.json()["error"] == {
        "type": "not_found_error", "message": "model: nope"}
    embedded = CreateEmbeddingResponse.model_validate(seen["embeddings"])
    no_unknown_fields(embedded, "/v1/embeddings")
    assert [len(e.embedding) for e in embedded.data] == [8, 8]
    assert [e["index"] for e in seen["tokens"]["data"]] == [0, 1]  # token arrays in
    assert seen["list_type"] == seen["one_type"] == "application/json"
    unknown = seen["unknown_embedding"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    assert "text-embedding-3-small" in unknown.json()["error"]["message"]


def test_an_answer_longer_than_max_tokens_is_cut_there():
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        url = ctx.base_urls["llm"] + "/v1/chat/completions"
        body = {"model": "large", "messages": [{"role": "user",
                                                "content": payload["messages"][0]["text"]}]}
        whole = ctx.http.post(url, json=body).json()
        n = whole["usage"]["completion_tokens"]
        exact = ctx.http.post(url, json={**body, "max_tokens": n}).json()
        short = ctx.http.post(url, json={**body, "max_tokens": n - 1}).json()
        seen.append((n, whole, exact, short))
        return "billing"

    sh.run(make_scenario(duration="20s"), agent=agent)
    assert seen
    exactly = 0  # answers exactly max_tokens long, which are not cut
    for n, _, *limited in seen:
        assert n >= 8
        for limit, answer in zip((n, n - 1), limited, strict=True):
            used = answer["usage"]["completion_tokens"]
            content = answer["choices"][0]["message"]["content"]
            if answer["choices"][0]["finish_reason"] == "stop":
                assert used <= limit
                json.loads(content)  # whole
                exactly += used == limit
            else:
                assert answer["choices"][0]["finish_reason"] == "length" and used == limit
                assert content.startswith('{"route": "') and 0 < len(content) <= 4 * limit
                with pytest.raises(ValueError):
                    json.loads(content)
    assert exactly and any(a["choices"][0]["finish_reason"] == "length"
                           for _, _, _, a in seen)


def test_a_response_format_schema_is_billed_as_prompt_tokens():
    """A schema (and tool definitions) the request sends count as input, about four
    characters a token, on top of the prompt."""
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[int, int, int]] = []
    fmt = {"format": {"type": "json_schema", "name": "routing", "schema": ROUTING_SCHEMA}}
    tools = [{"type": "function", **LOOKUP}]

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        text = payload["messages"][0]["text"]

        def tokens(**extra: Any) -> int:
            reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/responses", json={
                "model": "large", "input": text, "tool_choice": "none", **extra})
            return int(reply.json()["usage"]["input_tokens"])

        seen.append((tokens(), tokens(text=fmt), tokens(text=fmt, tools=tools)))
        return "billing"

    sh.run(make_scenario(duration="10s"), agent=agent)
    schema_tokens = len(json.dumps(ROUTING_SCHEMA)) / 4
    tool_tokens = len(json.dumps(tools)) / 4
    assert seen
    for bare, with_schema, with_both in seen:
        assert with_schema - bare == pytest.approx(schema_tokens, abs=2)
        assert with_both - with_schema == pytest.approx(tool_tokens, abs=tool_tokens / 2)


def test_an_async_client_reaching_a_real_host_is_blocked_with_a_clear_error():
    import httpx
    from conftest import make_scenario

    import simharness as sh

    async def agent(payload: dict[str, Any], ctx: Any) -> str:
        async with httpx.AsyncClient() as client:
            await client.get("https://api.example.com/v1/models", timeout=5)
        return "billing"

    result = sh.run(make_scenario(duration="5s"), agent=agent)
    assert result.records
    assert all(r.status == "error" and "real network is disabled" in (r.error or "")
               for r in result.records)
    assert result.diagnostics["blocked_hosts"] == {"api.example.com": len(result.records)}


SLOW_TOKENS = {"llm": {"tiers": {"large": {"latency": {"dist": "fixed", "value": "1s"},
                                           "per_output_token": "500ms"}}}}


def test_a_streamed_answer_takes_as_long_as_the_same_answer_unstreamed():
    """Deltas come at the tier's pace per output token on every API, so streaming an
    answer does not make it arrive sooner."""
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[str, float, float, int]] = []
    version = {"anthropic-version": "2023-06-01"}

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        text = payload["messages"][0]["text"]
        for path, headers, body, usage in (
                ("/v1/chat/completions", {}, {"model": "large", "messages": [
                    {"role": "user", "content": text}]}, "completion_tokens"),
                ("/v1/responses", {}, {"model": "large", "input": text}, "output_tokens"),
                ("/v1/messages", version, {"model": "large", "max_tokens": 300, "messages": [
                    {"role": "user", "content": text}]}, "output_tokens")):
            start = ctx.now
            whole = ctx.http.post(ctx.base_urls["llm"] + path, json=body, headers=headers)
            plain = ctx.now - start
            start = ctx.now
            with ctx.http.stream("POST", ctx.base_urls["llm"] + path, headers=headers,
                                 json={**body, "stream": True}) as streamed:
                for _ in streamed.iter_lines():
                    pass
            seen.append((path, plain, ctx.now - start, whole.json()["usage"][usage]))
        return "billing"

    result = sh.run(make_scenario(duration="20s", world=SLOW_TOKENS), agent=agent)
    assert all(r.status == "ok" for r in result.records)
    assert {path for path, *_ in seen} == {"/v1/chat/completions", "/v1/responses",
                                           "/v1/messages"}
    for path, plain, streamed, tokens in seen:
        assert plain == pytest.approx(1.0 + 0.5 * tokens), path
        assert streamed == pytest.approx(plain, abs=0.5 * 3), path  # a few tokens of rounding


def responses_tool_turns(ctx: Any, text: str) -> tuple[list[Any], list[Any]]:
    """The Responses API: the functions called first, then those called once the first
    calls' outputs are in the input."""
    url = ctx.base_urls["llm"] + "/v1/responses"
    tools = [{"type": "function", **LOOKUP}, {"type": "function", **ROUTE}]
    first = ctx.http.post(url, json={"model": "large", "input": text, "tools": tools}).json()
    calls = [item for item in first["output"] if item["type"] == "function_call"]
    items = [{"role": "user", "content": text}, *calls,
             *({"type": "function_call_output", "call_id": c["call_id"],
                "output": json.dumps({"value": 10})} for c in calls)]
    second = ctx.http.post(url, json={"model": "large", "input": items,
                                      "tools": tools}).json()
    return ([c["name"] for c in calls],
            [item.get("name") for item in second["output"] if item["type"] == "function_call"])


def messages_tool_turns(ctx: Any, text: str) -> tuple[list[Any], list[Any]]:
    """The Messages API: the tools used first, then those used once tool results for the
    first uses follow the assistant's turn."""
    tools = [{"name": LOOKUP["name"], "description": LOOKUP["description"],
              "input_schema": LOOKUP["parameters"]},
             {"name": ROUTE["name"], "description": ROUTE["description"],
              "input_schema": ROUTING_SCHEMA}]
    url, version = ctx.base_urls["llm"] + "/v1/messages", {"anthropic-version": "2023-06-01"}
    ask = {"model": "large", "max_tokens": 300, "system": "You route tickets.", "tools": tools}
    first = ctx.http.post(url, headers=version, json={
        **ask, "messages": [{"role": "user", "content": text}]}).json()
    uses = [block for block in first["content"] if block["type"] == "tool_use"]
    second = ctx.http.post(url, headers=version, json={**ask, "messages": [
        {"role": "user", "content": text},
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": u["id"],
                                      "content": json.dumps({"value": 10})}
                                     for u in uses]}]}).json()
    return ([u["name"] for u in uses],
            [block["name"] for block in second["content"] if block["type"] == "tool_use"])


@pytest.mark.parametrize("turns", [responses_tool_turns, messages_tool_turns],
                         ids=["responses-function-call", "messages-tool-use"])
def test_a_tool_call_answered_by_its_result_is_not_called_again(turns: Any) -> None:
    from conftest import make_scenario

    import simharness as sh

    seen: list[Any] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        text = f"Customer {payload['customer']['id']}: {payload['messages'][0]['text']}"
        first, second = turns(ctx, text)
        assert first == ["lookup_customer"]
        seen.append(second)
        return "billing"

    result = sh.run(make_scenario(duration="10s"), agent=agent)
    assert all(r.status == "ok" for r in result.records), result.records[0].error
    assert seen and all(names == ["route_ticket"] for names in seen)


def test_responses_input_must_be_a_string_or_an_array():
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[int, int]] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        url = ctx.base_urls["llm"] + "/v1/responses"
        wrong = ctx.http.post(url, json={"model": "large", "input": 42})
        only_instructions = ctx.http.post(url, json={"model": "large",
                                                     "instructions": "Route tickets."})
        seen.append((wrong.status_code, only_instructions.status_code))
        assert "Invalid type for 'input'" in wrong.json()["error"]["message"]
        return "billing"

    result = sh.run(make_scenario(duration="5s"), agent=agent)
    assert all(r.status == "ok" for r in result.records)
    assert seen and set(seen) == {(400, 200)}


def test_a_forced_lookup_tool_is_called_with_the_customers_id():
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[str, Any, str]] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        customer = payload["customer"]["id"]
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "large", "tools": [{"type": "function", "function": LOOKUP},
                                        {"type": "function", "function": ROUTE}],
            "tool_choice": {"type": "function", "function": {"name": "lookup_customer"}},
            "messages": [{"role": "user", "content": f"Customer {customer}: "
                                                     f"{payload['messages'][0]['text']}"}]})
        call = reply.json()["choices"][0]["message"]["tool_calls"][0]["function"]
        seen.append((call["name"], json.loads(call["arguments"]), customer))
        return "billing"

    result = sh.run(make_scenario(duration="10s"), agent=agent)
    assert all(r.status == "ok" for r in result.records), result.records[0].error
    assert seen and all(name == "lookup_customer" and arguments == {"customer_id": customer}
                        for name, arguments, customer in seen)


def test_error_answers_a_fault_produces_carry_the_tiers_rate_limit_headers():
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[int, str | None]] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "large", "messages": [{"role": "user", "content": "hi"}]})
        seen.append((reply.status_code, reply.headers.get("x-ratelimit-limit-requests")))
        return "billing"

    sh.run(make_scenario(duration="40s", faults=[
        {"name": "small-context", "target": "llm.large", "kind": "context_overflow",
         "at": "0s", "duration": "20s"},
        {"name": "down", "target": "llm.large", "kind": "http_error", "status": 503,
         "at": "20s"}]), agent=agent)
    assert {status for status, _ in seen} == {400, 503}
    assert {limit for _, limit in seen} == {"1000"}  # the large tier's documented rpm


def test_flapping_in_a_repeating_window_starts_down_at_each_span():
    """A fault's own clock (flapping's period, here) starts again with each active span."""
    import httpx
    from conftest import make_scenario

    import simharness as sh

    seen: list[tuple[float, bool]] = []

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        start = ctx.now
        try:
            ctx.http.get(f"{ctx.base_urls['crm']}/customers/{payload['customer']['id']}")
            seen.append((start, False))
        except httpx.ConnectError:
            seen.append((start, True))
        return "billing"

    sh.run(make_scenario(duration="3m", traffic=[{"synthetic": {"rate": "1/s"}}], faults=[
        {"name": "flaps", "target": "tools.crm", "kind": "flapping", "period": "60s",
         "down": 0.5, "at": "0s", "every": "90s", "for": "60s"}]), agent=agent)
    for at, refused in seen:
        span = at // 90 * 90
        inside = at - span < 60
        assert refused == (inside and (at - span) % 60 < 30), at


def test_requests_to_a_simulated_host_says_to_use_httpx():
    requests = pytest.importorskip("requests")
    from conftest import make_scenario

    import simharness as sh

    def agent(payload: dict[str, Any], ctx: Any) -> str:
        requests.get(f"{ctx.base_urls['crm']}/customers/c-1", timeout=5)
        return "billing"

    result = sh.run(make_scenario(duration="5s"), agent=agent)
    assert result.records and all(
        r.status == "error" and "is simulated for httpx clients only; use httpx (or ctx.http) "
        "for it" in (r.error or "") for r in result.records)
