"""Every latency and accuracy figure users read, recomputed independently from hand-built
records: latency percentiles and end-to-end times with numpy from the raw waits and
service times (and by hand on a case small enough to check on paper), `routing.by_tag`,
`accuracy@baseline`, `accuracy@faults` and `accuracy@fault:<name>` by counting.

Agreement with scikit-learn (precision, recall, F1, confusion) and queueing theory is in
test_metrics_validity.py."""

from __future__ import annotations

import random

import numpy as np
import pytest
from conftest import make_scenario

import simharness as sh
from simharness.metrics import compute
from simharness.records import TicketRecord
from simharness.scenario import scenario_from_dict

PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}


def queued_records(seed: int, n: int = 500) -> list[TicketRecord]:
    """Tickets with heavy-tailed queue waits (a third wait not at all) and service times,
    plus a few that never finished."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        arrived = float(i)
        wait = 0.0 if rng.random() < 1 / 3 else float(rng.exponential(20.0))
        service = float(rng.lognormal(0.0, 1.0))
        finished = None if rng.random() < 0.04 else arrived + wait + service
        records.append(TicketRecord(
            ticket_id=f"T{i}", conversation_id=f"C{i}", arrived_at=arrived,
            started_at=arrived + wait, finished_at=finished,
            status="ok" if finished is not None else "timeout",
            true_route=["billing"], pred_route=["billing"], wait_s=wait,
            service_s=service if finished is not None else 0.0))
    return records


@pytest.mark.parametrize("seed", range(3))
def test_latency_percentiles_and_means_equal_numpy_on_queued_tickets(seed):
    records = queued_records(seed)
    finished = [r for r in records if r.finished_at is not None]
    assert len(finished) < len(records)
    # End to end from the timestamps, not from the wait and service fields.
    total = np.array([r.finished_at - r.arrived_at for r in finished])
    waits = np.array([r.wait_s for r in finished])
    service = np.array([r.service_s for r in finished])
    assert (waits > 0).mean() > 0.5  # the queue matters to these figures

    latency = compute(records, sim_seconds=600.0)["latency"]
    for name, q in PERCENTILES.items():
        assert latency[name] == pytest.approx(np.percentile(total, q), rel=1e-12), name
    assert latency["mean"] == pytest.approx(total.mean(), rel=1e-12)
    assert latency["max"] == pytest.approx(total.max(), rel=1e-12)
    for part, values in (("wait", waits), ("service", service)):
        assert latency[part] == pytest.approx({
            "p50": np.percentile(values, 50), "p95": np.percentile(values, 95),
            "mean": values.mean()}, rel=1e-12), part
    assert latency["mean_wait"] == pytest.approx(waits.mean(), rel=1e-12)
    assert latency["mean_service"] == pytest.approx(service.mean(), rel=1e-12)


def test_latency_percentiles_by_hand():
    """101 tickets taking 0..100 s end to end, half of it queueing: the k-th percentile
    is k seconds exactly (linear interpolation has nothing to interpolate)."""
    records = [TicketRecord(ticket_id=f"T{i}", conversation_id=f"C{i}", arrived_at=0.0,
                            started_at=i / 2, finished_at=float(i), status="ok",
                            wait_s=i / 2, service_s=i / 2)
               for i in random.Random(0).sample(range(101), 101)]
    latency = compute(records, sim_seconds=100.0)["latency"]
    assert [latency[k] for k in ("p50", "p90", "p95", "p99", "mean", "max")] == pytest.approx(
        [50, 90, 95, 99, 50, 100], abs=1e-9)
    assert latency["wait"] == pytest.approx({"p50": 25, "p95": 47.5, "mean": 25}, abs=1e-9)
    assert latency["service"] == pytest.approx(latency["wait"], abs=1e-9)


def test_sla_breach_rate_counts_queue_wait():
    """A ticket served in 2 s after 9 s in the queue took 11 s: it breaches a 10 s SLA."""
    records = [TicketRecord(ticket_id="T0", conversation_id="C0", arrived_at=0.0,
                            finished_at=11.0, status="ok", wait_s=9.0, service_s=2.0),
               TicketRecord(ticket_id="T1", conversation_id="C1", arrived_at=0.0,
                            finished_at=3.0, status="ok", wait_s=1.0, service_s=2.0)]
    scenario = scenario_from_dict(make_scenario(world={"sla": "10s"}))
    latency = compute(records, sim_seconds=60.0, config=scenario)["latency"]
    assert latency["sla_breach_rate"] == 0.5


def test_latency_of_a_real_run_with_a_queue_is_arrival_to_decision():
    """One worker, two tickets a second, a second of work each: tickets queue for minutes.
    Every figure is recomputed from the records' timestamps."""

    def slow_agent(payload, ctx):
        ctx.sleep(1.0)
        return "billing"

    result = sh.run(make_scenario(duration="3m", agent={"workers": 1},
                                  traffic=[{"synthetic": {"rate": "2/s",
                                                          "routes": ["billing"]}}]),
                    agent=slow_agent)
    finished = [r for r in result.records if r.finished_at is not None]
    total = np.array([r.finished_at - r.arrived_at for r in finished])
    waits = np.array([r.started_at - r.arrived_at for r in finished])
    assert np.median(waits) > 30  # a queue long enough to dominate the figures
    latency = result.metrics["latency"]
    for name, q in PERCENTILES.items():
        assert latency[name] == pytest.approx(np.percentile(total, q), abs=1e-6), name
    assert latency["mean"] == pytest.approx(total.mean(), abs=1e-6)
    assert latency["wait"]["p95"] == pytest.approx(np.percentile(waits, 95), abs=1e-6)
    assert latency["service"]["mean"] == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------ accuracy cuts

def tagged_record(i: int, tags: list[str], right: bool, at: float = 0.0,
                  faults: tuple[str, ...] = ()) -> TicketRecord:
    return TicketRecord(ticket_id=f"T{i}", conversation_id=f"C{i}", arrived_at=at,
                        finished_at=at + 1.0, status="ok", true_route=["billing"],
                        pred_route=["billing"] if right else ["refund"], tags=tags,
                        faults=list(faults), service_s=1.0)


def test_accuracy_by_tag_counts_only_the_tickets_with_that_tag():
    """Plain tickets 9 in 10 right, ambiguous 1 in 2, multi-issue 1 in 4, and a ticket
    with both tags counts in both."""
    records = [tagged_record(i, [], i % 10 != 0) for i in range(100)]
    records += [tagged_record(100 + i, ["ambiguous"], i % 2 == 0) for i in range(40)]
    records += [tagged_record(200 + i, ["multi_issue"], i % 4 == 0) for i in range(20)]
    records += [tagged_record(300, ["ambiguous", "multi_issue"], False)]
    routing = compute(records, sim_seconds=600.0)["routing"]
    assert routing["by_tag"] == {"ambiguous": pytest.approx(20 / 41),
                                 "multi_issue": pytest.approx(5 / 21)}
    assert routing["accuracy"] == pytest.approx((90 + 20 + 5) / 161)


def test_accuracy_at_baseline_faults_and_each_fault_by_counting():
    """Arrivals at 0..299 s; fault a over [100, 150) and [250, 260), fault b over [120, 200).
    Right answers: every ticket outside the windows, every third one inside a only, none
    inside b. A ticket arriving exactly at a window's end is outside it."""
    windows = [("a", 100.0, 150.0), ("a", 250.0, 260.0), ("b", 120.0, 200.0)]

    def inside(t: float, name: str | None = None) -> bool:
        return any(s <= t < e for n, s, e in windows if name in (None, n))

    records = []
    for t in range(300):
        right = not inside(t) or (not inside(t, "b") and t % 3 == 0)
        records.append(tagged_record(t, [], right, at=float(t)))
    routing = compute(records, sim_seconds=300.0, fault_windows=windows)["routing"]

    def accuracy(chosen: list[TicketRecord]) -> float:
        return sum(r.pred_route == r.true_route for r in chosen) / len(chosen)

    out = [r for r in records if not inside(r.arrived_at)]
    assert len(out) == 300 - 50 - 10 - 50 and accuracy(out) == 1.0
    assert routing["accuracy@baseline"] == 1.0
    faulted = [r for r in records if inside(r.arrived_at)]
    assert routing["accuracy@faults"] == pytest.approx(accuracy(faulted))
    assert routing["accuracy@faults"] == pytest.approx((6 + 3) / 110)  # 102..117 and 252..258
    assert routing["accuracy@fault:a"] == pytest.approx((6 + 3) / 60)
    assert routing["accuracy@fault:b"] == 0.0
    assert routing["accuracy"] == pytest.approx((190 + 9) / 300)
