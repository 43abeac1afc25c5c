"""Renewing a long-running task's grant and clearing a label from Python: through the policy, a human where it asks."""

from __future__ import annotations

import datetime

import pytest

import agentwarrant as aw

NIGHTLY = aw.Identity("agent://acme/nightly", owner="alice@acme.com", ceiling=["logs.read:*"])
INTENT = aw.Intent("reindex the logs", scopes=["logs.read:*"])
START = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


def test_a_renewed_grant_keeps_a_long_task_working_past_its_first_expiry() -> None:
    clock = aw.ManualClock(START.timestamp())
    guard = aw.Guard(clock=clock, grant_ttl=600)

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> str:
        return "ok"

    with guard.task(NIGHTLY, INTENT) as task:
        assert task.grant_expires_at == START + datetime.timedelta(minutes=10)
        clock.advance(540)
        until = task.renew_grant(600)
        assert until == START + datetime.timedelta(minutes=19)
        assert task.grant_expires_at == until
        clock.advance(120)  # past the first expiry
        assert read_logs("api") == "ok"
        with pytest.raises(aw.Denied) as refused:
            task.renew_grant(601)
        assert refused.value.code == "invalid_call"
    (renewed,) = [r for r in guard.ledger.records(kind="call.completed") if r["tool"] == "renew_grant"]
    assert renewed["detail"]["expires_at"] == "2026-03-01T12:19:00Z"


def test_in_production_a_renewal_needs_the_approver() -> None:
    refused = aw.Guard(env="prod")
    with refused.task(NIGHTLY, INTENT) as task:
        with pytest.raises(aw.Refused) as raised:
            task.renew_grant(300)
        assert "production_change" in raised.value.reasons

    approved = aw.Guard(env="prod", approver=lambda request: request.approve("bob@acme.com"))
    with approved.task(NIGHTLY, INTENT) as task:
        before = task.grant_expires_at
        assert task.renew_grant(900) >= before
    assert approved.ledger.records(kind="call.decided", tool="renew_grant")[0]["approver"] == ["bob@acme.com"]


def test_a_tool_may_not_take_the_renewals_name() -> None:
    guard = aw.Guard()
    with pytest.raises(aw.ConfigError) as raised:

        @guard.tool(impact="low")
        def renew_grant() -> None:
            pass

    assert "another name" in str(raised.value)


def test_a_label_is_cleared_only_by_an_approved_declassification() -> None:
    guard = aw.Guard(approver=lambda request: request.approve("bob@acme.com"))
    ops = aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["secrets.read:*", "email.send:*"])

    @guard.tool(impact="low", reads=["secret"], scopes=["secrets.read:{path}"])
    def read_secret(path: str) -> str:
        return "s3cr3t"

    @guard.tool(impact="low", external=True, sink=True, scopes=["email.send:{to:email}"], destination_arg="to")
    def send_email(to: str) -> str:
        return "sent"

    with guard.task(ops, aw.Intent("rotate", scopes=["secrets.read:*", "email.send:*"])) as task:
        read_secret("db/main")
        with pytest.raises(aw.Denied):
            send_email("x@evil.com")
        with pytest.raises(aw.Denied) as unknown:
            task.declassify("untrusted", "never read")
        assert unknown.value.code == "invalid_call"
        task.declassify("secret", "the password was rotated")
        assert send_email("x@evil.com") == "sent"
    refused, decided = guard.ledger.records(kind="call.decided", tool="declassify")
    assert refused["outcome"]["status"] == "denied"
    assert decided["approver"] == ["bob@acme.com"] and decided["outcome"]["status"] == "approved"
