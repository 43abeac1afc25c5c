"""LlamaIndex: guarded tools for its agents (``FunctionAgent``, ``ReActAgent``, ``AgentWorkflow``).

>>> from agentwarrant.integrations.llama_index import guard_tools
>>> agent = FunctionAgent(tools=guard_tools(guard, [fetch_page, send_email], specs=...), llm=llm)
>>> async with guard.task(identity, intent):
...     response = await agent.run("research agent security")

The hook is the tool's ``call`` / ``acall``, which LlamaIndex agents invoke with the model's
args. Each tool (a ``BaseTool`` such as ``FunctionTool``, or a plain function, made a
``FunctionTool``) is wrapped in a :class:`GuardedTool` with the same metadata. A refused call
does not run: the agent gets a ``ToolOutput`` with ``is_error=True`` and the refusal as its
content, LlamaIndex's own form of a failed tool call; a tool's own exception is recorded as the
call's outcome and re-raised (the agent turns it into an error output as before), and an
error ``ToolOutput`` is recorded as the call's error. The workflow's steps run in the caller's
context, so ``async with guard.task(...)`` around ``agent.run(...)`` is enough.

A ``FunctionTool`` that takes the workflow ``Context`` is refused here (``TypeError``): the
agents only hand the context to a bare ``FunctionTool``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from llama_index.core.tools import FunctionTool, ToolOutput
from llama_index.core.tools.types import AsyncBaseTool, BaseTool, ToolMetadata, adapt_to_async_tool

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.integrations._common import Specs, aguarded_call, guarded_call, resolve_specs

__all__ = ["GuardedTool", "guard_tools"]


def _error_of(output: Any) -> Optional[str]:
    """The error of an error ``ToolOutput``, recorded as the call's error; ``None`` otherwise."""
    if isinstance(output, ToolOutput) and output.is_error:
        return output.content or "the tool reported an error"
    return None


class GuardedTool(AsyncBaseTool):
    """A LlamaIndex tool that authorizes each call with the guard before its inner tool runs."""

    def __init__(self, inner: BaseTool, guard: Guard) -> None:
        self.inner: AsyncBaseTool = adapt_to_async_tool(inner)
        self.guard = guard

    @property
    def metadata(self) -> ToolMetadata:
        return self.inner.metadata

    @property
    def name(self) -> str:
        return self.metadata.get_name()

    @staticmethod
    def _args(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        """The call's args: the keyword args the agent passes (a lone positional ``input``, as
        in ``tool.call(input)``, is the args when it is a dict, else the arg ``input``)."""
        if args and not kwargs and len(args) == 1:
            return dict(args[0]) if isinstance(args[0], dict) else {"input": args[0]}
        if args:
            return {"args": list(args), **kwargs}
        return dict(kwargs)

    def _refused(self, args: Dict[str, Any]) -> Callable[[str], ToolOutput]:
        return lambda text: ToolOutput(content=text, tool_name=self.name, raw_input=args, raw_output=text, is_error=True)

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        named = self._args(args, kwargs)
        return guarded_call(self.guard, self.name, named, lambda: self.inner.call(*args, **kwargs), self._refused(named), failed=_error_of)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        named = self._args(args, kwargs)
        return await aguarded_call(
            self.guard, self.name, named, lambda: self.inner.acall(*args, **kwargs), self._refused(named), failed=_error_of
        )


def guard_tools(
    guard: Guard,
    tools: Sequence[Union[BaseTool, Callable[..., Any]]],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
) -> List[Union[BaseTool, Callable[..., Any]]]:
    """Wraps LlamaIndex tools (or plain functions) so that every call is authorized by ``guard``.

    Each tool needs a spec (from ``specs``, declared on the guard, or ``default``); a tool
    without one raises :class:`~agentwarrant.UnguardedToolError` here, naming it. Every item is
    a :class:`GuardedTool`; the list's type is the one LlamaIndex agents take for ``tools=``
    (a list is invariant: a ``list[BaseTool]`` would not type-check there).
    """
    base = [t if isinstance(t, BaseTool) else FunctionTool.from_defaults(t) for t in tools]
    for tool in base:
        if isinstance(tool, FunctionTool) and tool.requires_context:
            raise TypeError(f"`{tool.metadata.get_name()}` takes the workflow Context, which agents only pass to a bare FunctionTool")
    resolve_specs(guard, [t.metadata.get_name() for t in base], specs, default)
    guarded: List[Union[BaseTool, Callable[..., Any]]] = [t if isinstance(t, GuardedTool) and t.guard is guard else GuardedTool(t, guard) for t in base]
    return guarded
