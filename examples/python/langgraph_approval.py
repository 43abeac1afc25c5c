"""A LangGraph agent that pauses for a human: a call that needs approval interrupts the graph
(`interrupt()`), the human's answer resumes it (`Command(resume=...)`). Scripted model, no API
key.

Run: pip install "./bindings/python[langchain]" && python examples/python/langgraph_approval.py
"""

from __future__ import annotations

from typing import Any, Dict, List

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import tools_condition
from langgraph.types import Command

import agentwarrant as aw
from _story import TOOLS, bob_approves, intent, report, researcher, scripted_chat_model, specs
from agentwarrant.integrations.langchain import guard_tool_node


def main() -> None:
    guard = aw.Guard(ledger=aw.MemoryLedger())  # no approver: people answer when the graph pauses
    model = scripted_chat_model()
    tools = guard_tool_node(guard, [tool(f) for f in TOOLS], specs=specs, approvals="interrupt")

    def agent(state: MessagesState) -> Dict[str, List[BaseMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    graph: Any = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", tools)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    app = graph.compile(checkpointer=InMemorySaver())  # a paused graph is checkpointed
    config = {"configurable": {"thread_id": "research-1"}}

    with guard.task(researcher, intent):
        result = app.invoke({"messages": [HumanMessage("research agent security")]}, config)
        while "__interrupt__" in result:
            request = result["__interrupt__"][0].value  # what the human is shown
            print(f"  [paused] {request['tool']} {request['args']} needs approval for {[r['code'] for r in request['reasons']]}")
            if bob_approves(request["tool"], request["args"]):
                answer = {"approved": True, "by": "bob@acme.com"}
            else:
                answer = {"approved": False, "by": "bob@acme.com", "reason": "not part of the task"}
            result = app.invoke(Command(resume=answer), config)
    report(guard)


if __name__ == "__main__":
    main()
