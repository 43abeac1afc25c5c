"""A smolagents `ToolCallingAgent` with guarded tools; the model is a `Model` subclass playing a
script (no API key, no network).

Run: pip install "./bindings/python[smolagents]" && python examples/python/smolagents_agent.py
"""

from __future__ import annotations

from typing import Any, List

from smolagents import Model, ToolCallingAgent, tool  # type: ignore[import-untyped]
from smolagents.models import ChatMessage, ChatMessageToolCall, ChatMessageToolCallFunction, MessageRole  # type: ignore[import-untyped]

import _story
from _story import FINAL_ANSWER, SCRIPT, intent, make_guard, report, researcher, specs
from agentwarrant.integrations.smolagents import guard_tools


# smolagents' `tool()` wants each argument documented; these are the story's tools.
def fetch_page(url: str) -> str:
    """Fetch a web page.

    Args:
        url: The page's address.
    """
    return _story.fetch_page(url)


def read_secret(path: str) -> str:
    """Read a secret from the vault.

    Args:
        path: The secret's path.
    """
    return _story.read_secret(path)


def send_email(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: The recipient.
        body: The message.
    """
    return _story.send_email(to, body)


class ScriptedModel(Model):  # type: ignore[misc]
    """Plays SCRIPT, one tool call per step, then gives the final answer (`final_answer`)."""

    def __init__(self) -> None:
        super().__init__(model_id="scripted")
        self.step = 0

    def generate(self, messages: List[Any], **kwargs: Any) -> ChatMessage:
        last = messages[-1]
        if last.role == MessageRole.TOOL_RESPONSE:
            print(f"  {last.content[0]['text'][:100]!r}")
        self.step += 1
        name, args = SCRIPT[self.step - 1] if self.step <= len(SCRIPT) else ("final_answer", {"answer": FINAL_ANSWER})
        call = ChatMessageToolCall(id=f"call_{self.step}", type="function", function=ChatMessageToolCallFunction(name=name, arguments=dict(args)))
        return ChatMessage(role=MessageRole.ASSISTANT, content="", tool_calls=[call])


def main() -> None:
    guard = make_guard()
    # Fails here, naming the tool, if any tool had no spec.
    tools = guard_tools(guard, [tool(f) for f in (fetch_page, read_secret, send_email)], specs=specs)
    agent = ToolCallingAgent(tools=tools, model=ScriptedModel(), verbosity_level=0)
    with guard.task(researcher, intent):
        answer = agent.run("research agent security")
    print(f"final output: {answer}")
    report(guard)


if __name__ == "__main__":
    main()
