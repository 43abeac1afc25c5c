"""MCP: a guard in front of a client session's ``call_tool``, and on the server side.

Works with ``mcp`` 1.x (``ClientSession``, ``FastMCP``, the low-level ``Server``) and 2.x
(``Client``, ``MCPServer``, server middleware).

Client side (the agent calls tools of any MCP server)::

    async with Client(server) as client:                       # or a 1.x ClientSession
        tools = await guard_client(client, guard, specs=...)   # fails here on unguarded tools
        async with guard.task(identity, intent):
            result = await tools.call_tool("send_email", {...})

Server side (every ``tools/call`` the server receives is authorized)::

    guard_server(server, guard, specs=..., identity=agent, intent=intent)  # a task per client session
    guard_server(server, guard, specs=..., task=task)                      # or one task, or (ctx) -> Task
    guard_server(server, guard, specs=..., task="current")                 # or the caller's (in-process)

A served tool call has no ``with guard.task(...)`` around it, so the server side must be told
which task its calls run in; without one, ``guard_server`` raises ``ConfigError`` at wrap time
(unless the guard has a default task, ``guard.use_default_task(...)``).

A refused call comes back as a ``CallToolResult`` with ``isError: true`` and a short text the
model can act on; a tool error is recorded as the call's outcome.

The chain crosses the wire: the guarded client sends each call's chain token
(``warrant.chain_token()``) in the request's ``_meta`` under ``agentwarrant/chain``; a guarded
server that knows its own identity (``identity=``, or ``task=`` a Task, whose identity it takes)
continues that chain for the call (``guard.resume_chain``: depth keeps counting, scopes only
narrow, labels carry over) and sends the chain's labels back in the result's ``_meta`` under
``agentwarrant/labels``, which the client adds to its own chain. A token that does not verify
refuses the call (``chain_token_invalid``); the server's guard must trust the client's keys
(``Guard(trust_chain_keys=client_jwks)``). Requests without a token run as before.

A served call that needs approval (``approvals=``): ``"approver"`` (default) asks the guard's
approver; ``"elicit"`` asks the client's user through MCP elicitation (the request as the
message, a form asking whether to approve and who approves; the engine checks the answer). It
needs a connection that carries server-initiated requests (mcp 1.x sessions, 2.x sessions in
``legacy`` mode); a client that cannot be asked refuses the call; ``"pending"`` answers with an error result
naming the ticket, so that a person approves it through ``guard.approvals`` and the client
calls the tool again (the same call gets the same ticket, then runs).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Union

from mcp.types import CallToolResult

from agentwarrant._guard import Guard, Task, _arun_call
from agentwarrant._native import Identity, Intent, Ticket, ToolSpec, Warrant
from agentwarrant.errors import ConfigError, NoActiveTask, Refused, TaskError
from agentwarrant.integrations._common import Specs, file_answer, refusal_message, resolve_specs

__all__ = ["CHAIN_META", "LABELS_META", "GuardMiddleware", "GuardedClient", "guard_client", "guard_server", "refused_result"]

CHAIN_META = "agentwarrant/chain"
"""The ``_meta`` key of a request that carries the caller's chain token."""
LABELS_META = "agentwarrant/labels"
"""The ``_meta`` key of a result that carries the labels of the chain it continued."""
# A server sends back at most this many labels (more are a hostile or broken server's).
_MAX_RETURNED_LABELS = 64

_log = logging.getLogger("agentwarrant")

TaskSource = Union[Task, Callable[[Any], Task], Literal["current"], None]
"""Where a served call's task comes from: a :class:`Task`; a callable ``(ctx) -> Task`` (``ctx``
is the SDK's request context, ``ctx.session`` the client's session on 1.x and 2.x); ``"current"``,
the task current where the server runs (in-process servers); ``None`` with ``identity=`` and
``intent=``, one task per client session."""


Approvals = Literal["approver", "elicit", "pending"]
"""How a served call that needs approval gets its answer (see the module docs)."""

# The form an elicited approval asks the client's user to fill in.
_APPROVAL_FORM: Dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {"type": "boolean", "title": "Approve this call?"},
        "approver": {"type": "string", "title": "Who approves (your email)"},
    },
    "required": ["approve", "approver"],
}


async def _elicit(session: Any, ticket: Ticket) -> Dict[str, Any]:
    """The client's user's answer to ``ticket``, asked through MCP elicitation; anything but
    an accepted form that approves and names someone is a refusal (fail closed)."""
    try:
        result = await session.elicit(str(ticket), _APPROVAL_FORM)
    except Exception as error:  # noqa: BLE001 -- no back channel, no elicitation support, ...
        return {"approved": False, "reason": f"the client could not be asked: {type(error).__name__}: {error}"}
    action = getattr(result, "action", None)
    content = getattr(result, "content", None) or {}
    who = content.get("approver")
    who = who.strip() if isinstance(who, str) else ""
    if action == "accept" and content.get("approve") is True and who:
        return {"approved": True, "by": who}
    return {"approved": False, "by": who or None, "reason": f"the client's user answered `{action}`"}


def _error_result(text: str) -> CallToolResult:
    # By alias: the field is `isError` on mcp 1.x and `is_error` (alias `isError`) on 2.x; a
    # keyword the model does not know would be dropped, and the refusal would read as success.
    return CallToolResult.model_validate({"content": [{"type": "text", "text": text}], "isError": True})


def refused_result(refusal: Refused) -> CallToolResult:
    """The tool-error result (``isError: true``) a model sees for a refused call."""
    return _error_result(refusal_message(refusal))


def _error_text(result: Any) -> Optional[str]:
    """The error of an MCP tool result (model or dict), or ``None`` when it succeeded."""
    if isinstance(result, Mapping):
        failed = result.get("isError", result.get("is_error", False))
        content = result.get("content") or []
    else:
        failed = getattr(result, "is_error", getattr(result, "isError", False))
        content = getattr(result, "content", None) or []
    if not failed:
        return None
    texts = [c.get("text") if isinstance(c, Mapping) else getattr(c, "text", None) for c in content]
    return "; ".join(t for t in texts if t) or "the tool reported an error"


def _meta_get(meta: Any, key: str) -> Any:
    """``key`` of a ``_meta``: a dict (mcp 2.x), or a model whose extra fields hold it (1.x)."""
    if meta is None:
        return None
    if isinstance(meta, Mapping):
        return meta.get(key)
    return (getattr(meta, "model_extra", None) or {}).get(key)


def _returned_labels(result: Any) -> List[str]:
    """The labels a tool server that continued the chain sent back with its result."""
    result = getattr(result, "root", result)
    meta = result.get("_meta") if isinstance(result, Mapping) else getattr(result, "meta", None)
    labels = _meta_get(meta, LABELS_META)
    if not isinstance(labels, list):
        return []
    return [label for label in labels if isinstance(label, str)][:_MAX_RETURNED_LABELS]


def _with_labels(result: Any, labels: List[str]) -> Any:
    """``result`` (a model, a ``ServerResult`` or a dict) carrying ``labels`` in its ``_meta``."""
    if not labels:
        return result
    inner = getattr(result, "root", result)
    if isinstance(inner, dict):
        inner.setdefault("_meta", {})[LABELS_META] = labels
    elif hasattr(inner, "meta"):
        inner.meta = {**(inner.meta or {}), LABELS_META: labels}
    return result


async def _guarded(
    task: Task,
    name: str,
    arguments: Optional[Mapping[str, Any]],
    call: Callable[[Warrant], Awaitable[Any]],
    refused: Callable[[CallToolResult], Any] = lambda result: result,
    approvals: Approvals = "approver",
    session: Any = None,
) -> Any:
    """Authorizes the ``tools/call`` of ``name`` in ``task``, then runs ``call(warrant)`` as
    that call.

    A refusal is returned as the tool-error result the model sees (wrapped by ``refused``); an
    error result (or a raise) is recorded as the call's error; labels a server sends back join
    the chain.
    """
    args = dict(arguments or {})
    span = None
    try:
        if approvals == "approver":
            warrant, span = await task._authorized_async(name, args)
        else:
            outcome = task.submit(name, args)
            if isinstance(outcome, Ticket):
                if approvals == "elicit":
                    file_answer(task.guard, outcome, await _elicit(session, outcome))
                outcome = task.resume(outcome)
            if isinstance(outcome, Ticket):
                return refused(
                    _error_result(
                        f"approval pending: `{name}` waits for a person to approve it (ticket "
                        f"{outcome.id}); call it again with the same arguments once approved."
                    )
                )
            warrant = outcome
    except Refused as refusal:
        return refused(refused_result(refusal))
    return await _arun_call(
        task._root,
        warrant,
        lambda: call(warrant),
        failed=lambda result: _error_text(getattr(result, "root", result)),
        span=span,
        labels=_returned_labels,
    )


class GuardedClient:
    """An MCP client (``mcp.Client`` or ``ClientSession``) whose ``call_tool`` is guarded.

    Every other attribute is the wrapped client's. Build it with :func:`guard_client`, which
    checks at wrap time that every tool the server lists has a spec.
    """

    def __init__(self, client: Any, guard: Guard) -> None:
        self._client = client
        self._guard = guard

    @property
    def client(self) -> Any:
        return self._client

    async def call_tool(self, name: str, arguments: Optional[Mapping[str, Any]] = None, *args: Any, **kwargs: Any) -> Any:
        task = self._guard.current_task()
        plain = None if arguments is None else dict(arguments)
        meta = dict(kwargs.pop("meta", None) or {})

        def call(warrant: Warrant) -> Awaitable[Any]:
            # The chain goes with the call, like a trace header: the server continues it.
            pending: Awaitable[Any] = self._client.call_tool(
                name, plain, *args, meta={**meta, CHAIN_META: warrant.chain_token()}, **kwargs
            )
            return pending

        return await _guarded(task, name, arguments, call)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def guard_client(client: Any, guard: Guard, *, specs: Specs = None, default: Optional[ToolSpec] = None) -> GuardedClient:
    """Lists the server's tools and guards the client's ``call_tool``; a listed tool without a
    spec raises :class:`~agentwarrant.UnguardedToolError`, naming it."""
    listed = await client.list_tools()
    resolve_specs(guard, [tool.name for tool in listed.tools], specs, default)
    return GuardedClient(client, guard)


class GuardMiddleware:
    """MCP server middleware (mcp 2.x): authorizes every ``tools/call`` before the tool runs.

    ``task`` is the task calls run in (see :data:`TaskSource`): a :class:`Task`, a callable
    ``(ctx) -> Task``, ``"current"``, or ``None`` with ``identity=`` and ``intent=`` for one
    task per client session (begun at the session's first call). With none of these, the
    guard's default task (``guard.use_default_task``) is used, and without one it is a
    :class:`~agentwarrant.ConfigError` here. ``tool_names`` are checked for specs now.
    """

    def __init__(
        self,
        guard: Guard,
        *,
        specs: Specs = None,
        default: Optional[ToolSpec] = None,
        tool_names: Iterable[str] = (),
        task: TaskSource = None,
        identity: Optional[Identity] = None,
        intent: Optional[Intent] = None,
        approvals: Approvals = "approver",
    ) -> None:
        if approvals not in ("approver", "elicit", "pending"):
            raise ValueError(f"`approvals` must be 'approver', 'elicit' or 'pending', got {approvals!r}")
        if (identity is None) != (intent is None):
            raise ConfigError("a task per client session needs both `identity=` and `intent=`", code="invalid_intent")
        if identity is not None and task is not None:
            raise ConfigError("pass either `task=` or `identity=`/`intent=`, not both", code="invalid_intent")
        if task is None and identity is None and guard._default_task is None:
            raise ConfigError(
                "a served MCP tool call runs outside any `with guard.task(...)`, so the server "
                "needs its task: pass `identity=` and `intent=` (one task per client session), "
                "`task=` (a Task, or a callable (ctx) -> Task), `task=\"current\"` (the task "
                "current where the server runs, for in-process servers), or set "
                "`guard.use_default_task(...)`",
                code="no_task",
            )
        if task is not None and not (isinstance(task, Task) or task == "current" or callable(task)):
            raise TypeError(f"`task` must be a Task, a callable (ctx) -> Task or \"current\", got {type(task).__name__}")
        self.guard = guard
        self.task = task
        self.approvals: Approvals = approvals
        self.default = default
        self._identity = identity
        self._intent = intent
        # One task per client session, ended when the session object goes away.
        self._sessions: "weakref.WeakKeyDictionary[Any, Task]" = weakref.WeakKeyDictionary()
        self._by_id: Dict[int, Task] = {}
        resolve_specs(guard, list(tool_names), specs, default)

    def _task(self, ctx: Any) -> Task:
        if isinstance(self.task, Task):
            return self.task
        if self.task is not None and self.task != "current" and callable(self.task):
            return self.task(ctx)
        if self._identity is not None and self._intent is not None:
            return self._session_task(getattr(ctx, "session", None))
        return self.guard.current_task()

    def _session_task(self, session: Any) -> Task:
        assert self._identity is not None and self._intent is not None
        # The client's connection: the session itself on mcp 1.x; on 2.x each request gets a
        # ServerSession of its own over the connection-scoped state.
        key = getattr(session, "connection", None) or getattr(session, "_connection", None) or session
        if key is None:
            raise NoActiveTask("the MCP request carries no client session to begin a task for")
        try:
            task = self._sessions.get(key)
        except TypeError:  # not weakly referenceable, or not hashable
            task = self._by_id.get(id(key))
        if task is None or task.ended:
            task = self.guard.task(self._identity, self._intent)
            try:
                self._sessions[key] = task
            except TypeError:
                self._by_id[id(key)] = task
            else:
                weakref.finalize(key, task.end)  # the session is gone: end its task
        return task

    def _own_identity(self) -> Optional[Identity]:
        """The identity this server's calls run as, when it has one of its own."""
        if self._identity is not None:
            return self._identity
        return self.task.identity if isinstance(self.task, Task) else None

    async def _call(
        self,
        ctx: Any,
        name: str,
        arguments: Mapping[str, Any],
        call: Callable[[], Awaitable[Any]],
        wrap: Callable[[CallToolResult], Any],
        meta: Any = None,
    ) -> Any:
        if self.default is not None and self.guard.spec(name) is None:
            # A tool registered after wrapping gets the default spec, as one listed at wrap time.
            self.guard.add_tool(self.default.with_name(name))
        token = _meta_get(meta, CHAIN_META)
        identity = self._own_identity()
        session = getattr(ctx, "session", None)
        if isinstance(token, str) and identity is not None:
            try:
                continued = self.guard.resume_chain(token, identity)
            except TaskError as error:
                _log.error("agentwarrant: MCP tools/call of `%s` refused: %s", name, error)
                return wrap(_error_result(f"refused: `{name}` cannot run: the caller's chain token was refused ({error.code})."))
            with continued:
                result = await _guarded(continued, name, arguments, lambda _: call(), wrap, self.approvals, session)
                return _with_labels(result, continued.chain_labels)
        try:
            task = self._task(ctx)
        except NoActiveTask as error:
            # Fail closed, and say so to the host instead of an "Internal server error".
            _log.error("agentwarrant: MCP tools/call of `%s` refused: %s", name, error)
            return wrap(_error_result(f"refused: `{name}` cannot run: no agentwarrant task is active for this server."))
        return await _guarded(task, name, arguments, lambda _: call(), wrap, self.approvals, session)

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params or {}
        name = params.get("name")
        arguments = params.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, Mapping):
            return await call_next(ctx)  # malformed: the server's validation answers
        meta = getattr(ctx, "meta", None) or params.get("_meta")
        return await self._call(ctx, name, arguments, lambda: call_next(ctx), lambda result: result, meta)


def _server_tool_names(server: Any) -> List[str]:
    manager = getattr(server, "_tool_manager", None)
    if manager is not None:
        return [tool.name for tool in manager.list_tools()]
    return []


def _guard_v1_handler(lowlevel: Any, middleware: GuardMiddleware) -> None:
    """mcp 1.x has no server middleware: the ``tools/call`` request handler is wrapped."""
    from mcp import types

    handlers: Any = getattr(lowlevel, "request_handlers", None)
    original = handlers.get(types.CallToolRequest) if isinstance(handlers, dict) else None
    # 1.x wraps every handler's answer in a ServerResult (a union type on 2.x: looked up here).
    server_result: Callable[[CallToolResult], Any] = getattr(types, "ServerResult")
    if original is None:
        raise TypeError(
            f"{type(lowlevel).__name__} has no tools/call handler to guard: register the server's "
            "tools (or its call_tool handler) before guard_server"
        )

    async def guarded_call_tool(request: Any) -> Any:
        try:
            ctx: Any = lowlevel.request_context
        except LookupError:
            ctx = None
        params = request.params
        return await middleware._call(
            ctx, params.name, dict(params.arguments or {}), lambda: original(request), server_result, params.meta
        )

    handlers[types.CallToolRequest] = guarded_call_tool


def guard_server(
    server: Any,
    guard: Guard,
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
    tool_names: Optional[Iterable[str]] = None,
    task: TaskSource = None,
    identity: Optional[Identity] = None,
    intent: Optional[Intent] = None,
    approvals: Approvals = "approver",
) -> GuardMiddleware:
    """Guards every ``tools/call`` of an MCP server: ``MCPServer`` or low-level ``Server`` on
    mcp 2.x (a :class:`GuardMiddleware` in front of the SDK's own), ``FastMCP`` or low-level
    ``Server`` on mcp 1.x (its ``tools/call`` handler wrapped).

    The calls' task: see :class:`GuardMiddleware` (``identity=``/``intent=`` for one task per
    client session, ``task=``, or ``task="current"``); none of them is a ``ConfigError`` here.
    The server's registered tools (or ``tool_names``) must each have a spec; tools registered
    later are refused as ``unknown_tool`` unless a default applies. ``approvals`` says how a
    call that needs approval is answered (see the module docs)."""
    names = list(tool_names) if tool_names is not None else _server_tool_names(server)
    middleware = GuardMiddleware(
        guard,
        specs=specs,
        default=default,
        tool_names=names,
        task=task,
        identity=identity,
        intent=intent,
        approvals=approvals,
    )
    lowlevel = getattr(server, "_lowlevel_server", None) or getattr(server, "_mcp_server", None) or server
    chain = getattr(lowlevel, "middleware", None)
    if isinstance(chain, list):
        chain.append(middleware)
    else:
        _guard_v1_handler(lowlevel, middleware)
    return middleware
