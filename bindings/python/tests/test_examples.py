"""Every example in examples/python runs to completion (each checks its own story)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"
NEEDS = {
    "langchain_agent": "langchain_core",
    "langgraph_agent": "langgraph",
    "langgraph_approval": "langgraph",
    "openai_agents_agent": "agents",
    "openai_agents_approval": "agents",
    "mcp_agent": "mcp",
    "mcp_two_processes": "mcp",
    "pydantic_ai_agent": "pydantic_ai",
    "crewai_agent": "crewai",
    "llama_index_agent": "llama_index.core",
    "smolagents_agent": "smolagents",
}
# Examples whose frameworks CI installs in a venv of their own (ci.sh's "more frameworks" stage,
# which sets AGENTWARRANT_MORE_FRAMEWORKS=1), not in the global environment: CrewAI and friends
# pin versions that the other frameworks' dependencies must not be moved to.
OWN_VENV = {"pydantic_ai_agent", "crewai_agent", "llama_index_agent", "smolagents_agent"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is absent
        return False


def _required_in_ci(name: str) -> bool:
    """Whether CI installed the example's framework where this run happens."""
    if not os.environ.get("CI"):
        return False
    return (name in OWN_VENV) == bool(os.environ.get("AGENTWARRANT_MORE_FRAMEWORKS"))


@pytest.mark.parametrize(
    "name",
    [
        "quickstart",
        "langchain_agent",
        "langgraph_agent",
        "langgraph_approval",
        "openai_agents_agent",
        "openai_agents_approval",
        "mcp_agent",
        "mcp_two_processes",
        "pydantic_ai_agent",
        "crewai_agent",
        "llama_index_agent",
        "smolagents_agent",
    ],
)
def test_example_runs_and_stops_the_injection(name: str) -> None:
    module = NEEDS.get(name)
    if module is not None and not _installed(module):
        # CI installs every framework (the global environment, or the venv of the "more
        # frameworks" stage): a missing one there is a broken install, not a skip.
        if _required_in_ci(name):
            pytest.fail(f"{module} is not installed, but CI installs it for this run")
        pytest.skip(f"{module} is not installed")
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "the injected instruction was stopped" in done.stdout
