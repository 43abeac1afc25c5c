"""MCP: a guard in front of a client session's ``call_tool``, and as server middleware.

Client side (the agent calls tools of any MCP server)::

    async with Client(server) as client:
        tools = await guard_client(client, guard, specs=...)   # fails here on unguarded tools
        async with guard.task(identity, intent):
            result = await tools.call_tool("send_email", {...})

Server side (every ``tools/call`` the server receives is authorized)::

    server = MCPServer("mail", middleware=[GuardMiddleware(guard, specs=..., tool_names=[...])])
    # or, for a server already built:  guard_server(server, guard, specs=...)

A refused call comes back as a ``CallToolResult`` with ``is_error`` set and a short text the
model can act on; a tool error is recorded as the call's outcome.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable, List, Mapping, Optional, Union

from mcp.types import CallToolResult, TextContent

from agentwarrant._guard import Guard, Task, _arun_call
from agentwarrant._native import ToolSpec
from agentwarrant.errors import Refused
from agentwarrant.integrations._common import Specs, refusal_message, resolve_specs

__all__ = ["GuardMiddleware", "GuardedClient", "guard_client", "guard_server", "refused_result"]

TaskSource = Union[Task, Callable[[Any], Task], None]


def refused_result(refusal: Refused) -> CallToolResult:
    """The tool-error result a model sees for a refused call."""
    return CallToolResult(content=[TextContent(type="text", text=refusal_message(refusal))], is_error=True)


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


async def _guarded(task: Task, name: str, arguments: Optional[Mapping[str, Any]], call: Callable[[], Awaitable[Any]]) -> Any:
    """Authorizes the ``tools/call`` of ``name`` in ``task``, then runs ``call`` as that call.

    A refusal is returned as the tool-error result the model sees; an error result (or a raise)
    is recorded as the call's error.
    """
    try:
        warrant = await task.authorize_async(name, dict(arguments or {}))
    except Refused as refusal:
        return refused_result(refusal)
    return await _arun_call(task._root, warrant, call, failed=_error_text)


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
        return await _guarded(task, name, arguments, lambda: self._client.call_tool(name, plain, *args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


async def guard_client(client: Any, guard: Guard, *, specs: Specs = None, default: Optional[ToolSpec] = None) -> GuardedClient:
    """Lists the server's tools and guards the client's ``call_tool``; a listed tool without a
    spec raises :class:`~agentwarrant.UnguardedToolError`, naming it."""
    listed = await client.list_tools()
    resolve_specs(guard, [tool.name for tool in listed.tools], specs, default)
    return GuardedClient(client, guard)


class GuardMiddleware:
    """MCP server middleware: authorizes every ``tools/call`` before the tool runs.

    ``task`` is the task calls run in: a :class:`Task`, a callable ``(ctx) -> Task`` (e.g. one
    task per client session), or ``None`` for the task current where the server runs.
    ``tool_names`` are checked for specs now (wrap time).
    """

    def __init__(
        self,
        guard: Guard,
        *,
        specs: Specs = None,
        default: Optional[ToolSpec] = None,
        tool_names: Iterable[str] = (),
        task: TaskSource = None,
    ) -> None:
        self.guard = guard
        self.task = task
        self.default = default
        resolve_specs(guard, list(tool_names), specs, default)

    def _task(self, ctx: Any) -> Task:
        if isinstance(self.task, Task):
            return self.task
        if self.task is not None:
            return self.task(ctx)
        return self.guard.current_task()

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Any]) -> Any:
        if ctx.method != "tools/call" or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params or {}
        name = params.get("name")
        arguments = params.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, Mapping):
            return await call_next(ctx)  # malformed: the server's validation answers
        return await _guarded(self._task(ctx), name, arguments, lambda: call_next(ctx))


def _server_tool_names(server: Any) -> List[str]:
    manager = getattr(server, "_tool_manager", None)
    if manager is not None:
        return [tool.name for tool in manager.list_tools()]
    return []


def guard_server(
    server: Any,
    guard: Guard,
    *,
    specs: Specs = None,
    default: Optional[ToolSpec] = None,
    tool_names: Optional[Iterable[str]] = None,
    task: TaskSource = None,
) -> GuardMiddleware:
    """Adds a :class:`GuardMiddleware` to an ``MCPServer`` (or low-level ``Server``) in front of
    the SDK's own middleware. The server's registered tools (or ``tool_names``) must each have
    a spec; tools registered later are refused as ``unknown_tool`` unless a default applies."""
    names = list(tool_names) if tool_names is not None else _server_tool_names(server)
    middleware = GuardMiddleware(guard, specs=specs, default=default, tool_names=names, task=task)
    lowlevel = getattr(server, "_lowlevel_server", server)
    chain = getattr(lowlevel, "middleware", None)
    if not isinstance(chain, list):
        raise TypeError(f"{type(server).__name__} has no middleware list; pass GuardMiddleware to the server instead")
    chain.append(middleware)
    return middleware
