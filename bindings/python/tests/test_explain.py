"""`task.explain` answers "what would the guard decide?" without deciding anything."""

import agentwarrant as aw


def test_explain_shows_reasons_bands_and_input_and_spends_nothing() -> None:
    asked = []
    ledger = aw.MemoryLedger()
    guard = aw.Guard(
        ledger=ledger,
        limits={"max_calls": 1},
        approver=lambda request: asked.append(request) or False,
    )

    @guard.tool(impact="low", reads=["secret"], scopes=["secrets.read:{path}"])
    def read_secret(path: str) -> str:
        return "s3cr3t"

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> str:
        return "ok"

    ops = aw.Identity("agent://acme/ops", role="executor", owner="alice@acme.com", ceiling=["secrets.read:*", "logs.read:*"])
    with guard.task(ops, aw.Intent("read the logs", scopes=["logs.read:*"])) as task:
        records = len(ledger.records())
        for _ in range(3):
            why = task.explain("read_secret", {"path": "db/main"})
            assert why.effect == "approval"
            assert [r["code"] for r in why.reasons] == ["secret_access", "scope_drift"]
            assert why.scopes == {"secrets.read:db/main": "drift"}
            assert why.input is not None and why.input["chain"]["calls"] == 0
            assert "secret_access" in str(why)
        unknown = task.explain("drop_db", {})
        assert unknown.effect == "deny" and unknown.refused is not None
        assert unknown.refused["code"] == "unknown_tool"
        # Nothing was asked, recorded or counted: the one call the budget allows still runs.
        assert asked == [] and len(ledger.records()) == records
        assert read_logs("api") == "ok"
