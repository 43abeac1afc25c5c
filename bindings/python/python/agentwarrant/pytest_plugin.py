"""pytest plugin (registered through the ``pytest11`` entry point).

Fixtures, each overridable in a ``conftest.py``:

- ``agentwarrant_identity`` / ``agentwarrant_intent``: who the test agent is and what it
  was asked to do (by default: any scope);
- ``agentwarrant_approver``: a :class:`~agentwarrant.testing.ScriptedApprover` (approves);
- ``guard``: a guard on the default bundle with an in-memory ledger and that approver
  (override it to return your application's guard);
- ``task``: a task of ``guard``, current for the test's duration (``with guard.task(...)``).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from agentwarrant._guard import Guard, Task
from agentwarrant._native import Identity, Intent, MemoryLedger
from agentwarrant.testing import ScriptedApprover


@pytest.fixture
def agentwarrant_identity() -> Identity:
    return Identity("agent://tests/agent", owner="owner@example.com", ceiling=["*:*"])


@pytest.fixture
def agentwarrant_intent() -> Intent:
    return Intent("run the test", scopes=["*:*"])


@pytest.fixture
def agentwarrant_approver() -> ScriptedApprover:
    return ScriptedApprover(then="approve", by="approver@example.com")


@pytest.fixture
def guard(agentwarrant_approver: ScriptedApprover) -> Guard:
    return Guard(approver=agentwarrant_approver, ledger=MemoryLedger())


@pytest.fixture
def task(guard: Guard, agentwarrant_identity: Identity, agentwarrant_intent: Intent) -> Iterator[Task]:
    with guard.task(agentwarrant_identity, agentwarrant_intent) as current:
        yield current
