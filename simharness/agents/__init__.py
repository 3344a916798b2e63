"""The agent side: what an agent receives and returns, and how it is called."""

from .adapter import AgentHandler, resolve_agent
from .context import AgentContext, make_context
from .decision import Decision, InvalidOutput, normalize

__all__ = ["AgentContext", "AgentHandler", "Decision", "InvalidOutput", "make_context",
           "normalize", "resolve_agent"]
