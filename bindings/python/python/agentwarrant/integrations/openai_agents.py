"""OpenAI Agents SDK: guarded function tools.

>>> from agentwarrant.integrations.openai_agents import guard_tools
>>> agent = Agent(name="researcher", tools=guard_tools(guard, [fetch_page, send_email], specs=...))
>>> with guard.task(identity, intent):
...     result = await Runner.run(agent, "research agent security")

Each ``FunctionTool`` is copied with an ``on_invoke_tool`` that authorizes the call first. A
refused call returns a short error message as the tool's output (the model reads it and can
act on it); a tool's own exception is recorded as the call's outcome, then handled by the
SDK's failure policy as before.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Awaitable, Callable, List, Optional, Sequence

from agents import FunctionTool, Tool
from agents.tool_context import ToolContext

from agentwarrant._guard import Guard, _arun_call
from agentwarrant._native import ToolSpec
from agentwarrant.errors import Refused
from agentwarrant.integrations._common import Specs, refusal_message, resolve_specs

__all__ = ["guard_tools", "guard_tool"]

Invoke = Callable[[ToolContext[Any], str], Awaitable[Any]]


def _guarded_invoke(guard: Guard, name: str, invoke: Invoke) -> Invoke:
    async def guarded(ctx: ToolContext[Any], input: str) -> Any:
        task = guard.current_task()
        try:
            args = json.loads(input) if input.strip() else {}
        except json.JSONDecodeError:
            return f"refused: `{name}`: invalid_call (the arguments are not valid JSON)"
        if not isinstance(args, dict):
            return f"refused: `{name}`: invalid_call (the arguments must be a JSON object)"
        try:
            warrant = await task.authorize_async(name, args)
        except Refused as refusal:
            return refusal_message(refusal)
        return await _arun_call(task._root, warrant, lambda: invoke(ctx, input))

    prepare = getattr(invoke, "__agents_prepare_arguments__", None)
    if prepare is not None:
        setattr(guarded, "__agents_prepare_arguments__", prepare)
    return guarded


def guard_tool(guard: Guard, tool: FunctionTool) -> FunctionTool:
    """A copy of ``tool`` whose calls go through ``guard`` (its spec must be declared)."""
    original = tool.on_invoke_tool
    impl = getattr(original, "_invoke_tool_impl", None)
    on_error = getattr(original, "_on_handled_error", None)
    if impl is not None and on_error is not None:
        # Guard the raw invoker, inside the SDK's failure handling: a tool's exception is
        # recorded as the outcome, then turned into the model's error message as before.
        invoker_type: Any = type(original)
        invoke: Invoke = invoker_type(_guarded_invoke(guard, tool.name, impl), on_error)
    else:
        invoke = _guarded_invoke(guard, tool.name, original)
    return dataclasses.replace(tool, on_invoke_tool=invoke)


def guard_tools(
    guard: Guard,
    tools: Sequence[FunctionTool],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
) -> List[Tool]:
    """Guards every function tool; a tool without a spec (from ``specs``, the guard, or
    ``default``) raises :class:`~agentwarrant.UnguardedToolError` here, naming it.

    The result is a ``list[Tool]``, the type ``Agent(tools=...)`` takes (a list is invariant:
    a ``list[FunctionTool]`` would not type-check there)."""
    for tool in tools:
        if not isinstance(tool, FunctionTool):
            raise TypeError(f"guard_tools() guards FunctionTools; `{getattr(tool, 'name', tool)}` is a {type(tool).__name__}")
    resolve_specs(guard, [t.name for t in tools], specs, default)
    guarded: List[Tool] = [guard_tool(guard, t) for t in tools]
    return guarded
