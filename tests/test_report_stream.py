"""The report at flat memory: figures, sentences and tables from the records as a stream.

The report, plots and console summary read a run's records through a `RunDigest` (a few
numbers per ticket, counts, and the records its tables list), never as a list. Here:
what they show equals what the list-based computations they replaced gave, and the
`simharness run` / `simharness report` / pytest plugin paths never load every record.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import make_scenario

import simharness as sh
from simharness.cli import main
from simharness.metrics.recovery import noticed
from simharness.record_store import RecordStore
from simharness.records import TicketRecord
from simharness.report import plots, series, story
from simharness.report.digest import digest_of, in_arrival_and_id_order
from simharness.report.html import FIGURES, audit_groups
from simharness.report.store import LoadedRun, load_run, snapshot

RESILIENT = "simharness.agents.reference:ResilientRouter"
FAULTS = [{"name": "llm-down", "target": "llm", "kind": "outage", "at": "8m", "duration": "5m"},
          {"name": "llm-slow", "target": "llm", "kind": "latency", "multiply": 10, "at": "2m",
           "duration": "3m"}]


@pytest.fixture(scope="module")
def on_disk() -> sh.Result:
    """A run with faults whose records went to disk in many chunks."""
    patch = pytest.MonkeyPatch()
    patch.setattr("simharness.record_store.CHUNK_RECORDS", 100)
    try:
        result = sh.run(make_scenario(duration="20m", agent={"ref": RESILIENT, "workers": 8},
                                      faults=FAULTS))
    finally:
        patch.undo()
    assert len(result.store.chunks) > 5
    return result


# ------------------------------------------------------------------ the old way, on a list
# What the report computed from `result.records` before it streamed them, kept here as the
# reference the streamed figures must equal.

def old_accuracy(records: list[TicketRecord], edges: np.ndarray) -> tuple[Any, Any]:
    arrived = np.array([r.arrived_at for r in records], dtype=float)
    bins = np.clip(np.searchsorted(edges, arrived, side="right") - 1, 0, len(edges) - 2)
    right = np.array([set(r.pred_route) == set(r.true_route) for r in records], dtype=float)
    n = len(edges) - 1
    return (np.bincount(bins, weights=right, minlength=n)[:n],
            np.bincount(bins, minlength=n)[:n].astype(float))


def old_latency(records: list[TicketRecord], edges: np.ndarray) -> dict[float, np.ndarray]:
    n = len(edges) - 1
    out = {q: np.full(n, np.nan) for q in (50, 95, 99)}
    done = [r for r in records if r.finished_at is not None]
    for i in range(n):
        last = i == n - 1
        chunk = [r.wait_s + r.service_s for r in done
                 if (i == 0 or r.finished_at >= edges[i])
                 and (last or r.finished_at < edges[i + 1])]
        if chunk:
            for q in out:
                out[q][i] = np.percentile(chunk, q)
    return out


def old_cost(records: list[TicketRecord]) -> tuple[np.ndarray, np.ndarray]:
    pairs = sorted(((r.finished_at if r.finished_at is not None else r.arrived_at, k)
                    for k, r in enumerate(records)))
    times = np.array([t for t, _ in pairs])
    return times, np.cumsum([records[k].cost_usd for _, k in pairs])


def old_fault(records: list[TicketRecord], name: str,
              windows: list[tuple[str, float, float]]) -> tuple[int, dict[str, int], int, Any]:
    spans = [(s, e) for n, s, e in windows if n == name]
    inside = [r for r in records if any(s <= r.arrived_at < e for s, e in spans)]
    first = next((r for r in inside if name in r.faults and noticed(r)), None)
    how = (", ".join(first.actions) or first.reason[:60]) if first else None
    return (len(inside), story.failures_by_kind(inside),
            sum(name in r.faults for r in records), how)


def test_streamed_series_and_sentences_equal_those_computed_from_the_list(on_disk):
    records = on_disk.records
    digest = on_disk.digest
    windows = on_disk.fault_windows
    assert len(records) == digest.count == on_disk.metrics["tickets"]["total"]
    edges = series.bin_edges(on_disk.scenario.duration)
    acc = series.accuracy_over_time(digest.timeline, edges)
    hits, total = old_accuracy(records, edges)
    np.testing.assert_array_equal(acc.hits, hits)
    np.testing.assert_array_equal(acc.total, total)
    assert 0 < acc.rate[np.isfinite(acc.rate)].min() < 1  # the outage shows
    latency = series.latency_percentiles(digest.timeline, edges)
    for q, values in old_latency(records, edges).items():
        np.testing.assert_array_equal(latency[q], values)
    times, spent = series.cumulative_cost(digest.timeline)
    old_times, old_spent = old_cost(records)
    np.testing.assert_array_equal(times, old_times)
    np.testing.assert_array_equal(spent, old_spent)
    failed = series.failures_over_time(digest.timeline, edges)
    assert sum(int(v.sum()) for v in failed.values()) == sum(r.status != "ok" for r in records)
    before = min(s for _, s, _ in windows)
    assert series.baseline_cost_rate(digest.timeline, before) == sum(
        r.cost_usd for r in records if r.finished_at is not None and r.finished_at < before
    ) / before

    assert digest.failures == story.failures_by_kind(records)
    assert digest.safety_nets == story.safety_nets(records)
    assert digest.safety_nets, "the resilient agent used no safety net: a weak test"
    for name in ("llm-down", "llm-slow"):
        facts = digest.fault(name)
        assert (facts.arrived, facts.failed, facts.changed, facts.first_noticed) == \
            old_fault(records, name, windows)
    assert digest.fault("llm-down").first_noticed is not None
    assert digest.audit == audit_groups(records, windows)
    assert sum(len(take) for _, take, _ in digest.audit) > 0


def test_figures_drawn_from_the_stream_are_the_pngs_drawn_from_the_list(on_disk):
    listed = plots.PlotInput(on_disk.records, on_disk.metrics, on_disk.fault_windows,
                             on_disk.scenario.duration)
    streamed = snapshot(on_disk)
    for draw in (plots.accuracy_over_time, plots.latency_over_time, plots.cumulative_cost):
        assert plots.to_png(draw(streamed)) == plots.to_png(draw(listed)), draw.__name__


def test_the_report_of_a_run_and_of_its_directory_read_the_same_records(on_disk, tmp_path):
    on_disk.save(tmp_path)
    live, loaded = snapshot(on_disk), load_run(tmp_path)
    assert live == loaded and live.records == loaded.records
    assert live.digest.audit == loaded.digest.audit
    assert live.digest.failures == loaded.digest.failures


def test_tables_list_tickets_of_one_instant_by_id_and_sample_disagreements_evenly():
    def record(i: int, at: float, ticket: str, past: str | None) -> TicketRecord:
        return TicketRecord(ticket_id=ticket, conversation_id=ticket, arrived_at=at,
                            started_at=at, finished_at=at + 1, status="ok",
                            true_route=["billing"], pred_route=["refund" if i % 2 else
                                                                 "billing"],
                            past_route=None if past is None else [past])
    records = [record(i, float(i // 3), f"T{(7 * i) % 1000:04d}", "billing" if i % 5 else None)
               for i in range(1000)]  # three tickets at each instant, ids out of order
    digest = digest_of(records)
    assert digest.in_order
    ordered = sorted(records, key=lambda r: (r.arrived_at, r.ticket_id))
    assert list(in_arrival_and_id_order(records)) == ordered
    assert digest.audit == audit_groups(records, [])
    differing = [r for r in ordered if r.past_route is not None
                 and set(r.pred_route) != set(r.past_route)]
    assert digest.disagreements == len(differing) > 200
    step = (len(differing) - 1) / 199
    assert digest.shadow == [differing[round(i * step)] for i in range(200)]
    shuffled = digest_of(records[::-1])  # not in arrival order: sorted, same tables
    assert not shuffled.in_order and shuffled.shadow == digest.shadow


def test_cumulative_cost_of_a_big_run_is_drawn_through_at_most_max_steps_exact_points():
    times = np.sort(np.random.default_rng(1).uniform(0, 86400, 100_000))
    spent = np.cumsum(np.full(times.size, 0.001))
    kept_at, kept = series.thin_steps(times, spent, 1000)
    assert kept_at.size <= 1000 and kept_at[-1] == times[-1] and kept[-1] == spent[-1]
    index = np.searchsorted(times, kept_at)
    np.testing.assert_array_equal(spent[index], kept)  # every kept point is a real one
    assert np.diff(kept_at).max() <= 2 * 86400 / 1000
    small_at, small = series.thin_steps(times[:500], spent[:500], 1000)
    assert np.array_equal(small_at, times[:500]) and np.array_equal(small, spent[:500])


# ------------------------------------------------------------------ the CLI never loads it all

@pytest.fixture
def no_record_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading every record into a list (Result.records, LoadedRun.records) fails the test;
    chunks of 500 records, so a run of a few thousand tickets goes to disk."""
    def refuse(*_: Any) -> Any:
        raise AssertionError("every record was read into memory")

    monkeypatch.setattr(RecordStore, "load", refuse)
    monkeypatch.setattr(LoadedRun, "records", property(refuse))
    monkeypatch.setattr("simharness.record_store.CHUNK_RECORDS", 500)


def busy_scenario(path: Path, tickets: int) -> Path:
    rate = 20.0
    data = make_scenario(duration=tickets / rate, agent={"workers": 16},
                         traffic=[{"synthetic": {"rate": rate,
                                                 "routes": ["billing", "technical"]}}],
                         faults=[{"name": "llm-down", "target": "llm", "kind": "outage",
                                  "at": tickets / rate / 2, "duration": 60}])
    path.write_text(yaml.safe_dump(data))
    return path


def first_route(payload: Any) -> str:
    """A trivial agent: half the tickets routed right, no simulated call."""
    return "billing"


def test_cli_run_and_report_of_a_big_run_never_hold_every_record(no_record_lists, tmp_path,
                                                                  capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    scenario = busy_scenario(tmp_path / "busy.yaml", 10_000)
    out = tmp_path / "run"
    code = main(["run", str(scenario), "--agent", "test_report_stream:first_route",
                 "--out", str(out), "--quiet", "--no-history"])
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    results = yaml.safe_load((out / "results.json").read_text())
    assert results["metrics"]["tickets"]["total"] > 9_000
    assert sum(1 for _ in (out / "records.jsonl").open()) == results["metrics"]["tickets"][
        "total"]
    assert "results written to" in stdout
    page = (out / "report.html").read_text()
    assert "misrouted" in page.lower()
    original = {name: (out / name).read_bytes() for name, _, _ in FIGURES}
    assert main(["report", str(out)]) == 0
    assert f"{results['metrics']['tickets']['total']:,} tickets" in capsys.readouterr().out
    assert {name: (out / name).read_bytes() for name, _, _ in FIGURES} == original
    assert (out / "report.html").read_text() == page  # with the --agent note, as saved


def test_pytest_plugin_runs_save_and_report_without_holding_every_record(no_record_lists,
                                                                          tmp_path,
                                                                          monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    from simharness.pytest_plugin.verdict import run_seeds
    from simharness.scenario import load_scenario

    scenario = load_scenario(busy_scenario(tmp_path / "busy.yaml", 5_000))
    runs = run_seeds(scenario, [1], "test_report_stream:first_route", tmp_path / "out")
    assert runs[0].out is not None and (runs[0].out / "report.html").is_file()
    assert math.isfinite(runs[0].result.metrics["routing"]["accuracy"])
    assert Counter(r.status for r in runs[0].result.iter_records())["ok"] > 4_000
