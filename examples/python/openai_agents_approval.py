"""An OpenAI Agents SDK run that stops for a human: a guarded call that needs approval shows up
in `result.interruptions`; `approve` / `reject` answer it with the guard and in the run state,
and the run continues. Scripted model, no API key.

Run: pip install "./bindings/python[openai-agents]" && python examples/python/openai_agents_approval.py
"""

from __future__ import annotations

import asyncio
import json

from agents import Agent, RunConfig, Runner, function_tool

import agentwarrant as aw
from _story import TOOLS, bob_approves, intent, report, researcher, scripted_agents_model, specs
from agentwarrant.integrations.openai_agents import approve, guard_tools, reject


async def main() -> None:
    guard = aw.Guard(ledger=aw.MemoryLedger())  # no approver: people answer interruptions
    tools = guard_tools(guard, [function_tool(f) for f in TOOLS], specs=specs, approvals="run_state")
    agent = Agent(name="researcher", instructions="research", model=scripted_agents_model(), tools=tools)
    run = RunConfig(tracing_disabled=True)

    async with guard.task(researcher, intent):
        result = await Runner.run(agent, "research agent security", run_config=run)
        while result.interruptions:
            state = result.to_state()
            for item in result.interruptions:
                args = json.loads(getattr(item.raw_item, "arguments", "{}"))
                print(f"  [interrupted] {item.tool_name} {args}")
                if bob_approves(item.tool_name or "", args):
                    approve(state, item, "bob@acme.com")
                else:
                    reject(state, item, by="bob@acme.com", reason="not part of the task")
            result = await Runner.run(agent, state, run_config=run)
    print(f"final answer: {result.final_output}")
    report(guard)


if __name__ == "__main__":
    asyncio.run(main())
