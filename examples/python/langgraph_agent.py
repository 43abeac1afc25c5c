"""A LangGraph agent whose ToolNode is guarded; the model is a scripted fake (no API key).

Run: pip install "./bindings/python[langchain]" && python examples/python/langgraph_agent.py
"""

from __future__ import annotations

from typing import Any, Dict, List

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition

from _story import INJECTED_PAGE, SCRIPT, intent, make_guard, outbox, report, researcher, specs
from agentwarrant.integrations.langchain import guard_tool_node


@tool
def fetch_page(url: str) -> str:
    """Fetch a web page."""
    return INJECTED_PAGE


@tool
def read_secret(path: str) -> str:
    """Read a secret from the vault."""
    return "sk-live-123"


@tool
def send_email(to: str, body: str) -> str:
    """Send an email."""
    outbox.append(to)
    return "sent"


def scripted_model() -> GenericFakeChatModel:
    turns: List[AIMessage] = [
        AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{i}", "type": "tool_call"}])
        for i, (name, args) in enumerate(SCRIPT)
    ]
    turns.append(AIMessage(content="I emailed alice the summary."))
    return GenericFakeChatModel(messages=iter(turns))


def main() -> None:
    guard = make_guard()
    model = scripted_model()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_tool_node(guard, [fetch_page, read_secret, send_email], specs=specs)

    def agent(state: MessagesState) -> Dict[str, List[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    graph: Any = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")

    with guard.task(researcher, intent):
        result = graph.compile().invoke({"messages": [HumanMessage("research agent security")]})
    for message in result["messages"]:
        if isinstance(message, ToolMessage):
            print(f"  tool {message.name} [{message.status}]: {str(message.content)[:100]!r}")
    report(guard)


if __name__ == "__main__":
    main()
