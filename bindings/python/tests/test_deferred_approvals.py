"""Deferred approvals from Python: the run pauses with a Ticket, a human answers through
``guard.approvals`` (from any thread), the run resumes with ``task.resume``; and a LangGraph
graph pauses with ``interrupt()`` and resumes with ``Command(resume=...)``."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest

import agentwarrant as aw

import conftest
from conftest import decided, langchain_model, story_specs

BOB = "bob@acme.com"
MAIL = {"to": "partner@example.org", "body": "the Q3 numbers"}


@pytest.fixture
def guard() -> aw.Guard:
    """A guard without an approver: calls that need approval wait for a person."""
    return aw.Guard(tools=list(story_specs().values()), ledger=aw.MemoryLedger())


def test_a_paused_call_is_answered_from_another_thread_and_resumed(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
        assert isinstance(ticket, aw.Ticket)
        assert [t.id for t in guard.approvals.waiting()] == [ticket.id]
        assert [t.id for t in task.pending] == [ticket.id]
        # Unanswered: still the same ticket.
        assert task.resume(ticket).id == ticket.id

        answering = threading.Thread(target=guard.approvals.approve, args=(ticket, BOB))
        answering.start()
        answering.join()

        warrant = task.resume(ticket)
        assert isinstance(warrant, aw.Warrant)
        assert warrant.approvers == [BOB]
        warrant.complete()
        assert guard.approvals.waiting() == [] and task.pending == []
    assert decided(guard.ledger) == [("send_email", "approved")]
    guard.ledger.verify()


def test_a_waiting_run_resumes_when_the_answer_comes_in(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
        assert isinstance(ticket, aw.Ticket)
        # Nobody answers: the wait runs out and the ticket still waits.
        assert task.wait_for(ticket, 0.05).id == ticket.id

        answering = threading.Timer(0.2, guard.approvals.approve, args=(ticket, BOB))
        answering.start()
        warrant = task.wait_for(ticket, 30)
        answering.join()
        assert isinstance(warrant, aw.Warrant) and warrant.approvers == [BOB]
        warrant.complete()
        # Used once: a second wait on the same ticket is refused.
        with pytest.raises(aw.Refused):
            task.wait_for(ticket, 0.05)
    assert decided(guard.ledger)[0] == ("send_email", "approved")


def test_a_wait_needs_a_timeout_it_can_keep(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
        with pytest.raises(aw.ConfigError):
            task.wait_for(ticket, -1)
        with pytest.raises(TypeError):
            task.wait_for(ticket.id, 1)


def test_the_human_reads_the_args_the_ledger_keeps_redacted(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
        request = ticket.request
        assert request.args == MAIL
        assert request.sensitive_args == ["body"]
        text = str(ticket)
        for part in ("send_email", researcher.id, "the Q3 numbers", "sensitive: body", ticket.id, request.reasons[0].description):
            assert part in text, (part, text)
    assert "the Q3 numbers" not in str(guard.ledger.records())


def test_a_ticket_is_used_once_and_answered_once(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
        guard.approvals.deny(ticket, BOB, "not today")
        with pytest.raises(aw.TaskError) as second:
            guard.approvals.approve(ticket, "carol@acme.com")
        assert second.value.code == "already_answered"
        with pytest.raises(aw.ApprovalDenied) as refused:
            task.resume(ticket)
        assert refused.value.has("approval_denied")
        with pytest.raises(aw.Refused) as replay:
            task.resume(ticket)
        assert replay.value.has("approval_invalid")
        with pytest.raises(aw.TaskError) as closed:
            guard.approvals.approve(ticket, BOB)
        assert closed.value.code == "ticket_closed"
        with pytest.raises(aw.TaskError) as unknown:
            guard.approvals.approve("not-a-ticket", BOB)
        assert unknown.value.code == "unknown_ticket"


def test_a_ticket_resumed_with_other_args_or_in_another_task_is_refused(guard, researcher, goal):
    with guard.task(researcher, goal) as task, guard.task(researcher, goal) as other:
        ticket = task.submit("send_email", MAIL)
        guard.approvals.approve(ticket, BOB)
        with pytest.raises(aw.Refused) as swapped:
            task.resume(ticket.id, "send_email", {**MAIL, "to": "attacker@evil.example"})
        assert swapped.value.has("approval_invalid")
        with pytest.raises(aw.Refused) as foreign:
            other.resume(ticket)
        assert foreign.value.has("approval_invalid")
        warrant = task.resume(ticket.id, "send_email", MAIL)
        assert isinstance(warrant, aw.Warrant)
        warrant.complete()


def test_an_answer_filed_in_the_store_is_checked_like_any_approval(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
        guard.approvals.approve(ticket, researcher.id)  # an agent cannot approve
        with pytest.raises(aw.ApprovalDenied) as refused:
            task.resume(ticket)
        assert refused.value.has("approval_invalid")


def test_ending_the_task_refuses_its_paused_calls(guard, researcher, goal):
    with guard.task(researcher, goal) as task:
        ticket = task.submit("send_email", MAIL)
    assert guard.approvals.waiting() == []
    assert decided(guard.ledger) == [("send_email", "denied")]
    with pytest.raises(aw.TaskError) as closed:
        guard.approvals.approve(ticket, BOB)
    assert closed.value.code == "ticket_closed"


# ------------------------------------------------------------------ LangGraph interrupt()

langgraph = pytest.importorskip("langgraph")


def paused_graph(guard: aw.Guard) -> Any:
    from langchain_core.tools import tool
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.prebuilt import tools_condition

    from agentwarrant.integrations.langchain import guard_tool_node

    model = langchain_model([("send_email", MAIL), "done"])

    def agent(state: MessagesState) -> dict:  # type: ignore[type-arg]
        return {"messages": [model.invoke(state["messages"])]}

    node = guard_tool_node(guard, [tool(conftest.send_email)], approvals="interrupt")
    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=InMemorySaver())


def tool_replies(messages: List[Any]) -> List[Any]:
    from langchain_core.messages import ToolMessage

    return [m for m in messages if isinstance(m, ToolMessage)]


@pytest.mark.parametrize(
    "answer",
    [
        {"approved": True, "by": BOB},
        {"approved": False, "by": BOB, "reason": "no"},
        "yes",  # not an answer: refused
        {"approved": True},  # no one named: refused
        {"filed": True},  # nothing was filed through guard.approvals: refused
    ],
)
def test_a_langgraph_run_pauses_for_the_human_and_resumes_with_the_answer(guard, researcher, goal, answer):
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command

    conftest.sent.clear()
    graph = paused_graph(guard)
    config = {"configurable": {"thread_id": "t1"}}
    with guard.task(researcher, goal):
        paused = graph.invoke({"messages": [HumanMessage("send the numbers")]}, config)
        (interrupt,) = paused["__interrupt__"]
        payload = interrupt.value
        assert payload["type"] == "agentwarrant.approval" and payload["tool"] == "send_email"
        assert payload["args"] == MAIL and payload["identity"] == researcher.id
        assert [t.id for t in guard.approvals.waiting()] == [payload["ticket"]]
        assert conftest.sent == []

        result = graph.invoke(Command(resume=answer), config)
    (reply,) = tool_replies(result["messages"])
    if answer == {"approved": True, "by": BOB}:
        assert reply.status == "success" and conftest.sent == ["partner@example.org"]
        assert decided(guard.ledger) == [("send_email", "approved")]
    else:
        assert reply.status == "error" and "approval not granted" in reply.content
        assert conftest.sent == []
        assert decided(guard.ledger) == [("send_email", "approval_denied")]
    assert guard.approvals.waiting() == []
    guard.ledger.verify()


def test_a_langgraph_answer_filed_through_the_guard_is_the_one_used(guard, researcher, goal):
    from langchain_core.messages import HumanMessage
    from langgraph.types import Command

    conftest.sent.clear()
    graph = paused_graph(guard)
    config = {"configurable": {"thread_id": "t2"}}
    with guard.task(researcher, goal):
        paused = graph.invoke({"messages": [HumanMessage("send the numbers")]}, config)
        guard.approvals.approve(paused["__interrupt__"][0].value["ticket"], BOB)
        result = graph.invoke(Command(resume={"filed": True}), config)
    assert [m.status for m in tool_replies(result["messages"])] == ["success"]
    assert conftest.sent == ["partner@example.org"]


# ------------------------------------------------------------------ OpenAI Agents SDK


@pytest.mark.parametrize("answer", ["approve", "reject"])
async def test_an_openai_agents_run_is_interrupted_for_the_human_and_continues(guard, researcher, goal, answer):
    pytest.importorskip("agents")
    from agents import Agent, RunConfig, Runner, function_tool
    from agents.items import ToolCallOutputItem

    from agentwarrant.integrations.openai_agents import approve, guard_tools, reject

    conftest.sent.clear()
    model = conftest.openai_agents_model([("send_email", MAIL), "done"])
    tools = guard_tools(guard, [function_tool(conftest.fetch_page), function_tool(conftest.send_email)], approvals="run_state")
    agent = Agent(name="mailer", instructions="mail", model=model, tools=tools)
    run = RunConfig(tracing_disabled=True)
    async with guard.task(researcher, goal):
        result = await Runner.run(agent, "send the numbers", run_config=run)
        rounds = 0
        while result.interruptions:
            rounds += 1
            state = result.to_state()
            for item in result.interruptions:
                assert [t.request.tool for t in guard.approvals.waiting()] == [item.tool_name]
                if answer == "approve":
                    approve(state, item, BOB)
                else:
                    reject(state, item, by=BOB, reason="not to partners")
            result = await Runner.run(agent, state, run_config=run)
    assert rounds == 1
    assert result.final_output == "done"
    replies = [str(i.output) for i in result.new_items if isinstance(i, ToolCallOutputItem)]
    if answer == "approve":
        assert conftest.sent == ["partner@example.org"]
        assert decided(guard.ledger) == [("send_email", "approved")]
    else:
        assert conftest.sent == []
        assert any("approval not granted" in r for r in replies), replies
        assert decided(guard.ledger) == [("send_email", "approval_denied")]
    guard.ledger.verify()
