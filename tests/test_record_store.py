"""Records stream to disk in chunks during a run, and metrics come from their columns.

A run must not hold every ticket's record in memory: the store writes a chunk every
`chunk_size` records and never holds more. Whatever the chunking and the file format,
the records read back, the metrics and the saved run are the same, byte for byte, as a
run that kept everything in memory.
"""

from __future__ import annotations

import gc
import json
import math

import pytest
from conftest import make_scenario

import simharness as sh
from simharness.columns import Columns
from simharness.engine import run_engine
from simharness.metrics import compute
from simharness.record_store import RecordStore
from simharness.records import TicketRecord
from simharness.result import Result
from simharness.scenario import scenario_from_dict

AGENT = "simharness.agents.reference:ResilientRouter"


@pytest.fixture(scope="module")
def scenario():
    """Ten minutes at 1/s with an LLM outage and malformed input: tags, faults, failures,
    fallbacks and recovery all show in the metrics."""
    return scenario_from_dict(make_scenario(
        agent={"ref": AGENT, "workers": 8},
        faults=[{"name": "llm-down", "target": "llm", "kind": "outage", "at": "3m",
                 "duration": "2m"},
                {"name": "bad-input", "kind": "malformed_input", "rate": 0.2,
                 "mutations": ["truncated", "missing_field"]}]))


@pytest.fixture(scope="module")
def in_memory(scenario):
    """The reference: a chunk larger than the run, so nothing is ever written."""
    store = RecordStore(chunk_size=1_000_000)
    result = Result(scenario, run_engine(scenario, records=store))
    assert store.in_memory and store.directory is None
    return result


def _metrics_json(result: Result) -> str:
    return json.dumps(result.to_json()["metrics"]) + json.dumps(
        result.diagnostics["unknown_labels"])


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_records_are_written_in_chunks_and_the_buffer_never_exceeds_a_chunk(
        scenario, in_memory, fmt, tmp_path):
    if fmt == "parquet":
        pytest.importorskip("pyarrow", reason="Parquet chunks need pyarrow")
    chunk = 64
    store = RecordStore(tmp_path / "records", chunk_size=chunk, format=fmt)
    result = Result(scenario, run_engine(scenario, records=store))
    total = len(in_memory.records)
    assert total > 8 * chunk
    assert len(result.store) == total
    assert store.most_buffered == chunk  # filled up to a chunk, never beyond
    assert len(store.chunks) == math.ceil(total / chunk)
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == \
        [f"part-{k:05d}.{fmt}" for k in range(len(store.chunks))]
    # Metrics from the streamed columns equal those of the run that kept every record.
    assert _metrics_json(result) == _metrics_json(in_memory)
    # The records come back from disk exactly, in arrival order.
    assert [r.to_dict() for r in result.iter_records()] == \
        [r.to_dict() for r in in_memory.records]


def test_metrics_from_columns_equal_metrics_from_the_records_read_back(scenario, tmp_path):
    store = RecordStore(tmp_path, chunk_size=50)
    result = Result(scenario, run_engine(scenario, records=store))
    records = list(result.iter_records())
    from_records = compute(records, sim_seconds=scenario.duration,
                           fault_windows=result.fault_windows, config=scenario)
    assert json.dumps(from_records) == json.dumps(result.metrics)
    assert result.metrics["recovery"]["llm-down"]["tickets"] > 0
    assert result.metrics["faults"]["bad-input"] > 0


def test_a_saved_run_is_the_same_whatever_the_chunking(scenario, in_memory, tmp_path):
    result = Result(scenario, run_engine(scenario, records=RecordStore(chunk_size=37)))
    in_memory.save(tmp_path / "memory")
    result.save(tmp_path / "chunked")
    for name in ("records.jsonl", "scenario.yaml"):
        assert (tmp_path / "chunked" / name).read_bytes() == \
            (tmp_path / "memory" / name).read_bytes()
    chunked = json.loads((tmp_path / "chunked" / "results.json").read_text())
    memory = json.loads((tmp_path / "memory" / "results.json").read_text())
    assert chunked["metrics"] == memory["metrics"]


def test_records_with_equal_arrival_times_keep_the_order_they_finished_in():
    """Chunks are sorted by arrival on their own and merged when read: ties (replayed
    timestamps) must still come back in finishing order, as `sorted` would give them."""
    finished = [TicketRecord(ticket_id=f"T{k}", conversation_id=f"C{k}",
                             arrived_at=float(k % 4), status="ok", true_route=["a"],
                             pred_route=["a" if k % 3 else "b"], cost_usd=0.1 * k)
                for k in range(23)]
    store = RecordStore(chunk_size=5, format="jsonl")
    for record in finished:
        store.append(record)
    store.close()
    expected = sorted(finished, key=lambda r: r.arrived_at)
    assert [r.ticket_id for r in store] == [r.ticket_id for r in expected]
    columns = store.columns
    assert columns.arrived_at.tolist() == [r.arrived_at for r in expected]
    assert columns.cost_usd.tolist() == [r.cost_usd for r in expected]
    assert json.dumps(compute(columns, sim_seconds=10.0)) == \
        json.dumps(compute(expected, sim_seconds=10.0))


def test_reading_opens_only_the_chunks_whose_arrivals_overlap(monkeypatch):
    """Chunks are written as tickets finish, a little after they arrive: reading merges
    them in arrival order with only the few overlapping chunks open, not one reader per
    chunk (each holds a batch of records), and gives what sorting everything gives."""
    import random

    from simharness import record_store

    rng = random.Random(3)
    arrivals = [float(k // 2) for k in range(2_000)]  # pairs arrive together
    done = sorted(range(2_000), key=lambda k: arrivals[k] + rng.uniform(0, 30))
    finished = [TicketRecord(ticket_id=f"T{k}", conversation_id=f"C{k}",
                             arrived_at=arrivals[k], status="ok", true_route=["a"],
                             pred_route=["a"]) for k in done]
    open_now, most_open = [0], [0]
    read = record_store._read_jsonl

    def counted(path):
        open_now[0] += 1
        most_open[0] = max(most_open[0], open_now[0])
        yield from read(path)
        open_now[0] -= 1

    monkeypatch.setattr(record_store, "_read_jsonl", counted)
    store = RecordStore(chunk_size=50, format="jsonl")
    for record in finished:
        store.append(record)
    store.close()
    assert len(store.chunks) == 40
    expected = sorted(finished, key=lambda r: r.arrived_at)
    assert [r.ticket_id for r in store] == [r.ticket_id for r in expected]
    assert 2 <= most_open[0] <= 6


def test_columns_of_no_records_give_the_metrics_of_an_empty_run():
    metrics = compute(Columns.of([]), sim_seconds=60.0)
    assert metrics["tickets"]["total"] == 0
    assert math.isnan(metrics["routing"]["accuracy"])


def test_records_stream_to_a_temporary_directory_removed_with_the_result(monkeypatch):
    monkeypatch.setattr("simharness.record_store.CHUNK_RECORDS", 100)
    result = sh.run(make_scenario(duration="5m"), agent=AGENT)
    directory = result.store.directory
    assert directory is not None and any(directory.iterdir())
    assert len(result.records) == result.metrics["tickets"]["total"] > 100
    del result
    gc.collect()
    assert not directory.exists()


def test_a_records_dir_keeps_the_chunks(tmp_path):
    out = tmp_path / "records"
    result = sh.run(make_scenario(duration="2m"), agent=AGENT, records_dir=out)
    assert result.store.in_memory  # fits in one chunk: nothing written
    store = RecordStore(out, chunk_size=30, format="jsonl")
    scenario = scenario_from_dict(make_scenario(duration="2m"))
    Result(scenario, run_engine(scenario, agent=AGENT, records=store))
    assert len(list(out.glob("part-*.jsonl"))) == len(store.chunks) > 1


def test_the_chunk_format_can_be_chosen_in_the_environment(monkeypatch):
    from simharness.record_store import default_format

    monkeypatch.setenv("SIMHARNESS_RECORDS_FORMAT", "jsonl")
    assert default_format() == "jsonl"
    monkeypatch.setenv("SIMHARNESS_RECORDS_FORMAT", "Parquet")
    assert default_format() == "parquet"


def test_the_scale_benchmark_measures_a_run_in_a_child_process():
    """Smoke check of benchmarks/bench_scale.py on a small run (the figures come from the
    script itself, on 100,000 and 1,000,000 tickets)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        from bench_scale import measure
    finally:
        sys.path.pop(0)
    figure = measure(2_000, "jsonl")
    assert 1_800 < figure["tickets"] < 2_200
    assert figure["format"] == "jsonl" and figure["peak_mb"] > 10
