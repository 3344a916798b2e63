"""The scenario file: what to simulate, for how long, against which agent, with which faults.

The pydantic models below ARE the file format (their JSON Schema documents it). The loaders
turn every validation failure into `file:line:col path: message` lines, all at once, so a
user fixes a broken scenario in one pass instead of one error per run.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._yaml import SourceMap, format_path, load_yaml
from .errors import ErrorLocation, ScenarioError
from .slo import Bound, parse_bound
from .units import Duration, Rate

__all__ = [
    "TAGS", "Accuracy", "AgentConfig", "Bound", "Distribution", "EscalationConfig",
    "ExponentialDist", "FaultSpec", "FixedDist", "HumanReviewConfig", "LLMConfig", "LLMTier",
    "LognormalDist", "Price", "RateStep", "Scenario", "SyntheticTraffic", "TagMix", "ToolConfig",
    "TrafficSource", "UniformDist", "WorldConfig", "load_scenario", "parse_bound",
    "parse_path", "scenario_from_dict", "scenario_from_yaml",
]

#: Ticket tags an accuracy can be given for (TagMix draws the first four; "malformed" is a fault).
TAGS = ("multi_issue", "mind_change", "high_value", "ambiguous", "malformed")
_Z95 = 1.6448536269514722  # standard normal 95th percentile


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


Fraction = Annotated[float, Field(ge=0, le=1)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


# --------------------------------------------------------------------------- distributions

class FixedDist(_Model):
    """Always the same value."""

    dist: Literal["fixed"] = Field(default="fixed", description="Distribution kind.")
    value: Duration = Field(description="The value, e.g. '200ms'.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=float)

    def mean(self) -> float:
        return self.value


class ExponentialDist(_Model):
    """Memoryless waits: service times of a busy tool, gaps between Poisson arrivals."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    dist: Literal["exponential"] = Field(default="exponential", description="Distribution kind.")
    mean_: Duration = Field(alias="mean", description="Mean value, e.g. '50ms'.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)

    def mean(self) -> float:
        return self.mean_


class LognormalDist(_Model):
    """Right-skewed latencies, given the way people quote them: a median and a p95."""

    dist: Literal["lognormal"] = Field(default="lognormal", description="Distribution kind.")
    median: Duration = Field(gt=0, description="Median (50th percentile), e.g. '0.4s'.")
    p95: Duration = Field(description="95th percentile, above the median, e.g. '1.2s'.")

    @model_validator(mode="after")
    def _p95_above_median(self) -> LognormalDist:
        if self.p95 <= self.median:
            raise ValueError(f"p95 ({self.p95:g}s) must be above the median ({self.median:g}s)")
        return self

    @property
    def mu(self) -> float:
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        return (math.log(self.p95) - self.mu) / _Z95

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)

    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)


class UniformDist(_Model):
    """Any value between low and high, equally likely."""

    dist: Literal["uniform"] = Field(default="uniform", description="Distribution kind.")
    low: Duration = Field(description="Smallest value.")
    high: Duration = Field(description="Largest value (at least `low`).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}s) must be at least low ({self.low:g}s)")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def mean(self) -> float:
        return (self.low + self.high) / 2


Distribution = Annotated[
    FixedDist | ExponentialDist | LognormalDist | UniformDist, Field(discriminator="dist")
]
DIST_KINDS = ("fixed", "exponential", "lognormal", "uniform")


# --------------------------------------------------------------------------- traffic

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


def _unique(values: list[str]) -> list[str]:
    seen = {v for v in values if values.count(v) > 1}
    if seen:
        raise ValueError(f"duplicate entries: {', '.join(repr(v) for v in sorted(seen))}")
    return values


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


class TrafficSource(_Model):
    """One source of tickets; exactly one kind is given (today only `synthetic`)."""

    synthetic: SyntheticTraffic | None = Field(default=None, description="Generated tickets.")

    @model_validator(mode="after")
    def _one_kind(self) -> TrafficSource:
        if self.synthetic is None:
            raise ValueError("a traffic source needs a kind: 'synthetic'")
        return self


# --------------------------------------------------------------------------- world

class Price(_Model):
    """What one million tokens cost, in dollars."""

    input_per_mtok: float = Field(
        default=0.15, ge=0, description="Dollars per million prompt tokens."
    )
    output_per_mtok: float = Field(
        default=0.60, ge=0, description="Dollars per million output tokens."
    )


class Accuracy(_Model):
    """Probability the simulated model labels a ticket right, overall and per ticket tag."""

    default: Fraction = Field(default=0.9, description="Accuracy on a ticket with no harder tag.")
    multi_issue: Fraction | None = Field(
        default=None, description="Accuracy on multi-issue tickets."
    )
    mind_change: Fraction | None = Field(
        default=None, description="Accuracy on mind-change tickets."
    )
    high_value: Fraction | None = Field(default=None, description="Accuracy on high-value tickets.")
    ambiguous: Fraction | None = Field(default=None, description="Accuracy on ambiguous tickets.")
    malformed: Fraction | None = Field(default=None, description="Accuracy on malformed tickets.")

    def for_tags(self, tags: list[str]) -> float:
        """The hardest tag wins: the minimum of `default` and the values of the tags present."""
        values = [getattr(self, t) for t in tags if t in TAGS]
        return min([self.default, *(v for v in values if v is not None)])


class LLMTier(_Model):
    """One model size of the simulated LLM API."""

    latency: Distribution = Field(
        default_factory=lambda: LognormalDist(median=0.5, p95=1.5),
        description="Time to first token.",
    )
    per_output_token: Duration = Field(default=0.0, description="Extra time per output token.")
    price: Price = Field(default_factory=Price, description="Token prices.")
    accuracy: Accuracy = Field(default_factory=Accuracy, description="Labelling accuracy.")
    rpm: int | None = Field(
        default=None, ge=1, description="Requests per minute before 429s (none: no limit)."
    )
    context_tokens: int = Field(
        default=128000, ge=1, description="Largest prompt it accepts, in tokens."
    )
    capacity: int | None = Field(
        default=None, ge=1, description="Concurrent requests it serves (none: no limit)."
    )
    aliases: list[NonEmptyStr] = Field(
        default_factory=list,
        description="Other model names that reach this tier, e.g. 'gpt-4o-mini'.",
    )


def _default_tiers() -> dict[str, LLMTier]:
    return {
        "small": LLMTier(
            latency=LognormalDist(median=0.4, p95=1.2),
            price=Price(input_per_mtok=0.15, output_per_mtok=0.60),
            accuracy=Accuracy(default=0.86, ambiguous=0.6, multi_issue=0.55),
            rpm=3000,
        ),
        "large": LLMTier(
            latency=LognormalDist(median=1.5, p95=4.0),
            price=Price(input_per_mtok=2.50, output_per_mtok=10.00),
            accuracy=Accuracy(default=0.96, ambiguous=0.8, multi_issue=0.85),
            rpm=1000,
        ),
    }


class LLMConfig(_Model):
    """The simulated OpenAI-compatible LLM API and its tiers."""

    tiers: dict[NonEmptyStr, LLMTier] = Field(
        default_factory=_default_tiers, min_length=1,
        description="Model tiers by name. Default: 'small' (0.4s/1.2s, $0.15/$0.60, accuracy "
        "0.86, rpm 3000) and 'large' (1.5s/4s, $2.50/$10.00, accuracy 0.96, rpm 1000). "
        "If given, exactly these tiers exist.",
    )
    response_format: Literal["json", "label"] = Field(
        default="json", description="How the simulated model answers: JSON or a bare label."
    )

    @model_validator(mode="after")
    def _names_unique(self) -> LLMConfig:
        owner: dict[str, str] = {name: name for name in self.tiers}
        for name, tier in self.tiers.items():
            for alias in tier.aliases:
                if alias in owner and owner[alias] != name:
                    raise ValueError(
                        f"model name {alias!r} is used by tiers {owner[alias]!r} and {name!r}"
                    )
                owner[alias] = name
        return self

    def resolve(self, model: str) -> str | None:
        """The tier a requested model name reaches (its own name or an alias), else None."""
        if model in self.tiers:
            return model
        return next((n for n, t in self.tiers.items() if model in t.aliases), None)


class ToolConfig(_Model):
    """A simulated tool the agent calls over HTTP (the CRM, ...)."""

    latency: Distribution = Field(
        default_factory=lambda: ExponentialDist(mean=0.05), description="Time to answer."
    )
    capacity: int | None = Field(
        default=None, ge=1, description="Concurrent requests it serves (none: no limit)."
    )


class EscalationConfig(_Model):
    """Which tickets must go to a human."""

    account_value_at_least: float = Field(
        default=100000, ge=0, description="Tickets from accounts worth this much must be escalated."
    )


class HumanReviewConfig(_Model):
    """People who take the tickets an agent hands over (it predicts route `human_review`)."""

    cost_per_ticket: float = Field(
        default=0.0, ge=0, description="Dollars one human review of a ticket costs."
    )


class WorldConfig(_Model):
    """Everything the agent talks to."""

    llm: LLMConfig = Field(default_factory=LLMConfig, description="The simulated LLM API.")
    tools: dict[NonEmptyStr, ToolConfig] = Field(
        default_factory=lambda: {"crm": ToolConfig()},
        description="Simulated tools by name; 'crm' always exists.",
    )
    escalation: EscalationConfig = Field(
        default_factory=EscalationConfig, description="Escalation policy."
    )
    sla: Duration | None = Field(
        default=None, gt=0,
        description="Time to a decision the customer expects, e.g. '30s' "
        "(gives the metric latency.sla_breach_rate).",
    )
    human_review: HumanReviewConfig = Field(
        default_factory=HumanReviewConfig,
        description="What handing a ticket to a person costs (cost.human_review_usd).",
    )

    @field_validator("tools")
    @classmethod
    def _crm_exists(cls, tools: dict[str, ToolConfig]) -> dict[str, ToolConfig]:
        return tools if "crm" in tools else {"crm": ToolConfig(), **tools}


# --------------------------------------------------------------------------- agent, faults

_REF_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class AgentConfig(_Model):
    """The agent under test and how the harness runs it."""

    ref: str | None = Field(
        default=None, description="'package.module:attr' of an agent class, factory or function."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the class or factory."
    )
    workers: int = Field(default=8, ge=1, description="Events the agent handles concurrently.")
    watchdog: Duration = Field(
        default=5.0, gt=0,
        description="Wall seconds agent code may run without yielding before the ticket is hung.",
    )
    ticket_timeout: Duration = Field(
        default=600.0, gt=0, description="Simulated seconds one event may take."
    )
    http_timeout: Duration = Field(default=60.0, gt=0, description="Default timeout of ctx.http.")

    @field_validator("ref")
    @classmethod
    def _ref_shape(cls, ref: str | None) -> str | None:
        if ref is not None and not _REF_RE.match(ref):
            raise ValueError(f"expected 'package.module:attr', got {ref!r}")
        return ref


class FaultSpec(BaseModel):
    """A fault injected into the world during a time window; extra fields go to its kind."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str | None = Field(default=None, description="Unique name (default '<kind>-<index>').")
    kind: NonEmptyStr = Field(description="Fault kind, e.g. 'outage', 'latency', 'rate_limit'.")
    target: str | None = Field(
        default=None, description="'llm', 'llm.<tier>' or 'tools.<name>' (some kinds need none)."
    )
    at: Duration | None = Field(default=None, description="Start time; use with `duration`.")
    duration: Duration | None = Field(
        default=None, description="How long from `at` (default: to the end)."
    )
    from_: Duration | None = Field(
        default=None, alias="from", description="Start time; use with `until`."
    )
    until: Duration | None = Field(
        default=None, description="End time (default: the end of the run)."
    )
    probability: Fraction = Field(default=1.0, description="Chance each affected call is hit.")
    ramp: Duration | None = Field(
        default=None,
        description="Intensity rises linearly from 0 to `probability` over this long "
        "from each window start (default: full intensity at once).",
    )
    every: Duration | None = Field(
        default=None, gt=0,
        description="Repeat period: with `for`, the fault is active for `for` out of every "
        "`every` seconds inside its window.",
    )
    for_: Duration | None = Field(
        default=None, gt=0, alias="for",
        description="How long each repeat is active (with `every`, at most `every`).",
    )
    per: Literal["call", "ticket"] | None = Field(
        default=None,
        description="Draw `probability` per 'call' or once per 'ticket' (default: the kind's).",
    )

    @model_validator(mode="after")
    def _one_window_style(self) -> FaultSpec:
        if (self.at is not None or self.duration is not None) and (
            self.from_ is not None or self.until is not None
        ):
            raise ValueError("use either 'at' (with 'duration') or 'from'/'until', not both")
        if self.duration is not None and self.at is None:
            raise ValueError("'duration' needs 'at'")
        start, end = self.window()
        if end <= start:
            raise ValueError(f"'until' ({end:g}s) must be after 'from' ({start:g}s)")
        if (self.every is None) != (self.for_ is None):
            raise ValueError("'every' and 'for' go together: give both or neither")
        if self.every is not None and self.for_ is not None and self.for_ > self.every:
            raise ValueError(f"'for' ({self.for_:g}s) must be at most 'every' ({self.every:g}s)")
        return self

    def window(self) -> tuple[float, float]:
        """(start, end) in simulated seconds; end is math.inf when the fault never ends."""
        if self.at is not None:
            return self.at, (self.at + self.duration if self.duration is not None else math.inf)
        start = self.from_ if self.from_ is not None else 0.0
        return start, (self.until if self.until is not None else math.inf)

    def params(self) -> dict[str, Any]:
        """The kind-specific fields, for the fault registry to validate."""
        return dict(self.model_extra or {})


def _fault_fields() -> list[str]:
    """The fields every fault has, as written in a file ('from', 'for', not 'from_')."""
    return [f.alias or n for n, f in FaultSpec.model_fields.items()]


def _fault_issues(index: int, raw: Any) -> list[_Issue]:
    """Check one `faults:` entry against the fault registry: its kind and its parameters.

    Works on the data as written, so a fault with another mistake is still checked.
    """
    if isinstance(raw, FaultSpec):
        kind: Any = raw.kind
        params = raw.params()
    elif isinstance(raw, dict):
        kind = raw.get("kind")
        common = {n for name, f in FaultSpec.model_fields.items() for n in (name, f.alias) if n}
        params = {k: v for k, v in raw.items() if k not in common}
    else:
        return []  # FaultSpec validation says what is wrong
    if not isinstance(kind, str) or not kind:
        return []
    import fault_injectors  # lazily: the injectors import parts of simharness

    here: tuple[str | int, ...] = ("faults", index)
    try:
        injector = fault_injectors.get(kind)
    except KeyError as exc:
        return [_Issue((*here, "kind"), str(exc.args[0]))]
    except Exception as exc:  # a broken plugin in the entry-point group
        return [_Issue((*here, "kind"), f"cannot load the fault injectors: "
                                        f"{type(exc).__name__}: {exc}")]
    return _param_issues(here, kind, injector.Params, params)


def _param_issues(here: tuple[str | int, ...], kind: str, model: type[BaseModel],
                  params: dict[str, Any]) -> list[_Issue]:
    """Validate a fault's kind-specific fields with its injector's `Params` model."""
    names = [f.alias or n for n, f in model.model_fields.items()]
    issues: list[_Issue] = []
    extra = model.model_config.get("extra")
    if extra not in ("allow", "forbid"):
        # Params that ignore unknown fields would let a typo slip through silently.
        accepted = {n for name, f in model.model_fields.items() for n in (name, f.alias) if n}
        unknown = [k for k in params if k not in accepted]
        issues += [_Issue((*here, k), _unknown_param(k, kind, names), key=True) for k in unknown]
        params = {k: v for k, v in params.items() if k not in unknown}
    try:
        model.model_validate(params)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            path = (*here, *loc)
            if error["type"] == "extra_forbidden":
                message = (_unknown_param(str(loc[-1]), kind, names) if len(loc) == 1
                           else f"unknown field {loc[-1]!r}")
                issues.append(_Issue(path, message, key=True))
            elif error["type"] == "missing":
                issues.append(_Issue(path[:-1], f"missing required field {loc[-1]!r} "
                                                f"for fault kind {kind!r}"))
            elif error["type"] == "union_tag_invalid":
                ctx = error["ctx"]
                disc = ctx["discriminator"].strip("'")
                issues.append(_Issue((*path, disc), f"unknown {disc} {ctx['tag']!r}, "
                                                    f"expected one of {ctx['expected_tags']}"))
            else:
                issues.append(_Issue(path, _message(error)))
    return issues


def _unknown_param(key: str, kind: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, [*names, *_fault_fields()], n=1, cutoff=0.6)
    if close:
        hint = f"; did you mean {close[0]!r}?"
    elif names:
        hint = f" (its parameters: {', '.join(names)})"
    else:
        hint = " (it takes no parameters)"
    return f"unknown field {key!r} for fault kind {kind!r}{hint}"


def _bound_text(value: Any) -> str:
    parse_bound(value)
    return value.strip()


# --------------------------------------------------------------------------- scenario

_ISSUES = "simharness.scenario.issues"


class _Issue(NamedTuple):
    """A problem found by a check that spans fields; `path` is where in the data it is."""

    path: tuple[str | int, ...]
    message: str
    key: bool = False  # point at the key (an unknown field) rather than its value


def _report(issues: list[_Issue], info: ValidationInfo) -> None:
    """Hand issues to the loader (which adds line numbers), or fail with their paths."""
    sink = (info.context or {}).get(_ISSUES)
    if sink is not None:
        sink.extend(issues)
    elif issues:
        raise ValueError("; ".join(f"{format_path(i.path)}: {i.message}" for i in issues))


class Scenario(_Model):
    """A simulation run: traffic into an agent, a simulated world, faults, and expectations."""

    name: NonEmptyStr = Field(description="Short name, used in reports and file names.")
    description: str = Field("", description="What this scenario checks, in prose.")
    seed: int = Field(default=0, description="Random seed; the same seed gives the same run.")
    duration: Duration = Field(gt=0, description="How long tickets keep arriving, e.g. '1h'.")
    start: datetime = Field(
        default=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        description="Simulated wall-clock time at t=0 (naive times are UTC).",
    )
    drain: Duration = Field(
        default=600.0, description="After `duration`, how long tickets in flight may still finish."
    )
    agent: AgentConfig = Field(default_factory=AgentConfig, description="The agent under test.")
    traffic: list[TrafficSource] = Field(min_length=1, description="Where tickets come from.")
    world: WorldConfig = Field(default_factory=WorldConfig, description="The simulated world.")
    faults: list[FaultSpec] = Field(default_factory=list, description="Faults to inject.")
    expect: dict[str, Annotated[str, BeforeValidator(_bound_text)]] = Field(
        default_factory=dict,
        description="Metric name -> bound, e.g. 'routing.accuracy': '>= 0.8', "
        "'latency.p95': '<= 30s', 'cost.total_usd': 'between 1 and 5'. "
        "Unknown metric names are errors.",
    )

    _source: str = PrivateAttr("<scenario>")
    _raw: dict[str, Any] | None = PrivateAttr(None)
    _positions: SourceMap = PrivateAttr(default_factory=SourceMap)

    @field_validator("start", mode="before")
    @classmethod
    def _date_is_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day)
        return value

    @field_validator("start")
    @classmethod
    def _naive_is_utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: Any) -> Scenario:
        scenario = handler(data)
        if isinstance(data, dict) and scenario._raw is None:
            scenario._raw = copy.deepcopy(data)
        return scenario

    @field_validator("faults", mode="before")
    @classmethod
    def _known_fault_kinds(cls, faults: Any, info: ValidationInfo) -> Any:
        """Every fault's kind is registered and its kind-specific fields fit that kind."""
        if isinstance(faults, list):
            _report([issue for i, raw in enumerate(faults) for issue in _fault_issues(i, raw)],
                    info)
        return faults

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> Scenario:
        """Checks that need several sections; issues carry their own paths."""
        issues: list[_Issue] = []
        first: dict[str, int] = {}
        targets = self.fault_targets()
        for i, fault in enumerate(self.faults):
            if fault.name is None:
                fault.name = f"{fault.kind}-{i}"
            if fault.name in first:
                issues.append(_Issue(("faults", i, "name"), f"duplicate fault name {fault.name!r} "
                                                            f"(also faults[{first[fault.name]}])"))
            first.setdefault(fault.name, i)
            if fault.target is not None and fault.target not in targets:
                issues.append(_Issue(("faults", i, "target"),
                                     f"unknown target {fault.target!r}; "
                                     f"valid targets: {', '.join(targets)}"))
        issues += self._expect_issues()
        _report(issues, info)
        return self

    def _expect_issues(self) -> list[_Issue]:
        """Every `expect:` key names a metric this scenario will have (after fault names)."""
        if not self.expect:
            return []
        # lazily: the metrics package is heavier and reads this module's types
        from .metrics.catalog import metric_paths, unknown_path_message

        valid = metric_paths(self)
        return [_Issue(("expect", path), unknown_path_message(path, valid), key=True)
                for path in self.expect if path not in valid]

    @property
    def source(self) -> str:
        """The file (or "<string>", "<dict>") this scenario was loaded from."""
        return self._source

    def fault_targets(self) -> list[str]:
        """Every valid fault target: 'llm', 'llm.<tier>', 'tools.<name>'."""
        return ["llm", *(f"llm.{t}" for t in self.world.llm.tiers),
                *(f"tools.{t}" for t in self.world.tools)]

    def bounds(self) -> dict[str, Bound]:
        """`expect` parsed: metric name -> Bound."""
        return {metric: parse_bound(text) for metric, text in self.expect.items()}

    def error_at(self, path: str | tuple[str | int, ...], message: str) -> ErrorLocation:
        """An ErrorLocation in this scenario's file, for checks done after loading."""
        parts = parse_path(path) if isinstance(path, str) else tuple(path)
        line, col = self._positions.value(parts) or (None, None)
        return ErrorLocation(self._source, line, col, format_path(parts), message)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A copy with values replaced at paths like `traffic[0].synthetic.rate`, re-validated."""
        raw = _plain(self._raw) if self._raw is not None else self.model_dump(by_alias=True)
        changed: list[tuple[str | int, ...]] = []
        for text, value in overrides.items():
            path = parse_path(text)
            try:
                _set_path(raw, path, copy.deepcopy(value))
            except (KeyError, IndexError, TypeError) as exc:
                raise ScenarioError([ErrorLocation(self._source, None, None, text,
                                                   f"cannot override: {exc.args[0]}")]) from None
            changed.append(path)
        return _validate(raw, self._source, self._positions, changed)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """JSON Schema of the scenario format, for editors and docs."""
        return cls.model_json_schema()


# --------------------------------------------------------------------------- paths

_PATH_TOKEN = re.compile(r'\.?([^.\[\]"]+)|\[(-?\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def parse_path(text: str) -> tuple[str | int, ...]:
    """`traffic[0].synthetic.rate` -> ("traffic", 0, "synthetic", "rate"); `["a.b"]` quotes."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if not match or (pos == 0 and text.startswith(".")):
            raise ScenarioError(f"bad path {text!r} at character {pos + 1}")
        name, index, quoted = match.groups()
        if index is not None:
            parts.append(int(index))
        else:
            parts.append(name if name is not None else re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    if not parts:
        raise ScenarioError("empty override path")
    return tuple(parts)


def _set_path(data: Any, path: tuple[str | int, ...], value: Any) -> None:
    """Set `value` at `path`, creating missing mappings; lists must already have the index."""
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = format_path(path[:i]) or "the top level"
        if isinstance(part, int):
            if not isinstance(data, list):
                raise TypeError(f"{where} is not a list")
            if not -len(data) <= part < len(data):
                raise IndexError(f"{where} has no item {part} (it has {len(data)})")
        elif not isinstance(data, dict):
            raise TypeError(f"{where} is not a mapping")
        elif not last and data.get(part) is None:
            data[part] = {}
        if last:
            data[part] = value
        else:
            data = data[part]


def _plain(value: Any) -> Any:
    """Deep copy of raw input, turning any model instances back into dicts."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return copy.deepcopy(value)


# --------------------------------------------------------------------------- loaders

def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file."""
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([ErrorLocation(filename, None, None, "",
                                           f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError([ErrorLocation(filename, None, None, "",
                                           f"not UTF-8 text: {exc.reason}")]) from None
    return scenario_from_yaml(text, filename)


def scenario_from_yaml(text: str, filename: str = "<string>") -> Scenario:
    """Validate scenario YAML; errors name `filename` with line and column."""
    data, positions = load_yaml(text, filename)
    return _validate(data, filename, positions)


def scenario_from_dict(data: dict[str, Any], filename: str = "<dict>") -> Scenario:
    """Validate scenario data built in Python; errors name fields but no lines."""
    return _validate(copy.deepcopy(data), filename, SourceMap())


def _validate(data: Any, filename: str, positions: SourceMap,
              overridden: list[tuple[str | int, ...]] | None = None) -> Scenario:
    if data is None:
        raise ScenarioError([ErrorLocation(
            filename, None, None, "",
            "the scenario is empty; expected a mapping with 'name', 'duration' and 'traffic'",
        )])
    if not isinstance(data, dict):
        line, col = positions.value(()) or (None, None)
        raise ScenarioError([ErrorLocation(
            filename, line, col, "",
            f"expected a mapping of scenario fields at the top level, got {_describe(data)}",
        )])
    locator = _Locator(data, filename, positions, overridden or [])
    issues: list[_Issue] = []
    try:
        scenario = Scenario.model_validate(data, context={_ISSUES: issues})
    except ValidationError as exc:
        errors = [locator.pydantic(e) for e in exc.errors()]
        errors += [locator.at(*issue) for issue in issues]  # found before validation failed
        raise ScenarioError(_in_file_order(errors)) from None
    if issues:
        raise ScenarioError(_in_file_order([locator.at(*issue) for issue in issues]))
    scenario._source = filename
    scenario._raw = data
    scenario._positions = positions
    return scenario


def _in_file_order(errors: list[ErrorLocation]) -> list[ErrorLocation]:
    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=lambda e: (e.line is None, e.line or 0, e.column or 0))


# --------------------------------------------------------------------------- error messages

class _Locator:
    """Turns pydantic errors into ErrorLocations by walking the data the user wrote."""

    def __init__(self, data: dict[str, Any], filename: str, positions: SourceMap,
                 overridden: list[tuple[str | int, ...]]) -> None:
        self.data = data
        self.filename = filename
        self.positions = positions
        self.overridden = overridden

    def data_path(self, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
        """The part of `loc` that exists in the data (drops union tags and missing names)."""
        node: Any = self.data
        path: list[str | int] = []
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif (isinstance(node, list) and isinstance(part, int)
                  and 0 <= part < len(node)):
                node = node[part]
            else:
                continue
            path.append(part)
        return tuple(path)

    def at(self, path: tuple[str | int, ...], message: str, key: bool = False) -> ErrorLocation:
        path = self.data_path(path)
        override = next((p for p in self.overridden if path[: len(p)] == p), None)
        if override is not None:
            where = None
            message += f" (set by override {format_path(override)!r})"
        else:
            where = self.positions.key(path) if key else self.positions.value(path)
        line, col = where or (None, None)
        return ErrorLocation(self.filename, line, col, format_path(path), message)

    def pydantic(self, error: Any) -> ErrorLocation:
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            return self.at(loc, _unknown_field(loc), key=True)
        if kind == "missing":
            return self.at(loc[:-1], f"missing required field {loc[-1]!r}")
        if kind == "union_tag_invalid":
            ctx = error["ctx"]
            disc = ctx["discriminator"].strip("'")
            return self.at((*loc, disc), f"unknown {disc} {ctx['tag']!r}, "
                                         f"expected one of {ctx['expected_tags']}")
        if kind == "union_tag_not_found":
            disc = error["ctx"]["discriminator"].strip("'")
            kinds = ", ".join(repr(k) for k in DIST_KINDS)
            return self.at(loc, f"missing required field {disc!r} (one of {kinds})")
        return self.at(loc, _message(error))


_TYPE_WORDS = {
    "model_type": "a mapping", "model_attributes_type": "a mapping", "dict_type": "a mapping",
    "list_type": "a list", "int_type": "a whole number", "int_parsing": "a whole number",
    "int_from_float": "a whole number", "float_type": "a number", "float_parsing": "a number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
}
_LIMITS = {"greater_than": ("gt", "above"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "below"), "less_than_equal": ("le", "at most")}


def _message(error: Any) -> str:
    """A pydantic error message in the words of the scenario format."""
    kind, ctx, got = error["type"], error.get("ctx") or {}, _describe(error.get("input"))
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {got}"
    if kind in _LIMITS:
        key, words = _LIMITS[kind]
        return f"must be {words} {_describe(ctx[key])}, got {got}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {got}"
    if kind == "too_short":
        count = ctx["min_length"]
        return f"needs at least {count} {'entry' if count == 1 else 'entries'}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind.startswith(("datetime", "date")):
        return f"expected a date and time like 2026-01-05T09:00:00Z, got {got}"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _unknown_field(loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    model = _model_at(loc[:-1])
    names = [f.alias or n for n, f in model.model_fields.items()] if model else []
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if model is Accuracy:
        return f"unknown tag {key!r}{hint} (known: default, {', '.join(TAGS)})"
    if not hint and names:
        hint = f" (expected one of: {', '.join(names)})"
    return f"unknown field {key!r}{hint}"


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class validating the data at `loc` (an error loc), by walking annotations."""
    tp: Any = Scenario
    parts = list(loc)
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            tagged = [m for m in members if parts and _tag(m) == parts[0]]
            if tagged:
                tp = tagged[0]
                parts.pop(0)
            elif len(members) == 1:
                tp = members[0]
            else:
                return None
            continue
        if not parts:
            return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None
        part = parts.pop(0)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) in (list, dict):
            tp = get_args(tp)[-1]
        else:
            return None


def _tag(model: Any) -> Any:
    field = getattr(model, "model_fields", {}).get("dist")
    return field.default if field is not None else None
