"""The `world:` section of a scenario: the LLM tiers, tools and policies the agent meets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ..config_base import ConfigModel as _Model
from ..config_base import Fraction, NonEmptyStr
from ..distributions import Distribution, ExponentialDist, FixedDist, LognormalDist
from ..traffic.config import TAGS
from ..units import Duration


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

    by_route: dict[str, Fraction] = Field(
        default_factory=dict, description="Accuracy on tickets of a route, instead of "
        "`default`, e.g. {refund: 0.7} (tags still lower it).")

    def for_tags(self, tags: list[str]) -> float:
        """The hardest tag wins: the minimum of `default` and the values of the tags present."""
        return self.for_ticket([], tags)

    def for_ticket(self, routes: list[str], tags: list[str]) -> float:
        """The route's accuracy (the lowest of the ticket's routes, else `default`), then the
        hardest tag wins: the minimum of that and the values of the tags present."""
        base = min((self.by_route.get(r, self.default) for r in routes), default=self.default)
        values = [getattr(self, t) for t in tags if t in TAGS]
        return min([base, *(v for v in values if v is not None)])


class LLMTier(_Model):
    """One model size of the simulated LLM API."""

    latency: Distribution = Field(
        default_factory=lambda: LognormalDist(median=0.5, p95=1.5),
        description="Time to first token.",
    )
    per_output_token: Duration = Field(default=0.0, description="Extra time per output token.")
    price: Price = Field(default_factory=Price, description="Token prices.")
    accuracy: Accuracy = Field(default_factory=Accuracy, description="Labelling accuracy.")
    confusion: dict[str, dict[str, Annotated[float, Field(ge=0)]]] = Field(
        default_factory=dict,
        description="Per true route, how its wrong answers spread over other labels, e.g. "
        "{refund: {billing: 0.7, cancellation: 0.3}} (weights, normalised); routes not "
        "named here get wrong answers spread evenly.")
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

    @field_validator("confusion")
    @classmethod
    def _wrong_answers(cls, confusion: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for route, spread in confusion.items():
            if route in spread:
                raise ValueError(f"confusion of {route!r} names {route!r} itself: it lists "
                                 "wrong answers only (the tier's accuracy says how often "
                                 "it is right)")
            if not spread or sum(spread.values()) <= 0:
                raise ValueError(f"confusion of {route!r} needs a weight above 0")
        return confusion


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


class EmbeddingModel(_Model):
    """One embedding model of the simulated API."""

    dimensions: int = Field(default=1536, ge=1, le=8192, description="Default vector length.")
    price_per_mtok: float = Field(default=0.02, ge=0, description="Dollars per million tokens.")


def _default_embedding_models() -> dict[str, EmbeddingModel]:
    return {"text-embedding-3-small": EmbeddingModel(dimensions=1536, price_per_mtok=0.02),
            "text-embedding-3-large": EmbeddingModel(dimensions=3072, price_per_mtok=0.13)}


class EmbeddingsConfig(_Model):
    """`/v1/embeddings`: deterministic vectors in which texts about one route lie close."""

    models: dict[NonEmptyStr, EmbeddingModel] = Field(
        default_factory=_default_embedding_models, min_length=1,
        description="Embedding models by name. Default: text-embedding-3-small (1536 "
        "dimensions, $0.02 per million tokens) and text-embedding-3-large (3072, $0.13).")
    latency: Distribution = Field(
        default_factory=lambda: FixedDist(value=0.05), description="Time to answer.")


class LLMConfig(_Model):
    """The simulated LLM API (OpenAI- and Anthropic-compatible) and its tiers."""

    tiers: dict[NonEmptyStr, LLMTier] = Field(
        default_factory=_default_tiers, min_length=1,
        description="Model tiers by name. Default: 'small' (0.4s/1.2s, $0.15/$0.60, accuracy "
        "0.86, rpm 3000) and 'large' (1.5s/4s, $2.50/$10.00, accuracy 0.96, rpm 1000). "
        "If given, exactly these tiers exist.",
    )
    response_format: Literal["json", "label"] = Field(
        default="json", description="How the simulated model answers: JSON or a bare label."
    )
    embeddings: EmbeddingsConfig = Field(
        default_factory=EmbeddingsConfig, description="The embeddings endpoint's models."
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


HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class RouteSpec(_Model):
    """One endpoint of a tool defined in YAML: a method, a path pattern, a response.

    Strings in `json`, `body` and `headers` may use `{name}` for a path parameter,
    `{customer.id}` (also name, email, tier, account_value) for the ticket's customer,
    `{ticket.id}`, `{ticket.conversation_id}`, `{query.<name>}` and `{body.<field>}` for
    the request's JSON body. A string that is exactly one `{...}` keeps the value's type.
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = Field(
        default="GET", description="HTTP method.")
    path: NonEmptyStr = Field(description="Path pattern, e.g. '/orders/{order_id}' ({name} "
                                          "matches one path segment).")
    status: int = Field(default=200, ge=100, le=599, description="Response status code.")
    json_: Any = Field(default=None, alias="json", description="JSON response template.")
    body: str | None = Field(default=None, description="Plain-text response template "
                                                       "(instead of `json`).")
    headers: dict[str, str] = Field(default_factory=dict, description="Response headers.")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"a path starts with '/', got {path!r}")
        return path

    @model_validator(mode="after")
    def _one_body(self) -> RouteSpec:
        if self.json_ is not None and self.body is not None:
            raise ValueError("give `json` or `body`, not both")
        from .templates import unknown_placeholders

        bad = unknown_placeholders(self.path, [self.json_, self.body, self.headers])
        if bad:
            raise ValueError(
                f"unknown placeholder {{{bad[0]}}}: use a path parameter of {self.path!r}, "
                "customer.{id,name,email,tier,account_value}, ticket.{id,conversation_id,"
                "channel,language,subject}, query.<name> or body.<field>")
        return self


class RespxSpec(_Model):
    """A respx router from the user's tests, reused as the simulated service."""

    router: NonEmptyStr = Field(description="The router as 'module:attr' (a respx.MockRouter "
                                            "or respx.Router).")
    base_url: NonEmptyStr | None = Field(
        default=None, description="The URL its routes were written for, e.g. "
        "'https://api.shop.com' (default: the one host its routes name).")


#: vcrpy's request matchers a cassette may match on.
Matcher = Literal["method", "path", "query", "body", "raw_body", "headers", "uri", "host",
                  "scheme", "port"]


def _default_match() -> list[Matcher]:
    return ["method", "path", "query"]


class CassetteSpec(_Model):
    """A VCR.py cassette (as vcrpy and pytest-recording write it), replayed as the service."""

    path: NonEmptyStr = Field(description="The cassette file (.yaml or .json), relative to "
                                          "the scenario file.")
    match_on: list[Matcher] = Field(
        default_factory=_default_match, min_length=1,
        description="vcrpy matchers a request must pass to get a recorded response; add "
        "'body' to match JSON/form bodies too.")


class ToolConfig(_Model):
    """A simulated tool the agent calls over HTTP (the CRM, or your own integration).

    Its endpoints come from at most one of `routes` (YAML), `respx` (a router from your
    tests) or `cassette` (recorded real responses); every form is served at
    `ctx.base_urls[name]` with this latency and capacity, under the faults that target
    `tools.<name>`. A request no endpoint matches gets a 404 listing the known routes.
    """

    latency: Distribution = Field(
        default_factory=lambda: ExponentialDist(mean=0.05), description="Time to answer."
    )
    capacity: int | None = Field(
        default=None, ge=1, description="Concurrent requests it serves (none: no limit)."
    )
    routes: list[RouteSpec] | None = Field(
        default=None, min_length=1, description="Endpoints defined in YAML.")
    respx: NonEmptyStr | RespxSpec | None = Field(
        default=None, description="A respx router as 'module:attr' (or {router, base_url}) "
        "serving the endpoints.")
    cassette: NonEmptyStr | CassetteSpec | None = Field(
        default=None, description="A VCR.py cassette file (or {path, match_on}) whose "
        "recorded responses are served.")

    @model_validator(mode="after")
    def _one_form(self) -> ToolConfig:
        given = [k for k in ("routes", "respx", "cassette") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of routes, respx, cassette (got "
                             f"{', '.join(given)})")
        if isinstance(self.respx, str):
            self.respx = RespxSpec(router=self.respx)
        if isinstance(self.cassette, str):
            self.cassette = CassetteSpec(path=self.cassette)
        if self.respx is not None and ":" not in self.respx.router:
            raise ValueError(f"respx router {self.respx.router!r}: expected 'module:attr'")
        return self


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
