//! Deferred approvals on the task's side: a call submitted with [`Task::submit`] that needs
//! approval pauses with a [`Ticket`] instead of blocking; once a human answered (through the
//! guard's [`ApprovalStore`](crate::ApprovalStore)), [`Task::resume`] takes the same call up
//! again, claims the ticket in the store (once, whoever else tries), checks the answer,
//! re-checks everything that may have changed meanwhile, and issues the warrant.
//! [`Task::wait_for`] waits for the answer first, woken by the store.
//!
//! [`Task::submit`]: crate::Task::submit
//! [`Task::resume`]: crate::Task::resume
//! [`Task::wait_for`]: crate::Task::wait_for

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::pipeline::{self, Asking, Call, Passed, Paused, Stop};
use super::record::{status, CallFields};
use super::warrant::{Refusal, RefusalKind, Warrant};
use super::TaskInner;
use crate::approval::{ApprovalAnswer, ApproverError, AsyncApprover};
use crate::approval_store::{ApprovalStoreError, ApprovalStoreErrorKind, Ticket, TicketState};
use crate::ids::{CallId, TicketId};
use crate::ledger::RecordKind;
use crate::reason::{Reason, ReasonCode};
use crate::tool::ToolCall;

/// What a submitted call comes to: its warrant now, or a ticket to resume with once a human
/// has answered.
#[derive(Debug)]
#[must_use = "a granted call must run and complete its warrant; a pending one must be resumed"]
pub enum Authorization {
    /// Authorized: run the tool and complete the warrant.
    Granted(Warrant),
    /// Waiting for a human: show [`Ticket::request`] to someone who may approve it, end the
    /// agent's turn, and call [`Task::resume`](crate::Task::resume) with the ticket and the
    /// same call once the answer is in.
    Pending(Ticket),
}

/// A call waiting for an async approver: if the waiting future is dropped (cancelled), the call
/// is refused and recorded at once instead of waiting for the task's end.
struct Waiting<'a> {
    task: &'a Arc<TaskInner>,
    ticket: Option<&'a Ticket>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let cancelled = Err(ApproverError::new("the wait for an answer was cancelled"));
            let _refused = self
                .task
                .resume(ticket.id, ticket.call.clone(), Some(cancelled));
        }
    }
}

impl Paused {
    /// The ticket `id` of this paused call.
    fn ticket(&self, id: TicketId) -> Ticket {
        Ticket {
            id,
            request: self.request.clone(),
            call: self.call.clone(),
        }
    }
}

impl TaskInner {
    /// See [`Task::submit`](crate::Task::submit).
    pub(super) fn submit(self: &Arc<Self>, call: ToolCall) -> Result<Authorization, Refusal> {
        // The same call submitted again while its request is open (a framework re-running the
        // paused step) gets the same ticket and is not counted again.
        if let Some(ticket) = self.paused_for(&call) {
            return Ok(Authorization::Pending(ticket));
        }
        let paused = match pipeline::pass(self, call, Asking::Later)? {
            Passed::Warrant(warrant) => return Ok(Authorization::Granted(warrant)),
            Passed::Paused(paused) => paused,
        };
        let ticket = paused.ticket(TicketId::new());
        if let Err(error) = self.runtime.approvals.open(&ticket) {
            let reason = Reason::with_detail(
                ReasonCode::ApprovalUnavailable,
                format!("the approval request could not be filed: {error}"),
            );
            return Err(self.refuse_paused(*paused, RefusalKind::Denied, reason));
        }
        self.paused_calls().push((ticket.id, paused));
        if self.ended.load(std::sync::atomic::Ordering::SeqCst) {
            self.abandon_paused();
        }
        Ok(Authorization::Pending(ticket))
    }

    /// See [`Task::resume`](crate::Task::resume).
    pub(super) fn resume(
        self: &Arc<Self>,
        ticket: TicketId,
        call: ToolCall,
        given: Option<Result<ApprovalAnswer, ApproverError>>,
    ) -> Result<Authorization, Refusal> {
        let now = self.runtime.clock.now();
        let invalid = |call: ToolCall, why: String| {
            let stop = Stop::engine(
                RefusalKind::ApprovalDenied,
                Reason::with_detail(ReasonCode::ApprovalInvalid, why),
            );
            Err(self.finish(CallId::new(), &call, stop))
        };
        let mut paused_calls = self.paused_calls();
        let Some(index) = paused_calls.iter().position(|(id, _)| *id == ticket) else {
            drop(paused_calls);
            let why = match self.runtime.approvals.state(ticket) {
                Ok(TicketState::Open { task_id, .. } | TicketState::Closed { task_id })
                    if task_id != self.id =>
                {
                    format!("ticket {ticket} belongs to another task")
                }
                Ok(TicketState::Closed { .. }) => format!("ticket {ticket} was already used"),
                Ok(_) => format!("ticket {ticket} is not waiting in this task"),
                Err(error) => format!("ticket {ticket} cannot be looked up: {error}"),
            };
            return invalid(call, why);
        };
        let paused = &paused_calls[index].1;
        if paused.call != call {
            drop(paused_calls);
            return invalid(
                call,
                format!(
                    "the call differs from the one ticket {ticket} asked about (tool, args or parent changed)"
                ),
            );
        }
        let expired = now >= paused.request.expires_at;
        // INVARIANT: the ticket is claimed in the store (closed, atomically, returning its
        // answer) before its answer is used: of two workers resuming it, in this process or in
        // two, one gets past this point and the other is refused as a used ticket.
        let answer = match given {
            Some(answer) => match self.runtime.approvals.claim(ticket) {
                Err(error) if error.kind == ApprovalStoreErrorKind::Closed => {
                    let paused = paused_calls.remove(index).1;
                    drop(paused_calls);
                    return Err(self.refuse_taken(ticket, *paused));
                }
                Err(error) => {
                    // The answer came from the caller, not the store, and the ticket left this
                    // task's paused calls: it cannot be used again either way.
                    tracing::warn!(target: "agentwarrant::approval", %error, %ticket, "could not close a ticket");
                    answer
                }
                Ok(_) => answer,
            },
            None => {
                let unavailable = match self.runtime.approvals.state(ticket) {
                    Ok(TicketState::Open { answer: None, .. }) if !expired => {
                        return Ok(Authorization::Pending(paused.ticket(ticket)));
                    }
                    Ok(_) => None,
                    Err(error) => Some(error),
                };
                let claimed = match unavailable {
                    Some(error) => Err(error),
                    None => self.runtime.approvals.claim(ticket),
                };
                match claimed {
                    Ok(Some(answer)) => Ok(answer),
                    Ok(None) => Err(ApproverError::timeout(
                        "no answer before the request expired",
                    )),
                    Err(error) if error.kind == ApprovalStoreErrorKind::UnknownTicket => Err(
                        ApproverError::new("the approval store no longer holds the request"),
                    ),
                    Err(error) => {
                        let paused = paused_calls.remove(index).1;
                        drop(paused_calls);
                        return Err(if error.kind == ApprovalStoreErrorKind::Closed {
                            self.refuse_taken(ticket, *paused)
                        } else {
                            self.refuse_unreadable(ticket, *paused, &error)
                        });
                    }
                }
            }
        };
        let answer = match answer {
            Ok(_) if expired => Err(ApproverError::timeout(
                "the request expired before the run resumed",
            )),
            answer => answer,
        };
        let paused = paused_calls.remove(index).1;
        drop(paused_calls);
        let Paused {
            id,
            call,
            depth,
            examined,
            decision,
            version,
            request,
            span,
            asked,
        } = *paused;
        let _entered = span.enter();
        let mut call = Call {
            id,
            call,
            now,
            depth,
            task: self,
            span: span.clone(),
            asked,
        };
        match call.answered(examined, decision, version, &request, answer) {
            Ok(warrant) => Ok(Authorization::Granted(warrant)),
            Err(stop) => Err(self.finish(call.id, &call.call, stop)),
        }
    }

    /// See [`Task::wait_for`](crate::Task::wait_for).
    pub(super) fn wait_for(
        self: &Arc<Self>,
        ticket: TicketId,
        call: ToolCall,
        timeout: Duration,
    ) -> Result<Authorization, Refusal> {
        let expires_at = self
            .paused_calls()
            .iter()
            .find(|(id, paused)| *id == ticket && paused.call == call)
            .map(|(_, paused)| paused.request.expires_at);
        // A ticket this task does not hold (or a changed call) is refused by `resume` at once.
        if let Some(expires_at) = expires_at {
            let left =
                Duration::try_from(expires_at - self.runtime.clock.now()).unwrap_or(Duration::ZERO);
            if let Err(error) = self.runtime.approvals.wait(ticket, timeout.min(left)) {
                if error.kind == ApprovalStoreErrorKind::Unavailable {
                    let mut paused_calls = self.paused_calls();
                    if let Some(index) = paused_calls.iter().position(|(id, _)| *id == ticket) {
                        let paused = paused_calls.remove(index).1;
                        drop(paused_calls);
                        return Err(self.refuse_unreadable(ticket, *paused, &error));
                    }
                }
            }
        }
        self.resume(ticket, call, None)
    }

    /// See [`Task::authorize_async`](crate::Task::authorize_async).
    pub(super) async fn authorize_async(
        self: &Arc<Self>,
        call: ToolCall,
        approver: &(impl AsyncApprover + ?Sized),
    ) -> Result<Warrant, Refusal> {
        let ticket = match self.submit(call)? {
            Authorization::Granted(warrant) => return Ok(warrant),
            Authorization::Pending(ticket) => ticket,
        };
        let mut waiting = Waiting {
            task: self,
            ticket: Some(&ticket),
        };
        let answer = approver.decide(ticket.request()).await;
        waiting.ticket = None;
        drop(waiting);
        match self.resume(ticket.id, ticket.call, Some(answer))? {
            Authorization::Granted(warrant) => Ok(warrant),
            Authorization::Pending(_) => unreachable!("a given answer never leaves a call pending"),
        }
    }

    /// The tickets of this task still waiting, oldest first.
    pub(super) fn pending(&self) -> Vec<Ticket> {
        self.paused_calls()
            .iter()
            .map(|(id, paused)| paused.ticket(*id))
            .collect()
    }

    /// When the task ends, each paused call is refused (`grant_invalid`), recorded, and its
    /// ticket closed: nothing waits for an answer to a task that is over.
    pub(super) fn abandon_paused(&self) {
        let paused = std::mem::take(&mut *self.paused_calls());
        for (ticket, paused) in paused {
            if let Err(error) = self.runtime.approvals.close(ticket) {
                tracing::warn!(target: "agentwarrant::approval", %error, %ticket, "could not close a ticket");
            }
            let reason = Reason::with_detail(
                ReasonCode::GrantInvalid,
                "the task ended while the approval was pending",
            );
            let _entered = paused.span.enter();
            let mut reasons = paused.decision.reasons.clone();
            reasons.push(reason);
            let mut fields = CallFields {
                outcome: Some(status(RefusalKind::Denied.as_str())),
                detail: Some(json!({ "ticket": ticket.to_string() })),
                ..CallFields::of_call(paused.id, &paused.call, Some(&paused.examined))
            };
            self.add_decision(&mut fields, Some(&paused.decision), &reasons);
            if let Err(error) = self.record(RecordKind::CallDecided, fields) {
                tracing::error!(target: "agentwarrant::ledger", %error, "could not record an abandoned call");
            }
        }
    }

    fn paused_for(&self, call: &ToolCall) -> Option<Ticket> {
        self.paused_calls()
            .iter()
            .find(|(_, paused)| paused.call == *call)
            .map(|(id, paused)| paused.ticket(*id))
    }

    fn paused_calls(&self) -> std::sync::MutexGuard<'_, Vec<(TicketId, Box<Paused>)>> {
        self.paused.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a paused call whose ticket another worker took up first (`approval_invalid`).
    fn refuse_taken(&self, ticket: TicketId, paused: Paused) -> Refusal {
        let reason = Reason::with_detail(
            ReasonCode::ApprovalInvalid,
            format!("ticket {ticket} was already used: another worker took it up first"),
        );
        self.refuse_paused(paused, RefusalKind::ApprovalDenied, reason)
    }

    /// Refuses a paused call whose ticket the approval store could not read, while waiting or
    /// resuming (`store_unavailable`): fail closed, the answer is not guessed. The ticket is
    /// closed if the store allows it.
    fn refuse_unreadable(
        &self,
        ticket: TicketId,
        paused: Paused,
        error: &ApprovalStoreError,
    ) -> Refusal {
        if let Err(error) = self.runtime.approvals.close(ticket) {
            tracing::warn!(target: "agentwarrant::approval", %error, %ticket, "could not close a ticket");
        }
        let reason = Reason::with_detail(
            ReasonCode::StoreUnavailable,
            format!("the approval store could not be read for ticket {ticket}: {error}"),
        );
        self.refuse_paused(paused, RefusalKind::ApprovalDenied, reason)
    }

    /// Refuses a paused call that cannot wait (its request could not be filed).
    fn refuse_paused(&self, paused: Paused, kind: RefusalKind, reason: Reason) -> Refusal {
        let stop = Stop::after_policy(kind, paused.decision, Some(reason), paused.examined);
        self.finish(paused.id, &paused.call, stop)
    }
}
