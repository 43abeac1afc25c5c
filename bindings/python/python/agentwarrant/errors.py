"""Exceptions raised by agentwarrant.

Every exception is an :class:`GuardError` with a stable machine-readable ``code`` and also
subclasses the builtin that fits, so ``except ValueError`` still catches a bad policy.

A refused call raises :class:`Refused` (:class:`Denied`, :class:`ApprovalDenied` or
:class:`ApprovalRequired`); its message is the short, agent-safe text (reason codes and fixed
descriptions, never args, secrets or policy internals). The full record is in the ledger.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING, Optional, Sequence, Union

if TYPE_CHECKING:
    from agentwarrant._native import Decision, Reason

__all__ = [
    "GuardError",
    "ConfigError",
    "PolicyError",
    "UnguardedToolError",
    "LedgerError",
    "TaskError",
    "NoActiveTask",
    "ScenarioError",
    "JwtError",
    "Refused",
    "Denied",
    "ApprovalDenied",
    "ApprovalRequired",
]


class GuardError(Exception):
    """Base of every agentwarrant exception; ``code`` is a stable snake_case slug."""

    code: str

    def __init__(self, message: str, *, code: str = "guard_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(GuardError, ValueError):
    """A guard, identity, intent or tool spec is misconfigured (raised at start-up)."""


class PolicyError(ConfigError):
    """The policy does not compile, cannot be read, or its data is invalid."""


class UnguardedToolError(ConfigError):
    """An adapter was asked to wrap tools that have no ``ToolSpec`` and no default spec."""

    def __init__(self, message: str, *, tools: Sequence[str], code: str = "unguarded_tool") -> None:
        super().__init__(message, code=code)
        self.tools = list(tools)


class LedgerError(GuardError, OSError):
    """The ledger could not be written or read, or a ledger does not verify.

    ``line`` names the first broken record (``code == "ledger_broken"``).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "ledger_io",
        path: Optional[Union[str, PathLike[str]]] = None,
        line: Optional[int] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.path = None if path is None else str(path)
        self.line = line


class TaskError(GuardError, RuntimeError):
    """A task cannot delegate (it has ended) or a warrant was completed twice.

    A *call* in an ended task is no ``TaskError``: the engine refuses it as :class:`Denied`
    (``grant_invalid``) and records it, as in Rust.
    """


class NoActiveTask(TaskError):
    """A guarded function was called outside any task and the guard has no default task."""

    def __init__(self, message: str, *, code: str = "no_task") -> None:
        super().__init__(message, code=code)


class ScenarioError(GuardError, ValueError):
    """A scenario file is malformed or cannot be run; ``path`` is the JSON path of the problem."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "scenario_invalid",
        file: Optional[str] = None,
        path: Optional[str] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.file = file
        self.path = path


class JwtError(GuardError, ValueError):
    """A grant or call token (JWT) was refused, or a JWKS does not read.

    ``code`` says why: ``jwt_bad_signature``, ``jwt_expired``, ``jwt_revoked``,
    ``jwt_wrong_audience``, ``jwt_unknown_key``, ``jwt_unsupported_algorithm``,
    ``jwt_malformed``, ``jwt_scope_not_covered``, ... (``docs/tokens.md``).
    """


class Refused(GuardError, PermissionError):
    """A tool call was refused; the tool did not run.

    - ``code``: the most telling reason code (for an approval refusal, the engine's answer:
      ``approval_denied``, ``approval_invalid``, ``approval_unavailable`` or
      ``approval_timeout``);
    - ``reasons``: every reason code, in order;
    - ``details``: the reasons with their details, for operators (never show them to a model);
    - ``kind``: ``"denied"`` or ``"approval_denied"``;
    - ``call_id``: the call's id in the ledger; ``tool``: the tool; ``decision``: the
      policy's decision when the policy was evaluated.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        kind: str = "denied",
        reasons: Sequence[str] = (),
        details: Sequence[Reason] = (),
        call_id: Optional[str] = None,
        tool: Optional[str] = None,
        decision: Optional[Decision] = None,
    ) -> None:
        super().__init__(message, code=code)
        self.kind = kind
        self.reasons = list(reasons)
        self.details = list(details)
        self.call_id = call_id
        self.tool = tool
        self.decision = decision

    def has(self, code: str) -> bool:
        """Whether any reason has this code."""
        return code in self.reasons


class Denied(Refused):
    """Refused by the policy or by the engine; no approval was asked."""


class ApprovalDenied(Refused):
    """Approval was needed and not given (refused, or failed the engine's checks)."""


class ApprovalRequired(ApprovalDenied):
    """Approval was needed and nobody answered.

    ``kind`` is ``"denied"`` when nobody was asked (no approver configured, or nobody to ask:
    ``approval_unavailable``), ``"approval_denied"`` when the approver failed
    (``approval_unavailable``) or did not answer in time (``approval_timeout``).
    """
