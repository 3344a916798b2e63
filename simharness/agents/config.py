"""The `agent:` section of a scenario: the agent under test and how the harness runs it."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from ..config_base import ConfigModel as _Model
from ..units import Duration

_REF_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class AgentConfig(_Model):
    """The agent under test and how the harness runs it."""

    ref: str | None = Field(
        default=None, description="'package.module:attr' of an agent class, factory or function."
    )
    http: str | None = Field(
        default=None,
        description="URL of an agent in another process, e.g. 'http://127.0.0.1:8000/route': "
        "each ticket event is POSTed to it as JSON and the response body is the decision. "
        "The world is then served over loopback in real time (see world_port, speed).",
    )
    world_port: int = Field(
        default=8790, ge=0, le=65535,
        description="For an agent over HTTP: the port the simulated world is served on "
        "(http://127.0.0.1:PORT/llm/v1, /crm, ...; 0 picks a free one).",
    )
    speed: float = Field(
        default=1.0, gt=0,
        description="For an agent over HTTP: how many times faster than real time the "
        "world runs (its latencies and fault windows shrink by this factor).",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the class or factory."
    )
    workers: int = Field(default=8, ge=1, description="Events the agent handles concurrently.")
    watchdog: Duration = Field(
        default=5.0, gt=0,
        description="Wall seconds agent code may run without yielding before the ticket is hung.",
    )
    stall_timeout: Duration = Field(
        default=30.0, gt=0,
        description="Wall seconds the simulation may make no progress at all (while no agent "
        "code runs) before the run stops early with where it was stuck.",
    )
    max_consecutive_hangs: int = Field(
        default=3, ge=0,
        description="Stop the run early after this many hung ticket events in a row "
        "(0: never); each hang costs `watchdog` wall seconds.",
    )
    max_hang_share: float = Field(
        default=0.5, gt=0, le=1,
        description="Stop the run early once this share of ticket events hung (judged after "
        "10 events; 1: never).",
    )
    ticket_timeout: Duration = Field(
        default=600.0, gt=0, description="Simulated seconds one event may take."
    )
    http_timeout: Duration = Field(default=60.0, gt=0, description="Default timeout of ctx.http.")
    retry_storm_attempts: int = Field(
        default=5, ge=1,
        description="Attempts of one request beyond which the client audit calls it a retry "
        "storm (metric client.retry_storm).",
    )

    @field_validator("ref")
    @classmethod
    def _ref_shape(cls, ref: str | None) -> str | None:
        if ref is not None and not _REF_RE.match(ref):
            raise ValueError(f"expected 'package.module:attr', got {ref!r}")
        return ref

    @field_validator("http")
    @classmethod
    def _url_shape(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
        return url

    @model_validator(mode="after")
    def _one_agent(self) -> AgentConfig:
        if self.ref is not None and self.http is not None:
            raise ValueError("give either 'ref' (an agent in this process) or 'http' (an "
                             "agent in another process), not both")
        return self
