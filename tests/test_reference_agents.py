"""Tests of the reference agents against a fake LLM and CRM (httpx.MockTransport)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simharness.agents.context import AgentContext
from simharness.agents.decision import Decision
from simharness.agents.reference import DEFAULT_ROUTES, NaiveRouter, ResilientRouter

LLM = "http://llm.test"
CRM = "http://crm.test"

Reply = Callable[[httpx.Request], httpx.Response]


def completion(content: str) -> httpx.Response:
    """An OpenAI chat.completion response whose message content is `content`."""
    return httpx.Response(200, json={
        "id": "chatcmpl-1", "object": "chat.completion", "model": "x",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    })


def answer(route: Any, confidence: float) -> Reply:
    return lambda request: completion(json.dumps({"route": route, "confidence": confidence}))


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def customer(value: float) -> Reply:
    return lambda request: httpx.Response(
        200, json={"id": "c-1", "tier": "smb", "account_value": value})


class FakeWorld:
    """Routes requests to per-tier LLM replies and a CRM reply; records every request.

    A reply is a function of the request, or a list of them used one per call (the last
    one repeats).
    """

    def __init__(self, small: Any = None, large: Any = None, crm: Any = None) -> None:
        self.replies = {
            "small": small or answer("billing", 0.95),
            "large": large or answer("billing", 0.97),
            "crm": crm or customer(5_000.0),
        }
        self.requests: list[tuple[str, httpx.Request]] = []

    def calls(self, kind: str) -> list[httpx.Request]:
        return [request for k, request in self.requests if k == kind]

    def prompt(self, kind: str, index: int = -1) -> str:
        body = json.loads(self.calls(kind)[index].content)
        return "\n".join(message["content"] for message in body["messages"])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "llm.test":
            assert request.url.path == "/v1/chat/completions"
            kind = json.loads(request.content)["model"]
        else:
            assert request.url.path.startswith("/customers/")
            kind = "crm"
        self.requests.append((kind, request))
        reply = self.replies[kind]
        if isinstance(reply, list):
            reply = reply.pop(0) if len(reply) > 1 else reply[0]
        return reply(request)


def make_ctx(world: FakeWorld, lines: list[str] | None = None) -> AgentContext:
    return AgentContext(
        ticket_id="t-1", conversation_id="conv-1", event=0,
        http=httpx.Client(transport=httpx.MockTransport(world)),
        base_urls={"llm": LLM, "crm": CRM}, states={},
        lines=[] if lines is None else lines, now=lambda: 0.0, sleep=lambda s: None,
    )


def payload(text: str = "I was charged twice on my last invoice", *,
            conversation_id: str = "conv-1", customer_id: str = "c-1") -> dict[str, Any]:
    return {
        "id": "t-1", "conversation_id": conversation_id,
        "created_at": "2024-05-01T09:00:00+00:00", "channel": "email", "language": "en",
        "customer": {"id": customer_id, "name": "Ann Lee", "email": "ann@example.com"},
        "subject": "Help",
        "messages": [{"role": "customer", "text": text, "at": "2024-05-01T09:00:00+00:00"}],
    }


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """No real sleeping in tenacity backoffs; the requested delays are recorded."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


# -- NaiveRouter -------------------------------------------------------------------------


def test_naive_happy_path() -> None:
    world = FakeWorld(large=answer("billing", 0.9))
    decision = NaiveRouter().handle(payload(), make_ctx(world))
    assert decision == Decision(route="billing", confidence=0.9)
    assert len(world.calls("large")) == 1 and not world.calls("small")
    assert "I was charged twice on my last invoice" in world.prompt("large")


def test_naive_raises_on_connect_error() -> None:
    with pytest.raises(httpx.ConnectError):
        NaiveRouter().handle(payload(), make_ctx(FakeWorld(large=connect_error)))


# -- ResilientRouter: model tiers --------------------------------------------------------


def test_resilient_happy_path_small_confident() -> None:
    world = FakeWorld(small=answer("billing", 0.92))
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.route == "billing"
    assert decision.confidence == pytest.approx(0.92)
    assert decision.escalate is False
    assert "small" in decision.reason
    assert len(world.calls("small")) == 1 and not world.calls("large")
    assert "I was charged twice on my last invoice" in world.prompt("small")
    # Every request carries an explicit timeout.
    timeouts = [r.extensions["timeout"] for _, r in world.requests]
    assert {t["read"] for t in timeouts} == {10.0, 2.0}


def test_low_confidence_asks_large() -> None:
    world = FakeWorld(small=answer("technical", 0.4), large=answer("billing", 0.9))
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.route == "billing"
    assert decision.confidence == pytest.approx(0.9)
    assert len(world.calls("small")) == 1 and len(world.calls("large")) == 1
    assert any("unsure" in line for line in lines)


def test_large_failure_keeps_small_answer() -> None:
    world = FakeWorld(small=answer("technical", 0.5), large=connect_error)
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.route == "technical"
    assert "large model unusable" in decision.reason
    assert any("keeping the small model's answer" in line for line in lines)


def test_llm_down_falls_back_to_keywords(sleeps: list[float]) -> None:
    world = FakeWorld(small=connect_error, large=connect_error)
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.route == "billing"  # "charged", "invoice"
    assert decision.confidence is None
    assert "keyword fallback" in decision.reason and "ConnectError" in decision.reason
    assert len(world.calls("small")) == 3 and len(world.calls("large")) == 3
    assert len(sleeps) == 4  # two backoffs per tier
    assert sum("retrying in" in line for line in lines) == 4
    assert any("keyword fallback -> billing" in line for line in lines)


def test_keyword_fallback_scores_routes() -> None:
    router = ResilientRouter()
    assert router.keyword_route(["My parcel never arrived, where is the tracking?"]) == "shipping"
    assert router.keyword_route(["Please cancel my subscription"]) == "cancellation"
    assert router.keyword_route(["hello"]) == DEFAULT_ROUTES[0]
    custom = ResilientRouter(routes=["sales", "support"])
    assert custom.keyword_route(["a question for support"]) == "support"


def test_429_with_retry_after_then_success(sleeps: list[float]) -> None:
    rate_limited = lambda request: httpx.Response(  # noqa: E731
        429, headers={"Retry-After": "7"}, json={"error": "rate limited"})
    world = FakeWorld(small=[rate_limited, answer("billing", 0.9)])
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.route == "billing"
    assert len(world.calls("small")) == 2
    assert sleeps and sleeps[0] >= 7.0  # the header wins over a shorter backoff
    assert any("HTTP 429" in line and "retrying" in line for line in lines)


def test_retry_after_too_long_gives_up_on_tier(sleeps: list[float]) -> None:
    rate_limited = lambda request: httpx.Response(429, headers={"Retry-After": "3600"})  # noqa: E731
    world = FakeWorld(small=rate_limited, large=answer("billing", 0.9))
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.route == "billing"
    assert len(world.calls("small")) == 1 and not sleeps


def test_5xx_is_retried() -> None:
    world = FakeWorld(small=[lambda r: httpx.Response(503), answer("refund", 0.9)])
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.route == "refund" and len(world.calls("small")) == 2


def test_truncated_json_asks_large() -> None:
    world = FakeWorld(small=lambda r: completion('{"route": "bil'), large=answer("billing", 0.8))
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.route == "billing" and len(world.calls("large")) == 1
    assert any("not valid JSON" in line for line in lines)


def test_truncated_json_everywhere_falls_back() -> None:
    truncated = lambda r: completion('{"route": "bil')  # noqa: E731
    world = FakeWorld(small=truncated, large=lambda r: httpx.Response(200, text="<html>"))
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.route == "billing"
    assert "keyword fallback" in decision.reason
    assert len(world.calls("small")) == 1  # bad content is not retried


def test_unknown_label_dropped() -> None:
    world = FakeWorld(small=answer(["Billing", "teleportation"], 0.9))
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.route == "billing"
    assert any("dropped unknown labels" in line for line in lines)


def test_only_unknown_labels_is_unusable() -> None:
    world = FakeWorld(small=answer("teleportation", 0.99), large=answer("shipping", 0.9))
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.route == "shipping"


def test_multi_issue_answer_is_a_list() -> None:
    world = FakeWorld(small=answer(["billing", "shipping"], 0.9))
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.route == ["billing", "shipping"]


def test_breaker_opens_after_repeated_failures() -> None:
    world = FakeWorld(small=connect_error, large=connect_error)
    router = ResilientRouter()
    # Ticket 1: 3 attempts per tier. Ticket 2: the 5th failure of each tier opens its breaker.
    for number in (1, 2):
        router.handle(payload(conversation_id=f"conv-{number}"), make_ctx(world))
    assert len(world.calls("small")) == 5 and len(world.calls("large")) == 5
    assert all(b.current_state == "open" for b in router.breakers.values())

    lines: list[str] = []
    decision = router.handle(payload(conversation_id="conv-3"), make_ctx(world, lines))
    assert len(world.calls("small")) == 5 and len(world.calls("large")) == 5  # no new calls
    assert "keyword fallback" in decision.reason and "circuit open" in decision.reason
    assert any("circuit open" in line for line in lines)


def test_client_error_does_not_count_for_breaker() -> None:
    world = FakeWorld(small=lambda r: httpx.Response(400), large=lambda r: httpx.Response(400))
    router = ResilientRouter()
    for number in range(4):
        router.handle(payload(conversation_id=f"conv-{number}"), make_ctx(world))
    assert len(world.calls("small")) == 4  # one attempt each: a 400 is not retried
    assert all(b.current_state == "closed" and b.fail_counter == 0
               for b in router.breakers.values())


# -- cache and conversation state ----------------------------------------------------------


def test_duplicate_delivery_served_from_cache() -> None:
    world = FakeWorld()
    router = ResilientRouter()
    first = router.handle(payload(), make_ctx(world))
    lines: list[str] = []
    second = router.handle(payload(), make_ctx(world, lines))
    assert second.route == first.route == "billing"
    assert len(world.calls("small")) == 1 and len(world.calls("crm")) == 1
    assert any("cache" in line for line in lines)


def test_cache_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    world = FakeWorld()
    router = ResilientRouter()
    router.handle(payload(), make_ctx(world))
    clock[0] += 601
    router.handle(payload(), make_ctx(world))
    assert len(world.calls("small")) == 2


def test_follow_up_prompt_contains_whole_conversation() -> None:
    world = FakeWorld(small=[answer("billing", 0.9), answer("refund", 0.9)])
    router = ResilientRouter()
    first_text = "My invoice shows a charge I do not recognise"
    second_text = "Actually, forget my first question, I just want my money back"
    router.handle(payload(first_text), make_ctx(world))
    decision = router.handle(payload(second_text), make_ctx(world))
    assert decision.route == "refund"
    prompt = world.prompt("small")
    assert first_text in prompt and second_text in prompt
    assert prompt.index(first_text) < prompt.index(second_text)
    # Another conversation does not see this one's messages.
    router.handle(payload("Where is my parcel?", conversation_id="other"), make_ctx(world))
    assert first_text not in world.prompt("small")


# -- escalation -----------------------------------------------------------------------------


def test_high_value_customer_escalated() -> None:
    world = FakeWorld(crm=customer(250_000.0))
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(customer_id="c 42/x"), make_ctx(world, lines))
    assert decision.escalate is True and decision.route == "billing"
    assert "account value" in decision.reason
    assert world.calls("crm")[0].url.raw_path == b"/customers/c%2042%2Fx"


def test_low_value_customer_not_escalated() -> None:
    decision = ResilientRouter().handle(payload(), make_ctx(FakeWorld(crm=customer(99_999.0))))
    assert decision.escalate is False


def test_threshold_is_configurable() -> None:
    router = ResilientRouter(escalation_threshold=1_000)
    decision = router.handle(payload(), make_ctx(FakeWorld(crm=customer(5_000.0))))
    assert decision.escalate is True


def test_crm_down_escalates_with_log() -> None:
    world = FakeWorld(crm=connect_error)
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.escalate is True and decision.route == "billing"
    assert len(world.calls("crm")) == 2  # one retry
    assert any("CRM unreachable" in line for line in lines)


def test_crm_garbage_escalates() -> None:
    world = FakeWorld(crm=lambda r: httpx.Response(200, text="not json"))
    lines: list[str] = []
    decision = ResilientRouter().handle(payload(), make_ctx(world, lines))
    assert decision.escalate is True
    assert any("unusable" in line for line in lines)


def test_crm_unknown_customer_not_escalated() -> None:
    world = FakeWorld(crm=lambda r: httpx.Response(404, json={"error": "not found"}))
    decision = ResilientRouter().handle(payload(), make_ctx(world))
    assert decision.escalate is False and len(world.calls("crm")) == 1


# -- malformed payloads ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", [
    None,
    "garbage",
    {},
    42,
    [],
    {"messages": "not a list"},
    {"messages": [None, 5, {"text": 3}, {"role": "customer"}]},
    {"conversation_id": ["x"], "customer": "c-1", "subject": 7, "messages": None},
    {"conversation_id": "c", "customer": {"id": None}, "messages": [{"text": "refund please"}]},
])
def test_malformed_payloads_never_raise(bad: Any) -> None:
    lines: list[str] = []
    decision = ResilientRouter().handle(bad, make_ctx(FakeWorld(), lines))
    assert isinstance(decision, Decision)
    assert decision.routes and all(route in DEFAULT_ROUTES for route in decision.routes)
    assert decision.reason
    assert lines


def test_malformed_payload_uses_keywords_on_subject() -> None:
    world = FakeWorld()
    bad = {"conversation_id": "c", "customer": {"id": "c-1"}, "subject": "Cancel my plan",
           "messages": "oops"}
    decision = ResilientRouter().handle(bad, make_ctx(world))
    assert decision.route == "cancellation"
    assert "malformed payload" in decision.reason
    assert not world.calls("small") and not world.calls("large")


def test_concurrent_tickets_interleaved_share_one_instance() -> None:
    """Two tickets on one router, switching between greenlets at every HTTP request."""
    greenlet = pytest.importorskip("greenlet")

    world = FakeWorld(
        small=lambda r: completion(json.dumps(
            {"route": "shipping" if b"parcel" in r.content else "billing", "confidence": 0.9})),
        crm=lambda r: customer(500_000.0 if r.url.path.endswith("vip") else 10.0)(r),
    )

    def yielding(request: httpx.Request) -> httpx.Response:
        greenlet.getcurrent().parent.switch()  # "I/O": let the other ticket run
        return world(request)

    router = ResilientRouter()
    results: dict[str, Decision] = {}

    def run(name: str, text: str, customer_id: str) -> None:
        ctx = make_ctx(world)
        ctx.http = httpx.Client(transport=httpx.MockTransport(yielding))
        results[name] = router.handle(payload(text, conversation_id=name,
                                              customer_id=customer_id), ctx)

    workers = [greenlet.greenlet(lambda: run("a", "my parcel is lost", "vip")),
               greenlet.greenlet(lambda: run("b", "wrong invoice amount", "small"))]
    for worker in workers:
        worker.switch()
    while not all(worker.dead for worker in workers):
        for worker in workers:
            if not worker.dead:
                worker.switch()
    assert results["a"].route == "shipping" and results["a"].escalate is True
    assert results["b"].route == "billing" and results["b"].escalate is False
