"""Agents written the way each framework's docs show run unmodified and route as well as
the same logic on plain chat completions.

Every agent lives in `examples/frameworks/` (the files users copy). On a short baseline each
must score within 0.02 of the plain `chat.completions.create` reference with no failed
ticket; on a short LLM outage its failures must fall inside the fault window; the same
seed must give the same records. A framework that is not installed is skipped
(`pip install -e ".[frameworks]"`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import simharness as sh

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # the examples are imported as `examples.frameworks.*`
    sys.path.insert(0, str(REPO))

REFERENCE = "examples.frameworks.plain_chat:Router"

#: (agent reference, the module it needs), one per framework pattern the docs show.
AGENTS = [
    pytest.param("examples.frameworks.openai_tools:Router", "openai", id="openai-tools"),
    pytest.param("examples.frameworks.openai_parse:Router", "openai", id="openai-parse"),
    pytest.param("examples.frameworks.openai_responses:Router", "openai", id="openai-responses"),
    pytest.param("examples.frameworks.openai_streaming:Router", "openai",
                 id="openai-stream-sync"),
    pytest.param("examples.frameworks.openai_streaming:AsyncRouter", "openai",
                 id="openai-stream-async"),
    pytest.param("examples.frameworks.instructor_agent:Router", "instructor",
                 id="instructor-tools"),
    pytest.param("examples.frameworks.instructor_agent:JsonRouter", "instructor",
                 id="instructor-json"),
    pytest.param("examples.frameworks.pydantic_ai_agent:Router", "pydantic_ai",
                 id="pydantic-ai-run"),
    pytest.param("examples.frameworks.pydantic_ai_agent:NativeRouter", "pydantic_ai",
                 id="pydantic-ai-native-run"),
    pytest.param("examples.frameworks.pydantic_ai_agent:SyncRouter", "pydantic_ai",
                 id="pydantic-ai-run-sync"),
    pytest.param("examples.frameworks.pydantic_ai_agent:SyncNativeRouter", "pydantic_ai",
                 id="pydantic-ai-native-run-sync"),
    pytest.param("examples.frameworks.langchain_agent:Router", "langchain_openai",
                 id="langchain-json-schema"),
    pytest.param("examples.frameworks.langchain_agent:FunctionCallingRouter",
                 "langchain_openai", id="langchain-function-calling"),
    pytest.param("examples.frameworks.langgraph_agent:Router", "langgraph",
                 id="langgraph-parallel-sync"),
    pytest.param("examples.frameworks.openai_agents_agent:Router", "agents",
                 id="openai-agents-run"),
    pytest.param("examples.frameworks.openai_agents_agent:SyncRouter", "agents",
                 id="openai-agents-run-sync"),
    pytest.param("examples.frameworks.anthropic_tools:Router", "anthropic",
                 id="anthropic-tools"),
]

TOLERANCE = 0.02
#: Framework agents cost up to ~0.15 s of wall time per ticket; a run here is ~100 tickets.
RUN_TIMEOUT = 240


def short_baseline() -> dict[str, Any]:
    """The shipped baseline (2 tickets/s, its hard-ticket mix), cut to 50 simulated
    seconds: about 100 tickets."""
    data = yaml.safe_load((REPO / "scenarios" / "baseline.yaml").read_text())
    data["duration"] = "50s"
    data.pop("expect", None)
    return data


def short_outage() -> dict[str, Any]:
    """40 s of the same traffic, every LLM tier refusing connections from 10 s to 25 s."""
    data = short_baseline()
    data["name"] = "framework-outage"
    data["duration"] = "40s"
    data["faults"] = [{"name": "llm-down", "target": "llm", "kind": "outage", "at": "10s",
                       "duration": "15s"}]
    return data


def require(module: str) -> None:
    pytest.importorskip(module, reason=f"{module} is not installed "
                        "(pip install -e '.[frameworks]')")


def failures(result: sh.Result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in result.records:
        if record.status != "ok":
            key = f"{record.status}: {(record.error or '')[:120]}"
            counts[key] = counts.get(key, 0) + 1
    return counts


_OUTAGES: dict[str, sh.Result] = {}


def outage_run(ref: str) -> sh.Result:
    """One outage run per agent, shared by the outage and determinism tests."""
    if ref not in _OUTAGES:
        _OUTAGES[ref] = sh.run(short_outage(), agent=ref)
    return _OUTAGES[ref]


@pytest.fixture(scope="module")
def reference() -> sh.Result:
    require("openai")
    result = sh.run(short_baseline(), agent=REFERENCE)
    assert result.metrics["tickets"]["failed"] == 0, failures(result)
    return result


@pytest.mark.timeout(RUN_TIMEOUT)
def test_reference_is_a_meaningful_yardstick(reference: sh.Result) -> None:
    tickets = reference.metrics["tickets"]
    assert tickets["total"] >= 90
    assert 0.8 <= reference.metrics["routing"]["accuracy"] < 1.0
    # The CRM record decides escalation: some high-value customers are in the sample.
    escalation = reference.metrics["escalation"]
    assert escalation["recall"] == 1.0 and escalation["false_escalations"] == 0, escalation


@pytest.mark.timeout(RUN_TIMEOUT)
@pytest.mark.parametrize(("ref", "module"), AGENTS)
def test_framework_agent_routes_as_well_as_plain_chat(ref: str, module: str,
                                                      reference: sh.Result) -> None:
    require(module)
    result = sh.run(short_baseline(), agent=ref)
    assert result.metrics["tickets"]["failed"] == 0, failures(result)
    accuracy = result.metrics["routing"]["accuracy"]
    expected = reference.metrics["routing"]["accuracy"]
    assert abs(accuracy - expected) <= TOLERANCE, (accuracy, expected)
    # Escalation comes from the CRM lookup (a tool call, or code): as right as the reference.
    escalation, reference_escalation = (r.metrics["escalation"] for r in (result, reference))
    assert escalation["missed"] == reference_escalation["missed"], escalation
    assert escalation["false_escalations"] == reference_escalation["false_escalations"]


@pytest.mark.timeout(RUN_TIMEOUT)
@pytest.mark.parametrize(("ref", "module"), [pytest.param(REFERENCE, "openai", id="plain-chat"),
                                             *AGENTS])
def test_framework_agent_fails_only_inside_the_outage(ref: str, module: str) -> None:
    require(module)
    result = outage_run(ref)
    window = result.metrics["recovery"]["llm-down"]
    start, end = window["start"], window["end"]
    failed = [r for r in result.records if r.status != "ok"]
    assert failed, "an outage of every LLM tier must fail some tickets of an agent without fallback"
    outside = [(r.ticket_id, r.finished_at, r.error) for r in failed
               if r.finished_at is None or not start <= r.finished_at <= end + 1.0]
    assert not outside, (start, end, outside[:5])
    routing = result.metrics["routing"]
    assert routing["accuracy@faults"] < routing["accuracy@baseline"] - 0.3, routing
    assert routing["accuracy@baseline"] > 0.8, routing


@pytest.mark.timeout(2 * RUN_TIMEOUT)
@pytest.mark.parametrize(("ref", "module"), AGENTS)
def test_framework_agent_gives_identical_records_for_one_seed(ref: str, module: str) -> None:
    require(module)
    first = outage_run(ref)
    again = sh.run(short_outage(), agent=ref)
    assert json.dumps(again.rows()) == json.dumps(first.rows())
