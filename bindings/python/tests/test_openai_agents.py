"""OpenAI Agents SDK function tools behind the guard, run by Runner.run with a scripted model."""

from __future__ import annotations

from typing import Any, List

import pytest

pytest.importorskip("agents")

from agents import Agent, FunctionTool, RunConfig, Runner, function_tool
from agents.items import ToolCallOutputItem

import agentwarrant as aw
from agentwarrant.integrations.openai_agents import guard_tools

import conftest
from conftest import INJECTED_PAGE, SCRIPT, SCRIPT_DECIDED, decided, openai_agents_model, sent, story_specs

fetch_page, read_secret, send_email, explode = (function_tool(f) for f in (*conftest.STORY_TOOLS, conftest.explode))


def outputs(result: Any) -> List[str]:
    return [str(item.output) for item in result.new_items if isinstance(item, ToolCallOutputItem)]


RUN = RunConfig(tracing_disabled=True)


async def test_runner_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    model = openai_agents_model([*SCRIPT, "done"])
    tools = guard_tools(story_guard, [fetch_page, read_secret, send_email], specs=story_specs())
    agent = Agent(name="researcher", instructions="research", model=model, tools=tools)
    async with story_guard.task(researcher, goal):
        result = await Runner.run(agent, "research agent security", run_config=RUN)
    assert result.final_output == "done"
    replies = outputs(result)
    assert replies[0] == INJECTED_PAGE
    assert replies[1].startswith("refused: approval not granted: `read_secret`")
    assert "untrusted_input" in replies[2] and "collector@evil.example" not in replies[2]
    assert replies[3] == "sent"
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED


async def test_tool_exception_is_recorded_then_handled_by_the_sdk(story_guard, researcher, goal):
    model = openai_agents_model([("explode", {"reason": "x"}), "done"])
    (tool,) = guard_tools(story_guard, [explode], default=aw.ToolSpec("any", impact="low"))
    agent = Agent(name="a", model=model, tools=[tool])
    async with story_guard.task(researcher, goal):
        result = await Runner.run(agent, "go", run_config=RUN)
    # The SDK's own failure message reaches the model; the ledger holds the real error.
    assert "error occurred" in outputs(result)[0]
    completed = [r for r in story_guard.ledger.records() if r["kind"] == "call.completed"]
    assert completed[-1]["outcome"]["status"] == "error"
    assert "RuntimeError: boom: x" == completed[-1]["outcome"]["error"]


def test_wrapping_a_tool_without_spec_fails_naming_it(story_guard):
    with pytest.raises(aw.UnguardedToolError, match="`explode`"):
        guard_tools(story_guard, [fetch_page, explode], specs=story_specs())


def test_copies_stay_function_tools(story_guard):
    (tool,) = guard_tools(story_guard, [fetch_page], specs=story_specs())
    assert isinstance(tool, FunctionTool) and tool is not fetch_page
    assert tool.name == "fetch_page" and tool.params_json_schema == fetch_page.params_json_schema
