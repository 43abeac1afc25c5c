"""Approvers: plain callables and coroutines; anything odd refuses the call (fail closed)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import threading
import time
from typing import Any, List

import pytest

import agentwarrant as aw
from agentwarrant.testing import ScriptedApprover, assert_denied


def ops() -> aw.Identity:
    return aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["db.migrate:*"])


def make(approver: Any, **options: Any) -> Any:
    guard = aw.Guard(approver=approver, **options)
    ran: List[str] = []

    @guard.tool(impact="high", scopes=["db.migrate:{db}"])
    def migrate(db: str) -> str:
        ran.append(db)
        return "migrated"

    @guard.tool(impact="high", scopes=["db.migrate:{db}"])
    async def amigrate(db: str) -> str:
        ran.append(db)
        return "migrated"

    return guard, migrate, amigrate, ran


INTENT = aw.Intent("migrate", scopes=["db.migrate:*"])


def last_answer(guard: aw.Guard) -> Any:
    return [r for r in guard.ledger.records() if r["kind"] == "approval.answered"][-1]


def test_approval_object_approves_and_is_recorded():
    guard, migrate, _, ran = make(lambda r: r.approve("bob@acme.com"))
    with guard.task(ops(), INTENT):
        assert migrate("main") == "migrated"
    assert ran == ["main"] and last_answer(guard)["approver"] == ["bob@acme.com"]


def test_true_needs_approved_by():
    guard, migrate, _, ran = make(lambda r: True, approved_by="bob@acme.com")
    with guard.task(ops(), INTENT):
        migrate("main")
    assert ran == ["main"]
    guard, migrate, _, ran = make(lambda r: True)
    with guard.task(ops(), INTENT):
        refusal = assert_denied(lambda: migrate("main"), reason="approval_unavailable")
    assert isinstance(refusal, aw.ApprovalRequired) and ran == []


@pytest.mark.parametrize("answer", [False, None, aw.Denial(by="bob@acme.com", reason="not today")])
def test_refusals(answer: Any):
    guard, migrate, _, ran = make(lambda r: answer)
    with guard.task(ops(), INTENT):
        refusal = assert_denied(lambda: migrate("main"), reason="approval_denied", kind="approval_denied")
    assert isinstance(refusal, aw.ApprovalDenied) and not isinstance(refusal, aw.ApprovalRequired)
    assert refusal.code == "approval_denied" and "high_impact" in refusal.reasons
    assert ran == []


@pytest.mark.parametrize("answer", ["yes", 1, [], ["bob"], object()])
def test_garbage_answers_fail_closed(answer: Any):
    guard, migrate, _, ran = make(lambda r: answer)
    with guard.task(ops(), INTENT):
        refusal = assert_denied(lambda: migrate("main"), reason="approval_unavailable")
    assert isinstance(refusal, aw.ApprovalRequired) and ran == []


def test_raising_approver_fails_closed():
    def boom(request: aw.ApprovalRequest) -> bool:
        raise ConnectionError("pager down")

    guard, migrate, _, ran = make(boom)
    with guard.task(ops(), INTENT):
        assert_denied(lambda: migrate("main"), reason="approval_unavailable")
    assert "pager down" in last_answer(guard)["detail"]["reason"]
    assert ran == []


def test_self_approval_by_the_agent_is_invalid():
    guard, migrate, _, ran = make(lambda r: r.approve("agent://acme/ops"))
    with guard.task(ops(), INTENT):
        refusal = assert_denied(lambda: migrate("main"), reason="approval_invalid")
    assert refusal.code == "approval_invalid" and ran == []


def test_approval_request_carries_the_call():
    seen: List[aw.ApprovalRequest] = []

    def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        seen.append(request)
        return request.approve("bob@acme.com")

    guard, migrate, _, _ = make(approver)
    with guard.task(ops(), INTENT):
        migrate("main")
    (request,) = seen
    assert request.tool == "migrate" and request.args == {"db": "main"} and request.identity == "agent://acme/ops"
    assert request.owner == "alice@acme.com" and request.intent == "migrate" and "high_impact" in request.codes
    assert request.approvers_needed == 1 and request.expires_at > time.time() and len(request.digest) == 64


def test_coroutine_approver_from_sync_code():
    async def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        await asyncio.sleep(0)
        return request.approve("bob@acme.com")

    guard, migrate, _, ran = make(approver)
    with guard.task(ops(), INTENT):
        migrate("main")
    assert ran == ["main"]


async def test_coroutine_approver_runs_on_the_callers_loop():
    loop = asyncio.get_running_loop()
    loops: List[Any] = []

    async def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        loops.append(asyncio.get_running_loop())
        return request.approve("bob@acme.com")

    guard, _, amigrate, ran = make(approver)
    async with guard.task(ops(), INTENT):
        assert await amigrate("main") == "migrated"
    assert loops == [loop] and ran == ["main"]


async def test_slow_coroutine_approver_times_out_closed():
    async def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        await asyncio.sleep(5)
        return True

    guard, _, amigrate, ran = make(approver, approved_by="bob@acme.com", approval_timeout=0.05)
    async with guard.task(ops(), INTENT):
        with pytest.raises(aw.ApprovalRequired):
            await amigrate("main")
    # The guard's approval timeout refused it: the one timeout, for sync and async approvers.
    assert "no answer within 0.05 s" in last_answer(guard)["detail"]["reason"] and ran == []


def test_slow_sync_approver_is_refused_at_the_timeout_without_waiting_for_it():
    def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        time.sleep(1)
        return request.approve("bob@acme.com")

    guard, migrate, _, ran = make(approver, approval_timeout=0.05)
    started = time.monotonic()
    with guard.task(ops(), INTENT):
        refusal = assert_denied(lambda: migrate("main"), reason="approval_timeout", kind="approval_denied")
    assert "approval_unavailable" not in refusal.reasons and "no approver is configured" not in str(refusal)
    assert time.monotonic() - started < 0.9 and ran == []
    assert "no answer within 0.05 s" in last_answer(guard)["detail"]["reason"]


def test_without_a_timeout_the_approver_answers_on_the_callers_thread():
    threads: List[Any] = []

    def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        threads.append(threading.current_thread())
        return request.approve("bob@acme.com")

    guard, migrate, _, ran = make(approver, approval_timeout=None)
    with guard.task(ops(), INTENT):
        migrate("main")
    assert threads == [threading.current_thread()] and ran == ["main"]


def test_ctrl_c_during_the_prompt_refuses_records_and_reraises():
    def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        raise KeyboardInterrupt

    guard, migrate, _, ran = make(approver)
    with guard.task(ops(), INTENT):
        with pytest.raises(KeyboardInterrupt) as error:
            migrate("main")
    assert isinstance(error.value.__cause__, aw.ApprovalRequired)
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"]
    assert decided[-1]["outcome"]["status"] == "approval_denied" and ran == []
    guard.ledger.verify()


def test_scripted_approver_follows_its_script():
    approver = ScriptedApprover(["approve", "deny", "error"], by="bob@acme.com")
    guard, migrate, _, ran = make(approver)
    with guard.task(ops(), INTENT):
        migrate("a")
        assert_denied(lambda: migrate("b"), reason="approval_denied")
        assert_denied(lambda: migrate("c"), reason="approval_unavailable")
        assert_denied(lambda: migrate("d"), reason="approval_denied")  # then: deny
    assert ran == ["a"] and approver.tools == ["migrate"] * 4


def test_no_approver_means_approval_unavailable():
    guard, migrate, _, _ = make(None)
    with guard.task(ops(), INTENT):
        refusal = assert_denied(lambda: migrate("main"), reason="approval_unavailable", kind="denied")
    # Nobody was asked: the refusal is `denied`, and never claims an approver failed.
    assert isinstance(refusal, aw.ApprovalRequired) and refusal.kind == "denied"
    assert refusal.code == "approval_unavailable"


def test_non_callable_approver_is_a_type_error():
    with pytest.raises(TypeError):
        aw.Guard(approver="bob")  # type: ignore[arg-type]


class NoThreads(concurrent.futures.ThreadPoolExecutor):
    """An event loop executor that fails any use: proves a call took no worker thread."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        raise AssertionError("an async guarded call used a worker thread")


async def test_async_calls_take_no_thread_unless_a_plain_approver_must_answer():
    asyncio.get_running_loop().set_default_executor(NoThreads())

    async def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        await asyncio.sleep(0.05)
        return request.approve("bob@acme.com")

    guard, _, amigrate, ran = make(approver, limits={"max_impact_total": 1000})

    @guard.tool(impact="low", scopes=["db.read:{db}"])
    async def count(db: str) -> int:
        return 1

    identity = aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["db.migrate:*", "db.read:*"])
    async with guard.task(identity, aw.Intent("migrate", scopes=["db.migrate:*", "db.read:*"])):
        assert await count("main") == 1  # no approval needed: decided inline
        # Twenty approvals pending at once, each answered on this loop.
        done = await asyncio.gather(*(amigrate(f"db{n}") for n in range(20)))
    assert done == ["migrated"] * 20 and len(ran) == 20


async def test_cancelling_a_call_that_waits_for_its_approver_refuses_and_records_it_at_once():
    asked = asyncio.Event()

    async def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        asked.set()
        await asyncio.sleep(3600)
        return True

    guard, _, amigrate, ran = make(approver, approved_by="bob@acme.com")
    async with guard.task(ops(), INTENT):
        call = asyncio.ensure_future(amigrate("main"))
        await asked.wait()
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert guard.approvals.waiting() == []
    kinds = [r["kind"] for r in guard.ledger.records()]
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"]
    assert decided[-1]["outcome"]["status"] == "approval_denied" and ran == []
    assert kinds.index("task.ended") > max(i for i, k in enumerate(kinds) if k == "call.decided")
    guard.ledger.verify()


def test_a_standing_approval_covers_later_calls_like_the_first():
    asked: List[str] = []

    def approver(request: aw.ApprovalRequest) -> aw.ApproverResult:
        asked.append(request.args["db"])
        return request.approve("bob@acme.com", standing=aw.Standing(2, ttl=600, within=["db.migrate:test-*"]))

    guard, migrate, _, ran = make(approver, limits={"max_impact_total": 1000})
    with guard.task(ops(), INTENT):
        for db in ("test-1", "test-2", "test-3", "test-4", "prod"):
            migrate(db)
    # test-2 and test-3 used the standing approval; test-4 (used up) and prod (outside) asked.
    assert asked == ["test-1", "test-4", "prod"] and len(ran) == 5
    uses = [r["detail"].get("uses_left") for r in guard.ledger.records() if r["kind"] == "approval.answered"]
    assert uses == [None, 1, 0, None, None]


def test_a_malformed_standing_approval_refuses_the_call():
    guard, migrate, _, ran = make(lambda request: request.approve("bob@acme.com", standing=aw.Standing(0, ttl=60)))
    with guard.task(ops(), INTENT):
        assert_denied(lambda: migrate("main"), reason="approval_invalid", kind="approval_denied")
    assert ran == []


def test_an_approver_still_running_at_exit_does_not_hold_up_or_crash_the_interpreter(tmp_path: Any) -> None:
    # The timed-out approver is still asleep when the script ends: the interpreter exits at
    # once, cleanly, without waiting for it.
    script = tmp_path / "slow_approver.py"
    script.write_text(
        "import time\n"
        "import agentwarrant as aw\n"
        "def approver(request):\n"
        "    time.sleep(3)\n"
        "    print('approver finished')\n"
        "    return request.approve('bob@acme.com')\n"
        "guard = aw.Guard(approver=approver, approval_timeout=0.05)\n"
        "@guard.tool(impact='critical', scopes=['db.migrate:{db}'])\n"
        "def migrate(db: str) -> str:\n"
        "    return db\n"
        "bot = aw.Identity('agent://acme/ops', owner='alice@acme.com', ceiling=['db.migrate:*'])\n"
        "with guard.task(bot, aw.Intent('migrate', scopes=['db.migrate:*'])):\n"
        "    try:\n"
        "        migrate('main')\n"
        "    except aw.ApprovalRequired as refused:\n"
        "        print(refused.reasons)\n"
    )
    for _ in range(3):
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "approval_timeout" in done.stdout and "approver finished" not in done.stdout
