"""Escalation from Python: a separate, approved, time-boxed grant under an escalation identity."""

from __future__ import annotations

from typing import Any, List

import pytest

import agentwarrant as aw

READER = aw.Identity("agent://acme/reader", owner="alice@acme.com", ceiling=["logs.read:*"])
ADMIN = aw.Identity("agent://acme/oncall-admin", role="escalation", owner="dave@acme.com", ceiling=["db.drop:*"])
INTENT = aw.Intent("find why staging is broken", scopes=["logs.read:*"])


def make(approver: str) -> Any:
    guard = aw.Guard(approver=lambda request: request.approve(approver))
    dropped: List[str] = []

    @guard.tool(impact="critical", reversible=False, scopes=["db.drop:{table}"])
    def drop_table(table: str) -> None:
        dropped.append(table)

    return guard, drop_table, dropped


def test_an_approved_escalation_runs_beyond_the_task_and_is_marked():
    guard, drop_table, dropped = make("bob@acme.com")
    with guard.task(READER, INTENT) as task:
        with pytest.raises(aw.Denied):
            drop_table("staging_corrupt")  # outside the reader's ceiling
        with task.escalate(ADMIN, ["db.drop:staging_*"], ttl=600, reason="drop the corrupted table") as admin:
            drop_table("staging_corrupt")  # guarded functions find the escalated task
            assert admin.grant_scopes == ["db.drop:staging_*"]
        assert admin.ended
    assert dropped == ["staging_corrupt"]
    records = guard.ledger.records()
    marked = [r for r in records if r["tool"] == "drop_table" and r["kind"] == "call.completed"]
    assert marked and all(r["detail"]["escalated"] for r in marked)
    asked = [(r["kind"], r["outcome"]["status"]) for r in records if r["tool"] == "escalate"]
    assert asked == [("approval.requested", "requested"), ("approval.answered", "approved"), ("call.decided", "approved")]


@pytest.mark.parametrize("owner", ["alice@acme.com", "dave@acme.com"])
def test_an_owner_in_the_chain_or_of_the_escalation_identity_cannot_grant_it(owner):
    guard, _, _ = make(owner)
    with guard.task(READER, INTENT) as task:
        with pytest.raises(aw.ApprovalDenied) as refused:
            task.escalate(ADMIN, ["db.drop:*"], ttl=60, reason="x")
    assert refused.value.has("approval_invalid") and refused.value.has("escalation")


def test_an_escalation_under_a_non_escalation_identity_is_refused():
    guard, _, _ = make("bob@acme.com")
    with guard.task(READER, INTENT) as task:
        with pytest.raises(aw.Denied) as refused:
            task.escalate(READER, ["logs.read:*"], ttl=60, reason="x")
    assert refused.value.has("invalid_call")
