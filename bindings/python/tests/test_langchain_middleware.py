"""A LangChain 1.x `create_agent` agent whose tool calls go through the guard's middleware,
with a scripted fake model."""

from __future__ import annotations

import asyncio
from typing import Any, List, Sequence

import pytest

pytest.importorskip("langchain.agents.middleware")

from langchain.agents import create_agent
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

import agentwarrant as aw
from agentwarrant.integrations.langchain_middleware import GuardToolCalls

import conftest
from conftest import SCRIPT, SCRIPT_DECIDED, decided, sent, story_specs

fetch_page, read_secret, send_email = (tool(f) for f in conftest.STORY_TOOLS)


def agent(middleware: GuardToolCalls, turns: Sequence[Any]) -> Any:
    model = conftest.langchain_model(list(turns))
    return create_agent(model, [fetch_page, read_secret, send_email], middleware=[middleware])


def replies(messages: List[BaseMessage]) -> List[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_the_middleware_stops_the_injected_instruction_and_ledgers_every_call(story_guard, researcher, goal):
    sent.clear()
    middleware = GuardToolCalls(story_guard, specs=story_specs(), tools=[fetch_page, read_secret, send_email])
    with story_guard.task(researcher, goal):
        result = agent(middleware, [*SCRIPT, "done"]).invoke({"messages": [HumanMessage("research")]})
    answers = replies(result["messages"])
    assert [m.status for m in answers] == ["success", "error", "error", "success"]
    assert "secret_access" in str(answers[1].content) and "collector@evil.example" not in str(answers[2].content)
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED
    story_guard.ledger.verify()


def test_async_agents_and_tools_without_a_spec(story_guard, researcher, goal):
    sent.clear()
    middleware = GuardToolCalls(story_guard, specs=story_specs())

    async def run() -> Any:
        with story_guard.task(researcher, goal):
            return await agent(middleware, [SCRIPT[-1], "done"]).ainvoke({"messages": [HumanMessage("mail alice")]})

    (answer,) = replies(asyncio.run(run())["messages"])
    assert answer.status == "success" and sent == ["alice@acme.com"]

    # No spec anywhere: refused at wrap time when listed, by the guard when only called.
    with pytest.raises(aw.UnguardedToolError):
        GuardToolCalls(aw.Guard(), tools=[fetch_page])
    bare = aw.Guard()
    with bare.task(researcher, goal):
        result = agent(GuardToolCalls(bare), [SCRIPT[0], "done"]).invoke({"messages": [HumanMessage("fetch")]})
    (refused,) = replies(result["messages"])
    assert refused.status == "error" and "unknown_tool" in str(refused.content)
