"""Each fault kind reaches agent code as production delivers it, only inside its window."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from conftest import make_scenario

import simharness as sh

WINDOW = (120.0, 240.0)
# Steady latencies, so that nothing but the fault can trip a client timeout.
STEADY = {"llm": {"tiers": {"small": {"latency": {"dist": "fixed", "value": "0.5s"}},
                            "large": {"latency": {"dist": "fixed", "value": "1s"}}}}}


def probe(target: str, timeout: float = 10.0, model: str = "small"):
    """An agent that makes one call per ticket and notes what came back, and when."""
    seen: list[dict] = []

    def agent(payload, ctx):
        start = ctx.now
        note = {"at": start}
        try:
            if target.startswith("llm"):
                reply = ctx.http.post(
                    ctx.base_urls["llm"] + "/v1/chat/completions", timeout=timeout,
                    json={"model": model, "messages": [
                        {"role": "user", "content": payload["messages"][0]["text"]}]})
            else:
                reply = ctx.http.get(f"{ctx.base_urls['crm']}/customers/"
                                     f"{payload['customer']['id']}", timeout=timeout)
            note.update(status=reply.status_code, headers=dict(reply.headers), body=reply.text)
        except httpx.HTTPError as exc:
            note.update(exc=type(exc))
        note["took"] = ctx.now - start
        seen.append(note)
        return "billing"

    return agent, seen


def run_fault(fault: dict, target: str = "llm.small", duration: str = "6m", **probe_kw):
    agent, seen = probe(target, **probe_kw)
    fault = {"name": "f", "target": target, "at": WINDOW[0], "duration": WINDOW[1] - WINDOW[0],
             **fault}
    result = sh.run(make_scenario(duration=duration, faults=[fault], world=STEADY), agent=agent)
    inside = [s for s in seen if WINDOW[0] <= s["at"] < WINDOW[1]]
    outside = [s for s in seen if not WINDOW[0] <= s["at"] < WINDOW[1]]
    assert inside and outside
    assert all("exc" not in s and s["status"] == 200 for s in outside)
    return inside, result


def content(note: dict):
    return json.loads(note["body"])["choices"][0]["message"]["content"]


def test_outage_reaches_agent_as_connect_error():
    inside, result = run_fault({"kind": "outage"})
    assert all(s["exc"] is httpx.ConnectError for s in inside)
    assert result.metrics["faults"]["f"] == len(inside)


def test_timeout_fires_the_clients_own_timeout():
    inside, _ = run_fault({"kind": "timeout"}, target="tools.crm", timeout=7.0)
    assert all(s["exc"] is httpx.ReadTimeout and s["took"] == pytest.approx(7.0) for s in inside)


def test_latency_fault_adds_a_distribution_and_trips_short_timeouts():
    inside, _ = run_fault({"kind": "latency", "add": {"dist": "fixed", "value": "30s"}},
                          timeout=10.0)
    assert all(s["exc"] is httpx.ReadTimeout and s["took"] == pytest.approx(10.0)
               for s in inside)
    slow, _ = run_fault({"kind": "latency", "add": {"dist": "fixed", "value": "30s"}},
                        timeout=60.0)
    assert all(s["status"] == 200 and 30 < s["took"] < 40 for s in slow)


def test_reset_drops_the_connection_mid_response():
    inside, _ = run_fault({"kind": "reset"})
    assert all(s["exc"] is httpx.RemoteProtocolError for s in inside)
    read, _ = run_fault({"kind": "reset", "error": "read"})
    assert all(s["exc"] is httpx.ReadError for s in read)


def test_http_error_returns_the_status_with_a_body():
    inside, _ = run_fault({"kind": "http_error", "status": 502}, target="tools.crm")
    assert all(s["status"] == 502 and "Bad Gateway" in s["body"] for s in inside)


def test_rate_limit_sends_429_with_retry_after():
    inside, _ = run_fault({"kind": "rate_limit", "retry_after": "20s"})
    assert all(s["status"] == 429 and s["headers"]["retry-after"] == "20" for s in inside)


def test_rate_limit_token_bucket_is_drained_by_the_agents_own_traffic():
    # 1 ticket/s against a bucket of 10 refilled at 0.5/s: the first ten pass, then about
    # half the calls get a 429 whose Retry-After says when the next token comes.
    inside, _ = run_fault({"kind": "rate_limit", "bucket": 10, "refill": "0.5/s"})
    statuses = [s["status"] for s in inside]
    assert statuses[:10] == [200] * 10
    rest = statuses[10:]
    assert 0.3 < rest.count(429) / len(rest) < 0.7
    assert {s["headers"]["retry-after"] for s in inside if s["status"] == 429} <= {"1", "2"}


def test_slow_drip_times_out_a_tight_client_and_stalls_a_patient_one():
    tight, _ = run_fault({"kind": "slow_drip", "chunk_every": "5s", "total": "3m"}, timeout=2.0)
    assert all(s["exc"] is httpx.ReadTimeout and s["took"] == pytest.approx(2.0) for s in tight)
    patient, _ = run_fault({"kind": "slow_drip", "chunk_every": "5s", "total": "3m"},
                           timeout=10.0)
    assert all(s["status"] == 200 and s["took"] == pytest.approx(180.0) for s in patient)


def test_flapping_alternates_down_and_up():
    inside, _ = run_fault({"kind": "flapping", "period": "20s", "down": 0.5})
    for s in inside:
        down = (s["at"] - WINDOW[0]) % 20 < 10
        assert (s.get("exc") is httpx.ConnectError) == down


def test_refusal_off_taxonomy_empty_and_wrong_schema_rewrite_the_content():
    refused, _ = run_fault({"kind": "refusal"})
    assert all("can't help" in content(s) for s in refused)
    off, _ = run_fault({"kind": "off_taxonomy", "label": "sales"})
    assert all(json.loads(content(s))["route"] == "sales" for s in off)
    empty, _ = run_fault({"kind": "empty_completion"})
    assert all(content(s) == "" for s in empty)
    wrong, _ = run_fault({"kind": "wrong_schema"})
    for s in wrong:
        parsed = json.loads(content(s))
        assert not (isinstance(parsed, dict) and "route" in parsed)


def test_invalid_json_content_does_not_parse():
    inside, _ = run_fault({"kind": "invalid_json", "mode": "truncated"})
    for s in inside:
        with pytest.raises(json.JSONDecodeError):
            json.loads(content(s))
        assert json.loads(s["body"])["choices"][0]["finish_reason"] == "length"


def test_context_overflow_is_a_400_with_the_openai_code():
    inside, _ = run_fault({"kind": "context_overflow", "limit": 5})
    assert all(s["status"] == 400 and "context_length_exceeded" in s["body"] for s in inside)


def test_token_spike_multiplies_usage_and_cost():
    agent, seen = probe("llm.small")
    base = sh.run(make_scenario(duration="2m"), agent=agent)
    spiked = sh.run(make_scenario(duration="2m", faults=[
        {"name": "spike", "target": "llm", "kind": "token_spike", "factor": 4}]), agent=agent)
    assert spiked.metrics["cost"]["total_usd"] == pytest.approx(
        4 * base.metrics["cost"]["total_usd"], rel=0.02)


def test_degraded_lowers_accuracy_only_in_the_window():
    def agent(payload, ctx):
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "large", "messages": [{"role": "user",
                                            "content": payload["messages"][0]["text"]}]})
        return json.loads(reply.json()["choices"][0]["message"]["content"])["route"]

    result = sh.run(make_scenario(duration="20m", faults=[
        {"name": "dumb", "target": "llm.large", "kind": "degraded", "factor": 0.3,
         "at": "5m", "duration": "10m"}]), agent=agent)
    inside = [r for r in result.records if "dumb" in r.faults]
    outside = [r for r in result.records if "dumb" not in r.faults]
    acc = lambda rs: sum(r.pred_route == r.true_route for r in rs) / len(rs)  # noqa: E731
    assert acc(outside) > 0.9 and acc(inside) < 0.5


def test_probability_applies_per_call_and_ramp_rises_through_the_window():
    half, _ = run_fault({"kind": "outage", "probability": 0.5}, duration="10m")
    share = sum("exc" in s for s in half) / len(half)
    assert 0.3 < share < 0.7  # 120 draws, sd 0.046
    agent, seen = probe("llm.small")
    sh.run(make_scenario(duration="10m", faults=[{"name": "r", "target": "llm", "kind": "outage",
                                                   "at": "0s", "duration": "10m",
                                                   "ramp": "10m"}]), agent=agent)
    early = [s for s in seen if s["at"] < 150]
    late = [s for s in seen if s["at"] > 450]
    assert sum("exc" in s for s in early) / len(early) < sum("exc" in s for s in late) / len(late)


def test_every_for_repeats_and_overlapping_faults_compose():
    agent, seen = probe("llm.small", timeout=60)
    result = sh.run(make_scenario(duration="10m", faults=[
        {"name": "blips", "target": "llm", "kind": "outage", "at": "0s", "every": "2m",
         "for": "30s"},
        {"name": "slow", "target": "llm", "kind": "latency",
         "add": {"dist": "fixed", "value": "20s"}, "at": "0s", "duration": "10m"}]), agent=agent)
    for s in seen:
        down = s["at"] % 120 < 30
        assert (s.get("exc") is httpx.ConnectError) == down
        if not down:
            assert s["took"] >= 20
    windows = [(n, a, b) for n, a, b in result.fault_windows if n == "blips"]
    assert windows[:2] == [("blips", 0.0, 30.0), ("blips", 120.0, 150.0)]
    assert not any(math.isinf(b) for _, _, b in result.fault_windows)


# -- inputs and deliveries, through the engine ---------------------------------------------

def _payload_probe():
    seen: list[tuple[float, object]] = []

    def agent(payload, ctx):
        seen.append((ctx.now, payload))
        return "billing"

    return agent, seen


def test_input_fault_breaks_payloads_only_inside_its_window():
    agent, seen = _payload_probe()
    fault = {"name": "drift", "kind": "renamed_field", "at": WINDOW[0],
             "duration": WINDOW[1] - WINDOW[0]}
    result = sh.run(make_scenario(duration="6m", faults=[fault]), agent=agent)
    well_formed = {"id", "conversation_id", "created_at", "channel", "language", "customer",
                   "subject", "messages"}
    for at, payload in seen:
        inside = WINDOW[0] <= at < WINDOW[1]
        intact = isinstance(payload, dict) and set(payload) == well_formed \
            and set(payload["customer"]) == {"id", "name", "email"} \
            and set(payload["messages"][0]) == {"role", "text", "at"}
        assert intact != inside
    broken = [r for r in result.records if "drift" in r.faults]
    assert broken and all("malformed" in r.tags for r in broken)


def test_truncated_input_reaches_the_agent_as_raw_broken_json():
    agent, seen = _payload_probe()
    sh.run(make_scenario(duration="1m", faults=[{"name": "cut", "kind": "truncated"}]),
           agent=agent)
    assert seen and all(isinstance(p, (str, bytes)) for _, p in seen)
    for _, payload in seen:
        with pytest.raises(ValueError):
            json.loads(payload)


def test_duplicate_delivery_calls_the_agent_twice_with_the_same_event():
    agent, seen = _payload_probe()
    result = sh.run(make_scenario(duration="1m", faults=[
        {"name": "dup", "kind": "duplicate_delivery", "after": "5s"}]), agent=agent)
    ids = [p["id"] for _, p in seen]
    assert len(ids) == 2 * len(result.records) and len(set(ids)) == len(result.records)
    first, second = [t for t, p in seen if p["id"] == ids[0]]
    assert second - first == pytest.approx(5.0, abs=0.5)
    assert all(r.events == 2 and r.faults == ["dup"] for r in result.records)


def test_out_of_order_delivers_the_follow_up_before_its_original():
    agent, seen = _payload_probe()
    traffic = [{"synthetic": {"rate": "1/s", "mix": {"mind_change": 1.0}}}]
    sh.run(make_scenario(duration="30s", traffic=traffic, drain="1h", faults=[
        {"name": "late", "kind": "out_of_order", "by": "1m"}]), agent=agent)
    order: dict[str, list[str]] = {}
    for _, payload in seen:
        order.setdefault(payload["conversation_id"], []).append(payload["id"])
    assert order and all(ids[0].endswith("-1") and not ids[1].endswith("-1")
                         for ids in order.values())


def test_custom_fault_kind_registers_and_runs():
    import fault_injectors
    from fault_injectors import FaultInjector

    @fault_injectors.register
    class Teapot(FaultInjector):
        """Every call answers 418."""

        kind = "teapot_test_only"

        def before(self, call):
            from simharness.world.http import SimResponse

            return 0.01, SimResponse(status=418, body=b"I'm a teapot")

    inside, _ = run_fault({"kind": "teapot_test_only"})
    assert all(s["status"] == 418 for s in inside)


def test_unknown_fault_kind_names_the_closest_known_kind():
    with pytest.raises(sh.ScenarioError, match=r"faults\[0\]\.kind.*did you mean 'outage'"):
        sh.run(make_scenario(faults=[{"name": "x", "target": "llm", "kind": "outtage"}]),
               agent=lambda p: "billing")


def test_a_fault_counts_only_tickets_it_actually_changed():
    # A bucket that never runs dry touches nothing; a flapping target (down for the first
    # 6 minutes of its hour, from 30 s on) touches only the tickets whose calls it refused.
    agent, _ = probe("llm.small")
    result = sh.run(make_scenario(duration="2m", world=STEADY, faults=[
        {"name": "roomy", "target": "llm", "kind": "rate_limit", "bucket": 1000, "refill": "10/s"},
        {"name": "flap", "target": "llm", "kind": "flapping", "period": "1h", "down": 0.1,
         "from": "30s"},
    ]), agent=agent)
    assert result.metrics["faults"]["roomy"] == 0
    flapped = result.metrics["faults"]["flap"]
    assert 0 < flapped <= len([r for r in result.records if r.arrived_at < 30 + 360])


@pytest.mark.parametrize("share_of_tickets", [{"probability": 0.2}, {"rate": 0.2}])
def test_malformed_input_honours_probability(share_of_tickets):
    agent, seen = _payload_probe()
    result = sh.run(make_scenario(duration="5m", faults=[
        {"name": "some", "kind": "malformed_input", **share_of_tickets}]), agent=agent)
    share = sum("some" in r.faults for r in result.records) / len(result.records)
    assert 0.1 < share < 0.3  # ~300 tickets, sd 0.023


def test_asyncio_loop_time_is_the_agents_monotonic_clock():
    import asyncio
    import time

    seen = []

    async def agent(payload, ctx):
        seen.append(asyncio.get_running_loop().time() - time.monotonic())
        return "billing"

    sh.run(make_scenario(duration="5s"), agent=agent)
    assert seen and all(abs(d) < 1e-9 for d in seen)
