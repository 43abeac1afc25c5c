//! Waiting for an approval across processes: a run waiting on a ticket is woken by the
//! `NOTIFY` of an answer filed through another connection, a notification that never comes is
//! caught by the poll, a waiter whose connection is killed is refused (`store_unavailable`),
//! and of two workers taking the same ticket up exactly one runs the call.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalStore, ApprovalStoreErrorKind, Authorization, Guard,
    Identity, Intent, Outcome, ReasonCode, Refusal, Role, Task, Ticket, TicketState, ToolCall,
};
use agentwarrant_postgres::PostgresApprovals;
use serde_json::json;

use crate::support::*;

fn store(url: &str, schema: &str, poll: Duration) -> PostgresApprovals {
    PostgresApprovals::builder(url)
        .schema(schema)
        .poll_interval(poll)
        .build()
        .unwrap()
}

fn task(guard: &Guard) -> Task {
    let identity = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
        .ceiling(["secrets.read:*"])
        .build()
        .unwrap();
    let intent = Intent::builder("rotate the password")
        .scopes(["secrets.read:*"])
        .build()
        .unwrap();
    guard.begin(identity, intent).unwrap()
}

fn secret() -> ToolCall {
    ToolCall::new("read_secret", json!({"path": "db/main"}))
}

fn submitted(task: &Task) -> Ticket {
    match task.submit(secret()) {
        Ok(Authorization::Pending(ticket)) => ticket,
        other => panic!("the call did not wait for approval: {other:?}"),
    }
}

/// The backend pid of the connection waiting on `schema`'s tickets, once it has listened and
/// read its ticket.
fn waiter_pid(url: &str, schema: &str) -> i32 {
    let mut admin = admin(url);
    let started = Instant::now();
    loop {
        let row = admin
            .query_opt(
                "SELECT pid FROM pg_stat_activity \
                 WHERE application_name = 'agentwarrant-postgres approvals wait' \
                 AND query LIKE 'SELECT task_id%' AND strpos(query, $1) > 0",
                &[&schema],
            )
            .unwrap();
        if let Some(row) = row {
            return row.get(0);
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no waiter appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn drop_schema(url: &str, schema: &str) {
    admin(url)
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", quote(schema)))
        .unwrap();
}

#[test]
fn an_answer_filed_from_another_process_wakes_the_waiting_run() {
    let url = server!();
    let schema = format!("aw_wait_{}", nonce());
    // A poll far longer than the wait: only the notification can bring the answer in time.
    let guard = guard_on(store(&url, &schema, Duration::from_secs(600)));
    let task = task(&guard);
    let ticket = submitted(&task);
    let (desk_url, desk_schema, id) = (url.clone(), schema.clone(), ticket.id());
    let desk = std::thread::spawn(move || {
        waiter_pid(&desk_url, &desk_schema);
        store(&desk_url, &desk_schema, Duration::from_secs(1)).approve(id, &["bob@acme.com"])
    });
    let result = task.wait_for(ticket.id(), secret(), Duration::from_secs(120));
    desk.join().unwrap().unwrap();
    let Ok(Authorization::Granted(warrant)) = result else {
        panic!("the waiting run was not woken by the answer: {result:?}");
    };
    assert_eq!(warrant.approvers(), ["bob@acme.com"]);
    warrant.complete(Outcome::ok()).unwrap();
    drop_schema(&url, &schema);
}

#[test]
fn an_answer_whose_notification_is_lost_is_caught_by_the_poll() {
    let url = server!();
    let schema = format!("aw_wait_{}", nonce());
    let guard = guard_on(store(&url, &schema, Duration::from_millis(200)));
    let task = task(&guard);
    let ticket = submitted(&task);
    let answer = ApprovalAnswer::Approved(vec![Approval::of(ticket.request(), "bob@acme.com")]);
    let (by_hand_url, by_hand_schema, id) = (url.clone(), schema.clone(), ticket.id());
    let by_hand = std::thread::spawn(move || {
        waiter_pid(&by_hand_url, &by_hand_schema);
        // Written by hand: no NOTIFY goes out.
        admin(&by_hand_url)
            .execute(
                &format!(
                    "UPDATE {}.approvals SET answer = $1, answered_at = now() WHERE ticket = $2",
                    quote(&by_hand_schema)
                ),
                &[&serde_json::to_string(&answer).unwrap(), &id.to_string()],
            )
            .unwrap()
    });
    let result = task.wait_for(ticket.id(), secret(), Duration::from_secs(120));
    assert_eq!(by_hand.join().unwrap(), 1);
    let Ok(Authorization::Granted(warrant)) = result else {
        panic!("the poll did not catch the answer: {result:?}");
    };
    warrant.complete(Outcome::ok()).unwrap();
    drop_schema(&url, &schema);
}

#[test]
fn a_waiter_whose_connection_is_killed_is_refused_and_assumes_no_answer() {
    let url = server!();
    let schema = format!("aw_wait_{}", nonce());
    let guard = guard_on(store(&url, &schema, Duration::from_secs(600)));
    let task = task(&guard);
    let ticket = submitted(&task);
    let (killer_url, killer_schema) = (url.clone(), schema.clone());
    let killer = std::thread::spawn(move || {
        let pid = waiter_pid(&killer_url, &killer_schema);
        admin(&killer_url)
            .query_one("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap()
            .get::<_, bool>(0)
    });
    let result = task.wait_for(ticket.id(), secret(), Duration::from_secs(120));
    assert!(killer.join().unwrap());
    let refusal: Refusal = result.expect_err("a lost waiter must not resume the call");
    assert!(refusal.has(&ReasonCode::StoreUnavailable), "{refusal:?}");
    assert!(task.pending().is_empty());
    // The ticket is closed: an answer given now is refused, not silently dropped.
    let desk = store(&url, &schema, Duration::from_secs(1));
    assert!(matches!(
        desk.state(ticket.id()).unwrap(),
        TicketState::Closed { .. }
    ));
    let late = desk.approve(ticket.id(), &["bob@acme.com"]).unwrap_err();
    assert_eq!(late.kind, ApprovalStoreErrorKind::Closed);

    // The store-level wait says why.
    let ticket = submitted(&task);
    let (killer_url, killer_schema) = (url.clone(), schema.clone());
    let killer = std::thread::spawn(move || {
        let pid = waiter_pid(&killer_url, &killer_schema);
        admin(&killer_url)
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .unwrap();
    });
    let error = desk
        .wait(ticket.id(), Duration::from_secs(120))
        .unwrap_err();
    killer.join().unwrap();
    assert_eq!(error.code(), "approval_store_unavailable");
    drop_schema(&url, &schema);
}

#[test]
fn of_workers_claiming_one_ticket_through_separate_connections_exactly_one_gets_it() {
    let url = server!();
    let schema = format!("aw_claim_{}", nonce());
    let guard = guard_on(store(&url, &schema, Duration::from_secs(1)));
    let task = task(&guard);
    for _ in 0..5 {
        let ticket = submitted(&task);
        let desks: Vec<_> = (0..6)
            .map(|_| store(&url, &schema, Duration::from_secs(1)))
            .collect();
        desks[0].approve(ticket.id(), &["bob@acme.com"]).unwrap();
        // Each connection opened before the race.
        for desk in &desks {
            desk.state(ticket.id()).unwrap();
        }
        let start = Barrier::new(desks.len());
        let claims: Vec<_> = std::thread::scope(|s| {
            let claimers: Vec<_> = desks
                .iter()
                .map(|desk| {
                    let (start, id) = (&start, ticket.id());
                    s.spawn(move || {
                        start.wait();
                        desk.claim(id)
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
        // The run finds its ticket taken by another worker and is refused, on the record.
        let refusal = task.resume(ticket.id(), secret()).unwrap_err();
        assert!(refusal.has(&ReasonCode::ApprovalInvalid), "{refusal:?}");
    }
    let unknown = desk_claim_unknown(&url, &schema);
    assert_eq!(unknown, ApprovalStoreErrorKind::UnknownTicket);
    drop_schema(&url, &schema);
}

fn desk_claim_unknown(url: &str, schema: &str) -> ApprovalStoreErrorKind {
    store(url, schema, Duration::from_secs(1))
        .claim(agentwarrant::TicketId::new())
        .unwrap_err()
        .kind
}

#[test]
fn of_two_workers_resuming_one_ticket_exactly_one_runs_the_call() {
    let url = server!();
    let schema = format!("aw_claim_{}", nonce());
    let guard = guard_on(store(&url, &schema, Duration::from_secs(1)));
    let task = task(&guard);
    let desk = store(&url, &schema, Duration::from_secs(1));
    for _ in 0..5 {
        let ticket = submitted(&task);
        desk.approve(ticket.id(), &["bob@acme.com"]).unwrap();
        let start = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|i| {
                    let (task, start, id) = (&task, &start, ticket.id());
                    s.spawn(move || {
                        start.wait();
                        if i == 0 {
                            task.resume(id, secret())
                        } else {
                            task.wait_for(id, secret(), Duration::from_secs(60))
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut ran = 0;
        for result in results {
            match result {
                Ok(Authorization::Granted(warrant)) => {
                    ran += 1;
                    warrant.complete(Outcome::ok()).unwrap();
                }
                Ok(Authorization::Pending(ticket)) => panic!("still pending: {ticket}"),
                Err(refusal) => {
                    assert!(refusal.has(&ReasonCode::ApprovalInvalid), "{refusal:?}")
                }
            }
        }
        assert_eq!(ran, 1);
    }
    drop_schema(&url, &schema);
}
