"""An OpenAI Agents SDK agent with guarded function tools, run by `Runner.run` with a scripted
fake model (no API key, no network).

Run: pip install "./bindings/python[openai-agents]" && python examples/python/openai_agents_agent.py
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, List

from agents import Agent, Model, ModelResponse, RunConfig, Runner, Usage, function_tool
from agents.items import ToolCallOutputItem
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from _story import INJECTED_PAGE, SCRIPT, intent, make_guard, outbox, report, researcher, specs
from agentwarrant.integrations.openai_agents import guard_tools


@function_tool
def fetch_page(url: str) -> str:
    """Fetch a web page."""
    return INJECTED_PAGE


@function_tool
def read_secret(path: str) -> str:
    """Read a secret from the vault."""
    return "sk-live-123"


@function_tool
def send_email(to: str, body: str) -> str:
    """Send an email."""
    outbox.append(to)
    return "sent"


class ScriptedModel(Model):
    """Plays the story's tool calls, then answers."""

    def __init__(self) -> None:
        self.turn = 0

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.turn += 1
        item: Any
        if self.turn <= len(SCRIPT):
            name, call_args = SCRIPT[self.turn - 1]
            item = ResponseFunctionToolCall(
                arguments=json.dumps(call_args), call_id=f"call_{self.turn}", name=name, type="function_call", id=f"fc_{self.turn}"
            )
        else:
            text = ResponseOutputText(annotations=[], text="I emailed alice the summary.", type="output_text")
            item = ResponseOutputMessage(id="msg", content=[text], role="assistant", status="completed", type="message")
        return ModelResponse(output=[item], usage=Usage(), response_id=None)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model does not stream")
        yield  # pragma: no cover


async def main() -> None:
    guard = make_guard()
    tools = guard_tools(guard, [fetch_page, read_secret, send_email], specs=specs)
    agent = Agent(name="researcher", instructions="Research and report.", model=ScriptedModel(), tools=list(tools))
    async with guard.task(researcher, intent):
        result = await Runner.run(agent, "research agent security", run_config=RunConfig(tracing_disabled=True))
    outputs: List[str] = [str(item.output) for item in result.new_items if isinstance(item, ToolCallOutputItem)]
    for output in outputs:
        print(f"  tool output: {output[:100]!r}")
    print(f"final output: {result.final_output}")
    report(guard)


if __name__ == "__main__":
    asyncio.run(main())
