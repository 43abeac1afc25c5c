"""LangChain and LangGraph: every tool call goes through the guard.

>>> from agentwarrant.integrations.langchain import guard_tools, guard_tool_node
>>> tools = guard_tools(guard, [search, send_email], specs={"search": ToolSpec(...), ...})
>>> node = guard_tool_node(guard, [search, send_email], specs=...)   # a LangGraph ToolNode

Run the agent inside ``with guard.task(identity, intent):`` (LangChain and LangGraph copy the
context into their worker threads and tasks, so the guard finds the task). A refused call
comes back to the model as a ``ToolMessage`` with ``status="error"`` and a short message; a
tool's own exception is recorded as the call's outcome and handled as the tool would.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.errors import Refused
from agentwarrant.integrations._common import Specs, refusal_message, resolve_specs

__all__ = ["GuardedTool", "guard_tools", "guard_tool_node"]


class _RefusedCall(ToolException):
    """A refusal on its way to the model as a tool error."""


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _model_args(tool: BaseTool, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The args the model gave: injected args (state, store, tool_call_id) are left out."""
    schema = tool.tool_call_schema
    fields = getattr(schema, "model_fields", None)
    if fields is None and isinstance(schema, dict):
        fields = schema.get("properties")
    if fields is None:
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k in fields}


def _guarded_function(tool: BaseTool) -> bool:
    """Whether ``tool`` runs a function that ``@guard.tool`` already guards (``@tool`` stacked
    on ``@guard.tool``): its calls are authorized by that function, not a second time."""
    return any(
        hasattr(getattr(tool, attr, None), "__agentwarrant_spec__") for attr in ("func", "coroutine")
    )


class GuardedTool(BaseTool):
    """A ``BaseTool`` that authorizes each call with the guard before its inner tool runs.

    When the inner tool's function is already guarded (``@tool`` on top of ``@guard.tool``),
    the function authorizes and this tool only turns a refusal into the tool error the model
    sees, so the call is authorized once.
    """

    inner: BaseTool
    guard: Any  # Guard (Any keeps pydantic from validating it)
    authorizes: bool = True

    def __init__(self, inner: BaseTool, guard: Guard, **kwargs: Any) -> None:
        kwargs.setdefault("authorizes", not _guarded_function(inner))
        inner_handler = inner.handle_tool_error

        def handle(error: ToolException) -> str:
            if isinstance(error, _RefusedCall):
                return str(error)
            if not inner_handler:
                raise error
            if inner_handler is True:
                return str(error.args[0]) if error.args else "Tool execution error"
            if isinstance(inner_handler, str):
                return inner_handler
            return str(inner_handler(error))

        super().__init__(
            inner=inner,
            guard=guard,
            name=inner.name,
            description=inner.description,
            args_schema=inner.args_schema,
            return_direct=inner.return_direct,
            response_format=inner.response_format,
            handle_tool_error=handle,
            handle_validation_error=inner.handle_validation_error,
            metadata=inner.metadata,
            tags=inner.tags,
            **kwargs,
        )

    @property
    def tool_call_schema(self) -> Any:
        return self.inner.tool_call_schema

    @staticmethod
    def _inner_kwargs(run: Callable[..., Any], kwargs: Dict[str, Any], config: RunnableConfig, run_manager: Any) -> Dict[str, Any]:
        """The kwargs for the inner tool's ``run`` (``_run`` or ``_arun``), with the run manager
        and config where it takes them."""
        out = dict(kwargs)
        if _accepts(run, "run_manager"):
            out["run_manager"] = run_manager
        if _accepts(run, "config"):
            out["config"] = config
        return out

    def _run(
        self,
        *args: Any,
        config: RunnableConfig,
        run_manager: Optional[CallbackManagerForToolRun] = None,
        **kwargs: Any,
    ) -> Any:
        call = self._inner_kwargs(self.inner._run, kwargs, config, run_manager)
        try:
            if not self.authorizes:
                return self.inner._run(*args, **call)
            task = self.guard.current_task()
            return task.run(self.name, _model_args(self.inner, kwargs), lambda: self.inner._run(*args, **call))
        except Refused as refusal:
            raise _RefusedCall(refusal_message(refusal)) from refusal

    async def _arun(
        self,
        *args: Any,
        config: RunnableConfig,
        run_manager: Optional[AsyncCallbackManagerForToolRun] = None,
        **kwargs: Any,
    ) -> Any:
        call = self._inner_kwargs(self.inner._arun, kwargs, config, run_manager)
        try:
            if not self.authorizes:
                return await self.inner._arun(*args, **call)
            task = self.guard.current_task()
            return await task.arun(self.name, _model_args(self.inner, kwargs), lambda: self.inner._arun(*args, **call))
        except Refused as refusal:
            raise _RefusedCall(refusal_message(refusal)) from refusal


def guard_tools(
    guard: Guard,
    tools: Sequence[BaseTool],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
) -> List[BaseTool]:
    """Wraps LangChain tools so that every call is authorized by ``guard``.

    Each tool needs a spec (from ``specs``, declared on the guard, or ``default``); a tool
    without one raises :class:`~agentwarrant.UnguardedToolError` here, naming it.
    """
    resolve_specs(guard, [t.name for t in tools], specs, default)
    return [t if isinstance(t, GuardedTool) and t.guard is guard else GuardedTool(t, guard) for t in tools]


def guard_tool_node(
    guard: Guard,
    tools: Sequence[Union[BaseTool, Callable[..., Any]]],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
    **tool_node_options: Any,
) -> Any:
    """A LangGraph ``ToolNode`` whose every tool call goes through ``guard``."""
    from langchain_core.tools import tool as as_tool
    from langgraph.prebuilt import ToolNode

    base = [t if isinstance(t, BaseTool) else as_tool(t) for t in tools]
    return ToolNode(guard_tools(guard, base, specs=specs, default=default), **tool_node_options)
