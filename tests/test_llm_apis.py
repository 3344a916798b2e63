"""The simulated model through the real openai and anthropic SDKs: every API, tools,
structured output, streaming, embeddings, rate-limit headers and errors in each
provider's own shape."""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
import numpy as np
import pytest
from conftest import make_scenario
from pydantic import BaseModel

import simharness as sh

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

ROUTES = ["billing", "technical", "account"]
STEADY = {"llm": {"tiers": {
    "small": {"latency": {"dist": "fixed", "value": "0.5s"}},
    "large": {"latency": {"dist": "fixed", "value": "1s"}, "per_output_token": "20ms"}}}}


def scenario(duration: str = "1m", faults: list[dict[str, Any]] | None = None,
             mix: dict[str, float] | None = None, rate: str = "0.25/s",
             world: dict[str, Any] | None = None, workers: int = 8) -> dict[str, Any]:
    traffic = [{"synthetic": {"rate": rate, "routes": ROUTES,
                              "mix": mix or {"high_value": 0.4}}}]
    return make_scenario(duration=duration, traffic=traffic, world=world or STEADY,
                         faults=faults or [], agent={"workers": workers})


class Routing(BaseModel):
    route: Literal["billing", "technical", "account"]
    escalate: bool
    confidence: float


LOOKUP = {"name": "lookup_customer", "description": "The customer's CRM record.",
          "parameters": {"type": "object", "required": ["customer_id"],
                         "properties": {"customer_id": {"type": "string"}}}}
ROUTE_TOOL = {"name": "route_ticket", "parameters": Routing.model_json_schema()}
CHAT_TOOLS = [{"type": "function", "function": LOOKUP},
              {"type": "function", "function": ROUTE_TOOL}]


def prompt(payload: dict[str, Any]) -> str:
    return f"Customer {payload['customer']['id']}: {payload['messages'][0]['text']}"


def openai_client(ctx: Any, **kw: Any) -> Any:
    return openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                         http_client=ctx.http, max_retries=0, **kw)


def crm(ctx: Any, customer_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = ctx.http.get(f"{ctx.base_urls['crm']}/customers/{customer_id}").json()
    return reply


def run_ok(data: dict[str, Any], agent: Any) -> sh.Result:
    """Run; every ticket must succeed (the first error is shown otherwise)."""
    result = sh.run(data, agent=agent)
    failed = [r for r in result.records if r.status != "ok"]
    assert not failed, failed[0].error
    assert result.records
    return result


def routed(result: sh.Result) -> list[tuple[str, list[str], bool]]:
    return [(r.ticket_id, r.pred_route, r.pred_escalate) for r in result.records]


# -- OpenAI chat completions ----------------------------------------------------------

def chat_tool_agent(seen: list[Any]) -> Any:
    def agent(payload, ctx):
        client = openai_client(ctx)
        messages: list[Any] = [{"role": "user", "content": prompt(payload)}]
        for _ in range(4):
            reply = client.chat.completions.create(model="large", messages=messages,
                                                   tools=CHAT_TOOLS)
            message = reply.choices[0].message
            seen.append([(c.function.name, json.loads(c.function.arguments))
                         for c in message.tool_calls or []])
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls or []:
                if call.function.name == "route_ticket":
                    answer = Routing.model_validate_json(call.function.arguments)
                    return sh.Decision(route=answer.route, escalate=answer.escalate)
                record = crm(ctx, json.loads(call.function.arguments)["customer_id"])
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": json.dumps(record)})
        raise AssertionError("no route_ticket call")

    return agent


def test_a_tool_agent_looks_the_customer_up_first_and_escalates_from_the_crm():
    seen: list[Any] = []
    result = run_ok(scenario(), chat_tool_agent(seen))
    assert seen[0][0][0] == "lookup_customer"
    assert seen[0][0][1]["customer_id"].startswith("C")
    assert seen[1][0][0] == "route_ticket"
    escalation = result.metrics["escalation"]
    assert any(r.true_escalate for r in result.records)
    assert escalation["precision"] == escalation["recall"] == 1.0


def test_the_lookup_turn_draws_no_luck_so_the_answer_matches_a_one_call_agent():
    def one_call(payload, ctx):
        reply = openai_client(ctx).chat.completions.create(
            model="large", messages=[{"role": "user", "content": prompt(payload)}],
            tools=[{"type": "function", "function": ROUTE_TOOL}])
        arguments = json.loads(reply.choices[0].message.tool_calls[0].function.arguments)
        return arguments["route"]

    with_lookup = sh.run(scenario(), agent=chat_tool_agent([]))
    without = sh.run(scenario(), agent=one_call)
    assert [r[1] for r in routed(with_lookup)] == [r[1] for r in routed(without)]


def test_async_tool_agent_runs_the_same_loop():
    async def agent(payload, ctx):
        client = openai.AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                    http_client=ctx.http, max_retries=0)
        messages: list[Any] = [{"role": "user", "content": prompt(payload)}]
        while True:
            message = (await client.chat.completions.create(
                model="large", messages=messages, tools=CHAT_TOOLS)).choices[0].message
            messages.append(message.model_dump(exclude_none=True))
            call = message.tool_calls[0]
            if call.function.name == "route_ticket":
                answer = Routing.model_validate_json(call.function.arguments)
                return sh.Decision(route=answer.route, escalate=answer.escalate)
            reply = await ctx.http.get(f"{ctx.base_urls['crm']}/customers/"
                                       f"{json.loads(call.function.arguments)['customer_id']}")
            messages.append({"role": "tool", "tool_call_id": call.id, "content": reply.text})

    sync = sh.run(scenario(), agent=chat_tool_agent([]))
    result = run_ok(scenario(), agent)
    assert routed(result) == routed(sync)


def test_tool_choice_none_required_forced_and_legacy_functions():
    seen: dict[str, Any] = {}

    def agent(payload, ctx):
        client = openai_client(ctx)
        messages = [{"role": "user", "content": prompt(payload)}]
        none = client.chat.completions.create(model="small", messages=messages,
                                              tools=CHAT_TOOLS, tool_choice="none")
        seen["none"] = (none.choices[0].message.tool_calls, none.choices[0].message.content)
        weather = {"type": "function", "function": {"name": "weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]}}}
        required = client.chat.completions.create(model="small", messages=messages,
                                                  tools=[weather], tool_choice="required")
        seen["required"] = required.choices[0].message.tool_calls[0].function
        forced = client.chat.completions.create(
            model="small", messages=messages, tools=CHAT_TOOLS,
            tool_choice={"type": "function", "function": {"name": "route_ticket"}})
        seen["forced"] = forced.choices[0].message.tool_calls
        legacy = client.chat.completions.create(
            model="small", messages=messages, functions=[ROUTE_TOOL],
            function_call={"name": "route_ticket"})
        seen["legacy"] = (legacy.choices[0].finish_reason,
                          legacy.choices[0].message.function_call)
        return "billing"

    run_ok(scenario("3s", rate="2/s", workers=1), agent=agent)
    calls, content = seen["none"]
    assert calls is None and json.loads(content)["route"] in ROUTES
    assert seen["required"].name == "weather"
    assert json.loads(seen["required"].arguments) == {"city": "unknown"}
    assert [c.function.name for c in seen["forced"]] == ["route_ticket"]
    finish, call = seen["legacy"]
    assert finish == "function_call" and Routing.model_validate_json(call.arguments)


def test_parallel_lookups_unless_the_request_forbids_them():
    order = {"name": "lookup_order", "parameters": {"type": "object", "properties": {
        "order_id": {"type": "string"}}, "required": ["order_id"]}}
    tools = [*CHAT_TOOLS, {"type": "function", "function": order}]
    seen: list[Any] = []

    def agent(payload, ctx):
        messages = [{"role": "user", "content": prompt(payload) + " About order #1234567."}]
        client = openai_client(ctx)
        for parallel in (True, False):
            reply = client.chat.completions.create(model="small", messages=messages,
                                                   tools=tools, parallel_tool_calls=parallel)
            seen.append([c.function.name for c in reply.choices[0].message.tool_calls])
        return "billing"

    run_ok(scenario("3s", rate="2/s", workers=1), agent=agent)
    assert seen[0] == ["lookup_customer", "lookup_order"]
    assert seen[1] == ["lookup_customer"]


def test_parse_fills_the_pydantic_model_and_a_single_route_field_gets_one_label():
    parsed: list[Routing] = []

    def agent(payload, ctx):
        reply = openai_client(ctx).chat.completions.parse(
            model="large", messages=[{"role": "user", "content": prompt(payload)}],
            response_format=Routing)
        parsed.append(reply.choices[0].message.parsed)
        return parsed[-1].route

    result = run_ok(scenario("2m", mix={"multi_issue": 0.5}), agent)
    assert all(isinstance(p, Routing) for p in parsed)
    assert any("multi_issue" in r.tags for r in result.records)


def test_json_mode_and_a_schema_spelled_out_in_the_prompt():
    answers: list[Any] = []
    schema = json.dumps({"type": "object", "required": ["team", "urgent"], "properties": {
        "team": {"enum": ROUTES}, "urgent": {"type": "boolean"}}})

    def agent(payload, ctx):
        client = openai_client(ctx)
        messages = [{"role": "user", "content": prompt(payload)}]
        plain = client.chat.completions.create(model="small", messages=messages,
                                               response_format={"type": "json_object"})
        answers.append(json.loads(plain.choices[0].message.content))
        spelled = client.chat.completions.create(
            model="small", response_format={"type": "json_object"},
            messages=[{"role": "system", "content": f"Answer with JSON matching {schema}"},
                      *messages])
        answers.append(json.loads(spelled.choices[0].message.content))
        return "billing"

    run_ok(scenario("3s", rate="2/s", workers=1), agent=agent)
    assert set(answers[0]) == {"route", "confidence"}
    assert set(answers[1]) == {"team", "urgent"} and answers[1]["team"] in ROUTES


# -- streaming ----------------------------------------------------------------------------

def test_a_stream_arrives_over_simulated_time_and_ends_with_usage_and_done():
    seen: list[Any] = []

    def agent(payload, ctx):
        client = openai_client(ctx)
        start = ctx.now
        chunks, times = [], []
        for chunk in client.chat.completions.create(
                model="large", messages=[{"role": "user", "content": prompt(payload)}],
                stream=True, stream_options={"include_usage": True}):
            chunks.append(chunk)
            times.append(ctx.now - start)
        with client.chat.completions.with_streaming_response.create(
                model="large", messages=[{"role": "user", "content": "hi"}],
                stream=True) as raw:
            lines = [line for line in raw.iter_lines() if line]
        seen.append((chunks, times, lines))
        return json.loads("".join(c.choices[0].delta.content or "" for c in chunks
                                  if c.choices))["route"]

    run_ok(scenario("30s"), agent)
    chunks, times, lines = seen[0]
    assert times[0] == pytest.approx(1.0)  # the tier's latency: time to first token
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage.completion_tokens > 5
    # every output token takes the tier's 20 ms
    assert times[-1] == pytest.approx(1.0 + 0.02 * usage.completion_tokens, abs=0.05)
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert lines[-1] == "data: [DONE]"


def test_stream_helpers_sync_and_async_parse_content_and_tool_arguments():
    seen: list[Any] = []

    def agent(payload, ctx):
        client = openai_client(ctx)
        messages = [{"role": "user", "content": prompt(payload)}]
        with client.chat.completions.stream(model="large", messages=messages,
                                            response_format=Routing) as stream:
            kinds = {event.type for event in stream}
            seen.append(("content", kinds, stream.get_final_completion()))
        with client.chat.completions.stream(
                model="large", messages=messages, tools=[openai.pydantic_function_tool(
                    Routing, name="route_ticket")]) as stream:
            kinds = {event.type for event in stream}
            seen.append(("tools", kinds, stream.get_final_completion()))
        return "billing"

    async def async_agent(payload, ctx):
        client = openai.AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                    http_client=ctx.http, max_retries=0)
        async with client.chat.completions.stream(
                model="large", messages=[{"role": "user", "content": prompt(payload)}],
                response_format=Routing) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_completion()
        seen.append(("async", None, final))
        return final.choices[0].message.parsed.route

    run_ok(scenario("3s", rate="2/s", workers=1), agent=agent)
    run_ok(scenario("3s", rate="2/s", workers=1), agent=async_agent)
    (_, content_kinds, content), (_, tool_kinds, tools), (_, _, final) = seen[:3]
    assert "content.delta" in content_kinds
    assert isinstance(content.choices[0].message.parsed, Routing)
    assert "tool_calls.function.arguments.delta" in tool_kinds
    call = tools.choices[0].message.tool_calls[0]
    assert isinstance(call.function.parsed_arguments, Routing)
    assert isinstance(final.choices[0].message.parsed, Routing)


# -- OpenAI Responses ---------------------------------------------------------------------

def test_responses_create_parse_and_stream_with_a_function_call_round_trip():
    seen: list[Any] = []
    lookup = {"type": "function", **LOOKUP}

    def agent(payload, ctx):
        client = openai_client(ctx)
        items: list[Any] = [{"role": "user", "content": prompt(payload)}]
        first = client.responses.create(model="large", instructions="Route the ticket.",
                                        input=items, tools=[lookup])
        call = first.output[0]
        seen.append(("first", call.type, json.loads(call.arguments)))
        items += [call.model_dump(exclude_none=True),
                  {"type": "function_call_output", "call_id": call.call_id,
                   "output": json.dumps(crm(ctx, json.loads(call.arguments)["customer_id"]))}]
        parsed = client.responses.parse(model="large", instructions="Route the ticket.",
                                        input=items, tools=[lookup], text_format=Routing)
        with client.responses.stream(model="large", input=items, tools=[lookup],
                                     text_format=Routing) as stream:
            kinds = [event.type for event in stream]
            streamed = stream.get_final_response()
        follow_up = client.responses.create(model="small", input="Thanks!",
                                            previous_response_id=parsed.id)
        seen.append(("rest", parsed, kinds, streamed, follow_up))
        answer = parsed.output_parsed
        return sh.Decision(route=answer.route, escalate=answer.escalate)

    result = run_ok(scenario(), agent)
    assert result.metrics["escalation"]["recall"] == 1.0
    _, kind, arguments = seen[0]
    assert kind == "function_call" and arguments["customer_id"].startswith("C")
    _, parsed, kinds, streamed, follow_up = seen[1]
    assert isinstance(parsed.output_parsed, Routing) and parsed.usage.input_tokens > 0
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert isinstance(streamed.output_parsed, Routing)
    assert follow_up.status == "completed" and follow_up.output_text


def test_responses_faults_and_unknown_previous_response():
    def agent(payload, ctx):
        client = openai_client(ctx)
        with pytest.raises(openai.BadRequestError):
            client.responses.create(model="large", input="x", previous_response_id="resp_nope")
        client.responses.create(model="large", input=prompt(payload))
        return "billing"

    outage = sh.run(scenario("2m", faults=[{"name": "down", "target": "llm", "kind": "outage",
                                            "at": "1m"}]), agent=agent)
    errors = [r.error for r in outage.records if r.status == "error"]
    assert errors and all("APIConnectionError" in e for e in errors)
    assert all(r.status == "ok" for r in outage.records if r.arrived_at < 55)


# -- Anthropic Messages -------------------------------------------------------------------

ANTHROPIC_TOOLS = [{"name": LOOKUP["name"], "description": LOOKUP["description"],
                    "input_schema": LOOKUP["parameters"]},
                   {"name": "route_ticket", "input_schema": Routing.model_json_schema()}]


def anthropic_agent(seen: list[Any], stream: bool = False) -> Any:
    def agent(payload, ctx):
        client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                     http_client=ctx.httpx2, max_retries=0)
        messages: list[Any] = [{"role": "user", "content": prompt(payload)}]
        for _ in range(3):
            kwargs = {"model": "large", "max_tokens": 512, "system": "Route the ticket.",
                      "messages": messages, "tools": ANTHROPIC_TOOLS,
                      "tool_choice": {"type": "any"}}
            if stream:
                with client.messages.stream(**kwargs) as events:
                    kinds = {event.type for event in events}
                    message = events.get_final_message()
                seen.append(kinds)
            else:
                message = client.messages.create(**kwargs)
            seen.append((message.stop_reason, [(b.type, b.name) for b in message.content]))
            messages.append({"role": "assistant", "content": [b.model_dump()
                                                              for b in message.content]})
            block = message.content[0]
            if block.name == "route_ticket":
                answer = Routing.model_validate(block.input)
                return sh.Decision(route=answer.route, escalate=answer.escalate)
            messages.append({"role": "user", "content": [{
                "type": "tool_result", "tool_use_id": block.id,
                "content": json.dumps(crm(ctx, block.input["customer_id"]))}]})
        raise AssertionError("no route_ticket call")

    return agent


def test_anthropic_messages_with_tools_through_ctx_httpx2():
    seen: list[Any] = []
    result = run_ok(scenario(), anthropic_agent(seen))
    assert seen[0] == ("tool_use", [("tool_use", "lookup_customer")])
    assert seen[1] == ("tool_use", [("tool_use", "route_ticket")])
    assert result.metrics["escalation"]["recall"] == 1.0
    assert routed(result) == routed(sh.run(scenario(), agent=chat_tool_agent([])))


def test_anthropic_messages_stream_with_input_json_deltas():
    seen: list[Any] = []
    run_ok(scenario("20s"), anthropic_agent(seen, stream=True))
    kinds = seen[0]
    assert {"message_start", "content_block_start", "input_json", "message_stop"} <= kinds


@pytest.mark.parametrize(("fault", "error", "status"), [
    ({"kind": "rate_limit", "retry_after": "7s"}, "RateLimitError", 429),
    ({"kind": "http_error", "status": 529}, "OverloadedError", 529),
    ({"kind": "http_error", "status": 500}, "InternalServerError", 500),
    ({"kind": "context_overflow"}, "BadRequestError", 400),
])
def test_anthropic_errors_arrive_as_the_sdks_own_classes(fault, error, status):
    seen: list[Any] = []

    def agent(payload, ctx):
        client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                     max_retries=0)  # the SDK's own httpx2 client
        try:
            client.messages.create(model="large", max_tokens=64,
                                   messages=[{"role": "user", "content": prompt(payload)}])
        except anthropic.APIStatusError as exc:
            seen.append((type(exc).__name__, exc.status_code, exc.body, exc.response.headers))
        return "billing"

    fault = {"name": "f", "target": "llm", **fault}
    run_ok(scenario("3s", rate="2/s", workers=1, faults=[fault]), agent)
    name, code, body, headers = seen[0]
    assert (name, code) == (error, status)
    assert body["type"] == "error" and body["error"]["type"] in (
        "rate_limit_error", "overloaded_error", "api_error", "invalid_request_error")
    if status == 429:
        assert headers["retry-after"] == "7"


def test_anthropic_rate_limit_headers_and_the_tiers_own_429():
    seen: list[Any] = []

    def agent(payload, ctx):
        client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                     http_client=ctx.httpx2, max_retries=0)
        try:
            raw = client.messages.with_raw_response.create(
                model="small", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
            seen.append(raw.headers)
        except anthropic.RateLimitError as exc:
            seen.append(exc)
        return "billing"

    world = {"llm": {"tiers": {"small": {"rpm": 3}}}}
    run_ok(make_scenario(duration="20s", world=world), agent)
    first = seen[0]
    assert first["anthropic-ratelimit-requests-limit"] == "3"
    assert first["anthropic-ratelimit-requests-remaining"] == "2"
    assert first["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert isinstance(seen[3], anthropic.RateLimitError)
    assert int(seen[3].response.headers["retry-after"]) > 0


def test_openai_rate_limit_headers_count_down():
    seen: list[Any] = []

    def agent(payload, ctx):
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "small", "messages": [{"role": "user", "content": "hi"}]})
        seen.append(reply.headers)
        return "billing"

    run_ok(make_scenario(duration="5s"), agent)
    remaining = [int(h["x-ratelimit-remaining-requests"]) for h in seen]
    assert seen[0]["x-ratelimit-limit-requests"] == "3000"
    assert remaining == list(range(2999, 2999 - len(seen), -1))
    assert seen[0]["x-ratelimit-reset-requests"].endswith("s")


# -- embeddings and models ---------------------------------------------------------------

def test_embeddings_put_texts_about_one_route_close_together():
    vectors: list[tuple[str, Any]] = []
    lengths: list[int] = []

    def agent(payload, ctx):
        client = openai_client(ctx)
        text = payload["messages"][0]["text"]
        reply = client.embeddings.create(model="text-embedding-3-small", input=text,
                                         dimensions=128)
        vectors.append((payload["id"], np.array(reply.data[0].embedding)))
        raw = ctx.http.post(ctx.base_urls["llm"] + "/v1/embeddings", json={
            "model": "text-embedding-3-large", "input": [text, "hello"]}).json()
        lengths.append(len(raw["data"][1]["embedding"]))
        return "billing"

    result = run_ok(scenario("4m", mix={"high_value": 0.0}), agent)
    truth = {r.ticket_id: r.true_route for r in result.records}
    labels = [truth[i] for i, _ in vectors]
    matrix = np.array([v for _, v in vectors])
    assert matrix.shape[1] == 128 and np.allclose(np.linalg.norm(matrix, axis=1), 1.0)
    assert lengths[0] == 3072
    similarity = matrix @ matrix.T
    np.fill_diagonal(similarity, -2)
    nearest = similarity.argmax(axis=1)
    hits = np.mean([labels[i] == labels[j] for i, j in enumerate(nearest)])
    assert hits > 0.8
    assert result.metrics["cost"]["tokens_in"] > 0 and result.metrics["cost"]["total_usd"] > 0


def test_models_list_names_tiers_aliases_and_embedding_models():
    names: list[Any] = []

    def agent(payload, ctx):
        names.append([m.id for m in openai_client(ctx).models.list()])
        names.append([m.id for m in anthropic.Anthropic(
            base_url=ctx.base_urls["llm"], api_key="sim", http_client=ctx.httpx2).models.list()])
        return "billing"

    world = {"llm": {"tiers": {"small": {"aliases": ["gpt-4o-mini"]}}}}
    run_ok(scenario("3s", rate="2/s", workers=1, world=world), agent)
    assert names[0] == names[1] == ["small", "gpt-4o-mini", "text-embedding-3-small",
                                    "text-embedding-3-large"]


# -- the plain call is unchanged -----------------------------------------------------------

def test_a_plain_chat_completion_answers_as_before():
    bodies: list[Any] = []

    def agent(payload, ctx):
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "large", "messages": [{"role": "user", "content": prompt(payload)}]})
        bodies.append(reply.json())
        return "billing"

    run_ok(scenario("3s", rate="2/s", workers=1), agent)
    body = bodies[0]
    message = body["choices"][0]["message"]
    assert set(message) == {"role", "content"}
    assert set(json.loads(message["content"])) == {"route", "confidence"}
    assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "stop"


def test_unknown_paths_and_bad_bodies_are_clear_errors():
    seen: list[Any] = []

    def agent(payload, ctx):
        base = ctx.base_urls["llm"]
        seen.append(ctx.http.post(base + "/v1/completions", json={}).json())
        seen.append(ctx.http.post(base + "/v1/messages", json={"model": "large", "messages": []},
                                  headers={"anthropic-version": "2023-06-01"}).json())
        seen.append(ctx.http.post(base + "/v1/chat/completions", json={
            "model": "large", "messages": [], "tools": CHAT_TOOLS,
            "tool_choice": {"type": "function", "function": {"name": "nope"}}}).json())
        return "billing"

    run_ok(scenario("3s", rate="2/s", workers=1), agent)
    assert seen[0]["error"]["code"] == "unknown_url"
    assert seen[1] == {"type": "error", "error": {"type": "invalid_request_error",
                                                  "message": "max_tokens: Field required"},
                       "request_id": None}
    assert "tool_choice" in seen[2]["error"]["message"]


def test_timeouts_still_apply_per_gap_of_a_stream():
    seen: list[Any] = []

    def agent(payload, ctx):
        start = ctx.now
        try:
            with ctx.http.stream("POST", ctx.base_urls["llm"] + "/v1/chat/completions",
                                 timeout=httpx.Timeout(5.0), json={
                                     "model": "large", "stream": True,
                                     "messages": [{"role": "user", "content": "hi"}]}) as r:
                r.read()
        except httpx.ReadTimeout:
            seen.append(ctx.now - start)
        return "billing"

    stall = {"name": "stall", "target": "llm", "kind": "stream_stall", "gap": "1m"}
    run_ok(scenario("3s", rate="2/s", workers=1, faults=[stall]), agent)
    assert seen and all(1.0 < took < 7.0 for took in seen)


def test_network_faults_reach_embeddings_and_async_httpx2_clients():
    seen: list[Any] = []

    async def agent(payload, ctx):
        client = anthropic.AsyncAnthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                          http_client=ctx.httpx2, max_retries=0)
        try:
            await client.messages.create(model="small", max_tokens=32,
                                         messages=[{"role": "user", "content": "hi"}])
        except anthropic.APIConnectionError as exc:
            seen.append(type(exc).__name__)
        embeddings = openai.AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                        http_client=ctx.http, max_retries=0).embeddings
        try:
            await embeddings.create(model="text-embedding-3-small", input="hi")
        except openai.APIConnectionError as exc:
            seen.append(type(exc).__name__)
        return "billing"

    down = {"name": "down", "target": "llm", "kind": "outage"}
    run_ok(scenario("3s", rate="2/s", workers=1, faults=[down]), agent)
    assert seen[:2] == ["APIConnectionError", "APIConnectionError"]


def test_escalation_reads_the_customers_value_not_the_policy_quoted_in_the_prompt():
    policy = "Escalate when the account value is 100,000 or more (account value: 100000)."
    seen: list[Any] = []

    def agent(payload, ctx):
        client = openai_client(ctx)
        record = crm(ctx, payload["customer"]["id"])
        for pasted in ("", f"\nCRM record: {json.dumps(record)}"):
            reply = client.chat.completions.create(model="large", tools=CHAT_TOOLS, messages=[
                {"role": "system", "content": policy},
                {"role": "user", "content": prompt(payload) + pasted}])
            call = reply.choices[0].message.tool_calls[0]
            seen.append((pasted != "", call.function.name, json.loads(call.function.arguments),
                         record["account_value"] >= 100000))
        return "billing"

    run_ok(scenario("20s", rate="1/s", mix={"high_value": 0.5}), agent)
    for pasted, name, arguments, high_value in seen:
        if not pasted:
            assert name == "lookup_customer"  # the quoted threshold is not the customer's
        else:
            assert name == "route_ticket"  # the record is in the prompt: no lookup
            assert arguments["escalate"] is high_value
    assert any(high_value for *_, high_value in seen)
    assert not all(high_value for *_, high_value in seen)
