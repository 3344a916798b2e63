"""Real agent code on the simulated clock: sleeps, clocks, timeouts, retries, breakers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import httpx
import pybreaker
import pytest
import tenacity
from conftest import make_scenario

import simharness as sh


def _chat(ctx, text: str, model: str = "small", timeout: float | None = None) -> dict:
    kwargs = {} if timeout is None else {"timeout": timeout}
    response = ctx.http.post(
        ctx.base_urls["llm"] + "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}]}, **kwargs)
    response.raise_for_status()
    return json.loads(response.json()["choices"][0]["message"]["content"])


def test_time_sleep_monotonic_and_datetime_follow_simulated_time():
    seen = []

    def agent(payload, ctx):
        t0, m0, w0, d0 = ctx.now, time.monotonic(), time.time(), dt.datetime.now(dt.UTC)
        time.sleep(42.5)
        seen.append((ctx.now - t0, time.monotonic() - m0, time.time() - w0,
                     (dt.datetime.now(dt.UTC) - d0).total_seconds(),
                     time.perf_counter() - m0))
        return "billing"

    wall = time.perf_counter()
    result = sh.run(make_scenario(duration="30s", traffic=[{"synthetic": {"rate": "1/s"}}]),
                    agent=agent)
    assert time.perf_counter() - wall < 10
    assert seen and all(s == pytest.approx((42.5,) * 5, abs=1e-6) for s in seen)
    assert {r.status for r in result.records} == {"ok"}
    # Each ticket took its 42.5 simulated seconds of service.
    assert all(r.service_s == pytest.approx(42.5) for r in result.records)


def test_datetime_now_starts_at_scenario_start():
    starts = []

    def agent(payload, ctx):
        starts.append((dt.datetime.now(dt.UTC), ctx.now, payload["created_at"]))
        return "billing"

    sh.run(make_scenario(duration="20s", start="2030-03-01T08:00:00Z"), agent=agent)
    now, sim, created = starts[0]
    expected = dt.datetime(2030, 3, 1, 8, tzinfo=dt.UTC) + dt.timedelta(seconds=sim)
    assert abs((now - expected).total_seconds()) < 1e-3
    assert dt.datetime.fromisoformat(created) == pytest.approx(expected, abs=dt.timedelta(0.001))


def test_patches_are_restored_after_the_run():
    before = (time.sleep, time.monotonic, time.perf_counter, time.time)
    sh.run(make_scenario(duration="10s"), agent=lambda p: "billing")
    assert (time.sleep, time.monotonic, time.perf_counter, time.time) == before
    assert abs(time.time() - dt.datetime.now().timestamp()) < 1
    assert dt.datetime.now().year >= 2026 and abs(time.time() - time.time()) < 1
    assert httpx.HTTPTransport.handle_request.__qualname__ == "HTTPTransport.handle_request"


def test_client_timeout_gives_read_timeout_after_exactly_that_timeout():
    observed = []

    def agent(payload, ctx):
        start = ctx.now
        try:
            _chat(ctx, payload["messages"][0]["text"], timeout=10.0)
        except httpx.ReadTimeout as exc:
            observed.append((ctx.now - start, type(exc)))
            raise
        return "billing"

    world = {"llm": {"tiers": {"small": {"latency": {"dist": "fixed", "value": "30s"}}}}}
    result = sh.run(make_scenario(duration="30s", world=world), agent=agent)
    assert observed and all(d == pytest.approx(10.0, abs=1e-9) and t is httpx.ReadTimeout
                            for d, t in observed)
    assert all(r.status == "error" and "ReadTimeout" in r.error for r in result.records)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_response_elapsed_and_length_are_what_a_network_client_sees(asynchronous):
    """`response.elapsed` is the simulated round trip (a client reading a network stream
    sets it), and the length comes as the server's lower-case header."""
    seen = []
    body = {"model": "small", "messages": [{"role": "user", "content": "refund please"}]}

    def check(response, start, now):
        seen.append((response.elapsed.total_seconds(), now - start,
                     response.headers.raw[-1], len(response.content)))

    def agent(payload, ctx):
        start = ctx.now
        check(ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json=body),
              start, ctx.now)
        return "billing"

    async def async_agent(payload, ctx):
        start = ctx.now
        check(await ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json=body),
              start, ctx.now)
        return "billing"

    world = {"llm": {"tiers": {"small": {"latency": {"dist": "fixed", "value": "2.5s"},
                                         "per_output_token": "0s"}}}}
    sh.run(make_scenario(duration="10s", world=world),
           agent=async_agent if asynchronous else agent)
    assert seen
    for elapsed, waited, (name, value), length in seen:
        assert elapsed == pytest.approx(2.5, abs=1e-6) and waited == pytest.approx(2.5)
        assert name == b"content-length" and int(value) == length > 0


def test_async_client_timeout_gives_read_timeout_after_exactly_that_timeout():
    observed = []

    async def agent(payload, ctx):
        start = ctx.now
        try:
            await ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", timeout=10.0,
                                json={"model": "small", "messages": []})
        except httpx.ReadTimeout:
            observed.append(ctx.now - start)
            return "billing"
        return "technical"

    world = {"llm": {"tiers": {"small": {"latency": {"dist": "fixed", "value": "30s"}}}}}
    result = sh.run(make_scenario(duration="20s", world=world), agent=agent)
    assert observed and all(d == pytest.approx(10.0, abs=1e-9) for d in observed)
    assert all(r.pred_route == ["billing"] for r in result.records)


def test_asyncio_sleep_and_wait_for_land_at_simulated_times():
    seen = []

    async def agent(payload, ctx):
        loop = asyncio.get_running_loop()
        t0, l0 = ctx.now, loop.time()
        await asyncio.sleep(7)
        try:
            await asyncio.wait_for(asyncio.sleep(100), timeout=3)
        except TimeoutError:
            pass
        seen.append((ctx.now - t0, loop.time() - l0))
        return "billing"

    sh.run(make_scenario(duration="10s"), agent=agent)
    assert seen and all(s == pytest.approx((10.0, 10.0)) for s in seen)


def test_tenacity_and_pybreaker_run_on_simulated_time_through_an_outage():
    """A retrying agent with a breaker: the breaker opens in the outage and closes after."""
    transitions: list[tuple[float, str]] = []
    clock = {"ctx": None}

    class Listener(pybreaker.CircuitBreakerListener):
        def state_change(self, cb, old_state, new_state):
            transitions.append((clock["ctx"].now, new_state.name))

    breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60, listeners=[Listener()])

    @tenacity.retry(wait=tenacity.wait_exponential(multiplier=1, max=60),
                    stop=tenacity.stop_after_attempt(6),
                    retry=tenacity.retry_if_exception_type(httpx.TransportError),
                    reraise=True)
    def classify(ctx, text):
        return breaker.call(_chat, ctx, text, "large")

    def agent(payload, ctx):
        clock["ctx"] = ctx
        try:
            return classify(ctx, payload["messages"][0]["text"])["route"]
        except (httpx.TransportError, pybreaker.CircuitBreakerError):
            return "billing"

    scenario = make_scenario(
        duration="1h", traffic=[{"synthetic": {"rate": "1/s"}}],
        faults=[{"name": "down", "target": "llm.large", "kind": "outage", "at": "20m",
                 "duration": "5m"}])
    wall = time.perf_counter()
    result = sh.run(scenario, agent=agent)
    wall = time.perf_counter() - wall
    assert wall < 20, wall
    assert len(result.records) > 3000
    opened = [t for t, s in transitions if s == "open"]
    closed = [t for t, s in transitions if s == "closed"]
    assert opened and closed
    # The breaker first opens inside the outage, soon after it starts...
    assert 1200 <= opened[0] < 1210
    # ...stays shut through it (half-open probes fail and reopen it) and never opens outside.
    assert all(1200 <= t < 1500 for t in opened)
    # ...and closes on the first probe after the outage ends (reset timeout 60 s).
    assert 1500 <= closed[-1] <= 1560
    assert result.metrics["faults"]["down"] > 0


def test_openai_sdk_async_agent_routes_tickets():
    openai = pytest.importorskip("openai")

    async def agent(payload, ctx):
        client = openai.AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                    http_client=ctx.http, max_retries=2)
        text = payload["messages"][0]["text"]
        reply = await client.chat.completions.create(
            model="large", messages=[{"role": "user", "content": text}])
        return json.loads(reply.choices[0].message.content)["route"]

    result = sh.run(make_scenario(duration="2m"), agent=agent)
    assert len(result.records) > 60
    assert all(r.status == "ok" for r in result.records), result.records[0].error
    assert result.metrics["routing"]["accuracy"] > 0.85
    assert result.metrics["cost"]["total_usd"] > 0


def test_openai_sdk_with_its_own_http_client_reaches_the_world():
    openai = pytest.importorskip("openai")
    client_box = {}

    async def agent(payload, ctx):
        if "c" not in client_box:  # the SDK builds its own httpx client
            client_box["c"] = openai.AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1",
                                                 api_key="sim")
        reply = await client_box["c"].chat.completions.create(
            model="small", messages=[{"role": "user", "content": payload["messages"][0]["text"]}])
        return json.loads(reply.choices[0].message.content)["route"]

    result = sh.run(make_scenario(duration="1m"), agent=agent)
    assert result.records and all(r.status == "ok" for r in result.records), \
        result.records[0].error


def test_sync_openai_sdk_agent_retries_on_simulated_time():
    openai = pytest.importorskip("openai")

    def agent(payload, ctx):
        client = openai.OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                               http_client=ctx.http, max_retries=0)
        reply = client.chat.completions.create(
            model="small", messages=[{"role": "user", "content": payload["messages"][0]["text"]}])
        return json.loads(reply.choices[0].message.content)["route"]

    result = sh.run(make_scenario(duration="1m"), agent=agent)
    assert result.records and all(r.status == "ok" for r in result.records), \
        result.records[0].error


def test_real_hosts_are_blocked_with_a_clear_error():
    def agent(payload, ctx):
        httpx.get("https://api.example.com/v1/models", timeout=5)
        return "billing"

    result = sh.run(make_scenario(duration="5s"), agent=agent)
    assert result.records
    assert all(r.status == "error" and "real network is disabled" in r.error
               for r in result.records)
    assert result.diagnostics["blocked_hosts"] == {"api.example.com": len(result.records)}


def test_run_works_inside_a_running_event_loop_as_in_jupyter():
    """Notebooks call sh.run from inside the kernel's event loop: the run moves to a thread,
    and the watchdog still catches a spinning agent there."""
    calls = {"n": 0}

    async def agent(payload, ctx):
        calls["n"] += 1
        if calls["n"] == 2:
            while True:
                pass
        await asyncio.sleep(1)
        return "billing"

    async def notebook_cell():
        return sh.run(make_scenario(duration="10s", agent={"watchdog": 0.3}), agent=agent)

    result = asyncio.run(notebook_cell())
    assert [r.status for r in result.records[:3]] == ["ok", "hung", "ok"]
