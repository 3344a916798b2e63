"""The `traffic:` section of a scenario: where tickets come from and when."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..config_base import ConfigModel as _Model
from ..config_base import Fraction, NonEmptyStr
from ..config_base import unique as _unique
from ..distributions import Distribution, UniformDist
from ..units import Duration, Rate

#: Ticket tags an accuracy can be given for (TagMix draws the first four; "malformed" is a fault).
TAGS = ("multi_issue", "mind_change", "high_value", "ambiguous", "malformed")


class TagMix(_Model):
    """Share of tickets carrying each edge-case tag."""

    multi_issue: Fraction = Field(
        default=0.0, description="Share of tickets with two issues at once."
    )
    mind_change: Fraction = Field(
        default=0.0, description="Share where the customer changes the request."
    )
    high_value: Fraction = Field(
        default=0.0, description="Share from high-value accounts (independent)."
    )
    ambiguous: Fraction = Field(
        default=0.0, description="Share whose text does not clearly say the route."
    )

    @model_validator(mode="after")
    def _exclusive_kinds(self) -> TagMix:
        total = self.multi_issue + self.mind_change + self.ambiguous
        if total > 1 + 1e-9:
            raise ValueError(
                f"multi_issue + mind_change + ambiguous must be at most 1 "
                f"(a ticket is at most one of them), got {total:g}"
            )
        return self


class RateStep(_Model):
    """From `at` until the next step, tickets arrive at `rate`."""

    at: Duration = Field(description="Simulated time the step starts, e.g. '10m'.")
    rate: Rate = Field(description="Arrival rate from then on, e.g. '2/s'.")


def _default_follow_up() -> UniformDist:
    return UniformDist(low=60, high=600)


class SyntheticTraffic(_Model):
    """Generated tickets: Poisson arrivals at a constant rate or a piecewise-constant schedule."""

    rate: Rate | None = Field(
        default=None, description="Constant arrival rate, e.g. '2/s' or '120/m'."
    )
    schedule: list[RateStep] | None = Field(
        default=None, min_length=1,
        description="Piecewise-constant rate, sorted by `at` (rate 0 before the first step).",
    )
    routes: Annotated[list[NonEmptyStr], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["billing", "technical", "account", "shipping", "refund",
                                 "cancellation"],
        min_length=1, description="Queues a ticket can be routed to (unique names).",
    )
    mix: TagMix = Field(default_factory=TagMix, description="Share of edge-case tickets.")
    follow_up_delay: Distribution = Field(
        default_factory=_default_follow_up,
        description="Delay before a follow-up message of the same conversation.",
    )
    start: Duration = Field(default=0.0, description="Simulated time this source starts sending.")
    until: Duration | None = Field(
        default=None, description="Simulated time it stops (default: never)."
    )
    channels: Annotated[list[NonEmptyStr], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["email", "chat", "web"], min_length=1,
        description="Channels tickets arrive through, picked uniformly.",
    )
    languages: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"en": 1.0}, min_length=1,
        description="Language codes and their relative weights.",
    )

    @field_validator("schedule")
    @classmethod
    def _sorted(cls, steps: list[RateStep] | None) -> list[RateStep] | None:
        for i in range(1, len(steps or [])):
            assert steps is not None
            if steps[i].at <= steps[i - 1].at:
                raise ValueError(
                    f"steps must be sorted by 'at': step {i} (at {steps[i].at:g}s) "
                    f"is not after step {i - 1} (at {steps[i - 1].at:g}s)"
                )
        return steps

    @field_validator("languages")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if weights and sum(weights.values()) <= 0:
            raise ValueError("at least one language needs a weight above 0")
        return weights

    @model_validator(mode="after")
    def _one_rate(self) -> SyntheticTraffic:
        if (self.rate is None) == (self.schedule is None):
            raise ValueError("give exactly one of 'rate' or 'schedule'")
        if self.until is not None and self.until <= self.start:
            raise ValueError(f"until ({self.until:g}s) must be after start ({self.start:g}s)")
        return self

    def rate_steps(self) -> list[tuple[float, float]]:
        """(start time, rate) pairs, piecewise constant, beginning at t=0."""
        if self.rate is not None:
            return [(0.0, self.rate)]
        steps = [(s.at, s.rate) for s in self.schedule or []]
        return steps if steps and steps[0][0] == 0 else [(0.0, 0.0), *steps]

    def rate_at(self, t: float) -> float:
        """Arrival rate at simulated time `t` (ignores `start`/`until`)."""
        current = 0.0
        for at, rate in self.rate_steps():
            if at > t:
                break
            current = rate
        return current


#: Payload and truth fields a replayed row can fill, and what each means.
REPLAY_FIELDS: dict[str, str] = {
    "text": "The message text: a column, or a template over columns like "
            "'{subject}: {body}' (required).",
    "subject": "The ticket's subject line.",
    "customer": "The customer's id; the simulated CRM serves every customer named here.",
    "customer_name": "The customer's name (default: a made-up name, fixed per id).",
    "customer_email": "The customer's email (default: made up from the name).",
    "tier": "The customer's tier in the CRM (default: drawn as for synthetic customers).",
    "account_value": "The account value in the CRM (default: drawn as for synthetic "
                     "customers).",
    "channel": "The channel (default 'email').",
    "language": "The language code (default 'en').",
    "conversation_id": "Rows sharing it form one conversation; later rows are follow-ups.",
    "timestamp": "When the row was created: ISO 8601, epoch seconds or ms, or "
                 "`timestamp_format`.",
    "route": "The right route(s): one label, a list, or a delimited string "
             "(`route_delimiter`). Without it the run has no accuracy.",
    "escalate": "Whether the ticket should have been escalated (true/false, yes/no, 1/0).",
    "tags": "Tags of the ticket (a list or a delimited string), e.g. multi_issue.",
    "past_route": "What production routed the ticket to back then (shadow comparison).",
    "past_escalate": "Whether production escalated it back then (shadow comparison).",
}


class ReplayColumns(_Model):
    """Which column fills each payload and truth field. A value containing `{...}` is a
    template over several columns (`{{` and `}}` are literal braces)."""

    text: NonEmptyStr = Field(description=REPLAY_FIELDS["text"])
    subject: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["subject"])
    customer: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["customer"])
    customer_name: NonEmptyStr | None = Field(default=None,
                                              description=REPLAY_FIELDS["customer_name"])
    customer_email: NonEmptyStr | None = Field(default=None,
                                               description=REPLAY_FIELDS["customer_email"])
    tier: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["tier"])
    account_value: NonEmptyStr | None = Field(default=None,
                                              description=REPLAY_FIELDS["account_value"])
    channel: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["channel"])
    language: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["language"])
    conversation_id: NonEmptyStr | None = Field(default=None,
                                                description=REPLAY_FIELDS["conversation_id"])
    timestamp: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["timestamp"])
    route: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["route"])
    escalate: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["escalate"])
    tags: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["tags"])
    past_route: NonEmptyStr | None = Field(default=None, description=REPLAY_FIELDS["past_route"])
    past_escalate: NonEmptyStr | None = Field(default=None,
                                              description=REPLAY_FIELDS["past_escalate"])

    def mapped(self) -> dict[str, str]:
        """field -> column (or template), for the fields that are mapped."""
        return {name: value for name, value in self if value is not None}


class RateTiming(_Model):
    """Re-time the rows as Poisson arrivals at this rate (file order kept)."""

    rate: Rate = Field(gt=0, description="Arrival rate, e.g. '5/s'.")


class EveryTiming(_Model):
    """Re-time the rows at a fixed spacing (file order kept)."""

    every: Duration = Field(gt=0, description="Time between two tickets, e.g. '2s'.")


#: A filter value: equal to it, one of a list, or `{not: ...}` (e.g. `{not: ""}`: non-empty).
FilterValue = str | int | float | bool | list[str | int | float | bool] | dict[str, Any]


class ReplayTraffic(_Model):
    """Historical tickets from a file (CSV, JSONL, JSON or Parquet), replayed as traffic."""

    path: NonEmptyStr = Field(
        description="The file, relative to the scenario file: .csv/.tsv, .jsonl/.ndjson, "
        ".json (an array, or `records` keys holding arrays), or .parquet (needs pyarrow).")
    format: Literal["csv", "tsv", "jsonl", "json", "parquet"] | None = Field(
        default=None, description="File format (default: from the file's suffix).")
    records: NonEmptyStr | list[NonEmptyStr] | None = Field(
        default=None, description="JSON documents: the key(s) whose arrays hold the rows, "
        "e.g. 'test' or [test, oos_test]. A row that is an array has columns '0', '1', ...")
    encoding: NonEmptyStr = Field(default="utf-8", description="Text encoding of CSV/JSONL.")
    delimiter: str | None = Field(
        default=None, min_length=1, max_length=1,
        description="CSV field delimiter (default ',' and tab for .tsv).")
    columns: ReplayColumns = Field(description="Which column fills each field.")
    route_delimiter: str | None = Field(
        default=None, min_length=1,
        description="Splits a route cell holding several labels, e.g. '|' (multi-issue).")
    tags_delimiter: str = Field(default=",", min_length=1,
                                description="Splits a tags cell holding several tags.")
    timestamp_format: NonEmptyStr = Field(
        default="auto", description="'auto' (ISO 8601, or epoch seconds/ms for numbers), "
        "'iso', 'epoch_s', 'epoch_ms', or a strptime format like '%Y/%m/%d %H:%M'.")
    label_map: NonEmptyStr | dict[str, Any] | list[NonEmptyStr | dict[str, Any]] | None = Field(
        default=None, description="Renames labels to routes: {label: route}, or "
        "{route: [labels]}; or a YAML/JSON file of either, or a list of files and mappings. "
        "Labels not in the map stay as they are.")
    routes: Annotated[list[NonEmptyStr], AfterValidator(_unique)] | None = Field(
        default=None, min_length=1,
        description="The routes (after label_map); a row with another label is unreadable. "
        "Default: every label in the data is a route.")
    where: dict[str, FilterValue] = Field(
        default_factory=dict, description="Row filters by column: a value, a list of values, "
        "or {not: value-or-list}.")
    limit: int | None = Field(default=None, ge=1,
                              description="Replay at most this many tickets (after filters).")
    sample: float | None = Field(
        default=None, gt=0, description="Replay a random sample: a share (0 < x < 1) or a "
        "number of tickets (x >= 1).")
    shuffle: bool = Field(default=False, description="Replay in random order (with timing "
                                                     "rate or every).")
    seed: int | None = Field(default=None,
                             description="Seed of sample and shuffle (default: the run's).")
    timing: Literal["original"] | RateTiming | EveryTiming | None = Field(
        default=None, description="'original' (the timestamps, default when a timestamp "
        "column is mapped), {rate: 5/s} (Poisson) or {every: 2s}.")
    speedup: float = Field(default=1.0, gt=0,
                           description="Original time gaps are divided by this, e.g. 60.")
    start: Duration = Field(default=0.0, description="Simulated time this source starts "
                                                     "sending.")
    follow_up_delay: Distribution = Field(
        default_factory=_default_follow_up,
        description="Delay between follow-ups of a conversation without timestamps.")
    strict: bool = Field(default=False, description="Stop at the first unreadable row "
                                                    "instead of skipping it.")

    @field_validator("where")
    @classmethod
    def _filters(cls, where: dict[str, Any]) -> dict[str, Any]:
        for column, value in where.items():
            if isinstance(value, dict) and set(value) != {"not"}:
                raise ValueError(f"filter on {column!r}: a mapping must be {{not: value}}, "
                                 f"got keys {sorted(value)}")
        return where

    @model_validator(mode="after")
    def _timing(self) -> ReplayTraffic:
        if self.timing is None:
            if self.columns.timestamp is None:
                raise ValueError("no timestamp column: give `timing: {rate: 5/s}` or "
                                 "`timing: {every: 2s}`, or map `columns.timestamp`")
            self.timing = "original"
        if self.timing == "original":
            if self.columns.timestamp is None:
                raise ValueError("timing 'original' needs a timestamp column "
                                 "(columns.timestamp)")
            if self.shuffle:
                raise ValueError("shuffle changes the order, original timing keeps it: "
                                 "use `timing: {rate: ...}` to shuffle")
        return self

    def known_routes(self) -> list[str]:
        """Routes known before reading the file: `routes`, else the label map's targets."""
        return list(self.routes or [])


class TrafficSource(_Model):
    """One source of tickets; exactly one kind is given: `synthetic` or `replay`."""

    synthetic: SyntheticTraffic | None = Field(default=None, description="Generated tickets.")
    replay: ReplayTraffic | None = Field(default=None, description="Historical tickets "
                                                                   "from a file.")

    @model_validator(mode="after")
    def _one_kind(self) -> TrafficSource:
        kinds = [k for k in ("synthetic", "replay") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a traffic source needs exactly one kind: 'synthetic' or 'replay'")
        return self

    @property
    def routes(self) -> list[str]:
        """The routes this source is known to use before it runs."""
        if self.synthetic is not None:
            return list(self.synthetic.routes)
        assert self.replay is not None
        return self.replay.known_routes()
