"""The simulated model's judgement of one call: routes, confidence and escalation.

The model answers about the ticket whose event is being handled, judging only what the
agent put in the prompt: it looks for that conversation's message texts. A follow-up that
only makes sense with earlier context is answered correctly only when that context is in
the prompt. Whether an answer is right is drawn from the tier's accuracy for the ticket's
route and tags, keyed on (seed, ticket, event, tier, nth judged call) so two agents on one
scenario get the same luck. A wrong answer follows the tier's `confusion` for the true
route when it has one (so mistakes look like a real model's), else it is spread evenly.
Confidence is higher, on average, when the answer is right.

Escalation, like the route, depends only on the prompt: the model escalates when the
prompt shows the customer's account value (a CRM lookup the agent pasted in, or a tool
result in the conversation) and it is at or above the policy's threshold; without it, the
model does not escalate. A number that is not the customer's value (the policy's own
threshold quoted in the instructions) is not taken for it.

Every API (chat completions, responses, messages) asks the same `Judge`; only the wire
format of the answer differs.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ...records import EventScope
from ...rng import hash_uniforms, key_text, uniforms_of_key

CHARS_PER_TOKEN = 4
# Fragments of a message the model recognises it by, so injected junk does not blind it.
FRAGMENT = 24
# How often the simulated model obeys an instruction injected into the ticket text.
INJECTION_SUCCESS = 0.6


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate (about four characters per token)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _mentions(prompt: str, text: str) -> bool:
    """Whether the prompt carries this message, even with a few characters mangled."""
    if text in prompt:
        return True
    if len(text) < 3 * FRAGMENT:
        return False
    middle = len(text) // 2
    return any(fragment in prompt for fragment in
               (text[:FRAGMENT], text[middle:middle + FRAGMENT], text[-FRAGMENT:]))


_INJECTION = re.compile(r"ignore (?:all |any )?(?:the )?(?:previous|prior|above) instructions"
                        r".{0,80}?\broute\b.{0,30}?\bto\b\W*([a-z_]+)", re.I | re.S)

# "account_value": 250000.0 / Account value: $250,000 / account value of 1.2M
_ACCOUNT_VALUE = re.compile(
    r"account[ _-]?value\W{0,12}(?:of|is|=|:)?\s*(?:USD|US\$|\$|€|£)?\s*"
    r"(\d[\d,]*(?:\.\d+)?)\s*([kKmM](?![a-z]))?", re.I)
_ORDER_ID = re.compile(r"\border\s+((?:#|ORD-)?\d{5,})", re.I)


def injected_route(prompt: str) -> str | None:
    """The route a prompt injection in the prompt asks for, if there is one."""
    if "nstructions" not in prompt:
        return None
    match = _INJECTION.search(prompt)
    return match.group(1).lower() if match else None


def account_values_shown(prompt: str) -> list[float]:
    """Every account value the prompt states ("account_value": 250000.0, account value
    $250,000, account value of 250k)."""
    if "ccount" not in prompt:
        return []
    values = []
    for match in _ACCOUNT_VALUE.finditer(prompt):
        value = float(match.group(1).replace(",", ""))
        suffix = (match.group(2) or "").lower()
        values.append(value * {"k": 1e3, "m": 1e6}.get(suffix, 1.0))
    return values


def pick_weighted(weights: dict[str, float], u: float) -> str:
    """The label whose share of the (unnormalised) weights covers `u` in [0, 1)."""
    total = sum(weights.values())
    covered = 0.0
    for label, weight in weights.items():
        covered += weight / total
        if u < covered:
            return label
    return next(reversed(weights))  # u within rounding of 1


@dataclass(slots=True)
class Judgement:
    """What the model concluded about the ticket in its prompt."""

    routes: list[str]
    confidence: float
    escalate: bool = False


@dataclass(slots=True)
class Identifiers:
    """Ids a lookup tool can be called with, as far as the prompt shows them."""

    customer_id: str | None = None
    email: str | None = None
    order_id: str | None = None

    def for_parameter(self, name: str) -> str | None:
        """The id a tool parameter of this name asks for, if the prompt has it."""
        key = name.lower()
        if "order" in key:
            return self.order_id
        if "mail" in key:
            return self.email
        return self.customer_id or self.email


class Judge:
    """Draws the model's answer about the ticket a prompt is about."""

    def __init__(self, routes: list[str], seed: int, escalate_at: float) -> None:
        self.routes = routes
        self.seed = seed
        self.escalate_at = escalate_at
        self._unscoped = 0
        #: The fixed start of every draw's key (see `_answer`).
        self._key_prefix = key_text(seed, "llm") + "\x1f"
        #: The accuracy for (tier, true routes, tags), worked out once each.
        self._accuracy: dict[tuple[Any, tuple[str, ...], tuple[str, ...]], float] = {}

    def judge(self, prompt: str, tier: Any, scope: EventScope | None,
              accuracy_factor: float = 1.0, *, escalation: bool = False) -> Judgement:
        """One judged call. `escalation` asks for the escalation judgement too (it costs a
        scan of the prompt that plain answers do not need)."""
        routes, confidence = self._answer(prompt, tier, scope, accuracy_factor)
        judgement = Judgement(routes, confidence)
        if escalation:
            judgement.escalate = self.escalates(prompt, scope)
        return judgement

    def escalates(self, prompt: str, scope: EventScope | None) -> bool:
        """Whether the prompt shows an account value at or above the threshold."""
        values = self.account_values(prompt, scope)
        return bool(values) and max(values) >= self.escalate_at

    @staticmethod
    def account_values(prompt: str, scope: EventScope | None) -> list[float]:
        """The account values the prompt shows: only the customer's own when the ticket is
        known (within rounding: 250k, $250,412), not a threshold quoted in instructions."""
        values = account_values_shown(prompt)
        if scope is not None and values:
            true = scope.ticket.customer.account_value
            values = [v for v in values if abs(v - true) <= max(1.0, 0.01 * true)]
        return values

    def identifiers(self, prompt: str, scope: EventScope | None) -> Identifiers:
        """The customer's id and email, and an order number, where the prompt shows them."""
        ids = Identifiers()
        if scope is not None:
            customer = scope.ticket.customer
            if customer.id in prompt:
                ids.customer_id = customer.id
            if customer.email in prompt:
                ids.email = customer.email
        match = _ORDER_ID.search(prompt)
        if match:
            ids.order_id = match.group(1)
        return ids

    def _answer(self, prompt: str, tier: Any, scope: EventScope | None,
                accuracy_factor: float) -> tuple[list[str], float]:
        routes = self.routes
        truth: list[str] | None
        tags: list[str]
        if scope is None:
            self._unscoped += 1
            truth, tags = None, []
            u_right, u_pick, u_conf = hash_uniforms(self.seed, 3, "llm", "no-ticket",
                                                    self._unscoped)
        else:
            scope.llm_calls += 1
            truth, tags = self._visible_truth(prompt, scope)
            # hash_uniforms(seed, 3, "llm", ticket, event, tier, call), its key written out
            u_right, u_pick, u_conf = uniforms_of_key(
                f"{self._key_prefix}{scope.ticket.id}\x1f{scope.event}\x1f{tier.name}"
                f"\x1f{scope.llm_calls}", 3)
        hijack = injected_route(prompt)
        if hijack is not None and u_pick < INJECTION_SUCCESS:
            return [hijack], 0.9
        if truth is None:  # the prompt does not say what the ticket is about
            answer = [routes[int(u_pick * len(routes))]]
            confidence = 0.2 + 0.35 * u_conf
        elif u_right < self._accuracy_for(tier, truth, tags) * accuracy_factor:
            answer = list(truth)
            confidence = 0.72 + 0.27 * u_conf
        else:
            answer = self._wrong(truth, u_pick, tier.config.confusion)
            confidence = 0.3 + 0.55 * u_conf
        return answer, confidence

    def _accuracy_for(self, tier: Any, truth: list[str], tags: list[str]) -> float:
        key = (tier, tuple(truth), tuple(tags))
        value = self._accuracy.get(key)
        if value is None:
            value = self._accuracy[key] = tier.config.accuracy.for_ticket(truth, tags)
        return value

    @staticmethod
    def _visible_truth(prompt: str, scope: EventScope) -> tuple[list[str] | None, list[str]]:
        messages = scope.ticket.messages
        seen = [i for i, m in enumerate(messages) if _mentions(prompt, m.text)]
        if not seen:
            return None, []
        last = seen[-1]
        if messages[last].needs_context and len(seen) < last + 1:
            return None, []
        tags = scope.ticket.tags
        if last == 0 and "mind_change" in tags:
            tags = [t for t in tags if t != "mind_change"]
        return messages[last].routes, tags

    def _wrong(self, truth: list[str], u: float,
               confusion: dict[str, dict[str, float]]) -> list[str]:
        """A wrong answer: for a single-route ticket whose route the tier's confusion names,
        a label drawn by its weights; else one issue of two, or another route, evenly."""
        spread = confusion.get(truth[0]) if len(truth) == 1 and confusion else None
        if spread:
            return [pick_weighted(spread, u)]
        others = [r for r in self.routes if r not in truth]
        if len(truth) > 1 and (u < 0.5 or not others):
            return [truth[int(u * 2 * len(truth)) % len(truth)]]  # got one issue of two
        if not others:
            return list(truth)
        return [others[int(u * len(others)) % len(others)]]
