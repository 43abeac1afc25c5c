"""A CrewAI crew whose agent's tools are guarded; the agent's LLM is a `BaseLLM` subclass
playing a script in CrewAI's text tool-calling format (no API key, no network).

Run: pip install "./bindings/python[crewai]" && python examples/python/crewai_agent.py
"""

from __future__ import annotations

import json
import os
from typing import Any

# No telemetry or trace upload from this offline example.
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")

from crewai import Agent, Crew, CrewOutput, Task
from crewai.llms.base_llm import BaseLLM
from crewai.tools import tool

from _story import FINAL_ANSWER, SCRIPT, TOOLS, intent, make_guard, report, researcher, specs
from agentwarrant.integrations.crewai import guard_tools


class ScriptedLLM(BaseLLM):
    """Plays SCRIPT, one `Action:` per call, then gives the `Final Answer:`."""

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        if isinstance(messages, list) and len(messages) > 2:
            observed = [m["content"] for m in messages if m.get("role") == "assistant"][-1]
            print(f"  {str(observed).split('Observation:', 1)[-1].strip()[:100]!r}")
        step = sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "assistant") if isinstance(messages, list) else 0
        if step >= len(SCRIPT):
            return f"Thought: I now know the final answer\nFinal Answer: {FINAL_ANSWER}"
        name, call_args = SCRIPT[step]
        return f"Thought: I use {name}\nAction: {name}\nAction Input: {json.dumps(call_args)}"

    def supports_function_calling(self) -> bool:
        return False  # CrewAI's text tool calling: Action / Action Input / Observation


def main() -> None:
    guard = make_guard()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_tools(guard, [tool(f.__name__)(f) for f in TOOLS], specs=specs)
    agent = Agent(
        role="researcher", goal="Research agent security", backstory="A careful researcher.", llm=ScriptedLLM(model="scripted"), tools=tools
    )
    task = Task(description="Summarise recent writing on agent security and email it to alice.", expected_output="a summary", agent=agent)
    with guard.task(researcher, intent):
        output = Crew(agents=[agent], tasks=[task]).kickoff()
    assert isinstance(output, CrewOutput)  # not streamed
    for failure in output.tasks_output[0].tool_failures:
        print(f"  tool failure recorded by CrewAI: {failure.tool_name}")
    print(f"final output: {output.raw}")
    report(guard)


if __name__ == "__main__":
    main()
