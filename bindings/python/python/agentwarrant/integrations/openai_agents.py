"""OpenAI Agents SDK: guarded function tools.

>>> from agentwarrant.integrations.openai_agents import guard_tools
>>> agent = Agent(name="researcher", tools=guard_tools(guard, [fetch_page, send_email], specs=...))
>>> with guard.task(identity, intent):
...     result = await Runner.run(agent, "research agent security")

Each ``FunctionTool`` is copied with an ``on_invoke_tool`` that authorizes the call first. A
refused call returns a short error message as the tool's output (the model reads it and can
act on it); a tool's own exception is recorded as the call's outcome, then handled by the
SDK's failure policy as before.

With ``approvals="run_state"`` a call that needs approval interrupts the run the SDK's way
(``needs_approval``) instead of blocking on the guard's approver: ``result.interruptions``
lists the pending calls, :func:`approve` / :func:`reject` file the human's answer with the
guard *and* in the run state, and ``Runner.run(agent, state)`` continues; the engine checks
the answer before the tool runs. The paused calls live in this process, with their task.

>>> result = await Runner.run(agent, "pay the invoice")
>>> state = result.to_state()
>>> for item in result.interruptions:
...     approve(state, item, "bob@acme.com")          # or reject(state, item, by=..., reason=...)
>>> result = await Runner.run(agent, state)
"""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any, Awaitable, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Union

from agents import FunctionTool, RunContextWrapper, Tool
from agents.items import ToolApprovalItem
from agents.run_state import RunState
from agents.tool_context import ToolContext

from agentwarrant._guard import Guard, Task, _arun_call
from agentwarrant._native import Ticket, ToolSpec, Warrant
from agentwarrant.errors import Refused
from agentwarrant.integrations._common import Specs, refusal_message, resolve_specs

__all__ = ["guard_tools", "guard_tool", "approve", "reject"]

Invoke = Callable[[ToolContext[Any], str], Awaitable[Any]]

Approvals = Literal["approver", "run_state"]
"""How a call that needs approval gets its answer: the guard's approver (blocking), or the
SDK's ``needs_approval`` interruption answered with :func:`approve` / :func:`reject`."""

# What the guard decided for a call in ``needs_approval``, by the SDK's call id, until the
# tool is invoked (or the call rejected): its warrant, its ticket, or its refusal.
_Decided = Union[Warrant, Ticket, Refused]
_decided: Dict[str, Tuple[Guard, Task, _Decided]] = {}
_decided_lock = threading.Lock()


def _take(call_id: Optional[str]) -> Optional[Tuple[Guard, Task, _Decided]]:
    with _decided_lock:
        return _decided.pop(call_id, None) if call_id else None


def _guarded_invoke(guard: Guard, name: str, invoke: Invoke) -> Invoke:
    async def guarded(ctx: ToolContext[Any], input: str) -> Any:
        task = guard.current_task()
        try:
            args = json.loads(input) if input.strip() else {}
        except json.JSONDecodeError:
            return f"refused: `{name}`: invalid_call (the arguments are not valid JSON)"
        if not isinstance(args, dict):
            return f"refused: `{name}`: invalid_call (the arguments must be a JSON object)"
        decided = _take(getattr(ctx, "tool_call_id", None))
        span = None
        try:
            if decided is None:
                warrant, span = await task._authorized_async(name, args)
            else:
                warrant = _warrant_of(decided[1], decided[2], args)
        except Refused as refusal:
            return refusal_message(refusal)
        return await _arun_call(task._root, warrant, lambda: invoke(ctx, input), span=span)

    prepare = getattr(invoke, "__agents_prepare_arguments__", None)
    if prepare is not None:
        setattr(guarded, "__agents_prepare_arguments__", prepare)
    return guarded


def _warrant_of(task: Task, decided: _Decided, args: Dict[str, Any]) -> Warrant:
    """The warrant of a call decided in ``needs_approval``; raises its refusal."""
    if isinstance(decided, Refused):
        raise decided
    if isinstance(decided, Warrant):
        return decided
    resumed = task.resume(decided.id, decided.request.tool, args)
    if isinstance(resumed, Ticket):
        # Approved in the run state only (not with `approve`): no human is named, fail closed.
        task.guard.approvals.deny(resumed, None, "approved in the run state without naming who approved (use agentwarrant's approve())")
        resumed = task.resume(resumed)
    if not isinstance(resumed, Warrant):
        raise TypeError(f"a filed answer must decide the call, got {resumed!r}")
    return resumed


def _needs_approval(guard: Guard, name: str) -> Callable[[RunContextWrapper[Any], Dict[str, Any], str], Awaitable[bool]]:
    """The SDK's ``needs_approval`` for a guarded tool: the guard decides the call now; a call
    needing approval interrupts the run with its ticket kept for :func:`approve`."""

    async def needs_approval(ctx: RunContextWrapper[Any], params: Dict[str, Any], call_id: str) -> bool:
        task = guard.current_task()
        decided: _Decided
        try:
            decided = task.submit(name, params)
        except Refused as refusal:
            decided = refusal
        with _decided_lock:
            _decided[call_id] = (guard, task, decided)
        return isinstance(decided, Ticket)

    return needs_approval


def _ticket_for(item: ToolApprovalItem) -> Tuple[Guard, Task, Ticket]:
    call_id = getattr(item.raw_item, "call_id", None)
    with _decided_lock:
        found = _decided.get(call_id) if isinstance(call_id, str) else None
    if found is None or not isinstance(found[2], Ticket):
        raise LookupError(f"no guarded call is waiting for approval under call id {call_id!r}")
    return found[0], found[1], found[2]


def approve(state: RunState[Any, Any], item: ToolApprovalItem, *approvers: str) -> None:
    """Approves an interrupted guarded call as ``approvers`` (human principals): filed with the
    guard, whose engine checks it when the run continues, and in the run state."""
    guard, _, ticket = _ticket_for(item)
    guard.approvals.approve(ticket, *approvers)
    state.approve(item)


def reject(state: RunState[Any, Any], item: ToolApprovalItem, *, by: Optional[str] = None, reason: Optional[str] = None) -> None:
    """Refuses an interrupted guarded call: filed with the guard (the refusal is recorded now)
    and in the run state, so the model reads the refusal when the run continues."""
    guard, task, ticket = _ticket_for(item)
    guard.approvals.deny(ticket, by, reason)
    _take(getattr(item.raw_item, "call_id", None))
    try:
        task.resume(ticket)
        raise TypeError("a refused ticket must not resume")  # pragma: no cover
    except Refused as refusal:
        state.reject(item, rejection_message=refusal_message(refusal))


def guard_tool(guard: Guard, tool: FunctionTool, *, approvals: Approvals = "approver") -> FunctionTool:
    """A copy of ``tool`` whose calls go through ``guard`` (its spec must be declared);
    ``approvals="run_state"`` interrupts the run for a human (see the module docs)."""
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
    if approvals == "run_state":
        return dataclasses.replace(tool, on_invoke_tool=invoke, needs_approval=_needs_approval(guard, tool.name))
    if approvals != "approver":
        raise ValueError(f"`approvals` must be 'approver' or 'run_state', got {approvals!r}")
    return dataclasses.replace(tool, on_invoke_tool=invoke)


def guard_tools(
    guard: Guard,
    tools: Sequence[FunctionTool],
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
    approvals: Approvals = "approver",
) -> List[Tool]:
    """Guards every function tool; a tool without a spec (from ``specs``, the guard, or
    ``default``) raises :class:`~agentwarrant.UnguardedToolError` here, naming it.

    The result is a ``list[Tool]``, the type ``Agent(tools=...)`` takes (a list is invariant:
    a ``list[FunctionTool]`` would not type-check there)."""
    for tool in tools:
        if not isinstance(tool, FunctionTool):
            raise TypeError(f"guard_tools() guards FunctionTools; `{getattr(tool, 'name', tool)}` is a {type(tool).__name__}")
    resolve_specs(guard, [t.name for t in tools], specs, default)
    guarded: List[Tool] = [guard_tool(guard, t, approvals=approvals) for t in tools]
    return guarded
