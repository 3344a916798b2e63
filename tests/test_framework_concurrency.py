"""Frameworks' own concurrency on simulated time: event loops started by sync code, thread
pools, threads, and what the agent frameworks build on them."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import json
import operator
import queue
import threading
import time
from typing import Annotated, Any, TypedDict

import greenlet
import httpx
import pytest
from conftest import make_scenario

import simharness as sh


def _scenario(duration: str = "10s", **agent: Any) -> dict[str, Any]:
    return make_scenario(duration=duration, agent={"watchdog": 5, **agent})


def _statuses(result: sh.Result) -> set[str]:
    return {r.status for r in result.records}


def _records_json(result: sh.Result) -> str:
    return json.dumps(result.rows(), sort_keys=True)


def _route(response: httpx.Response) -> str:
    response.raise_for_status()
    route: str = json.loads(response.json()["choices"][0]["message"]["content"])["route"]
    return route


def _chat_body(payload: dict[str, Any]) -> dict[str, Any]:
    return {"model": "small",
            "messages": [{"role": "user", "content": payload["messages"][0]["text"]}]}


# -- event loops started by sync code ---------------------------------------------------


def test_asyncio_run_in_a_sync_agent_runs_on_simulated_time():
    seen = []

    def agent(payload, ctx):
        async def main():
            t0 = time.monotonic()
            await asyncio.sleep(30)
            async with httpx.AsyncClient() as client:
                response = await client.post(ctx.base_urls["llm"] + "/v1/chat/completions",
                                             json=_chat_body(payload))
            seen.append((t0, time.monotonic(), ctx.now))
            return _route(response)

        return asyncio.run(main())

    result = sh.run(_scenario(), agent=agent)
    assert _statuses(result) == {"ok"}
    assert seen and all(end - start > 30 for start, end, _ in seen)
    # The loop's clock is the simulation's: time.monotonic inside it matches ctx.now.
    assert all(end - 1000.0 == pytest.approx(now) for _, end, now in seen)
    assert all(r.service_s > 30 and r.calls == 1 for r in result.records)


def test_new_event_loop_and_the_default_loop_work_in_sync_agents():
    def agent(payload, ctx):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(asyncio.sleep(2))
        finally:
            loop.close()
        # The thread's default loop (what run_sync wrappers reuse) is one per worker.
        default = asyncio.get_event_loop()
        default.run_until_complete(asyncio.wait_for(asyncio.sleep(1), timeout=5))
        ctx.state.setdefault("loops", set()).add(id(default))
        return "billing"

    result = sh.run(_scenario(workers=2), agent=agent)
    assert _statuses(result) == {"ok"}
    assert all(r.service_s == pytest.approx(3.0) for r in result.records)


def test_asyncio_run_agent_gives_identical_records_per_seed():
    def agent(payload, ctx):
        async def main():
            async with httpx.AsyncClient() as client:
                first, second = await asyncio.gather(
                    client.post(ctx.base_urls["llm"] + "/v1/chat/completions",
                                json=_chat_body(payload)),
                    client.get(ctx.base_urls["crm"] + "/health"))
            return _route(first)

        return asyncio.run(main())

    runs = [sh.run(_scenario(), agent=agent, seed=5) for _ in range(2)]
    assert _statuses(runs[0]) == {"ok"}
    assert _records_json(runs[0]) == _records_json(runs[1])


# -- threads ----------------------------------------------------------------------------


def _pool_agent(payload, ctx):
    url = ctx.base_urls["llm"] + "/v1/chat/completions"
    with httpx.Client() as client, cf.ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(client.post, url, json=_chat_body(payload)) for _ in range(3)]
        done, _ = cf.wait(futures, return_when=cf.ALL_COMPLETED)
        assert len(list(cf.as_completed(futures))) == 3  # (in set order: not used)
        routes = [_route(f.result()) for f in futures]
        slow = pool.submit(time.sleep, 50)
        t0 = time.monotonic()
        with pytest.raises(cf.TimeoutError):
            slow.result(timeout=7)
        ctx.log(f"result() timed out after {time.monotonic() - t0:g} s")
    assert len(done) == 3
    return routes[0]


def test_thread_pool_work_reaches_the_world_on_simulated_time():
    result = sh.run(_scenario("20s"), agent=_pool_agent)
    assert _statuses(result) == {"ok"}
    assert all(r.calls == 3 for r in result.records)
    # Future.result(timeout) times out in simulated seconds; leaving the pool waits for
    # the 50 s sleep, as shutdown(wait=True) does.
    assert all("result() timed out after 7 s" in r.log[0] for r in result.records)
    assert all(r.service_s > 50 for r in result.records)
    assert result.diagnostics["threads_started"] >= 2 * len(result.records)


def test_thread_pool_agent_gives_identical_records_per_seed():
    runs = [sh.run(_scenario("20s"), agent=_pool_agent, seed=3) for _ in range(2)]
    assert _records_json(runs[0]) == _records_json(runs[1])


def test_threads_queues_events_and_timers_are_simulated():
    def agent(payload, ctx):
        box = []

        def work():
            time.sleep(3)
            box.append(ctx.http.get(ctx.base_urls["crm"] + "/health").status_code)

        worker = threading.Thread(target=work)
        worker.start()
        assert worker.is_alive()
        worker.join(timeout=1)
        assert worker.is_alive()  # the join timed out after 1 simulated second
        worker.join()
        assert not worker.is_alive() and box == [200]

        inbox: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: (time.sleep(1), inbox.put("x"))).start()
        assert inbox.get(timeout=5) == "x"
        t0 = time.monotonic()
        with pytest.raises(queue.Empty):
            inbox.get(timeout=4)
        assert time.monotonic() - t0 == pytest.approx(4)

        fired = threading.Event()
        threading.Timer(2, fired.set).start()
        assert fired.wait(5)
        cond = threading.Condition()
        with cond:
            assert not cond.wait(timeout=1)
        return "billing"

    result = sh.run(_scenario(), agent=agent)
    assert _statuses(result) == {"ok"}
    # 3 (thread) + 1 (queue) + 4 (empty queue) + 2 (timer) + 1 (condition), plus the call.
    assert all(11 < r.service_s < 12 for r in result.records)


def test_async_agents_send_executor_work_to_simulated_threads():
    async def agent(payload, ctx):
        loop = asyncio.get_running_loop()
        with httpx.Client() as client:
            response = await loop.run_in_executor(
                None, lambda: client.post(ctx.base_urls["llm"] + "/v1/chat/completions",
                                          json=_chat_body(payload)))
        await asyncio.to_thread(time.sleep, 2)
        return _route(response)

    result = sh.run(_scenario(), agent=agent)
    assert _statuses(result) == {"ok"}
    assert all(r.calls == 1 and r.service_s > 2 for r in result.records)


def test_a_pool_created_before_the_run_gets_simulated_threads():
    pool = cf.ThreadPoolExecutor(max_workers=1)
    pool.submit(lambda: None).result()  # its worker is a real thread now

    def agent(payload, ctx):
        future = pool.submit(time.sleep, 4)
        future.result()
        return "billing"

    try:
        result = sh.run(_scenario(workers=1), agent=agent)
    finally:
        pool.shutdown()
    assert _statuses(result) == {"ok"}
    assert all(r.service_s == pytest.approx(4) for r in result.records)


_LOCAL = threading.local()  # made at import, like anyio's `threadlocals`


def test_each_simulated_thread_has_its_own_thread_locals():
    _LOCAL.value = "main"

    def work(i):
        _LOCAL.value = i
        time.sleep(0.1)  # another simulated thread runs meanwhile
        seen = _LOCAL.value
        del _LOCAL.value  # what anyio's worker threads do on the way out
        return seen, getattr(_LOCAL, "value", None)

    def agent(payload, ctx):
        assert _LOCAL.value == "main"  # agent code runs on the simulation's own thread
        with cf.ThreadPoolExecutor(4) as pool:
            got = list(pool.map(work, range(4)))
        assert got == [(i, None) for i in range(4)], got
        fresh = threading.local()
        fresh.value = "agent"
        box = []
        thread = threading.Thread(target=lambda: box.append(getattr(fresh, "value", None)))
        thread.start()
        thread.join()
        assert box == [None] and fresh.value == "agent" and _LOCAL.value == "main"
        return "billing"

    result = sh.run(_scenario("3s", workers=2), agent=agent)
    assert _statuses(result) == {"ok"}, [r.error for r in result.records]
    assert _LOCAL.value == "main"
    assert greenlet.gettrace() is None  # the swapping ends with the run


def test_patches_are_restored_and_real_threads_work_after_a_run():
    originals = (threading.Thread.start, threading.Lock, threading.RLock,
                 threading.current_thread, queue.SimpleQueue, cf.ThreadPoolExecutor.submit,
                 asyncio.events.BaseDefaultEventLoopPolicy.new_event_loop, time.sleep,
                 threading._allocate_lock)
    policy_local = asyncio.get_event_loop_policy()._local
    sh.run(_scenario("5s"), agent=_pool_agent)
    assert (threading.Thread.start, threading.Lock, threading.RLock,
            threading.current_thread, queue.SimpleQueue, cf.ThreadPoolExecutor.submit,
            asyncio.events.BaseDefaultEventLoopPolicy.new_event_loop, time.sleep,
            threading._allocate_lock) == originals
    assert asyncio.get_event_loop_policy()._local is policy_local
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        idents = set(pool.map(lambda _: (time.sleep(0.01), threading.get_ident())[1],
                              range(4)))
    assert threading.get_ident() not in idents
    loop = asyncio.new_event_loop()
    assert type(loop).__name__ != "GreenletLoop"
    loop.close()


# -- real frameworks --------------------------------------------------------------------


class _Branches(TypedDict):
    text: str
    visits: Annotated[list, operator.add]
    route: str


def _graph_agent():
    graph_mod = pytest.importorskip("langgraph.graph", reason="langgraph not installed")
    client = httpx.Client()
    urls: dict[str, str] = {}

    def branch(name: str, pause: float):
        def node(state: _Branches) -> dict[str, Any]:
            status = client.get(urls["crm"] + "/health").status_code
            time.sleep(pause)
            return {"visits": [(name, status, time.monotonic())]}
        return node

    def decide(state: _Branches) -> dict[str, Any]:
        response = client.post(urls["llm"] + "/v1/chat/completions",
                               json={"model": "small", "messages": [
                                   {"role": "user", "content": state["text"]}]})
        return {"route": _route(response)}

    graph = graph_mod.StateGraph(_Branches)
    graph.add_node("a", branch("a", 1.0))
    graph.add_node("b", branch("b", 2.0))
    graph.add_node("decide", decide)
    graph.add_edge(graph_mod.START, "a")
    graph.add_edge(graph_mod.START, "b")
    graph.add_edge("a", "decide")
    graph.add_edge("b", "decide")
    graph.add_edge("decide", graph_mod.END)
    app = graph.compile()

    def handle(payload, ctx):
        urls.update(ctx.base_urls)
        start = time.monotonic()
        out = app.invoke({"text": payload["messages"][0]["text"], "visits": []})
        ctx.log(f"branches ended {[round(t - start, 6) for _, _, t in out['visits']]}")
        return out["route"]

    return handle


def test_langgraph_parallel_sync_branches_run_on_simulated_time():
    runs = [sh.run(_scenario(), agent=_graph_agent(), seed=2) for _ in range(2)]
    result = runs[0]
    assert _statuses(result) == {"ok"}
    assert all(r.calls == 3 for r in result.records)  # two CRM lookups and the LLM
    for record in result.records:
        ends = json.loads(record.log[0].split("branches ended ")[1].replace("'", '"'))
        # The branches ran side by side: the slower one ends about 2 s in, not 3.
        assert max(ends) < 2.5 and min(ends) >= 1.0
    assert _records_json(runs[0]) == _records_json(runs[1])


def test_langchain_batch_runs_on_simulated_time():
    runnables = pytest.importorskip("langchain_core.runnables",
                                    reason="langchain-core not installed")

    def agent(payload, ctx):
        def call(text: str) -> str:
            time.sleep(1)
            return _route(ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions",
                                        json={"model": "small", "messages": [
                                            {"role": "user", "content": text}]}))

        text = payload["messages"][0]["text"]
        routes = runnables.RunnableLambda(call).batch([text] * 4,
                                                      config={"max_concurrency": 2})
        return routes[0]

    result = sh.run(_scenario(), agent=agent)
    assert _statuses(result) == {"ok"}
    assert all(r.calls == 4 for r in result.records)
    # Four one-second calls two at a time: two rounds, plus the model's latency.
    assert all(2 < r.service_s < 6 for r in result.records)


def test_pydantic_ai_run_sync_in_a_sync_agent():
    pytest.importorskip("pydantic_ai", reason="pydantic-ai not installed")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    outputs = []

    def agent(payload, ctx):
        model = OpenAIChatModel("small", provider=OpenAIProvider(
            base_url=ctx.base_urls["llm"] + "/v1", api_key="sim", http_client=None))
        run = Agent(model).run_sync(payload["messages"][0]["text"])
        outputs.append(run.output)
        return "billing"

    result = sh.run(_scenario("5s"), agent=agent)
    assert _statuses(result) == {"ok"}
    assert all(r.calls >= 1 for r in result.records)
    assert outputs and all(isinstance(o, str) and o for o in outputs)


def test_openai_agents_run_sync_in_a_sync_agent():
    pytest.importorskip("agents", reason="openai-agents not installed")
    from agents import Agent, OpenAIChatCompletionsModel, Runner
    from openai import AsyncOpenAI

    outputs = []

    def agent(payload, ctx):
        client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim")
        router = Agent(name="router", instructions="Route the ticket.",
                       model=OpenAIChatCompletionsModel("small", client))
        run = Runner.run_sync(router, payload["messages"][0]["text"])
        outputs.append(run.final_output)
        return "billing"

    result = sh.run(_scenario("5s"), agent=agent)
    assert _statuses(result) == {"ok"}
    assert all(r.calls >= 1 for r in result.records)
    assert outputs and all(isinstance(o, str) and o for o in outputs)


# -- background traffic -----------------------------------------------------------------


def test_background_threads_never_reach_the_real_network_and_stay_quiet():
    requests = pytest.importorskip("requests", reason="requests not installed")
    seen = []

    def agent(payload, ctx):
        def export():  # what a tracing exporter does, on a daemon thread
            seen.append(httpx.post("https://api.example.com/v1/traces", json={}).status_code)
            seen.append(requests.post("https://telemetry.example.com/ingest").status_code)

        threading.Thread(target=export, daemon=True).start()
        with pytest.raises(requests.ConnectionError, match="real network is disabled"):
            requests.get("https://api.example.com/v1/models")
        with pytest.raises(httpx.ConnectError, match="real network is disabled"):
            httpx.get("https://api.example.com/v1/models")
        return "billing"

    result = sh.run(_scenario("3s"), agent=agent)
    assert _statuses(result) == {"ok"}
    assert seen and set(seen) == {202}
    background = result.diagnostics["background_hosts"]
    assert background == {"api.example.com": len(seen) // 2,
                          "telemetry.example.com": len(seen) // 2}
    # Agent code calling a real host is counted (and warned about) apart from background.
    assert result.diagnostics["blocked_hosts"] == {"api.example.com": 2 * len(seen) // 2}


def test_openai_agents_tracing_exporter_is_answered_in_process(monkeypatch, caplog):
    pytest.importorskip("agents", reason="openai-agents not installed")
    from agents import (
        Agent,
        OpenAIChatCompletionsModel,
        Runner,
        set_trace_processors,
        set_tracing_disabled,
    )
    from agents.tracing.processors import (
        BackendSpanExporter,
        BatchTraceProcessor,
        default_processor,
    )
    from openai import AsyncOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-simulated")
    # tracing is process-wide: an agent elsewhere in this process may have turned it off
    set_tracing_disabled(False)
    processors = []

    def agent(payload, ctx):
        if not processors:  # the SDK's exporter, flushing every simulated second
            processors.append(BatchTraceProcessor(BackendSpanExporter(), schedule_delay=1.0))
            set_trace_processors(processors)
        client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim")
        router = Agent(name="router", instructions="Route the ticket.",
                       model=OpenAIChatCompletionsModel("small", client))
        Runner.run_sync(router, payload["messages"][0]["text"])
        return "billing"

    try:
        with caplog.at_level("WARNING", logger="openai.agents"):
            result = sh.run(_scenario("5s"), agent=agent)
    finally:
        set_trace_processors([default_processor()])
    assert _statuses(result) == {"ok"}
    assert result.diagnostics["background_hosts"].get("api.openai.com", 0) >= 1
    assert not result.diagnostics["blocked_hosts"]
    assert not [r for r in caplog.records if "Tracing" in r.getMessage()]


def test_threads_and_event_loops_are_simulated_in_a_notebook_run():
    """Inside a running event loop (a notebook), the run moves to a thread of its own; the
    threads and loops its agents start are simulated there just the same."""

    def agent(payload, ctx):
        with cf.ThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(time.sleep, 3).result()
        return asyncio.run(asyncio.sleep(1, "billing"))

    async def notebook_cell():
        return sh.run(_scenario("5s"), agent=agent)

    result = asyncio.run(notebook_cell())
    assert _statuses(result) == {"ok"}
    assert all(r.service_s == pytest.approx(4.0) for r in result.records)
