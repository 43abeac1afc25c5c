"""Checked by `mypy --strict` in CI: the adapters' results type-check where the frameworks take them."""

from agents import Agent, function_tool
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode
import agentwarrant as aw
from agentwarrant.integrations.openai_agents import guard_tools
from agentwarrant.integrations import langchain as lc

guard = aw.Guard()

@function_tool
def ping() -> str:
    return "pong"

agent = Agent(name="x", tools=guard_tools(guard, [ping], default=aw.ToolSpec("any", impact="low")))

@tool
def pong() -> str:
    """Pong."""
    return "ping"

node = ToolNode(lc.guard_tools(guard, [pong], default=aw.ToolSpec("any", impact="low")))
