"""Regression tests of the metrics on small real runs and hand-built records: recovery,
human-review cost, SLA breaches, and `expect:` paths checked when a scenario loads.
Agreement with scikit-learn and queueing theory is in test_metrics_validity.py."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import make_scenario

import simharness as sh
from simharness import Decision
from simharness.agents.reference import NaiveRouter, ResilientRouter
from simharness.errors import ScenarioError
from simharness.metrics import compute, lookup, paths
from simharness.metrics.catalog import metric_paths
from simharness.metrics.cost import cumulative_cost
from simharness.metrics.recovery import ROLL_MIN_TICKETS, baseline_records
from simharness.records import TicketRecord
from simharness.result import evaluate_slos
from simharness.scenario import Scenario, load_scenario, scenario_from_dict

OUTAGE = {"name": "llm-down", "target": "llm", "kind": "outage", "at": "8m", "duration": "3m"}


def outage_scenario(**overrides) -> dict:
    return make_scenario(duration="20m", agent={"workers": 16},
                         traffic=[{"synthetic": {"rate": "2/s"}}], faults=[OUTAGE], **overrides)


@pytest.fixture(scope="module")
def resilient() -> sh.Result:
    return sh.run(outage_scenario(), agent=ResilientRouter())


@pytest.fixture(scope="module")
def naive() -> sh.Result:
    return sh.run(outage_scenario(), agent=NaiveRouter())


# ------------------------------------------------------------------ recovery

def test_resilient_router_detects_the_outage_fast_and_recovers(resilient):
    rec = resilient.metrics["recovery"]["llm-down"]
    assert (rec["start"], rec["end"]) == (480.0, 660.0)
    assert 0 <= rec["time_to_detect"] < 30
    assert 0 <= rec["time_to_recover"] < 120
    assert rec["tickets"] > 300 and rec["failed"] == 0 and rec["unhandled"] == 0
    # the breaker and the keyword fallback spend less than normal during the outage
    assert rec["cost_amplification"] < 1


def test_naive_router_fails_the_window_and_never_notices(naive):
    rec = naive.metrics["recovery"]["llm-down"]
    assert rec["failed"] > 300 and rec["unhandled"] > 300
    assert rec["failed"] <= rec["tickets"]
    assert rec["time_to_detect"] == math.inf  # no fallback, no breaker: it never noticed
    assert math.isfinite(rec["time_to_recover"])  # fine again once the provider is back


def test_recovery_is_null_in_results_json_when_never(naive, tmp_path):
    saved = json.loads((naive.save(tmp_path) / "results.json").read_text())
    assert saved["metrics"]["recovery"]["llm-down"]["time_to_detect"] is None
    assert saved["metrics"]["routing"]["confusion"]["labels"][-2:] == ["<none>", "<multi>"]


def record(at: float, *, ok: bool = True, latency: float = 1.0, calls: int = 1,
           cost: float = 0.001, faults: tuple[str, ...] = (), actions: tuple[str, ...] = (),
           reason: str = "") -> TicketRecord:
    return TicketRecord(
        ticket_id=f"T{at}", conversation_id=f"C{at}", arrived_at=at, finished_at=at + latency,
        status="ok" if ok else "error", true_route=["billing"],
        pred_route=["billing"] if ok else [], service_s=latency, calls=calls, cost_usd=cost,
        faults=list(faults), actions=list(actions), reason=reason)


def test_recovery_by_hand():
    """One ticket a second; a fault from 100 s to 200 s during which tickets fail and make
    3 calls; the agent's first fallback shows at 105 s + 2 s; accuracy comes back at 230 s."""
    records = [record(float(t)) for t in range(100)]
    records += [record(float(t), ok=False, calls=3, faults=("f",)) for t in range(100, 105)]
    records += [record(105.0, latency=2.0, faults=("f",), actions=("fallback",))]
    records += [record(float(t), ok=False, calls=3, faults=("f",)) for t in range(106, 200)]
    records += [record(float(t), ok=False) for t in range(200, 230)]
    records += [record(float(t)) for t in range(230, 400)]
    rec = compute(records, sim_seconds=400.0, fault_windows=[("f", 100.0, 150.0),
                                                             ("f", 150.0, 200.0)])["recovery"]
    got = rec["f"]
    assert (got["start"], got["end"], got["tickets"]) == (100.0, 200.0, 100)
    assert (got["failed"], got["unhandled"]) == (99, 99)
    assert got["time_to_detect"] == pytest.approx(7.0)
    # The first rolling window (60 s of arrivals) within 0.05 of the baseline's accuracy
    # (1.0) holds at most 3 of the failures that last until 229 s: it starts at 227 s.
    assert got["time_to_recover"] == pytest.approx(27.0)
    assert got["retry_amplification"] == pytest.approx((99 * 3 + 1) / 100)
    assert got["cost_amplification"] == pytest.approx(1.0)


def test_recovery_edge_cases():
    records = [record(float(t)) for t in range(300)]
    # already fine in the first window after the end; a reason that mentions the breaker
    records[120] = record(120.0, faults=("f",), reason="breaker open; keyword route")
    windows = [("f", 100.0, 150.0), ("g", 250.0, 300.0)]
    rec = compute(records, sim_seconds=300.0, fault_windows=windows)["recovery"]
    assert rec["f"]["time_to_recover"] == 0.0
    assert rec["f"]["time_to_detect"] == pytest.approx(21.0)
    assert math.isnan(rec["g"]["time_to_recover"])  # nothing arrives after it ends
    assert rec["g"]["time_to_detect"] == math.inf
    assert len(baseline_records(records, windows, 250.0)) == 200  # before g, outside f
    # a fault over every ticket leaves no baseline: amplification and recovery unknown
    everything = [("h", 0.0, 250.0)]
    assert baseline_records(records, everything, 0.0) == records[250:]  # outside any window
    rec = compute(records[:250], sim_seconds=300.0, fault_windows=everything)["recovery"]
    assert math.isnan(rec["h"]["retry_amplification"])
    assert math.isnan(rec["h"]["time_to_recover"])


def test_recovery_needs_enough_tickets_after_the_end():
    records = [record(float(t)) for t in range(100)]
    records += [record(100.0 + t) for t in range(ROLL_MIN_TICKETS - 1)]
    rec = compute(records, sim_seconds=1000.0, fault_windows=[("f", 50.0, 100.0)])["recovery"]
    assert rec["f"]["time_to_recover"] == math.inf  # too few tickets to ever judge


def test_a_fault_that_never_ends_has_no_time_to_recover(tmp_path):
    scenario = make_scenario(duration="5m", faults=[
        {"name": "slow", "kind": "latency", "target": "llm", "from": "2m",
         "add": {"dist": "fixed", "value": "1s"}}])
    result = sh.run(scenario, agent=ResilientRouter())
    rec = result.metrics["recovery"]["slow"]
    assert rec["start"] == 120.0 and rec["end"] == math.inf
    assert math.isnan(rec["time_to_recover"])
    assert rec["tickets"] > 100 and rec["retry_amplification"] > 0


# ------------------------------------------------------------------ cost, review, SLA

def reviewing_agent(payload):
    """Hands every third ticket to a person, routes the rest to billing."""
    number = int(payload["id"].removeprefix("T"))
    if number % 3 == 0:
        return Decision(route="human_review", confidence=0.2, reason="low confidence")
    return "billing"


def test_human_review_costs_and_rates():
    scenario = make_scenario(world={"human_review": {"cost_per_ticket": 0.5}})
    result = sh.run(scenario, agent=reviewing_agent)
    records, m = result.records, result.metrics
    reviewed = [r for r in records if "human_review" in r.pred_route]
    kept = [r for r in records if "human_review" not in r.pred_route]
    assert reviewed and kept
    cost = m["cost"]
    assert cost["human_reviews"] == len(reviewed)
    assert cost["human_review_usd"] == pytest.approx(0.5 * len(reviewed))
    assert cost["total_with_review_usd"] == pytest.approx(cost["total_usd"]
                                                          + cost["human_review_usd"])
    routing = m["routing"]
    assert routing["review_rate"] == pytest.approx(len(reviewed) / len(records))
    right = sum(r.true_route == ["billing"] for r in kept)
    assert routing["accuracy"] == pytest.approx(right / len(records))  # a review is not a route
    assert routing["accuracy_excluding_review"] == pytest.approx(right / len(kept))
    assert routing["per_route"]["human_review"]["precision"] == 0.0


def test_cost_per_resolved_ticket_and_tokens():
    records = [record(0.0, cost=0.01), record(1.0, ok=False, cost=0.03), record(2.0, cost=0.02)]
    records[2].pred_route = ["refund"]
    records[0].tokens_in, records[0].tokens_out = 100, 20
    cost = compute(records, sim_seconds=1800.0)["cost"]
    assert cost["per_resolved_usd"] == pytest.approx(0.06)  # one resolved ticket
    assert cost["per_hour_usd"] == pytest.approx(0.12)
    assert cost["tokens_per_ticket"] == pytest.approx(40.0)
    assert "cumulative" not in cost
    times, usd = cumulative_cost(records)
    assert times.tolist() == [1.0, 2.0, 3.0]
    assert usd == pytest.approx([0.01, 0.04, 0.06])


def sleeper(payload):
    """Service time 2 s or 8 s (by ticket number), never queued with plenty of workers."""
    time.sleep(8.0 if int(payload["id"].removeprefix("T")) % 4 == 0 else 2.0)
    return "billing"


def test_sla_breach_rate():
    scenario = make_scenario(agent={"workers": 64}, world={"sla": "5s"})
    result = sh.run(scenario, agent=sleeper)
    slow = sum(int(r.ticket_id.removeprefix("T")) % 4 == 0 for r in result.records)
    latency = result.metrics["latency"]
    assert latency["sla_breach_rate"] == pytest.approx(slow / len(result.records))
    assert latency["wait"]["p95"] == 0.0 and latency["service"]["p50"] == pytest.approx(2.0)
    assert latency["p99"] == pytest.approx(8.0)
    no_sla = sh.run(make_scenario(agent={"workers": 64}), agent=sleeper).metrics["latency"]
    assert "sla_breach_rate" not in no_sla


def test_unfinished_tickets_breach_the_sla():
    records = [record(0.0, latency=1.0), record(1.0, latency=9.0), record(2.0)]
    records[2].finished_at = None
    scenario = scenario_from_dict(make_scenario(world={"sla": "5s"}))
    latency = compute(records, sim_seconds=10.0, config=scenario)["latency"]
    assert latency["sla_breach_rate"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------ the metric catalog

def test_catalog_matches_what_a_run_computes(resilient):
    scenario = scenario_from_dict(outage_scenario(world={"sla": "10s"}))
    valid = metric_paths(scenario)
    metrics = compute(resilient.records, sim_seconds=scenario.duration,
                      fault_windows=resilient.fault_windows, config=scenario)
    leaves = {p for p in paths(metrics) if not p.startswith("routing.confusion")}
    assert leaves <= valid  # every number a run gives can be asked for
    tags = {t for r in resilient.records for t in r.tags}
    for path in valid:
        if path.startswith("routing.by_tag") and path.rsplit(".", 1)[1] not in tags:
            continue  # a tag no ticket of this run carried
        assert isinstance(lookup(metrics, path), (int, float)), path


def test_every_fault_is_listed_even_if_it_touched_nothing():
    scenario = scenario_from_dict(make_scenario(faults=[OUTAGE, {
        "name": "late", "kind": "outage", "target": "llm", "at": "9m"}]))
    metrics = compute([], sim_seconds=60.0, config=scenario)
    assert metrics["faults"] == {"llm-down": 0, "late": 0}
    assert metrics["recovery"] == {}


HEAD = """\
name: t
duration: 1h
traffic:
  - synthetic:
      rate: 2/s
      routes: [billing, refund]
faults:
  - {name: llm.down, kind: outage, target: llm, at: 10m, duration: 5m}
"""


def load_errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return [str(e).replace(f"{tmp_path}/", "") for e in info.value.errors]


def test_unknown_expect_paths_are_load_errors_with_suggestions(tmp_path):
    errors = load_errors(tmp_path, HEAD + """\
expect:
  routing.acuracy: ">= 0.8"
  routing.per_route.refnd.f1: ">= 0.5"
  recovery.llm.down.time_to_recovr: "<= 60s"
  latency.sla_breach_rate: "<= 0.1"
  bogus: "<= 1"
""")
    assert errors == [
        "f.yaml:10:3 expect[\"routing.acuracy\"]: unknown metric 'routing.acuracy'; "
        "did you mean 'routing.accuracy'?",
        "f.yaml:11:3 expect[\"routing.per_route.refnd.f1\"]: unknown metric "
        "'routing.per_route.refnd.f1'; did you mean 'routing.per_route.refund.f1'?",
        "f.yaml:12:3 expect[\"recovery.llm.down.time_to_recovr\"]: unknown metric "
        "'recovery.llm.down.time_to_recovr'; did you mean 'recovery.llm.down.time_to_recover'?",
        "f.yaml:13:3 expect[\"latency.sla_breach_rate\"]: metric 'latency.sla_breach_rate' "
        "needs world.sla (the time to a decision customers expect)",
        "f.yaml:14:3 expect.bogus: unknown metric 'bogus' (metric paths start with: calls, client, "
        "cost, escalation, faults, latency, recovery, routing, tickets)",
    ]


def test_dynamic_expect_paths_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(HEAD + """\
world: {sla: 30s, human_review: {cost_per_ticket: 1.5}}
expect:
  routing.per_route.refund.f1: ">= 0.5"
  routing.by_tag.mind_change: ">= 0.5"
  routing.accuracy@fault:llm.down: ">= 0.5"
  recovery.llm.down.time_to_recover: "<= 2m"
  faults.llm.down: ">= 0"
  latency.sla_breach_rate: "<= 0.05"
  latency.wait.p95: "<= 1s"
  cost.total_with_review_usd: "<= 10"
""")
    scenario = load_scenario(path)
    assert scenario.world.sla == 30.0 and scenario.world.human_review.cost_per_ticket == 1.5


def test_expect_paths_are_checked_on_every_way_in():
    with pytest.raises(ValueError, match="did you mean 'latency.mean_wait'"):
        Scenario(name="t", duration=60, traffic=[{"synthetic": {"rate": 1}}],
                 expect={"latency.mean_wiat": "<= 1s"})
    with pytest.raises(ScenarioError, match=r"<dict> expect\[\"tickets.eror\"\]: unknown metric"):
        scenario_from_dict(make_scenario(expect={"tickets.eror": "== 0"}))
    base = scenario_from_dict(make_scenario())
    with pytest.raises(ScenarioError, match="did you mean 'routing.macro_f1'"):
        base.with_overrides({'expect["routing.macro_F1"]': ">= 0.5"})
    with pytest.raises(ScenarioError, match="unknown metric 'faults.nope'"):
        base.with_overrides({'expect["faults.nope"]': ">= 0"})


def test_slo_messages_for_paths_a_run_lacks():
    metrics = {"routing": {"accuracy": 0.9, "by_tag": {}, "confusion": {"labels": []}}}
    slos = evaluate_slos({"routing.by_tag.ambiguous": ">= 0.5", "routing.acuracy": ">= 0.5",
                          "routing.confusion.labels": ">= 0", "routing.accuracy": ">= 0.5"},
                         metrics, seed=3, known={"routing.by_tag.ambiguous"})
    assert [s.passed for s in slos] == [False, False, False, True]
    assert "has no value in this run" in slos[0].message
    assert "did you mean 'routing.accuracy'" in slos[1].message
    assert "is not a number" in slos[2].message
    assert slos[3].name == "routing.accuracy" == slos[3].metric


def test_metrics_without_records_are_nan_not_errors():
    m = compute([], sim_seconds=60.0)
    assert m["tickets"]["total"] == 0 and math.isnan(m["routing"]["accuracy"])
    assert math.isnan(m["routing"]["macro_f1"]) and m["routing"]["per_route"] == {}
    assert m["latency"]["mean_wait"] == 0.0 and math.isnan(m["latency"]["wait"]["p95"])
    assert np.isnan(m["cost"]["per_resolved_usd"])
