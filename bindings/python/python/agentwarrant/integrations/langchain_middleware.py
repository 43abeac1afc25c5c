"""LangChain 1.x agents (``create_agent``): a middleware that authorizes every tool call.

>>> from langchain.agents import create_agent
>>> from agentwarrant.integrations.langchain_middleware import GuardToolCalls
>>> agent = create_agent(model, tools, middleware=[GuardToolCalls(guard, specs={...})])

Run the agent inside ``with guard.task(identity, intent):``. The middleware wraps the agent's
tool execution (``wrap_tool_call`` / ``awrap_tool_call``), so the tools stay as they are: each
call is authorized before its tool runs (the guard's approver is asked where the policy needs a
human), recorded, and its outcome ledgered; a refused call never runs and comes back to the
model as a ``ToolMessage`` with ``status="error"`` and a short message (the details are in the
ledger, never shown to the model); a tool's error message is recorded as the call's error.

A tool needs a spec: from ``specs``, declared on the guard, or ``default``. Those of ``tools``
are checked when the middleware is made (a tool with none raises
:class:`~agentwarrant.UnguardedToolError`, naming it); a tool the agent calls that has none is
refused (``unknown_tool``). :func:`~agentwarrant.integrations.langchain.guard_tools` wraps the
tools themselves instead, for LangChain code without ``create_agent``.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Optional, Sequence, Union

from langchain.agents.middleware import AgentMiddleware, ToolCallRequest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import Command

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.integrations._common import Specs, aguarded_call, guarded_call, resolve_specs, spec_map

__all__ = ["GuardToolCalls"]

Result = Union[ToolMessage, Command[Any]]


def _failed(result: Any) -> Optional[str]:
    """A tool error the agent turned into a message: recorded as the call's error."""
    if isinstance(result, ToolMessage) and result.status == "error":
        return str(result.content)
    return None


class GuardToolCalls(AgentMiddleware[Any, Any, Any]):
    """Authorizes every tool call of a ``create_agent`` agent with ``guard``; see the module."""

    def __init__(
        self,
        guard: Guard,
        *,
        specs: Specs = None,
        default: Optional[ToolSpec] = None,
        tools: Sequence[BaseTool] = (),
    ) -> None:
        super().__init__()
        self.guard = guard
        self._given = spec_map(specs)
        self._default = default
        resolve_specs(guard, [t.name for t in tools], specs, default)

    def _declare(self, name: str) -> None:
        """Declares a tool first called now whose spec was given (or defaulted); one with none
        is left for the guard to refuse as ``unknown_tool``."""
        if name in self._given or (self._default is not None and self.guard.spec(name) is None):
            resolve_specs(self.guard, [name], self._given, self._default)

    def _refused(self, request: ToolCallRequest) -> Callable[[str], ToolMessage]:
        call = request.tool_call
        return lambda text: ToolMessage(content=text, name=call["name"], tool_call_id=call["id"], status="error")

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Result]) -> Result:
        name, args = request.tool_call["name"], dict(request.tool_call["args"])
        self._declare(name)
        result: Result = guarded_call(self.guard, name, args, lambda: handler(request), self._refused(request), failed=_failed)
        return result

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Result]]
    ) -> Result:
        name, args = request.tool_call["name"], dict(request.tool_call["args"])
        self._declare(name)
        result: Result = await aguarded_call(
            self.guard, name, args, lambda: handler(request), self._refused(request), failed=_failed
        )
        return result
