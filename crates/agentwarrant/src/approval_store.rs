//! Deferred approvals: a request that waits for a human while the agent's run pauses, is
//! answered later from another thread, process or machine, and is taken up again with
//! [`Task::resume`](crate::Task::resume).
//!
//! The [`ApprovalStore`] holds the open requests and their answers, hands each ticket's answer
//! to exactly one worker ([`ApprovalStore::claim`]) and wakes a run waiting for it
//! ([`ApprovalStore::wait`], behind [`Task::wait_for`](crate::Task::wait_for));
//! [`ApprovalQueue`] is the in-process store every guard has by default. A store shared by
//! several processes (a database table) implements the same trait.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::approval::{Approval, ApprovalAnswer, ApprovalRequest, Standing};
use crate::ids::{TaskId, TicketId};
use crate::tool::ToolCall;

/// A pending approval: the request a human must answer and the ticket the run resumes with.
/// It serializes (to JSON, say) for a store shared by several processes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Ticket {
    pub(crate) id: TicketId,
    pub(crate) request: ApprovalRequest,
    pub(crate) call: ToolCall,
}

impl Ticket {
    /// The ticket's id: file the answer under it, resume the run with it.
    pub fn id(&self) -> TicketId {
        self.id
    }

    /// What the human is asked to approve.
    pub fn request(&self) -> &ApprovalRequest {
        &self.request
    }

    /// The call paused: resume with it (or with the same call as the agent makes it again).
    pub fn call(&self) -> &ToolCall {
        &self.call
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n  ticket: {}", self.request, self.id)
    }
}

/// Where a ticket stands in a store.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TicketState {
    /// The store has never seen it (or forgot it after it expired).
    Unknown,
    /// Waiting for its answer, or answered and waiting for the run to resume.
    Open {
        /// The task whose call it is.
        task_id: TaskId,
        /// The answer, once a human gave it.
        answer: Option<ApprovalAnswer>,
    },
    /// The run took it up (or it was abandoned); it cannot be used again.
    Closed {
        /// The task whose call it was.
        task_id: TaskId,
    },
}

impl TicketState {
    /// Whether the ticket is open and nobody has answered it yet.
    pub fn is_waiting(&self) -> bool {
        matches!(self, TicketState::Open { answer: None, .. })
    }
}

/// How often [`ApprovalStore::wait`]'s default re-reads the ticket.
const DEFAULT_WAIT_POLL: Duration = Duration::from_millis(100);

/// Why a store refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApprovalStoreError {
    /// What went wrong, for a person.
    pub message: String,
    /// What went wrong, for a program.
    pub kind: ApprovalStoreErrorKind,
}

/// How an [`ApprovalStore`] operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApprovalStoreErrorKind {
    /// No open request has this ticket.
    UnknownTicket,
    /// The request was already taken up or abandoned.
    Closed,
    /// The request already has its answer; the first answer stands.
    AlreadyAnswered,
    /// The store could not be reached or is broken.
    Unavailable,
}

impl ApprovalStoreError {
    /// An error of `kind` saying `message`, for stores of a user's own.
    pub fn new(kind: ApprovalStoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            kind,
        }
    }

    /// The stable code: `unknown_ticket`, `ticket_closed`, `already_answered` or
    /// `approval_store_unavailable`.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ApprovalStoreErrorKind::UnknownTicket => "unknown_ticket",
            ApprovalStoreErrorKind::Closed => "ticket_closed",
            ApprovalStoreErrorKind::AlreadyAnswered => "already_answered",
            ApprovalStoreErrorKind::Unavailable => "approval_store_unavailable",
        }
    }
}

/// Holds deferred approval requests and their answers.
///
/// The engine opens a ticket when a call submitted with [`Task::submit`](crate::Task::submit)
/// needs approval, reads its answer when the run resumes, and closes it when the call got its
/// warrant or was refused. People (or the UI in front of them) list the open tickets and
/// answer them. Every answer is checked by the engine when the run resumes, whatever the store
/// says: a store cannot approve a call.
pub trait ApprovalStore: Send + Sync {
    /// Files a new request.
    fn open(&self, ticket: &Ticket) -> Result<(), ApprovalStoreError>;

    /// Files the answer to an open request. The first answer stands: a second one is refused
    /// with [`ApprovalStoreErrorKind::AlreadyAnswered`].
    fn answer(&self, ticket: TicketId, answer: ApprovalAnswer) -> Result<(), ApprovalStoreError>;

    /// Where `ticket` stands.
    fn state(&self, ticket: TicketId) -> Result<TicketState, ApprovalStoreError>;

    /// Closes `ticket`: the run took it up, or it was abandoned. Closing twice is harmless.
    fn close(&self, ticket: TicketId) -> Result<(), ApprovalStoreError>;

    /// Takes `ticket` up: closes it and returns the answer it held (`None` when nobody
    /// answered), in one atomic step. Of any number of callers, in any number of processes,
    /// exactly one gets `Ok`; every other is refused with [`ApprovalStoreErrorKind::Closed`]
    /// (or [`ApprovalStoreErrorKind::UnknownTicket`]). The engine claims a ticket before it
    /// uses its answer, so an answer is used once however many workers resume the ticket.
    // INVARIANT: atomic in the store itself (a lock, a conditional update): a `state` followed
    // by a `close` would let two workers both read the answer before either closed it.
    fn claim(&self, ticket: TicketId) -> Result<Option<ApprovalAnswer>, ApprovalStoreError>;

    /// Waits until `ticket` is answered or closed, at most `timeout`, and returns where it
    /// stands then (still [`TicketState::Open`] without an answer when the time ran out).
    /// Fails with [`ApprovalStoreErrorKind::Unavailable`] when the store cannot be read while
    /// waiting. The default re-reads [`ApprovalStore::state`] every 100 ms; stores that can be
    /// woken (a condition variable, `LISTEN/NOTIFY`) override it.
    fn wait(&self, ticket: TicketId, timeout: Duration) -> Result<TicketState, ApprovalStoreError> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state(ticket)?;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !state.is_waiting() || remaining.is_zero() {
                return Ok(state);
            }
            std::thread::sleep(remaining.min(DEFAULT_WAIT_POLL));
        }
    }

    /// The tickets still waiting for an answer, oldest first.
    fn waiting(&self) -> Result<Vec<Ticket>, ApprovalStoreError>;

    /// Approves `ticket` as each of `approvers` (one approval each, bound to the request's
    /// digest and expiring with it).
    fn approve(&self, ticket: TicketId, approvers: &[&str]) -> Result<(), ApprovalStoreError> {
        self.approve_with(ticket, approvers, None)
    }

    /// Approves `ticket` as each of `approvers`, each also granting `standing` for later calls
    /// like this one (see [`Standing`]) when given.
    fn approve_with(
        &self,
        ticket: TicketId,
        approvers: &[&str],
        standing: Option<Standing>,
    ) -> Result<(), ApprovalStoreError> {
        let request = self
            .waiting()?
            .into_iter()
            .find(|t| t.id == ticket)
            .map(|t| t.request)
            .ok_or_else(|| self.not_waiting(ticket))?;
        let approvals = approvers
            .iter()
            .map(|who| {
                let approval = Approval::of(&request, *who);
                match &standing {
                    Some(standing) => approval.with_standing(standing.clone()),
                    None => approval,
                }
            })
            .collect();
        self.answer(ticket, ApprovalAnswer::Approved(approvals))
    }

    /// Refuses `ticket` as `by`, with an optional reason.
    fn deny(
        &self,
        ticket: TicketId,
        by: &str,
        reason: Option<&str>,
    ) -> Result<(), ApprovalStoreError> {
        self.answer(
            ticket,
            ApprovalAnswer::Denied {
                by: Some(by.to_owned()),
                reason: reason.map(str::to_owned),
            },
        )
    }

    #[doc(hidden)]
    /// Why `ticket` is not waiting for an answer.
    fn not_waiting(&self, ticket: TicketId) -> ApprovalStoreError {
        match self.state(ticket) {
            Ok(TicketState::Open { .. }) => ApprovalStoreError::new(
                ApprovalStoreErrorKind::AlreadyAnswered,
                format!("ticket {ticket} already has its answer"),
            ),
            Ok(TicketState::Closed { .. }) => closed(ticket),
            Ok(TicketState::Unknown) => unknown(ticket),
            Err(error) => error,
        }
    }
}

fn unknown(ticket: TicketId) -> ApprovalStoreError {
    ApprovalStoreError::new(
        ApprovalStoreErrorKind::UnknownTicket,
        format!("no open approval request has ticket {ticket}"),
    )
}

fn closed(ticket: TicketId) -> ApprovalStoreError {
    ApprovalStoreError::new(
        ApprovalStoreErrorKind::Closed,
        format!("ticket {ticket} was already taken up or abandoned"),
    )
}

/// The in-process [`ApprovalStore`]: every guard has one unless given another. Clones share
/// the same requests, so a handle can go to the thread (or web handler) that answers them.
///
/// ```
/// use agentwarrant::*;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let queue = ApprovalQueue::new();
/// let guard = Guard::builder()
///     .tool(ToolSpec::builder("deploy", Impact::High).build()?)
///     .approval_store(queue.clone())
///     .build()?;
/// let me = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com").build()?;
/// let task = guard.begin(me, Intent::builder("ship the fix").build()?)?;
/// let deploy = ToolCall::new("deploy", serde_json::json!({"service": "api"}));
///
/// // The call needs approval: the run pauses with a ticket instead of blocking.
/// let Authorization::Pending(ticket) = task.submit(deploy.clone())? else { unreachable!() };
///
/// // Later, elsewhere, a human answers.
/// queue.approve(ticket.id(), &["bob@acme.com"])?;
///
/// // The run resumes with the same call and gets its warrant.
/// let Authorization::Granted(warrant) = task.resume(ticket.id(), deploy)? else { unreachable!() };
/// assert_eq!(warrant.approvers(), ["bob@acme.com"]);
/// warrant.complete(Outcome::ok())?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ApprovalQueue {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    entries: Mutex<HashMap<TicketId, Entry>>,
    /// Notified whenever a ticket is answered or closed, for [`ApprovalStore::wait`].
    changed: Condvar,
}

#[derive(Debug)]
struct Entry {
    ticket: Ticket,
    answer: Option<ApprovalAnswer>,
    closed: bool,
    /// Order of filing, for `waiting`.
    seq: u64,
}

impl ApprovalQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<TicketId, Entry>>, ApprovalStoreError> {
        self.shared.entries.lock().map_err(|_| poisoned())
    }
}

fn poisoned() -> ApprovalStoreError {
    ApprovalStoreError::new(
        ApprovalStoreErrorKind::Unavailable,
        "the approval queue is poisoned",
    )
}

fn state_of(entries: &HashMap<TicketId, Entry>, ticket: TicketId) -> TicketState {
    match entries.get(&ticket) {
        None => TicketState::Unknown,
        Some(e) if e.closed => TicketState::Closed {
            task_id: e.ticket.request.task_id,
        },
        Some(e) => TicketState::Open {
            task_id: e.ticket.request.task_id,
            answer: e.answer.clone(),
        },
    }
}

impl ApprovalStore for ApprovalQueue {
    fn open(&self, ticket: &Ticket) -> Result<(), ApprovalStoreError> {
        let mut entries = self.entries()?;
        // Closed tickets are remembered, to tell a replay from a typo, until a newer request
        // outlives them; one forgotten is refused as unknown instead of as used.
        let horizon = ticket.request.expires_at;
        entries.retain(|_, e| !e.closed || e.ticket.request.expires_at >= horizon);
        let seq = entries.values().map(|e| e.seq + 1).max().unwrap_or(0);
        entries.insert(
            ticket.id,
            Entry {
                ticket: ticket.clone(),
                answer: None,
                closed: false,
                seq,
            },
        );
        Ok(())
    }

    fn answer(&self, ticket: TicketId, answer: ApprovalAnswer) -> Result<(), ApprovalStoreError> {
        let mut entries = self.entries()?;
        let entry = entries.get_mut(&ticket).ok_or_else(|| unknown(ticket))?;
        if entry.closed {
            return Err(closed(ticket));
        }
        if entry.answer.is_some() {
            return Err(ApprovalStoreError::new(
                ApprovalStoreErrorKind::AlreadyAnswered,
                format!("ticket {ticket} already has its answer; the first answer stands"),
            ));
        }
        entry.answer = Some(answer);
        drop(entries);
        self.shared.changed.notify_all();
        Ok(())
    }

    fn state(&self, ticket: TicketId) -> Result<TicketState, ApprovalStoreError> {
        Ok(state_of(&*self.entries()?, ticket))
    }

    fn close(&self, ticket: TicketId) -> Result<(), ApprovalStoreError> {
        if let Some(entry) = self.entries()?.get_mut(&ticket) {
            entry.closed = true;
        }
        self.shared.changed.notify_all();
        Ok(())
    }

    fn claim(&self, ticket: TicketId) -> Result<Option<ApprovalAnswer>, ApprovalStoreError> {
        let mut entries = self.entries()?;
        let entry = entries.get_mut(&ticket).ok_or_else(|| unknown(ticket))?;
        if entry.closed {
            return Err(closed(ticket));
        }
        entry.closed = true;
        let answer = entry.answer.clone();
        drop(entries);
        self.shared.changed.notify_all();
        Ok(answer)
    }

    fn wait(&self, ticket: TicketId, timeout: Duration) -> Result<TicketState, ApprovalStoreError> {
        let deadline = Instant::now() + timeout;
        let mut entries = self.entries()?;
        loop {
            let state = state_of(&entries, ticket);
            let remaining = deadline.saturating_duration_since(Instant::now());
            if !state.is_waiting() || remaining.is_zero() {
                return Ok(state);
            }
            entries = self
                .shared
                .changed
                .wait_timeout(entries, remaining)
                .map_err(|_| poisoned())?
                .0;
        }
    }

    fn waiting(&self) -> Result<Vec<Ticket>, ApprovalStoreError> {
        let entries = self.entries()?;
        let mut waiting: Vec<&Entry> = entries
            .values()
            .filter(|e| !e.closed && e.answer.is_none())
            .collect();
        waiting.sort_by_key(|e| e.seq);
        Ok(waiting.into_iter().map(|e| e.ticket.clone()).collect())
    }
}
