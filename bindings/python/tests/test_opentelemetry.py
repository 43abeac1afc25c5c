"""Guarded calls as OpenTelemetry spans, through the SDK's in-memory exporter.

The SDK is set up once for the process (OpenTelemetry allows one global tracer provider):
tests after this module run with tracing on, which exercises the traced path further.
"""

from __future__ import annotations

import asyncio
import os
from typing import Dict, List

import pytest

pytest.importorskip("opentelemetry.sdk")
pytest.importorskip("langchain_core")

from langchain_core.tools import tool
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import agentwarrant as aw
from agentwarrant.integrations.langchain import guard_tools

# The SDK reads this switch when a provider is made: these tests make theirs, enabled.
os.environ.pop("OTEL_SDK_DISABLED", None)
EXPORTER = InMemorySpanExporter()
if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
    _provider = TracerProvider()
    _provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(_provider)
else:  # a provider set by the environment: add the exporter to it
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(EXPORTER))  # type: ignore[attr-defined]
TRACER = trace.get_tracer("tests")

OPS = aw.Identity("agent://acme/ops", role="executor", owner="alice@acme.com", ceiling=["logs.read:*", "secrets.read:*", "email.send:*"])
INTENT = aw.Intent("rotate the db password", scopes=["logs.read:*", "secrets.read:*", "email.send:*"])


@pytest.fixture(autouse=True)
def clear() -> None:
    EXPORTER.clear()


def spans() -> Dict[str, ReadableSpan]:
    return {span.name: span for span in EXPORTER.get_finished_spans()}


def guard_with_tools() -> aw.Guard:
    return aw.Guard(approver=lambda request: request.approve("bob@acme.com"))


def test_a_guarded_call_is_a_genai_span_inside_the_callers_span_with_the_tools_own_spans_below() -> None:
    guard = guard_with_tools()

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> str:
        with TRACER.start_as_current_span("log store query"):
            return "ok"

    with guard.task(OPS, INTENT), TRACER.start_as_current_span("agent turn"):
        assert read_logs("db") == "ok"

    found = spans()
    call = found["execute_tool read_logs"]
    assert call.parent is not None and call.parent.span_id == found["agent turn"].context.span_id
    inner = found["log store query"]
    assert inner.parent is not None and inner.parent.span_id == call.context.span_id
    attributes = dict(call.attributes or {})
    assert attributes["gen_ai.operation.name"] == "execute_tool"
    assert attributes["gen_ai.tool.name"] == "read_logs"
    assert attributes["gen_ai.agent.id"] == "agent://acme/ops"
    assert attributes["agentwarrant.decision"] == "allow"
    assert attributes["agentwarrant.outcome"] == "ok"
    assert len(str(attributes["agentwarrant.policy.digest"])) == 64
    assert call.status.status_code == StatusCode.OK
    (decided,) = guard.ledger.records(kind="call.decided")
    assert attributes["gen_ai.tool.call.id"] == decided["call_id"]


def test_an_approved_call_a_refused_call_and_a_failing_tool_say_so_on_their_spans() -> None:
    guard = guard_with_tools()

    @guard.tool(impact="low", reads=["secret"], scopes=["secrets.read:{path}"])
    def read_secret(path: str) -> str:
        return "s3cr3t"

    @guard.tool(impact="medium", external=True, sink=True, scopes=["email.send:{to:email}"], destination_arg="to")
    def send_email(to: str) -> str:
        return "sent"

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> str:
        raise TimeoutError("the log store timed out")

    with guard.task(OPS, INTENT):
        read_secret("db/main")
        with pytest.raises(aw.Denied):
            send_email("x@evil.com")
        with pytest.raises(TimeoutError):
            read_logs("db")

    found = spans()
    approved = dict(found["execute_tool read_secret"].attributes or {})
    assert approved["agentwarrant.decision"] == "approval"
    assert approved["agentwarrant.reasons"] == "secret_access"
    assert approved["agentwarrant.approvers"] == "bob@acme.com"
    assert approved["agentwarrant.outcome"] == "ok"
    refused = found["execute_tool send_email"]
    assert refused.status.status_code == StatusCode.ERROR
    assert dict(refused.attributes or {})["error.type"] == "exfiltration"
    assert dict(refused.attributes or {})["agentwarrant.outcome"] == "denied"
    failed = found["execute_tool read_logs"]
    assert failed.status.status_code == StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "tool_error"
    assert "TimeoutError" in (failed.status.description or "")


def test_a_langchain_tool_call_shows_the_decision_inside_the_frameworks_tool_span() -> None:
    guard = guard_with_tools()

    @tool
    def read_secret(path: str) -> str:
        """Reads a secret."""
        return "s3cr3t"

    (guarded,) = guard_tools(guard, [read_secret], specs=[aw.ToolSpec("read_secret", impact="low", reads=["secret"], scopes=["secrets.read:{path}"])])
    with guard.task(OPS, INTENT), TRACER.start_as_current_span("langchain tool read_secret"):
        assert guarded.invoke({"path": "db/main"}) == "s3cr3t"

    found = spans()
    call = found["execute_tool read_secret"]
    assert call.parent is not None and call.parent.span_id == found["langchain tool read_secret"].context.span_id
    assert dict(call.attributes or {})["agentwarrant.approvers"] == "bob@acme.com"


def test_async_calls_and_a_bare_authorization_get_spans_too() -> None:
    guard = guard_with_tools()

    @guard.tool(impact="low", reads=["secret"], scopes=["secrets.read:{path}"])
    async def read_secret(path: str) -> str:
        return "s3cr3t"

    async def run() -> None:
        with guard.task(OPS, INTENT) as task:
            assert await read_secret("db/main") == "s3cr3t"
            warrant = task.authorize("read_secret", {"path": "db/other"})
            warrant.complete()

    asyncio.run(run())
    names: List[str] = [span.name for span in EXPORTER.get_finished_spans()]
    assert names == ["execute_tool read_secret", "execute_tool read_secret"]
    first, bare = EXPORTER.get_finished_spans()
    assert dict(first.attributes or {})["agentwarrant.outcome"] == "ok"
    # A bare authorization's span covers the decision; the caller runs the tool.
    assert dict(bare.attributes or {})["agentwarrant.outcome"] == "approved"
