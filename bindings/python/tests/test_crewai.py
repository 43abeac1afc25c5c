"""CrewAI tools behind the guard, run by a real `Crew.kickoff()` whose agent's LLM is a
scripted `BaseLLM` (CrewAI's text tool calling; no provider, no network, telemetry off)."""

from __future__ import annotations

import importlib.util
import os

import pytest

if importlib.util.find_spec("crewai") is None:
    pytest.skip("crewai is not installed", allow_module_level=True)
# CrewAI's telemetry off before it is imported; only where CrewAI runs (the switches are
# process-wide: set by a skipped module they would turn off the OpenTelemetry tests' SDK).
for _name in ("CREWAI_DISABLE_TELEMETRY", "OTEL_SDK_DISABLED"):
    os.environ.setdefault(_name, "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")

from crewai import Agent, Crew, Task
from crewai.tools import BaseTool, tool
from crewai.tools.tool_failure import ToolFailure

import agentwarrant as aw
from agentwarrant.integrations.crewai import GuardedTool, guard_tools

import conftest
from conftest import INJECTED_PAGE, SCRIPT, SCRIPT_DECIDED, Seen, crewai_llm, decided, sent, story_specs

fetch_page, read_secret, send_email, explode = (tool(f.__name__)(f) for f in (*conftest.STORY_TOOLS, conftest.explode))


def completed(guard: aw.Guard) -> list:  # type: ignore[type-arg]
    """(status, error) of every call.completed record."""
    return [(r["outcome"]["status"], r["outcome"].get("error")) for r in guard.ledger.records() if r["kind"] == "call.completed"]


def crew(tools: list, llm: object) -> Crew:  # type: ignore[type-arg]
    agent = Agent(role="researcher", goal="research agent security", backstory="A careful researcher.", llm=llm, tools=tools)
    task = Task(description="Summarise recent writing on agent security and email it to alice.", expected_output="a summary", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def test_crew_kickoff_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    seen = Seen()
    tools = guard_tools(story_guard, [fetch_page, read_secret, send_email], specs=story_specs())
    with story_guard.task(researcher, goal):
        output = crew(tools, crewai_llm([*SCRIPT, "done"], seen)).kickoff()
    assert output.raw == "done"
    assert seen[0] == INJECTED_PAGE
    assert seen[1].startswith("refused: approval not granted: `read_secret`") and "secret_access" in seen[1]
    assert "untrusted_input" in seen[2]
    assert "collector@evil.example" not in seen[2]  # SECURITY: the model never sees args or details
    assert seen[3] == "sent"
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED
    # The refusals are CrewAI tool failures, recorded on the task's output.
    failures = output.tasks_output[0].tool_failures
    assert [f.tool_name for f in failures] == ["read_secret", "send_email"]
    story_guard.ledger.verify()


def test_tool_exception_is_recorded_then_handled_by_crewai(story_guard, researcher, goal):
    seen = Seen()
    tools = guard_tools(story_guard, [explode], default=aw.ToolSpec("any", impact="low"))
    with story_guard.task(researcher, goal):
        output = crew(tools, crewai_llm([("explode", {"reason": "x"}), "done"], seen)).kickoff()
    assert output.raw == "done" and "boom: x" in seen[0]  # CrewAI's own error observation
    assert completed(story_guard)[-1] == ("error", "RuntimeError: boom: x")


def test_tool_run_is_guarded_and_every_call_is_decided(story_guard, researcher, goal):
    # `tool.run(...)` is the path a crew's tool usage takes to `_run`; CrewAI's cache is off
    # for guarded tools, so a repeated call is decided (and recorded) again.
    fetch, send = guard_tools(story_guard, [fetch_page, send_email], specs=story_specs())
    assert isinstance(fetch, GuardedTool) and isinstance(fetch, BaseTool) and fetch.args_schema is fetch_page.args_schema
    with story_guard.task(researcher, goal):
        assert fetch.run(url="https://example.com") == INJECTED_PAGE
        assert fetch.run(url="https://example.com") == INJECTED_PAGE
        refused = send.run(to="bob@x.com", body="hi")
    assert isinstance(refused, ToolFailure) and "untrusted_input" in refused.as_agent_message()
    assert decided(story_guard.ledger) == [("fetch_page", "allowed"), ("fetch_page", "allowed"), ("send_email", "approval_denied")]
    assert not fetch.cache_function({}, "x")


async def test_async_tools_run_through_arun(story_guard, researcher, goal):
    class Lookup(BaseTool):
        name: str = "lookup"
        description: str = "Looks a word up."

        def _run(self, word: str) -> str:
            raise NotImplementedError

        async def _arun(self, word: str) -> str:
            return word.upper()

    (lookup,) = guard_tools(story_guard, [Lookup()], default=aw.ToolSpec("any", impact="low"))
    async with story_guard.task(researcher, goal):
        assert await lookup.arun(word="hi") == "HI"
    assert decided(story_guard.ledger) == [("lookup", "allowed")]


def test_wrapping_a_tool_without_spec_fails_naming_it(story_guard):
    with pytest.raises(aw.UnguardedToolError) as error:
        guard_tools(story_guard, [fetch_page, explode], specs={"fetch_page": story_specs()["fetch_page"]})
    assert error.value.tools == ["explode"] and "`explode`" in str(error.value)


def test_tool_called_outside_a_task_is_refused_clearly(story_guard):
    (fetch,) = guard_tools(story_guard, [fetch_page], specs=story_specs())
    with pytest.raises(aw.NoActiveTask, match="`fetch_page` was called outside any task"):
        fetch.run(url="https://example.com")
