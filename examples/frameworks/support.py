"""What every agent in this folder shares: the routes, the instructions, the answer's
schema, how a ticket becomes a prompt and the CRM lookup.

Each framework example imports these so that the agents differ only in how the framework
talks to the model; their scores on one scenario and seed then compare like for like.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from simharness import Decision

#: The teams a ticket can go to (the routes of the shipped scenarios).
ROUTES = ("billing", "technical", "account", "shipping", "refund", "cancellation")
Route = Literal["billing", "technical", "account", "shipping", "refund", "cancellation"]

#: The simulated model tier every example asks (`small` is the cheaper, less accurate one).
MODEL = "large"

#: Account value from which a customer is handed to a person (the scenarios' threshold).
ESCALATION_VALUE = 100_000

INSTRUCTIONS = (
    "You route customer support tickets to the team that handles them: "
    + ", ".join(ROUTES) + ". "
    "If the customer raises several separate issues, name every team concerned. "
    "If the customer changes their mind, route by their latest request. "
    f"Escalate to a person when the customer's account value is at least {ESCALATION_VALUE:,}; "
    "look the customer up when you have a tool for it."
)


class TicketRouting(BaseModel):
    """Where a support ticket goes, and whether a person should take it."""

    routes: list[Route] = Field(
        description="The team for the ticket; several teams only when the customer raises "
        "separate issues.")
    escalate: bool = Field(
        description="True when the customer's account value is at least "
        f"{ESCALATION_VALUE:,}: a person takes the ticket.")
    confidence: float = Field(description="How sure you are, from 0 to 1.")


class CustomerLookup(BaseModel):
    """Look up a customer in the CRM: their tier and account value."""

    customer_id: str = Field(description="The customer id written on the ticket.")


def ticket_prompt(payload: dict[str, Any], ctx: Any) -> str:
    """The ticket as the model reads it: who wrote, the subject and the conversation so far.

    A follow-up event carries only its new message, so the earlier ones are kept in
    `ctx.state` (one dict per conversation).
    """
    history: list[str] = ctx.state.setdefault("messages", [])
    history.extend(message["text"] for message in payload["messages"])
    lines = [f"Customer id: {payload['customer']['id']}", f"Subject: {payload['subject']}", ""]
    return "\n".join(lines + history)


def crm_url(ctx: Any, customer_id: str) -> str:
    """The CRM endpoint for one customer."""
    return f"{ctx.base_urls['crm']}/customers/{customer_id}"


def customer_facts(record: dict[str, Any]) -> str:
    """A CRM record as a line of the prompt, for agents that look the customer up in code."""
    return (f"CRM record: tier {record.get('tier')}, "
            f"account value {record.get('account_value')}.")


def decision(answer: TicketRouting, how: str) -> Decision:
    """The harness's Decision from the model's answer; `how` names the framework path."""
    return Decision(route=list(answer.routes), escalate=answer.escalate,
                    confidence=answer.confidence, reason=how)
