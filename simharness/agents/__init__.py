"""The agent side: what an agent receives and returns, and how it is called."""

from .adapter import AgentHandler, resolve_agent
from .context import AgentContext
from .decision import Decision, InvalidOutput, normalize

__all__ = ["AgentContext", "AgentHandler", "Decision", "InvalidOutput", "normalize",
           "resolve_agent"]
