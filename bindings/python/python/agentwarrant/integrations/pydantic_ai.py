"""PydanticAI: a guarded toolset.

>>> from agentwarrant.integrations.pydantic_ai import guard_toolset
>>> tools = guard_toolset(guard, [fetch_page, send_email], specs={"fetch_page": ToolSpec(...), ...})
>>> agent = Agent(model, toolsets=[tools])
>>> async with guard.task(identity, intent):
...     result = await agent.run("research agent security")

The hook is PydanticAI's own for changing tool execution: a ``WrapperToolset`` whose
``call_tool`` authorizes every call (with the args the model gave, after PydanticAI validated
them) before the wrapped toolset runs it. A refused call does not run: the model reads the
refusal as the tool's return, the way PydanticAI returns a ``ToolDenied`` call; a tool's own
exception (``ModelRetry`` included) is recorded as the call's outcome and handled by
PydanticAI as before. ``agent.run_sync`` works too: PydanticAI runs the tools in the caller's
context, so ``with guard.task(...)`` around it is enough.

A toolset whose tools are known now (functions, ``Tool`` s, a ``FunctionToolset``) is checked
here: a tool without a spec raises :class:`~agentwarrant.UnguardedToolError`, naming it. Any
other toolset (an MCP server, a dynamic toolset) is checked each time its tools are listed,
before the model sees them, so an unguarded tool never reaches a model either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Union

from pydantic_ai import RunContext, Tool
from pydantic_ai.tools import AgentDepsT
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.integrations._common import Specs, aguarded_call, resolve_specs, spec_map

__all__ = ["GuardedToolset", "guard_toolset"]


@dataclass
class GuardedToolset(WrapperToolset[AgentDepsT]):
    """A toolset whose every tool call goes through ``guard`` first. Build it with
    :func:`guard_toolset`, which checks the specs of the tools it can see now."""

    guard: Guard = field(kw_only=True)
    specs: Dict[str, ToolSpec] = field(default_factory=dict, kw_only=True)
    default: Optional[ToolSpec] = field(default=None, kw_only=True)

    async def get_tools(self, ctx: RunContext[AgentDepsT]) -> Dict[str, ToolsetTool[AgentDepsT]]:
        tools = await self.wrapped.get_tools(ctx)
        # Tools listed only now (an MCP server's, a dynamic toolset's) are checked before the
        # model sees them.
        resolve_specs(self.guard, list(tools), self.specs, self.default)
        return tools

    async def call_tool(self, name: str, tool_args: Dict[str, Any], ctx: RunContext[AgentDepsT], tool: ToolsetTool[AgentDepsT]) -> Any:
        return await aguarded_call(self.guard, name, tool_args, lambda: self.wrapped.call_tool(name, tool_args, ctx, tool))


def guard_toolset(
    guard: Guard,
    tools: Union[AbstractToolset[Any], Sequence[Union[Tool[Any], Callable[..., Any]]]],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
) -> GuardedToolset[Any]:
    """A toolset for ``Agent(toolsets=[...])`` whose every call is authorized by ``guard``.

    ``tools`` is a toolset, or functions and ``Tool`` s (gathered into a ``FunctionToolset``).
    Each tool needs a spec (from ``specs``, declared on the guard, or ``default``); a tool
    without one raises :class:`~agentwarrant.UnguardedToolError`, naming it: here for the tools
    known now, when the tools are listed for the others.
    """
    toolset: AbstractToolset[Any] = tools if isinstance(tools, AbstractToolset) else FunctionToolset(list(tools))
    given = spec_map(specs)
    known = list(toolset.tools) if isinstance(toolset, FunctionToolset) else []
    resolve_specs(guard, known, given, default)
    return GuardedToolset(toolset, guard=guard, specs=given, default=default)
