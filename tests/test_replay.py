"""Historical replay: files of past tickets as a traffic source."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import make_scenario

import simharness as sh
from simharness.errors import ScenarioError
from simharness.scenario import scenario_from_yaml


def _route_with_llm(payload: dict[str, Any], ctx: Any) -> str:
    text = "\n".join(m["text"] for m in payload["messages"])
    reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", timeout=30,
                          json={"model": "large",
                                "messages": [{"role": "user", "content": text}]})
    route: str = json.loads(reply.json()["choices"][0]["message"]["content"])["route"]
    return route


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None) -> Path:
    header = header or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def replay_scenario(replay: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return make_scenario(traffic=[{"replay": replay}], **overrides)


ROUTES = ["billing", "technical", "account"]
TEXTS = {"billing": "I was charged twice for invoice {n}, please refund the duplicate.",
         "technical": "The app crashes every time I open report {n} on my phone.",
         "account": "I cannot log in to account {n}, the reset email never arrives."}


def tickets_csv(path: Path, n: int, **extra: Any) -> Path:
    rows = []
    for i in range(n):
        route = ROUTES[i % 3]
        rows.append({"ticket": f"Z{i}", "body": TEXTS[route].format(n=i), "queue": route,
                     "created": f"2025-03-01T10:{i // 60:02d}:{i % 60:02d}Z",
                     "requester": f"cust-{i % 7}", **extra})
    return write_csv(path, rows)


# -- the basics ---------------------------------------------------------------------------

def test_csv_rows_become_tickets_with_their_truth_and_origin(tmp_path):
    data = tickets_csv(tmp_path / "t.csv", 30)
    scenario = replay_scenario({"path": str(data), "timing": {"every": "2s"},
                                "columns": {"text": "body", "route": "queue"}})
    result = sh.run(scenario, agent=_route_with_llm)
    records = sorted(result.records, key=lambda r: r.arrived_at)
    assert len(records) == 30
    assert [r.true_route for r in records] == [[ROUTES[i % 3]] for i in range(30)]
    assert [r.arrived_at for r in records] == [2.0 * i for i in range(30)]
    assert [r.origin for r in records] == [f"t.csv:{i + 2}" for i in range(30)]
    assert result.metrics["routing"]["accuracy"] > 0.7  # the model recognises the texts
    assert result.diagnostics["replay"][0]["sent"] == 30


def test_the_agent_gets_the_replayed_text_and_customer(tmp_path):
    data = tickets_csv(tmp_path / "t.csv", 3)
    seen = []
    scenario = replay_scenario({"path": str(data), "timing": {"every": "1s"},
                                "columns": {"text": "{body} (ref {ticket})", "subject": "queue",
                                            "customer": "requester", "route": "queue"}})
    sh.run(scenario, agent=lambda payload: seen.append(payload) or "billing")
    assert seen[0]["messages"][0]["text"] == TEXTS["billing"].format(n=0) + " (ref Z0)"
    assert seen[0]["subject"] == "billing"
    assert seen[0]["customer"]["id"] == "cust-0"


def test_replayed_customers_exist_in_the_crm_with_given_or_drawn_values(tmp_path):
    rows = [{"body": "I was charged twice", "who": "acme", "value": "250000", "tier": "gold"},
            {"body": "I cannot log in", "who": "bob", "value": "", "tier": ""}]
    data = write_csv(tmp_path / "t.csv", rows)
    answers = {}

    def agent(payload, ctx):
        reply = ctx.http.get(f"{ctx.base_urls['crm']}/customers/{payload['customer']['id']}")
        answers[payload["customer"]["id"]] = (reply.status_code, reply.json())
        return "billing"

    scenario = replay_scenario({"path": str(data), "timing": {"every": "1s"},
                                "columns": {"text": "body", "customer": "who",
                                            "account_value": "value", "tier": "tier"}})
    result = sh.run(scenario, agent=agent)
    assert answers["acme"][0] == 200
    assert (answers["acme"][1]["tier"], answers["acme"][1]["account_value"]) == ("gold", 250000)
    assert answers["bob"][0] == 200 and answers["bob"][1]["tier"] in (
        "free", "pro", "business", "enterprise")
    assert answers["bob"][1]["account_value"] < 100000
    by_text = {r.origin: r for r in result.records}
    assert by_text["t.csv:2"].true_escalate and "high_value" in by_text["t.csv:2"].tags
    assert not by_text["t.csv:3"].true_escalate


def test_without_a_route_column_the_run_has_no_accuracy_and_says_so(tmp_path, capsys):
    from rich.console import Console

    from simharness.report.console import print_summary

    data = tickets_csv(tmp_path / "t.csv", 5)
    scenario = replay_scenario({"path": str(data), "timing": {"every": "1s"},
                                "columns": {"text": "body"}})
    result = sh.run(scenario, agent=lambda p: "billing")
    assert result.metrics["tickets"]["total"] == 5
    assert result.metrics["routing"]["labelled"] == 0
    assert result.metrics["routing"]["accuracy"] != result.metrics["routing"]["accuracy"]  # nan
    assert result.metrics["latency"]["p50"] >= 0
    print_summary(result, Console(width=200))
    assert "routing accuracy is not measured" in capsys.readouterr().out


# -- labels -------------------------------------------------------------------------------

def test_multi_label_cells_label_maps_and_known_routes(tmp_path):
    rows = [{"text": "first", "labels": "Billing Ops|Tech L2"},
            {"text": "second", "labels": "Tech L2"},
            {"text": "third", "labels": "refund_request"},
            {"text": "fourth", "labels": "Mystery"}]
    data = write_csv(tmp_path / "t.csv", rows)
    (tmp_path / "map.yaml").write_text("billing: [Billing Ops, refund_request]\n")
    scenario = replay_scenario({
        "path": str(data), "timing": {"every": "1s"}, "route_delimiter": "|",
        "columns": {"text": "text", "route": "labels"},
        "label_map": [str(tmp_path / "map.yaml"), {"Tech L2": "technical"}],
        "routes": ["billing", "technical"]})
    result = sh.run(scenario, agent=lambda p: "billing")
    truths = {r.origin: r.true_route for r in result.records}
    assert truths == {"t.csv:2": ["billing", "technical"], "t.csv:3": ["technical"],
                      "t.csv:4": ["billing"]}
    multi = next(r for r in result.records if r.origin == "t.csv:2")
    assert "multi_issue" in multi.tags
    replay = result.diagnostics["replay"][0]
    assert replay["unreadable"] == 1
    assert replay["first_unreadable"][0]["line"] == 5
    assert "unknown label 'Mystery'" in replay["first_unreadable"][0]["reason"]


def test_conflicting_label_map_is_a_load_error(tmp_path):
    data = tickets_csv(tmp_path / "t.csv", 3)
    text = (f"name: x\nduration: 1m\ntraffic:\n  - replay:\n      path: {data}\n"
            "      timing: {every: 1s}\n      columns: {text: body, route: queue}\n"
            "      label_map: [{a: billing}, {a: technical}]\n")
    with pytest.raises(ScenarioError, match=r"f.yaml:8:18 traffic\[0\].replay.label_map: "
                                            r"label 'a' maps to both 'billing' and 'technical'"):
        scenario_from_yaml(text, str(tmp_path / "f.yaml"))


# -- unreadable rows ----------------------------------------------------------------------

def broken_csv(path: Path, n: int = 400) -> tuple[Path, dict[int, str]]:
    """A CSV where every 20th row (5 %) is broken in one of five ways; returns the broken
    lines and what is wrong with each."""
    lines = ["id,body,queue,created"]
    broken: dict[int, str] = {}
    kinds = ["timestamp", "text", "bytes", "fields", "label"]
    for i in range(n):
        line = len(lines) + 1
        route = ROUTES[i % 3]
        good = f'{i},"{TEXTS[route].format(n=i)}",{route},2025-03-01T10:00:{i % 60:02d}Z'
        if i % 20 == 7:
            kind = kinds[(i // 20) % 5]
            broken[line] = kind
            good = {
                "timestamp": f'{i},"{TEXTS[route].format(n=i)}",{route},yesterday-ish',
                "text": f'{i},"",{route},2025-03-01T10:00:00Z',
                "bytes": f'{i},"caf\xe9 \udcff",{route},2025-03-01T10:00:00Z',
                "fields": f'{i},"{TEXTS[route].format(n=i)}",{route}',
                "label": f'{i},"{TEXTS[route].format(n=i)}",no_such_queue,2025-03-01T10:00:00Z',
            }[kind]
        lines.append(good)
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    return path, broken


def test_a_csv_with_five_percent_broken_rows_replays_the_rest_and_lists_them(tmp_path):
    data, broken = broken_csv(tmp_path / "broken.csv")
    scenario = replay_scenario({"path": str(data), "timing": {"every": "1s"},
                                "routes": ROUTES, "columns": {"text": "body", "route": "queue",
                                                              "timestamp": "created"}})
    scenario["traffic"][0]["replay"]["timing"] = {"every": "1s"}
    result = sh.run(scenario, agent=lambda p: "billing")
    replay = result.diagnostics["replay"][0]
    assert len(broken) == 20 and replay["rows"] == 400
    assert result.metrics["tickets"]["total"] == 380 == replay["sent"]
    assert replay["unreadable"] == 20
    assert [item["line"] for item in replay["first_unreadable"]] == sorted(broken)
    reasons = {item["line"]: item["reason"] for item in replay["first_unreadable"]}
    for line, kind in broken.items():
        expected = {"timestamp": "bad timestamp", "text": "missing text",
                    "bytes": "undecodable bytes", "fields": "expected 4 fields, got 3",
                    "label": "unknown label 'no_such_queue'"}[kind]
        assert expected in reasons[line], (line, reasons[line])
    assert replay["unreadable_by_field"] == {"timestamp": 4, "text": 4, "file": 8, "route": 4}


def test_broken_rows_are_listed_in_the_console_and_the_report(tmp_path, capsys):
    from simharness.cli import main

    data, broken = broken_csv(tmp_path / "broken.csv", n=100)
    (tmp_path / "s.yaml").write_text(
        "name: broken\nduration: 5m\nagent: {ref: 'tests_replay_agent:route'}\n"
        "traffic:\n  - replay:\n      path: broken.csv\n      timing: {every: 1s}\n"
        f"      routes: {ROUTES}\n"
        "      columns: {text: body, route: queue, timestamp: created}\n")
    (tmp_path / "tests_replay_agent.py").write_text("def route(payload):\n    return 'billing'\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        code = main(["run", str(tmp_path / "s.yaml"), "--quiet", "--out", str(tmp_path / "out")])
    finally:
        sys.path.remove(str(tmp_path))
    out = capsys.readouterr().out
    assert code == 0
    assert "replay broken.csv: 95 tickets sent from 100 rows (5 unreadable)" in out
    for line in broken:
        assert f"unreadable line {line}:" in out
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Replayed traffic" in html and f"<td>line {min(broken)}</td>" in html


def test_strict_stops_at_the_first_unreadable_row_naming_file_line_and_field(tmp_path):
    data, broken = broken_csv(tmp_path / "broken.csv")
    scenario = replay_scenario({"path": str(data), "strict": True, "routes": ROUTES,
                                "columns": {"text": "body", "route": "queue",
                                            "timestamp": "created"}})
    with pytest.raises(ScenarioError) as info:
        sh.run(scenario, agent=lambda p: "billing")
    first = min(broken)
    assert str(info.value) == (
        f"<dict> traffic[0].replay.columns.timestamp: {data} line {first}: bad timestamp "
        f"'yesterday-ish': Invalid isoformat string: 'yesterday-ish' (strict: true stops at "
        "the first unreadable row)")


def test_an_over_long_line_is_an_unreadable_row_not_a_memory_spike(tmp_path, monkeypatch):
    from simharness.traffic import readers

    monkeypatch.setattr(readers, "MAX_LINE_BYTES", 200)
    data = tmp_path / "t.csv"
    data.write_text("body,queue\nshort,billing\n" + "x" * 5000 + ",billing\nalso short,billing\n")
    scenario = replay_scenario({"path": str(data), "timing": {"every": "1s"},
                                "columns": {"text": "body", "route": "queue"}})
    result = sh.run(scenario, agent=lambda p: "billing")
    replay = result.diagnostics["replay"][0]
    assert replay["sent"] == 2
    assert replay["first_unreadable"] == [{"line": 3, "where": "line 3",
                                           "reason": "line longer than 200 bytes"}]


# -- load-time errors ---------------------------------------------------------------------

def _load(tmp_path: Path, replay_yaml: str) -> Any:
    """Load a scenario `f.yaml` from inside `tmp_path` (messages name it relatively)."""
    import os

    text = "name: x\nduration: 1m\ntraffic:\n  - replay:\n" + replay_yaml
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        return scenario_from_yaml(text, "f.yaml")
    finally:
        os.chdir(here)


def test_a_missing_file_is_a_load_error_naming_the_file_and_field(tmp_path):
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, "      path: nope.csv\n      timing: {every: 1s}\n"
                        "      columns: {text: body}\n")
    assert str(info.value) == ("f.yaml:5:13 traffic[0].replay.path: cannot replay nope.csv: "
                               "no such file")


def test_an_unknown_column_is_a_load_error_with_a_suggestion(tmp_path):
    tickets_csv(tmp_path / "t.csv", 3)
    with pytest.raises(ScenarioError) as info:
        _load(tmp_path, "      path: t.csv\n      timing: {every: 1s}\n"
                        "      columns:\n        text: Body\n        route: '{queue} {kind}'\n")
    assert str(info.value).splitlines() == [
        "f.yaml:8:15 traffic[0].replay.columns.text: t.csv: unknown column 'Body'; did you "
        "mean 'body'? (the file's columns: ticket, body, queue, created, requester)"]


def test_unknown_template_column_and_filter_column_are_named(tmp_path):
    tickets_csv(tmp_path / "t.csv", 3)
    with pytest.raises(ScenarioError, match=r"f.yaml:9:16 traffic\[0\].replay.columns.route: "
                                            r"t.csv: unknown column 'kind'"):
        _load(tmp_path, "      path: t.csv\n      timing: {every: 1s}\n"
                        "      columns:\n        text: body\n        route: '{queue} {kind}'\n")
    with pytest.raises(ScenarioError, match=r"traffic\[0\].replay.where.channel: t.csv: "
                                            r"unknown column 'channel'"):
        _load(tmp_path, "      path: t.csv\n      timing: {every: 1s}\n"
                        "      columns: {text: body}\n      where: {channel: email}\n")


def test_nothing_left_after_filters_is_an_error_before_the_run(tmp_path, monkeypatch):
    tickets_csv(tmp_path / "t.csv", 3)
    scenario = _load(tmp_path, "      path: t.csv\n      timing: {every: 1s}\n"
                               "      columns: {text: body}\n      where: {queue: refunds}\n")
    with pytest.raises(ScenarioError) as info:
        monkeypatch.chdir(tmp_path)
        sh.run(scenario, agent=lambda p: "billing")
    assert str(info.value) == ("f.yaml:8:14 traffic[0].replay.where: nothing to replay from "
                               "t.csv: all 3 rows were filtered out by `where`")


def test_timing_original_needs_a_timestamp_column(tmp_path):
    tickets_csv(tmp_path / "t.csv", 3)
    with pytest.raises(ScenarioError, match="no timestamp column: give `timing: "):
        _load(tmp_path, "      path: t.csv\n      columns: {text: body}\n")


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(ScenarioError, match=r"reading Parquet needs pyarrow: pip install "
                                            r"'simharness\[parquet\]'"):
        _load(tmp_path, "      path: t.parquet\n      timing: {every: 1s}\n"
                        "      columns: {text: body}\n")


# -- other formats ------------------------------------------------------------------------

def test_jsonl_with_nested_fields_and_list_labels(tmp_path):
    rows = [{"conversation": {"body": "I was charged twice"}, "labels": ["billing", "refund"],
             "at": 1741000000 + i * 10} for i in range(3)]
    data = tmp_path / "t.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n{not json}\n[1, 2]\n")
    scenario = replay_scenario({"path": str(data), "columns": {
        "text": "conversation.body", "route": "labels", "timestamp": "at"}})
    result = sh.run(scenario, agent=lambda p: "billing")
    assert [r.true_route for r in result.records] == [["billing", "refund"]] * 3
    assert [r.arrived_at for r in result.records] == [0.0, 10.0, 20.0]
    assert [u["line"] for u in result.diagnostics["replay"][0]["first_unreadable"]] == [5, 6]


def test_json_document_with_records_keys_and_array_rows(tmp_path):
    data = tmp_path / "d.json"
    data.write_text(json.dumps({"test": [["pay my bill", "pay_bill"], ["hello", "greeting"]],
                                "oos_test": [["what is the weather on mars", "oos"]],
                                "train": [["x", "y"]]}))
    scenario = replay_scenario({"path": str(data), "records": ["test", "oos_test"],
                                "timing": {"every": "1s"}, "columns": {"text": "0", "route": "1"},
                                "label_map": {"oos": "human_review"}})
    result = sh.run(scenario, agent=lambda p: "human_review")
    assert [r.true_route for r in result.records] == [["pay_bill"], ["greeting"],
                                                      ["human_review"]]
    assert [r.origin for r in result.records] == ["d.json test[0]", "d.json test[1]",
                                                  "d.json oos_test[0]"]


def test_parquet_streams_by_batch(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"body": [TEXTS[ROUTES[i % 3]].format(n=i) for i in range(50)],
                      "queue": [ROUTES[i % 3] for i in range(50)],
                      "ts": [1741000000.0 + i for i in range(50)]})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=16)
    scenario = replay_scenario({"path": str(tmp_path / "t.parquet"), "columns": {
        "text": "body", "route": "queue", "timestamp": "ts"}})
    result = sh.run(scenario, agent=_route_with_llm)
    assert len(result.records) == 50
    assert [r.arrived_at for r in result.records] == [float(i) for i in range(50)]
    assert [r.true_route for r in result.records] == [[ROUTES[i % 3]] for i in range(50)]


# -- timing -------------------------------------------------------------------------------

def test_original_timing_follows_the_timestamps_in_order_with_speedup(tmp_path):
    stamps = ["2025-03-01 12:00:00", "2025-03-01 09:00:00", "2025-03-01 10:30:00",
              "2025-03-01 09:00:00", "2025-03-02 09:00:00"]
    rows = [{"body": f"message {i}", "when": s} for i, s in enumerate(stamps)]
    data = write_csv(tmp_path / "t.csv", rows)
    scenario = replay_scenario({"path": str(data), "speedup": 60, "timestamp_format":
                                "%Y-%m-%d %H:%M:%S", "columns": {"text": "body",
                                                                 "timestamp": "when"}},
                               duration="1h")
    seen = []
    result = sh.run(scenario, agent=lambda p: seen.append(p) or "billing")
    arrivals = sorted((r.arrived_at, r.origin) for r in result.records)
    assert arrivals == [(0.0, "t.csv:3"), (0.0, "t.csv:5"), (90.0, "t.csv:4"),
                        (180.0, "t.csv:2"), (1440.0, "t.csv:6")]
    # t=0 is the first timestamp: the simulated clock reads it
    assert seen[0]["created_at"] == "2025-03-01T09:00:00+00:00"
    replay = result.diagnostics["replay"][0]
    assert replay["in_time_order"] is False
    assert replay["first_timestamp"] == "2025-03-01T09:00:00+00:00"


def test_tickets_after_the_end_of_the_run_are_counted_not_sent(tmp_path):
    rows = [{"body": f"m{i}", "when": 1741000000 + 60 * i} for i in range(10)]
    data = write_csv(tmp_path / "t.csv", rows)
    scenario = replay_scenario({"path": str(data), "columns": {"text": "body",
                                                               "timestamp": "when"}},
                               duration="5m")
    result = sh.run(scenario, agent=lambda p: "billing")
    replay = result.diagnostics["replay"][0]
    assert (replay["sent"], replay["after_end"]) == (6, 4)  # 0..300 s inclusive


def test_scenario_start_before_the_data_shifts_arrivals(tmp_path):
    rows = [{"body": f"m{i}", "when": f"2025-03-01T09:0{i}:00Z"} for i in range(3)]
    data = write_csv(tmp_path / "t.csv", rows)
    scenario = replay_scenario({"path": str(data), "columns": {"text": "body",
                                                               "timestamp": "when"}},
                               start="2025-03-01T08:59:00Z")
    result = sh.run(scenario, agent=lambda p: "billing")
    assert [r.arrived_at for r in result.records] == [60.0, 120.0, 180.0]


def test_rate_timing_is_poisson_and_deterministic(tmp_path):
    data = tickets_csv(tmp_path / "t.csv", 200)
    scenario = replay_scenario({"path": str(data), "timing": {"rate": "2/s"},
                                "columns": {"text": "body", "route": "queue"}})
    first = sh.run(scenario, agent=lambda p: "billing")
    again = sh.run(scenario, agent=lambda p: "billing")
    times = [r.arrived_at for r in first.records]
    assert times == [r.arrived_at for r in again.records]
    assert times == sorted(times) and len(times) == 200
    assert 60 < times[-1] < 140  # 200 arrivals at 2/s: about 100 s


# -- selection ----------------------------------------------------------------------------

def test_where_limit_sample_and_shuffle(tmp_path):
    data = tickets_csv(tmp_path / "t.csv", 300)
    base = {"path": str(data), "timing": {"every": "1s"},
            "columns": {"text": "body", "route": "queue"}}

    def origins(**extra: Any) -> list[str]:
        result = sh.run(replay_scenario({**base, **extra}), agent=lambda p: "billing")
        return [r.origin for r in sorted(result.records, key=lambda r: r.arrived_at)]

    assert origins(where={"queue": "billing"}, limit=3) == ["t.csv:2", "t.csv:5", "t.csv:8"]
    assert len(origins(where={"queue": {"not": ["billing", "technical"]}})) == 100
    counted = origins(sample=40)
    assert len(counted) == 40 and counted == sorted(counted, key=lambda o: int(o[6:]))
    share = origins(sample=0.25)
    assert 50 < len(share) < 100
    shuffled = origins(shuffle=True, limit=50)
    assert len(set(shuffled)) == 50 and shuffled != sorted(shuffled, key=lambda o: int(o[6:]))
    assert shuffled == origins(shuffle=True, limit=50)
    assert shuffled != origins(shuffle=True, limit=50, seed=99)


# -- conversations ------------------------------------------------------------------------

def test_rows_sharing_a_conversation_id_are_one_ticket_with_timed_follow_ups(tmp_path):
    rows = [
        {"thread": "A", "body": "My invoice is wrong", "queue": "billing",
         "at": "2025-03-01T09:00:00Z"},
        {"thread": "B", "body": "App crashes", "queue": "technical",
         "at": "2025-03-01T09:01:00Z"},
        {"thread": "A", "body": "Actually, forget that: cancel my plan", "queue": "account",
         "at": "2025-03-01T09:05:00Z"},
        {"thread": "", "body": "Lone ticket", "queue": "technical",
         "at": "2025-03-01T09:02:00Z"},
        {"thread": "A", "body": "Any news?", "queue": "", "at": "2025-03-01T09:03:00Z"},
    ]
    data = write_csv(tmp_path / "t.csv", rows)
    calls = []
    scenario = replay_scenario({"path": str(data), "columns": {
        "text": "body", "route": "queue", "timestamp": "at", "conversation_id": "thread"}})
    result = sh.run(scenario, agent=lambda p: calls.append(
        (p["conversation_id"], p["messages"][0]["text"], p["messages"][0]["at"])) or "billing")
    assert len(result.records) == 3
    a = next(r for r in result.records if r.conversation_id == "A")
    assert (a.events, a.true_route, a.arrived_at) == (3, ["account"], 0.0)
    assert "mind_change" in a.tags
    assert [c[1] for c in calls if c[0] == "A"] == ["My invoice is wrong", "Any news?",
                                                    "Actually, forget that: cancel my plan"]
    assert [c[2] for c in calls if c[0] == "A"] == [
        "2025-03-01T09:00:00+00:00", "2025-03-01T09:03:00+00:00", "2025-03-01T09:05:00+00:00"]


# -- shadow comparison --------------------------------------------------------------------

def test_shadow_comparison_with_production_decisions(tmp_path):
    rows = []
    for i in range(60):
        route = ROUTES[i % 3]
        past = route if i % 4 else ROUTES[(i + 1) % 3]  # production wrong on every 4th
        rows.append({"body": TEXTS[route].format(n=i), "queue": route, "was": past,
                     "esc": "yes" if i % 10 == 0 else "no"})
    data = write_csv(tmp_path / "t.csv", rows)
    scenario = replay_scenario({"path": str(data), "timing": {"every": "1s"}, "columns": {
        "text": "body", "route": "queue", "past_route": "was", "past_escalate": "esc"}},
        expect={"shadow.agreement": ">= 0"})
    result = sh.run(scenario, agent=_route_with_llm)
    shadow = result.metrics["shadow"]
    records = result.records
    agent_right = [r.pred_route == r.true_route for r in records]
    past_right = [r.past_route == r.true_route for r in records]
    assert shadow["tickets"] == 60
    assert shadow["production_accuracy"] == pytest.approx(45 / 60)
    assert shadow["agent_accuracy"] == pytest.approx(sum(agent_right) / 60)
    assert shadow["agreement"] == pytest.approx(
        sum(r.pred_route == r.past_route for r in records) / 60)
    assert shadow["disagreements"] == sum(r.pred_route != r.past_route for r in records)
    assert shadow["agent_right_production_wrong"] == sum(
        a and not p for a, p in zip(agent_right, past_right, strict=True))
    assert shadow["escalation_agreement"] == pytest.approx(54 / 60)  # agent never escalates

    from simharness.report.html import render_html
    from simharness.report.store import snapshot

    html = render_html(snapshot(result), {name: b"" for name in (
        "accuracy_over_time.png", "latency_over_time.png", "cumulative_cost.png",
        "confusion.png", "recovery.png")})
    assert f"{shadow['disagreements']:,} tickets routed differently from production" in html


# -- export round trip --------------------------------------------------------------------

def test_export_then_replay_gives_the_same_tickets_at_the_same_times(tmp_path, capsys):
    from simharness.cli import main

    synthetic = make_scenario(
        duration="3m", traffic=[{"synthetic": {
            "rate": "1/s", "routes": ROUTES,
            "mix": {"multi_issue": 0.2, "mind_change": 0.2, "high_value": 0.1}}}])
    (tmp_path / "synthetic.yaml").write_text(json.dumps(synthetic))
    out = tmp_path / "data" / "traffic.csv"
    out.parent.mkdir()
    assert main(["traffic", "export", str(tmp_path / "synthetic.yaml"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "replay it with" in printed and "route_delimiter: '|'" in printed

    seen: dict[str, list[tuple[str, str]]] = {}

    def agent(payload, ctx):
        seen.setdefault(payload["conversation_id"], []).append(
            (payload["messages"][0]["text"], payload["messages"][0]["at"]))
        return "billing"

    original = sh.run(synthetic, agent=agent)
    before, seen = seen, {}
    from simharness.traffic.export import replay_section

    replayed = sh.run(make_scenario(
        duration="3m", start="2026-01-05T09:00:00Z",
        traffic=[{"replay": replay_section(str(out))}]), agent=agent)
    def texts(calls: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
        return {conv: [text for text, _ in items] for conv, items in calls.items()}

    def times(calls: dict[str, list[tuple[str, str]]]) -> list[float]:
        return [datetime.fromisoformat(at).timestamp() for conv in sorted(calls)
                for _, at in calls[conv]]

    assert texts(seen) == texts(before)
    assert times(seen) == pytest.approx(times(before), abs=2e-6)  # ISO keeps microseconds
    key = lambda r: r.conversation_id  # noqa: E731
    a, b = sorted(original.records, key=key), sorted(replayed.records, key=key)
    assert [(r.conversation_id, r.true_route, r.true_escalate, sorted(r.tags), r.events)
            for r in a] == [(r.conversation_id, r.true_route, r.true_escalate, sorted(r.tags),
                             r.events) for r in b]
    assert [r.arrived_at for r in a] == pytest.approx([r.arrived_at for r in b], abs=1e-6)


def test_export_writes_jsonl_with_lists(tmp_path):
    from simharness.scenario import scenario_from_dict
    from simharness.traffic.export import export_traffic

    loaded = scenario_from_dict(make_scenario(duration="20s", traffic=[{"synthetic": {
        "rate": "1/s", "routes": ROUTES, "mix": {"multi_issue": 1.0}}}]))
    rows = export_traffic(loaded, tmp_path / "t.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert rows == len(lines) > 5
    assert all(len(line["route"]) == 2 and "multi_issue" in line["tags"] for line in lines)
    assert datetime.fromisoformat(lines[0]["created_at"]) >= datetime(2026, 1, 5, 9, tzinfo=UTC)


# -- memory -------------------------------------------------------------------------------

def test_streaming_replay_memory_does_not_grow_with_the_file(tmp_path):
    import tracemalloc

    from simharness.scenario import scenario_from_dict
    from simharness.traffic.sources import build_traffic

    def peak(rows: int) -> int:
        path = tmp_path / f"big{rows}.csv"
        with path.open("w") as fh:
            fh.write("body,queue,at\n")
            for i in range(rows):
                fh.write(f"ticket number {i} about my bill,billing,{1741000000 + i}\n")
        scenario = scenario_from_dict(replay_scenario(
            {"path": str(path), "columns": {"text": "body", "route": "queue",
                                            "timestamp": "at"}}, duration="30d"))
        tracemalloc.start()
        traffic = build_traffic(scenario, 1)
        count = sum(1 for _ in traffic.sources[0].tickets())
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == rows
        return top

    small, large = peak(2_000), peak(40_000)
    assert large < small + 512 * 1024, (small, large)


def test_shipped_replay_data_is_what_traffic_export_writes(tmp_path):
    from conftest import REPO

    from simharness.traffic.export import export_traffic

    data = REPO / "scenarios" / "data"
    export_traffic(sh.load_scenario(data / "helpdesk.yaml"), tmp_path / "tickets.csv")
    assert (tmp_path / "tickets.csv").read_bytes() == (data / "tickets.csv").read_bytes()
