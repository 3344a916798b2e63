"""ctx.log is capped per ticket; `make_context` builds a context for unit tests; the
README's Hypothesis example runs as written."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO, make_scenario

import simharness as sh
from simharness.agents.reference import ResilientRouter
from simharness.records import MAX_LOG_LINE_CHARS, MAX_LOG_LINES, AuditTrail


def chatty(payload: Any, ctx: Any) -> str:
    for i in range(10_000):
        ctx.log(f"line {i}")
    ctx.log("z" * 1_000_000)
    return "billing"


def test_ctx_log_keeps_a_bounded_number_of_lines_and_says_how_many_were_cut(tmp_path: Path):
    """The reported case: 10 tickets x 10,000 lines made a 101 MB records.jsonl."""
    result = sh.run(make_scenario(duration="10s"), agent=chatty)
    assert len(result.records) >= 5
    for r in result.records:
        assert len(r.log) == MAX_LOG_LINES + 1
        assert r.log[-1] == f"[ctx.log: {10_001 - MAX_LOG_LINES:,} more lines cut; " \
                            f"{MAX_LOG_LINES} are kept per ticket]"
    result.save(tmp_path)
    assert (tmp_path / "records.jsonl").stat().st_size < 60_000 * len(result.records)


def test_the_cap_is_per_ticket_across_events_and_harness_lines_are_kept():
    trail = AuditTrail()
    for i in range(MAX_LOG_LINES + 3):
        trail.add(f"agent {i}")
    trail.append("harness: event 1: timeout")
    trail.add("one more")
    assert trail[-2] == f"[ctx.log: 4 more lines cut; {MAX_LOG_LINES} are kept per ticket]"
    assert trail[-1] == "harness: event 1: timeout"
    trail.add("x" * (MAX_LOG_LINE_CHARS + 50))
    assert "more lines cut" in trail[-2]


def test_long_lines_are_cut():
    trail = AuditTrail()
    trail.add("x" * (MAX_LOG_LINE_CHARS + 50))
    assert trail[0].endswith("… (50 more characters cut)")


def test_make_context_calls_an_agent_without_a_run():
    ctx = sh.make_context()
    decision = ResilientRouter().handle(
        {"id": "T1", "conversation_id": "c1", "customer": {"id": "C1"},
         "subject": "card", "messages": [{"role": "customer", "text": "my invoice is wrong"}]},
        ctx)
    assert decision.route == "billing" and "keyword fallback" in decision.reason
    assert any("ConnectError" in line for line in ctx.log_lines)


def test_make_context_sleep_moves_the_clock_and_takes_a_client():
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"ok": True})

    ctx = sh.make_context(http=httpx.Client(transport=httpx.MockTransport(answer)), now=5.0)
    ctx.sleep(2.5)
    assert ctx.now == 7.5
    assert ctx.http.get(ctx.base_urls["crm"] + "/customers/C1").json() == {"ok": True}
    assert seen == ["http://crm.sim/customers/C1"]
    ctx.state["x"] = 1
    assert ctx.state == {"x": 1}


def test_make_context_for_async_agents():
    ctx = sh.make_context(asynchronous=True)
    assert isinstance(ctx.http, httpx.AsyncClient)

    async def agent() -> str:
        await ctx.sleep(3)
        with pytest.raises(httpx.ConnectError, match="no simulated world"):
            await ctx.http.get(ctx.base_urls["llm"] + "/v1/models")
        return "ok"

    assert asyncio.run(agent()) == "ok"
    assert ctx.now == 3.0


def readme_block(marker: str) -> str:
    """The fenced Python block of README.md that contains `marker`."""
    text = (REPO / "README.md").read_text()
    for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL):
        if marker in block:
            return block
    raise AssertionError(f"README has no Python block with {marker!r}")


def test_readme_hypothesis_example_runs_as_written():
    pytest.importorskip("hypothesis")
    code = readme_block("@given(malformed_payloads())")
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    assert tests, "the README example defines no test"
    for test in tests:
        test()  # Hypothesis runs its examples here; a crash fails this test
