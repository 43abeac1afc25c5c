"""What every adapter shares: spec resolution at wrap time, the refusal message, and the guarded
call itself (:func:`guarded_call` / :func:`aguarded_call`), so that an adapter only finds the
framework's tool hook, the call's args and the framework's form of a tool error."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Iterable, Mapping, Optional, TypeVar, Union, overload

from agentwarrant._guard import Guard, _arun_call, _authorized, _run_call
from agentwarrant._native import Ticket, ToolSpec
from agentwarrant.errors import Refused, TaskError, UnguardedToolError

Specs = Union[Mapping[str, ToolSpec], Iterable[ToolSpec], None]
"""Tool specs for an adapter: a mapping from tool name to spec, or specs carrying the names."""


def spec_map(specs: Specs) -> Dict[str, ToolSpec]:
    """``specs`` as a mapping from tool name to spec (a spec given under another name takes
    that name), for an adapter that resolves specs later, when the tools are listed."""
    given: Dict[str, ToolSpec] = {}
    if isinstance(specs, Mapping):
        for name, spec in specs.items():
            given[name] = spec if spec.name == name else spec.with_name(name)
    elif specs is not None:
        given = {spec.name: spec for spec in specs}
    return given


def resolve_specs(guard: Guard, names: Iterable[str], specs: Specs = None, default: Optional[ToolSpec] = None) -> Dict[str, ToolSpec]:
    """The spec of every tool in ``names``, declared on ``guard``.

    A tool's spec is the one given in ``specs``, else the one already declared on the guard,
    else ``default`` (or the guard's ``default_tool``) under the tool's name. A spec given for
    a tool the guard declared otherwise fails here (:class:`~agentwarrant.ConfigError`
    ``duplicate_tool``): neither spec is silently dropped. A tool with no spec at all fails
    here too, naming it: no tool is left unguarded silently.
    """
    given = spec_map(specs)
    fallback = default if default is not None else guard.default_tool
    resolved: Dict[str, ToolSpec] = {}
    missing = []
    for name in names:
        declared = guard.spec(name)
        spec = given.get(name) or declared
        if spec is None and fallback is not None:
            spec = fallback.with_name(name)
        if spec is None:
            missing.append(name)
            continue
        if spec is not declared:
            guard.add_tool(spec)  # an equal spec is harmless; another one is `duplicate_tool`
        resolved[name] = spec
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        raise UnguardedToolError(
            f"no ToolSpec for tool(s) {listed}: pass `specs={{name: ToolSpec(...)}}`, "
            "declare them on the guard, or give an explicit `default=ToolSpec(...)`",
            tools=missing,
        )
    return resolved


def refusal_message(refusal: Refused) -> str:
    """The tool-error text a model sees for a refused call.

    SECURITY: only the tool name, the reason codes and their fixed descriptions; never the
    args, the reasons' details or the policy. Operators find those in the ledger under
    ``refusal.call_id``.
    """
    return f"{refusal} Do not retry this call unchanged."


R = TypeVar("R")
T = TypeVar("T")

Failed = Optional[Callable[[Any], Optional[str]]]
"""Tells a tool result that reports an error (an error result rather than a raise): its text,
recorded as the call's error, or ``None`` for a success."""


@overload
def guarded_call(guard: Guard, name: str, args: Mapping[str, Any], run: Callable[[], R], *, failed: Failed = None) -> Union[R, str]: ...
@overload
def guarded_call(
    guard: Guard, name: str, args: Mapping[str, Any], run: Callable[[], R], refused: Callable[[str], T], *, failed: Failed = None
) -> Union[R, T]: ...
def guarded_call(
    guard: Guard,
    name: str,
    args: Mapping[str, Any],
    run: Callable[[], Any],
    refused: Optional[Callable[[str], Any]] = None,
    *,
    failed: Failed = None,
) -> Any:
    """One tool call through ``guard``: what every adapter's tool hook does.

    Authorizes the call of ``name`` with ``args`` (the args the model gave) in the task current
    here (``guard.current_task()``: :class:`~agentwarrant.NoActiveTask` outside any), runs
    ``run()`` as that call (guarded calls it makes nest under it) and records its outcome: a
    raise is recorded and re-raised unchanged, for the framework to handle as the tool's own
    error; a result that ``failed`` reports as an error is recorded as one. A refused call does
    not run: the result is ``refused(text)`` with the agent-safe :func:`refusal_message` (the
    text itself by default), the framework's form of a tool error.
    """
    task = guard._task_for(name)  # guard.current_task(), naming the tool when there is none
    try:
        warrant, span = _authorized(task._core, name, args, task._parent())
    except Refused as refusal:
        text = refusal_message(refusal)
        return text if refused is None else refused(text)
    return _run_call(task._root, warrant, run, (), {}, failed, span)


@overload
async def aguarded_call(
    guard: Guard, name: str, args: Mapping[str, Any], run: Callable[[], Awaitable[R]], *, failed: Failed = None
) -> Union[R, str]: ...
@overload
async def aguarded_call(
    guard: Guard,
    name: str,
    args: Mapping[str, Any],
    run: Callable[[], Awaitable[R]],
    refused: Callable[[str], T],
    *,
    failed: Failed = None,
) -> Union[R, T]: ...
async def aguarded_call(
    guard: Guard,
    name: str,
    args: Mapping[str, Any],
    run: Callable[[], Awaitable[Any]],
    refused: Optional[Callable[[str], Any]] = None,
    *,
    failed: Failed = None,
) -> Any:
    """:func:`guarded_call` for a coroutine function; the event loop is never blocked (a call
    that needs approval waits for the approver off the loop, see ``Task.authorize_async``)."""
    task = guard._task_for(name)  # guard.current_task(), naming the tool when there is none
    try:
        warrant, span = await task._authorized_async(name, args)
    except Refused as refusal:
        text = refusal_message(refusal)
        return text if refused is None else refused(text)
    return await _arun_call(task._root, warrant, run, failed, span)


def approval_payload(ticket: Ticket) -> Dict[str, Any]:
    """What a paused run shows the human, as plain JSON-ready data (a framework checkpoints
    it): the ticket, who asks, the task, the tool and its args in full (``sensitive_args``
    names those to keep out of logs), each reason with its description, how many must
    approve and who may not, the expiry (Unix seconds) and the request as text."""
    request = ticket.request
    return {
        "type": "agentwarrant.approval",
        "ticket": ticket.id,
        "tool": request.tool,
        "args": request.args,
        "sensitive_args": request.sensitive_args,
        "identity": request.identity,
        "owner": request.owner,
        "intent": request.intent,
        "reasons": [{"code": r.code, "description": r.description, "detail": r.detail} for r in request.reasons],
        "approvers_needed": request.approvers_needed,
        "excluded": request.excluded,
        "expires_at": request.expires_at,
        "text": str(ticket),
    }


def file_answer(guard: Guard, ticket: Ticket, answer: object) -> None:
    """Files the human's answer to ``ticket`` in the guard's approval store.

    ``answer`` is ``{"approved": True, "by": "bob@acme.com"}`` (``by`` may list several people
    when the policy asks for more than one), ``{"approved": False, "by": ..., "reason": ...}``,
    or ``{"filed": True}`` when the answer was already filed through ``guard.approvals`` (a
    call with no answer anywhere is refused). Anything else refuses the call (fail closed). A
    ticket that already has its answer keeps it.
    """
    if isinstance(answer, Mapping) and answer.get("filed") is True and "approved" not in answer:
        return
    try:
        if isinstance(answer, Mapping) and answer.get("approved") is True:
            by = answer.get("by")
            people = [by] if isinstance(by, str) else list(by) if isinstance(by, (list, tuple)) else []
            if people and all(isinstance(p, str) for p in people):
                guard.approvals.approve(ticket, *people)
                return
            guard.approvals.deny(ticket, None, "an approval must name who approved (`by`)")
        elif isinstance(answer, Mapping) and answer.get("approved") is False:
            by, reason = answer.get("by"), answer.get("reason")
            guard.approvals.deny(ticket, by if isinstance(by, str) else None, reason if isinstance(reason, str) else None)
        else:
            guard.approvals.deny(ticket, None, f"unusable answer of type {type(answer).__name__}")
    except TaskError as error:
        if error.code != "already_answered":
            raise
