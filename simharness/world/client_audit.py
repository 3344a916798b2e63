"""A verdict on the agent's HTTP client behaviour, from every exchange the harness saw.

A fault mock that answers one request can grade one call. Here every request an event
makes is noted (when it was sent and answered, what came back, which timeout the client
set), and at the end of the event its requests are grouped into *logical calls* — the
attempts of one request: same method, URL and body, until one succeeds — and graded:

- `retry_after_ignored`: retried before a `Retry-After` the server sent had elapsed;
- `retried_non_retryable`: retried a 400/401/403/404/422, which cannot succeed unchanged;
- `retry_storm`: more attempts of one logical call than `agent.retry_storm_attempts`;
- `no_backoff`: retried at once, or at a constant interval the server did not ask for;
- `gave_up`: a retryable failure (429, 5xx, refused, timed out, dropped) was never retried,
  nothing else was asked of that service, and the ticket went unanswered although it still
  had time (a fallback answer or an open circuit breaker is a decision, not giving up);
- `no_timeout`: a request with no client timeout, or one longer than the ticket deadline;
- `truncated_stream_accepted`: a stream that never finished was the last word of its call
  and the agent went on to answer the ticket.

Each finding is a line `kind: detail` on the ticket's record (`client`), so the metrics
(`client.*`), the report and the audit trail are computed from records like everything
else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

KINDS = ("retry_after_ignored", "retried_non_retryable", "retry_storm", "no_backoff",
         "gave_up", "no_timeout", "truncated_stream_accepted")

NON_RETRYABLE = frozenset({400, 401, 403, 404, 422})
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
#: A retry this soon after the failure it follows is "at once" (on simulated time a retry
#: with no wait at all starts at the very instant the failure arrived).
IMMEDIATE = 0.001
#: Retries whose gaps differ by less than this factor are "constant-interval".
CONSTANT = 1.1
#: Slack on Retry-After: a client rounding or measuring from the request start is fine.
RETRY_AFTER_SLACK = 0.05
DEFAULT_STORM_ATTEMPTS = 5


@dataclass(slots=True)
class Exchange:
    """One request and what came of it, in simulated seconds (status and failure both None
    while it is in flight)."""

    start: float
    end: float
    method: str
    url: str                  # host + path
    body: bytes
    status: int | None        # None when the transport failed
    failure: str | None       # "connect", "read_timeout", "reset", ...
    retry_after: float | None  # what the response asked for, in seconds
    read_timeout: float | None
    unfinished_stream: bool = False

    def complete(self, end: float, status: int, failure: str | None,
                 headers: Sequence[tuple[str, str]], epoch: float) -> None:
        """Fill in what came back at simulated time `end` (`epoch`: the run's start as a
        Unix time, to read a Retry-After given as a date)."""
        self.end = end
        self.failure = failure
        if failure is None:
            self.status = status
            if status >= 400:
                self.retry_after = retry_after_seconds(_HeaderPairs(headers), epoch + end)

    @property
    def failed(self) -> bool:
        return (self.failure is not None or self.unfinished_stream
                or (self.status is not None and self.status >= 400))

    @property
    def retryable(self) -> bool:
        return (self.failure is not None or self.unfinished_stream
                or self.status in RETRYABLE_STATUS)

    @property
    def what(self) -> str:
        if self.unfinished_stream:
            return "an unfinished stream"
        if self.failure is not None:
            return self.failure.replace("_", " ")
        return f"HTTP {self.status}"


class _HeaderPairs:
    """Case-insensitive `get` over (name, value) header pairs."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._pairs if k.lower() == name), None)


def retry_after_seconds(headers: Any, now_epoch: float | None = None) -> float | None:
    """The delay a response asks for: `retry-after-ms`, or `retry-after` (seconds or an
    HTTP date, resolved against `now_epoch`)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        if now_epoch is None:
            return None
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now_epoch
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def logical_calls(exchanges: Sequence[Exchange]) -> list[list[Exchange]]:
    """Group requests into the attempts of each logical call, in the order they started."""
    open_calls: dict[tuple[str, str, bytes], list[Exchange]] = {}
    calls: list[list[Exchange]] = []
    for exchange in sorted(exchanges, key=lambda e: e.start):
        key = (exchange.method, exchange.url, exchange.body)
        attempts = open_calls.get(key)
        if attempts is None or not attempts[-1].failed:
            attempts = open_calls[key] = []
            calls.append(attempts)
        attempts.append(exchange)
    return calls


def grade(exchanges: Sequence[Exchange], *, deadline: float, answered: bool,
          storm_attempts: int = DEFAULT_STORM_ATTEMPTS,
          ticket_timeout: float = math.inf) -> list[str]:
    """Findings (`kind: detail`) for one event's exchanges.

    `deadline` is the simulated time by which the ticket had to be answered; `answered`
    whether the agent returned a decision; `ticket_timeout` the budget a single request's
    timeout is compared with.
    """
    findings: list[str] = []
    unbounded = next((e for e in exchanges if e.read_timeout is None
                      or e.read_timeout > ticket_timeout), None)
    if unbounded is not None:
        limit = ("no timeout" if unbounded.read_timeout is None
                 else f"a {unbounded.read_timeout:g} s timeout")
        findings.append(f"no_timeout: {unbounded.method} {unbounded.url} with {limit} "
                        f"(ticket deadline {ticket_timeout:g} s)")
    if not any(e.failed or e.unfinished_stream for e in exchanges):
        return findings
    calls = logical_calls(exchanges)
    for index, attempts in enumerate(calls):
        findings += _grade_call(attempts, calls[index + 1:], deadline, answered,
                                storm_attempts)
    return findings


def _grade_call(attempts: list[Exchange], later: list[list[Exchange]], deadline: float,
                answered: bool, storm_attempts: int) -> list[str]:
    first, last = attempts[0], attempts[-1]
    where = f"{first.method} {first.url}"
    out: list[str] = []
    pairs = list(zip(attempts, attempts[1:], strict=False))
    for failed, _retry in pairs:
        if failed.status in NON_RETRYABLE:
            out.append(f"retried_non_retryable: {where} retried after {failed.what}")
            break
    for failed, retry in pairs:
        if (failed.retry_after is not None
                and retry.start < failed.end + failed.retry_after - RETRY_AFTER_SLACK):
            out.append(f"retry_after_ignored: {where} retried {retry.start - failed.end:.2f} s "
                       f"after {failed.what} with Retry-After {failed.retry_after:g} s")
            break
    if len(attempts) > storm_attempts:
        out.append(f"retry_storm: {where} tried {len(attempts)} times "
                   f"(more than {storm_attempts})")
    gaps = [retry.start - failed.end for failed, retry in pairs
            if failed.retry_after is None or retry.start < failed.end + failed.retry_after]
    # One short gap can be full jitter's luck; no wait at all, or two in a row, is not.
    immediate = gaps and max(gaps) < IMMEDIATE and (len(gaps) >= 2 or gaps[0] == 0)
    constant = len(gaps) >= 2 and min(gaps) > 0 and max(gaps) / min(gaps) < CONSTANT
    if immediate or constant:
        shown = ", ".join(f"{g:.2f}" for g in gaps)
        out.append(f"no_backoff: {where} retried after {shown} s")
    if (not answered and len(attempts) == 1 and last.failed and last.retryable
            and last.end + (last.retry_after or 1.0) < deadline
            and not any(a.url.split("/", 1)[0] == last.url.split("/", 1)[0]
                        for call in later for a in call)):
        out.append(f"gave_up: {where} failed with {last.what} and was not retried "
                   f"({deadline - last.end:.0f} s before the ticket's deadline)")
    if last.unfinished_stream and answered:
        out.append(f"truncated_stream_accepted: {where} stream ended without finishing "
                   "and the agent answered anyway")
    return out
