//! Deferred approvals in a table: a call paused in one process is listed and answered through
//! another store (another connection, as another process would), and the run resumes; the first
//! answer stands, even when two arrive at once; a used ticket cannot be answered again.

use agentwarrant::{
    ApprovalStore, ApprovalStoreErrorKind, Authorization, Guard, Identity, Intent, Outcome, Role,
    TicketState, ToolCall,
};
use agentwarrant_postgres::PostgresApprovals;
use serde_json::json;

use crate::support::*;

fn store(url: &str, schema: &str) -> PostgresApprovals {
    PostgresApprovals::builder(url)
        .schema(schema)
        .build()
        .unwrap()
}

fn task(guard: &Guard) -> agentwarrant::Task {
    let identity = Identity::builder("agent://acme/ops", Role::Executor, "alice@acme.com")
        .ceiling(["secrets.read:*"])
        .build()
        .unwrap();
    guard
        .begin(
            identity,
            Intent::builder("rotate the password")
                .scopes(["secrets.read:*"])
                .build()
                .unwrap(),
        )
        .unwrap()
}

fn secret() -> ToolCall {
    ToolCall::new("read_secret", json!({"path": "db/main"}))
}

#[test]
fn a_call_paused_in_one_process_is_answered_from_another_and_resumes() {
    let url = server!();
    let schema = format!("aw_appr_{}", nonce());
    let guard = guard_on(store(&url, &schema));
    let task = task(&guard);
    let Ok(Authorization::Pending(ticket)) = task.submit(secret()) else {
        panic!("the call did not wait for approval");
    };

    let desk = store(&url, &schema);
    let waiting = desk.waiting().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id(), ticket.id());
    assert_eq!(waiting[0].call(), ticket.call());
    desk.approve(ticket.id(), &["bob@acme.com"]).unwrap();
    let again = desk.deny(ticket.id(), "carol@acme.com", None).unwrap_err();
    assert_eq!(again.kind, ApprovalStoreErrorKind::AlreadyAnswered);
    assert!(desk.waiting().unwrap().is_empty());

    let Ok(Authorization::Granted(warrant)) = task.resume(ticket.id(), secret()) else {
        panic!("the approved call did not resume");
    };
    warrant.complete(Outcome::ok()).unwrap();
    assert!(matches!(
        desk.state(ticket.id()).unwrap(),
        TicketState::Closed { .. }
    ));
    let used = desk.approve(ticket.id(), &["bob@acme.com"]).unwrap_err();
    assert_eq!(used.kind, ApprovalStoreErrorKind::Closed);
    let unknown = desk
        .approve(agentwarrant::TicketId::new(), &["bob@acme.com"])
        .unwrap_err();
    assert_eq!(unknown.kind, ApprovalStoreErrorKind::UnknownTicket);
    drop_schema(&url, &schema);
}

#[test]
fn of_two_answers_at_once_from_two_processes_the_first_stands() {
    let url = server!();
    let schema = format!("aw_appr_{}", nonce());
    let guard = guard_on(store(&url, &schema));
    let task = task(&guard);
    for _ in 0..5 {
        let Ok(Authorization::Pending(ticket)) = task.submit(secret()) else {
            panic!("the call did not wait for approval");
        };
        let id = ticket.id();
        let answers: Vec<_> = [true, false]
            .into_iter()
            .map(|approve| {
                let desk = store(&url, &schema);
                std::thread::spawn(move || {
                    if approve {
                        desk.approve(id, &["bob@acme.com"])
                    } else {
                        desk.deny(id, "carol@acme.com", Some("no"))
                    }
                })
            })
            .collect();
        let results: Vec<_> = answers.into_iter().map(|a| a.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{results:?}"
        );
        let TicketState::Open {
            answer: Some(_), ..
        } = store(&url, &schema).state(id).unwrap()
        else {
            panic!("no answer filed");
        };
        let _ = task.resume(id, secret());
    }
    drop_schema(&url, &schema);
}

#[test]
fn an_unreachable_store_says_so_and_the_paused_call_is_refused() {
    let url = server!();
    let schema = format!("aw_appr_{}", nonce());
    let relay = Relay::to(&url);
    let guard = guard_on(store(&relay.url(&url), &schema));
    let task = task(&guard);
    relay.cut();
    // The request cannot be filed: the call is refused, not left waiting in nowhere.
    assert!(task.submit(secret()).is_err());
    let desk = store(&relay.url(&url), &schema);
    let error = desk.waiting().unwrap_err();
    assert_eq!(error.code(), "approval_store_unavailable");
    relay.restore();
    let Ok(Authorization::Pending(_)) = task.submit(secret()) else {
        panic!("the call did not wait for approval once the store was back");
    };
    drop_schema(&url, &schema);
}

fn drop_schema(url: &str, schema: &str) {
    admin(url)
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", quote(schema)))
        .unwrap();
}
