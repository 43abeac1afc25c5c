//! Standing approvals: "refunds under 50 for this task for 10 minutes" approves later calls
//! like the first one, each use recorded, bounded by count, time, scopes, arg bounds and the
//! reasons the person saw; void in any other task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentwarrant::{
    Approval, ApprovalAnswer, ApprovalRequest, Guard, Identity, Impact, Intent, ManualClock,
    MemoryLedger, Outcome, ReasonCode, Role, Standing, Task, ToolCall, ToolSpec,
};
use serde_json::json;

use crate::fixtures::*;

struct Setup {
    guard: Guard,
    asked: Arc<AtomicUsize>,
    ledger: Arc<MemoryLedger>,
    clock: Arc<ManualClock>,
}

/// A guard whose approver (bob) grants `standing` with every approval, and counts the asks.
fn setup(standing: Standing) -> Setup {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let ledger = Arc::new(MemoryLedger::new());
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-03-01 12:00 UTC),
    ));
    let refund = ToolSpec::builder("refund", Impact::High)
        .scope("payments.refund:{target:text}")
        .build()
        .unwrap();
    let guard = Guard::builder()
        .tool(refund)
        .approver(move |request: &ApprovalRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            let approval = Approval::of(request, BOB).with_standing(standing.clone());
            Ok(ApprovalAnswer::Approved(vec![approval]))
        })
        .ledger(ledger.clone())
        .clock(clock.clone())
        // Room for many high-impact calls: only the standing approval's bounds are tested.
        .limits(
            patient()
                .with_policy_json(&json!({"max_impact_total": 10_000}))
                .unwrap(),
        )
        .build()
        .unwrap();
    Setup {
        guard,
        asked,
        ledger,
        clock,
    }
}

fn begin(guard: &Guard) -> Task {
    let clerk = Identity::builder("agent://acme/clerk", Role::Executor, ALICE)
        .ceiling(["payments.refund:*"])
        .build()
        .unwrap();
    let intent = Intent::builder("refund the damaged orders")
        .scopes(["payments.refund:order-*"])
        .build()
        .unwrap();
    guard.begin(clerk, intent).unwrap()
}

fn refund(target: &str, amount: f64) -> ToolCall {
    ToolCall::new("refund", json!({"target": target, "amount": amount}))
}

fn run(task: &Task, call: ToolCall) -> Vec<String> {
    let warrant = task.authorize(call).unwrap();
    let approvers = warrant.approvers().to_vec();
    warrant.complete(Outcome::ok()).unwrap();
    approvers
}

fn under_50() -> Standing {
    Standing::new(2, Duration::from_secs(600))
        .within(["payments.refund:order-*"])
        .at_most("amount", 50.0)
}

#[test]
fn later_calls_like_the_first_are_approved_without_asking_and_each_use_is_recorded() {
    let Setup {
        guard,
        asked,
        ledger,
        ..
    } = setup(under_50());
    let task = begin(&guard);
    assert_eq!(run(&task, refund("order-1", 20.0)), [BOB]);
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(run(&task, refund("order-2", 30.0)), [BOB]);
    assert_eq!(run(&task, refund("order-3", 50.0)), [BOB]);
    assert_eq!(asked.load(Ordering::SeqCst), 1, "two uses, no one asked");
    // Used up: the person is asked again.
    run(&task, refund("order-4", 10.0));
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    let answered: Vec<serde_json::Value> = ledger
        .records()
        .into_iter()
        .filter(|r| r.kind.as_str() == "approval.answered")
        .map(|r| r.detail.unwrap())
        .collect();
    assert!(answered[0]["standing"]["uses"] == 2);
    assert_eq!(answered[1]["uses_left"], 1);
    assert_eq!(answered[2]["uses_left"], 0);
    assert_eq!(answered[1]["standing"], answered[0]["standing"]["id"]);
}

#[test]
fn a_standing_approval_covers_nothing_beyond_its_bounds() {
    let Setup {
        guard,
        asked,
        clock,
        ..
    } = setup(Standing::new(100, Duration::from_secs(600)).at_most("amount", 50.0));
    let task = begin(&guard);
    run(&task, refund("order-1", 20.0));
    let asks = || asked.load(Ordering::SeqCst);
    // Over the bound.
    run(&task, refund("order-2", 80.0));
    assert_eq!(asks(), 2);
    // A reason the person did not see (drift: outside the intent).
    let drift = task.authorize(refund("invoice-9", 5.0)).unwrap();
    assert!(drift
        .decision()
        .reasons
        .iter()
        .any(|r| r.code == ReasonCode::ScopeDrift));
    drift.complete(Outcome::ok()).unwrap();
    assert_eq!(asks(), 3);
    // Another task of the same agent.
    let other = begin(&guard);
    run(&other, refund("order-3", 5.0));
    assert_eq!(asks(), 4);
    // Past its time.
    clock.advance(time::Duration::minutes(11));
    run(&task, refund("order-4", 5.0));
    assert_eq!(asks(), 5);
}

#[test]
fn a_malformed_standing_approval_refuses_the_call() {
    for bad in [
        Standing::new(0, Duration::from_secs(60)),
        Standing::new(Standing::MAX_USES + 1, Duration::from_secs(60)),
        Standing::new(3, Duration::from_secs(365 * 24 * 3600)),
        Standing::new(3, Duration::from_secs(60)).at_most("amount", f64::NAN),
        Standing::new(3, Duration::from_secs(60)).within(["no colon"]),
    ] {
        let Setup { guard, .. } = setup(bad.clone());
        let task = begin(&guard);
        let refusal = task.authorize(refund("order-1", 5.0)).unwrap_err();
        assert!(
            refusal.has(&ReasonCode::ApprovalInvalid),
            "{bad:?}: {refusal:?}"
        );
    }
}

#[test]
fn a_standing_approval_can_be_filed_with_a_deferred_answer() {
    let queue = agentwarrant::ApprovalQueue::new();
    let guard = Guard::builder()
        .tool(
            ToolSpec::builder("refund", Impact::High)
                .scope("payments.refund:{target:text}")
                .build()
                .unwrap(),
        )
        .approval_store(queue.clone())
        .build()
        .unwrap();
    let task = begin(&guard);
    let first = match task.submit(refund("order-1", 20.0)).unwrap() {
        agentwarrant::Authorization::Pending(ticket) => ticket,
        other => panic!("{other:?}"),
    };
    use agentwarrant::ApprovalStore as _;
    queue
        .approve_with(first.id(), &[BOB], Some(under_50()))
        .unwrap();
    match task.resume(first.id(), refund("order-1", 20.0)).unwrap() {
        agentwarrant::Authorization::Granted(w) => w.complete(Outcome::ok()).unwrap(),
        other => panic!("{other:?}"),
    }
    // The next one is approved at once, without a ticket.
    match task.submit(refund("order-2", 30.0)).unwrap() {
        agentwarrant::Authorization::Granted(w) => {
            assert_eq!(w.approvers(), [BOB]);
            w.complete(Outcome::ok()).unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert!(queue.waiting().unwrap().is_empty());
}
