"""LlamaIndex tools behind the guard, run by a `FunctionAgent` whose LLM is LlamaIndex's
`MockFunctionCallingLLM` playing a script (no provider, no network)."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.tools import FunctionTool, ToolOutput
from llama_index.core.workflow import Context

import agentwarrant as aw
from agentwarrant.integrations.llama_index import GuardedTool, guard_tools

import conftest
from conftest import INJECTED_PAGE, SCRIPT, SCRIPT_DECIDED, Seen, decided, llama_index_llm, sent, story_specs


def completed(guard: aw.Guard) -> list:  # type: ignore[type-arg]
    """(status, error) of every call.completed record."""
    return [(r["outcome"]["status"], r["outcome"].get("error")) for r in guard.ledger.records() if r["kind"] == "call.completed"]


async def test_function_agent_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    seen = Seen()
    tools = guard_tools(story_guard, list(conftest.STORY_TOOLS), specs=story_specs())
    agent = FunctionAgent(tools=tools, llm=llama_index_llm([*SCRIPT, "done"], seen), system_prompt="research")
    async with story_guard.task(researcher, goal):
        response = await agent.run("research agent security")
    assert str(response) == "done"
    assert [c.tool_output.is_error for c in response.tool_calls] == [False, True, True, False]
    assert seen[0] == INJECTED_PAGE
    assert seen[1].startswith("refused: approval not granted: `read_secret`") and "secret_access" in seen[1]
    assert "untrusted_input" in seen[2]
    assert "collector@evil.example" not in seen[2]  # SECURITY: the model never sees args or details
    assert seen[3] == "sent"
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED
    story_guard.ledger.verify()


async def test_tool_exception_is_recorded_then_handled_by_the_agent(story_guard, researcher, goal):
    seen = Seen()
    tools = guard_tools(story_guard, [conftest.explode], default=aw.ToolSpec("any", impact="low"))
    agent = FunctionAgent(tools=tools, llm=llama_index_llm([("explode", {"reason": "x"}), "done"], seen))
    async with story_guard.task(researcher, goal):
        response = await agent.run("go")
    assert response.tool_calls[0].tool_output.is_error and seen[0] == "boom: x"  # the agent's own error output
    assert completed(story_guard)[-1] == ("error", "RuntimeError: boom: x")


def test_sync_call_and_error_outputs(story_guard, researcher, goal):
    def failing(reason: str) -> ToolOutput:
        """Reports an error without raising."""
        return ToolOutput(content=f"no: {reason}", tool_name="failing", raw_input={}, raw_output=None, is_error=True)

    fetch, send, fail = guard_tools(
        story_guard, [FunctionTool.from_defaults(conftest.fetch_page), conftest.send_email, FunctionTool.from_defaults(failing, return_direct=False)],
        specs=story_specs(), default=aw.ToolSpec("any", impact="low"),
    )
    with story_guard.task(researcher, goal):
        assert fetch.call(url="https://example.com").content == INJECTED_PAGE
        refused = send.call(to="bob@x.com", body="hi")
        assert isinstance(refused, ToolOutput) and refused.is_error and "untrusted_input" in refused.content
        assert refused.raw_input == {"to": "bob@x.com", "body": "hi"}
    assert decided(story_guard.ledger)[-1] == ("send_email", "approval_denied")
    assert isinstance(fail, GuardedTool) and fail.metadata.name == "failing"


async def test_an_error_output_is_recorded_as_the_calls_error(story_guard, researcher, goal):
    def failing(reason: str) -> str:
        """Fails politely."""
        return reason

    tool = FunctionTool.from_defaults(failing, callback=lambda out: ToolOutput(content=f"no: {out}", tool_name="failing", raw_input={}, raw_output=out, is_error=True))
    (guarded,) = guard_tools(story_guard, [tool], default=aw.ToolSpec("any", impact="low"))
    async with story_guard.task(researcher, goal):
        assert (await guarded.acall(reason="x")).is_error
    assert completed(story_guard)[-1] == ("error", "RuntimeError: no: x")


def test_wrapping_a_tool_without_spec_fails_naming_it(story_guard):
    with pytest.raises(aw.UnguardedToolError) as error:
        guard_tools(story_guard, [conftest.fetch_page, conftest.explode], specs={"fetch_page": story_specs()["fetch_page"]})
    assert error.value.tools == ["explode"] and "`explode`" in str(error.value)


def test_a_tool_taking_the_workflow_context_is_refused_at_wrap_time(story_guard):
    async def remember(ctx: Context, note: str) -> str:
        """Keeps a note in the workflow state."""
        return note

    remember.__annotations__ = {"ctx": Context, "note": str, "return": str}  # real types, not this module's strings
    with pytest.raises(TypeError, match="`remember` takes the workflow Context"):
        guard_tools(story_guard, [remember], default=aw.ToolSpec("any", impact="low"))


def test_tool_called_outside_a_task_is_refused_clearly(story_guard):
    (fetch,) = guard_tools(story_guard, [conftest.fetch_page], specs=story_specs())
    with pytest.raises(aw.NoActiveTask, match="outside any task"):
        fetch.call(url="https://example.com")
