"""Ctrl-C keeps what finished: the finished tickets' records are written, the run is marked
incomplete in its results and in the history, and `simharness run` exits 130 saying where
the partial run is. Checked by sending SIGINT to a real `simharness run` process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import simharness as sh
from simharness.api import RunInterrupted
from simharness.history import History
from simharness.records import STATUSES

#: Long enough (a simulated day at 5 tickets/s) that SIGINT always lands mid-run.
LONG = """\
name: long
seed: 4
duration: 1d
agent:
  ref: {ref}
  workers: 4
traffic:
  - synthetic:
      rate: 5/s
"""

#: Agents that route everything to billing, and leave a mark once some tickets are done.
AGENTS = """\
import asyncio
import os
import pathlib

MARK = pathlib.Path(os.environ["INTERRUPT_TEST_MARK"])
handled = 0


def _count():
    global handled
    handled += 1
    if handled == 300:
        MARK.write_text("running")


def route(payload):
    _count()
    return "billing"


async def aroute(payload):
    await asyncio.sleep(0.01)
    _count()
    return "billing"
"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("attr", ["route", "aroute"])
def test_sigint_to_simharness_run_keeps_the_finished_tickets(tmp_path, attr):
    (tmp_path / "interrupt_agents.py").write_text(AGENTS)
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG.format(ref=f"interrupt_agents:{attr}"))
    mark, db, out = tmp_path / "mark", tmp_path / "runs.db", tmp_path / "partial"
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path),
           "INTERRUPT_TEST_MARK": str(mark), "SIMHARNESS_HISTORY": str(db)}
    script = Path(sys.executable).parent / "simharness"
    proc = subprocess.Popen([str(script), "run", str(scenario), "--quiet", "--out", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not mark.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, (stdout, stderr)
    assert stdout == ""
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("interrupted:")] or [stderr]
    assert line.startswith("interrupted: partial run ("), stderr
    assert f"written to {out}; run #1 in the history, marked incomplete" in line

    results = json.loads((out / "results.json").read_text())
    rows = [json.loads(r) for r in (out / "records.jsonl").read_text().splitlines()]
    assert results["complete"] is False and results["passed"] is False
    # every ticket before the 300th had finished when the mark was left (the 300th itself
    # may still have been in flight when SIGINT arrived)
    assert 299 <= len(rows) == results["metrics"]["tickets"]["total"]
    assert f"({len(rows)} finished tickets" in line
    assert all(r["finished_at"] is not None and r["status"] in STATUSES for r in rows)
    assert {r["status"] for r in rows} == {"ok"}  # nothing in flight was recorded as failed
    assert max(r["arrived_at"] for r in rows) < 86400 / 2  # it really stopped early
    assert results["diagnostics"]["simulated_seconds"] < 86400 / 2

    (entry,) = History(db).runs()
    assert entry.complete is False and entry.tickets == len(rows)
    listing = subprocess.run([str(script), "history"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert "incomplete" in listing.stdout
    from simharness.report.store import load_run

    assert load_run(out).complete is False  # `simharness report` draws it as partial


def test_ctrl_c_inside_agent_code_raises_run_interrupted_with_the_partial_result():
    handled = []

    def agent(payload):
        handled.append(payload["id"])
        if len(handled) == 50:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does, in the agent's frame
        return "billing"

    scenario = {"name": "ctrl-c", "seed": 1, "duration": "1h", "agent": {"workers": 2},
                "traffic": [{"synthetic": {"rate": "2/s"}}]}
    real_monotonic = time.monotonic
    with pytest.raises(RunInterrupted) as caught:
        sh.run(scenario, agent=agent)
    result = caught.value.result
    assert isinstance(caught.value, KeyboardInterrupt)  # a script stops as usual
    assert result.complete is False and result.passed is False
    # the ticket being handled when Ctrl-C came did not finish, so it is not recorded
    assert [r.ticket_id for r in result.records] == handled[:49]
    assert result.to_json()["complete"] is False
    assert time.monotonic is real_monotonic  # the simulated clock was put back
    assert "(interrupted: partial run)" in result.summary()
