"""No run hangs silently: hung tickets say why and where, a run whose agent keeps hanging
stops early, and exceptions of any kind from agent code are per-ticket failures."""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import os
import re
import signal
import socket
import sys
import textwrap
import threading
from typing import Any

import pytest
from conftest import make_scenario

import simharness as sh
from simharness.cli import main


def _scenario(duration: str = "10s", **agent: Any) -> dict[str, Any]:
    settings = {"watchdog": 0.3, "ticket_timeout": "60s", **agent}
    return make_scenario(duration=duration, agent=settings)


def _first(result: sh.Result) -> Any:
    return result.records[0]


def test_agent_blocked_on_a_real_lock_is_hung_with_why_and_where():
    held = threading.Lock()
    held.acquire()  # a real lock from before the run: nothing in the run releases it

    def agent(payload, ctx):
        held.acquire()
        return "billing"

    result = sh.run(_scenario(), agent=agent)
    record = _first(result)
    assert record.status == "hung"
    assert "blocked for more than 0.3 s" in record.error
    assert "waiting on a lock" in record.error
    assert "test_hangs.py" in record.error and "held.acquire()" in record.error
    assert any("harness:   at" in line and "held.acquire()" in line for line in record.log)
    hang = result.diagnostics["hangs"][0]
    assert hang["ticket_id"] == record.ticket_id and hang["stack"]


def test_busy_agent_is_hung_as_a_busy_loop():
    def agent(payload, ctx):
        while True:
            pass

    record = _first(sh.run(_scenario(max_consecutive_hangs=1), agent=agent))
    assert record.status == "hung"
    assert "kept running" in record.error and "busy loop" in record.error


def test_reading_stdin_is_hung_with_a_clear_reason(monkeypatch):
    read_end, write_end = os.pipe()  # nothing is ever written
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_end))

    def agent(payload, ctx):
        return input()

    try:
        record = _first(sh.run(_scenario(max_consecutive_hangs=1), agent=agent))
    finally:
        os.close(write_end)
    assert record.status == "hung"
    assert "reading standard input" in record.error


def test_waiting_on_a_real_socket_is_hung_with_a_clear_reason():
    def agent(payload, ctx):
        mine, _theirs = socket.socketpair()  # the other end never sends
        with mine, _theirs:
            return mine.recv(16)

    record = _first(sh.run(_scenario(max_consecutive_hangs=1), agent=agent))
    assert record.status == "hung"
    assert "waiting on a real network socket" in record.error


def test_waiting_on_an_event_nothing_sets_ends_at_the_ticket_timeout_with_where():
    def agent(payload, ctx):
        threading.Event().wait()
        return "billing"

    result = sh.run(_scenario("5s"), agent=agent)
    record = _first(result)
    assert record.status == "timeout"
    assert "ticket_timeout (60 s simulated) while waiting at" in record.error
    assert "threading.Event().wait()" in record.error


def test_run_stops_early_when_the_agent_keeps_hanging():
    held = threading.Lock()
    held.acquire()

    def agent(payload, ctx):
        held.acquire()

    result = sh.run(_scenario("10m"), agent=agent)
    statuses = [r.status for r in result.records]
    assert statuses.count("hung") == 3  # the default: three in a row
    assert len(result.records) < 20  # a 10-minute run at 1/s would have ~600 tickets
    assert "3 tickets in a row hung" in result.stopped_early
    assert not result.passed
    assert len(result.diagnostics["hangs"]) == 3


def test_run_stops_early_when_a_share_of_tickets_hang():
    held = threading.Lock()
    held.acquire()
    calls = [0]

    def agent(payload, ctx):
        calls[0] += 1
        if calls[0] % 2:
            held.acquire()
        return "billing"

    result = sh.run(_scenario("10m", max_consecutive_hangs=0, max_hang_share=0.4),
                    agent=agent)
    assert re.search(r"the agent keeps hanging: \d+ of 1\d ticket events hung",
                     result.stopped_early or "")
    assert 10 <= len(result.records) < 20


def test_cli_exits_2_and_names_the_hung_tickets(tmp_path, monkeypatch, capsys):
    (tmp_path / "hanging_agent.py").write_text(textwrap.dedent("""
        import threading
        HELD = threading.Lock()
        HELD.acquire()

        def handle(payload, ctx):
            HELD.acquire()
    """))
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""
        name: hangs
        seed: 1
        duration: 10m
        agent: {ref: "hanging_agent:handle", watchdog: 0.3}
        traffic:
          - synthetic: {rate: 1/s, routes: [billing, technical]}
    """))
    monkeypatch.chdir(tmp_path)
    code = main(["run", "s.yaml", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "the agent keeps hanging: 3 tickets in a row hung" in err
    assert "ticket T000000 at" in err and "waiting on a lock" in err
    assert "hanging_agent.py:7 in handle: HELD.acquire()" in err
    assert (tmp_path / "out" / "records.jsonl").exists()


class Abort(BaseException):
    """A BaseException of the agent's own, like the ones some frameworks use."""


@pytest.mark.parametrize(("exc", "name"), [
    (asyncio.CancelledError(), "CancelledError"),
    (Abort("stop"), "Abort: stop"),
    (GeneratorExit(), "GeneratorExit"),
    (KeyboardInterrupt(), "KeyboardInterrupt"),  # raised by the agent, not by Ctrl-C
    (SystemExit(3), "SystemExit: 3"),
])
def test_sync_agent_base_exceptions_are_ticket_errors(exc, name):
    def agent(payload, ctx):
        raise exc

    result = sh.run(_scenario("3s"), agent=agent)
    assert {r.status for r in result.records} == {"error"}
    assert all(r.error == name for r in result.records)


def test_async_agent_cancelled_at_once_is_an_error_not_a_timeout():
    async def agent(payload, ctx):
        raise asyncio.CancelledError()

    result = sh.run(_scenario("3s"), agent=agent)
    assert {(r.status, r.error) for r in result.records} == {("error", "CancelledError")}


def test_a_real_ctrl_c_still_stops_the_run():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach only the main thread")

    def agent(payload, ctx):
        os.kill(os.getpid(), signal.SIGINT)
        return "billing"

    with pytest.raises(KeyboardInterrupt) as stopped:
        sh.run(_scenario("30s"), agent=agent)
    # The run stopped at the first ticket and kept what had finished (nothing yet).
    result = stopped.value.result
    assert not result.complete and not result.records
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_stalled_simulation_stops_the_run_with_where():
    class NeverExecutor(cf.Executor):
        """An executor whose work never finishes (no simulated thread can end it)."""

        def submit(self, fn, /, *args, **kwargs):
            return cf.Future()

    async def agent(payload, ctx):
        await asyncio.get_running_loop().run_in_executor(NeverExecutor(), print)
        return "billing"

    result = sh.run(_scenario("10s", stall_timeout=0.5), agent=agent)
    assert result.stopped_early and "no progress for more than 0.5 s" in result.stopped_early
    assert not result.passed
