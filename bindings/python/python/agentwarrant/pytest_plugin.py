"""pytest plugin (registered through the ``pytest11`` entry point).

Every fixture name starts with ``aw_``, so none can shadow a ``guard`` or ``task`` fixture of
the suite that installs the package. Each is overridable in a ``conftest.py``:

- ``aw_identity`` / ``aw_intent``: who the test agent is and what it was asked to do (by
  default: any scope);
- ``aw_approver``: a :class:`~agentwarrant.testing.ScriptedApprover` (approves);
- ``aw_guard``: a guard on the default bundle with an in-memory ledger and that approver
  (override it to return your application's guard);
- ``aw_task``: a task of ``aw_guard``, current for the test's duration
  (``with aw_guard.task(...)``).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from agentwarrant._guard import Guard, Task
from agentwarrant._native import Identity, Intent, MemoryLedger
from agentwarrant.testing import ScriptedApprover


@pytest.fixture
def aw_identity() -> Identity:
    return Identity("agent://tests/agent", owner="owner@example.com", ceiling=["*:*"])


@pytest.fixture
def aw_intent() -> Intent:
    return Intent("run the test", scopes=["*:*"])


@pytest.fixture
def aw_approver() -> ScriptedApprover:
    return ScriptedApprover(then="approve", by="approver@example.com")


@pytest.fixture
def aw_guard(aw_approver: ScriptedApprover) -> Guard:
    return Guard(approver=aw_approver, ledger=MemoryLedger())


@pytest.fixture
def aw_task(aw_guard: Guard, aw_identity: Identity, aw_intent: Intent) -> Iterator[Task]:
    with aw_guard.task(aw_identity, aw_intent) as current:
        yield current
