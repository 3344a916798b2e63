"""The building blocks every section of the scenario format shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ConfigModel(BaseModel):
    """A part of the scenario file: unknown fields are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


Fraction = Annotated[float, Field(ge=0, le=1)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


def unique(values: list[str]) -> list[str]:
    """A list validator: every entry at most once."""
    seen = {v for v in values if values.count(v) > 1}
    if seen:
        raise ValueError(f"duplicate entries: {', '.join(repr(v) for v in sorted(seen))}")
    return values
