"""The Python face of the guard: tasks as context managers, guarded functions, approvers.

The current task and the current call live in ``contextvars``, so a guarded function finds
its task without being passed one, calls made while another guarded call runs nest under it,
and concurrent asyncio tasks (which copy the context) each chain correctly.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import functools
import inspect
import logging
import os
import re
import sys
import threading
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    Generic,
    Iterable,
    List,
    Literal,
    Mapping,
    NoReturn,
    Optional,
    Protocol,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from agentwarrant._native import (
    Approval,
    ApprovalRequest,
    Credential,
    FileLedger,
    GuardCore,
    Identity,
    Intent,
    ManualClock,
    MemoryLedger,
    Standing,
    TaskCore,
    Ticket,
    ToolSpec,
    Warrant,
)
from agentwarrant import _otel
from agentwarrant.errors import ConfigError, GuardError, NoActiveTask, Refused

__all__ = ["Guard", "Task", "Approvals", "Denial", "ApproverResult", "CredentialBroker", "current_task", "Impact", "Role"]

_log = logging.getLogger("agentwarrant")

Impact = Literal["low", "medium", "high", "critical"]
Role = Literal["orchestrator", "executor", "escalation"]

R = TypeVar("R")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Denial:
    """An approver's explicit refusal, with who refused and why (both recorded)."""

    by: Optional[str] = None
    reason: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Explanation:
    """What the guard would decide for a call, without deciding it (:meth:`Task.explain`):
    nothing counted, no approver asked, nothing recorded. ``str()`` reads it to a person."""

    tool: str
    effect: Literal["allow", "approval", "deny"]
    """The effect the call would get (``deny`` when the engine refuses it before the policy)."""
    reasons: Tuple[Dict[str, Any], ...]
    """The policy's reasons, each ``{"code", "description", "detail"}``."""
    also: Tuple[Dict[str, Any], ...]
    """Approval reasons that also fired on a call that would be denied."""
    refused: Optional[Dict[str, Any]]
    """The engine's reason when it would refuse before the policy (unknown tool, invalid call)."""
    scopes: Dict[str, str]
    """Each required scope and its band: ``intent``, ``drift`` or ``outside_ceiling``."""
    input: Optional[Dict[str, Any]]
    """The exact policy input document (for writing and testing Rego rules)."""
    text: str = dataclasses.field(repr=False)

    def __str__(self) -> str:
        return self.text


ApproverResult = Union[bool, Approval, Sequence[Approval], Denial, None]
"""What an approver returns: ``True`` (approved by the guard's ``approved_by``), an
:class:`Approval` or several (``request.approve("bob@acme.com")``), or ``False`` / ``None`` /
:class:`Denial` to refuse. Anything else refuses the call."""

Approver = Callable[[ApprovalRequest], Union[ApproverResult, Awaitable[ApproverResult]]]

_current_task: contextvars.ContextVar[Optional["Task"]] = contextvars.ContextVar(
    "agentwarrant_task", default=None
)
# The call whose tool is running: (root task of its delegation tree, warrant).
_current_call: contextvars.ContextVar[Optional[Tuple["Task", Warrant]]] = contextvars.ContextVar(
    "agentwarrant_call", default=None
)
# The event loop of an async caller whose authorization runs in a worker thread: coroutine
# approvers are scheduled on it.
_approval_loop: contextvars.ContextVar[Optional[asyncio.AbstractEventLoop]] = contextvars.ContextVar(
    "agentwarrant_approval_loop", default=None
)
# A KeyboardInterrupt (or other BaseException) raised inside an approver, by call id: the call
# is refused and recorded first, then the interrupt is re-raised to the caller. (The approver
# runs on the approval timeout's own thread, so this cannot be a thread-local.)
_interrupts: Dict[str, BaseException] = {}
_interrupts_lock = threading.Lock()


def current_task() -> Optional["Task"]:
    """The task of the current context, if any."""
    return _current_task.get()


# --------------------------------------------------------------------------- approvers


def _interpret(result: object, request: ApprovalRequest, approved_by: Optional[str]) -> Tuple[Any, ...]:
    """Turns a user approver's answer into the native protocol; unknown answers fail closed."""
    if result is True:
        if approved_by is None:
            return ("error", "the approver returned True but the guard has no `approved_by` principal")
        return ("approved", [request.approve(approved_by)])
    if result is False or result is None:
        return ("denied", None, None)
    if isinstance(result, Denial):
        return ("denied", result.by, result.reason)
    if isinstance(result, Approval):
        return ("approved", [result])
    if isinstance(result, (list, tuple)) and result and all(isinstance(a, Approval) for a in result):
        return ("approved", list(result))
    return (
        "error",
        f"the approver returned {type(result).__name__}; expected bool, Approval, a list of "
        "Approval, Denial or None",
    )


async def _as_coroutine(awaitable: Awaitable[R]) -> R:
    return await awaitable


def _await_answer(awaitable: Awaitable[object]) -> object:
    """The answer of a coroutine approver: on the async caller's loop when there is one. The
    guard's approval timeout bounds the wait (see :func:`_adapt_approver`)."""
    loop = _approval_loop.get()
    if loop is not None and loop.is_running():
        return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop).result()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_as_coroutine(awaitable))
    if inspect.iscoroutine(awaitable):
        awaitable.close()
    raise RuntimeError(
        "a coroutine approver cannot be awaited from synchronous code running inside an event "
        "loop; call the guarded tool with `await` (async tool) instead"
    )


def _answer_of(approver: Approver, request: ApprovalRequest) -> object:
    """A plain approver's answer, on a worker thread (an awaitable it returns is awaited)."""
    result: object = approver(request)
    if inspect.isawaitable(result):
        result = _await_answer(result)
    return result


def _adapt_approver(
    approver: Approver, approved_by: Optional[str], timeout: Optional[float]
) -> Callable[[ApprovalRequest], Tuple[Any, ...]]:
    """The approver in the native protocol; with a ``timeout``, bounded by it."""

    def answer(request: ApprovalRequest) -> Tuple[Any, ...]:
        try:
            result: object = approver(request)
            if inspect.isawaitable(result):
                result = _await_answer(result)
        except BaseException as exc:  # noqa: BLE001 -- fail closed on anything, even Ctrl-C
            if not isinstance(exc, Exception):
                with _interrupts_lock:
                    _interrupts[request.call_id] = exc
            return ("error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return _interpret(result, request, approved_by)

    if timeout is None:
        return answer

    def bounded(request: ApprovalRequest) -> Tuple[Any, ...]:
        # The approver runs in the caller's context on a daemon thread: past the timeout the
        # call is refused at once, and an approver still running then never holds up (or
        # outlives) the interpreter's exit.
        context = contextvars.copy_context()
        answers: List[Tuple[Any, ...]] = []
        worker = threading.Thread(
            target=lambda: answers.append(context.run(answer, request)), name="agentwarrant-approver", daemon=True
        )
        worker.start()
        worker.join(timeout)
        if worker.is_alive() or not answers:
            return ("timeout", f"no answer within {timeout} s")
        return answers[0]

    return bounded


def _authorize(core: TaskCore, tool: str, args: Mapping[str, Any], parent: Optional[Warrant]) -> Warrant:
    try:
        return core.authorize(tool, args, parent)
    except Refused as refusal:
        # An approver that raised refused the call (fail closed); a Ctrl-C it raised is kept
        # for this call until the refusal is recorded, then still stops the program.
        if _interrupts and refusal.call_id is not None:
            with _interrupts_lock:
                interrupt = _interrupts.pop(refusal.call_id, None)
            if interrupt is not None:
                raise interrupt from refusal
        raise


def _authorized(core: TaskCore, tool: str, args: Mapping[str, Any], parent: Optional[Warrant]) -> Tuple[Warrant, Any]:
    """:func:`_authorize` with the call's OpenTelemetry span (``None`` when not tracing):
    a refusal ends it, an authorized call's span goes on while the tool runs."""
    span = _otel.start(tool, core)
    try:
        warrant = _authorize(core, tool, args, parent)
    except Refused as refusal:
        _otel.refused(span, refusal)
        raise
    _otel.decided(span, warrant)
    return warrant, span


# --------------------------------------------------------------------------- args


Binder = Callable[[Tuple[Any, ...], Dict[str, Any]], Dict[str, Any]]

_SKIPPED = ("self", "cls")


def _binder(fn: Callable[..., Any], name: str) -> Binder:
    """Maps a call's positional and keyword arguments to the args dict the policy sees (in
    parameter order, defaults applied, ``self``/``cls`` left out). The signature is read once,
    here; a call that does not fit it gets ``inspect``'s ``TypeError``, naming the tool."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    var_kw = {p.name for p in params if p.kind is p.VAR_KEYWORD}

    def bind_slow(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{name}(): {exc}") from None
        bound.apply_defaults()
        out: Dict[str, Any] = {}
        for key, value in bound.arguments.items():
            if key in _SKIPPED:
                continue
            if key in var_kw:
                out.update(value)
            else:
                out[key] = value
        return out

    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return bind_slow
    # The common cases, without building a BoundArguments per call.
    names = tuple(p.name for p in params)
    positional = tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    by_keyword = frozenset(p.name for p in params if p.kind is not p.POSITIONAL_ONLY)
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    skipped = [n for n in names if n in _SKIPPED]
    # For a call with n positional arguments and no keywords: the defaults of the parameters
    # after the n-th, when they all have one.
    completions = {
        n: {key: defaults[key] for key in names[n:]}
        for n in range(len(positional) + 1)
        if all(key in defaults for key in names[n:])
    }

    def bind(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
        if kwargs:
            if len(args) > len(positional):
                return bind_slow(args, kwargs)
            given = dict(zip(positional, args))
            given.update(kwargs)
            if len(given) < len(args) + len(kwargs) or not by_keyword.issuperset(kwargs):
                return bind_slow(args, kwargs)  # an argument given twice, or unknown
            try:
                out = {key: given[key] if key in given else defaults[key] for key in names}
            except KeyError:
                return bind_slow(args, kwargs)  # a required argument is missing
        else:
            completion = completions.get(len(args))
            if completion is None:
                return bind_slow(args, kwargs)  # too many arguments, or a required one missing
            out = dict(zip(positional, args))
            out.update(completion)
        for key in skipped:
            del out[key]
        return out

    return bind


# A scope template's placeholders: `{to}`, `{to:email}`, `{cc?}`, `{cc?:email}`. The engine
# checks the template's shape when the spec is built; here only the names matter.
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _placeholder_names(template: str) -> List[str]:
    return [m.group(1).split(":", 1)[0].rstrip("?").strip() for m in _PLACEHOLDER.finditer(template)]


def _check_placeholders(fn: Callable[..., Any], spec: ToolSpec) -> None:
    """Every placeholder of the spec's scope templates names a parameter of ``fn``: one that
    does not would fail every call as ``invalid_call``, so it is refused at declaration."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return  # no signature to check against (some builtins); the engine checks each call
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return  # **kwargs: any name can arrive
    names = [n for n, p in params.items() if n not in _SKIPPED and p.kind is not p.VAR_POSITIONAL]
    for template in spec.scopes:
        for placeholder in _placeholder_names(template):
            if placeholder in names:
                continue
            shown = ", ".join(names) if names else "no parameters"
            fix = (
                f"rename the placeholder to one of them (e.g. `{{{names[0]}}}`) or add a `{placeholder}` parameter"
                if names
                else f"add a `{placeholder}` parameter"
            )
            raise ConfigError(
                f"tool `{spec.name}`: scope template `{template}` names `{placeholder}`, which is "
                f"not a parameter of `{getattr(fn, '__qualname__', spec.name)}({shown})`; every "
                f"call would be refused as `invalid_call`: {fix}",
                code="invalid_tool",
            )


def _langchain_tool(obj: object) -> Any:
    """``obj`` when it is a LangChain tool (only when LangChain is already imported)."""
    tools = sys.modules.get("langchain_core.tools")
    base = getattr(tools, "BaseTool", None)
    return obj if isinstance(base, type) and isinstance(obj, base) else None


# --------------------------------------------------------------------------- calls


def _complete(warrant: Warrant, error: Optional[BaseException], span: Any = None, labels: Sequence[str] = ()) -> None:
    """Records the outcome with the result's ``labels`` (the engine adds the spec's
    ``result_labels``) and ends the call's span; the tool has run, so a ledger failure is
    logged, not raised."""
    message = None
    if error is not None:
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    try:
        if message is not None:
            warrant.complete(error=message, labels=list(labels))
        else:
            warrant.complete(labels=list(labels))
    except GuardError:
        _log.exception("agentwarrant: could not record the outcome of call %s", warrant.call_id)
    _otel.completed(span, message)


def _call_span(root: "Task", warrant: Warrant, span: Any) -> Any:
    """The span of a call about to run: the one its authorization started, or (for a call
    taken up after an approval) one that starts now."""
    if span is None:
        span = _otel.start(warrant.tool, root._core)
        _otel.decided(span, warrant)
    return span


def _run_call(
    root: "Task",
    warrant: Warrant,
    fn: Callable[..., R],
    args: Tuple[Any, ...],
    kwargs: Dict[str, Any],
    failed: Optional[Callable[[R], Optional[str]]] = None,
    span: Any = None,
) -> R:
    """Runs ``fn(*args, **kwargs)`` as the call ``warrant`` authorized (guarded calls it makes
    nest under it, and so do the spans it makes under the call's ``span``) and records the
    outcome; a tool exception is recorded and re-raised. ``failed`` tells a result that
    reports an error, recorded as the call's error."""
    span = _call_span(root, warrant, span)
    token = _current_call.set((root, warrant))
    try:
        if span is None:
            result = fn(*args, **kwargs)
        else:
            with _otel.current(span):
                result = fn(*args, **kwargs)
    except BaseException as exc:
        _current_call.reset(token)
        _complete(warrant, exc, span)
        raise
    _current_call.reset(token)
    error = None if failed is None else failed(result)
    _complete(warrant, None if error is None else RuntimeError(error), span)
    return result


async def _arun_call(
    root: "Task",
    warrant: Warrant,
    fn: Callable[[], Awaitable[R]],
    failed: Optional[Callable[[R], Optional[str]]] = None,
    span: Any = None,
    labels: Optional[Callable[[R], Sequence[str]]] = None,
) -> R:
    """:func:`_run_call` for a coroutine function; ``failed`` tells a result that reports an
    error (e.g. an MCP error result), recorded as the call's error; ``labels`` the labels a
    result carries back (e.g. from a tool server that continued the chain)."""
    span = _call_span(root, warrant, span)
    token = _current_call.set((root, warrant))
    try:
        if span is None:
            result = await fn()
        else:
            with _otel.current(span):
                result = await fn()
    except BaseException as exc:
        _current_call.reset(token)
        _complete(warrant, exc, span)
        raise
    _current_call.reset(token)
    error = None if failed is None else failed(result)
    returned = () if labels is None else labels(result)
    _complete(warrant, None if error is None else RuntimeError(error), span, returned)
    return result


class _FromCore(Generic[T]):
    """A read-only attribute that is the native core's attribute of the same name."""

    def __init__(self, doc: Optional[str] = None) -> None:
        self.__doc__ = doc
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: Optional[type] = None) -> "_FromCore[T]": ...
    @overload
    def __get__(self, obj: object, owner: Optional[type] = None) -> T: ...
    def __get__(self, obj: Optional[object], owner: Optional[type] = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, "_core"), self._name)

    def __set__(self, obj: object, value: T) -> NoReturn:
        raise AttributeError(f"`{self._name}` is read-only")


# --------------------------------------------------------------------------- tasks


class Task:
    """One unit of agent work: an identity, an intent, a grant and the chain of calls so far.

    Use it as a context manager (``with`` or ``async with``): inside, guarded functions find
    it through ``contextvars``; on exit the task ends and its grant is revoked.
    """

    __slots__ = ("_guard", "_core", "_root", "_tokens", "__weakref__")

    id = _FromCore[str]()
    identity = _FromCore[Identity]()
    intent = _FromCore[Intent]()
    grant_scopes = _FromCore[List[str]]("The scopes of the task's grant: the intent's patterns inside the ceiling.")
    ended = _FromCore[bool]()

    def __init__(self, guard: "Guard", core: TaskCore, parent: Optional["Task"] = None) -> None:
        self._guard = guard
        self._core = core
        self._root: Task = parent._root if parent is not None else self
        self._tokens: List[contextvars.Token[Optional[Task]]] = []

    @property
    def guard(self) -> "Guard":
        return self._guard

    def _parent(self) -> Optional[Warrant]:
        current = _current_call.get()
        if current is not None and current[0] is self._root:
            return current[1]
        return None

    def authorize(self, tool: str, args: Optional[Mapping[str, Any]] = None) -> Warrant:
        """Authorizes one call (nested under the running guarded call, if any) and returns its
        warrant; complete it with ``warrant.complete(...)``. Raises :class:`Refused`."""
        warrant, span = _authorized(self._core, tool, {} if args is None else args, self._parent())
        _otel.end(span)
        return warrant

    def explain(self, tool: str, args: Optional[Mapping[str, Any]] = None) -> Explanation:
        """What the guard would decide for this call, without deciding it: no call counted, no
        budget spent, no approver asked, nothing recorded. Use it to debug a policy, to show a
        user what a tool would need, or to test a Rego rule against the exact input document."""
        found = self._core.explain(tool, {} if args is None else args, self._parent())
        return Explanation(
            tool=found["tool"],
            effect=found["effect"],
            reasons=tuple(found["reasons"]),
            also=tuple(found["also"]),
            refused=found["refused"],
            scopes=dict(found["scopes"]),
            input=found["input"],
            text=found["text"],
        )

    async def authorize_async(self, tool: str, args: Optional[Mapping[str, Any]] = None) -> Warrant:
        """:meth:`authorize` for async code, which never blocks the event loop: the call is
        decided inline, and only a call that needs approval waits, for the approver (a
        coroutine approver on this loop, a plain one in a worker thread), at most
        ``approval_timeout`` seconds. Cancelling the waiting task refuses the call at once and
        records it."""
        warrant, span = await self._authorized_async(tool, args)
        _otel.end(span)
        return warrant

    async def _authorized_async(self, tool: str, args: Optional[Mapping[str, Any]]) -> Tuple[Warrant, Any]:
        """:meth:`authorize_async` with the call's OpenTelemetry span (see :func:`_authorized`)."""
        args = {} if args is None else args
        if not self._guard._has_approver:
            return _authorized(self._core, tool, args, self._parent())
        span = _otel.start(tool, self._core)
        try:
            outcome = self._core.submit(tool, args, self._parent())
            if isinstance(outcome, Ticket):
                try:
                    answer = await self._guard._ask(outcome.request)
                except BaseException as stopped:  # cancelled, or Ctrl-C: refuse, record, re-raise
                    try:
                        self._core.resume_with(
                            outcome, ("error", f"the wait for an answer was interrupted ({type(stopped).__name__})")
                        )
                    except Refused as refusal:
                        _otel.refused(span, refusal)
                    else:
                        _otel.end(span)
                    raise
                outcome = self._core.resume_with(outcome, answer)
        except Refused as refusal:
            _otel.refused(span, refusal)
            raise
        assert isinstance(outcome, Warrant)
        _otel.decided(span, outcome)
        return outcome, span

    def submit(self, tool: str, args: Optional[Mapping[str, Any]] = None) -> Union[Warrant, Ticket]:
        """Authorizes one call like :meth:`authorize`, except that a call needing approval does
        not wait for the guard's approver: it returns a :class:`Ticket` (recorded as
        ``approval.requested``, listed in :attr:`Guard.approvals`) and the agent's turn can
        end. Once someone answered, :meth:`resume` takes the call up. Submitting the same call
        again while its ticket waits returns the same ticket. Never blocks; raises
        :class:`Refused` for a refused call."""
        return self._core.submit(tool, {} if args is None else args, self._parent())

    def resume(
        self,
        ticket: Union[Ticket, str],
        tool: Optional[str] = None,
        args: Optional[Mapping[str, Any]] = None,
    ) -> Union[Warrant, Ticket]:
        """Takes up a call paused by :meth:`submit`. Returns its :class:`Warrant` once a valid
        answer is in (checked like any approval: a human, four eyes, this exact call, in
        time, once), the same :class:`Ticket` while no one has answered, and raises
        :class:`Refused` otherwise (refused, expired, a ticket of another task or already
        used). Pass the :class:`Ticket`, or its id with the call made again (``tool`` and
        ``args``): a call that differs from the one asked about is refused."""
        return self._core.resume(ticket, tool, args, self._parent())

    def wait_for(
        self,
        ticket: Union[Ticket, str],
        timeout: float,
        tool: Optional[str] = None,
        args: Optional[Mapping[str, Any]] = None,
    ) -> Union[Warrant, Ticket]:
        """:meth:`resume`, after waiting up to ``timeout`` seconds (never past the request's
        expiry) for someone to answer, from this process or, with a shared approval store,
        another. Returns the :class:`Warrant` once a valid answer is in, the same
        :class:`Ticket` if nobody answered in time; raises :class:`Refused` otherwise (a store
        that cannot be read refuses with ``store_unavailable``). Blocks the calling thread
        (other Python threads run meanwhile)."""
        return self._core.wait_for(ticket, timeout, tool, args, self._parent())

    @property
    def pending(self) -> List[Ticket]:
        """This task's calls waiting for an answer, oldest first."""
        return self._core.pending()

    def run(self, tool: str, args: Mapping[str, Any], fn: Callable[[], R]) -> R:
        """Authorizes the call, runs ``fn`` as that call (nested calls chain under it), and
        records the outcome. A tool exception is recorded and re-raised unchanged."""
        warrant, span = _authorized(self._core, tool, args, self._parent())
        return _run_call(self._root, warrant, fn, (), {}, span=span)

    async def arun(self, tool: str, args: Mapping[str, Any], fn: Callable[[], Awaitable[R]]) -> R:
        """:meth:`run` for a coroutine function."""
        warrant, span = await self._authorized_async(tool, args)
        return await _arun_call(self._root, warrant, fn, span=span)

    def delegate(self, identity: Identity, intent: Union[Intent, str, None] = None) -> "Task":
        """A sub-task under ``identity``: this task's grant narrowed by its ceiling and by
        ``intent``. Use it as a context manager; its calls nest under the running call."""
        if isinstance(intent, str):
            self._guard._refuse_bare_goal(intent, "task.delegate(identity, ")
        return Task(self._guard, self._core.delegate(identity, _intent(intent)), parent=self)

    def grant_token(self) -> str:
        """The task's grant as a JWT signed with EdDSA (Ed25519), for a downstream service to
        verify with :meth:`Guard.jwks` (any JWT library) or :func:`agentwarrant.verify_grant`.
        Claims: ``iss``, ``aud``, ``sub`` (the identity), ``owner``, ``role``, ``task``,
        ``scope`` (space-separated patterns), ``depth``, ``iat``, ``nbf``, ``exp``, ``jti`` (the
        grant's id). It dies with the task. Raises :class:`TaskError` once the task ended."""
        return self._core.grant_token()

    def chain_token(self, scopes: Optional[Sequence[str]] = None) -> str:
        """The task's chain as a signed token (``aw-chain+jwt``) for a sub-agent or tool server
        in another process, whose guard continues it with :meth:`Guard.resume_chain`: depth,
        the grant's scopes (or only ``scopes``, each within the grant), labels, calls,
        cumulative impact and the identities above carry over. Carry it like a trace header;
        it is spent by its first use and lives five minutes. Raises :class:`TaskError`
        (``chain_token_invalid`` for a scope the grant does not hold, ``task_ended``)."""
        return self._core.chain_token(None if scopes is None else list(scopes))

    @property
    def chain_labels(self) -> List[str]:
        """The labels the task's chain holds now (``secret``, ``untrusted``, ...), sorted: what
        a tool server continuing a chain sends back with its result."""
        return self._core.chain_labels

    @property
    def credential(self) -> Optional[Credential]:
        """The task's just-in-time credential from the guard's :class:`CredentialBroker`, what
        its tools connect with; ``None`` without a broker, and once the task ended."""
        return self._core.credential

    @property
    def grant_expires_at(self) -> datetime.datetime:
        """When the task's grant expires (UTC); later after :meth:`renew_grant`."""
        return datetime.datetime.fromtimestamp(self._core.grant_expires_at, tz=datetime.timezone.utc)

    def renew_grant(self, ttl: float) -> datetime.datetime:
        """Renews the task's grant for ``ttl`` seconds from now (at most the grant lifetime),
        before it runs out: a long-running agent's way to keep working. The renewal is a call
        of the engine's own tool ``renew_grant`` decided by the policy like any call (the
        default bundle asks the approver in production, and once renewals add up past
        ``max_impact_total``). Returns the new expiry (UTC); raises :class:`Refused` when
        refused, and for an expired, revoked or escalated grant."""
        return datetime.datetime.fromtimestamp(self._core.renew_grant(ttl), tz=datetime.timezone.utc)

    def declassify(self, label: str, reason: str) -> None:
        """Clears ``label`` from the task tree (every task sharing its chain), stating
        ``reason``: the one way a label goes, after the data that carried it was checked. A
        call of the engine's own tool ``declassify`` (high impact: the default bundle always
        asks the approver), decided by the policy and recorded. Raises :class:`Refused` when
        refused, without a reason, or for a label the tree does not hold."""
        self._core.declassify(label, reason)

    def escalate(self, identity: Identity, scopes: Sequence[str], ttl: float, reason: str) -> "Task":
        """Asks for an escalation: a separate grant under ``identity`` (role ``escalation``)
        holding ``scopes`` (inside its ceiling) for ``ttl`` seconds (at most the grant TTL),
        for the stated ``reason``. The guard's approver is asked; no owner of an identity in
        the delegation chain, nor the escalation identity's owner, may approve it. Returns the
        escalated task (a context manager; leaving it revokes the grant early); its calls are
        marked ``escalated`` in the ledger. Raises :class:`Refused` when refused."""
        return Task(self._guard, self._core.escalate(identity, list(scopes), ttl, reason), parent=self)

    def end(self) -> None:
        """Ends the task and revokes its grant (and delegated grants). Harmless twice."""
        self._core.end()

    def __enter__(self) -> "Task":
        self._tokens.append(_current_task.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tokens:
            _current_task.reset(self._tokens.pop())
        self.end()

    async def __aenter__(self) -> "Task":
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __repr__(self) -> str:
        return f"Task({self.id!r}, identity={self.identity.id!r})"


def _intent(intent: Union[Intent, str, None]) -> Optional[Intent]:
    if isinstance(intent, str):
        return Intent(intent)
    return intent


# --------------------------------------------------------------------------- guard


class Approvals:
    """The guard's deferred approval requests (from :meth:`Task.submit`): list them, answer
    them, from any thread. Every answer is checked by the engine when the run resumes."""

    __slots__ = ("_core",)

    def __init__(self, core: GuardCore) -> None:
        self._core = core

    def waiting(self) -> List[Ticket]:
        """The requests waiting for an answer, oldest first."""
        return self._core.waiting()

    def approve(self, ticket: Union[Ticket, str], *approvers: str, standing: Optional[Standing] = None) -> None:
        """Approves ``ticket`` as each of ``approvers`` (human principals), also granting a
        :class:`Standing` approval of later calls like it when given. Raises
        :class:`TaskError` with ``code`` ``unknown_ticket``, ``ticket_closed`` or
        ``already_answered`` (the first answer stands)."""
        if not approvers:
            raise TypeError("approve(ticket, *approvers) needs at least one approver")
        self._core.approve(_ticket_id(ticket), list(approvers), standing)

    def deny(self, ticket: Union[Ticket, str], by: Optional[str] = None, reason: Optional[str] = None) -> None:
        """Refuses ``ticket`` (as ``by`` when known, with an optional ``reason``)."""
        self._core.deny(_ticket_id(ticket), by, reason)

    def __repr__(self) -> str:
        return f"Approvals(waiting={len(self.waiting())})"


def _jwks_list(
    keys: Union[Mapping[str, Any], str, Sequence[Union[Mapping[str, Any], str]], None],
) -> List[Union[Dict[str, Any], str]]:
    """One JWKS (a dict or JSON text), a list of them, or none, as a list."""
    if keys is None:
        return []
    if isinstance(keys, (str, Mapping)):
        keys = [keys]
    return [k if isinstance(k, str) else dict(k) for k in keys]


def _ticket_id(ticket: Union[Ticket, str]) -> str:
    return ticket.id if isinstance(ticket, Ticket) else ticket


class CredentialBroker(Protocol):
    """Mints each task's just-in-time credential (a database login, a cloud key) when the task
    begins and revokes it when it ends (``Guard(credential_broker=...)``).

    ``mint(request)`` gets a dict (``task_id``, ``grant_id``, ``identity``, ``owner``,
    ``scopes``, ``expires_at`` in Unix seconds, ``escalated``) and returns a dict with ``id``
    and ``secret``, optionally ``expires_at`` (never past the grant's) and ``attributes``; a
    raise refuses the task (:class:`TaskError` ``credential_unavailable``). ``revoke(credential)``
    gets the :class:`Credential`; a raise is retried, recorded, reported by ``task.end()``
    (``credential_not_revoked``) and kept until ``guard.retry_revocations()``. An optional
    ``renew(credential, until)`` extends it after a grant renewal.
    """

    def mint(self, request: Dict[str, Any]) -> Mapping[str, Any]: ...

    def revoke(self, credential: Credential) -> None: ...


class Guard:
    """Wraps every tool call of an agent: built once, shared across threads.

    >>> guard = Guard()                                   # the default policy bundle
    >>> guard = Guard(policy_dir="policies/", approver=ask_on_call, ledger="audit.jsonl")

    - ``tools``: :class:`ToolSpec` s; more can be declared with :meth:`tool` or :meth:`add_tool`.
    - ``approver``: a callable or coroutine function ``(ApprovalRequest) -> ApproverResult``;
      a raise, a timeout (``approval_timeout`` seconds) or an unusable answer refuses the call.
      ``approved_by`` is the human principal that a plain ``True`` stands for.
    - ``ledger``: a :class:`MemoryLedger` (default), a :class:`FileLedger` or a path.
    - ``default_tool``: the spec of tools that were not declared (otherwise ``unknown_tool``).
    - ``policy_data``: merged into the policy's ``data`` (top-level keys replace). For the
      default bundle, ``{"untrusted_input": "unnamed_targets"}`` lets ``untrusted_input`` ask
      only where a call can reach a target nobody named (docs/policy.md); a value it does not
      know raises :class:`ConfigError` (``policy_data``).
    - ``limits``: the default bundle's ``max_depth``, ``max_calls``, ``max_impact_total``, and
      the thresholds of the ``repeated_call`` and ``burst`` signals (``repeated_calls``,
      ``burst_calls``, ``burst_window_s``; docs/signals.md).
    - ``jwt_key``: the 32-byte Ed25519 seed that signs grant and call tokens (default: a random
      key of this guard's own), ``jwt_kid`` its key id; ``jwt_issuer`` and ``jwt_audience``
      the tokens' ``iss`` and ``aud`` (default ``agentwarrant``, ``agentwarrant-tools``).
    - ``record_policy_inputs``: whether each ``call.decided`` record keeps the policy input its
      decision was made on (args redacted), what ``agentwarrant replay`` evaluates under another
      policy; ``False`` makes records smaller and calls a little cheaper.
    - ``credential_broker``: a :class:`CredentialBroker` that mints each task's just-in-time
      credential (``task.credential``) and revokes it when the task ends.
    - ``trust_chain_keys``: another guard's :meth:`jwks` (a dict or its JSON text), or a list
      of them, whose chain tokens this guard continues (:meth:`resume_chain`) besides its own.
    - ``redact_secrets``: secrets found by their shape in what the ledger records (API tokens,
      private keys, passwords in URLs, card numbers, ...) become ``[REDACTED:kind]``; the
      default. ``False`` leaves every arg not declared sensitive as given.
    """

    def __init__(
        self,
        *,
        tools: Iterable[ToolSpec] = (),
        policy_dir: Union[str, "os.PathLike[str]", None] = None,
        approver: Optional[Approver] = None,
        approved_by: Optional[str] = None,
        approval_timeout: Optional[float] = 300.0,
        ledger: Union[MemoryLedger, FileLedger, str, "os.PathLike[str]", None] = None,
        env: str = "dev",
        limits: Optional[Mapping[str, int]] = None,
        default_tool: Optional[ToolSpec] = None,
        grant_ttl: Optional[float] = None,
        approval_ttl: Optional[float] = None,
        clock: Optional[ManualClock] = None,
        jwt_key: Optional[bytes] = None,
        jwt_kid: Optional[str] = None,
        jwt_issuer: Optional[str] = None,
        jwt_audience: Optional[str] = None,
        record_policy_inputs: bool = True,
        redact_secrets: bool = True,
        credential_broker: Optional[CredentialBroker] = None,
        trust_chain_keys: Union[Mapping[str, Any], str, Sequence[Union[Mapping[str, Any], str]], None] = None,
        policy_data: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if approver is not None and not callable(approver):
            raise TypeError(f"`approver` must be callable, got {type(approver).__name__}")
        if policy_data is not None and not isinstance(policy_data, Mapping):
            raise ConfigError(
                f"`policy_data` must be a mapping merged into the policy's data, got {type(policy_data).__name__}",
                code="policy_data",
            )
        native_approver = None if approver is None else _adapt_approver(approver, approved_by, approval_timeout)
        self._core = GuardCore(
            policy_dir=None if policy_dir is None else os.fspath(policy_dir),
            tools=list(tools),
            default_tool=default_tool,
            approver=native_approver,
            ledger=ledger,
            env=env,
            policy_limits=None if limits is None else dict(limits),
            grant_ttl_s=grant_ttl,
            approval_ttl_s=approval_ttl,
            clock=clock,
            jwt_key=jwt_key,
            jwt_kid=jwt_kid,
            jwt_issuer=jwt_issuer,
            jwt_audience=jwt_audience,
            record_policy_inputs=record_policy_inputs,
            redact_secrets=redact_secrets,
            credential_broker=credential_broker,
            trust_chain_keys=_jwks_list(trust_chain_keys),
            policy_data=None if policy_data is None else dict(policy_data),
        )
        self._default_task: Optional[Task] = None
        self._has_approver = approver is not None
        self._approver = approver
        self._approved_by = approved_by
        self._approval_timeout = approval_timeout

    async def _ask(self, request: ApprovalRequest) -> Tuple[Any, ...]:
        """The approver's answer to ``request`` in the native protocol, awaited without
        blocking the loop: a coroutine approver runs on it, a plain one in a worker thread;
        past ``approval_timeout`` it is a timeout; a raise is an error (fail closed)."""
        approver = self._approver
        assert approver is not None
        loop = asyncio.get_running_loop()
        try:
            if inspect.iscoroutinefunction(approver) or inspect.iscoroutinefunction(getattr(approver, "__call__", None)):
                pending: Awaitable[object] = approver(request)  # type: ignore[assignment]
            else:
                context = contextvars.copy_context()
                context.run(_approval_loop.set, loop)
                pending = loop.run_in_executor(None, context.run, _answer_of, approver, request)
            result = await asyncio.wait_for(pending, self._approval_timeout)
        except asyncio.TimeoutError:
            return ("timeout", f"no answer within {self._approval_timeout} s")
        except Exception as exc:  # noqa: BLE001 -- fail closed on an approver's error
            return ("error", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return _interpret(result, request, self._approved_by)

    @classmethod
    def default(cls, **options: Any) -> "Guard":
        """A guard on the embedded default policy bundle (see :class:`Guard` for options)."""
        return cls(**options)

    @classmethod
    def from_policy_dir(cls, path: Union[str, "os.PathLike[str]"], **options: Any) -> "Guard":
        """A guard on the ``.rego`` files (and ``data.json``) of ``path``."""
        return cls(policy_dir=path, **options)

    # -- configuration

    ledger = _FromCore[Union[MemoryLedger, FileLedger]]()
    env = _FromCore[str]()
    policy_digest = _FromCore[str]()
    policy_evaluator = _FromCore[str](
        '``"rvm"`` (the fast evaluator) or ``"interpreter"``: a custom module runs on the RVM only '
        "when nothing in it can raise (docs/policy.md, \"Custom rules on the RVM\")."
    )
    interpreter_reason = _FromCore[Optional[str]](
        "Why the policy runs on the interpreter: the first construct that can raise, with its "
        "module and line; ``None`` on the RVM."
    )
    tools = _FromCore[List[ToolSpec]]()
    default_tool = _FromCore[Optional[ToolSpec]]()

    @property
    def approvals(self) -> Approvals:
        """The deferred approval requests of this guard's tasks (see :meth:`Task.submit`)."""
        return Approvals(self._core)

    def spec(self, name: str) -> Optional[ToolSpec]:
        """The spec of a declared tool."""
        return self._core.tool(name)

    def add_tool(self, spec: ToolSpec) -> None:
        """Declares a tool; tasks already running can call it at once. Declaring the same spec
        again is harmless; another spec under a declared name is a :class:`ConfigError`."""
        self._core.add_tool(spec)

    # -- tokens (JWT)

    def jwks(self) -> Dict[str, Any]:
        """The public keys of the guard's grant and call tokens, as a JWKS dict (RFC 7517):
        serve it as JSON for verifiers elsewhere."""
        return self._core.jwks()

    def verify_grant(self, token: str, required_scope: str) -> Dict[str, Any]:
        """Verifies a grant token with this guard's keys, issuer, audience and revocation store
        (a token dies with its task) and that it covers ``required_scope``; returns its claims.
        Raises :class:`JwtError`."""
        return self._core.verify_grant(token, required_scope)

    def verify_call(self, token: str, tool: str, args: Mapping[str, Any]) -> Dict[str, Any]:
        """Verifies a call token (``warrant.jwt()``) and that it was issued for ``tool`` with
        exactly ``args``; returns its claims. Raises :class:`JwtError`."""
        return self._core.verify_call(token, tool, args)

    def rotate_jwt_key(self, key: bytes, kid: Optional[str] = None) -> None:
        """Signs new tokens with the key of the 32-byte seed ``key``; the old key stays in the
        JWKS (its tokens still verify) until :meth:`retire_jwt_key`."""
        self._core.rotate_jwt_key(key, kid)

    def retire_jwt_key(self, kid: str) -> bool:
        """Removes a rotated-out key from the JWKS: its tokens stop verifying. Returns whether a
        key was removed (the active key never is)."""
        return self._core.retire_jwt_key(kid)

    @property
    def unrevoked_credentials(self) -> List[str]:
        """The ids of ended tasks' credentials the broker failed to revoke (see
        :meth:`retry_revocations`)."""
        return self._core.unrevoked_credentials

    def retry_revocations(self) -> List[str]:
        """Tries again to revoke every credential the broker failed to revoke when its task
        ended; returns the ids still unrevoked (empty once all are)."""
        return self._core.retry_revocations()

    def disable_identity(self, identity: Union[Identity, str]) -> None:
        """The kill switch: every later call of this identity, and of tasks delegated from its
        tasks, is refused, including in tasks already running."""
        self._core.disable_identity(identity.id if isinstance(identity, Identity) else identity)

    def enable_identity(self, identity: Union[Identity, str]) -> None:
        """Switches a disabled identity back on."""
        self._core.enable_identity(identity.id if isinstance(identity, Identity) else identity)

    # -- tasks

    def task(
        self,
        identity: Identity,
        intent: Union[Intent, str],
        *,
        limits: Optional[Mapping[str, int]] = None,
        grant_ttl: Optional[float] = None,
    ) -> Task:
        """Begins a task (records ``task.begun`` and issues its grant). Use it as a context
        manager: ``with guard.task(identity, intent) as task: ...``.

        A long-running agent's task may have limits of its own over the guard's, shared by its
        sub-tasks: ``limits={"max_calls": 5000, "max_impact_total": 40}`` and ``grant_ttl``
        (seconds, at most a year). An unknown limit name or a bad value is a
        :class:`ConfigError` (``invalid_limits``)."""
        if not isinstance(identity, Identity):
            raise TypeError(f"`identity` must be an agentwarrant.Identity, got {type(identity).__name__}")
        if isinstance(intent, str):
            self._refuse_bare_goal(intent, "guard.task(identity, ")
        resolved = _intent(intent)
        if not isinstance(resolved, Intent):
            raise TypeError(f"`intent` must be an agentwarrant.Intent or a goal str, got {type(intent).__name__}")
        own = dict(limits or {})
        unknown = sorted(set(own) - {"max_calls", "max_impact_total"})
        if unknown or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in own.values()):
            raise ConfigError(
                f"task limits are `max_calls` and `max_impact_total`, each a count; got {dict(own)!r}",
                code="invalid_limits",
            )
        core = self._core.begin(
            identity,
            resolved,
            max_calls=own.get("max_calls"),
            max_impact_total=own.get("max_impact_total"),
            grant_ttl_s=grant_ttl,
        )
        return Task(self, core)

    def resume_chain(self, token: str, identity: Identity, intent: Union[Intent, None] = None) -> Task:
        """Continues, as a task of ``identity``, a chain handed on by another process's
        :meth:`Task.chain_token` (or a warrant's ``chain_token()``). Its calls sit below the
        handing call's depth, its grant lies within the scopes handed on (``intent`` defaults
        to the handed goal and scopes; one asking for more is refused), the chain's labels,
        calls and cumulative impact carry over, and the identities above still answer for it.
        Use it as a context manager. Raises :class:`TaskError` (``chain_token_invalid``) for a
        forged, altered, expired, replayed or untrusted token; trust another guard's keys with
        ``Guard(trust_chain_keys=its_jwks)``."""
        if not isinstance(identity, Identity):
            raise TypeError(f"`identity` must be an agentwarrant.Identity, got {type(identity).__name__}")
        if intent is not None and not isinstance(intent, Intent):
            raise TypeError(f"`intent` must be an agentwarrant.Intent or None, got {type(intent).__name__}")
        return Task(self, self._core.resume_chain(token, identity, intent))

    def _refuse_bare_goal(self, goal: str, call: str) -> None:
        """A bare goal string is an intent without scopes: with scoped tools declared, every
        scoped call would drift (and need approval), which is never what was meant."""
        scoped = [spec.name for spec in self.tools if spec.scopes]
        default = self.default_tool
        if default is not None and default.scopes:
            scoped.append("(the default tool)")
        if not scoped:
            return
        listed = ", ".join(f"`{name}`" for name in scoped[:3]) + (", ..." if len(scoped) > 3 else "")
        raise ConfigError(
            f"intent {goal!r} is a bare goal string, so it declares no scopes, but this guard has "
            f"scoped tools ({listed}): every scoped call would drift outside the intent; pass the "
            f"scopes the task needs: `{call}aw.Intent({goal!r}, scopes=[\"logs.read:*\", ...]))`",
            code="invalid_intent",
        )

    def use_default_task(self, identity: Identity, intent: Union[Intent, str]) -> Task:
        """Begins a task that guarded functions use when they are called outside any task
        (instead of raising :class:`NoActiveTask`). Returns it; ``end()`` it when done."""
        task = self.task(identity, intent)
        previous, self._default_task = self._default_task, task
        if previous is not None:
            previous.end()
        return task

    def current_task(self) -> Task:
        """The task a guarded call made now would run in; raises :class:`NoActiveTask`."""
        return self._task_for("this call")

    def _task_for(self, tool: str) -> Task:
        task = _current_task.get()
        if task is not None and task._guard is self:
            return task
        if self._default_task is not None:
            return self._default_task
        where = "outside any task" if task is None else "inside a task of another guard"
        raise NoActiveTask(
            f"`{tool}` was called {where}: run the agent inside "
            "`with guard.task(identity, intent):` or set `guard.use_default_task(...)`"
        )

    # -- guarded functions

    def tool(
        self,
        name: Optional[str] = None,
        *,
        impact: Optional[Impact] = None,
        reversible: bool = True,
        external: bool = False,
        sink: bool = False,
        reads: Sequence[str] = (),
        tags: Sequence[str] = (),
        roles: Optional[Sequence[Role]] = None,
        scopes: Sequence[str] = (),
        destination_arg: Optional[str] = None,
        sensitive_args: Sequence[str] = (),
        result_labels: Sequence[str] = (),
        spec: Optional[ToolSpec] = None,
    ) -> Callable[[F], F]:
        """Declares a tool and guards the decorated function (sync or async).

        Each call is authorized in the current task, nested under the running guarded call,
        before the function runs; its outcome (ok, or the exception, re-raised unchanged) is
        recorded after. A refusal raises :class:`Denied` / :class:`ApprovalDenied`.
        """
        if spec is None and impact is None:
            raise TypeError("guard.tool() needs `impact=` (or a ready `spec=`)")

        def decorate(fn: F) -> F:
            framework_tool = _langchain_tool(fn)
            tool_spec = spec
            if tool_spec is None:
                tool_spec = ToolSpec(
                    name or (framework_tool.name if framework_tool is not None else fn.__name__),
                    impact=cast(Impact, impact),
                    reversible=reversible,
                    external=external,
                    sink=sink,
                    reads=list(reads),
                    tags=list(tags),
                    roles=None if roles is None else list(roles),
                    scopes=list(scopes),
                    destination_arg=destination_arg,
                    sensitive_args=list(sensitive_args),
                    result_labels=list(result_labels),
                )
            elif name is not None and name != tool_spec.name:
                tool_spec = tool_spec.with_name(name)
            if framework_tool is not None:
                # `@guard.tool` on top of LangChain's `@tool`: a LangChain tool comes back, whose
                # refusals reach the model as tool errors.
                from agentwarrant.integrations.langchain import GuardedTool

                if framework_tool.name != tool_spec.name:
                    raise ConfigError(
                        f"tool `{framework_tool.name}` is declared as `{tool_spec.name}`: a "
                        "LangChain tool is guarded under its own name",
                        code="invalid_tool",
                    )
                self.add_tool(tool_spec)
                return cast(F, GuardedTool(framework_tool, self))
            _check_placeholders(fn, tool_spec)
            self.add_tool(tool_spec)
            return cast(F, self.guarded(fn, tool_spec))

        return decorate

    def guarded(self, fn: Callable[..., Any], spec: ToolSpec) -> Callable[..., Any]:
        """Guards ``fn`` as the (already declared) tool ``spec``; see :meth:`tool`.

        Everything a call does not change is prepared here, once: the tool's name and how
        arguments map to the args the policy sees. (The engine adds the spec's result labels
        when the call completes.)
        """
        tool_name = spec.name
        bind = _binder(fn, tool_name)
        guard = self

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                task = guard._task_for(tool_name)
                warrant, span = await task._authorized_async(tool_name, bind(args, kwargs))
                return await _arun_call(task._root, warrant, functools.partial(fn, *args, **kwargs), span=span)

            setattr(guarded_async, "__agentwarrant_spec__", spec)
            return guarded_async

        @functools.wraps(fn)
        def guarded_sync(*args: Any, **kwargs: Any) -> Any:
            task = _current_task.get()
            if task is None or task._guard is not guard:
                task = guard._task_for(tool_name)
            root = task._root
            current = _current_call.get()
            parent = current[1] if current is not None and current[0] is root else None
            warrant, span = _authorized(task._core, tool_name, bind(args, kwargs), parent)
            return _run_call(root, warrant, fn, args, kwargs, span=span)

        setattr(guarded_sync, "__agentwarrant_spec__", spec)
        return guarded_sync

    def __repr__(self) -> str:
        return f"Guard(env={self.env!r}, tools={len(self.tools)}, policy={self.policy_digest[:12]})"


