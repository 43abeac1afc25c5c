"""Secrets found by their shape are redacted in the ledger (on by default), the digest still
covers the args as given, and ``redact_secrets=False`` turns the detectors off."""

import hashlib
import json

import pytest

import agentwarrant as aw

TOKEN = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def decided_args(redact: bool) -> "tuple[dict[str, object], str]":
    ledger = aw.MemoryLedger()
    guard = aw.Guard(ledger=ledger, redact_secrets=redact)

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str, note: str) -> str:
        return "ok"

    ops = aw.Identity("agent://acme/ops", role="executor", owner="alice@acme.com", ceiling=["logs.read:*"])
    with guard.task(ops, aw.Intent("look at the logs", scopes=["logs.read:*"])):
        read_logs("api", f"use {TOKEN} and postgres://app:hunter2@db/main")
    record = ledger.records(kind="call.decided")[0]
    assert TOKEN not in ledger.to_jsonl() or not redact
    return record["args"], record["args_digest"]


def test_secrets_are_redacted_by_default_and_the_digest_covers_the_original() -> None:
    args, digest = decided_args(redact=True)
    assert args["note"] == "use [REDACTED:github_token] and postgres://app:[REDACTED:url_password]@db/main"
    original = {"service": "api", "note": f"use {TOKEN} and postgres://app:hunter2@db/main"}
    canonical = json.dumps(original, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == hashlib.sha256(canonical.encode()).hexdigest()


def test_redaction_can_be_turned_off() -> None:
    args, _ = decided_args(redact=False)
    assert args["note"] == f"use {TOKEN} and postgres://app:hunter2@db/main"


@pytest.mark.parametrize("look_alike", ["order 4111111111111112", "we use sk-learn", "https://alice@example.com"])
def test_look_alikes_are_recorded_as_given(look_alike: str) -> None:
    ledger = aw.MemoryLedger()
    guard = aw.Guard(ledger=ledger)

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str, note: str) -> str:
        return "ok"

    ops = aw.Identity("agent://acme/ops", role="executor", owner="alice@acme.com", ceiling=["logs.read:*"])
    with guard.task(ops, aw.Intent("look at the logs", scopes=["logs.read:*"])):
        read_logs("api", look_alike)
    assert ledger.records(kind="call.decided")[0]["args"]["note"] == look_alike
