"""MCP: a real in-process MCP server guarded by middleware, and a guarded client session.

Run: pip install "./bindings/python[mcp]" && python examples/python/mcp_agent.py
"""

from __future__ import annotations

import asyncio

from mcp import Client
from mcp.server.mcpserver import MCPServer

from _story import SCRIPT, TOOLS, intent, make_guard, outbox, report, researcher, specs
from agentwarrant.integrations.mcp import guard_client, guard_server


def research_server() -> MCPServer:
    server = MCPServer("research-tools")
    for tool in TOOLS:
        server.tool()(tool)
    return server


async def main() -> None:
    # Client side: the agent's session is guarded; the server is anyone's.
    guard = make_guard()
    async with Client(research_server()) as client:
        session = await guard_client(client, guard, specs=specs)  # fails on an unguarded tool
        async with guard.task(researcher, intent):
            for name, args in SCRIPT:
                result = await session.call_tool(name, args)
                text = "".join(getattr(c, "text", "") for c in result.content)
                print(f"  {name}: {'error' if result.is_error else 'ok'}: {text[:90]!r}")
    report(guard)

    # Server side: the same guard as middleware inside the server, for any client.
    outbox.clear()
    guard = make_guard()
    server = research_server()
    # In-process, the server's calls run in the task current here (`task="current"`); a
    # deployed server passes `identity=` and `intent=` (a task per client session; on a
    # stateless exchange each request is its own task) or `task=` to chain a whole run.
    guard_server(server, guard, specs=specs, task="current")
    async with guard.task(researcher, intent):
        async with Client(server) as plain_client:
            for name, args in SCRIPT:
                result = await plain_client.call_tool(name, args)
                print(f"  (server side) {name}: {'error' if result.is_error else 'ok'}")
    report(guard)


if __name__ == "__main__":
    asyncio.run(main())
