"""smolagents: guarded tools for ``ToolCallingAgent`` and ``CodeAgent``.

>>> from agentwarrant.integrations.smolagents import guard_tools
>>> agent = ToolCallingAgent(tools=guard_tools(guard, [fetch_page, send_email], specs=...), model=model)
>>> with guard.task(identity, intent):
...     agent.run("research agent security")

The hook is the tool's ``__call__``, through which a ``ToolCallingAgent`` (with the model's
args) and a ``CodeAgent``'s generated code run every tool. Each ``Tool`` (``@tool`` functions
included) is wrapped in a :class:`GuardedTool` with the same name, description, inputs and
output type. A refused call does not run: its result is the refusal text, the observation the
model reads next (in a ``CodeAgent``, the value the call returns); a tool's own exception is
recorded as the call's outcome and re-raised (the agent reports it to the model as before).
Parallel tool calls run in copies of the caller's context, so ``with guard.task(...)`` around
``agent.run(...)`` is enough.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from smolagents import Tool  # type: ignore[import-untyped]  # smolagents ships no type information

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.integrations._common import Specs, guarded_call, resolve_specs

__all__ = ["GuardedTool", "guard_tools"]


class GuardedTool(Tool):  # type: ignore[misc]
    """A smolagents tool that authorizes each call with the guard before its inner tool runs."""

    skip_forward_signature_validation = True  # `forward` takes the inner tool's inputs

    def __init__(self, inner: Tool, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard
        self.name = inner.name
        self.description = inner.description
        self.inputs = inner.inputs
        self.output_type = inner.output_type
        self.output_schema = getattr(inner, "output_schema", None)
        super().__init__()
        self.is_initialized = True  # the inner tool sets itself up on its first call

    def _args(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        """The call's args by name: a lone dict of inputs (as ``Tool.__call__`` takes it), or
        positional args in the order of ``inputs``, and keyword args."""
        if len(args) == 1 and not kwargs and isinstance(args[0], dict) and all(k in self.inputs for k in args[0]):
            return dict(args[0])
        named = dict(zip(self.inputs, args))
        named.update(kwargs)
        return named

    def __call__(self, *args: Any, sanitize_inputs_outputs: bool = False, **kwargs: Any) -> Any:
        return guarded_call(
            self.guard, self.name, self._args(args, kwargs), lambda: self.inner(*args, sanitize_inputs_outputs=sanitize_inputs_outputs, **kwargs)
        )

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return guarded_call(self.guard, self.name, self._args(args, kwargs), lambda: self.inner.forward(*args, **kwargs))


def guard_tools(guard: Guard, tools: Sequence[Tool], *, specs: Specs = None, default: Optional[ToolSpec] = None) -> List[Tool]:
    """Wraps smolagents tools so that every call is authorized by ``guard``.

    Each tool needs a spec (from ``specs``, declared on the guard, or ``default``); a tool
    without one raises :class:`~agentwarrant.UnguardedToolError` here, naming it.
    """
    for tool in tools:
        if not isinstance(tool, Tool):
            raise TypeError(f"guard_tools() guards smolagents Tools; `{getattr(tool, 'name', tool)}` is a {type(tool).__name__}")
    resolve_specs(guard, [t.name for t in tools], specs, default)
    return [t if isinstance(t, GuardedTool) and t.guard is guard else GuardedTool(t, guard) for t in tools]
