"""The policy input's `chain.signals` and `chain.history`, and the signal thresholds a guard
takes in `limits` (docs/signals.md)."""

import pytest

import agentwarrant as aw


def test_signals_and_history_reach_the_policy_input() -> None:
    guard = aw.Guard(limits={"burst_calls": 2, "burst_window_s": 60, "repeated_calls": 1})

    @guard.tool(impact="low", scopes=["web.search:{q:text}"])
    def search(q: str) -> str:
        return "found"

    who = aw.Identity("agent://acme/researcher", owner="alice@acme.com", ceiling=["web.search:*"])
    with guard.task(who, aw.Intent("find the release date", scopes=["web.search:*"])) as task:
        empty = task.explain("search", {"q": "date"}).input
        assert empty is not None
        assert empty["chain"]["signals"] == []
        assert empty["chain"]["history"] == {"recent": [], "counts": {}}
        search("date")
        search("date")
        why = task.explain("search", {"q": "date"}).input
        assert why is not None
        assert [s["kind"] for s in why["chain"]["signals"]] == ["repeated_call", "burst"]
        assert why["chain"]["history"]["counts"] == {"search": 2}
        assert why["chain"]["history"]["recent"][-1] == {
            "tool": "search",
            "effect": "allow",
            "labels": [],
            "destinations": [],
        }


@pytest.mark.parametrize("limits", [{"burst_calls": 0}, {"repeated_calls": 16}, {"burst_window_s": 0}])
def test_signal_thresholds_out_of_range_are_refused(limits: dict[str, int]) -> None:
    with pytest.raises(aw.ConfigError) as raised:
        aw.Guard(limits=limits)
    assert raised.value.code == "invalid_limits"
