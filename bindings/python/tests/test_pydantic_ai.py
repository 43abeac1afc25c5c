"""PydanticAI toolsets behind the guard, run by `Agent.run` / `run_sync` with a scripted
`FunctionModel` (no provider, no network)."""

from __future__ import annotations

from typing import Any, Dict

import pytest

pytest.importorskip("pydantic_ai")

from pydantic_ai import Agent, ModelRetry, RunContext, Tool
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

import agentwarrant as aw
from agentwarrant.integrations.pydantic_ai import GuardedToolset, guard_toolset

import conftest
from conftest import INJECTED_PAGE, SCRIPT, SCRIPT_DECIDED, Seen, decided, pydantic_ai_model, sent, story_specs


def completed(guard: aw.Guard) -> list:  # type: ignore[type-arg]
    """(status, error) of every call.completed record."""
    return [(r["outcome"]["status"], r["outcome"].get("error")) for r in guard.ledger.records() if r["kind"] == "call.completed"]


async def test_agent_run_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    seen = Seen()
    tools = guard_toolset(story_guard, list(conftest.STORY_TOOLS), specs=story_specs())
    agent = Agent(pydantic_ai_model([*SCRIPT, "done"], seen), toolsets=[tools])
    async with story_guard.task(researcher, goal):
        result = await agent.run("research agent security")
    assert result.output == "done"
    assert seen[0] == INJECTED_PAGE
    assert seen[1].startswith("refused: approval not granted: `read_secret`") and "secret_access" in seen[1]
    assert "untrusted_input" in seen[2]
    assert "collector@evil.example" not in seen[2]  # SECURITY: the model never sees args or details
    assert seen[3] == "sent"
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED
    story_guard.ledger.verify()


def test_run_sync_finds_the_task_of_the_caller(story_guard, researcher, goal):
    sent.clear()
    agent = Agent(pydantic_ai_model([*SCRIPT, "done"]), toolsets=[guard_toolset(story_guard, list(conftest.STORY_TOOLS), specs=story_specs())])
    with story_guard.task(researcher, goal):
        assert agent.run_sync("research").output == "done"
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED


async def test_tool_exception_is_recorded_then_handled_by_pydantic_ai(story_guard, researcher, goal):
    def flaky(reason: str) -> str:
        """Asks the model to try again."""
        raise ModelRetry(f"try again: {reason}")

    seen = Seen()
    tools = guard_toolset(story_guard, [flaky, conftest.explode], default=aw.ToolSpec("any", impact="low"))
    agent = Agent(pydantic_ai_model([("flaky", {"reason": "x"}), ("explode", {"reason": "y"})], seen), toolsets=[tools])
    async with story_guard.task(researcher, goal):
        with pytest.raises(RuntimeError, match="boom: y"):  # PydanticAI re-raises a tool's error
            await agent.run("go")
    assert "try again: x" in seen[0]  # ModelRetry reached the model as PydanticAI's retry prompt
    assert completed(story_guard) == [("error", "ModelRetry: try again: x"), ("error", "RuntimeError: boom: y")]


def test_wrapping_a_tool_without_spec_fails_naming_it(story_guard):
    with pytest.raises(aw.UnguardedToolError) as error:
        guard_toolset(story_guard, [conftest.fetch_page, conftest.explode], specs={"fetch_page": story_specs()["fetch_page"]})
    assert error.value.tools == ["explode"] and "`explode`" in str(error.value)


def test_takes_tools_and_function_toolsets(story_guard):
    specs = story_specs()
    by_tool = guard_toolset(story_guard, [Tool(conftest.fetch_page)], specs=specs)
    by_toolset = guard_toolset(story_guard, FunctionToolset([conftest.send_email]), specs=specs)
    assert isinstance(by_tool, WrapperToolset) and isinstance(by_toolset, GuardedToolset)
    assert story_guard.spec("fetch_page") is not None and story_guard.spec("send_email") is not None


class Listed(AbstractToolset[Any]):
    """A toolset whose tools are only known when listed (as an MCP server's are)."""

    def __init__(self) -> None:
        self.inner = FunctionToolset([conftest.fetch_page, conftest.explode])

    @property
    def id(self) -> str:
        return "listed"

    async def get_tools(self, ctx: RunContext[Any]) -> Dict[str, ToolsetTool[Any]]:
        return await self.inner.get_tools(ctx)

    async def call_tool(self, name: str, tool_args: Dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]) -> Any:
        return await self.inner.call_tool(name, tool_args, ctx, tool)


async def test_a_toolset_listed_later_is_checked_before_the_model_sees_it(story_guard, researcher, goal):
    tools = guard_toolset(story_guard, Listed(), specs=story_specs())  # nothing to check yet
    agent = Agent(pydantic_ai_model([("fetch_page", {"url": "https://example.com"}), "done"]), toolsets=[tools])
    async with story_guard.task(researcher, goal):
        with pytest.raises(aw.UnguardedToolError, match="`explode`"):
            await agent.run("go")
    assert decided(story_guard.ledger) == []  # no call ran


def test_tool_called_outside_a_task_is_refused_clearly(story_guard):
    agent = Agent(pydantic_ai_model([("fetch_page", {"url": "https://example.com"}), "done"]), toolsets=[guard_toolset(story_guard, [conftest.fetch_page], specs=story_specs())])
    with pytest.raises(aw.NoActiveTask, match="outside any task"):
        agent.run_sync("go")
