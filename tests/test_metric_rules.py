"""The documented rules behind the metrics, each at its boundary, on hand-built records:
when a fault counts as recovered (accuracy within 0.05 of the baseline, p95 latency under
the baseline's x1.5 or +1 s, a rolling minute of at least 20 tickets), what the SLA
counts as a breach, when cost is booked, how metric paths are looked up and suggested."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_scenario

from simharness.metrics import compute, lookup
from simharness.metrics.catalog import metric_paths, unknown_path_message
from simharness.metrics.cost import cumulative_cost
from simharness.metrics.recovery import ROLL_MIN_TICKETS
from simharness.records import TicketRecord
from simharness.scenario import scenario_from_dict


def record(at: float, latency: float | None = 1.0, right: bool = True,
           cost: float = 0.0) -> TicketRecord:
    finished = None if latency is None else at + latency
    return TicketRecord(ticket_id=f"T{at}", conversation_id=f"C{at}", arrived_at=at,
                        finished_at=finished, status="ok" if finished is not None else "timeout",
                        true_route=["billing"], pred_route=["billing"] if right else ["refund"],
                        service_s=latency or 0.0, cost_usd=cost)


def recover(after: list[TicketRecord], baseline_latency: float = 1.0,
            sim_seconds: float = 1000.0) -> float:
    """time_to_recover of a fault over [100, 200) after 100 right tickets at 0..99 s that
    took `baseline_latency` each (so that is the baseline's p95)."""
    records = [record(float(t), baseline_latency) for t in range(100)] + after
    metrics = compute(records, sim_seconds=sim_seconds, fault_windows=[("f", 100.0, 200.0)])
    return metrics["recovery"]["f"]["time_to_recover"]


def after(latency: float, start: float = 200.0, n: int = 100) -> list[TicketRecord]:
    return [record(start + t, latency) for t in range(n)]


@pytest.mark.parametrize(("baseline", "limit"), [(1.0, 2.0), (4.0, 6.0)])
def test_p95_limit_is_the_larger_of_one_and_a_half_times_and_one_second_more(baseline, limit):
    """Baseline p95 1 s: back to normal at 2 s (1 s more beats x1.5); 4 s: at 6 s (x1.5).
    Exactly at the limit counts as recovered. After 30 slow tickets (one a second), the
    first minute whose p95 is under the limit starts at 227 s: it holds 3 slow tickets of
    60, and the 95th percentile of 60 values is 0.05 of the way past the 57th."""
    assert recover(after(limit), baseline) == 0.0
    assert recover(after(limit + 0.01), baseline) == math.inf
    slow_then_fast = after(limit + 0.5, n=30) + after(limit - 0.5, start=230.0)
    assert recover(slow_then_fast, baseline) == pytest.approx(27.0)


def test_baseline_p95_is_the_95th_percentile_of_its_latencies():
    """Baseline latencies 1..100 s: p95 = 95.05 s, so the limit is 142.575 s."""
    baseline = [record(float(t), float(t + 1)) for t in range(100)]
    windows = [("f", 100.0, 200.0)]
    for latency, expected in ((142.57, 0.0), (142.6, math.inf)):
        got = compute(baseline + after(latency), sim_seconds=1000.0, fault_windows=windows)
        assert got["recovery"]["f"]["time_to_recover"] == expected, latency


def test_recovered_at_once_is_zero_even_if_the_first_ticket_comes_later():
    assert recover(after(1.0, start=200.5)) == 0.0


def test_a_rolling_window_needs_at_least_twenty_tickets():
    """Exactly 20 good tickets after the end are enough to judge; 19 are not."""
    spread = [record(200.0 + 10 * t) for t in range(ROLL_MIN_TICKETS)]
    assert recover(spread) == 0.0
    assert recover(spread[:-1]) == math.inf


def test_unfinished_tickets_do_not_count_as_recovered():
    assert recover(after(None)) == math.inf


def test_time_to_recover_is_unknowable_without_tickets_after_or_a_baseline_latency():
    """No arrival after the fault's end (though the run goes on): NaN, not never. A
    baseline whose tickets never finished has no p95 to compare with: NaN as well."""
    assert math.isnan(recover([], sim_seconds=1000.0))
    records = [record(float(t), None) for t in range(100)] + after(1.0)
    got = compute(records, sim_seconds=1000.0, fault_windows=[("f", 100.0, 200.0)])
    assert math.isnan(got["recovery"]["f"]["time_to_recover"])


def test_sla_breach_is_strictly_longer_than_the_sla():
    scenario = scenario_from_dict(make_scenario(world={"sla": "10s"}))
    records = [record(0.0, 10.0), record(1.0, 10.5), record(2.0, None), record(3.0, 9.0)]
    latency = compute(records, sim_seconds=60.0, config=scenario)["latency"]
    assert latency["sla_breach_rate"] == 0.5  # 10.5 s and the unfinished one


def test_cumulative_cost_books_at_finish_or_at_arrival_and_keeps_ties_in_order():
    rng = np.random.default_rng(0)
    records = [record(float(i), float(rng.integers(0, 3)) * 10, cost=float(i + 1))
               for i in range(200)]
    records[5] = record(5.0, None, cost=1000.0)  # never finished: booked when it arrived
    times, dollars = cumulative_cost(records)
    booked = [(r.finished_at if r.finished_at is not None else r.arrived_at, r.cost_usd)
              for r in records]
    expected = sorted(booked, key=lambda b: b[0])  # Python's sort is stable
    assert times.tolist() == [t for t, _ in expected]
    assert dollars.tolist() == pytest.approx(np.cumsum([c for _, c in expected]).tolist())


def test_lookup_takes_the_longest_key_and_names_the_missing_path():
    metrics = {"faults": {"llm.large-down": 3, "llm": {"large-down": 4}},
               "latency": {"p95": 2.0}}
    assert lookup(metrics, "faults.llm.large-down") == 3
    assert lookup(metrics, "latency.p95") == 2.0
    with pytest.raises(KeyError, match="latency.p96"):
        lookup(metrics, "latency.p96")
    with pytest.raises(KeyError, match="latency.p95.x"):
        lookup(metrics, "latency.p95.x")


def test_catalog_lists_accuracy_and_f1_by_tag():
    paths = metric_paths(scenario_from_dict(make_scenario()))
    assert {"routing.by_tag.ambiguous", "routing.by_tag_f1.ambiguous",
            "routing.by_tag_f1.multi_issue"} <= paths


def test_unknown_path_message_suggests_the_closest_or_lists_the_sections():
    valid = {"latency.p95", "latency.p50", "routing.accuracy"}
    assert unknown_path_message("latency.p59", valid) == (
        "unknown metric 'latency.p59'; did you mean 'latency.p95'?")
    assert unknown_path_message("zzz", valid) == (
        "unknown metric 'zzz' (metric paths start with: latency, routing)")


def test_a_route_predicted_once_has_its_precision_and_recall():
    """Counts of one are divided like any other (only a zero count gives 0 by convention).
    "refund" is a configured route that no ticket had: a class all the same."""
    records = [record(0.0), record(1.0, right=False)]
    config = scenario_from_dict(make_scenario(traffic=[{"synthetic": {
        "rate": "1/s", "routes": ["billing", "refund"]}}]))
    per_route = compute(records, sim_seconds=60.0, config=config)["routing"]["per_route"]
    assert per_route["billing"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3),
                                    "support": 2}
    assert per_route["refund"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_cost_per_resolved_ticket_counts_only_right_and_handled_tickets():
    records = [record(0.0, cost=0.01), record(1.0, cost=0.02), record(2.0, right=False, cost=0.03),
               record(3.0, None, cost=0.04)]  # wrong route; never finished (but routed right)
    records[3].status = "timeout"
    cost = compute(records, sim_seconds=3600.0)["cost"]
    assert cost["total_usd"] == pytest.approx(0.10)
    assert cost["per_resolved_usd"] == pytest.approx(0.10 / 2)
    assert cost["per_hour_usd"] == pytest.approx(0.10)


def test_confusion_counts_are_integers_and_no_records_give_nan_scores():
    confusion = compute([record(0.0), record(1.0, right=False)],
                        sim_seconds=60.0)["routing"]["confusion"]
    assert all(type(v) is int for row in confusion["matrix"] for v in row)
    routing = compute([], sim_seconds=60.0)["routing"]
    assert routing["per_route"] == {}
    assert math.isnan(routing["macro_f1"]) and math.isnan(routing["micro_f1"])


def test_ticket_counts_by_status():
    statuses = ["ok"] * 5 + ["error"] * 3 + ["timeout"] * 2 + ["hung", "invalid_output"]
    records = [record(float(i)) for i in range(len(statuses))]
    for r, status in zip(records, statuses, strict=True):
        r.status = status
    tickets = compute(records, sim_seconds=60.0)["tickets"]
    assert tickets == {"total": 12, "ok": 5, "error": 3, "timeout": 2, "hung": 1,
                       "invalid_output": 1, "failed": 7, "failure_rate": pytest.approx(7 / 12)}
