"""A PydanticAI agent whose toolset is guarded; the model is PydanticAI's `FunctionModel`
playing a script (no API key, no network).

Run: pip install "./bindings/python[pydantic-ai]" && python examples/python/pydantic_ai_agent.py
"""

from __future__ import annotations

from typing import List

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from _story import FINAL_ANSWER, SCRIPT, TOOLS, intent, make_guard, report, researcher, specs
from agentwarrant.integrations.pydantic_ai import guard_toolset


def scripted_model() -> FunctionModel:
    """Plays SCRIPT, one tool call per request, then gives the final answer."""
    turns = iter(SCRIPT)

    def respond(messages: List[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        if isinstance(last, ModelRequest):
            for part in last.parts:
                if isinstance(part, ToolReturnPart):
                    print(f"  tool {part.tool_name}: {str(part.content)[:100]!r}")
        turn = next(turns, None)
        if turn is None:
            return ModelResponse(parts=[TextPart(FINAL_ANSWER)])
        name, args = turn
        return ModelResponse(parts=[ToolCallPart(name, dict(args))])

    return FunctionModel(respond)


def main() -> None:
    guard = make_guard()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_toolset(guard, TOOLS, specs=specs)
    agent = Agent(scripted_model(), toolsets=[tools], instructions="Research and report.")
    with guard.task(researcher, intent):
        result = agent.run_sync("research agent security")
    print(f"final output: {result.output}")
    report(guard)


if __name__ == "__main__":
    main()
