"""Unit-testing one agent call under one fault, without a traffic run.

    world = UnitWorld(fault={"kind": "timeout", "target": "llm"})
    outcome = world.call(my_agent, world.ticket(route="billing"))
    assert outcome.route == "billing"       # a Decision, or the exception the agent raised

The call runs exactly as in a run: on the simulated clock, against the simulated LLM and
tools, with the fault active from t=0 (or from its `at`). This is what the `sim_world`
fixture of the pytest plugin returns.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Sequence
from typing import Any

from .agents.decision import Decision, InvalidOutput, normalize
from .engine import Engine, run_in_own_thread_if_needed
from .records import TicketRecord
from .scenario import Scenario, scenario_from_dict
from .traffic.ticket import Customer, Message, Ticket
from .vclock import TicketTimeout

__all__ = ["UnitWorld"]

_DEFAULT_ROUTES = ["billing", "technical", "account", "shipping", "refund", "cancellation"]
# A message text no prompt contains: the simulated model cannot know a made-up ticket's route.
_UNKNOWABLE = "\x00(no truth given)\x00"


class UnitWorld:
    """The simulated world of a scenario, for one agent call at a time.

    `fault` (one fault entry as in a scenario's `faults:`) or `faults` (a list); `world`: a
    `world:` section (default tiers, CRM); `routes`: the routes tickets have; `agent`: an
    `agent:` section (timeouts, watchdog; not `ref`); `seed`: the world's seed.
    """

    def __init__(self, fault: dict[str, Any] | None = None, *,
                 faults: Sequence[dict[str, Any]] = (), world: dict[str, Any] | None = None,
                 routes: Sequence[str] | None = None, agent: dict[str, Any] | None = None,
                 seed: int = 0) -> None:
        self._data: dict[str, Any] = {
            "name": "unit-world", "seed": seed, "duration": 1,
            "agent": dict(agent or {}),
            "traffic": [{"synthetic": {"rate": "1/s",
                                       "routes": list(routes or _DEFAULT_ROUTES)}}],
            "world": copy.deepcopy(world or {}),
            "faults": [copy.deepcopy(f) for f in ([fault] if fault else []) + list(faults)],
        }
        self.scenario: Scenario = scenario_from_dict(self._data, "<sim_world>")
        self.seed = seed
        self.record: TicketRecord | None = None  # what the last call did (calls, cost, log)
        self._tickets: dict[str, Ticket] = {}
        self._generator: Any = None

    # -- tickets ---------------------------------------------------------------------
    def ticket(self, route: str | None = None, *, tags: Sequence[str] = (),
               channel: str | None = None) -> dict[str, Any]:
        """The payload of a generated ticket (with `route` and `tags`, if given), whose true
        route the simulated LLM knows, as in a run."""
        generator = self._synthetic()
        for index in range(5000):
            ticket = generator.make_ticket(index, 0.0)
            if route is not None and ticket.true_routes != [route]:
                continue
            if not set(tags) <= set(ticket.tags) or (channel and ticket.channel != channel):
                continue
            payload = ticket.payload(0, self.scenario.start)
            self._tickets[payload["id"]] = ticket
            return payload
        raise ValueError(f"no generated ticket has route={route!r}, tags={list(tags)}, "
                         f"channel={channel!r} (routes: {self._data['traffic'][0]})")

    def _synthetic(self) -> Any:
        if self._generator is None:
            engine = Engine(self.scenario, agent=lambda payload: "")
            self._generator = engine.traffic.sources[0].generator  # type: ignore[attr-defined]
        return self._generator

    def _ticket_for(self, payload: Any, route: str | Sequence[str] | None) -> Ticket:
        known = self._tickets.get(str(payload.get("id"))) if isinstance(payload, dict) else None
        if known is not None and route is None:
            return known
        truth = [route] if isinstance(route, str) else list(route or [])
        data: dict[str, Any] = payload if isinstance(payload, dict) else {}
        raw_customer = data.get("customer")
        customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
        customers = self._synthetic().customers()
        person = customers.get(str(customer.get("id"))) or Customer(
            id=str(customer.get("id", "C-unit")), name=str(customer.get("name", "")),
            email=str(customer.get("email", "")), tier="free", account_value=0.0)
        texts = [str(m["text"]) for m in data.get("messages", [])
                 if isinstance(m, dict) and isinstance(m.get("text"), str) and m["text"]]
        messages = [Message(text=t, routes=truth) for t in (texts if truth else [])[-1:]] or \
            [Message(text=_UNKNOWABLE, routes=truth)]
        return Ticket(id=str(data.get("id", "T-unit")),
                      conversation_id=str(data.get("conversation_id", data.get("id", "C-unit"))),
                      created_at=0.0, channel=str(data.get("channel", "email")),
                      language=str(data.get("language", "en")), customer=person,
                      subject=str(data.get("subject", "")), messages=messages)

    # -- calls -----------------------------------------------------------------------
    def call(self, agent: Any, payload: Any = None, *, route: str | Sequence[str] | None = None,
             at: float = 0.0) -> Decision | BaseException:
        """Call `agent` once with `payload` at simulated time `at` (default: a generated
        ticket). Returns the agent's Decision, or the exception it raised (a timeout is a
        `TicketTimeout`, output that is not a decision an `InvalidOutput`).

        `route`: the true route of a payload you wrote yourself (without it the simulated
        LLM cannot know the answer and guesses, as it does for a prompt without the ticket).
        """
        if payload is None:
            payload = self.ticket()
        ticket = self._ticket_for(payload, route)
        scenario = self.scenario if at <= 0 else self.scenario.with_overrides(
            {"duration": at + 1})
        engine = _OneEvent(scenario, agent, self.seed, ticket, payload, at)
        output = _run(engine)
        self.record = output.records[0]
        if engine.raised is not None:
            return engine.raised
        status, error = self.record.status, self.record.error or self.record.status
        if status == "ok" and engine.returned is not None:
            return engine.returned
        if status == "invalid_output":
            return InvalidOutput(error)
        return TicketTimeout(error)


class _Given(Ticket):
    """A ticket whose payload is exactly what the test passed (input faults still apply)."""

    __slots__ = ("given",)
    given: Any

    def payload(self, event: int, epoch: Any) -> dict[str, Any]:
        return copy.deepcopy(self.given)  # type: ignore[no-any-return]


class _OneTicket:
    """A traffic source of one ticket, arriving at `at`."""

    def __init__(self, ticket: Ticket, at: float, routes: list[str]) -> None:
        self.ticket = ticket
        self.at = at
        self.routes = routes

    def tickets(self) -> Any:
        self.ticket.created_at = self.at
        yield self.ticket

    def report(self) -> None:
        return None


class _OneEvent(Engine):
    """The engine with one ticket for traffic, remembering what the agent returned/raised."""

    def __init__(self, scenario: Scenario, agent: Any, seed: int, ticket: Ticket,
                 payload: Any, at: float) -> None:
        given = _Given(**{f.name: getattr(ticket, f.name) for f in dataclasses.fields(Ticket)})
        given.given = payload
        self._one = given
        self._at = max(at, 0.0)
        self.raised: BaseException | None = None
        self.returned: Decision | None = None
        super().__init__(scenario, agent=agent, seed=seed)
        # the real generator's customers stay in the CRM; the one ticket is the traffic
        customers = self.traffic.customers
        if isinstance(customers, dict):
            customers.setdefault(given.customer.id, given.customer)
        self.traffic.sources = [_OneTicket(given, self._at, self.routes)]
        handler, runner = self.handler, self.runner
        assert runner is not None  # sim_world calls agents in this process
        self.handler = runner.handler = dataclasses.replace(
            handler, call=self._watch_async(handler.call) if handler.is_async
            else self._watch(handler.call))

    def _keep(self, value: Any) -> Any:
        try:
            self.returned = normalize(value)
        except InvalidOutput:
            pass
        return value

    def _watch(self, call: Any) -> Any:
        def watched(*args: Any) -> Any:
            try:
                return self._keep(call(*args))
            except BaseException as exc:
                self.raised = exc
                raise
        return watched

    def _watch_async(self, call: Any) -> Any:
        async def watched(*args: Any) -> Any:
            try:
                value = call(*args)
                return self._keep(await value if inspect.isawaitable(value) else value)
            except BaseException as exc:
                self.raised = exc
                raise
        return watched


def _run(engine: Engine) -> Any:
    """Run here, or on a helper thread when an event loop already runs here (notebooks)."""
    return run_in_own_thread_if_needed(engine, "simharness-unit-world")
