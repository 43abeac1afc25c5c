"""Intents that name their targets: scopes proposed from the literals of the user's request."""

from __future__ import annotations

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
