"""Just-in-time credentials from a Python broker: minted for a task's grant, revoked at its end."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

import pytest

import agentwarrant as aw

OPS = aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["db.read:*"])
INTENT = aw.Intent("report on orders", scopes=["db.read:orders"])


class Roles:
    """A broker that keeps live roles in a dict and fails when told to."""

    def __init__(self) -> None:
        self.live: Dict[str, List[str]] = {}
        self.fail_mint = False
        self.failing_revokes = 0

    def mint(self, request: Dict[str, Any]) -> Mapping[str, Any]:
        if self.fail_mint:
            raise ConnectionError("the role store is down")
        role = f"aw_{request['task_id'][:8]}"
        self.live[role] = list(request["scopes"])
        return {"id": role, "secret": "pa55-" + role, "attributes": {"database": "orders"}}

    def revoke(self, credential: aw.Credential) -> None:
        if self.failing_revokes:
            self.failing_revokes -= 1
            raise ConnectionError("connection reset")
        del self.live[credential.id]


def test_a_task_connects_with_a_credential_for_its_grant_that_ends_with_it() -> None:
    roles = Roles()
    guard = aw.Guard(credential_broker=roles)
    seen: List[str] = []

    @guard.tool(impact="low", scopes=["db.read:{table}"])
    def query(table: str) -> str:
        credential = guard.current_task().credential
        assert credential is not None
        seen.append(credential.id)
        return f"connected as {credential.id} to {credential.attributes['database']}"

    with guard.task(OPS, INTENT) as task:
        credential = task.credential
        assert credential is not None and credential.secret.startswith("pa55-")
        assert roles.live[credential.id] == ["db.read:orders"]
        assert abs(credential.expires_at - task.grant_expires_at.timestamp()) < 1e-3
        assert "pa55" not in repr(credential)
        assert query("orders").startswith("connected as aw_")
    assert roles.live == {} and task.credential is None
    assert seen == [credential.id]
    assert "pa55" not in guard.ledger.to_jsonl()
    (issued,) = guard.ledger.records(kind="grant.issued")
    assert issued["detail"]["credential"]["id"] == credential.id


def test_a_broker_that_cannot_mint_refuses_the_task_and_one_that_cannot_revoke_is_retried_later() -> None:
    roles = Roles()
    guard = aw.Guard(credential_broker=roles)
    roles.fail_mint = True
    with pytest.raises(aw.TaskError) as refused:
        guard.task(OPS, INTENT)
    assert refused.value.code == "credential_unavailable"
    assert "ConnectionError" in str(refused.value) and "the role store is down" in str(refused.value)

    roles.fail_mint = False
    roles.failing_revokes = 5
    task = guard.task(OPS, INTENT)
    role = task.credential.id if task.credential else ""
    with pytest.raises(aw.TaskError) as kept:
        task.end()
    assert kept.value.code == "credential_not_revoked"
    assert guard.unrevoked_credentials == [role] and role in roles.live
    roles.failing_revokes = 0
    assert guard.retry_revocations() == []
    assert roles.live == {}


def test_a_broker_without_revoke_is_refused_at_construction() -> None:
    class MintOnly:
        def mint(self, request: Dict[str, Any]) -> Mapping[str, Any]:
            return {"id": "x", "secret": "y"}

    with pytest.raises(TypeError, match="revoke"):
        aw.Guard(credential_broker=MintOnly())  # type: ignore[arg-type]
