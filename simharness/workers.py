"""The agent's workers: how many tickets it handles at once; the rest queue."""

from __future__ import annotations

from collections import deque

import simpy


class Workers:
    """c identical workers with a FIFO queue, as `simpy.Resource` models them.

    Written out so that a ticket that finds a worker free takes it without a SimPy event:
    at tens of thousands of tickets per second, that event is a large share of the cost.
    """

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.capacity = capacity
        self.free = capacity
        self.waiting: deque[simpy.Event] = deque()

    def try_acquire(self) -> bool:
        if self.free and not self.waiting:
            self.free -= 1
            return True
        return False

    def acquire(self) -> simpy.Event | None:
        """None when a worker was free; else an event that fires when one is handed over."""
        if self.try_acquire():
            return None
        grant = self.env.event()
        self.waiting.append(grant)
        return grant

    def release(self) -> None:
        if self.waiting:
            self.waiting.popleft().succeed()
        else:
            self.free += 1
