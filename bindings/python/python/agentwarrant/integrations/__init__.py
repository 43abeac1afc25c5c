"""Adapters that put a guard in front of the tools of agent frameworks.

- :mod:`agentwarrant.integrations.langchain`: LangChain ``BaseTool`` s and LangGraph ``ToolNode``;
- :mod:`agentwarrant.integrations.openai_agents`: OpenAI Agents SDK function tools;
- :mod:`agentwarrant.integrations.mcp`: MCP client sessions and server middleware;
- :mod:`agentwarrant.integrations.pydantic_ai`: PydanticAI toolsets;
- :mod:`agentwarrant.integrations.crewai`: CrewAI tools;
- :mod:`agentwarrant.integrations.llama_index`: LlamaIndex tools (``FunctionAgent``, ``ReActAgent``, ...);
- :mod:`agentwarrant.integrations.smolagents`: smolagents tools.

Every adapter refuses to leave a tool unguarded: wrapping a tool with no ``ToolSpec`` (given,
declared on the guard, or an explicit default) raises :class:`~agentwarrant.UnguardedToolError`
naming it. A refused call reaches the model as a short tool-error message (see
:func:`refusal_message`); the full record goes to the ledger. :func:`guarded_call` /
:func:`aguarded_call` are the call every adapter's tool hook makes: a new adapter finds the
framework's hook, the call's args, and the framework's form of a tool error.
"""

from agentwarrant.integrations._common import Specs, aguarded_call, guarded_call, refusal_message, resolve_specs

__all__ = ["Specs", "aguarded_call", "guarded_call", "refusal_message", "resolve_specs"]
