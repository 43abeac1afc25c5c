"""A LlamaIndex `FunctionAgent` with guarded tools; the LLM is LlamaIndex's
`MockFunctionCallingLLM` playing a script (no API key, no network).

Run: pip install "./bindings/python[llama-index]" && python examples/python/llama_index_agent.py
"""

from __future__ import annotations

import asyncio
from typing import Any, Sequence

from llama_index.core.agent.workflow import AgentOutput, FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM

from _story import FINAL_ANSWER, SCRIPT, TOOLS, intent, make_guard, report, researcher, specs
from agentwarrant.integrations.llama_index import guard_tools


def scripted_llm() -> MockFunctionCallingLLM:
    """Plays SCRIPT, one tool call per chat, then gives the final answer."""
    turns = iter(enumerate(SCRIPT))

    def respond(messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        if messages and messages[-1].role == MessageRole.TOOL:  # what the model reads of the last call
            print(f"  tool result: {str(messages[-1].content)[:100]!r}")
        turn = next(turns, None)
        if turn is None:
            return ChatMessage(role=MessageRole.ASSISTANT, content=FINAL_ANSWER)
        n, (name, args) = turn
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id=f"call_{n}", tool_name=name, tool_kwargs=dict(args))])

    return MockFunctionCallingLLM(response_generator=respond)


async def main() -> None:
    guard = make_guard()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_tools(guard, TOOLS, specs=specs)
    agent = FunctionAgent(tools=tools, llm=scripted_llm(), system_prompt="Research and report.")
    async with guard.task(researcher, intent):
        response: object = await agent.run("research agent security")
    assert isinstance(response, AgentOutput)
    print(f"final output: {response}")
    report(guard)


if __name__ == "__main__":
    asyncio.run(main())
