"""`simharness calibrate`: fitting a tier to a log of model calls recovers the parameters
that generated the log.

The log comes from a harness run: the agent times each call and keeps the usage and the
predicted route; the truth and tags are joined from the run's records afterwards, as a
production log is labelled after the fact. Tolerances are about four standard errors of
each estimate at these sample sizes (stated next to each check), so a correct fit passes
and a biased one fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import make_scenario

import simharness as sh
from simharness.calibrate import accuracy_table, calibrate, fit_latency, read_log


def _logging_agent(calls: list[dict[str, Any]]) -> Any:
    def agent(payload: dict[str, Any], ctx: Any) -> str:
        started = ctx.now
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", timeout=60, json={
            "model": "small",
            "messages": [{"role": "user", "content": payload["messages"][0]["text"]}]})
        body = reply.json()
        content = body["choices"][0]["message"]["content"]
        route = json.loads(content)["route"] if content.startswith("{") else content
        calls.append({"ticket": payload["id"], "latency": ctx.now - started,
                      "usage": body["usage"], "predicted": route})
        return str(route)
    return agent


def harness_log(tmp_path: Path, tier: dict[str, Any], traffic: dict[str, Any],
                duration: str, response_format: str = "json") -> Path:
    """Run a scenario and write its model calls as a JSONL log with truth and tags."""
    calls: list[dict[str, Any]] = []
    scenario = make_scenario(duration=duration, agent={"workers": 64},
                             traffic=[{"synthetic": traffic}],
                             world={"llm": {"tiers": {"small": tier},
                                            "response_format": response_format}})
    result = sh.run(scenario, agent=_logging_agent(calls))
    truth = {r.ticket_id: r for r in result.records}
    path = tmp_path / "calls.jsonl"
    with path.open("w") as fh:
        for call in calls:
            record = truth[call["ticket"]]
            fh.write(json.dumps({**call, "true_route": record.true_route,
                                 "tags": record.tags}) + "\n")
        fh.write("{broken line\n")
    return path


def test_calibrate_recovers_latency_and_accuracy_from_a_harness_log(tmp_path, capsys):
    from simharness.cli import main

    tier = {"latency": {"dist": "lognormal", "median": "0.4s", "p95": "1.2s"},
            "accuracy": {"default": 0.8, "ambiguous": 0.55, "by_route": {"refund": 0.5}},
            "confusion": {"refund": {"billing": 0.7, "cancellation": 0.3}}}
    log = harness_log(tmp_path, tier, {"rate": "8/s", "mix": {"ambiguous": 0.3}}, "10m")
    code = main(["calibrate", str(log), "--tier", "small",
                 "--field", "pred_route=predicted"])
    out = capsys.readouterr().out
    assert code == 0
    block = yaml.safe_load(out)["world"]["llm"]["tiers"]["small"]
    n = sum(1 for _ in log.open()) - 1
    assert f"calibrated from {log}: {n:,} calls" in out
    assert f"1 unreadable lines skipped (first: {n + 1})" in out
    # lognormal kept; log-scale SE of the median 0.668/sqrt(n) ~ 1.2 % -> 6 %; p95 ~ 1.9 % -> 9 %
    assert block["latency"]["dist"] == "lognormal"
    median = float(block["latency"]["median"].rstrip("s"))
    p95 = float(block["latency"]["p95"].rstrip("s"))
    assert median == pytest.approx(0.4, rel=0.06)
    assert p95 == pytest.approx(1.2, rel=0.09)
    assert "per_output_token" not in block  # generated with none
    # accuracy per route on plain calls: SE ~ 1.8 % on ~560 billing calls, 2.1 % on refund;
    # the ambiguous tag (~1,400 calls, SE ~ 1.3 %) is capped by refund's 0.5 on a sixth
    by_route = block["accuracy"]["by_route"]
    assert by_route["billing"] == pytest.approx(0.8, abs=0.075)
    assert by_route["refund"] == pytest.approx(0.5, abs=0.085)
    assert block["accuracy"]["ambiguous"] == pytest.approx(0.55 - 0.05 / 6, abs=0.055)
    # the spread of refund's ~400 wrong answers: SE ~ 2.3 %
    assert set(block["confusion"]["refund"]) == {"billing", "cancellation"}
    assert block["confusion"]["refund"]["billing"] == pytest.approx(0.7, abs=0.09)
    # routes without a confusion spread evenly over the five others
    assert len(block["confusion"]["technical"]) == 5
    assert "fit p50" in out and "KS distance: lognormal" in out
    # the block is a valid tier: paste it into a scenario
    from simharness.scenario import scenario_from_dict

    world = yaml.safe_load(out)["world"]
    assert scenario_from_dict(make_scenario(world=world)).world.llm.tiers["small"]


def test_calibrate_recovers_a_per_token_latency(tmp_path):
    # labels of very different lengths spread the completion tokens, so the slope shows
    routes = ["a", "cancellation_of_the_enterprise_plan_and_refund_of_the_last_invoice"]
    tier = {"latency": {"dist": "exponential", "mean": "0.3s"}, "per_output_token": "0.05s",
            "accuracy": {"default": 0.9}}
    log = harness_log(tmp_path, tier, {"rate": "5/s", "routes": routes}, "4m", "label")
    result = calibrate(log, "small", {"pred_route": "predicted"})
    slope, se = result.slope
    # about 15 tokens between the two labels: SE ~ 0.3 / (7.5 sqrt(1200)) ~ 0.0012
    assert result.per_output_token == pytest.approx(0.05, abs=0.006)
    assert se < 0.004
    assert result.best.dist == "exponential"
    assert result.best.params["mean"] == pytest.approx(0.3, rel=0.12)  # SE ~ 2.9 %


def test_fits_and_accuracy_on_hand_built_data(tmp_path):
    rng = np.random.default_rng(3)
    fits = fit_latency(rng.uniform(0.2, 0.6, 5000))
    assert fits[0].dist == "uniform"
    assert fits[0].params == pytest.approx({"low": 0.2, "high": 0.6}, abs=0.002)
    assert fit_latency(np.full(10, 0.25))[0].params == {"value": 0.25}
    rows = [{"latency": 1, "true_route": "refund", "pred_route": p}
            for p in ["refund"] * 14 + ["billing"] * 7 + ["cancellation"] * 3]
    rows += [{"latency": 1, "true_route": ["a", "b"], "pred_route": ["b", "a"],
              "tags": ["multi_issue"]}]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = accuracy_table(read_log(path).calls)
    assert table["default"] == pytest.approx(14 / 24)
    assert table["by_route"] == {"refund": (pytest.approx(14 / 24), 24)}
    assert table["confusion"] == {"refund": {"billing": pytest.approx(0.7),
                                             "cancellation": pytest.approx(0.3)}}
    assert table["tags"] == {}  # one multi-issue call is too few to report


def test_calibrate_reports_a_log_it_cannot_use(tmp_path, capsys):
    from simharness.cli import main

    (tmp_path / "empty.jsonl").write_text("not json\n")
    assert main(["calibrate", str(tmp_path / "empty.jsonl"), "--tier", "x"]) == 2
    assert "no usable calls (first problem: line 1: invalid JSON" in capsys.readouterr().err
    (tmp_path / "nolatency.jsonl").write_text('{"took": 1}\n')
    assert main(["calibrate", str(tmp_path / "nolatency.jsonl"), "--tier", "x"]) == 2
    assert "no latency field" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path / "nolatency.jsonl"), "--tier", "x",
                 "--field", "latency=took", "--latency-unit", "ms"]) == 0
    assert "fixed" in capsys.readouterr().out
