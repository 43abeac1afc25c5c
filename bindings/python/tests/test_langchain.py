"""LangChain tools and a LangGraph ToolNode behind the guard, with a scripted fake model."""

from __future__ import annotations

from typing import Any, List

import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition

import agentwarrant as aw
from agentwarrant.integrations.langchain import guard_tool_node, guard_tools

import conftest
from conftest import INJECTED_PAGE, SCRIPT, SCRIPT_DECIDED, decided, langchain_model, sent, story_specs

fetch_page, read_secret, send_email, explode = (tool(f) for f in (*conftest.STORY_TOOLS, conftest.explode))


def build_graph(node: Any) -> Any:
    model = langchain_model([*SCRIPT, "done"])

    def agent(state: MessagesState) -> dict:  # type: ignore[type-arg]
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile()


def tool_messages(messages: List[BaseMessage]) -> List[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_langgraph_tool_node_stops_the_injected_instruction(story_guard, researcher, goal):
    sent.clear()
    node = guard_tool_node(story_guard, [fetch_page, read_secret, send_email], specs=story_specs())
    with story_guard.task(researcher, goal):
        result = build_graph(node).invoke({"messages": [HumanMessage("research agent security")]})
    replies = tool_messages(result["messages"])
    assert [m.status for m in replies] == ["success", "error", "error", "success"]
    assert "secret_access" in replies[1].content and "approval not granted" in replies[1].content
    assert "untrusted_input" in replies[2].content
    # SECURITY: the model never sees args or details.
    assert "collector@evil.example" not in replies[2].content
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED
    story_guard.ledger.verify()


async def test_langgraph_async_run_chains_the_same_way(story_guard, researcher, goal):
    sent.clear()
    node = guard_tool_node(story_guard, [fetch_page, read_secret, send_email], specs=story_specs())
    async with story_guard.task(researcher, goal):
        result = await build_graph(node).ainvoke({"messages": [HumanMessage("research")]})
    assert [m.status for m in tool_messages(result["messages"])] == ["success", "error", "error", "success"]
    assert sent == ["alice@acme.com"]


def test_wrapping_a_tool_without_spec_fails_naming_it(story_guard):
    with pytest.raises(aw.UnguardedToolError) as error:
        guard_tools(story_guard, [fetch_page, explode], specs={"fetch_page": story_specs()["fetch_page"]})
    assert error.value.tools == ["explode"]
    assert "`explode`" in str(error.value)


def test_explicit_default_spec_guards_the_rest(story_guard, researcher, goal):
    tools = guard_tools(story_guard, [explode], default=aw.ToolSpec("any", impact="low"))
    assert story_guard.spec("explode") is not None
    with story_guard.task(researcher, goal):
        with pytest.raises(RuntimeError, match="boom"):
            tools[0].invoke({"reason": "x"})
    completed = [r for r in story_guard.ledger.records() if r["kind"] == "call.completed"]
    assert completed[-1]["outcome"]["status"] == "error"
    assert "boom" in completed[-1]["outcome"]["error"]


def test_tool_called_outside_a_task_is_refused_clearly(story_guard):
    (guarded,) = guard_tools(story_guard, [fetch_page], specs=story_specs())
    with pytest.raises(aw.NoActiveTask, match="outside any task"):
        guarded.invoke({"url": "https://example.com"})


def test_untrusted_result_label_comes_from_the_spec(story_guard, researcher, goal):
    fetch, send = guard_tools(story_guard, [fetch_page, send_email], specs=story_specs())
    with story_guard.task(researcher, goal):
        assert fetch.invoke({"url": "https://example.com"}) == INJECTED_PAGE
        reply = send.invoke({"type": "tool_call", "name": "send_email", "id": "c1", "args": {"to": "bob@x.com", "body": "hi"}})
    assert reply.status == "error"
    assert "untrusted_input" in reply.content


def stacked_tools(guard: aw.Guard, order: str) -> List[Any]:
    """The story's tools, declared with `@guard.tool` and LangChain's `@tool` in `order`."""
    specs = story_specs()
    out = []
    for fn in conftest.STORY_TOOLS:
        spec = specs[fn.__name__]
        if order == "tool_on_guard":  # @tool / @guard.tool / def
            out.append(tool(guard.tool(spec=spec)(fn)))
        else:  # @guard.tool / @tool / def
            out.append(guard.tool(spec=spec)(tool(fn)))
    return out


@pytest.mark.parametrize("order", ["tool_on_guard", "guard_on_tool"])
def test_stacked_decorators_in_either_order_return_refusals_as_tool_messages(story_guard, researcher, goal, order):
    sent.clear()
    node = guard_tool_node(story_guard, stacked_tools(story_guard, order))
    with story_guard.task(researcher, goal):
        result = build_graph(node).invoke({"messages": [HumanMessage("research agent security")]})
    replies = tool_messages(result["messages"])
    assert [m.status for m in replies] == ["success", "error", "error", "success"]
    assert "untrusted_input" in replies[2].content
    assert sent == ["alice@acme.com"]
    assert decided(story_guard.ledger) == SCRIPT_DECIDED  # each call authorized once


def test_guard_tool_on_a_langchain_tool_works_in_a_plain_tool_node(story_guard, researcher, goal):
    from langgraph.prebuilt import ToolNode

    sent.clear()
    node = ToolNode(stacked_tools(story_guard, "guard_on_tool"))
    with story_guard.task(researcher, goal):
        result = build_graph(node).invoke({"messages": [HumanMessage("research agent security")]})
    assert [m.status for m in tool_messages(result["messages"])] == ["success", "error", "error", "success"]
    assert sent == ["alice@acme.com"]


def test_a_plain_tool_node_over_guarded_functions_handles_refusals_when_told(story_guard, researcher, goal):
    from langgraph.prebuilt import ToolNode

    sent.clear()
    node = ToolNode(stacked_tools(story_guard, "tool_on_guard"), handle_tool_errors=aw.Refused)
    with story_guard.task(researcher, goal):
        result = build_graph(node).invoke({"messages": [HumanMessage("research agent security")]})
    assert [m.status for m in tool_messages(result["messages"])] == ["success", "error", "error", "success"]
    assert sent == ["alice@acme.com"]
