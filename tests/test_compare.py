"""`simharness compare`: every cell of its table is the run's own metric, under the right
header. (That the README's table is what the command prints is checked with the shipped
scenarios, in test_shipped_scenarios.py.)"""

from __future__ import annotations

import math

import pytest
import yaml
from conftest import make_scenario

import simharness as sh
import simharness.compare as compare_module
from simharness.cli import main

SCENARIO = make_scenario(duration="2m", agent={"workers": 4, "ticket_timeout": "30s"},
                         expect={"tickets.failed": "== 0"},
                         faults=[{"name": "down", "kind": "outage", "target": "llm",
                                  "at": "30s", "duration": "30s"}])


def flaky(payload, ctx):
    """Raises on every third ticket, answers garbage on every fifth, and outlives the
    ticket timeout on every seventh: unhandled errors and failed tickets differ."""
    number = int(payload["id"].removeprefix("T"))
    if number % 3 == 0:
        raise RuntimeError("boom")
    if number % 5 == 0:
        return 42
    if number % 7 == 0:
        ctx.sleep(60)
    return "billing"


def steady(payload):
    return "billing"


AGENTS = [f"{__name__}:flaky", f"{__name__}:steady"]


@pytest.fixture
def captured(monkeypatch) -> list[sh.Result]:
    """The Result of every run compare makes, in order."""
    results: list[sh.Result] = []

    def run(*args, **kwargs):
        results.append(sh.run(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(compare_module, "run", run)
    return results


def parse_markdown(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "")) == {"-"}
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True))
            for line in lines[2:]]


def expected_cells(result: sh.Result) -> dict[str, str]:
    """The table's columns, restated from the metric each header names."""
    m = result.metrics

    def fixed(value: float | None, digits: int) -> str:
        return "–" if value is None or math.isnan(value) else f"{value:.{digits}f}"

    return {
        "tickets": str(m["tickets"]["total"]),
        "accuracy": fixed(m["routing"]["accuracy"], 3),
        "accuracy in faults": fixed(m["routing"].get("accuracy@faults"), 3),
        "unhandled errors": str(m["tickets"]["error"]),
        "failed tickets": str(m["tickets"]["failed"]),
        "cost/ticket (USD)": fixed(m["cost"]["per_ticket_usd"], 5),
        "p95 latency (s)": fixed(m["latency"]["p95"], 2),
        "SLOs": "pass" if all(s.passed for s in result.slos) else "FAIL",
    }


def test_compare_markdown_cells_are_each_runs_own_metrics(tmp_path, captured, capsys):
    path = tmp_path / "flaky.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    code = main(["compare", str(path), "--markdown", *(f"--agent={a}" for a in AGENTS)])
    assert code == 0
    rows = parse_markdown(capsys.readouterr().out)
    assert [(r["scenario"], r["agent"]) for r in rows] == [("test", "flaky"), ("test", "steady")]
    assert len(captured) == 2
    for row, result in zip(rows, captured, strict=True):
        assert {k: row[k] for k in expected_cells(result)} == expected_cells(result)
    flaky_metrics = captured[0].metrics["tickets"]
    assert 0 < flaky_metrics["error"] < flaky_metrics["failed"]
    assert flaky_metrics["timeout"] > 0 and flaky_metrics["invalid_output"] > 0
    assert (rows[0]["SLOs"], rows[1]["SLOs"]) == ("FAIL", "pass")
    assert rows[1]["accuracy"] != "–" and rows[0]["accuracy in faults"] != "–"
