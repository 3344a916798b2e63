"""The simulated business's customers: one base shared by every traffic source.

Synthetic tickets come from a fixed base of regular and high-value customers (Faker names,
tiers and account values drawn around the escalation threshold). Replayed tickets name
their own customers: `ReplayCustomers` makes one per id, with the columns the file gives
and the rest drawn as for a regular synthetic customer, keyed on the id so a customer is
the same in every run. The CRM serves both.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..rng import derive_seed
from .ticket import Customer

N_REGULAR = 2000
N_HIGH_VALUE = 200

# Tier weights per pool; high-value accounts are mostly big companies, but not only.
_REGULAR_TIERS = (("free", 0.45), ("pro", 0.35), ("business", 0.15), ("enterprise", 0.05))
_HIGH_VALUE_TIERS = (("pro", 0.05), ("business", 0.30), ("enterprise", 0.65))
# Median account value of a regular customer, as a fraction of the escalation threshold.
_REGULAR_MEDIAN = {"free": 0.0, "pro": 0.005, "business": 0.06, "enterprise": 0.3}
_VALUE_SIGMA = 0.9


@dataclass(frozen=True, slots=True)
class Person:
    """A customer plus the first name used to sign messages."""

    customer: Customer
    first_name: str


def build_customers(seed: int, rng: random.Random, threshold: float,
                    id_prefix: str = "C") -> tuple[tuple[Person, ...], tuple[Person, ...]]:
    """Regular (value < threshold) and high-value (value >= threshold) customer pools.

    Ids are shuffled across both pools so an id never reveals whether a customer is high value.
    """
    firsts, lasts, free_domains, company_domains = _faker_vocabulary(seed)
    total = N_REGULAR + N_HIGH_VALUE
    ids = [f"{id_prefix}{i:05d}" for i in range(1, total + 1)]
    rng.shuffle(ids)
    emails: set[str] = set()
    people = []
    for i, cid in enumerate(ids):
        high_value = i >= N_REGULAR
        tier = _weighted(rng, _HIGH_VALUE_TIERS if high_value else _REGULAR_TIERS)
        value = _high_value(rng, threshold) if high_value else _regular_value(rng, tier,
                                                                              threshold)
        first, last = rng.choice(firsts), rng.choice(lasts)
        domains = company_domains if tier in ("business", "enterprise") else free_domains
        email = _unique_email(rng, first, last, rng.choice(domains), emails)
        people.append(Person(Customer(cid, f"{first} {last}", email, tier, value), first))
    return tuple(people[:N_REGULAR]), tuple(people[N_REGULAR:])


def _faker_vocabulary(seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """Name and domain vocabularies from a seeded Faker instance (imported here: it is slow)."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)

    def distinct(make: Callable[[], str], n: int) -> list[str]:
        return list(dict.fromkeys(make() for _ in range(n)))

    return (distinct(fake.first_name, 300), distinct(fake.last_name, 300),
            distinct(fake.free_email_domain, 30), distinct(fake.domain_name, 80))


def _weighted(rng: random.Random, choices: Sequence[tuple[str, float]]) -> str:
    u, acc = rng.random(), 0.0
    for name, weight in choices:
        acc += weight
        if u < acc:
            return name
    return choices[-1][0]


def _regular_value(rng: random.Random, tier: str, threshold: float) -> float:
    """Lognormal around the tier's median, redrawn until strictly below the threshold."""
    median = _REGULAR_MEDIAN[tier] * threshold
    if median == 0:
        return 0.0
    for _ in range(100):
        value = math.floor(median * rng.lognormvariate(0.0, _VALUE_SIGMA) * 100) / 100
        if value < threshold:
            return value
    return math.nextafter(threshold, 0.0)


def _high_value(rng: random.Random, threshold: float) -> float:
    """At least the threshold, with a lognormal spread above it."""
    value = math.ceil(threshold * math.exp(abs(rng.gauss(0.0, _VALUE_SIGMA))) * 100) / 100
    return max(value, threshold)


def _unique_email(rng: random.Random, first: str, last: str, domain: str,
                  taken: set[str]) -> str:
    f, lname = _ascii(first), _ascii(last)
    local = rng.choice((f"{f}.{lname}", f"{f}{lname}", f"{f[:1]}{lname}", f"{f}_{lname}",
                        f"{lname}.{f}"))
    email = f"{local}@{domain}"
    while email in taken:
        email = f"{local}{rng.randrange(1, 1000)}@{domain}"
    taken.add(email)
    return email


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower()) or "user"


def base_customers(seed: int, threshold: float,
                   id_prefix: str = "C") -> tuple[tuple[Person, ...], tuple[Person, ...]]:
    """The shared base, exactly as a synthetic generator with `customer_seed=seed` has it."""
    return build_customers(seed, random.Random(f"simharness.synthetic:{seed}"), threshold,
                           id_prefix)


class ReplayCustomers:
    """Customers named by replayed rows, made on first sight and kept for the CRM.

    A row without a customer column gets a customer from the shared base (picked by a hash
    of its ticket id), so the CRM always knows who wrote in. Memory grows with the number of
    distinct customers, not with the number of rows.
    """

    def __init__(self, seed: int, threshold: float, base_prefix: str = "C") -> None:
        self.seed = seed
        self.threshold = threshold
        self.base_prefix = base_prefix
        self.known: dict[str, Customer] = {}
        self._base: tuple[Person, ...] | None = None
        self._names: tuple[list[str], list[str], list[str], list[str]] | None = None
        self._emails: set[str] = set()

    def from_base(self, key: str) -> Customer:
        """A regular customer of the shared base, the same one for the same key."""
        if self._base is None:
            regular, _high_value = base_customers(self.seed, self.threshold,
                                                  self.base_prefix)
            self._base = regular
        person = self._base[derive_seed(self.seed, "replay-customer", key) % len(self._base)]
        self.known.setdefault(person.customer.id, person.customer)
        return person.customer

    def named(self, customer_id: str, name: str | None = None, email: str | None = None,
              tier: str | None = None, account_value: float | None = None) -> Customer:
        """The customer with this id; the first row naming it fixes what the columns give."""
        customer = self.known.get(customer_id)
        if customer is not None:
            return customer
        rng = random.Random(derive_seed(self.seed, "replay-customer", customer_id))
        if name is None or email is None:
            if self._names is None:
                self._names = _faker_vocabulary(self.seed)
            firsts, lasts, free_domains, company_domains = self._names
            first, last = rng.choice(firsts), rng.choice(lasts)
            name = name or f"{first} {last}"
            if email is None:
                email = _unique_email(rng, first, last, rng.choice(free_domains), self._emails)
        if tier is None:
            tier = _weighted(rng, _REGULAR_TIERS)
        if account_value is None:
            account_value = _regular_value(rng, tier, self.threshold)
        customer = Customer(customer_id, name, email, tier, account_value)
        self.known[customer_id] = customer
        return customer
