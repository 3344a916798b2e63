"""Malformed-input and delivery faults: the damage each mutation does, the registry, and
property tests of the reference agents against `malformed_payloads()`."""

from __future__ import annotations

import copy
import json
import random
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import fault_injectors
from fault_injectors.inputs import (
    CONTROL_CHARS,
    DEFAULT_MALFORMED_KINDS,
    DEFAULT_ROUTES,
    INJECTION_TEMPLATES,
    MOJIBAKE_WORDS,
    MUTATIONS,
    NON_ENGLISH_PHRASES,
    RENAMES,
    ROUTE_PHRASES,
    apply_mutation,
    malformed_payloads,
    payloads,
)
from simharness.agents import reference
from simharness.agents.context import AgentContext
from simharness.agents.decision import Decision
from simharness.agents.reference import NaiveRouter, ResilientRouter

SEEDS = range(40)
TEXT = "I was charged twice on my last invoice"
BASE: dict[str, Any] = {
    "id": "T-1", "conversation_id": "conv-1", "created_at": "2024-05-01T09:00:00+00:00",
    "channel": "email", "language": "en",
    "customer": {"id": "c-1", "name": "Ann Lee", "email": "ann@example.com"},
    "subject": "Help",
    "messages": [{"role": "customer", "text": TEXT, "at": "2024-05-01T09:00:00+00:00"},
                 {"role": "customer", "text": "Please fix it", "at": "2024-05-01T09:01:00+00:00"}],
}
Path = tuple[Any, ...]


def mutated(kind: str, seed: int, **kwargs: Any) -> Any:
    return apply_mutation(kind, BASE, random.Random(seed), **kwargs)


def leaves(obj: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) of every value in a payload, containers included."""
    yield path, obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) \
        else ()
    for key, value in items:
        yield from leaves(value, (*path, key))


def strings(obj: Any) -> list[str]:
    return [value for _, value in leaves(obj) if isinstance(value, str)]


def has(obj: Any, path: Path) -> bool:
    """Whether `path` reaches something; "*" matches any item of a list."""
    if not path:
        return True
    head, rest = path[0], path[1:]
    if head == "*":
        return isinstance(obj, list) and any(has(item, rest) for item in obj)
    if isinstance(head, int):
        return isinstance(obj, list) and head < len(obj) and has(obj[head], rest)
    return isinstance(obj, dict) and head in obj and has(obj[head], rest)


# -- the damage of each kind ---------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_missing_field_drops_a_key(seed: int) -> None:
    before = {path for path, _ in leaves(BASE)}
    after = {path for path, _ in leaves(mutated("missing_field", seed))}
    assert after < before  # only removed, nothing added or renamed


@pytest.mark.parametrize("seed", SEEDS)
def test_renamed_field_has_new_key_not_old(seed: int) -> None:
    out = mutated("renamed_field", seed)
    applied = [(path, new) for path, new in RENAMES
               if not has(out, path) and has(out, (*path[:-1], new))]
    assert len(applied) == 1
    assert sorted(map(repr, strings(out))) == sorted(map(repr, strings(BASE)))  # values kept


@pytest.mark.parametrize("seed", SEEDS)
def test_wrong_type_changes_one_type(seed: int) -> None:
    before = {path: type(value) for path, value in leaves(BASE)}
    after = {path: type(value) for path, value in leaves(mutated("wrong_type", seed))}
    changed = [path for path in before.keys() & after.keys() if before[path] != after[path]]
    assert len(changed) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_null_values_sets_fields_to_none(seed: int) -> None:
    out = mutated("null_values", seed)
    nulled = [path for path, value in leaves(out) if value is None]
    assert 1 <= len(nulled) <= 3
    assert all(has(BASE, path) for path in nulled)


@pytest.mark.parametrize("seed", SEEDS)
def test_truncated_is_a_broken_prefix(seed: int) -> None:
    out = mutated("truncated", seed)
    full = json.dumps(BASE, ensure_ascii=False)
    serialised = full.encode() if isinstance(out, bytes) else full
    assert 0 < len(out) < len(serialised) and serialised.startswith(out)
    with pytest.raises(ValueError):
        json.loads(out)


def test_truncated_returns_str_and_bytes() -> None:
    assert {type(mutated("truncated", seed)) for seed in SEEDS} == {str, bytes}


@pytest.mark.parametrize("seed", SEEDS)
def test_bad_encoding_is_invalid_utf8_or_mojibake(seed: int) -> None:
    out = mutated("bad_encoding", seed)
    if isinstance(out, bytes):
        with pytest.raises(UnicodeDecodeError):
            out.decode("utf-8")
    else:
        texts = strings(out)
        assert any(word in text for word in MOJIBAKE_WORDS for text in texts)
        assert any("Ã" in text or "â€" in text for text in texts)


def test_bad_encoding_garbles_non_ascii_text() -> None:
    payload = copy.deepcopy(BASE)
    payload["messages"][0]["text"] = "Café crème"
    outs = [apply_mutation("bad_encoding", payload, random.Random(s)) for s in SEEDS]
    assert any(isinstance(out, dict) and out["messages"][0]["text"].startswith("CafÃ© crÃ¨me")
               for out in outs)
    assert any(isinstance(out, bytes) for out in outs)


@pytest.mark.parametrize("seed", SEEDS)
def test_control_chars_inserted_in_text(seed: int) -> None:
    out = mutated("control_chars", seed)
    assert any(char in text for char in CONTROL_CHARS for text in strings(out))
    assert {path for path, _ in leaves(out)} == {path for path, _ in leaves(BASE)}


@pytest.mark.parametrize("seed", range(3))
def test_huge_body_is_megabytes(seed: int) -> None:
    text = mutated("huge_body", seed)["messages"][0]["text"]
    assert 1 << 20 <= len(text.encode()) <= 5 << 20
    assert text.startswith(TEXT)


@pytest.mark.parametrize("seed", SEEDS)
def test_empty_body(seed: int) -> None:
    out = mutated("empty_body", seed)
    assert out in ("", b"", {}) and type(out) in (str, bytes, dict)


@pytest.mark.parametrize("seed", SEEDS)
def test_prompt_injection_asks_for_a_route(seed: int) -> None:
    out = mutated("prompt_injection", seed)
    text = out["messages"][-1]["text"]
    assert text.startswith("Please fix it") and "Ignore" in text
    added = text[len("Please fix it"):]
    assert any(route in added for route in DEFAULT_ROUTES)
    assert any(added == t.format(route=r) for t in INJECTION_TEMPLATES for r in DEFAULT_ROUTES)


def test_prompt_injection_uses_given_routes() -> None:
    out = mutated("prompt_injection", 3, routes=["vip_desk"])
    assert "vip_desk" in out["messages"][-1]["text"]


@pytest.mark.parametrize("seed", SEEDS)
def test_non_english_uses_the_phrase_bank(seed: int) -> None:
    out = mutated("non_english", seed)
    assert out["language"] != "en" and out["language"] in NON_ENGLISH_PHRASES
    bank = NON_ENGLISH_PHRASES[out["language"]]
    themes = [theme for theme, phrases in bank.items()
              if all(m["text"] in phrases for m in out["messages"])]
    assert themes  # every message from one theme of that language


def test_phrase_banks_cover_languages_and_themes() -> None:
    assert set(NON_ENGLISH_PHRASES) == {"es", "de", "fr", "pt", "ja"}
    for bank in NON_ENGLISH_PHRASES.values():
        assert set(bank) == {"billing", "refund", "shipping", "technical", "account"}


@pytest.mark.parametrize("kind", MUTATIONS)
def test_deterministic_for_a_seed(kind: str) -> None:
    for seed in range(5):
        assert mutated(kind, seed) == mutated(kind, seed)
    outputs = {repr(mutated(kind, seed)) for seed in range(10 if kind != "huge_body" else 3)}
    assert len(outputs) > 1  # and it depends on the seed


@pytest.mark.parametrize("kind", MUTATIONS)
def test_input_not_mutated(kind: str) -> None:
    payload = copy.deepcopy(BASE)
    for seed in range(10 if kind != "huge_body" else 2):
        out = apply_mutation(kind, payload, random.Random(seed))
        assert payload == BASE
        assert out is not payload


@pytest.mark.parametrize("kind", MUTATIONS)
@pytest.mark.parametrize("bad", [None, "raw text", b"\xff", 42, [], {}],
                         ids=["None", "str", "bytes", "int", "list", "dict"])
def test_mutations_accept_any_payload(kind: str, bad: Any) -> None:
    """Composed faults may hand a mutation something that is already broken: it returns
    a payload (deterministically, leaving its input alone) instead of raising."""
    before = copy.deepcopy(bad)
    out = apply_mutation(kind, bad, random.Random(0))
    assert bad == before and type(bad) is type(before)
    assert out == apply_mutation(kind, bad, random.Random(0))
    assert out is None or isinstance(out, str | bytes | int | list | dict)
    if isinstance(bad, list | dict) and out is not None:
        assert out is not bad  # a copy: the caller's object is never the one damaged


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(DEFAULT_MALFORMED_KINDS), payloads(), st.integers(0, 2**32))
def test_any_payload_is_copied_and_mutated_deterministically(
        kind: str, payload: dict[str, Any], seed: int) -> None:
    original = copy.deepcopy(payload)
    out = apply_mutation(kind, payload, random.Random(seed))
    assert payload == original
    assert out == apply_mutation(kind, payload, random.Random(seed))
    if kind == "truncated":
        with pytest.raises(ValueError):
            json.loads(out)


def test_unknown_mutation_name() -> None:
    with pytest.raises(KeyError, match="did you mean 'truncated'"):
        apply_mutation("truncate", BASE, random.Random(0))


# -- registry and parameters ---------------------------------------------------------------


@pytest.mark.parametrize("kind", [*MUTATIONS, "malformed_input"])
def test_input_kinds_registered(kind: str) -> None:
    assert kind in fault_injectors.known_kinds()
    cls = fault_injectors.get(kind)
    assert cls.family == "input" and cls.default_per == "ticket"


@pytest.mark.parametrize("kind", [k for k in MUTATIONS if k != "huge_body"])
def test_injector_mutate_is_the_mutation(kind: str) -> None:
    cls = fault_injectors.get(kind)
    injector = cls(cls.Params(), random.Random(5))
    assert injector.mutate(BASE) == mutated(kind, 5)


def test_prompt_injection_target_route() -> None:
    cls = fault_injectors.get("prompt_injection")
    injector = cls(cls.Params(target_route="vip_desk"), random.Random(0))
    assert "vip_desk" in injector.mutate(BASE)["messages"][-1]["text"]
    with pytest.raises(ValidationError):
        cls.Params(target="vip_desk")


def test_malformed_input_params() -> None:
    cls = fault_injectors.get("malformed_input")
    params = cls.Params.model_validate({"mutations": ["truncated", "null_values"], "rate": 0.05})
    assert params.rate == 0.05
    assert cls.Params().mutations == list(DEFAULT_MALFORMED_KINDS)
    injector = cls(cls.Params(mutations=["empty_body"]), random.Random(0))
    assert injector.mutate(BASE) in ("", b"", {})
    for bad in ({"rate": 1.5}, {"mutations": []}, {"mutations": ["truncated"], "extra": 1}):
        with pytest.raises(ValidationError):
            cls.Params.model_validate(bad)


def test_malformed_input_rejects_unknown_mutation_helpfully() -> None:
    cls = fault_injectors.get("malformed_input")
    with pytest.raises(ValidationError) as info:
        cls.Params.model_validate({"mutations": ["truncated", "null_value"]})
    message = str(info.value)
    assert "unknown mutation 'null_value'" in message
    assert "did you mean 'null_values'?" in message
    assert all(kind in message for kind in MUTATIONS)


def test_delivery_kinds() -> None:
    dup = fault_injectors.get("duplicate_delivery")
    order = fault_injectors.get("out_of_order")
    assert dup.family == order.family == "delivery"
    assert dup(dup.Params()).duplicate_after() == 2.0
    assert dup(dup.Params(after="5s")).duplicate_after() == 5.0
    assert dup(dup.Params(after=0.5)).duplicate_after() == 0.5
    assert order(order.Params()).reorder_by() == 30.0
    assert order(order.Params(by="1m")).reorder_by() == 60.0
    assert dup(dup.Params()).reorder_by() is None
    for cls, bad in ((dup, {"after": "soon"}), (dup, {"after": -1}), (order, {"by": 0}),
                     (order, {"by": "1m", "after": 2})):
        with pytest.raises(ValidationError):
            cls.Params.model_validate(bad)


# -- strategies ------------------------------------------------------------------------------


def test_default_routes_match_reference_agents() -> None:
    assert list(DEFAULT_ROUTES) == reference.DEFAULT_ROUTES


@settings(max_examples=100, deadline=None)
@given(payloads())
def test_payloads_are_well_formed_json(payload: dict[str, Any]) -> None:
    assert list(payload) == list(BASE)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["channel"] in ("email", "chat", "web")
    assert 1 <= len(payload["messages"]) <= 3
    assert all(isinstance(m["text"], str) for m in payload["messages"])


def test_malformed_payloads_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="did you mean 'huge_body'"):
        malformed_payloads(kinds=["huge_bodies"])


# -- property tests against the reference agents --------------------------------------------

VALID_ROUTES = {*DEFAULT_ROUTES, "human_review"}


def fake_world(request: httpx.Request) -> httpx.Response:
    """An LLM that always answers billing with confidence 0.9, and a CRM with one customer."""
    if request.url.host == "llm.test":
        content = json.dumps({"route": "billing", "confidence": 0.9})
        return httpx.Response(200, json={
            "id": "chatcmpl-1", "object": "chat.completion", "model": "x",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        })
    return httpx.Response(200, json={"id": "c-1", "tier": "smb", "account_value": 5_000.0})


def run_agent(agent: Any, payload: Any) -> Any:
    with httpx.Client(transport=httpx.MockTransport(fake_world)) as http:
        ctx = AgentContext(
            ticket_id="t-1", conversation_id="conv-1", event=0, http=http,
            base_urls={"llm": "http://llm.test", "crm": "http://crm.test"}, states={},
            lines=[], now=lambda: 0.0, sleep=lambda seconds: None)
        return agent.handle(payload, ctx)


def is_valid_decision(decision: Any) -> bool:
    return (isinstance(decision, Decision) and bool(decision.routes)
            and all(route in VALID_ROUTES for route in decision.routes))


def naive_fails(payload: Any) -> bool:
    try:
        return not is_valid_decision(run_agent(NaiveRouter(), payload))
    except Exception:
        return True


@pytest.fixture(autouse=True, scope="module")
def no_sleep() -> Iterator[None]:
    """No real sleeping in tenacity backoffs (module scope: Hypothesis runs many examples)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "sleep", lambda seconds: None)
        yield


@settings(max_examples=200, deadline=None)
@given(malformed_payloads())
def test_resilient_router_routes_any_malformed_payload(payload: Any) -> None:
    decision = run_agent(ResilientRouter(), payload)
    assert is_valid_decision(decision)
    # handle() has a catch-all; the payload should be dealt with before it is needed.
    assert "internal error" not in decision.reason


@settings(max_examples=5, deadline=None)
@given(malformed_payloads(kinds=["huge_body"]))
def test_resilient_router_routes_huge_bodies(payload: Any) -> None:
    assert is_valid_decision(run_agent(ResilientRouter(), payload))


def test_naive_router_breaks_on_a_small_malformed_payload() -> None:
    example = find(malformed_payloads(), naive_fails,
                   settings=settings(max_examples=500, database=None, derandomize=True))
    print(f"\nNaiveRouter fails on the shrunk payload: {example!r}")
    assert naive_fails(example)
    assert len(repr(example)) < 300


# -- the strategies, built inside the test (as a user's own test module would) --------------


def drawn(strategy: Any, examples: int = 150) -> list[Any]:
    """Examples of `strategy`, built and drawn inside the calling test (reproducibly)."""
    out: list[Any] = []

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def test_payload_ids_names_and_subjects_are_as_documented() -> None:
    from fault_injectors.inputs import _NAMES, _SUBJECTS

    examples = drawn(payloads(routes=["billing"]))
    for p in examples:
        assert list(p) == list(BASE)  # the keys in the documented order
        assert re.fullmatch(r"T-[1-9]\d*", p["id"])
        assert re.fullmatch(r"conv-[1-9]\d*", p["conversation_id"])
        assert re.fullmatch(r"c-[1-9]\d*", p["customer"]["id"])
        assert p["channel"] in ("email", "chat", "web")
        assert list(p["customer"]) == ["id", "name", "email"]
        assert 1 <= len(p["messages"]) <= 3
        for m in p["messages"]:
            assert list(m) == ["role", "text", "at"] and m["role"] == "customer"
        for stamp in [p["created_at"], *(m["at"] for m in p["messages"])]:
            when = datetime.fromisoformat(stamp)
            assert when.utcoffset() == timedelta(0)
            assert datetime(2020, 1, 1, tzinfo=UTC) <= when <= datetime(2030, 1, 1, tzinfo=UTC)
    assert {p["channel"] for p in examples} == {"email", "chat", "web"}
    assert {len(p["messages"]) for p in examples} == {1, 2, 3}
    assert min(datetime.fromisoformat(p["created_at"]).year for p in examples) == 2020
    # names and subjects mix realistic values with arbitrary text
    names = {p["customer"]["name"] for p in examples}
    subjects = {p["subject"] for p in examples}
    assert names & set(_NAMES) and names - set(_NAMES)
    assert subjects & set(_SUBJECTS) and subjects - set(_SUBJECTS)
    phrases = set(ROUTE_PHRASES["billing"])
    texts = [m["text"] for p in examples for m in p["messages"]]
    assert any(t in phrases for t in texts)
    assert any(t not in phrases and any(t.startswith(x + " ") for x in phrases) for t in texts)


def test_malformed_payloads_built_in_a_test_are_the_harness_mutations() -> None:
    for broken in drawn(malformed_payloads(kinds=["truncated"]), 50):
        assert isinstance(broken, str | bytes)
        with pytest.raises(ValueError):
            json.loads(broken)
    for steered in drawn(malformed_payloads(routes=["vip_desk"], kinds=["prompt_injection"]),
                         30):
        assert "vip_desk" in steered["messages"][-1]["text"]


def test_wrong_type_can_join_the_messages_into_one_text() -> None:
    payload = {"messages": [{"role": "customer", "text": "first"}, {"role": "agent"},
                            "a loose line"]}
    joined = {json.dumps(mutated_payload["messages"]) for seed in range(40)
              if isinstance((mutated_payload := apply_mutation(
                  "wrong_type", payload, random.Random(seed)))["messages"], str)}
    assert joined == {json.dumps("first\n\na loose line")}


def parsed_at(obj: Any, path: Path) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def test_invalid_utf8_lands_inside_a_text_field() -> None:
    payload = {"id": "T-1", "subject": "Refund", "customer": {"id": "c-1", "name": "Ann"},
               "messages": [{"role": "customer", "text": "Please refund me"}]}
    texts = {"subject", "name", "text"}
    hit = set()
    for seed in range(60):
        body = apply_mutation("bad_encoding", payload, random.Random(seed))
        if not isinstance(body, bytes):
            continue
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        parsed = json.loads(body.decode("utf-8", errors="replace"))
        changed = {path for path, value in leaves(parsed)
                   if isinstance(value, str) and "\ufffd" in value}
        assert len(changed) == 1
        hit |= {str(path[-1]) for path in changed}
        original = dict(leaves(payload))
        (path,) = changed
        before, after = original[path], parsed_at(parsed, path)
        same_start = next(i for i, (a, b) in enumerate(zip(before + "\0", after, strict=False))
                          if a != b)
        same_end = next(i for i, (a, b) in enumerate(zip(before[::-1] + "\0", after[::-1],
                                                         strict=False)) if a != b)
        assert same_start + same_end >= len(before)  # only something inserted
        assert len(after) - len(before) <= 8  # one short run of bad bytes
        for path, value in leaves(parsed):
            if isinstance(value, str) and path not in changed:
                assert original[path] == value
    assert hit == texts


def test_invalid_utf8_in_a_payload_without_text_goes_into_a_subject() -> None:
    for seed in range(40):
        body = apply_mutation("bad_encoding", {"id": "T-1"}, random.Random(seed))
        if isinstance(body, bytes):
            parsed = json.loads(body.decode("utf-8", errors="replace"))
            assert parsed["id"] == "T-1" and set(parsed) == {"id", "subject"}
            assert "\ufffd" in parsed["subject"]
            return
    pytest.fail("no seed took the invalid-bytes branch")


def test_invalid_utf8_after_a_body_that_is_not_an_object() -> None:
    for seed in range(40):
        body = apply_mutation("bad_encoding", ["a", "b"], random.Random(seed))
        if isinstance(body, bytes):
            assert body.startswith(json.dumps(["a", "b"]).encode("utf-8"))
            with pytest.raises(UnicodeDecodeError):
                body.decode("utf-8")
            return
    pytest.fail("no seed took the invalid-bytes branch")


def test_a_customer_name_is_text_a_person_wrote() -> None:
    payload = {"customer": {"id": "c-1", "name": "José"}}
    garbled = [apply_mutation("control_chars", payload, random.Random(seed))["customer"]["name"]
               for seed in range(5)]
    assert all(name != "José" for name in garbled)


def test_null_values_nulls_top_level_and_nested_fields() -> None:
    top, nested = set(), set()
    for seed in range(80):
        out = apply_mutation("null_values", BASE, random.Random(seed))
        top |= {key for key, value in out.items() if value is None}
        if isinstance(out.get("customer"), dict):
            nested |= {f"customer.{k}" for k, v in out["customer"].items() if v is None}
        if isinstance(out.get("messages"), list) and out["messages"][0]["text"] is None:
            nested.add("messages.0.text")
    assert top == set(BASE)
    assert nested == {"customer.id", "customer.name", "messages.0.text"}


def test_truncation_can_cut_anywhere_and_a_one_character_body_to_nothing() -> None:
    payload = {"a": 1}  # '{"a": 1}': 8 characters, 8 bytes
    whole = json.dumps(payload)
    texts, data = set(), set()
    for seed in range(400):
        out = apply_mutation("truncated", payload, random.Random(seed))
        (data if isinstance(out, bytes) else texts).add(len(out))
    assert texts == data == set(range(1, len(whole)))
    assert {apply_mutation("truncated", "x", random.Random(s)) for s in range(20)} <= {"", b""}


def test_a_payload_without_messages_gets_one_to_write_into() -> None:
    out = apply_mutation("prompt_injection", {"id": "T-1"}, random.Random(0))
    assert out["messages"][0]["role"] == "customer" and len(out["messages"]) == 1
    assert "Ignore" in out["messages"][0]["text"]


@pytest.mark.parametrize("kind", ["missing_field", "null_values", "wrong_type"])
def test_a_messages_object_instead_of_a_list_is_handled(kind: str) -> None:
    payload = {"id": "T-1", "messages": {"text": "hi"}, "customer": {"id": "c-1"}}
    for seed in range(30):
        out = apply_mutation(kind, payload, random.Random(seed))
        assert out != payload
