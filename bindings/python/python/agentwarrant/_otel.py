"""Guarded calls as OpenTelemetry spans, when the OpenTelemetry SDK is set up.

Each guarded call the package runs (a decorated tool, ``Task.run``, a framework adapter) is an
``execute_tool {tool}`` span, a child of the span current when the call was made (the
framework's own tool or agent span), with the attribute names the Rust library gives its
``tracing`` spans: ``gen_ai.operation.name``, ``gen_ai.tool.name``, ``gen_ai.tool.call.id``,
``gen_ai.agent.id``, and ``agentwarrant.decision``, ``agentwarrant.reasons``,
``agentwarrant.approvers``, ``agentwarrant.outcome``, ``agentwarrant.policy.digest``; a refused
call or a failed tool has status ``ERROR`` and ``error.type`` (the reason code, or
``tool_error``). Spans the tool itself makes nest under its span. ``Task.authorize`` alone
(the caller runs the tool) gets a span of the decision.

Nothing happens unless ``opentelemetry-api`` is installed and a tracer provider has been set
(``opentelemetry.trace.set_tracer_provider``): without one, a call pays one check.
"""

from typing import TYPE_CHECKING, Any, ContextManager, Optional, Tuple

from agentwarrant._native import TaskCore, Warrant, __version__
from agentwarrant.errors import Refused

try:
    from opentelemetry import trace as _trace
    from opentelemetry.trace import ProxyTracerProvider, Status, StatusCode
except ImportError:  # pragma: no cover - exercised where OpenTelemetry is not installed
    _trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer
else:
    Span = Any
    Tracer = Any

_tracer: Optional[Tuple[object, "Tracer"]] = None
_UNKNOWN = object()


def _current_tracer() -> Optional["Tracer"]:
    """The package's tracer from the provider in force, or ``None`` when none is set. The
    API's own global is read first: ``get_tracer_provider()`` costs a call and an environment
    look-up, too much for every guarded call of a process that does not trace."""
    global _tracer
    if _trace is None or getattr(_trace, "_TRACER_PROVIDER", _UNKNOWN) is None:
        return None
    provider = _trace.get_tracer_provider()
    if isinstance(provider, (ProxyTracerProvider, _trace.NoOpTracerProvider)):
        return None
    if _tracer is None or _tracer[0] is not provider:
        _tracer = (provider, provider.get_tracer("agentwarrant", __version__))
    return _tracer[1]


def start(tool: str, core: TaskCore) -> Optional["Span"]:
    """Starts the span of a call of ``tool`` in ``core``'s task (``None`` when not tracing)."""
    tracer = _current_tracer()
    if tracer is None:
        return None
    return tracer.start_span(
        f"execute_tool {tool}",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.agent.id": core.identity.id,
            "agentwarrant.task.id": core.id,
        },
    )


def decided(span: Optional["Span"], warrant: Warrant) -> None:
    """Records an authorized call's decision."""
    if span is None:
        return
    decision = warrant.decision
    span.set_attributes(
        {
            "gen_ai.tool.call.id": warrant.call_id,
            "agentwarrant.decision": decision.effect,
            "agentwarrant.reasons": ", ".join(decision.codes),
            "agentwarrant.outcome": "approved" if warrant.approved else "allowed",
            "agentwarrant.policy.digest": decision.policy_digest,
        }
    )
    if warrant.approvers:
        span.set_attribute("agentwarrant.approvers", ", ".join(warrant.approvers))


def refused(span: Optional["Span"], refusal: Refused) -> None:
    """Records a refusal and ends the span."""
    if span is None:
        return
    if refusal.call_id is not None:
        span.set_attribute("gen_ai.tool.call.id", refusal.call_id)
    if refusal.decision is not None:
        span.set_attribute("agentwarrant.decision", refusal.decision.effect)
    span.set_attributes(
        {
            "agentwarrant.reasons": ", ".join(refusal.reasons),
            "agentwarrant.outcome": refusal.kind,
            "error.type": refusal.code,
        }
    )
    span.set_status(Status(StatusCode.ERROR, refusal.code))
    span.end()


def completed(span: Optional["Span"], error: Optional[str]) -> None:
    """Records how the tool ended and ends the span."""
    if span is None:
        return
    if error is None:
        span.set_attribute("agentwarrant.outcome", "ok")
        span.set_status(Status(StatusCode.OK))
    else:
        span.set_attributes({"agentwarrant.outcome": "error", "error.type": "tool_error"})
        span.set_status(Status(StatusCode.ERROR, error))
    span.end()


def end(span: Optional["Span"]) -> None:
    """Ends a span of a decision alone (the caller runs the tool)."""
    if span is not None:
        span.end()


def current(span: "Span") -> ContextManager[Any]:
    """Makes ``span`` the current span while the tool runs (spans it makes nest under it)."""
    return _trace.use_span(span, end_on_exit=False)
