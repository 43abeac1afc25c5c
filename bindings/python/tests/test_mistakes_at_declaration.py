"""Mistakes are caught where they are made: a scope placeholder that names no parameter of
the decorated function fails at `@guard.tool`, and a bare goal string for a guard with scoped
tools fails at `guard.task(...)`, instead of every call failing later."""

from __future__ import annotations

import pytest

import agentwarrant as aw

OPS = aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["logs.read:*", "email.send:*"])


def test_a_placeholder_naming_no_parameter_is_refused_at_declaration() -> None:
    guard = aw.Guard()
    with pytest.raises(aw.ConfigError) as caught:

        @guard.tool(impact="low", scopes=["logs.read:{servce}"])
        def read_logs(service: str) -> str: ...

    error = caught.value
    assert error.code == "invalid_tool"
    message = str(error)
    assert "`read_logs`" in message and "`logs.read:{servce}`" in message and "`servce`" in message
    assert "{service}" in message  # the fix names a parameter that exists
    assert guard.spec("read_logs") is None  # nothing half-declared


@pytest.mark.parametrize(
    "template",
    ["email.send:{to:email}", "email.send:{cc?}", "email.send:{cc?:email}", "email.send:{to}/{cc?}"],
)
def test_typed_and_optional_placeholders_match_their_parameter(template: str) -> None:
    guard = aw.Guard()

    @guard.tool(impact="low", scopes=[template])
    def send(to: str, cc: object = None) -> None: ...

    assert guard.spec("send") is not None


def test_a_typed_placeholder_naming_no_parameter_is_refused() -> None:
    guard = aw.Guard()
    with pytest.raises(aw.ConfigError, match=r"names `recipient`"):

        @guard.tool(impact="low", scopes=["email.send:{recipient:email}"])
        def send_email(to: str) -> None: ...


def test_kwargs_accept_any_placeholder_and_self_is_not_a_parameter() -> None:
    guard = aw.Guard()

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(**kwargs: str) -> None: ...

    with pytest.raises(aw.ConfigError, match=r"names `self`"):

        @guard.tool(impact="low", scopes=["logs.read:{self}"])
        def read_more(self: object, service: str) -> None: ...


def test_a_ready_spec_is_checked_against_the_function_too() -> None:
    guard = aw.Guard()
    spec = aw.ToolSpec("read_logs", impact="low", scopes=["logs.read:{svc}"])
    with pytest.raises(aw.ConfigError, match=r"`logs.read:\{svc\}`"):
        guard.tool(spec=spec)(lambda service: None)


def test_a_bare_goal_is_refused_when_the_guard_has_scoped_tools() -> None:
    guard = aw.Guard()

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> None: ...

    with pytest.raises(aw.ConfigError) as caught:
        guard.task(OPS, "triage the outage")
    assert caught.value.code == "invalid_intent"
    message = str(caught.value)
    assert "`read_logs`" in message and "aw.Intent('triage the outage', scopes=[" in message

    with pytest.raises(aw.ConfigError):
        guard.use_default_task(OPS, "triage the outage")

    with guard.task(OPS, aw.Intent("triage", scopes=["logs.read:*"])) as task:
        with pytest.raises(aw.ConfigError, match="task.delegate"):
            task.delegate(OPS, "look at the api logs")
        read_logs("api")


def test_a_bare_goal_is_fine_when_no_tool_is_scoped() -> None:
    guard = aw.Guard()

    @guard.tool(impact="low")
    def ping() -> str:
        return "pong"

    with guard.task(OPS, "check the service is up"):
        assert ping() == "pong"


def test_a_bare_goal_is_refused_when_the_default_tool_is_scoped() -> None:
    guard = aw.Guard(default_tool=aw.ToolSpec("*", impact="low", scopes=["tools.call:{name}"]))
    with pytest.raises(aw.ConfigError, match="default tool"):
        guard.task(OPS, "anything")


def test_a_spec_given_to_an_adapter_never_loses_to_another_declared_on_the_guard() -> None:
    from agentwarrant.integrations._common import resolve_specs

    guard = aw.Guard()
    guard.add_tool(aw.ToolSpec("deploy", impact="low"))
    # A stricter spec given at wrap time is not silently dropped for the declared one.
    with pytest.raises(aw.ConfigError) as caught:
        resolve_specs(guard, ["deploy"], specs={"deploy": aw.ToolSpec("deploy", impact="critical")})
    assert caught.value.code == "duplicate_tool"
    assert guard.spec("deploy").impact == "low"
    # The same spec again, or none, resolves to the declared one.
    assert resolve_specs(guard, ["deploy"], specs=[aw.ToolSpec("deploy", impact="low")])["deploy"].impact == "low"
    assert resolve_specs(guard, ["deploy"])["deploy"].impact == "low"
    # A given spec for an undeclared tool is declared.
    assert resolve_specs(guard, ["rollback"], specs={"rollback": aw.ToolSpec("rollback", impact="high")})
    assert guard.spec("rollback").impact == "high"
