"""Synthetic support tickets with known truth: routes, escalation and hardness tags.

Everything expensive (Faker names, slot values, compiled templates) is built once in
`__init__`; `make_ticket` only makes cheap scalar draws from one `random.Random(seed)`, so a
run of 100,000+ tickets spends microseconds per ticket here. The same seed and the same
sequence of `make_ticket` calls give identical tickets.

Languages: `language` is drawn by weight and set on the ticket, but the text is English for
every language for now (there are no translated templates yet).
"""

from __future__ import annotations

import bisect
import functools
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from types import MappingProxyType

from simharness.errors import ScenarioError
from simharness.traffic import texts
from simharness.traffic.customers import Person as _Person
from simharness.traffic.customers import build_customers as _build_customers
from simharness.traffic.texts import Compiled, TextRenderer
from simharness.traffic.ticket import Customer, Message, Ticket

KINDS = ("multi_issue", "mind_change", "ambiguous")
"""Mutually exclusive ticket kinds; whatever probability is left makes plain tickets."""

MIX_KEYS = (*KINDS, "high_value")
TAG_ORDER = ("multi_issue", "mind_change", "high_value", "ambiguous")


@dataclass(frozen=True, slots=True)
class _RouteTexts:
    """One route's templates, compiled against the slot pools."""

    bodies: tuple[Compiled, ...]
    leading: tuple[Compiled, ...]  # the bodies ending a sentence, to put text after them
    subjects: tuple[Compiled, ...]
    ambiguous: tuple[Compiled, ...]
    passing: tuple[Compiled, ...]


@dataclass(frozen=True, slots=True)
class _CustomerBase:
    """What a generator draws from besides its own random stream: the customers (one CRM)
    and the slot values of its templates, all fixed by the customer seed."""

    regular: tuple[_Person, ...]
    high_value: tuple[_Person, ...]
    by_id: Mapping[str, Customer]
    slot_pools: Mapping[str, tuple[str, ...]]


@functools.lru_cache(maxsize=8)
def _customer_base(base_seed: int, threshold: float, customer_prefix: str) -> _CustomerBase:
    """Built once per process for each customer seed: drawing 2,200 Faker customers and the
    slot values costs a tenth of a second, which every run of a sweep, a test suite or a
    notebook would otherwise pay again for the same result. The parts are immutable
    (frozen customers, tuples, read-only mappings), so runs cannot change what they share."""
    setup_rng = random.Random(f"simharness.synthetic:{base_seed}")
    regular, high_value = _build_customers(base_seed, setup_rng, threshold, customer_prefix)
    by_id = {p.customer.id: p.customer
             for p in sorted(regular + high_value, key=lambda p: p.customer.id)}
    return _CustomerBase(regular, high_value, MappingProxyType(by_id),
                         MappingProxyType(texts.slot_pools(setup_rng)))


class SyntheticGenerator:
    """Makes tickets for the configured routes and mix of hard cases.

    `mix` holds probabilities: `multi_issue`, `mind_change` and `ambiguous` are mutually
    exclusive (sum <= 1, the rest are plain tickets); `high_value` is independent and makes
    the customer one whose `account_value >= escalation_threshold`, so `escalate` is true
    exactly for `high_value` tickets. With a single route, multi-issue and mind-change
    tickets degrade to plain ones.
    """

    def __init__(self, routes: list[str], mix: dict[str, float], *, seed: int,
                 escalation_threshold: float, channels: list[str], languages: dict[str, float],
                 follow_up_delay: Callable[[], float], id_prefix: str = "T",
                 customer_seed: int | None = None, customer_prefix: str = "C") -> None:
        _check_config(routes, mix, escalation_threshold, channels, languages)
        self._routes = tuple(routes)
        self._channels = tuple(channels)
        self._languages, self._language_cdf = _cumulative(languages)
        self._kind_cdf = tuple(accumulate(float(mix.get(k, 0.0)) for k in KINDS))
        self._p_high_value = float(mix.get("high_value", 0.0))
        self._threshold = float(escalation_threshold)
        self._follow_up_delay = follow_up_delay
        self._id_prefix = id_prefix

        # Sources that share a customer_seed share one customer base (one CRM).
        base_seed = seed if customer_seed is None else customer_seed
        base = _customer_base(base_seed, self._threshold, customer_prefix)
        self._regular, self._high_value, self._by_id = base.regular, base.high_value, base.by_id

        self._rng = random.Random(seed)
        self._random = self._rng.random
        self._text = TextRenderer(base.slot_pools, self._rng)
        self._route_texts = tuple(self._compile_route(r) for r in self._routes)
        self._follow_ups = self._text.compile_all(_follow_ups_naming_no_route(self._routes))
        self._connectors = texts.MULTI_ISSUE_CONNECTORS
        self._multi_subjects = self._text.compile_all(texts.MULTI_ISSUE_SUBJECTS)
        self._vague_subjects = self._text.compile_all(texts.VAGUE_SUBJECTS)
        # (greeting, sign-off, whether the sign-off has the name): one draw picks both
        self._frames = tuple((g, s, "{name}" in s) for g in texts.GREETINGS
                             for s in texts.SIGN_OFFS)

    def customers(self) -> dict[str, Customer]:
        """Every customer a ticket can come from, by id (what the simulated CRM serves)."""
        return dict(self._by_id)

    def make_ticket(self, index: int, created_at: float) -> Ticket:
        """The next ticket; deterministic given the seed and the sequence of calls."""
        r = self._random
        n = len(self._routes)
        u = r()
        main = int(r() * n)
        high_value = r() < self._p_high_value
        pool = self._high_value if high_value else self._regular
        person = pool[int(r() * len(pool))]

        cdf = self._kind_cdf
        if u < cdf[0] and n > 1:
            kind = "multi_issue"
            subject, messages = self._multi_issue(main, person)
        elif cdf[0] <= u < cdf[1] and n > 1:
            kind = "mind_change"
            subject, messages = self._mind_change(main, person)
        elif cdf[1] <= u < cdf[2]:
            kind = "ambiguous"
            subject, messages = self._ambiguous(main, person)
        else:
            kind = ""
            subject, messages = self._plain(main, person)

        ticket_id = "%s%06d" % (self._id_prefix, index)  # noqa: UP031 (faster)
        customer = person.customer
        # Positional arguments in field order: twice as fast as keywords for a slots dataclass.
        return Ticket(
            ticket_id,                                            # id
            "conv-" + ticket_id,                                  # conversation_id
            created_at,                                           # created_at
            self._channels[int(r() * len(self._channels))],       # channel
            self._draw_language(),                                # language
            customer,                                             # customer
            subject,                                              # subject
            messages,                                             # messages
            list(_TAGS[kind, high_value]),                        # tags
            customer.account_value >= self._threshold,            # escalate
        )

    # -- ticket kinds ---------------------------------------------------------------------

    def _plain(self, route: int, person: _Person) -> tuple[str, list[Message]]:
        """One clear issue."""
        t = self._route_texts[route]
        body = self._text.pick(t.bodies)
        text = self._wrap(body, person)
        return self._text.pick(t.subjects), [Message(text, [self._routes[route]])]

    def _multi_issue(self, main: int, person: _Person) -> tuple[str, list[Message]]:
        """Two real issues in one message: both routes are right."""
        other = self._other_route(main)
        first, second = self._route_texts[main], self._route_texts[other]
        connector = self._connectors[int(self._random() * len(self._connectors))]
        body = self._text.pick(first.leading) + connector + self._text.pick(second.bodies)
        text = self._wrap(body, person)
        routes = [self._routes[main], self._routes[other]]
        subjects = self._multi_subjects if self._random() < 0.5 else first.subjects
        return self._text.pick(subjects), [Message(text, routes)]

    def _mind_change(self, main: int, person: _Person) -> tuple[str, list[Message]]:
        """A main issue plus one in passing; the follow-up switches to the passing one."""
        other = self._other_route(main)
        first, second = self._route_texts[main], self._route_texts[other]
        body = self._text.pick(first.leading) + " " + self._text.pick(second.passing)
        opening = Message(self._wrap(body, person), [self._routes[main]])
        follow_up = Message(self._text.pick(self._follow_ups), [self._routes[other]],
                            delay=self._follow_up_delay(), needs_context=True)
        return self._text.pick(first.subjects), [opening, follow_up]

    def _ambiguous(self, route: int, person: _Person) -> tuple[str, list[Message]]:
        """Vague text that fits its route only weakly, under a vague subject."""
        body = self._text.pick(self._route_texts[route].ambiguous)
        text = self._wrap(body, person)
        return self._text.pick(self._vague_subjects), [Message(text, [self._routes[route]])]

    # -- helpers --------------------------------------------------------------------------

    def _other_route(self, route: int) -> int:
        """A uniformly drawn route different from `route` (needs at least two routes)."""
        other = int(self._random() * (len(self._routes) - 1))
        return other + 1 if other >= route else other

    def _wrap(self, body: str, person: _Person) -> str:
        """Add an optional greeting and sign-off, as real first messages vary."""
        greeting, sign_off, named = self._frames[int(self._random() * len(self._frames))]
        if named:
            sign_off = sign_off.replace("{name}", person.first_name)
        return greeting + body + sign_off

    def _draw_language(self) -> str:
        if len(self._languages) == 1:
            return self._languages[0]
        return self._languages[bisect.bisect_right(self._language_cdf, self._random())]

    def _compile_route(self, route: str) -> _RouteTexts:
        t = texts.templates_for(route)
        c = self._text.compile_all
        leading = tuple(_end_sentence(b) for b in t.bodies)
        return _RouteTexts(c(t.bodies), c(leading), c(t.subjects), c(t.ambiguous),
                           c(t.passing))


# -- configuration -------------------------------------------------------------------------


def _check_config(routes: Sequence[str], mix: Mapping[str, float], threshold: float,
                  channels: Sequence[str], languages: Mapping[str, float]) -> None:
    """Reject configurations that cannot produce the promised truth."""
    if not routes:
        raise ScenarioError("synthetic.routes: at least one route is required")
    if len(set(routes)) != len(routes):
        raise ScenarioError(f"synthetic.routes: duplicate route names in {list(routes)}")
    unknown = sorted(set(mix) - set(MIX_KEYS))
    if unknown:
        raise ScenarioError(f"synthetic.mix: unknown keys {unknown}; expected {list(MIX_KEYS)}")
    for key, p in mix.items():
        if not 0.0 <= p <= 1.0:
            raise ScenarioError(f"synthetic.mix.{key}: {p} is not a probability in [0, 1]")
    total = sum(mix.get(k, 0.0) for k in KINDS)
    if total > 1.0 + 1e-9:
        raise ScenarioError(f"synthetic.mix: {' + '.join(KINDS)} = {total:g} exceeds 1")
    if not (math.isfinite(threshold) and threshold > 0):
        raise ScenarioError("world.escalation.account_value_at_least must be a finite number "
                            "> 0 with synthetic traffic (regular customers need a value below "
                            f"it), got {threshold:g}")
    if not channels:
        raise ScenarioError("synthetic.channels: at least one channel is required")
    if not languages or any(w < 0 for w in languages.values()) or sum(languages.values()) <= 0:
        raise ScenarioError(f"synthetic.languages: need non-negative weights, got {languages}")


def _cumulative(weights: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Names sorted (so dict order never matters) and their normalised cumulative weights."""
    names = tuple(sorted(k for k, w in weights.items() if w > 0))
    total = sum(weights[k] for k in names)
    cdf = tuple(accumulate(weights[k] / total for k in names))
    return names, cdf[:-1] + (math.inf,)


def _end_sentence(text: str) -> str:
    """Informal bodies may end without punctuation; add a full stop before more text."""
    return text if text.rstrip().endswith((".", "?", "!", ")")) else text.rstrip() + "."


# (kind, high_value) -> the tags that apply, in TAG_ORDER.
_TAGS = {(kind, hv): tuple(t for t in TAG_ORDER if t == kind or (hv and t == "high_value"))
         for kind in ("", *KINDS) for hv in (False, True)}


def _follow_ups_naming_no_route(routes: Sequence[str]) -> tuple[str, ...]:
    """Mind-change follow-ups that mention no configured route label (by whole word)."""
    words = {texts.topic_words(r).lower() for r in routes} | {r.lower() for r in routes}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words) if w) + r")\b",
                         re.IGNORECASE)
    kept = tuple(f for f in texts.MIND_CHANGE_FOLLOW_UPS if not pattern.search(f))
    return kept or texts.MIND_CHANGE_FOLLOW_UPS
