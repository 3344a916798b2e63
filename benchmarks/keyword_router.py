"""How well ResilientRouter's keyword fallback reads real tickets, and synthetic ones.

    python benchmarks/keyword_router.py                  # data from <repo>/../shared/data
    python benchmarks/keyword_router.py --data DIR

The fallback is what routes tickets while every model is down, so its accuracy on
synthetic traffic decides the accuracy an outage scenario shows. If synthetic tickets were
easier to read than real ones, every outage result would flatter the agent. This measures
the same `keyword_route` on two public sets of real customer text, their intents mapped to
the six standard routes (intents with no route are left out), and on synthetic tickets
drawn with the mix of `scenarios/baseline.yaml`. A route is right when it is the ticket's
whole set of true routes, as `routing.accuracy` counts it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from simharness.agents.reference import DEFAULT_ROUTES, ResilientRouter
from simharness.traffic.synthetic import SyntheticGenerator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: Bitext customer-service intents (e-commerce) -> route. Contact, feedback, newsletter and
#: placing or changing an order have no route and are left out.
BITEXT = {
    "create_account": "account", "edit_account": "account", "recover_password": "account",
    "registration_problems": "account", "switch_account": "account",
    "delete_account": "cancellation", "check_cancellation_fee": "cancellation",
    "cancel_order": "cancellation",
    "delivery_options": "shipping", "delivery_period": "shipping", "track_order": "shipping",
    "change_shipping_address": "shipping", "set_up_shipping_address": "shipping",
    "check_invoice": "billing", "get_invoice": "billing", "check_payment_methods": "billing",
    "payment_issue": "billing",
    "check_refund_policy": "refund", "get_refund": "refund", "track_refund": "refund",
}
#: Banking77 intents (online banking) -> route, for the intents a support desk with these
#: six teams would route; the other 49 are left out.
BANKING77 = {
    "card_payment_fee_charged": "billing", "extra_charge_on_statement": "billing",
    "transaction_charged_twice": "billing", "transfer_fee_charged": "billing",
    "exchange_charge": "billing", "cash_withdrawal_charge": "billing",
    "top_up_by_card_charge": "billing", "top_up_by_bank_transfer_charge": "billing",
    "card_payment_wrong_exchange_rate": "billing",
    "direct_debit_payment_not_recognised": "billing", "card_payment_not_recognised": "billing",
    "card_not_working": "technical", "contactless_not_working": "technical",
    "virtual_card_not_working": "technical", "apple_pay_or_google_pay": "technical",
    "top_up_failed": "technical",
    "passcode_forgotten": "account", "edit_personal_details": "account",
    "verify_my_identity": "account", "unable_to_verify_identity": "account",
    "pin_blocked": "account", "change_pin": "account",
    "card_arrival": "shipping", "card_delivery_estimate": "shipping",
    "request_refund": "refund", "Refund_not_showing_up": "refund",
    "terminate_account": "cancellation", "cancel_transfer": "cancellation",
}
#: The mix of scenarios/baseline.yaml.
BASELINE_MIX = {"multi_issue": 0.08, "mind_change": 0.04, "high_value": 0.05, "ambiguous": 0.08}


@dataclass(frozen=True)
class Score:
    """Tickets routed right by the keyword fallback, out of `total`."""

    name: str
    right: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else float("nan")


def score(name: str, tickets: Iterable[tuple[list[str], set[str]]]) -> Score:
    """Route each ticket's texts by keywords; right when the route is its whole truth."""
    router = ResilientRouter()
    right = total = 0
    for texts, truth in tickets:
        total += 1
        right += {router.keyword_route(texts)} == truth
    return Score(name, right, total)


def bitext(data: Path) -> list[tuple[list[str], set[str]]]:
    path = data / "bitext_customer_service" / "Bitext_Sample_Customer_Service_Testing_Dataset.csv"
    with path.open(encoding="utf-8") as fh:
        return [([row["utterance"]], {BITEXT[row["intent"]]}) for row in csv.DictReader(fh)
                if row["intent"] in BITEXT]


def banking77(data: Path) -> list[tuple[list[str], set[str]]]:
    with (data / "banking77" / "test.csv").open(encoding="utf-8") as fh:
        return [([row["text"]], {BANKING77[row["category"]]}) for row in csv.DictReader(fh)
                if row["category"] in BANKING77]


def synthetic(n: int = 5000, seed: int = 42,
              mix: dict[str, float] | None = None) -> list[tuple[list[str], set[str]]]:
    """Synthetic tickets: every message of the conversation, as the fallback sees them."""
    generator = SyntheticGenerator(
        DEFAULT_ROUTES, BASELINE_MIX if mix is None else mix, seed=seed,
        escalation_threshold=100_000, channels=["email"], languages={"en": 1.0},
        follow_up_delay=lambda: 60.0)
    out = []
    for i in range(n):
        ticket = generator.make_ticket(i, float(i))
        out.append(([m.text for m in ticket.messages], set(ticket.true_routes)))
    return out


def real_scores(data: Path) -> list[Score]:
    return [score("bitext (e-commerce support)", bitext(data)),
            score("banking77 (online banking)", banking77(data))]


def pooled(scores: list[Score]) -> Score:
    return Score("real, pooled", sum(s.right for s in scores), sum(s.total for s in scores))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    rows = [score("synthetic, baseline mix", synthetic()),
            score("synthetic, plain tickets only", synthetic(mix={}))]
    if args.data.is_dir():
        real = real_scores(args.data)
        rows += [*real, pooled(real)]
    else:
        print(f"no data folder at {args.data}: synthetic figures only", file=sys.stderr)
    print("| text | tickets | keyword fallback accuracy |\n|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.total:,} | {row.accuracy:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
