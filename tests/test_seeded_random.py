"""The global `random` during a run: seeded from the run, whichever way agent code reaches it."""

from __future__ import annotations

import random
import threading
import time
from random import random as captured_random  # bound at import, as the openai SDK does

from conftest import make_scenario

import simharness as sh


def _jittered(payload: dict, ctx: sh.AgentContext) -> str:
    time.sleep(captured_random())  # a simulated wait of random length
    time.sleep(random.uniform(0, 1))
    return "billing"


def _finish_times(seed: int) -> list[float | None]:
    result = sh.run(make_scenario(duration="1m"), agent=_jittered, seed=seed)
    return [record.finished_at for record in result.records]


def test_random_captured_before_the_run_draws_from_the_run_seed():
    assert _finish_times(5) == _finish_times(5)
    assert _finish_times(5) != _finish_times(6)


def test_the_global_sequence_outside_a_run_is_left_as_it_was():
    random.seed(123)
    expected = [random.random() for _ in range(3)]
    random.seed(123)
    _finish_times(5)
    assert [random.random() for _ in range(3)] == expected


def test_other_threads_do_not_shift_the_run_sequence():
    stop = threading.Event()

    def noisy() -> None:
        while not stop.is_set():
            random.random()

    first = _finish_times(5)
    thread = threading.Thread(target=noisy, daemon=True)
    thread.start()
    try:
        assert _finish_times(5) == first
    finally:
        stop.set()
        thread.join()
