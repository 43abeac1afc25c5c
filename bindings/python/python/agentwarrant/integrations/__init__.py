"""Adapters that put a guard in front of the tools of agent frameworks.

- :mod:`agentwarrant.integrations.langchain`: LangChain ``BaseTool`` s and LangGraph ``ToolNode``;
- :mod:`agentwarrant.integrations.openai_agents`: OpenAI Agents SDK function tools;
- :mod:`agentwarrant.integrations.mcp`: MCP client sessions and server middleware.

Every adapter refuses to leave a tool unguarded: wrapping a tool with no ``ToolSpec`` (given,
declared on the guard, or an explicit default) raises :class:`~agentwarrant.UnguardedToolError`
naming it. A refused call reaches the model as a short tool-error message (see
:func:`refusal_message`); the full record goes to the ledger.
"""

from agentwarrant.integrations._common import Specs, refusal_message, resolve_specs

__all__ = ["Specs", "refusal_message", "resolve_specs"]
