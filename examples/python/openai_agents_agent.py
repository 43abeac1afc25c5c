"""An OpenAI Agents SDK agent with guarded function tools, run by `Runner.run` with a scripted
fake model (no API key, no network).

Run: pip install "./bindings/python[openai-agents]" && python examples/python/openai_agents_agent.py
"""

from __future__ import annotations

import asyncio
from typing import List

from agents import Agent, RunConfig, Runner, function_tool
from agents.items import ToolCallOutputItem

from _story import TOOLS, intent, make_guard, report, researcher, scripted_agents_model, specs
from agentwarrant.integrations.openai_agents import guard_tools


async def main() -> None:
    guard = make_guard()
    tools = guard_tools(guard, [function_tool(f) for f in TOOLS], specs=specs)
    agent = Agent(name="researcher", instructions="Research and report.", model=scripted_agents_model(), tools=list(tools))
    async with guard.task(researcher, intent):
        result = await Runner.run(agent, "research agent security", run_config=RunConfig(tracing_disabled=True))
    outputs: List[str] = [str(item.output) for item in result.new_items if isinstance(item, ToolCallOutputItem)]
    for output in outputs:
        print(f"  tool output: {output[:100]!r}")
    print(f"final output: {result.final_output}")
    report(guard)


if __name__ == "__main__":
    asyncio.run(main())
