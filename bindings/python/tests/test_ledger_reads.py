"""Ledgers read back from Python, filtered, and the ledger assertions of agentwarrant.testing."""

from pathlib import Path

import pytest

import agentwarrant as aw
from agentwarrant.testing import assert_approved_by, assert_recorded


def session(ledger: "aw.MemoryLedger | aw.FileLedger") -> None:
    guard = aw.Guard(ledger=ledger, approver=lambda request: request.approve("bob@acme.com"))

    @guard.tool(impact="low", reads=["secret"], scopes=["secrets.read:{path}"])
    def read_secret(path: str) -> str:
        return "s3cr3t"

    @guard.tool(impact="medium", external=True, sink=True, scopes=["email.send:{to:email}"], destination_arg="to")
    def send_email(to: str) -> str:
        return "sent"

    ops = aw.Identity("agent://acme/ops", role="executor", owner="alice@acme.com", ceiling=["secrets.read:*", "email.send:*"])
    with guard.task(ops, aw.Intent("rotate", scopes=["secrets.read:*", "email.send:*@acme.com"])):
        read_secret("db/main")
        with pytest.raises(aw.Denied):
            send_email("x@evil.com")


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_records_read_back_filtered_and_asserted(kind: str, tmp_path: Path) -> None:
    ledger = aw.MemoryLedger() if kind == "memory" else aw.FileLedger(tmp_path / "audit.jsonl")
    session(ledger)

    decided = ledger.records(kind="call.decided")
    assert [r["tool"] for r in decided] == ["read_secret", "send_email"]
    assert ledger.records(kind="call.decided", tool="send_email")[0]["outcome"]["status"] == "denied"
    assert ledger.records(task="no-such-task") == []

    assert_approved_by(ledger, "read_secret", "bob@acme.com")
    assert_recorded(ledger, "call.decided", tool="send_email", outcome__status="denied")
    with pytest.raises(AssertionError):
        assert_approved_by(ledger, "send_email", "bob@acme.com")
    with pytest.raises(AssertionError):
        assert_recorded(ledger, "call.decided", tool="send_email", outcome__status="allowed")
    with pytest.raises(aw.ConfigError) as raised:
        ledger.records(kind="call.decide")
    assert raised.value.code == "invalid_kind"
