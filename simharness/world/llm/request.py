"""The question a request asks the model, in no provider's terms.

Each provider module parses its wire format into a `Request`: the text the model reads,
the tools it may call and which results it already has, and the form the answer must take
(text, any JSON object, or a JSON Schema to fill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from .judgement import estimate_tokens

TOKENS_PER_MESSAGE = 4

#: tool_choice values: "auto", "none", "required", or the name of the tool to call.
AUTO, NONE, REQUIRED = "auto", "none", "required"


class BadRequest(Exception):
    """The request is malformed (a 400 in the provider's own error shape)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(slots=True)
class Tool:
    """A function the model may call: its name and the JSON Schema of its arguments."""

    name: str
    parameters: dict[str, Any]
    description: str = ""


@dataclass(slots=True)
class Request:
    """What the model is asked.

    `prompt` is every text the model reads (instructions, messages, tool results), in
    order; `turns` the number of messages (each costs a few tokens of framing).
    `answered` names the tools whose results the conversation already holds.
    """

    model: str
    prompt: str
    turns: int
    tools: Sequence[Tool] = ()
    tool_choice: str = AUTO
    answered: AbstractSet[str] = frozenset()
    schema: dict[str, Any] | None = None
    json_mode: bool = False
    parallel_tool_calls: bool = True
    stream: bool = False
    include_usage: bool = False
    #: Tokens the tool definitions and the output schema add to the prompt.
    definition_tokens: int = 0
    max_tokens: int | None = None
    #: Notes a provider keeps for rendering its own answer (e.g. legacy `functions`).
    wire: Mapping[str, Any] | None = None

    @property
    def tokens_in(self) -> int:
        return (estimate_tokens(self.prompt) + TOKENS_PER_MESSAGE * self.turns
                + self.definition_tokens)

    def note(self, key: str) -> Any:
        """A note the provider kept in `wire` (None when absent)."""
        return self.wire.get(key) if self.wire else None

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)


def text_of(content: Any) -> str:
    """The text in a message's content: a string, or a list of parts with text in them."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
                elif "content" in part:  # a tool result inside a list of blocks
                    parts.append(text_of(part["content"]))
                elif isinstance(part.get("output"), str):
                    parts.append(part["output"])
        return "\n".join(parts)
    return ""
