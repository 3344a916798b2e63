"""Public labelled data sets replay with a column mapping and a label map only.

The data lives outside the repo, in `../shared/data` (see its README): these tests skip
when it is absent. The mappings here are the ones the README documents.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import SHARED_DATA, make_scenario

import simharness as sh

pytestmark = pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                reason=f"public data sets not found at {SHARED_DATA}")


def _llm_route(payload: dict[str, Any], ctx: Any) -> str:
    reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", timeout=30, json={
        "model": "small",
        "messages": [{"role": "user", "content": payload["messages"][0]["text"]}]})
    route: str = json.loads(reply.json()["choices"][0]["message"]["content"])["route"]
    return route


def _write_agent(directory: Path) -> None:
    (directory / "public_data_agent.py").write_text(
        "import json\n\n"
        "def route(payload, ctx):\n"
        "    text = payload['messages'][0]['text']\n"
        "    reply = ctx.http.post(ctx.base_urls['llm'] + '/v1/chat/completions', timeout=30,\n"
        "                          json={'model': 'small', 'messages': [\n"
        "                              {'role': 'user', 'content': text}]})\n"
        "    return json.loads(reply.json()['choices'][0]['message']['content'])['route']\n")


@pytest.mark.timeout(300)
def test_banking77_test_split_replays_in_one_command_with_sklearn_per_route_accuracy(
        tmp_path, capsys, monkeypatch):
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support, recall_score

    from simharness.cli import main

    _write_agent(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "banking77.yaml").write_text(
        "name: banking77\nduration: 10m\nagent: {ref: 'public_data_agent:route', workers: 32}\n"
        "traffic:\n  - replay:\n"
        f"      path: {SHARED_DATA / 'banking77' / 'test.csv'}\n"
        "      columns: {text: text, route: category}\n      timing: {rate: 20/s}\n")
    code = main(["run", str(tmp_path / "banking77.yaml"), "--quiet", "--out",
                 str(tmp_path / "out")])
    assert code == 0, capsys.readouterr()
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    records = [json.loads(line) for line in
               (tmp_path / "out" / "records.jsonl").read_text().splitlines()]
    assert len(records) == 3080 == results["diagnostics"]["replay"][0]["sent"]
    assert results["diagnostics"]["replay"][0]["unreadable"] == 0
    truth = [r["true_route"][0] for r in records]
    pred = [r["pred_route"][0] if len(r["pred_route"]) == 1 else "<other>" for r in records]
    labels = sorted(set(truth))
    assert len(labels) == 77 and Counter(truth) == Counter({label: 40 for label in labels})
    routing = results["metrics"]["routing"]
    assert routing["accuracy"] == pytest.approx(accuracy_score(truth, pred), abs=1e-12)
    recall = recall_score(truth, pred, labels=labels, average=None, zero_division=0)
    precision, recall_again, f1, support = precision_recall_fscore_support(
        truth, pred, labels=labels, zero_division=0)
    for k, label in enumerate(labels):
        assert routing["by_route"][label] == pytest.approx(recall[k], abs=1e-12)
        assert routing["per_route"][label]["precision"] == pytest.approx(precision[k], abs=1e-12)
        assert routing["per_route"][label]["recall"] == pytest.approx(recall_again[k],
                                                                      abs=1e-12)
        assert routing["per_route"][label]["f1"] == pytest.approx(f1[k], abs=1e-12)
        assert routing["per_route"][label]["support"] == support[k] == 40
    assert 0.75 < routing["accuracy"] < 0.95  # the small tier's default accuracy is 0.86
    print(f"banking77: {len(records)} rows in {results['run']['wall_seconds']:.1f} s wall",
          file=sys.stderr)


def test_clinc150_replays_with_an_intent_to_domain_label_map(tmp_path):
    data = SHARED_DATA / "clinc150"
    domains = json.loads((data / "domains.json").read_text())
    scenario = make_scenario(duration="30m", agent={"workers": 64}, traffic=[{"replay": {
        "path": str(data / "data_full.json"), "records": ["test", "oos_test"],
        "columns": {"text": "0", "route": "1"},
        "label_map": [str(data / "domains.json"), {"oos": "human_review"}],
        "timing": {"rate": "10/s"}}}])
    result = sh.run(scenario, agent=lambda payload: "human_review")
    truth = Counter(r.true_route[0] for r in result.records)
    document = json.loads((data / "data_full.json").read_text())
    intent_domain = {intent: domain for domain, intents in domains.items() for intent in intents}
    expected = Counter(intent_domain[intent] for _, intent in document["test"])
    expected["human_review"] = len(document["oos_test"])
    assert truth == expected
    assert set(truth) == {*domains, "human_review"} and len(domains) == 10
    assert result.metrics["routing"]["by_route"]["human_review"] == 1.0
    assert result.metrics["routing"]["accuracy"] == pytest.approx(1000 / 5500)


def test_hint3_out_of_scope_rows_go_to_the_human_review_route(tmp_path):
    test_dir = SHARED_DATA / "hint3" / "test"
    for bot in ("curekart", "powerplay11", "sofmattress"):
        path = test_dir / f"{bot}_test.csv"
        with path.open(encoding="utf-8") as fh:
            labels = [row["label"] for row in csv.DictReader(fh)]
        scenario = make_scenario(duration="1h", traffic=[{"replay": {
            "path": str(path), "columns": {"text": "sentence", "route": "label"},
            "label_map": {"NO_NODES_DETECTED": "human_review"}, "timing": {"every": "1s"}}}])
        result = sh.run(scenario, agent=_llm_route)
        truth = Counter(r.true_route[0] for r in result.records)
        replay = result.diagnostics["replay"][0]
        assert replay["sent"] + replay["unreadable"] == len(labels)
        assert truth["human_review"] == labels.count("NO_NODES_DETECTED")
        assert "NO_NODES_DETECTED" not in truth
        routing = result.metrics["routing"]
        assert routing["review_rate"] > 0  # the model sends some to a person
        assert 0.6 < routing["by_route"]["human_review"] < 1.0


def test_nlupp_multi_label_rows_are_multi_issue_tickets():
    path = SHARED_DATA / "nlupp" / "banking" / "fold0.json"
    rows = json.loads(path.read_text())
    scenario = make_scenario(duration="1h", traffic=[{"replay": {
        "path": str(path), "columns": {"text": "text", "route": "intents"},
        "where": {"intents": {"not": ""}}, "timing": {"every": "1s"}}}])
    result = sh.run(scenario, agent=_llm_route)
    labelled = [r for r in rows if r.get("intents")]
    assert len(result.records) == len(labelled)
    assert result.diagnostics["replay"][0]["filtered"] == len(rows) - len(labelled)
    multi = [r for r in result.records if "multi_issue" in r.tags]
    assert len(multi) == sum(len(r["intents"]) > 1 for r in labelled)
    assert all(len(r.true_route) > 1 for r in multi)
    assert 0 < result.metrics["routing"]["by_tag"]["multi_issue"] < \
        result.metrics["routing"]["accuracy"] + 0.2


def test_cfpb_complaints_replay_at_their_original_timing_in_order():
    path = SHARED_DATA / "cfpb_complaints_sample" / "complaints_sample.csv"
    day = 86400
    scenario = make_scenario(duration="40m", agent={"workers": 64}, traffic=[{"replay": {
        "path": str(path), "timing": "original", "speedup": day,
        "timestamp_format": "%Y/%m/%d",
        "columns": {"text": "{Product}: {Issue}. {Consumer complaint narrative}",
                    "subject": "Issue", "route": "Product", "timestamp": "Date received",
                    "channel": "Submitted via", "customer": "Complaint ID"}}}])
    result = sh.run(scenario, agent=lambda payload: "Debt collection")
    with path.open(encoding="utf-8") as fh:
        dates = sorted(datetime.strptime(row["Date received"], "%Y/%m/%d")
                       for row in csv.DictReader(fh))
    arrivals = sorted(r.arrived_at for r in result.records)
    assert len(arrivals) == len(dates) == 6623
    expected = [(d - dates[0]).total_seconds() / day for d in dates]
    assert arrivals == pytest.approx(expected, abs=1e-6)
    by_arrival = sorted(result.records, key=lambda r: (r.arrived_at, r.ticket_id))
    assert [r.ticket_id for r in by_arrival] == sorted(r.ticket_id for r in by_arrival)
    replay = result.diagnostics["replay"][0]
    assert replay["in_time_order"] is False  # the file is not sorted: the replay sorts it
    assert replay["first_timestamp"].startswith("2015-04-06")
    assert len({r.true_route[0] for r in result.records}) == 13


def test_bitext_customer_service_replays_by_intent_and_by_category():
    path = SHARED_DATA / "bitext_customer_service" / \
        "Bitext_Sample_Customer_Service_Testing_Dataset.csv"
    for column, count in (("intent", 27), ("category", 11)):
        scenario = make_scenario(duration="1h", traffic=[{"replay": {
            "path": str(path), "columns": {"text": "utterance", "route": column},
            "timing": {"every": "1s"}}}])
        result = sh.run(scenario, agent=lambda payload: "none")
        assert len(result.records) == 810
        assert len({r.true_route[0] for r in result.records}) == count
