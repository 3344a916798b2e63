"""An agent answering in prose, or with huge labels, costs a wrong answer per ticket, not
gigabytes: labels that are not routes share one `<other>` column, and oversize labels,
route lists and action lists are invalid output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import make_scenario

import simharness as sh
from simharness.agents.decision import MAX_LABEL_CHARS, MAX_ROUTES, InvalidOutput, normalize
from simharness.cli import main
from simharness.metrics import compute
from simharness.records import TicketRecord
from simharness.report.html import write_report

ROUTES = ["billing", "technical", "account"]


def sentence_agent(payload: Any) -> str:
    return f"I think ticket {payload['id']} is about billing, but I am not sure."


def record(i: int, true: str, pred: list[str]) -> TicketRecord:
    return TicketRecord(ticket_id=f"T{i}", conversation_id=f"c{i}", arrived_at=float(i),
                        started_at=float(i), finished_at=i + 1.0, status="ok",
                        true_route=[true], pred_route=pred)


def test_labels_that_are_not_routes_share_one_other_column():
    records = [record(0, "billing", ["billing"]), record(1, "billing", ["I think billing"]),
               record(2, "technical", ["hmm"]), record(3, "account", ["human_review"]),
               record(4, "account", ["billing", "nonsense"])]
    m = compute(records, sim_seconds=10.0)
    routing = m["routing"]
    assert set(routing["per_route"]) == {"billing", "technical", "account", "human_review"}
    labels = routing["confusion"]["labels"]
    assert labels == ["account", "billing", "human_review", "technical", "<other>", "<none>",
                      "<multi>"]
    matrix = routing["confusion"]["matrix"]
    other = labels.index("<other>")
    assert matrix[labels.index("billing")][other] == 1
    assert matrix[labels.index("technical")][other] == 1
    assert matrix[labels.index("account")][labels.index("<multi>")] == 1
    assert routing["accuracy"] == pytest.approx(0.2)
    # billing was predicted right once and wrongly once (with a non-route beside it)
    assert routing["per_route"]["billing"]["precision"] == pytest.approx(0.5)


def test_configured_routes_keep_their_order_and_unknown_ones_stay_out():
    records = [record(0, "billing", ["shipping"])]
    m = compute(records, sim_seconds=1.0)
    assert "shipping" not in m["routing"]["per_route"]


def test_a_free_text_agent_run_stays_small(tmp_path: Path):
    """The reported case at 1/6 scale: 1,200 distinct sentences. Before, the confusion
    matrix alone had 1,200 x 1,200 cells and results.json was 20 MB."""
    result = sh.run(make_scenario(duration="10m", traffic=[{"synthetic": {
        "rate": "2/s", "routes": ROUTES}}], expect={"routing.accuracy": ">= 0.5"}),
        agent=sentence_agent)
    n = len(result.records)
    unknown = result.diagnostics["unknown_labels"]
    assert unknown["tickets"] == n and unknown["distinct"] == n
    assert len(unknown["examples"]) == 10
    assert len(result.metrics["routing"]["confusion"]["labels"]) == len(ROUTES) + 3
    assert not result.passed
    out = result.save(tmp_path)
    assert (out / "results.json").stat().st_size < 20_000
    write_report(result, out)
    assert (out / "report.html").stat().st_size < 600_000


def test_oversize_label_and_route_lists_are_invalid_output():
    with pytest.raises(InvalidOutput, match="route label of 14,000,000 characters"):
        normalize("x" * 14_000_000)
    with pytest.raises(InvalidOutput, match="1,000,000 routes"):
        normalize(["billing"] * 1_000_000)
    with pytest.raises(InvalidOutput, match="actions"):
        normalize({"route": "billing", "actions": ["fallback"] * 1000})
    assert normalize("b" * MAX_LABEL_CHARS).routes == ["b" * MAX_LABEL_CHARS]
    assert len(normalize(["billing"] * MAX_ROUTES).routes) == MAX_ROUTES
    long_reason = normalize({"route": "billing", "reason": "r" * 100_000}).reason
    assert len(long_reason) < 2100 and "more characters cut" in long_reason


def test_huge_outputs_and_errors_reach_the_records_cut(tmp_path: Path):
    def huge(payload: Any) -> Any:
        kind = payload["id"][-1]
        if kind in "01":
            return "x" * 14_000_000
        if kind in "23":
            return ["billing"] * 1_000_000
        if kind in "45":
            raise ValueError("y" * 5_000_000)
        return "billing"

    result = sh.run(make_scenario(duration="20s", traffic=[{"synthetic": {
        "rate": "1/s", "routes": ROUTES}}]), agent=huge)
    statuses = {r.status for r in result.records}
    assert statuses == {"ok", "invalid_output", "error"}
    assert all(len(r.error or "") < 3000 for r in result.records)
    result.save(tmp_path)
    assert (tmp_path / "records.jsonl").stat().st_size < 200_000


def test_cli_lists_ten_examples_and_how_many_more(tmp_path: Path, capsys, monkeypatch):
    (tmp_path / "prose.py").write_text(
        "def route(payload):\n    return 'about ' + payload['id']\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: prose\nduration: 30s\nagent: {ref: prose:route}\n"
                        "traffic: [{synthetic: {rate: 1/s, routes: [billing]}}]\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    examples = [line for line in out.splitlines() if line.startswith("  'about ")]
    assert len(examples) == 10
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    distinct = results["diagnostics"]["unknown_labels"]["distinct"]
    assert f"... and {distinct - 10:,} more" in out
