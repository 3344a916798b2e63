"""Every LLM fault reaches every API the way that API would deliver it, and the SDKs
react with their own exceptions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import make_scenario
from pydantic import ValidationError

import simharness as sh

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

from test_llm_apis import ANTHROPIC_TOOLS, ROUTE_TOOL, Routing, prompt  # noqa: E402


def outcome(fn: Any) -> Any:
    """What the agent saw: a value, or the name of the exception it got."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 (the test inspects which one)
        return type(exc).__name__


def chat_parse(payload: dict[str, Any], ctx: Any) -> Any:
    client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                           http_client=ctx.http, max_retries=0)
    reply = client.chat.completions.parse(
        model="large", messages=[{"role": "user", "content": prompt(payload)}],
        response_format=Routing)
    message = reply.choices[0].message
    return ("refusal", message.content) if message.refusal else message.parsed


def chat_tool(payload: dict[str, Any], ctx: Any) -> Any:
    client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                           http_client=ctx.http, max_retries=0)
    reply = client.chat.completions.create(
        model="large", messages=[{"role": "user", "content": prompt(payload)}],
        tools=[{"type": "function", "function": ROUTE_TOOL}],
        tool_choice={"type": "function", "function": {"name": "route_ticket"}})
    calls = reply.choices[0].message.tool_calls
    if not calls:
        return ("no tool call", reply.choices[0].message.content)
    if calls[0].function.name != "route_ticket":
        return ("unknown tool", calls[0].function.name)
    return Routing.model_validate(json.loads(calls[0].function.arguments))


def responses_parse(payload: dict[str, Any], ctx: Any) -> Any:
    client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                           http_client=ctx.http, max_retries=0)
    reply = client.responses.parse(model="large", input=prompt(payload), text_format=Routing)
    part = reply.output[0].content[0]
    return ("refusal", part.refusal) if part.type == "refusal" else reply.output_parsed


def anthropic_tool(payload: dict[str, Any], ctx: Any) -> Any:
    client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                 http_client=ctx.httpx2, max_retries=0)
    message = client.messages.create(
        model="large", max_tokens=256, messages=[{"role": "user", "content": prompt(payload)}],
        tools=ANTHROPIC_TOOLS[1:], tool_choice={"type": "tool", "name": "route_ticket"})
    if message.stop_reason == "refusal":
        return ("refusal", message.content[0].text)
    blocks = [b for b in message.content if b.type == "tool_use"]
    if not blocks:
        return ("no tool call", message.stop_reason)
    if blocks[0].name != "route_ticket":
        return ("unknown tool", blocks[0].name)
    return Routing.model_validate(blocks[0].input)


APIS = {"chat_parse": chat_parse, "chat_tool": chat_tool, "responses_parse": responses_parse,
        "anthropic_tool": anthropic_tool}


def under_fault(api: str, fault: dict[str, Any]) -> list[Any]:
    seen: list[Any] = []

    def agent(payload, ctx):
        seen.append(outcome(lambda: APIS[api](payload, ctx)))
        return "billing"

    traffic = [{"synthetic": {"rate": "2/s", "routes": ["billing", "technical", "account"]}}]
    sh.run(make_scenario(duration="3s", traffic=traffic, agent={"workers": 1},
                         faults=[{"name": "f", "target": "llm", **fault}]), agent=agent)
    assert seen
    return seen


def kinds(seen: list[Any]) -> set[Any]:
    return {s if isinstance(s, str) else s[0] if isinstance(s, tuple) else type(s).__name__
            for s in seen}


@pytest.mark.parametrize("api", list(APIS))
def test_without_faults_every_api_answers_with_a_valid_routing(api):
    assert kinds(under_fault(api, {"kind": "degraded", "factor": 1.0})) == {"Routing"}


@pytest.mark.parametrize("api", list(APIS))
def test_a_refusal_is_each_apis_refusal(api):
    expected = {"chat_parse": {"refusal"}, "chat_tool": {"no tool call"},
                "responses_parse": {"refusal"}, "anthropic_tool": {"refusal"}}[api]
    assert kinds(under_fault(api, {"kind": "refusal"})) == expected


@pytest.mark.parametrize("api", list(APIS))
def test_wrong_fields_and_off_taxonomy_labels_fail_validation(api):
    for kind in ("wrong_schema", "off_taxonomy"):
        seen = under_fault(api, {"kind": kind})
        assert kinds(seen) == {"ValidationError"}, (kind, seen)


@pytest.mark.parametrize("api", ["chat_parse", "chat_tool", "responses_parse"])
def test_broken_json_reaches_content_and_tool_arguments(api):
    seen = under_fault(api, {"kind": "invalid_json", "mode": "prose"})
    assert kinds(seen) <= {"ValidationError", "JSONDecodeError"}


def test_broken_tool_arguments_in_a_whole_anthropic_message_come_as_an_empty_input():
    seen = under_fault("anthropic_tool", {"kind": "malformed_arguments"})
    assert kinds(seen) == {"ValidationError"}


def test_empty_completions_have_no_tool_call():
    assert kinds(under_fault("chat_tool", {"kind": "empty_completion"})) == {"no tool call"}
    assert kinds(under_fault("anthropic_tool", {"kind": "empty_completion"})) == {
        "no tool call"}


@pytest.mark.parametrize("api", ["chat_tool", "anthropic_tool"])
def test_tool_faults_name_an_unknown_tool_break_or_drop_arguments(api):
    assert kinds(under_fault(api, {"kind": "unknown_tool"})) == {"unknown tool"}
    assert kinds(under_fault(api, {"kind": "missing_argument"})) == {"ValidationError"}
    broken = kinds(under_fault(api, {"kind": "malformed_arguments"}))
    assert broken == ({"JSONDecodeError"} if api == "chat_tool" else {"ValidationError"})


def test_tool_faults_leave_answers_without_tool_calls_alone():
    result_seen = under_fault("chat_parse", {"kind": "unknown_tool"})
    assert kinds(result_seen) == {"Routing"}


def test_a_fault_touches_only_tickets_it_changed():
    def agent(payload, ctx):
        outcome(lambda: chat_parse(payload, ctx))
        return "billing"

    traffic = [{"synthetic": {"rate": "2/s", "routes": ["billing", "technical"]}}]
    result = sh.run(make_scenario(duration="3s", traffic=traffic, faults=[
        {"name": "tools", "target": "llm", "kind": "malformed_arguments"},
        {"name": "streams", "target": "llm", "kind": "stream_disconnect"},
        {"name": "refuses", "target": "llm", "kind": "refusal"}]), agent=agent)
    assert result.metrics["faults"]["tools"] == result.metrics["faults"]["streams"] == 0
    assert result.metrics["faults"]["refuses"] == len(result.records)


# -- streams -------------------------------------------------------------------------------

def chat_stream(payload: dict[str, Any], ctx: Any) -> Any:
    client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                           http_client=ctx.http, max_retries=0, timeout=30)
    chunks = list(client.chat.completions.create(
        model="large", messages=[{"role": "user", "content": prompt(payload)}], stream=True))
    finish = chunks[-1].choices[0].finish_reason if chunks and chunks[-1].choices else None
    return ("finished" if finish else "unfinished", len(chunks))


def responses_stream(payload: dict[str, Any], ctx: Any) -> Any:
    client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                           max_retries=0, timeout=30)  # the SDK's own httpx2 client
    with client.responses.stream(model="large", input=prompt(payload)) as stream:
        for _ in stream:
            pass
        return ("finished", stream.get_final_response().status)


def anthropic_stream(payload: dict[str, Any], ctx: Any) -> Any:
    client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim",
                                 http_client=ctx.httpx2, max_retries=0, timeout=30)
    with client.messages.stream(model="large", max_tokens=256, messages=[
            {"role": "user", "content": prompt(payload)}]) as stream:
        for _ in stream:
            pass
        message = stream.get_final_message()
    return ("finished" if message.stop_reason else "unfinished", message.stop_reason)


STREAMS = {"chat": chat_stream, "responses": responses_stream, "anthropic": anthropic_stream}


def streamed(api: str, fault: dict[str, Any]) -> list[Any]:
    seen: list[Any] = []

    def agent(payload, ctx):
        start = ctx.now
        seen.append((outcome(lambda: STREAMS[api](payload, ctx)), ctx.now - start))
        return "billing"

    traffic = [{"synthetic": {"rate": "2/s", "routes": ["billing", "technical"]}}]
    sh.run(make_scenario(duration="3s", traffic=traffic, agent={"workers": 1},
                         faults=[{"name": "f", "target": "llm", **fault}]), agent=agent)
    assert seen
    return seen


@pytest.mark.parametrize("api", list(STREAMS))
def test_stream_faults_reach_each_sdk(api):
    clean = {s[0][0] for s in streamed(api, {"kind": "degraded", "factor": 1.0})}
    assert clean == {"finished"}
    dropped = {s[0] for s in streamed(api, {"kind": "stream_disconnect"})}
    assert dropped == {"RemoteProtocolError"}
    stalled = streamed(api, {"kind": "stream_stall", "gap": "2m"})
    assert {s[0] for s in stalled} == {"ReadTimeout"}
    assert all(30 < took < 40 for _, took in stalled)
    slow = streamed(api, {"kind": "slow_first_token", "delay": "10s"})
    assert all(not isinstance(s, str) and took > 10 for s, took in slow)
    corrupt = {s[0] for s in streamed(api, {"kind": "stream_corrupt"})}
    assert corrupt <= {"JSONDecodeError", "ValueError", "ValidationError"}, corrupt
    cut = {s[0] if isinstance(s[0], str) else s[0][0]
           for s in streamed(api, {"kind": "stream_truncate"})}
    assert "finished" not in cut


def test_a_truncated_chat_stream_has_no_finish_reason_nor_done():
    seen = streamed("chat", {"kind": "stream_truncate"})
    assert {s[0][0] for s in seen} == {"unfinished"}


def test_validation_error_is_pydantics():
    # The schema answers above fail in pydantic, as they would in production.
    with pytest.raises(ValidationError):
        Routing.model_validate({"category": "billing"})


def test_the_client_audit_flags_an_agent_that_answers_from_a_truncated_stream():
    def careless(payload, ctx):
        status, _ = chat_stream(payload, ctx)
        return "billing"  # whatever the stream said, finished or not

    traffic = [{"synthetic": {"rate": "1/s", "routes": ["billing", "technical"]}}]
    cut = {"name": "cut", "target": "llm", "kind": "stream_truncate", "at": "10s",
           "duration": "10s"}
    result = sh.run(make_scenario(duration="30s", traffic=traffic, faults=[cut]),
                    agent=careless)
    client = result.metrics["client"]
    touched = result.metrics["faults"]["cut"]
    assert touched > 0 and client["truncated_stream_accepted"] == touched
    assert client["tickets_flagged"] == touched
