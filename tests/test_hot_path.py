"""The hot path's shortcuts give exactly what the plain code gives: the world's JSON text,
the chat completion body written from its template, the model's text answer, and the
judgement's draws (whose key must stay the same function of seed, ticket, event, tier and
call, so results stay the same per seed and two agents meet the same luck), and calls to a
capacity-limited host queued without a SimPy process (the same schedule, event for event)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from fault_injectors import Completion
from simharness.rng import hash_uniforms, key_text, uniforms_of_key
from simharness.world import SimWorld
from simharness.world.json_text import dumps, dumps_compact, loads
from simharness.world.llm.judgement import Judgement
from simharness.world.llm.openai_chat import OpenAIChat
from simharness.world.llm.provider import Reply
from simharness.world.llm.request import Request
from simharness.world.llm.turn import Turn

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_json_text_is_json_dumps(value: Any) -> None:
    assert dumps(value) == json.dumps(value)
    assert dumps_compact(value) == json.dumps(value, separators=(",", ":"))


def _read(read: Any, data: bytes) -> str:
    try:
        return repr(read(data))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__


WIDE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(WIDE)
def test_json_read_is_json_loads_on_json_text(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        data = text.encode("utf-8", "surrogatepass")
        assert _read(loads, data) == _read(json.loads, data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.sampled_from([
    b'"\\ud800"', b"[NaN, Infinity]", b"\xef\xbb\xbf{}", b"-9223372036854775809",
    b"18446744073709551616", b"1e400", b'{"a": 1, "a": 2}', b"[" * 2000]))
def test_json_read_is_json_loads_on_any_bytes(data: bytes) -> None:
    assert _read(loads, data) == _read(json.loads, data)


def test_json_text_names_a_cycle_as_json_dumps_does() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    for encode in (dumps, dumps_compact):
        try:
            encode(loop)
        except ValueError as exc:
            assert "Circular reference" in str(exc)
        else:
            raise AssertionError("a cycle was encoded")


def _generic_body(completion: Completion, reply: Reply) -> bytes:
    """The chat completion body as the payload dict, encoded whole."""
    tokens_in, tokens_out = completion.tokens_in, completion.tokens_out
    return json.dumps({
        "id": f"chatcmpl-sim{reply.serial:08d}", "object": "chat.completion",
        "created": reply.created, "model": reply.model,
        "choices": [{"index": 0, "finish_reason": completion.finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": completion.content}}],
        "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                  "total_tokens": tokens_in + tokens_out}}).encode()


@settings(max_examples=300, deadline=None)
@given(content=st.none() | st.text(), model=st.text(), finish=st.sampled_from(
    ["stop", "length", "content_filter"]), serial=st.integers(0, 10**9),
    created=st.integers(0, 2**40), tokens=st.tuples(st.integers(0, 10**6),
                                                     st.integers(0, 10**6)))
def test_chat_body_from_its_template_is_the_encoded_payload(
        content: str | None, model: str, finish: str, serial: int, created: int,
        tokens: tuple[int, int]) -> None:
    completion = Completion(content, ["billing"], ["billing"], tokens[0], tokens[1],
                            finish_reason=finish)
    reply = Reply(serial, created, model, 0.0)
    request = Request(model, "hello", 1)
    assert OpenAIChat().render(request, completion, reply) == _generic_body(completion, reply)


def test_chat_body_with_unexpected_types_is_encoded_whole() -> None:
    completion = Completion("x", ["billing"], ["billing"], 3.0, 2)  # type: ignore[arg-type]
    reply = Reply(1, 2, "small", 0.0)
    body = OpenAIChat().render(Request("small", "x", 1), completion, reply)
    assert json.loads(body)["usage"]["prompt_tokens"] == 3.0
    assert body == _generic_body(completion, reply)


@settings(max_examples=300, deadline=None)
@given(routes=st.lists(st.text(min_size=1), min_size=1, max_size=3),
       confidence=st.floats(0, 1), escalate=st.booleans(), asks=st.booleans())
def test_text_answer_is_the_encoded_json(routes: list[str], confidence: float,
                                         escalate: bool, asks: bool) -> None:
    turn = Turn(None, routes, "json")  # type: ignore[arg-type]
    completion = turn._text(Judgement(routes, confidence, escalate), 10, False, asks)
    route: Any = routes[0] if len(routes) == 1 else routes
    data: dict[str, Any] = {"route": route, "confidence": round(confidence, 2)}
    if asks:
        data["escalate"] = escalate
    assert completion.content == json.dumps(data)
    assert completion.data == data


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**63), ticket=st.text(), event=st.integers(0, 9),
       tier=st.text(), call=st.integers(1, 50))
def test_judgement_draws_are_hash_uniforms_of_the_same_key(
        seed: int, ticket: str, event: int, tier: str, call: int) -> None:
    prefix = key_text(seed, "llm") + "\x1f"
    assert uniforms_of_key(f"{prefix}{ticket}\x1f{event}\x1f{tier}\x1f{call}", 3) == \
        hash_uniforms(seed, 3, "llm", ticket, event, tier, call)


def _queued_by_a_process(world: Any, resource: simpy.Resource, latency: float,
                         response: Any) -> simpy.Event:
    """The plain way: a SimPy process per call holds a slot for the call's latency."""
    env = world.env

    def call() -> Any:
        with resource.request() as slot:
            yield slot
            yield env.timeout(latency)
        return response

    return env.process(call())


def _queue_trace(queued: Any, capacity: int, calls: list[tuple[int, int]]) -> list[Any]:
    """What happens, in order: each call's answer, and a bystander event each caller
    schedules for the same instant (so any change in the order of same-time events shows)."""
    env = simpy.Environment()
    resource = simpy.Resource(env, capacity)
    world = SimpleNamespace(env=env)
    log: list[Any] = []

    def state(what: str, who: Any) -> None:
        log.append((env.now, what, who, resource.count, len(resource.queue)))

    def arrive(i: int, latency: int) -> Any:
        def at(_event: simpy.Event) -> None:
            done = queued(world, resource, float(latency), f"call {i}")
            done.callbacks.append(lambda event: state("answered", event.value))
            env.timeout(0).callbacks.append(lambda _event: state("bystander", i))
        return at

    for i, (arrival, latency) in enumerate(calls):
        env.timeout(arrival).callbacks.append(arrive(i, latency))
    env.run()
    return log


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3), st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)),
                                   min_size=1, max_size=12))
def test_capacity_queue_without_a_process_keeps_the_schedule(
        capacity: int, calls: list[tuple[int, int]]) -> None:
    expected = _queue_trace(_queued_by_a_process, capacity, calls)
    assert len([e for e in expected if e[1] == "answered"]) == len(calls)
    assert _queue_trace(SimWorld._queued, capacity, calls) == expected
