"""Helpers for testing guarded agents: the scenario runner, a scripted approver, the in-memory
ledger, and assertions on refusals. The pytest plugin (``agentwarrant.pytest_plugin``) builds
fixtures on top of these.

>>> from agentwarrant.testing import assert_denied, run_scenario
>>> report = run_scenario("tests/scenarios/005_exfiltration_after_secret_read.json")
>>> assert report.passed, report.summary()
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import threading
from typing import Any, Awaitable, Callable, List, Literal, Optional, Sequence, TypeVar, Union

from agentwarrant._guard import ApproverResult, Denial
from agentwarrant._native import (
    ApprovalRequest,
    FileLedger,
    MemoryLedger,
    run_scenario_file,
    run_scenario_text,
)
from agentwarrant.errors import Refused

__all__ = [
    "MemoryLedger",
    "ScenarioReport",
    "ScriptedApprover",
    "StepReport",
    "assert_allowed",
    "assert_approved_by",
    "assert_denied",
    "assert_recorded",
    "assert_denied_async",
    "assert_scenario",
    "run_scenario",
    "run_scenario_source",
]

R = TypeVar("R")
Ledger = Union[MemoryLedger, FileLedger]


def _field(record: Any, path: str) -> Any:
    """A record's field by dotted path (``"outcome.status"``); ``None`` when absent."""
    value = record
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def assert_recorded(ledger: Ledger, kind: str, **fields: Any) -> Any:
    """Asserts that the ledger holds a record of ``kind`` whose fields equal ``fields`` (a
    dotted name reaches inside: ``outcome__status="denied"`` for ``outcome.status``); returns
    the first such record.

    >>> # assert_recorded(guard.ledger, "call.decided", tool="send_email", outcome__status="denied")
    """
    wanted = {name.replace("__", "."): value for name, value in fields.items()}
    records = ledger.records(kind=kind)
    for record in records:
        if all(_field(record, name) == value for name, value in wanted.items()):
            return record
    seen = [{name: _field(r, name) for name in wanted} for r in records]
    raise AssertionError(f"no `{kind}` record with {wanted}; the `{kind}` records have {seen}")


def assert_approved_by(ledger: Ledger, tool: str, approver: str) -> Any:
    """Asserts that a call of ``tool`` ran with ``approver``'s approval (its ``call.decided``
    record is ``approved`` and names them); returns that record."""
    decided = ledger.records(kind="call.decided", tool=tool)
    for record in decided:
        if _field(record, "outcome.status") == "approved" and approver in (record.get("approver") or []):
            return record
    approvals = [(_field(r, "outcome.status"), r.get("approver")) for r in decided]
    raise AssertionError(f"no call of `{tool}` approved by `{approver}`; its decisions: {approvals}")


Answer = Union[Literal["approve", "deny", "error"], Callable[[ApprovalRequest], ApproverResult]]


@dataclasses.dataclass(frozen=True)
class StepReport:
    """One step of a scenario: what was expected and what happened."""

    index: int
    tool: str
    expected: str
    actual: str
    expected_reasons: List[str]
    actual_reasons: List[str]
    missing_reasons: List[str]
    passed: bool


@dataclasses.dataclass(frozen=True)
class ScenarioReport:
    """A scenario's result; ``passed`` is true when every step matched."""

    name: str
    file: str
    passed: bool
    steps: List[StepReport]
    ledger_records: int

    @property
    def failures(self) -> List[StepReport]:
        return [s for s in self.steps if not s.passed]

    def summary(self) -> str:
        """One line per failed step (empty when the scenario passed)."""
        return "\n".join(
            f"{self.file}: step {s.index} `{s.tool}`: expected {s.expected}"
            f" {s.expected_reasons}, got {s.actual} {s.actual_reasons}"
            for s in self.failures
        )


def _report(data: Any) -> ScenarioReport:
    fields = {f.name for f in dataclasses.fields(StepReport)}
    steps = [StepReport(**{k: v for k, v in step.items() if k in fields}) for step in data["steps"]]
    return ScenarioReport(
        name=data["name"],
        file=data["file"],
        passed=data["passed"],
        steps=steps,
        ledger_records=data.get("ledger_records", 0),
    )


def run_scenario(
    path: Union[str, "os.PathLike[str]"], *, policy_dir: Union[str, "os.PathLike[str]", None] = None
) -> ScenarioReport:
    """Runs an ``agentwarrant-scenario/v1`` file through a real guard (real policy, real
    ledger, scripted approver). Raises :class:`~agentwarrant.ScenarioError` when the file is
    malformed; a step that does not match is reported, not raised."""
    return _report(run_scenario_file(os.fspath(path), policy_dir=None if policy_dir is None else os.fspath(policy_dir)))


def run_scenario_source(
    text: str, *, name: str = "<scenario>", policy_dir: Union[str, "os.PathLike[str]", None] = None
) -> ScenarioReport:
    """:func:`run_scenario` for JSON text."""
    return _report(run_scenario_text(text, name=name, policy_dir=None if policy_dir is None else os.fspath(policy_dir)))


def assert_scenario(
    path: Union[str, "os.PathLike[str]"], *, policy_dir: Union[str, "os.PathLike[str]", None] = None
) -> ScenarioReport:
    """Runs a scenario and fails the test, naming each mismatched step, unless it passes."""
    report = run_scenario(path, policy_dir=policy_dir)
    if not report.passed:
        raise AssertionError(f"scenario `{report.name}` failed:\n{report.summary()}")
    return report


class ScriptedApprover:
    """An approver that answers from a script, for tests.

    ``answers`` are used in order, one per request; ``then`` answers every later request.
    An answer is ``"approve"`` (approved by ``by``), ``"deny"``, ``"error"`` (the approver
    fails: the call is refused as unavailable) or a callable ``(request) -> answer``.
    Every request is kept in ``requests``.
    """

    def __init__(
        self,
        answers: Union[Answer, Sequence[Answer]] = (),
        *,
        by: str = "approver@example.com",
        then: Answer = "deny",
    ) -> None:
        self.by = by
        self.then: Answer = then
        self._script: List[Answer] = [answers] if isinstance(answers, str) or callable(answers) else list(answers)
        self._lock = threading.Lock()
        self.requests: List[ApprovalRequest] = []

    def __call__(self, request: ApprovalRequest) -> ApproverResult:
        with self._lock:
            self.requests.append(request)
            answer = self._script.pop(0) if self._script else self.then
        if callable(answer):
            return answer(request)
        if answer == "approve":
            return request.approve(self.by)
        if answer == "deny":
            return Denial(by=self.by, reason="scripted refusal")
        if answer == "error":
            raise RuntimeError("scripted approver failure")
        raise ValueError(f"unknown scripted answer {answer!r}")

    @property
    def tools(self) -> List[str]:
        """The tools approval was asked for, in order."""
        return [r.tool for r in self.requests]


def _check(refusal: Refused, reason: Optional[str], kind: Optional[str]) -> Refused:
    if reason is not None and reason not in refusal.reasons:
        raise AssertionError(f"call was refused for {refusal.reasons}, not `{reason}`: {refusal}")
    if kind is not None and refusal.kind != kind:
        raise AssertionError(f"call was refused as {refusal.kind}, not {kind}: {refusal}")
    return refusal


def assert_denied(
    call: Callable[[], Any],
    reason: Optional[str] = None,
    *,
    kind: Optional[Literal["denied", "approval_denied"]] = None,
) -> Refused:
    """Calls ``call()`` and checks that the guard refused it (with ``reason`` among the
    reason codes, and of ``kind`` when given). Returns the refusal."""
    try:
        result = call()
    except Refused as refusal:
        return _check(refusal, reason, kind)
    if inspect.iscoroutine(result):
        result.close()
        raise TypeError("assert_denied() got a coroutine; use `await assert_denied_async(...)`")
    raise AssertionError(f"call was not refused (returned {result!r})")


async def assert_denied_async(
    call: Awaitable[Any],
    reason: Optional[str] = None,
    *,
    kind: Optional[Literal["denied", "approval_denied"]] = None,
) -> Refused:
    """:func:`assert_denied` for an awaitable (``await assert_denied_async(tool(...))``)."""
    try:
        result = await call
    except Refused as refusal:
        return _check(refusal, reason, kind)
    raise AssertionError(f"call was not refused (returned {result!r})")


def assert_allowed(call: Callable[[], R]) -> R:
    """Calls ``call()`` and fails the test, with the refusal's reasons, if it was refused."""
    try:
        return call()
    except Refused as refusal:
        raise AssertionError(f"call was refused ({refusal.reasons}): {refusal}") from refusal
