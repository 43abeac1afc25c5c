"""LangChain and LangGraph: every tool call goes through the guard.

>>> from agentwarrant.integrations.langchain import guard_tools, guard_tool_node
>>> tools = guard_tools(guard, [search, send_email], specs={"search": ToolSpec(...), ...})
>>> node = guard_tool_node(guard, [search, send_email], specs=...)   # a LangGraph ToolNode

Run the agent inside ``with guard.task(identity, intent):`` (LangChain and LangGraph copy the
context into their worker threads and tasks, so the guard finds the task). A refused call
comes back to the model as a ``ToolMessage`` with ``status="error"`` and a short message; a
tool's own exception is recorded as the call's outcome and handled as the tool would.

With ``approvals="interrupt"`` a call that needs approval does not block on the guard's
approver: the graph pauses with a LangGraph ``interrupt()`` carrying
:func:`~agentwarrant.integrations._common.approval_payload` (the ticket, the tool, its args,
the reasons), and ``graph.invoke(Command(resume={"approved": True, "by": "bob@acme.com"}),
config)`` carries the human's answer back (or ``{"filed": True}`` when a UI filed it through
``guard.approvals``); the engine checks it and the tool runs (or the model gets the refusal). The graph needs a checkpointer, and the task must stay open between
the two invocations.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Union

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException

from agentwarrant._guard import Guard, Task, _arun_call, _run_call
from agentwarrant._native import Ticket, ToolSpec, Warrant
from agentwarrant.errors import Refused
from agentwarrant.integrations._common import Specs, approval_payload, file_answer, refusal_message, resolve_specs

Approvals = Literal["approver", "interrupt"]
"""How a call that needs approval gets its answer: the guard's approver (blocking), or a
LangGraph ``interrupt()`` that pauses the graph until ``Command(resume=...)``."""

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
    interrupts: bool = False

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
            model_args = _model_args(self.inner, kwargs)
            if not self.interrupts:
                return task.run(self.name, model_args, lambda: self.inner._run(*args, **call))
            warrant = self._after_interrupt(task, model_args)
            return _run_call(task._root, warrant, lambda: self.inner._run(*args, **call), (), {})
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
            model_args = _model_args(self.inner, kwargs)
            if not self.interrupts:
                return await task.arun(self.name, model_args, lambda: self.inner._arun(*args, **call))
            warrant = self._after_interrupt(task, model_args)
            return await _arun_call(task._root, warrant, lambda: self.inner._arun(*args, **call))
        except Refused as refusal:
            raise _RefusedCall(refusal_message(refusal)) from refusal

    def _after_interrupt(self, task: Task, args: Dict[str, Any]) -> Warrant:
        """The call's warrant, pausing the graph while a human decides.

        The first run submits the call and ``interrupt()`` stops the graph; when the graph is
        resumed LangGraph runs this node again: the same call gets the same ticket, and
        ``interrupt()`` returns the human's answer, which is filed and the call resumed. A
        refusal raises :class:`Refused`."""
        from langgraph.types import interrupt

        outcome = task.submit(self.name, args)
        if isinstance(outcome, Warrant):
            return outcome
        answer = interrupt(approval_payload(outcome))
        file_answer(self.guard, outcome, answer)
        resumed = task.resume(outcome)
        if isinstance(resumed, Ticket):
            # Resumed without an answer, none filed elsewhere either: fail closed.
            file_answer(self.guard, resumed, {"approved": False, "reason": "the graph resumed without an answer"})
            resumed = task.resume(resumed)
        if not isinstance(resumed, Warrant):
            raise TypeError(f"a filed answer must decide the call, got {resumed!r}")
        return resumed


def guard_tools(
    guard: Guard,
    tools: Sequence[BaseTool],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
    approvals: Approvals = "approver",
) -> List[BaseTool]:
    """Wraps LangChain tools so that every call is authorized by ``guard``.

    Each tool needs a spec (from ``specs``, declared on the guard, or ``default``); a tool
    without one raises :class:`~agentwarrant.UnguardedToolError` here, naming it.
    ``approvals="interrupt"`` pauses a LangGraph graph for a call that needs approval (see the
    module docs) instead of asking the guard's approver.
    """
    if approvals not in ("approver", "interrupt"):
        raise ValueError(f"`approvals` must be 'approver' or 'interrupt', got {approvals!r}")
    resolve_specs(guard, [t.name for t in tools], specs, default)
    interrupts = approvals == "interrupt"
    return [
        t if isinstance(t, GuardedTool) and t.guard is guard and t.interrupts == interrupts else GuardedTool(t, guard, interrupts=interrupts)
        for t in tools
    ]


def guard_tool_node(
    guard: Guard,
    tools: Sequence[Union[BaseTool, Callable[..., Any]]],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
    approvals: Approvals = "approver",
    **tool_node_options: Any,
) -> Any:
    """A LangGraph ``ToolNode`` whose every tool call goes through ``guard``;
    ``approvals="interrupt"`` pauses the graph for a human instead of asking the approver."""
    from langchain_core.tools import tool as as_tool
    from langgraph.prebuilt import ToolNode

    base = [t if isinstance(t, BaseTool) else as_tool(t) for t in tools]
    return ToolNode(guard_tools(guard, base, specs=specs, default=default, approvals=approvals), **tool_node_options)
