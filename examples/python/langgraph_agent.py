"""A LangGraph agent whose ToolNode is guarded; the model is a scripted fake (no API key).

Run: pip install "./bindings/python[langchain]" && python examples/python/langgraph_agent.py
"""

from __future__ import annotations

from typing import Any, Dict, List

from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition

from _story import TOOLS, intent, make_guard, report, researcher, scripted_chat_model, specs
from agentwarrant.integrations.langchain import guard_tool_node


def main() -> None:
    guard = make_guard()
    model = scripted_chat_model()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_tool_node(guard, [tool(f) for f in TOOLS], specs=specs)

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
