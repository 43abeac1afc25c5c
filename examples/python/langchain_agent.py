"""LangChain tools guarded with `guard_tools`, called by a plain tool-calling loop (model, tool
calls, tool messages); the model is a scripted fake (no API key).

Run: pip install "./bindings/python[langchain]" && python examples/python/langchain_agent.py
"""

from __future__ import annotations

from typing import Dict, List

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool

from _story import TOOLS, intent, make_guard, report, researcher, scripted_chat_model, specs
from agentwarrant.integrations.langchain import guard_tools


def main() -> None:
    guard = make_guard()
    model = scripted_chat_model()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_tools(guard, [tool(f) for f in TOOLS], specs=specs)
    by_name: Dict[str, BaseTool] = {t.name: t for t in tools}

    messages: List[BaseMessage] = [HumanMessage("research agent security")]
    with guard.task(researcher, intent):
        while True:
            reply = model.invoke(messages)
            messages.append(reply)
            if not isinstance(reply, AIMessage) or not reply.tool_calls:
                break
            for call in reply.tool_calls:
                result = by_name[call["name"]].invoke(call)  # a ToolMessage, status="error" when refused
                assert isinstance(result, ToolMessage)
                messages.append(result)
                print(f"  tool {result.name} [{result.status}]: {str(result.content)[:100]!r}")
    report(guard)


if __name__ == "__main__":
    main()
