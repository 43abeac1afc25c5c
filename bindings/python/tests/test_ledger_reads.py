"""Ledgers read back from Python, filtered, and the ledger assertions of agentwarrant.testing."""

import subprocess
import sys
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


def test_decisions_keep_their_policy_input_for_replay_unless_turned_off(tmp_path: Path) -> None:
    ledger = aw.FileLedger(tmp_path / "audit.jsonl")
    session(ledger)
    read_secret, send_email = ledger.records(kind="call.decided")
    assert read_secret["decision"]["input"]["call"]["tool"] == "read_secret"
    assert send_email["decision"]["input"]["chain"]["labels"] == ["secret"]
    assert send_email["decision"]["input"]["call"]["args"] == send_email["args"]

    # The same policy replays to the same decisions; one that refuses every send would
    # have stopped nothing that ran (the send was refused): the gate passes.
    same = subprocess.run(
        [sys.executable, "-m", "agentwarrant", "replay", str(tmp_path / "audit.jsonl")], capture_output=True, text=True
    )
    assert same.returncode == 0, same.stderr
    assert "replayed 2 of 2 decisions" in same.stdout and "no decision would change" in same.stdout
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "agentwarrant.rego").write_text(
        aw.DEFAULT_BUNDLE + '\ndeny contains "no_secrets" if input.call.tool == "read_secret"\n'
    )
    gate = subprocess.run(
        [sys.executable, "-m", "agentwarrant", "replay", str(tmp_path / "audit.jsonl"), "--policy", str(policy)],
        capture_output=True,
        text=True,
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "1 call needed approval then would now be denied:" in gate.stdout

    quiet = aw.MemoryLedger()
    guard = aw.Guard(ledger=quiet, record_policy_inputs=False)

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> str:
        return "ok"

    ops = aw.Identity("agent://acme/ops", role="executor", owner="alice@acme.com", ceiling=["logs.read:*"])
    with guard.task(ops, aw.Intent("look", scopes=["logs.read:*"])):
        read_logs("api")
    (decided,) = quiet.records(kind="call.decided")
    assert "input" not in decided["decision"]


def test_a_rotated_file_ledger_is_read_and_verified_across_its_files(tmp_path: Path) -> None:
    ledger = aw.FileLedger(tmp_path / "audit.jsonl", rotate_bytes=1024)
    for _ in range(3):
        session(ledger)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "audit.000001.jsonl" and names[-1] == "audit.jsonl", names
    records = ledger.records()
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    assert aw.verify(tmp_path).records == len(records)
    assert ledger.verify().records == len(records)


def test_a_rotated_file_missing_in_the_middle_is_named(tmp_path: Path) -> None:
    ledger = aw.FileLedger(tmp_path / "audit.jsonl", rotate_bytes=1024)
    for _ in range(3):
        session(ledger)
    (tmp_path / "audit.000002.jsonl").unlink()
    with pytest.raises(aw.LedgerError) as raised:
        aw.verify(tmp_path)
    assert raised.value.code == "ledger_broken"
    assert "audit.000002.jsonl" in str(raised.value)


def test_rotate_every_must_be_a_positive_number_of_seconds(tmp_path: Path) -> None:
    with pytest.raises(aw.ConfigError) as raised:
        aw.FileLedger(tmp_path / "audit.jsonl", rotate_every=-1.0)
    assert raised.value.code == "invalid_limits"
