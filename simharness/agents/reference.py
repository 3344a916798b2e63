"""Two reference support-ticket routers to copy from: one that breaks, one that does not.

Both are ordinary sync agents: ``handle(payload, ctx)`` receives the webhook payload of one
message event and returns a :class:`~simharness.agents.decision.Decision`. They talk to the
world only through ``ctx.http`` (an ``httpx.Client``) at ``ctx.base_urls["llm"]`` (an
OpenAI-compatible API under ``/v1``) and ``ctx.base_urls["crm"]``.

``NaiveRouter`` is the demo that breaks. It is what a first prototype usually looks like:
one call to the large model per event, no timeout of its own, no retry, no memory of the
conversation, no escalation, and it trusts the model's output. Every outage, rate limit,
slow response or truncated answer becomes an exception; a follow-up such as "Actually,
forget my first question..." is routed without the question it refers to; and high-value
customers are never escalated.

``ResilientRouter`` shows the same job done defensively, one well-known technique at a time:

* an explicit ``httpx.Timeout`` on every request;
* tenacity retries with jittered exponential backoff on transport errors, 429 and 5xx,
  waiting at least as long as a ``Retry-After`` header asks;
* one pybreaker circuit breaker per model tier, so an outage stops costing a timeout per
  ticket (each attempt counts once; a 4xx other than 429 is our fault and does not count);
* cheap model first: the ``small`` tier answers, the ``large`` tier is asked only when the
  small one is unsure or unusable, and a keyword router is the last resort;
* validation of the model output (JSON, a ``route`` key, labels that are real routes);
* a small TTL cache so a duplicate webhook delivery costs no tokens;
* conversation memory keyed by ``conversation_id`` so follow-ups are routed in context;
* escalation of high-value customers from a CRM lookup, escalating when in doubt;
* a ``ctx.log`` line for every retry, breaker and fallback decision (the audit trail);
* it never raises: any payload, however malformed, gets a Decision with a reason.

One ``ResilientRouter`` instance may serve many tickets at once (the harness interleaves
them at I/O points), so everything about the current ticket lives in local variables; the
instance only holds the caches, the breakers and the conversation store.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
import pybreaker
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from simharness.agents.context import AgentContext
from simharness.agents.decision import Decision

__all__ = ["DEFAULT_KEYWORDS", "DEFAULT_ROUTES", "NaiveRouter", "ResilientRouter"]

DEFAULT_ROUTES = ["billing", "technical", "account", "shipping", "refund", "cancellation"]

# Keywords for the last-resort router used when no model answer is usable. A keyword
# matches at the start of a word, so "cancel" also matches "cancelled" and "cancellation".
# Every route also matches its own label, so custom routes work without a list.
DEFAULT_KEYWORDS: dict[str, list[str]] = {
    "billing": ["bill", "invoice", "charge", "payment", "card", "price", "overcharg"],
    "technical": ["error", "bug", "crash", "broken", "not working", "install", "outage"],
    "account": ["password", "login", "log in", "sign in", "username", "profile", "locked out"],
    "shipping": ["ship", "deliver", "tracking", "package", "parcel", "courier"],
    "refund": ["refund", "money back", "reimburs"],
    "cancellation": ["cancel", "unsubscribe", "terminate", "close my account"],
}

SYSTEM_PROMPT = (
    "You route customer support conversations to a team. Teams: {routes}. "
    "Reply with only a JSON object, no prose: "
    '{{"route": "<team>", "confidence": <number between 0 and 1>}}. '
    "If the customer raises several separate issues, make route a list of teams. "
    "If the customer changes their mind, route by their latest request."
)


# ---------------------------------------------------------------------------------------
# NaiveRouter: the demo that breaks
# ---------------------------------------------------------------------------------------


class NaiveRouter:
    """One large-model call per event, trusting everything. Any failure raises."""

    def handle(self, payload: dict[str, Any], ctx: AgentContext) -> Decision:
        # Only this event's messages: a follow-up is classified without its context.
        text = "\n".join(message["text"] for message in payload["messages"])
        instructions = SYSTEM_PROMPT.format(routes=", ".join(DEFAULT_ROUTES))
        response = ctx.http.post(
            f"{ctx.base_urls['llm']}/v1/chat/completions",
            json={
                "model": "large",
                "messages": [
                    {"role": "system", "content": instructions},
                    {"role": "user", "content": text},
                ],
                "temperature": 0,
            },
        )
        response.raise_for_status()  # a 429 or 503 ends the ticket here
        content = response.json()["choices"][0]["message"]["content"]
        answer = json.loads(content)  # truncated output raises here
        # Whatever label the model invented is returned as is.
        return Decision(route=answer["route"], confidence=answer.get("confidence"))


# ---------------------------------------------------------------------------------------
# Helpers for ResilientRouter
# ---------------------------------------------------------------------------------------


def _actions(reason: str) -> list[str]:
    """Tell the harness which safety nets this answer used (it measures time to detect a
    fault by them): a keyword `fallback`, a `degraded` model answer, a `safe_default`."""
    actions = []
    if "keyword fallback" in reason:
        actions.append("fallback")
    elif "unusable" in reason.split("; escalated")[0] or "time budget" in reason:
        actions.append("degraded")
    if "escalated: CRM" in reason or "unknown customer value" in reason:
        actions.append("safe_default")
    return actions


def _normalise(text: str) -> str:
    """Lower-case and collapse whitespace: the form used for cache keys and duplicates."""
    return " ".join(text.split()).lower()


def _retry_after_seconds(exc: BaseException | None) -> float | None:
    """The delay a Retry-After header on a failed response asks for, in seconds, if any.

    The header is either a number of seconds or an HTTP date.
    """
    if not isinstance(exc, httpx.HTTPStatusError):
        return None
    value = exc.response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _describe(exc: BaseException) -> str:
    """A short description of a failure for the audit trail."""
    if isinstance(exc, httpx.HTTPStatusError):
        text = f"HTTP {exc.response.status_code}"
        retry_after = _retry_after_seconds(exc)
        if retry_after is not None:
            text += f" (Retry-After {retry_after:g}s)"
        return text
    if isinstance(exc, pybreaker.CircuitBreakerError):
        return f"circuit open ({exc})"
    return type(exc).__name__


def _is_client_error(exc: BaseException) -> bool:
    """A 4xx other than 429: our request is wrong, the service is fine."""
    if not isinstance(exc, httpx.HTTPStatusError):
        return False
    status = exc.response.status_code
    return 400 <= status < 500 and status != 429


class WaitRetryAfter(wait_base):
    """Wait the usual backoff, or longer if the server's Retry-After header asks for it."""

    def __init__(self, backoff: wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self.backoff(retry_state)
        outcome = retry_state.outcome
        if outcome is not None and outcome.failed:
            retry_after = _retry_after_seconds(outcome.exception())
            if retry_after is not None:
                delay = max(delay, retry_after)
        return delay


class TTLCache:
    """A small dict whose entries expire after `ttl` seconds, keeping at most `max_size`.

    Uses time.monotonic(), which the harness runs on simulated time. The least recently
    used entry is dropped when the cache is full.
    """

    def __init__(self, ttl: float, max_size: int) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires_at, value = item
        if time.monotonic() >= expires_at:
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_size:
            self._items.popitem(last=False)


@dataclass(slots=True)
class _Ticket:
    """What could be read from a payload, plus what was wrong with it."""

    conversation_id: str | None
    customer_id: str | None
    subject: str
    texts: list[str]
    problems: list[str]


def _read_payload(payload: Any) -> _Ticket:
    """Pick the fields the router needs out of a payload without trusting its shape."""
    if not isinstance(payload, Mapping):
        return _Ticket(None, None, "", [], [f"payload is {type(payload).__name__}, not an object"])
    problems: list[str] = []

    conversation_id = payload.get("conversation_id")
    if isinstance(conversation_id, (str, int)) and not isinstance(conversation_id, bool):
        conversation_id = str(conversation_id)
    else:
        problems.append("no usable conversation_id")
        conversation_id = None

    customer = payload.get("customer")
    customer_id = customer.get("id") if isinstance(customer, Mapping) else None
    if isinstance(customer_id, (str, int)) and not isinstance(customer_id, bool):
        customer_id = str(customer_id)
    else:
        problems.append("no usable customer id")
        customer_id = None

    subject = payload.get("subject")
    subject = subject if isinstance(subject, str) else ""

    texts: list[str] = []
    messages = payload.get("messages")
    if not isinstance(messages, list):
        problems.append(f"messages is {type(messages).__name__}, not a list")
    else:
        for message in messages:
            text = message.get("text") if isinstance(message, Mapping) else None
            if isinstance(text, str) and text.strip():
                texts.append(text)
            else:
                problems.append(f"skipped a message without text: {message!r:.60}")
        if not texts:
            problems.append("no message has any text")
    return _Ticket(conversation_id, customer_id, subject, texts, problems)


@dataclass(slots=True)
class _Answer:
    """A validated model answer."""

    routes: list[str]
    confidence: float
    reason: str


# ---------------------------------------------------------------------------------------
# ResilientRouter
# ---------------------------------------------------------------------------------------


class ResilientRouter:
    """A router that keeps routing through outages, rate limits, bad output and bad input.

    Per event: read the payload defensively, add its messages to the conversation, classify
    the whole conversation (cache, then small model, then large model, then keywords), then
    look the customer up in the CRM to decide on escalation.
    """

    CACHE_TTL = 600.0  # seconds a cached answer stays valid (10 minutes)
    CACHE_SIZE = 1024  # answers kept
    MAX_CONVERSATIONS = 1000  # conversations remembered (least recently active dropped)
    MAX_MESSAGES = 20  # messages remembered per conversation (oldest dropped)
    MAX_RETRY_AFTER = 30.0  # a longer Retry-After means give up now rather than wait
    CRM_MAX_RETRY_AFTER = 5.0
    MIN_CALL_TIME = 1.0  # with less time than this left, do not start a model call

    def __init__(
        self,
        routes: Sequence[str] = DEFAULT_ROUTES,
        escalation_threshold: float = 100_000,
        confidence_threshold: float = 0.75,
        llm_timeout: float = 10.0,
        crm_timeout: float = 2.0,
        max_attempts: int = 3,
        keywords: Mapping[str, Sequence[str]] | None = None,
        time_budget: float = 15.0,
    ) -> None:
        if not routes:
            raise ValueError("routes must name at least one route")
        self.routes = list(routes)
        self.escalation_threshold = escalation_threshold
        self.confidence_threshold = confidence_threshold
        self.llm_timeout = httpx.Timeout(llm_timeout)
        self.crm_timeout = httpx.Timeout(crm_timeout)
        self.max_attempts = max_attempts
        # Seconds of model calls one event may spend (timeouts, retries, backoff included),
        # so a slow provider cannot hold a ticket past the helpdesk's own deadline.
        self.time_budget = time_budget
        keywords = DEFAULT_KEYWORDS if keywords is None else keywords
        # Each route matches its own label plus its keywords, all lower case.
        self.keywords = {
            route: [route.lower(), *(k.lower() for k in keywords.get(route, []))]
            for route in self.routes
        }
        # Labels from the model are matched case-insensitively to the configured spelling.
        self._labels = {route.lower(): route for route in self.routes}

        # Shared across tickets: one breaker per model tier, the caches, the conversations.
        # A 4xx other than 429 is excluded: pybreaker then treats the call as a success.
        self.breakers = {
            tier: pybreaker.CircuitBreaker(
                fail_max=5, reset_timeout=30, exclude=[_is_client_error], name=f"llm-{tier}"
            )
            for tier in ("small", "large")
        }
        self._answers = TTLCache(self.CACHE_TTL, self.CACHE_SIZE)
        self._customers = TTLCache(self.CACHE_TTL, self.CACHE_SIZE)
        self._conversations: OrderedDict[str, list[str]] = OrderedDict()

    # -- entry point ---------------------------------------------------------------------

    def handle(self, payload: Any, ctx: AgentContext) -> Decision:
        try:
            return self._route(payload, ctx)
        except Exception as exc:
            # Last line of defence: a bug here must not lose the ticket. Send it to the
            # first route and to a human, and say why.
            ctx.log(f"unexpected error {exc!r}; default route {self.routes[0]!r}, escalated")
            return Decision(route=self.routes[0], escalate=True,
                            reason=f"internal error ({type(exc).__name__}); default route")

    def _route(self, payload: Any, ctx: AgentContext) -> Decision:
        ticket = _read_payload(payload)
        for problem in ticket.problems:
            ctx.log(f"payload: {problem}")

        conversation = self._remember(ticket.conversation_id, ticket.texts)
        if ticket.texts:
            routes, confidence, reason = self._classify(conversation, ticket.subject, ctx)
        else:
            # Nothing new to send to a model: route what we have (earlier messages of the
            # conversation, the subject) by keywords.
            route = self.keyword_route([*conversation, ticket.subject])
            ctx.log(f"no message text; keyword fallback -> {route}")
            routes, confidence = [route], None
            reason = f"malformed payload ({'; '.join(ticket.problems)}); keyword fallback"

        escalate, why = self._check_escalation(ticket.customer_id, ctx)
        if why:
            reason = f"{reason}; {why}"
        return Decision(route=routes[0] if len(routes) == 1 else routes, escalate=escalate,
                        confidence=confidence, reason=reason, actions=_actions(reason))

    # -- conversation memory -------------------------------------------------------------

    def _remember(self, conversation_id: str | None, texts: list[str]) -> list[str]:
        """Add new message texts to the conversation and return all of it, oldest first.

        A text already in the conversation (a duplicate delivery) is not added again.
        """
        if conversation_id is None:
            return list(texts)
        history = self._conversations.pop(conversation_id, [])
        seen = {_normalise(text) for text in history}
        for text in texts:
            if _normalise(text) not in seen:
                history.append(text)
                seen.add(_normalise(text))
        history = history[-self.MAX_MESSAGES:]
        self._conversations[conversation_id] = history  # now the most recently active
        while len(self._conversations) > self.MAX_CONVERSATIONS:
            self._conversations.popitem(last=False)
        return list(history)  # a copy: other tickets may change the stored list meanwhile

    # -- classification ------------------------------------------------------------------

    def _classify(self, conversation: list[str], subject: str,
                  ctx: AgentContext) -> tuple[list[str], float | None, str]:
        """Routes, confidence and reason: from the cache, the models, or keywords."""
        key = _normalise("\n".join([subject, *conversation]))
        cached = self._answers.get(key)
        if cached is not None:
            ctx.log("same conversation text seen recently: answer from cache, no LLM call")
            return cached.routes, cached.confidence, f"cached: {cached.reason}"

        messages = self._prompt(conversation, subject)
        deadline = time.monotonic() + self.time_budget
        small, small_problem = self._ask("small", messages, ctx, deadline)
        if small is not None and small.confidence >= self.confidence_threshold:
            answer = small
        else:
            if small is None:
                ctx.log(f"small model unusable ({small_problem}); asking the large model")
            else:
                ctx.log(f"small model unsure ({small.confidence:.2f} < "
                        f"{self.confidence_threshold}); asking the large model")
            large, large_problem = self._ask("large", messages, ctx, deadline)
            if large is not None:
                answer = large
            elif small is not None:
                ctx.log(f"large model unusable ({large_problem}); keeping the small model's "
                        "answer")
                small.reason += f"; large model unusable ({large_problem})"
                answer = small
            else:
                route = self.keyword_route(conversation)
                ctx.log(f"no usable model answer; keyword fallback -> {route}")
                return [route], None, (f"keyword fallback: small model {small_problem}; "
                                       f"large model {large_problem}")

        self._answers.put(key, answer)
        return answer.routes, answer.confidence, answer.reason

    def _prompt(self, conversation: list[str], subject: str) -> list[dict[str, str]]:
        """Chat messages for the model: the whole conversation, message texts verbatim."""
        lines = [f"Subject: {subject}", "", "Customer messages, oldest first:"]
        lines += [f"[{number}] {text}" for number, text in enumerate(conversation, 1)]
        return [
            {"role": "system", "content": SYSTEM_PROMPT.format(routes=", ".join(self.routes))},
            {"role": "user", "content": "\n".join(lines)},
        ]

    def _ask(self, tier: str, messages: list[dict[str, str]], ctx: AgentContext,
             deadline: float) -> tuple[_Answer | None, str]:
        """Ask one model tier. Returns (answer, "") or (None, what went wrong)."""
        remaining = deadline - time.monotonic()
        if remaining < self.MIN_CALL_TIME:
            ctx.log(f"LLM {tier}: time budget spent; not calling it")
            return None, "time budget spent"
        body = {"model": tier, "messages": messages, "temperature": 0}
        url = f"{ctx.base_urls['llm'].rstrip('/')}/v1/chat/completions"
        breaker = self.breakers[tier]
        retrying = self._retrying(ctx, f"LLM {tier}", self.max_attempts,
                                  wait_random_exponential(multiplier=0.5, max=8),
                                  min(self.MAX_RETRY_AFTER, remaining), deadline=deadline)
        timeout = httpx.Timeout(min(self.llm_timeout.read or remaining, remaining))
        try:
            # The breaker wraps each attempt, so every failed attempt counts once; retrying
            # stops at once when the breaker is open (CircuitBreakerError is not retried).
            response = retrying(breaker.call, self._send, ctx, "POST", url, timeout, body)
        except pybreaker.CircuitBreakerError as exc:
            problem = _describe(exc)
            ctx.log(f"LLM {tier}: {problem}; not calling it")
            return None, problem
        except httpx.HTTPError as exc:
            problem = f"failed: {_describe(exc)}"
            ctx.log(f"LLM {tier}: {problem}; giving up on this tier")
            return None, problem

        answer, problem = self._parse(response)
        if problem:
            ctx.log(f"LLM {tier}: {problem}")
        if answer is None:
            return None, problem
        answer.reason = f"{tier} model ({answer.confidence:.2f})"
        return answer, ""

    def _parse(self, response: httpx.Response) -> tuple[_Answer | None, str]:
        """Validate a chat completion: JSON content with a known route and a confidence.

        Returns (answer, note): answer is None when unusable and note says why; a usable
        answer may come with a note too (labels that are not routes were dropped).
        """
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            return None, "response is not a chat completion"
        try:
            data = json.loads(content)
        except (TypeError, ValueError):
            return None, f"content is not valid JSON (truncated?): {content!r:.60}"
        if not isinstance(data, dict) or "route" not in data:
            return None, f"content has no 'route': {content!r:.60}"

        labels = data["route"] if isinstance(data["route"], list) else [data["route"]]
        routes: list[str] = []
        unknown: list[Any] = []
        for label in labels:
            route = self._labels.get(label.strip().lower()) if isinstance(label, str) else None
            if route is None:
                unknown.append(label)
            elif route not in routes:
                routes.append(route)
        if not routes:
            return None, f"no known route in {labels!r:.60}"

        confidence = data.get("confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
            confidence = 0.0  # no usable confidence: treat the answer as unsure
        confidence = min(1.0, max(0.0, float(confidence)))
        note = f"dropped unknown labels {unknown!r:.60}" if unknown else ""
        return _Answer(routes, confidence, ""), note

    def keyword_route(self, texts: Sequence[str]) -> str:
        """The route whose keywords occur most often; the first route when none occurs.

        Deliberately simple: it is only used when no model can answer.
        """
        text = _normalise(" ".join(t for t in texts if isinstance(t, str)))
        best, best_hits = self.routes[0], 0
        for route in self.routes:  # ties keep the earlier route
            hits = sum(len(re.findall(r"\b" + re.escape(word), text))
                       for word in self.keywords[route])
            if hits > best_hits:
                best, best_hits = route, hits
        return best

    # -- escalation ----------------------------------------------------------------------

    def _check_escalation(self, customer_id: str | None, ctx: AgentContext) -> tuple[bool, str]:
        """(escalate, reason). When the account value cannot be known, escalate."""
        crm = ctx.base_urls.get("crm")
        if not crm:
            return False, ""  # no CRM in this deployment: nothing to escalate on
        if customer_id is None:
            ctx.log("no customer id: cannot check account value; escalating to be safe")
            return True, "escalated: unknown customer value (no customer id)"
        cached = self._customers.get(customer_id)
        if cached is not None:
            return cached

        url = f"{crm.rstrip('/')}/customers/{quote(customer_id, safe='')}"
        retrying = self._retrying(ctx, "CRM", 2,
                                  wait_random_exponential(multiplier=0.2, max=1),
                                  self.CRM_MAX_RETRY_AFTER)
        try:
            response = retrying(self._send, ctx, "GET", url, self.crm_timeout)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404:
                ctx.log(f"CRM: customer {customer_id!r} not found; not escalating")
                result = (False, "")
                self._customers.put(customer_id, result)
                return result
            ctx.log(f"CRM: {_describe(exc)}; escalating to be safe")
            return True, f"escalated: CRM unavailable ({_describe(exc)})"
        except httpx.HTTPError as exc:
            ctx.log(f"CRM unreachable: {_describe(exc)}; escalating to be safe")
            return True, f"escalated: CRM unreachable ({_describe(exc)})"

        try:
            value = response.json()["account_value"]
        except (ValueError, KeyError, TypeError):
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            ctx.log(f"CRM: unusable answer {response.text!r:.60}; escalating to be safe")
            return True, "escalated: CRM answer unusable"

        if value >= self.escalation_threshold:
            ctx.log(f"CRM: account value {value:,.0f} >= {self.escalation_threshold:,.0f}; "
                    "escalating")
            result = (True, f"escalated: account value {value:,.0f}")
        else:
            result = (False, "")
        self._customers.put(customer_id, result)
        return result

    # -- HTTP ----------------------------------------------------------------------------

    @staticmethod
    def _send(ctx: AgentContext, method: str, url: str, timeout: httpx.Timeout,
              body: Any = None) -> httpx.Response:
        """One HTTP attempt; a 4xx/5xx status raises httpx.HTTPStatusError."""
        response = ctx.http.request(method, url, json=body, timeout=timeout)
        response.raise_for_status()
        return response

    @staticmethod
    def _retrying(ctx: AgentContext, what: str, attempts: int, backoff: wait_base,
                  max_retry_after: float, deadline: float | None = None) -> Retrying:
        """A tenacity policy: retry transport errors, 429 and 5xx, logging each retry.

        Built per call (it is cheap) because its log lines go to this ticket's ctx.
        """

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, httpx.TransportError):  # connect errors, timeouts, ...
                return True
            if isinstance(exc, httpx.HTTPStatusError):
                status = exc.response.status_code
                if status != 429 and status < 500:
                    return False
                retry_after = _retry_after_seconds(exc)
                # Waiting longer than we are willing to would stall the ticket; give up.
                return retry_after is None or retry_after <= max_retry_after
            return False  # e.g. CircuitBreakerError: the breaker says do not call

        def log_retry(retry_state: RetryCallState) -> None:
            exc = retry_state.outcome.exception() if retry_state.outcome else None
            ctx.log(f"{what}: attempt {retry_state.attempt_number}/{attempts} failed "
                    f"({_describe(exc) if exc else 'unknown'}); "
                    f"retrying in {retry_state.upcoming_sleep:.2f}s")

        stop: stop_base = stop_after_attempt(attempts)
        if deadline is not None:  # no retry whose backoff would overrun the time budget
            stop = stop | stop_before_delay(max(deadline - time.monotonic(), 0.0))
        return Retrying(
            stop=stop,
            wait=WaitRetryAfter(backoff),
            retry=retry_if_exception(should_retry),
            before_sleep=log_retry,
            reraise=True,  # the caller sees the real error, not tenacity.RetryError
        )
