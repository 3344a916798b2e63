"""Agents in other processes: tickets as webhooks, the world served over loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
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
def node_agent():
    """A real agent process in Node on the openai npm package; its webhook URL."""
    node, port = _node(), _free_port()
    # the SDK's retries and timeout, in wall time: one retry, 5 s (30 s simulated at speed 6)
    env = dict(os.environ, ROUTER_MAX_RETRIES="1", ROUTER_TIMEOUT_MS="5000")
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
    assert set(statuses) == {"ok", "error"} and statuses["ok"] > len(result.records) / 2
    [(_name, start, end)] = result.fault_windows
    for record in result.records:
        if record.status == "ok":
            assert record.pred_route, record
            assert record.tokens_in > 0 and record.cost_usd > 0, record  # billed to it
        else:  # the SDK's connection error, after its one retry, while the model was down
            assert "HTTP 503" in (record.error or "") and "APIConnectionError" in record.error
            assert (record.calls, record.retries, record.faults) == (2, 1, ["outage-0"])
            assert start - 2 <= record.arrived_at <= end + 2, (record.arrived_at, start, end)
    assert result.metrics["routing"]["accuracy@baseline"] > 0.3


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


@pytest.mark.timeout(60)
def test_simharness_serve_serves_the_world_until_its_end(tmp_path):
    scenario = tmp_path / "world.yaml"
    scenario.write_text("name: served\nseed: 1\nduration: 20s\ndrain: 1s\n"
                        "traffic:\n  - synthetic: {rate: 1/s}\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simharness.cli", "serve", str(scenario), "--port", str(port),
         "--speed", "10"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        assert f"http://127.0.0.1:{port}/llm" in "".join(lines)
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
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "world closed at 21 simulated seconds" in out
