"""What every adapter shares: spec resolution at wrap time, and the refusal message."""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Union

from agentwarrant._guard import Guard
from agentwarrant._native import ToolSpec
from agentwarrant.errors import Refused, UnguardedToolError

Specs = Union[Mapping[str, ToolSpec], Iterable[ToolSpec], None]
"""Tool specs for an adapter: a mapping from tool name to spec, or specs carrying the names."""


def resolve_specs(guard: Guard, names: Iterable[str], specs: Specs = None, default: Optional[ToolSpec] = None) -> Dict[str, ToolSpec]:
    """The spec of every tool in ``names``, declared on ``guard``.

    A tool's spec is the one given in ``specs``, else the one already declared on the guard,
    else ``default`` (or the guard's ``default_tool``) under the tool's name. A tool with none
    of them fails here, at wrap time, naming it: no tool is left unguarded silently.
    """
    given: Dict[str, ToolSpec] = {}
    if isinstance(specs, Mapping):
        for name, spec in specs.items():
            given[name] = spec if spec.name == name else spec.with_name(name)
    elif specs is not None:
        given = {spec.name: spec for spec in specs}
    fallback = default if default is not None else guard.default_tool
    resolved: Dict[str, ToolSpec] = {}
    missing = []
    for name in names:
        declared = guard.spec(name)
        spec = declared or given.get(name)
        if spec is None and fallback is not None:
            spec = fallback.with_name(name)
        if spec is None:
            missing.append(name)
            continue
        if declared is None:
            guard.add_tool(spec)
        resolved[name] = spec
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        raise UnguardedToolError(
            f"no ToolSpec for tool(s) {listed}: pass `specs={{name: ToolSpec(...)}}`, "
            "declare them on the guard, or give an explicit `default=ToolSpec(...)`",
            tools=missing,
        )
    return resolved


def refusal_message(refusal: Refused) -> str:
    """The tool-error text a model sees for a refused call.

    SECURITY: only the tool name, the reason codes and their fixed descriptions; never the
    args, the reasons' details or the policy. Operators find those in the ledger under
    ``refusal.call_id``.
    """
    return f"{refusal} Do not retry this call unchanged."
