"""Agents in other processes: tickets as webhooks, the world served over loopback."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

import simharness as sh
from simharness.errors import ScenarioError

AGENT = Path(__file__).parent / "agents" / "http_router.py"
NODE_AGENT = Path(__file__).parent / "agents" / "node_router"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scenario(agent_url: str, world_port: int, **agent: object) -> dict:
    return {
        "name": "remote", "seed": 3, "duration": "30s", "drain": "5s",
        "traffic": [{"synthetic": {"rate": "2/s", "mix": {}}}],
        "agent": {"http": agent_url, "world_port": world_port, "speed": 6, "workers": 8,
                  **agent},
        "faults": [{"kind": "outage", "target": "llm", "at": "12s", "duration": "8s"}],
        "expect": {"tickets.total": "> 0"},
    }


@pytest.fixture
def python_agent():
    """A real agent process (standard library and httpx only) and the world's port."""
    port, world = _free_port(), _free_port()
    env = dict(os.environ, SIMHARNESS_LLM_URL=f"http://127.0.0.1:{world}/llm/v1")
    process = subprocess.Popen([sys.executable, str(AGENT), str(port)], env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}/route", world
    finally:
        process.kill()
        process.wait()


@pytest.mark.timeout(120)
def test_an_agent_in_another_process_runs_a_served_scenario_with_an_outage(python_agent):
    url, world = python_agent
    result = sh.run(_scenario(url, world))
    statuses = Counter(record.status for record in result.records)
    assert result.metrics["tickets"]["total"] == len(result.records) > 20
    assert statuses["ok"] > 0 and statuses["error"] > 0
    [(_name, start, end)] = result.fault_windows
    for record in result.records:
        if record.status == "ok":
            assert record.pred_route, record
        else:  # the agent's 503 while the model was down: inside the outage (+ latency)
            assert "HTTP 503" in (record.error or ""), record.error
            assert start - 2 <= record.arrived_at <= end + 2, (record.arrived_at, start, end)
    assert result.metrics["routing"]["accuracy@baseline"] > 0.3


def _node() -> str:
    """The node executable, or skip: the Node agent needs Node.js and its npm packages."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Node agent test needs Node.js 20 or later")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        pytest.skip(f"node {version.strip()} is too old: the openai npm package needs 20+")
    if not (NODE_AGENT / "node_modules" / "openai" / "package.json").is_file():
        pytest.skip(f"the openai npm package is not installed: run `npm ci` in {NODE_AGENT} "
                    "(.ci/run does when npm is available)")
    return node


@pytest.fixture
def node_agent(request):
    """A real agent process in Node on the openai npm package; its webhook URL. Settings
    of the agent's own (ROUTER_STREAM=1) come as the fixture's parameter."""
    node, port = _node(), _free_port()
    # the SDK's retries and timeout, in wall time: one retry, 5 s (30 s simulated at speed 6)
    env = dict(os.environ, ROUTER_MAX_RETRIES="1", ROUTER_TIMEOUT_MS="5000",
               **getattr(request, "param", {}))
    process = subprocess.Popen([node, "index.mjs", str(port)], cwd=NODE_AGENT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().strip()
        if ready != "ready":
            process.kill()
            pytest.fail(f"the Node agent did not start: {process.communicate()[1][-2000:]}")
        yield f"http://127.0.0.1:{port}/route"
    finally:
        process.kill()
        process.wait()


@pytest.mark.timeout(120)
def test_a_node_agent_on_the_openai_npm_package_runs_a_served_scenario_with_an_outage(
        node_agent):
    result = sh.run(_scenario(node_agent, _free_port()))
    statuses = Counter(record.status for record in result.records)
    assert result.metrics["tickets"]["total"] == len(result.records) > 20
    assert set(statuses) == {"ok", "error"} and statuses["ok"] > len(result.records) / 2, \
        [(r.status, r.arrived_at, r.error) for r in result.records]
    [(_name, start, end)] = result.fault_windows
    for record in result.records:
        if record.status == "ok":
            assert record.pred_route, record
            assert record.tokens_in > 0 and record.cost_usd > 0, record  # billed to it
        else:  # the SDK's connection error, after its one retry, while the model was down
            assert "HTTP 503" in (record.error or "") and "APIConnectionError" in record.error, \
                record
            assert (record.calls, record.retries, record.faults) == (2, 1, ["outage-0"]), record
            assert start - 2 <= record.arrived_at <= end + 2, (record.arrived_at, start, end)
    assert result.metrics["routing"]["accuracy@baseline"] > 0.3


@pytest.mark.timeout(120)
@pytest.mark.parametrize("node_agent", [{"ROUTER_STREAM": "1"}], indirect=True)
def test_a_node_agent_reading_streams_meets_dropped_and_truncated_ones(node_agent):
    scenario = _scenario(node_agent, _free_port())
    scenario["duration"] = "20s"
    scenario["faults"] = [
        {"name": "drops", "target": "llm", "kind": "stream_disconnect", "probability": 0.3},
        {"name": "cuts", "target": "llm", "kind": "stream_truncate", "probability": 0.2}]
    result = sh.run(scenario)
    statuses = Counter(record.status for record in result.records)
    assert set(statuses) == {"ok", "error"} and len(result.records) > 20, statuses
    for record in result.records:
        if record.status == "ok":  # a whole stream, read to its end
            assert record.pred_route and not record.faults and not record.client, record
            continue
        # the SDK raises where the connection dropped (Node's fetch: "terminated"); half an
        # answer that ended cleanly is not JSON; either way the world saw the call fail
        assert set(record.faults) <= {"drops", "cuts"} and record.faults, record
        if "drops" in record.faults:
            assert "TypeError: terminated" in (record.error or ""), record.error
            assert "failed with reset" in " ".join(record.client), record.client
        else:
            assert "SyntaxError" in (record.error or ""), record.error
            assert "failed with an unfinished stream" in " ".join(record.client), record.client


@pytest.mark.timeout(60)
def test_an_agent_that_refuses_connections_fails_each_ticket_not_the_run():
    url = f"http://127.0.0.1:{_free_port()}/route"  # nothing listens there
    scenario = _scenario(url, _free_port())
    scenario["duration"] = "6s"
    result = sh.run(scenario)
    assert result.records
    assert {record.status for record in result.records} == {"error"}
    assert all("cannot reach the agent" in (record.error or "") for record in result.records)


def test_an_agent_is_either_in_this_process_or_over_http():
    with pytest.raises(ScenarioError, match="not both"):
        sh.run(_scenario("http://127.0.0.1:1/route", 0,
                         ref="simharness.agents.reference:NaiveRouter"))


@contextlib.contextmanager
def _serving(tmp_path: Path, scenario: str, speed: float):
    """`simharness serve` of a scenario in its own process, once it listens; its port."""
    path = tmp_path / "world.yaml"
    path.write_text(scenario)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simharness.cli", "serve", str(path), "--port", str(port),
         "--speed", str(speed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert f"http://127.0.0.1:{port}/llm" in "".join(lines), lines
        yield process, port
    finally:
        process.kill()
        process.wait()


@pytest.mark.timeout(60)
def test_simharness_serve_serves_the_world_until_its_end(tmp_path):
    scenario = ("name: served\nseed: 1\nduration: 20s\ndrain: 1s\n"
                "traffic:\n  - synthetic: {rate: 1/s}\n")
    with _serving(tmp_path, scenario, speed=10) as (process, port):
        reply = httpx.post(f"http://127.0.0.1:{port}/llm/v1/chat/completions", timeout=10,
                           json={"model": "small", "messages": [
                               {"role": "user", "content": "I was charged twice"}]})
        assert reply.status_code == 200
        assert reply.json()["choices"][0]["message"]["content"]
        streamed = httpx.post(f"http://127.0.0.1:{port}/llm/v1/chat/completions", timeout=10,
                              json={"model": "small", "stream": True, "messages": [
                                  {"role": "user", "content": "I was charged twice"}]})
        assert streamed.text.count("data: ") > 2 and "data: [DONE]" in streamed.text
        assert httpx.get(f"http://127.0.0.1:{port}/nothing/here", timeout=10).status_code == 404
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "world closed at 21 simulated seconds" in out


#: A served world whose streams take a while: the first token after 0.5 s, then 0.2 s per
#: token; `drops` drops every stream midway, `cuts` ends every one early but cleanly, and
#: `drips` trickles every response in, a piece a second for 4 s.
STREAMS = """\
name: streams
seed: 1
duration: 120s
traffic:
  - synthetic: {rate: 1/s}
world:
  llm:
    tiers:
      small: {latency: {dist: fixed, value: 0.5}, per_output_token: 0.2}
      drops: {latency: {dist: fixed, value: 0.5}, per_output_token: 0.2}
      cuts: {latency: {dist: fixed, value: 0.5}, per_output_token: 0.2}
      drips: {latency: {dist: fixed, value: 0.5}}
faults:
  - {name: drops, target: llm.drops, kind: stream_disconnect, probability: 1}
  - {name: cuts, target: llm.cuts, kind: stream_truncate, probability: 1}
  - {name: drips, target: llm.drips, kind: slow_drip, chunk_every: 1s, total: 4s}
"""
SPEED = 2.0


def _stream(client, model: str) -> tuple[list[tuple[float, object]], BaseException | None]:
    """(wall seconds after the request when each chunk arrived, the chunk), and what the
    stream raised, if anything."""
    arrivals: list[tuple[float, object]] = []
    start = time.monotonic()
    try:
        for chunk in client.chat.completions.create(
                model=model, stream=True, stream_options={"include_usage": True},
                messages=[{"role": "user", "content": "I was charged twice this month"}]):
            arrivals.append((time.monotonic() - start, chunk))
    except Exception as exc:  # noqa: BLE001 (what a broken stream raises is the point)
        return arrivals, exc
    return arrivals, None


@pytest.mark.timeout(60)
def test_served_streams_arrive_chunk_by_chunk_on_the_worlds_clock(tmp_path):
    openai = pytest.importorskip("openai")
    with _serving(tmp_path, STREAMS, SPEED) as (_process, port):
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/llm/v1", api_key="sk-sim",
                               max_retries=0, timeout=20)
        arrivals, error = _stream(client, "small")
        assert error is None
        text = "".join(c.choices[0].delta.content or "" for _t, c in arrivals if c.choices)
        assert json.loads(text)["route"]  # the whole answer, in order
        [usage] = [c.usage for _t, c in arrivals if c.usage is not None]
        # headers and the first event after the time to first token, the last one after
        # the tokens' time: spread over the stream, not sent at its end
        first, last = arrivals[0][0], arrivals[-1][0]
        assert first >= 0.5 / SPEED * 0.9, first
        planned = 0.2 * usage.completion_tokens / SPEED
        assert usage.completion_tokens > 5 and last - first >= 0.5 * planned, (first, last)
        assert len({round(t, 2) for t, _c in arrivals}) > usage.completion_tokens / 4

        # a dropped stream: the chunks sent, then the connection ends mid-body
        arrivals, error = _stream(client, "drops")
        assert arrivals and type(error).__name__ == "RemoteProtocolError", error
        assert "incomplete chunked read" in str(error)
        assert all(c.choices and c.choices[0].finish_reason is None for _t, c in arrivals)

        # a truncated stream: it ends cleanly, without a finish reason or usage
        arrivals, error = _stream(client, "cuts")
        assert error is None and arrivals
        assert all(c.usage is None for _t, c in arrivals)
        assert all(c.choices and c.choices[0].finish_reason is None for _t, c in arrivals)


@pytest.mark.timeout(60)
def test_a_served_response_that_trickles_in_is_bounded_by_the_read_timeout_per_gap(tmp_path):
    ask = {"model": "drips", "messages": [{"role": "user", "content": "I was charged twice"}]}
    with _serving(tmp_path, STREAMS, SPEED) as (_process, port):
        url = f"http://127.0.0.1:{port}/llm/v1/chat/completions"
        start = time.monotonic()
        # a piece every 0.5 s of wall time: a 1 s read timeout waits for the whole body
        reply = httpx.post(url, json=ask, timeout=httpx.Timeout(10, read=1.0))
        took = time.monotonic() - start
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
        assert took >= 4 / SPEED * 0.9, took
        with pytest.raises(httpx.ReadTimeout):  # shorter than a gap: it times out
            httpx.post(url, json=ask, timeout=httpx.Timeout(10, read=0.2))
