"""CrewAI: guarded tools.

>>> from agentwarrant.integrations.crewai import guard_tools
>>> agent = Agent(role="researcher", ..., tools=guard_tools(guard, [fetch_page, send_email], specs=...))
>>> with guard.task(identity, intent):
...     Crew(agents=[agent], tasks=[...]).kickoff()

The hook is the tool's own ``_run`` (``_arun`` for async tools): every path by which a crew
runs a tool (text tool calling, native function calling, ``tool.run(...)``) ends there, with
the args CrewAI validated against the tool's schema. Each ``BaseTool`` (``@tool`` functions
included) is wrapped in a :class:`GuardedTool` with the same name, description and schema. A
refused call does not run: the agent reads the refusal as a ``ToolFailure`` (CrewAI's
structured tool error, so the run records the failure; ``tool_failure_policy="raise"``
aborts on it); a tool's own exception is recorded as the call's outcome and handled by CrewAI
as before. CrewAI's tool cache is off for guarded tools: every call is decided and recorded.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Sequence, Tuple

from crewai.tools import BaseTool
from crewai.tools.tool_failure import ToolFailure

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.integrations._common import Specs, aguarded_call, guarded_call, resolve_specs

__all__ = ["GuardedTool", "guard_tools"]

# What a guarded tool takes over from the tool it wraps (where this CrewAI has the field).
_COPIED = ("args_schema", "result_schema", "env_vars", "result_as_answer", "max_usage_count", "tool_failure_policy")


def _never_cache(args: Any = None, result: Any = None) -> bool:
    """Every guarded call is decided: none is answered from CrewAI's cache."""
    return False


class GuardedTool(BaseTool):
    """A CrewAI tool that authorizes each call with the guard before its inner tool runs."""

    inner: BaseTool
    guard: Any  # Guard (Any keeps pydantic from validating it)

    def __init__(self, inner: BaseTool, guard: Guard, **kwargs: Any) -> None:
        fields: Dict[str, Any] = {name: getattr(inner, name) for name in _COPIED if name in type(inner).model_fields}
        fields.update(inner=inner, guard=guard, name=inner.name, description=inner.description, cache_function=_never_cache)
        super().__init__(**fields, **kwargs)

    def _args(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        """The call's args by name (positional ones in the schema's order)."""
        named = dict(zip(self.inner.args_schema.model_fields, args))
        named.update(kwargs)
        return named

    @staticmethod
    def _refused(text: str) -> ToolFailure:
        return ToolFailure(message=text)

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        def run() -> Any:
            result = self.inner._run(*args, **kwargs)
            if asyncio.iscoroutine(result):  # as BaseTool.run does for an async `_run`
                result = asyncio.run(result)
            return result

        return guarded_call(self.guard, self.name, self._args(args, kwargs), run, self._refused)

    async def _arun(self, *args: Any, **kwargs: Any) -> Any:
        return await aguarded_call(self.guard, self.name, self._args(args, kwargs), lambda: self.inner._arun(*args, **kwargs), self._refused)


def guard_tools(guard: Guard, tools: Sequence[BaseTool], *, specs: Specs = None, default: Optional[ToolSpec] = None) -> List[BaseTool]:
    """Wraps CrewAI tools so that every call is authorized by ``guard``.

    Each tool needs a spec (from ``specs``, declared on the guard, or ``default``); a tool
    without one raises :class:`~agentwarrant.UnguardedToolError` here, naming it.
    """
    for tool in tools:
        if not isinstance(tool, BaseTool):
            raise TypeError(f"guard_tools() guards CrewAI BaseTools; `{getattr(tool, 'name', tool)}` is a {type(tool).__name__}")
    resolve_specs(guard, [t.name for t in tools], specs, default)
    return [t if isinstance(t, GuardedTool) and t.guard is guard else GuardedTool(t, guard) for t in tools]
