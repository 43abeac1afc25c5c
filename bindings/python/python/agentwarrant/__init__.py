"""agentwarrant: guardrails for AI-agent tool calls.

Every tool call gets a *warrant* before it runs: who asked (an :class:`Identity` with a human
owner), why (the task's :class:`Intent`), what the Rego policy decided, who approved it when
the action matters, and what happened, all in a tamper-evident ledger.

>>> import agentwarrant as aw
>>> guard = aw.Guard()
>>> @guard.tool(impact="low", scopes=["logs.read:{service}"])
... def read_logs(service: str) -> str: ...
>>> ops = aw.Identity("agent://acme/ops", owner="alice@acme.com", ceiling=["logs.read:*"])
>>> with guard.task(ops, aw.Intent("triage", scopes=["logs.read:*"])):
...     read_logs("api")
"""

from agentwarrant._guard import (
    Approvals,
    ApproverResult,
    CredentialBroker,
    Denial,
    Explanation,
    Guard,
    Impact,
    Role,
    Task,
    current_task,
)
from agentwarrant._native import (
    DEFAULT_BUNDLE,
    Approval,
    ApprovalRequest,
    Credential,
    Decision,
    FileLedger,
    Identity,
    Intent,
    LedgerHead,
    ManualClock,
    MemoryLedger,
    Reason,
    Standing,
    Ticket,
    ToolSpec,
    Warrant,
    __version__,
    propose_named_scopes,
    reason_codes,
    verify,
    verify_grant,
    verify_text,
)
from agentwarrant import errors
from agentwarrant.errors import *  # noqa: F403 -- every exception, as listed in errors.__all__

__all__ = [
    "__version__",
    "DEFAULT_BUNDLE",
    # the guard and its nouns
    "Guard",
    "Task",
    "Explanation",
    "Identity",
    "Intent",
    "ToolSpec",
    "Warrant",
    "Decision",
    "Reason",
    "Impact",
    "Role",
    "current_task",
    "reason_codes",
    # approvals
    "ApprovalRequest",
    "Approval",
    "Denial",
    "ApproverResult",
    "Ticket",
    "Approvals",
    "Standing",
    # the ledger
    "MemoryLedger",
    "FileLedger",
    "LedgerHead",
    "verify",
    "verify_text",
    "ManualClock",
    # tokens and credentials
    "verify_grant",
    "Credential",
    "CredentialBroker",
]
__all__ += errors.__all__  # the exceptions
