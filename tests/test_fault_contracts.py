"""Each fault injector's documented contract, checked on the injector itself: what a call
inside the fault gets back (status, reason, Retry-After, latency), where an answer or a
stream is cut, and where a schedule's windows begin and end. The end-to-end tests
(test_faults.py, test_llm_api_faults.py) show the same faults reaching real clients."""

from __future__ import annotations

import ast
import json
import math
import random
from http import HTTPStatus
from typing import Any

import pytest
from pydantic import ValidationError

import fault_injectors
from fault_injectors import Call, Completion, StreamPlan, ToolCall
from fault_injectors.llm import OFF_TAXONOMY_LABELS, REFUSAL_TEXT
from fault_injectors.schedule import Schedule
from simharness.world.http import SimResponse

ROUTES = ["billing", "technical", "refund"]


def injector(kind: str, seed: int = 0, **params: Any) -> Any:
    cls = fault_injectors.get(kind)
    return cls(cls.Params.model_validate(params), random.Random(seed))


def call(now: float = 0.0, target: str = "tools.crm", **kw: Any) -> Call:
    return Call(target=target, method="GET", path="/customers/c-1", now=now, **kw)


def error_of(response: SimResponse) -> dict[str, Any]:
    return json.loads(response.body)["error"]


def completion(routes: list[str] | None = None, **kw: Any) -> Completion:
    routes = ["billing"] if routes is None else routes
    kw.setdefault("content", json.dumps({"route": routes[0] if routes else None,
                                         "confidence": 0.8}))
    kw.setdefault("data", {"route": routes[0] if routes else None, "confidence": 0.8})
    kw.setdefault("route_key", "route")
    kw.setdefault("confidence_key", "confidence")
    kw.setdefault("structured", True)
    return Completion(routes=list(routes), taxonomy=ROUTES, tokens_in=100, tokens_out=20, **kw)


def rewritten(kind: str, seeds: int, **params: Any) -> list[Completion]:
    """`completion()` rewritten by the fault under each seed in turn."""
    out = []
    for seed in range(seeds):
        c = completion()
        injector(kind, seed=seed, **params).rewrite(call(), c)
        out.append(c)
    return out


def tool_completion(arguments: dict[str, Any], name: str = "route_ticket",
                    tools: tuple[str, ...] = ("route_ticket",)) -> Completion:
    return Completion(content=None, routes=["billing"], taxonomy=ROUTES, tokens_in=100,
                      tokens_out=20, tool_calls=[ToolCall("call_1", name, json.dumps(arguments))],
                      tools=tools, data=arguments, route_key="route")


def plan(answer: int = 6, closing: int = 2) -> StreamPlan:
    chunks = [(0.01 * (i + 1), b'data: {"delta": "part %d"}\n\n' % i) for i in range(answer)]
    chunks += [(0.01, b'data: {"finish_reason": "stop"}\n\n')] * (closing - 1)
    chunks += [(0.01, b"data: [DONE]\n\n")]
    return StreamPlan(chunks=list(chunks), answer_chunks=answer, planned=len(chunks))


# -- network faults ------------------------------------------------------------------------

def test_an_outage_refuses_within_a_round_trip_and_names_the_target():
    latency, response = injector("outage").before(call(target="tools.crm"))
    assert 0 < latency < 0.1
    assert response.failure == "connect" and "tools.crm" in response.detail


def test_latency_multiplies_first_then_adds():
    after = lambda **p: injector("latency", **p).after(call(), 2.0, "resp")  # noqa: E731
    assert after(multiply=3) == (6.0, "resp")
    assert after(add={"dist": "fixed", "value": "5s"}) == (7.0, "resp")
    assert after(multiply=3, add={"dist": "fixed", "value": "5s"}) == (11.0, "resp")
    assert after() == (2.0, "resp")


def test_a_timeout_never_answers():
    latency, _ = injector("timeout").before(call())
    assert latency == math.inf


def test_a_reset_comes_after_part_of_the_normal_latency():
    for error, failure in (("protocol", "reset"), ("read", "read_error")):
        fault = injector("reset", error=error)
        results = [fault.after(call(), 4.0, SimResponse()) for _ in range(200)]
        assert {r.failure for _, r in results} == {failure}
        waits = [w for w, _ in results]
        assert all(0 <= w < 4.0 for w in waits)
        assert min(waits) < 1.0 and max(waits) > 3.0  # spread over the whole latency


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_http_error_says_its_status_in_words(status):
    latency, response = injector("http_error", status=status).before(call(target="tools.crm"))
    assert response.status == status and 0 < latency < 1
    error = error_of(response)
    assert error["message"] == f"{HTTPStatus(status).phrase} (tools.crm)"
    assert error["code"] == "server_error"


def test_529_is_overloaded_and_a_custom_body_is_sent_as_plain_text():
    _, response = injector("http_error", status=529).before(call(target="llm.large"))
    assert response.status == 529 and error_of(response)["message"] == "Overloaded (llm.large)"
    _, page = injector("http_error", status=502, body="<h1>Bad gateway</h1>").before(call())
    assert page.status == 502 and page.body == b"<h1>Bad gateway</h1>"
    assert ("content-type", "text/plain") in page.headers


def retry_after(response: SimResponse) -> str | None:
    return dict(response.headers).get("retry-after")


@pytest.mark.parametrize(("given", "sent"), [("20s", "20"), (20.2, "21"), ("300ms", "1"),
                                             (0, "1")])
def test_a_rate_limit_sends_retry_after_in_whole_seconds_at_least_one(given, sent):
    _, response = injector("rate_limit", retry_after=given).before(call(target="llm.small"))
    assert response.status == 429 and retry_after(response) == sent
    assert f"retry after {sent} s" in error_of(response)["message"]
    assert "llm.small" in error_of(response)["message"]


def test_a_token_bucket_lets_its_size_through_then_says_when_the_next_token_comes():
    fault = injector("rate_limit", bucket=3, refill="0.25/s")
    assert [fault.before(call(0.0)) for _ in range(3)] == [None, None, None]
    refused = fault.before(call(0.0))
    assert refused is not None and retry_after(refused[1]) == "4"  # 1 token / 0.25 per s
    # one second later a quarter token has come back: three seconds to go
    later = fault.before(call(1.0))
    assert later is not None and retry_after(later[1]) == "3"
    assert fault.before(call(4.0)) is None  # the token is there at 4 s
    # a long idle spell refills the bucket to its size, not beyond
    assert [fault.before(call(1000.0)) is None for _ in range(4)] == [True] * 3 + [False]


def test_bucket_and_refill_go_together():
    for params in ({"bucket": 5}, {"refill": "1/s"}):
        with pytest.raises(ValidationError, match="bucket and refill go together"):
            fault_injectors.get("rate_limit").Params.model_validate(params)


def test_a_slow_drip_takes_its_total_and_trickles_every_chunk():
    fault = injector("slow_drip", chunk_every="5s", total="2m")
    latency, response = fault.after(call(), 1.0, SimResponse(body=b"{}"))
    assert latency == 120.0 and response.max_gap == 5.0 and response.body == b"{}"
    assert fault.after(call(), 300.0, SimResponse())[0] == 300.0  # never faster than normal


def test_flapping_is_down_for_the_first_share_of_each_period_from_the_window_start():
    fault = injector("flapping", period="60s", down=0.25)
    down = lambda now: fault.before(call(now, window_start=100.0)) is not None  # noqa: E731
    assert down(100.0) and down(114.9)
    assert not down(115.0) and not down(159.9)
    assert down(160.0) and down(174.9) and not down(175.0)
    latency, response = fault.before(call(100.0, window_start=100.0))
    assert response.failure == "connect" and 0 < latency < 0.1


# -- schedules -----------------------------------------------------------------------------

def test_a_window_includes_its_start_and_excludes_its_end():
    s = Schedule(start=60.0, end=120.0)
    assert s.intensity(59.99) == 0.0 and s.intensity(60.0) == 1.0
    assert s.intensity(119.99) == 1.0 and s.intensity(120.0) == 0.0
    assert s.spans(1000.0) == [(60.0, 120.0)]
    assert s.spans(90.0) == [(60.0, 90.0)] and s.spans(60.0) == []


def test_every_for_is_active_for_the_first_for_seconds_of_each_cycle():
    s = Schedule(start=10.0, end=300.0, every=100.0, for_=30.0)
    assert [s.span_start(t) for t in (10.0, 39.99, 40.0, 109.99, 110.0, 139.99, 140.0)] == \
        [10.0, 10.0, None, None, 110.0, 110.0, None]
    assert s.spans(1000.0) == [(10.0, 40.0), (110.0, 140.0), (210.0, 240.0)]
    assert s.spans(120.0) == [(10.0, 40.0), (110.0, 120.0)]


def test_a_ramp_rises_linearly_to_the_probability_from_each_span_start():
    s = Schedule(start=0.0, end=1000.0, probability=0.8, ramp=100.0, every=500.0, for_=200.0)
    assert s.intensity(0.0) == 0.0
    assert s.intensity(25.0) == pytest.approx(0.2)
    assert s.intensity(100.0) == pytest.approx(0.8) and s.intensity(150.0) == pytest.approx(0.8)
    assert s.intensity(550.0) == pytest.approx(0.4)  # the second span ramps again
    assert Schedule(probability=0.3).intensity(5.0) == 0.3


# -- LLM faults ----------------------------------------------------------------------------

def test_a_refusal_replaces_the_answer_and_its_tool_calls():
    c = tool_completion({"route": "billing"})
    c.finish_reason = "tool_calls"
    injector("refusal").rewrite(call(), c)
    assert c.content == REFUSAL_TEXT and c.extra["refusal"] == REFUSAL_TEXT
    assert c.tool_calls == [] and c.finish_reason == "stop"


def test_off_taxonomy_answers_a_label_outside_the_routes():
    labels = set()
    for c in rewritten("off_taxonomy", 40):
        answer = json.loads(c.content or "")
        assert answer["confidence"] == 0.9 and answer["route"] not in ROUTES
        labels.add(answer["route"])
    assert labels == set(OFF_TAXONOMY_LABELS)  # the default draws from all of them
    plain = completion(data=None, route_key=None, confidence_key=None, content="billing",
                       structured=False)
    injector("off_taxonomy", label="sales").rewrite(call(), plain)
    assert json.loads(plain.content or "") == {"route": "sales", "confidence": 0.9}


def test_off_taxonomy_keeps_a_list_of_routes_a_list():
    c = completion(["billing", "refund"], data={"routes": ["billing", "refund"], "score": 0.7},
                   route_key="routes", confidence_key="score")
    injector("off_taxonomy", label="sales").rewrite(call(), c)
    assert json.loads(c.content or "") == {"routes": ["sales"], "score": 0.9}


def test_invalid_json_truncated_is_a_proper_prefix_cut_for_length():
    whole = completion().content or ""
    for c in rewritten("invalid_json", 30, mode="truncated"):
        cut = c.content or ""
        assert 0 < len(cut) < len(whole) - 1 and whole.startswith(cut)
        assert c.finish_reason == "length"


def test_invalid_json_prose_names_the_routes_in_words():
    c = completion(["billing", "refund"])
    injector("invalid_json", mode="prose").rewrite(call(), c)
    assert c.content == "Sure! Based on the message, this ticket is about billing and refund."
    none = completion([])
    injector("invalid_json", mode="prose").rewrite(call(), none)
    assert none.content == "Sure! Based on the message, this ticket is about unclear."


def test_invalid_json_mixed_draws_both_modes_about_evenly():
    fault = injector("invalid_json", seed=3)
    prose = 0
    for _ in range(200):
        c = completion()
        fault.rewrite(call(), c)
        prose += (c.content or "").startswith("Sure!")
    assert 70 < prose < 130  # binomial(200, 0.5): 6 sd either side


def test_an_empty_completion_has_no_content_and_no_output_tokens():
    for null, expected in ((False, ""), (True, None)):
        c = tool_completion({"route": "billing"})
        injector("empty_completion", null=null).rewrite(call(), c)
        assert c.content == expected and c.tool_calls == [] and c.tokens_out == 0
        assert c.finish_reason == "stop"


def test_context_overflow_rejects_prompts_over_the_limit_and_says_both_sizes():
    fault = injector("context_overflow", limit=200)
    assert fault.before(call(tokens_in=200)) is None
    assert fault.before(call(tokens_in=None)) is None
    latency, response = fault.before(call(tokens_in=201))
    error = error_of(response)
    assert response.status == 400 and error["code"] == "context_length_exceeded"
    assert "maximum context length is 200 tokens" in error["message"]
    assert "resulted in 201 tokens" in error["message"]


def test_a_forced_context_overflow_states_a_limit_just_below_the_prompt():
    _, response = injector("context_overflow").before(call(tokens_in=120))
    message = error_of(response)["message"]
    assert "maximum context length is 119 tokens" in message and "in 120 tokens" in message
    _, empty = injector("context_overflow").before(call(tokens_in=0))
    assert "maximum context length is 0 tokens" in error_of(empty)["message"]


def test_a_token_spike_multiplies_both_token_counts():
    c = completion()
    c.tokens_in, c.tokens_out = 101, 33
    injector("token_spike", factor=2.5).rewrite(call(), c)
    assert (c.tokens_in, c.tokens_out) == (round(101 * 2.5), round(33 * 2.5))


def test_degraded_scales_accuracy_by_its_factor():
    assert injector("degraded", factor=0.3).accuracy_factor(call()) == 0.3
    assert injector("degraded").accuracy_factor(call()) == 0.5


def test_a_wrong_schema_keeps_the_answer_under_other_names():
    shapes = set()
    for c in rewritten("wrong_schema", 30):
        answer = json.loads(c.content or "")
        assert not (isinstance(answer, dict) and "route" in answer)
        assert "billing" in (c.content or "")
        shapes.add(c.content)
    assert shapes == {json.dumps({"category": "billing", "score": 0.9}),
                      json.dumps({"result": {"label": "billing"}}),
                      json.dumps([{"route": "billing"}])}


def test_an_unknown_tool_is_a_name_the_request_did_not_offer():
    c = tool_completion({"route": "billing"}, tools=("route_ticket", "lookup"))
    injector("unknown_tool").rewrite(call(), c)
    assert c.tool_calls[0].name == "search"
    every = ("route_ticket", "lookup", "search", "get_info")
    c = tool_completion({"route": "billing"}, tools=every)
    injector("unknown_tool").rewrite(call(), c)
    assert c.tool_calls[0].name == "route_ticket_v2"
    plain = completion()
    assert injector("unknown_tool").rewrite(call(), plain) is False


@pytest.mark.parametrize("mode", ["truncated", "single_quotes", "python"])
def test_malformed_arguments_are_not_json(mode):
    arguments = {"route": "billing", "confidence": 0.9}
    for seed in range(10):
        c = tool_completion(arguments)
        injector("malformed_arguments", seed=seed, mode=mode).rewrite(call(), c)
        text = c.tool_calls[0].arguments
        with pytest.raises(ValueError):
            json.loads(text)
        whole = json.dumps(arguments)
        if mode == "truncated":
            assert 0 < len(text) < len(whole) - 1 and whole.startswith(text)
        elif mode == "single_quotes":
            assert text == whole.replace('"', "'")
        else:
            assert ast.literal_eval(text) == arguments  # a Python dict's repr


def test_malformed_arguments_of_an_empty_object_are_still_broken():
    c = tool_completion({})
    injector("malformed_arguments", mode="python").rewrite(call(), c)
    with pytest.raises(ValueError):
        json.loads(c.tool_calls[0].arguments)
    assert c.tool_calls[0].arguments != "{}"


def test_a_missing_argument_drops_the_route_first():
    c = tool_completion({"confidence": 0.9, "route": "billing"})
    injector("missing_argument").rewrite(call(), c)
    assert json.loads(c.tool_calls[0].arguments) == {"confidence": 0.9}
    other = tool_completion({"query": "x", "limit": 3})
    other.route_key = None
    injector("missing_argument").rewrite(call(), other)
    assert json.loads(other.tool_calls[0].arguments) == {"limit": 3}
    for arguments in ({}, [1, 2]):
        unchanged = tool_completion({})
        unchanged.tool_calls[0].arguments = json.dumps(arguments)
        assert injector("missing_argument").rewrite(call(), unchanged) is False


# -- stream faults -------------------------------------------------------------------------

def test_a_stream_is_cut_inside_the_answer():
    cuts = set()
    for seed in range(60):
        p = plan(answer=6)
        injector("stream_truncate", seed=seed).stream(call(), p)
        assert 1 <= len(p.chunks) <= 5 and p.ending is None and not p.finished
        cuts.add(len(p.chunks))
    assert cuts == {1, 2, 3, 4, 5}
    dropped = plan(answer=6)
    injector("stream_disconnect").stream(call(), dropped)
    assert dropped.ending == "reset" and 1 <= len(dropped.chunks) <= 5
    one = plan(answer=1)
    injector("stream_truncate").stream(call(), one)
    assert len(one.chunks) == 1


def test_a_corrupt_stream_garbles_one_answer_event():
    for seed in range(20):
        p = plan(answer=6)
        before = list(p.chunks)
        injector("stream_corrupt", seed=seed).stream(call(), p)
        changed = [i for i, (a, b) in enumerate(zip(before, p.chunks, strict=True)) if a != b]
        assert len(changed) == 1 and changed[0] < 6
        gap, data = p.chunks[changed[0]]
        assert gap == before[changed[0]][0]
        assert data.startswith(b"data: ") and data.endswith(b"<garbled>\n\n")
        with pytest.raises(ValueError):
            json.loads(data[len(b"data: "):])


def test_a_stall_delays_one_answer_chunk_by_its_gap():
    for seed in range(20):
        p = plan(answer=6)
        before = list(p.chunks)
        injector("stream_stall", seed=seed, gap="2m").stream(call(), p)
        changed = [i for i, (a, b) in enumerate(zip(before, p.chunks, strict=True)) if a != b]
        assert len(changed) == 1 and 1 <= changed[0] <= 5
        assert p.chunks[changed[0]] == (before[changed[0]][0] + 120.0, before[changed[0]][1])


def test_a_slow_first_token_delays_only_the_first_event():
    p = plan()
    before = list(p.chunks)
    injector("slow_first_token", delay="20s").stream(call(), p)
    assert p.chunks[0] == (before[0][0] + 20.0, before[0][1]) and p.chunks[1:] == before[1:]


# -- second look: draws spread over every position, seeds, messages users read -------------

def test_truncated_arguments_and_answers_can_be_cut_anywhere_inside_the_text():
    whole = json.dumps({"a": 1})  # 8 characters: cuts leave 1 to 6 of them
    lengths, answers = set(), set()
    for seed in range(200):
        c = tool_completion({"a": 1})
        injector("malformed_arguments", seed=seed, mode="truncated").rewrite(call(), c)
        lengths.add(len(c.tool_calls[0].arguments))
        answer = completion(content=whole)
        injector("invalid_json", seed=seed, mode="truncated").rewrite(call(), answer)
        answers.add(len(answer.content or ""))
    assert lengths == answers == set(range(1, len(whole) - 1))


def test_truncating_an_empty_object_or_an_empty_answer_never_makes_json():
    for seed in range(20):
        c = tool_completion({})
        injector("malformed_arguments", seed=seed, mode="truncated").rewrite(call(), c)
        assert c.tool_calls[0].arguments == "{"
        python = tool_completion({})
        injector("malformed_arguments", seed=seed, mode="python").rewrite(call(), python)
        assert python.tool_calls[0].arguments.startswith("{")  # reads as a Python dict
        empty = completion(content="")
        injector("invalid_json", seed=seed, mode="truncated").rewrite(call(), empty)
        assert empty.content == ""  # nothing to cut: no text is invented


def test_mixed_malformed_arguments_draw_every_mode():
    whole = json.dumps({"route": "billing"})
    seen = set()
    for seed in range(60):
        c = tool_completion({"route": "billing"})
        injector("malformed_arguments", seed=seed).rewrite(call(), c)
        text = c.tool_calls[0].arguments
        seen.add("single_quotes" if text == whole.replace('"', "'") else
                 "python" if text == repr({"route": "billing"}) + " " else
                 "truncated" if whole.startswith(text) and len(text) < len(whole) else text)
    assert seen == {"truncated", "single_quotes", "python"}


def test_a_wrong_schema_keeps_a_single_label_a_string():
    for seed in range(20):
        plain = completion(data=None, route_key=None, content="billing", structured=False)
        injector("wrong_schema", seed=seed).rewrite(call(), plain)
        assert json.loads(plain.content or "") in (
            {"category": "billing", "score": 0.9}, {"result": {"label": "billing"}},
            [{"route": "billing"}])


def test_a_latency_draw_is_reproducible_from_the_faults_seed():
    add = {"dist": "exponential", "mean": "5s"}
    draws = lambda seed: [injector("latency", seed=seed, add=add).after(call(), 1.0, None)[0]  # noqa: E731
                          for _ in range(3)]
    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def test_a_rate_limit_error_is_openais_requests_limit():
    _, response = injector("rate_limit").before(call(target="llm.small"))
    error = error_of(response)
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"


def test_taking_a_registered_kind_says_how_to_override_it():
    class Mine(fault_injectors.FaultInjector):
        kind = "outage"

    with pytest.raises(ValueError) as info:
        fault_injectors.register(Mine)
    assert str(info.value) == (
        "fault kind 'outage' is already registered by fault_injectors.network.Outage; "
        "pass replace=True to override it")
    with pytest.raises(ValueError, match="Nameless needs a `kind` class attribute"):
        fault_injectors.register(type("Nameless", (fault_injectors.FaultInjector,), {}))


def test_an_unknown_mutation_lists_the_known_ones():
    from fault_injectors.inputs import MUTATIONS, apply_mutation

    with pytest.raises(KeyError) as info:
        apply_mutation("no_such_thing", {}, random.Random(0))
    listed = str(info.value).strip("'\"").split("known mutations: ")[1]
    assert listed.split(", ") == list(MUTATIONS)


def test_answer_faults_leave_a_lookup_call_alone():
    """A tool call that carries no route (a lookup) is not an answer to change."""
    for kind in ("off_taxonomy", "wrong_schema"):
        lookup = tool_completion({"customer_id": "c-1"}, name="lookup_customer")
        lookup.routes, lookup.route_key = [], None
        assert injector(kind).rewrite(call(), lookup) is False
        assert json.loads(lookup.tool_calls[0].arguments) == {"customer_id": "c-1"}


def test_a_wrong_schema_renames_a_category_field_to_another_name():
    for seed in range(20):
        c = completion(data={"category": "billing"}, route_key="category", confidence_key=None,
                       content=json.dumps({"category": "billing"}))
        injector("wrong_schema", seed=seed).rewrite(call(), c)
        answer = json.loads(c.content or "")
        assert not (isinstance(answer, dict) and "category" in answer)


def test_an_injector_without_its_own_stream_is_still_reproducible():
    cls = fault_injectors.get("reset")
    draws = [[cls(cls.Params()).after(call(), 1.0, SimResponse())[0] for _ in range(3)]
             for _ in range(2)]
    assert draws[0] == draws[1]


def test_spans_end_where_the_horizon_meets_a_cycle_start():
    s = Schedule(start=10.0, end=1000.0, every=100.0, for_=30.0)
    assert s.spans(210.0) == [(10.0, 40.0), (110.0, 140.0)]


def test_a_plugin_registers_its_kind_through_the_entry_point_group(tmp_path, monkeypatch):
    """A package that declares `simharness.fault_injectors` entry points adds its kinds."""
    (tmp_path / "sim_plugin.py").write_text(
        "from fault_injectors import FaultInjector\n\n"
        "class Gremlin(FaultInjector):\n    kind = 'gremlin'\n")
    info = tmp_path / "sim_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sim-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[simharness.fault_injectors]\ngremlin = sim_plugin:Gremlin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(fault_injectors, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setitem(fault_injectors._REGISTRY, "gremlin", None)  # restored afterwards
    del fault_injectors._REGISTRY["gremlin"]
    assert fault_injectors.get("gremlin").__name__ == "Gremlin"
    assert "gremlin" in fault_injectors.known_kinds()
