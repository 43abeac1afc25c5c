"""Intents that name their targets: scopes proposed from the literals of the user's request."""

from __future__ import annotations

import pytest

import agentwarrant as aw

SPECS = {
    "send_email": aw.ToolSpec("send_email", impact="medium", external=True, sink=True, destination_arg="to", scopes=["email.send:{to:email}"]),
    "fetch": aw.ToolSpec("fetch", impact="low", external=True, destination_arg="url", scopes=["web.fetch:{url:url}"]),
    "book_hotel": aw.ToolSpec("book_hotel", impact="medium", scopes=["hotel.book:{name:text}"]),
    "pay": aw.ToolSpec("pay", impact="high", external=True, scopes=["bank.transfer:{iban}"]),
}


def test_the_literals_of_a_request_become_the_scopes_of_the_tools_that_take_them() -> None:
    request = (
        'Read https://Docs.Example.com/q3.html, book "Le Marais Boutique", pay '
        "GB29NWBK60161331926819 and send the summary to Carol@Acme.COM."
    )
    proposed = aw.propose_named_scopes(request, SPECS)
    assert [p["scope"] for p in proposed] == [
        "web.fetch:https://docs.example.com/q3.html",
        "hotel.book:Le%20Marais%20Boutique",
        "hotel.book:GB29NWBK60161331926819",  # the tools in the order given
        "bank.transfer:GB29NWBK60161331926819",
        "email.send:Carol@acme.com",
    ]
    assert proposed[0] == {"scope": "web.fetch:https://docs.example.com/q3.html", "tool": "fetch", "literal": "https://Docs.Example.com/q3.html"}
    assert aw.propose_named_scopes("summarise my inbox", list(SPECS.values())) == []


def test_an_intent_of_the_named_scopes_lets_the_named_target_through_and_not_another() -> None:
    guard = aw.Guard(tools=SPECS.values())
    request = "Send the summary to carol@acme.com"
    named = [p["scope"] for p in aw.propose_named_scopes(request, SPECS) if p["tool"] == "send_email"]
    bot = aw.Identity("agent://acme/assistant", owner="alice@acme.com", ceiling=["email.send:*"])
    with guard.task(bot, aw.Intent(request, scopes=named)) as task:
        task.authorize("send_email", {"to": "carol@acme.com"}).complete()
        assert task.explain("send_email", {"to": "mallory@evil.example"}).effect == "approval"


def _read_untrusted(task: aw.Task) -> None:
    task.authorize("fetch", {"url": "https://forum.example.net/thread"}).complete(labels=["untrusted"])


def _mail_task(guard: aw.Guard) -> aw.Task:
    request = "Read the thread, then send the summary to carol@acme.com"
    named = [p["scope"] for p in aw.propose_named_scopes(request, SPECS) if p["tool"] == "send_email"]
    bot = aw.Identity("agent://acme/assistant", owner="alice@acme.com", ceiling=["email.send:*", "web.fetch:*"])
    return guard.task(bot, aw.Intent(request, scopes=[*named, "email.send:*@acme.com", "web.fetch:*"]))


def test_with_unnamed_targets_untrusted_content_cannot_pick_the_recipient() -> None:
    guard = aw.Guard(tools=SPECS.values(), policy_data={"untrusted_input": "unnamed_targets"})
    with _mail_task(guard) as task:
        _read_untrusted(task)
        # The recipient the user typed: the thread cannot have chosen it.
        assert task.explain("send_email", {"to": "carol@acme.com"}).effect == "allow"
        # One the thread may have chosen, inside the intent's wildcard: asks.
        other = task.explain("send_email", {"to": "dave@acme.com"})
        assert (other.effect, [r["code"] for r in other.reasons]) == ("approval", ["untrusted_input"])
        assert other.input is not None and other.input["call"]["named_scopes"] == []


def test_by_default_every_send_after_untrusted_content_asks() -> None:
    guard = aw.Guard(tools=SPECS.values())
    with _mail_task(guard) as task:
        _read_untrusted(task)
        explained = task.explain("send_email", {"to": "carol@acme.com"})
        assert (explained.effect, [r["code"] for r in explained.reasons]) == ("approval", ["untrusted_input"])
        assert explained.input is not None
        assert explained.input["call"]["named_scopes"] == ["email.send:carol@acme.com"]


def test_an_unknown_untrusted_input_mode_is_refused_when_the_guard_is_built() -> None:
    with pytest.raises(aw.ConfigError) as raised:
        aw.Guard(tools=SPECS.values(), policy_data={"untrusted_input": "never"})
    assert raised.value.code == "policy_data"
    with pytest.raises(aw.ConfigError):
        aw.Guard(policy_data=["not", "a", "mapping"])  # type: ignore[arg-type]
