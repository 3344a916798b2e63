"""The ticket: what the agent is shown (payload) and what only the harness knows (truth)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer of the simulated business. The CRM serves all of it; the agent sees only
    id, name and email. Immutable: runs in one process share a customer base."""

    id: str
    name: str
    email: str
    tier: str
    account_value: float


@dataclass(slots=True)
class Message:
    """One turn of a conversation, delivered to the agent as its own event.

    `delay` is seconds after the ticket was created. `routes` is the right routing if the
    conversation ended after this message. `needs_context` marks a message whose text alone
    does not say the route (a mind change that refers back to an earlier message).
    """

    text: str
    routes: list[str]
    delay: float = 0.0
    role: str = "customer"
    needs_context: bool = False


@dataclass(slots=True)
class Ticket:
    """A support conversation: one or more messages, each an event that calls the agent."""

    id: str
    conversation_id: str
    created_at: float
    channel: str
    language: str
    customer: Customer
    subject: str
    messages: list[Message]
    tags: list[str] = field(default_factory=list)
    escalate: bool = False
    #: Where a replayed ticket came from ("tickets.csv:17"); empty for synthetic ones.
    origin: str = ""
    #: What production decided back then (replayed tickets with a past_route column).
    past_routes: list[str] | None = None
    past_escalate: bool | None = None

    @property
    def true_routes(self) -> list[str]:
        """The final routing: a mind change is scored on the last message."""
        return self.messages[-1].routes

    def payload(self, event: int, epoch: datetime) -> dict[str, Any]:
        """The JSON-compatible webhook body for event `event` (message index).

        The agent never sees the truth nor the account value. A follow-up event carries only
        its own new message, like a chat platform's "new message" webhook.
        """
        message = self.messages[event]
        base, tz = epoch.timestamp(), epoch.tzinfo
        created = datetime.fromtimestamp(base + self.created_at, tz).isoformat()
        at = created if not message.delay else datetime.fromtimestamp(
            base + self.created_at + message.delay, tz).isoformat()
        return {
            "id": self.id if event == 0 else f"{self.id}-{event}",
            "conversation_id": self.conversation_id,
            "created_at": created,
            "channel": self.channel,
            "language": self.language,
            "customer": {
                "id": self.customer.id,
                "name": self.customer.name,
                "email": self.customer.email,
            },
            "subject": self.subject,
            "messages": [{"role": message.role, "text": message.text, "at": at}],
        }
