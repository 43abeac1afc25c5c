//! Deferred approvals: a call that needs approval pauses with a ticket, a human answers later
//! from anywhere, and the run resumes with the same call; every way of misusing a ticket is
//! refused and recorded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use agentwarrant::{
    ApprovalAnswer, ApprovalQueue, ApprovalStore, ApprovalStoreError, ApprovalStoreErrorKind,
    Authorization, Guard, ManualClock, MemoryLedger, ReasonCode, Refusal, RefusalKind, Task,
    Ticket, TicketId, TicketState, ToolCall, Warrant,
};
use serde_json::json;

use crate::fixtures::*;

fn secret() -> ToolCall {
    ToolCall::new("read_secret", json!({"path": "db/main"}))
}

fn email() -> ToolCall {
    ToolCall::new(
        "send_email",
        json!({"to": "ceo@partner.example", "body": "the Q3 numbers"}),
    )
}

struct Setup {
    guard: Guard,
    queue: ApprovalQueue,
    ledger: Arc<MemoryLedger>,
    clock: Arc<ManualClock>,
}

fn setup() -> Setup {
    let queue = ApprovalQueue::new();
    let ledger = Arc::new(MemoryLedger::new());
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-03-01 12:00 UTC),
    ));
    let guard = builder()
        .approval_store(queue.clone())
        .ledger(ledger.clone())
        .clock(clock.clone())
        .limits(patient())
        .build()
        .unwrap();
    Setup {
        guard,
        queue,
        ledger,
        clock,
    }
}

fn pending(result: Result<Authorization, Refusal>) -> Ticket {
    match result {
        Ok(Authorization::Pending(ticket)) => ticket,
        Ok(Authorization::Granted(warrant)) => panic!("granted without approval: {warrant:?}"),
        Err(refusal) => panic!("refused: {refusal}"),
    }
}

fn granted(result: Result<Authorization, Refusal>) -> Warrant {
    match result {
        Ok(Authorization::Granted(warrant)) => warrant,
        Ok(Authorization::Pending(ticket)) => panic!("still pending: {ticket}"),
        Err(refusal) => panic!("refused: {refusal}"),
    }
}

fn refused(result: Result<Authorization, Refusal>, code: ReasonCode) -> Refusal {
    match result {
        Err(refusal) => {
            assert!(refusal.has(&code), "{code} expected in {refusal:?}");
            refusal
        }
        Ok(outcome) => panic!("{code} expected, got {outcome:?}"),
    }
}

fn detail_of(refusal: &Refusal, code: ReasonCode) -> String {
    refusal
        .reasons
        .iter()
        .find(|r| r.code == code)
        .and_then(|r| r.detail.clone())
        .unwrap_or_default()
}

/// A task whose intent covers every fixture tool but email: a mail is drift and needs
/// approval.
fn begin(guard: &Guard) -> Task {
    let intent = agentwarrant::Intent::builder("keep the service healthy")
        .scopes(EVERYTHING.into_iter().filter(|s| !s.starts_with("email")))
        .build()
        .unwrap();
    guard.begin(ops(), intent).unwrap()
}

#[test]
fn a_paused_call_is_answered_from_another_thread_and_resumed_with_its_warrant() {
    let Setup {
        guard,
        queue,
        ledger,
        ..
    } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    assert_eq!(queue.waiting().unwrap().len(), 1);
    assert_eq!(task.pending().len(), 1);
    // Not answered yet: resuming keeps it pending.
    assert_eq!(
        pending(task.resume(ticket.id(), secret())).id(),
        ticket.id()
    );

    let answering = queue.clone();
    let id = ticket.id();
    std::thread::spawn(move || answering.approve(id, &[BOB]).unwrap())
        .join()
        .unwrap();
    assert!(queue.waiting().unwrap().is_empty());

    let warrant = granted(task.resume(ticket.id(), secret()));
    assert_eq!(warrant.approvers(), [BOB]);
    assert_eq!(warrant.call_id(), ticket.request().call_id);
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
    let call = records_of(&ledger, ticket.request().call_id);
    let kinds: Vec<&str> = call.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "approval.requested",
            "approval.answered",
            "call.decided",
            "call.completed"
        ]
    );
    assert_eq!(status(&call[2]), "approved");
    assert!(task.pending().is_empty());
    assert!(matches!(
        queue.state(ticket.id()).unwrap(),
        TicketState::Closed { .. }
    ));
}

#[test]
fn a_ticket_is_used_once() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    queue.approve(ticket.id(), &[BOB]).unwrap();
    granted(task.resume(ticket.id(), secret()))
        .complete(agentwarrant::Outcome::ok())
        .unwrap();
    let replay = refused(
        task.resume(ticket.id(), secret()),
        ReasonCode::ApprovalInvalid,
    );
    assert_eq!(replay.kind, RefusalKind::ApprovalDenied);
    assert!(detail_of(&replay, ReasonCode::ApprovalInvalid).contains("already used"));
    assert_eq!(
        queue.approve(ticket.id(), &[BOB]).unwrap_err().kind,
        ApprovalStoreErrorKind::Closed
    );
}

#[test]
fn the_same_call_submitted_again_while_waiting_gets_the_same_ticket_and_counts_once() {
    let Setup { guard, ledger, .. } = setup();
    let task = begin(&guard);
    let first = pending(task.submit(secret()));
    let again = pending(task.submit(secret()));
    assert_eq!(first.id(), again.id());
    let requested = ledger
        .records()
        .iter()
        .filter(|r| r.kind.as_str() == "approval.requested")
        .count();
    assert_eq!(requested, 1);
    // Another call is another request.
    let other = pending(task.submit(ToolCall::new("read_secret", json!({"path": "db/other"}))));
    assert_ne!(other.id(), first.id());
}

#[test]
fn a_ticket_resumed_with_changed_args_is_refused_and_stays_valid_for_the_real_call() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(email()));
    queue.approve(ticket.id(), &[BOB]).unwrap();
    let swapped = ToolCall::new(
        "send_email",
        json!({"to": "attacker@evil.example", "body": "the Q3 numbers"}),
    );
    let refusal = refused(
        task.resume(ticket.id(), swapped),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("differs"));
    let warrant = granted(task.resume(ticket.id(), email()));
    assert_eq!(warrant.tool(), "send_email");
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
}

#[test]
fn a_ticket_of_another_task_is_refused() {
    let Setup { guard, queue, .. } = setup();
    let mine = begin(&guard);
    let theirs = begin(&guard);
    let ticket = pending(mine.submit(secret()));
    queue.approve(ticket.id(), &[BOB]).unwrap();
    let refusal = refused(
        theirs.resume(ticket.id(), secret()),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("another task"));
    let unknown = refused(
        mine.resume(TicketId::new(), secret()),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&unknown, ReasonCode::ApprovalInvalid).contains("not waiting"));
    // The owner of the ticket still gets its call.
    granted(mine.resume(ticket.id(), secret()))
        .complete(agentwarrant::Outcome::ok())
        .unwrap();
}

#[test]
fn a_request_that_expires_before_the_answer_or_the_resume_is_refused_as_timed_out() {
    let Setup {
        guard,
        queue,
        clock,
        ..
    } = setup();
    let task = begin(&guard);
    // Never answered.
    let silent = pending(task.submit(secret()));
    // Answered in time, resumed too late.
    let late = pending(task.submit(email()));
    queue.approve(late.id(), &[BOB]).unwrap();
    clock.advance(time::Duration::minutes(16));
    for (ticket, call) in [(silent, secret()), (late, email())] {
        let refusal = refused(task.resume(ticket.id(), call), ReasonCode::ApprovalTimeout);
        assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    }
}

#[test]
fn a_refusal_stands_and_a_second_answer_is_not_taken() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    queue
        .deny(ticket.id(), BOB, Some("not during the freeze"))
        .unwrap();
    let second = queue.approve(ticket.id(), &[CAROL]).unwrap_err();
    assert_eq!(second.code(), "already_answered");
    let refusal = refused(
        task.resume(ticket.id(), secret()),
        ReasonCode::ApprovalDenied,
    );
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
}

#[test]
fn an_answer_filed_in_the_store_is_checked_like_any_approval() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    // Critical: four eyes, the agent's owner may not approve.
    let drop = ToolCall::new("drop_table", json!({"table": "users"}));
    let by_owner = pending(task.submit(drop.clone()));
    queue.approve(by_owner.id(), &[ALICE]).unwrap();
    let refusal = refused(
        task.resume(by_owner.id(), drop),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("four eyes"));
    // An agent cannot answer for a human.
    let by_agent = pending(task.submit(secret()));
    queue.approve(by_agent.id(), &["agent://acme/ops"]).unwrap();
    let refusal = refused(
        task.resume(by_agent.id(), secret()),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("not a human"));
}

#[test]
fn what_changes_while_the_human_decides_is_checked_again_on_resume() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    guard.disable_identity("agent://acme/ops");
    queue.approve(ticket.id(), &[BOB]).unwrap();
    let refusal = refused(task.resume(ticket.id(), secret()), ReasonCode::GrantInvalid);
    assert_eq!(refusal.kind, RefusalKind::Denied);
}

#[test]
fn ending_the_task_refuses_its_paused_calls_and_closes_their_tickets() {
    let Setup {
        guard,
        queue,
        ledger,
        ..
    } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    task.end().unwrap();
    assert!(queue.waiting().unwrap().is_empty());
    assert!(task.pending().is_empty());
    let call = records_of(&ledger, ticket.request().call_id);
    let last = call.last().unwrap();
    assert_eq!(last.kind.as_str(), "call.decided");
    assert_eq!(status(last), "denied");
    let kinds = kinds(&ledger);
    let decided = kinds.iter().rposition(|k| *k == "call.decided").unwrap();
    let ended = kinds.iter().position(|k| *k == "task.ended").unwrap();
    assert!(decided < ended, "{kinds:?}");
    assert_eq!(
        queue.approve(ticket.id(), &[BOB]).unwrap_err().kind,
        ApprovalStoreErrorKind::Closed
    );
    let refusal = refused(
        task.resume(ticket.id(), secret()),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("already used"));
}

#[test]
fn the_approver_reads_the_sensitive_args_the_ledger_keeps_redacted() {
    let Setup { guard, ledger, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(email()));
    let request = ticket.request();
    assert_eq!(request.args["body"], "the Q3 numbers");
    assert_eq!(request.sensitive_args, ["body"]);
    let shown = ticket.to_string();
    for part in [
        "send_email",
        "agent://acme/ops",
        ALICE,
        "keep the service healthy",
        "the Q3 numbers",
        "sensitive: body",
        request.reasons[0].code.as_str(),
        request.reasons[0].code.describe(),
        &ticket.id().to_string(),
    ] {
        assert!(shown.contains(part), "`{part}` missing from:\n{shown}");
    }
    let requested = records_of(&ledger, request.call_id);
    let args = requested[0].args.as_ref().unwrap();
    assert_ne!(args["body"], "the Q3 numbers");
    assert!(!serde_json::to_string(&ledger.records())
        .unwrap()
        .contains("the Q3 numbers"));
}

/// A store that cannot file anything.
struct Broken;

impl ApprovalStore for Broken {
    fn open(&self, _: &Ticket) -> Result<(), ApprovalStoreError> {
        Err(ApprovalStoreError {
            message: "database down".into(),
            kind: ApprovalStoreErrorKind::Unavailable,
        })
    }
    fn answer(&self, _: TicketId, _: ApprovalAnswer) -> Result<(), ApprovalStoreError> {
        unreachable!()
    }
    fn state(&self, _: TicketId) -> Result<TicketState, ApprovalStoreError> {
        Ok(TicketState::Unknown)
    }
    fn close(&self, _: TicketId) -> Result<(), ApprovalStoreError> {
        Ok(())
    }
    fn claim(&self, _: TicketId) -> Result<Option<ApprovalAnswer>, ApprovalStoreError> {
        unreachable!()
    }
    fn waiting(&self) -> Result<Vec<Ticket>, ApprovalStoreError> {
        Ok(Vec::new())
    }
}

#[test]
fn a_request_the_store_cannot_file_refuses_the_call() {
    let guard = builder().approval_store(Broken).build().unwrap();
    let task = begin(&guard);
    let refusal = refused(task.submit(secret()), ReasonCode::ApprovalUnavailable);
    assert_eq!(refusal.kind, RefusalKind::Denied);
    assert!(detail_of(&refusal, ReasonCode::ApprovalUnavailable).contains("database down"));
    // Calls that need no approval are not affected.
    let logs = ToolCall::new("read_logs", json!({"service": "api"}));
    match task.submit(logs) {
        Ok(Authorization::Granted(w)) => w.complete(agentwarrant::Outcome::ok()).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_caller_that_asked_someone_itself_resumes_with_that_answer() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    let answer = Ok(ApprovalAnswer::Approved(vec![agentwarrant::Approval::of(
        ticket.request(),
        BOB,
    )]));
    let warrant = granted(task.resume_with(ticket.id(), secret(), answer));
    assert_eq!(warrant.approvers(), [BOB]);
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
    assert!(matches!(
        queue.state(ticket.id()).unwrap(),
        TicketState::Closed { .. }
    ));
    // A wait that timed out, or was cancelled, refuses the call with that reason.
    let other = ToolCall::new("read_secret", json!({"path": "db/other"}));
    let ticket = pending(task.submit(other.clone()));
    let timed_out = Err(agentwarrant::ApproverError::timeout(
        "no answer within 300 s",
    ));
    let refusal = refused(
        task.resume_with(ticket.id(), other, timed_out),
        ReasonCode::ApprovalTimeout,
    );
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert!(queue.waiting().unwrap().is_empty());
}

/// An async approver that answers as bob once `ready` lets it.
fn async_bob(
    ready: Arc<tokio::sync::Barrier>,
) -> impl Fn(
    &agentwarrant::ApprovalRequest,
) -> std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<ApprovalAnswer, agentwarrant::ApproverError>>
            + Send,
    >,
> + Send
       + Sync {
    move |request| {
        let approval = agentwarrant::Approval::of(request, BOB);
        let ready = ready.clone();
        Box::pin(async move {
            ready.wait().await;
            Ok(ApprovalAnswer::Approved(vec![approval]))
        })
    }
}

#[tokio::test(flavor = "current_thread")]
async fn async_approvals_hold_no_thread_while_people_think() {
    let Setup { guard, .. } = setup();
    let task = begin(&guard);
    // Twenty approvals outstanding at once on one thread: none of them blocks it (the barrier
    // opens only when all twenty approvers wait).
    let approver = async_bob(Arc::new(tokio::sync::Barrier::new(20)));
    let calls = (0..20).map(|n| {
        let call = ToolCall::new("read_secret", json!({"path": format!("db/{n}")}));
        task.authorize_async(call, &approver)
    });
    let all = futures::future::join_all(calls);
    let warrants = tokio::time::timeout(std::time::Duration::from_secs(20), all)
        .await
        .expect("an approval blocked the runtime's only thread");
    for warrant in warrants {
        let warrant = warrant.unwrap();
        assert_eq!(warrant.approvers(), [BOB]);
        warrant.complete(agentwarrant::Outcome::ok()).unwrap();
    }
    // A call that needs no approval never reaches the approver.
    let never = |_: &agentwarrant::ApprovalRequest| async {
        panic!("asked for a call that needs no approval")
    };
    let logs = ToolCall::new("read_logs", json!({"service": "api"}));
    let warrant = task.authorize_async(logs, &never).await.unwrap();
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_async_approval_refuses_and_records_the_call_at_once() {
    let Setup {
        guard,
        queue,
        ledger,
        ..
    } = setup();
    let task = Arc::new(begin(&guard));
    let asked = Arc::new(tokio::sync::Notify::new());
    let told = asked.clone();
    let forever = move |_: &agentwarrant::ApprovalRequest| {
        let told = told.clone();
        async move {
            told.notify_one();
            std::future::pending::<Result<ApprovalAnswer, agentwarrant::ApproverError>>().await
        }
    };
    let running = task.clone();
    let waiting = tokio::spawn(async move { running.authorize_async(secret(), &forever).await });
    asked.notified().await;
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    assert!(queue.waiting().unwrap().is_empty() && task.pending().is_empty());
    let decided = ledger
        .records()
        .into_iter()
        .rfind(|r| r.kind.as_str() == "call.decided")
        .unwrap();
    assert_eq!(status(&decided), "approval_denied");
    assert!(decided
        .decision
        .unwrap()
        .reasons
        .iter()
        .any(|r| r.contains("cancelled")));
}

#[test]
fn a_ticket_and_its_answer_cross_a_process_boundary_as_json() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(email()));
    // What a store shared by several processes keeps, and what a UI elsewhere reads back.
    let stored = serde_json::to_string(&ticket).unwrap();
    let read: Ticket = serde_json::from_str(&stored).unwrap();
    assert_eq!(read.id(), ticket.id());
    assert_eq!(read.request().digest, ticket.request().digest);
    assert_eq!(read.call(), ticket.call());
    let answer = ApprovalAnswer::Approved(vec![agentwarrant::Approval::of(read.request(), BOB)]);
    let answer: ApprovalAnswer =
        serde_json::from_str(&serde_json::to_string(&answer).unwrap()).unwrap();
    queue.answer(read.id(), answer).unwrap();
    let warrant = granted(task.resume(read.id(), read.call().clone()));
    assert_eq!(warrant.approvers(), [BOB]);
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_guards_own_approver_answers_async_calls_off_the_executor_thread() {
    // A blocking approver that waits until the runtime's only thread has moved on: had it run
    // on that thread, the call could never be approved.
    let (moved_on, wait) = std::sync::mpsc::channel::<()>();
    let wait = Mutex::new(wait);
    let guard = builder()
        .approver(move |request: &agentwarrant::ApprovalRequest| {
            let _ = wait.lock().unwrap().recv();
            Ok(ApprovalAnswer::Approved(vec![agentwarrant::Approval::of(
                request, BOB,
            )]))
        })
        .build()
        .unwrap();
    let task = begin(&guard);
    let approver = task.guard_approver();
    let asking = task.authorize_async(secret(), &approver);
    let nudge = async {
        tokio::task::yield_now().await;
        moved_on.send(()).unwrap();
    };
    let (warrant, ()) = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        tokio::join!(asking, nudge)
    })
    .await
    .expect("the guard's approver blocked the runtime's only thread");
    let warrant = warrant.unwrap();
    assert_eq!(warrant.approvers(), [BOB]);
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn without_an_approver_an_async_call_needing_approval_is_denied_as_by_authorize() {
    let guard = builder().build().unwrap();
    let task = begin(&guard);
    let sync = task.authorize(secret()).unwrap_err();
    let refusal = task
        .authorize_async(secret(), &task.guard_approver())
        .await
        .unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::Denied);
    assert_eq!(refusal.kind, sync.kind);
    assert!(refusal.has(&ReasonCode::ApprovalUnavailable), "{refusal:?}");
    assert_eq!(refusal.to_string(), sync.to_string());
    let panicking = builder()
        .approver(|_: &agentwarrant::ApprovalRequest| -> Result<ApprovalAnswer, agentwarrant::ApproverError> {
            panic!("the approval service is down")
        })
        .build()
        .unwrap();
    let task = begin(&panicking);
    let refusal = task
        .authorize_async(secret(), &task.guard_approver())
        .await
        .unwrap_err();
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert!(refusal.has(&ReasonCode::ApprovalUnavailable), "{refusal:?}");
}

#[test]
fn of_two_workers_resuming_the_same_ticket_one_gets_the_warrant_and_the_other_is_refused() {
    let Setup {
        guard,
        queue,
        ledger,
        ..
    } = setup();
    let task = begin(&guard);
    for round in 0..20 {
        let call = ToolCall::new("read_secret", json!({ "path": format!("db/{round}") }));
        let ticket = pending(task.submit(call.clone()));
        queue.approve(ticket.id(), &[BOB]).unwrap();
        let start = Barrier::new(2);
        let results: Vec<Result<Authorization, Refusal>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        task.resume(ticket.id(), call.clone())
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut warrants = 0;
        for result in results {
            match result {
                Ok(Authorization::Granted(warrant)) => {
                    warrants += 1;
                    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
                }
                refusal => {
                    let refusal = refused(refusal, ReasonCode::ApprovalInvalid);
                    assert!(
                        detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("already used")
                    );
                    // The refused attempt is on the record.
                    let records = records_of(&ledger, refusal.call_id);
                    assert_eq!(status(records.last().unwrap()), "approval_denied");
                }
            }
        }
        assert_eq!(warrants, 1, "round {round}");
    }
}

#[test]
fn a_ticket_is_claimed_once_however_many_ask_at_once() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    queue.approve(ticket.id(), &[BOB]).unwrap();
    let start = Barrier::new(8);
    let claims: Vec<_> = std::thread::scope(|s| {
        let claimers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    queue.claim(ticket.id())
                })
            })
            .collect();
        claimers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let won: Vec<_> = claims.iter().filter_map(|c| c.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{claims:?}");
    assert!(matches!(won[0], Some(ApprovalAnswer::Approved(_))));
    for lost in claims.iter().filter_map(|c| c.as_ref().err()) {
        assert_eq!(lost.kind, ApprovalStoreErrorKind::Closed);
    }
    assert_eq!(
        queue.claim(TicketId::new()).unwrap_err().kind,
        ApprovalStoreErrorKind::UnknownTicket
    );
    // The task's own resume finds its ticket taken, and says so.
    let refusal = refused(
        task.resume(ticket.id(), secret()),
        ReasonCode::ApprovalInvalid,
    );
    assert!(detail_of(&refusal, ReasonCode::ApprovalInvalid).contains("another worker"));
    assert!(task.pending().is_empty());
}

#[test]
fn a_waiting_run_is_woken_by_the_answer_and_gets_its_warrant() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    let (desk, id) = (queue.clone(), ticket.id());
    let answering = std::thread::spawn(move || {
        // Answered once the run is waiting (or before: the wait reads the ticket first).
        while desk.waiting().unwrap().is_empty() {
            std::thread::yield_now();
        }
        desk.approve(id, &[BOB]).unwrap();
    });
    let warrant = granted(task.wait_for(ticket.id(), secret(), Duration::from_secs(60)));
    answering.join().unwrap();
    assert_eq!(warrant.approvers(), [BOB]);
    warrant.complete(agentwarrant::Outcome::ok()).unwrap();
    // A refusal wakes it the same way.
    let other = ToolCall::new("read_secret", json!({"path": "db/other"}));
    let ticket = pending(task.submit(other.clone()));
    queue.deny(ticket.id(), CAROL, Some("no")).unwrap();
    let refusal = refused(
        task.wait_for(ticket.id(), other, Duration::from_secs(60)),
        ReasonCode::ApprovalDenied,
    );
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
}

#[test]
fn a_wait_that_runs_out_leaves_the_call_pending() {
    let Setup { guard, queue, .. } = setup();
    let task = begin(&guard);
    let ticket = pending(task.submit(secret()));
    let still = pending(task.wait_for(ticket.id(), secret(), Duration::from_millis(20)));
    assert_eq!(still.id(), ticket.id());
    assert_eq!(queue.waiting().unwrap().len(), 1);
    queue.approve(ticket.id(), &[BOB]).unwrap();
    granted(task.resume(ticket.id(), secret()))
        .complete(agentwarrant::Outcome::ok())
        .unwrap();
    // A ticket the task does not hold is refused at once, without waiting.
    let unknown = refused(
        task.wait_for(TicketId::new(), secret(), Duration::from_secs(3600)),
        ReasonCode::ApprovalInvalid,
    );
    assert_eq!(unknown.kind, RefusalKind::ApprovalDenied);
}

/// The in-process queue behind a switch: while `down`, every read fails as a database whose
/// connection was lost would.
#[derive(Clone, Default)]
struct Flaky {
    queue: ApprovalQueue,
    down: Arc<AtomicBool>,
}

impl Flaky {
    fn check(&self) -> Result<(), ApprovalStoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ApprovalStoreError::new(
                ApprovalStoreErrorKind::Unavailable,
                "connection lost",
            ));
        }
        Ok(())
    }
}

impl ApprovalStore for Flaky {
    fn open(&self, ticket: &Ticket) -> Result<(), ApprovalStoreError> {
        self.queue.open(ticket)
    }
    fn answer(&self, ticket: TicketId, answer: ApprovalAnswer) -> Result<(), ApprovalStoreError> {
        self.queue.answer(ticket, answer)
    }
    fn state(&self, ticket: TicketId) -> Result<TicketState, ApprovalStoreError> {
        self.check()?;
        self.queue.state(ticket)
    }
    fn close(&self, ticket: TicketId) -> Result<(), ApprovalStoreError> {
        self.check()?;
        self.queue.close(ticket)
    }
    fn claim(&self, ticket: TicketId) -> Result<Option<ApprovalAnswer>, ApprovalStoreError> {
        self.check()?;
        self.queue.claim(ticket)
    }
    fn waiting(&self) -> Result<Vec<Ticket>, ApprovalStoreError> {
        self.queue.waiting()
    }
}

#[test]
fn a_store_lost_while_waiting_or_resuming_refuses_the_call_as_unavailable() {
    let flaky = Flaky::default();
    let ledger = Arc::new(MemoryLedger::new());
    let guard = builder()
        .approval_store(flaky.clone())
        .ledger(ledger.clone())
        .limits(patient())
        .build()
        .unwrap();
    let task = begin(&guard);
    // Lost during the wait (the default wait re-reads the store, and that read fails).
    let ticket = pending(task.submit(secret()));
    flaky.queue.approve(ticket.id(), &[BOB]).unwrap();
    flaky.down.store(true, Ordering::SeqCst);
    let refusal = refused(
        task.wait_for(ticket.id(), secret(), Duration::from_secs(60)),
        ReasonCode::StoreUnavailable,
    );
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert!(detail_of(&refusal, ReasonCode::StoreUnavailable).contains("connection lost"));
    assert_eq!(
        status(records_of(&ledger, refusal.call_id).last().unwrap()),
        "approval_denied"
    );
    assert!(task.pending().is_empty());
    // Lost when resuming: the answer cannot be claimed, so it is not used.
    flaky.down.store(false, Ordering::SeqCst);
    let other = ToolCall::new("read_secret", json!({"path": "db/other"}));
    let ticket = pending(task.submit(other.clone()));
    flaky.queue.approve(ticket.id(), &[BOB]).unwrap();
    flaky.down.store(true, Ordering::SeqCst);
    let refusal = refused(
        task.resume(ticket.id(), other),
        ReasonCode::StoreUnavailable,
    );
    assert_eq!(refusal.kind, RefusalKind::ApprovalDenied);
    assert!(task.pending().is_empty());
}
